"""Chord dialects that are not lead-sheet text: Harte, Chordonomicon names, MusicXML kinds.

Each reader here returns ``(root_pc, intervals_above_root, bass_pc)`` and leaves naming the
chord to :mod:`songwright.chords`, so every dialect lands on the same canonical record. Note
names and the degree table live here because all the dialects share them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .errors import ChordError

NOTE_PCS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}

# Degree label -> interval above the root (Harte degrees and lead-sheet alterations).
DEGREE = {
    "1": 0, "b1": 11, "#1": 1, "b2": 1, "2": 2, "#2": 3, "b3": 3, "3": 4, "b4": 4, "4": 5,
    "#4": 6, "b5": 6, "5": 7, "#5": 8, "b6": 8, "6": 9, "#6": 10, "bb7": 9, "b7": 10, "7": 11,
    "b8": 11, "8": 0, "b9": 1, "9": 2, "#9": 3, "b10": 3, "10": 4, "b11": 4, "11": 5,
    "#11": 6, "b12": 6, "12": 7, "bb13": 7, "b13": 8, "13": 9, "#13": 10,
}

Parsed = tuple[int, frozenset[int], int | None]


def pitch_class(name: str) -> int:
    """Pitch class of a note name such as ``C``, ``F#``, ``Bb``, ``Ebb`` or music21's ``B-``.

    Raises:
        ChordError: when ``name`` is not a note name.
    """
    if not name or name[0].upper() not in NOTE_PCS:
        raise ChordError(name, "not a note name")
    pc = NOTE_PCS[name[0].upper()]
    for ch in name[1:]:
        if ch in "#♯":
            pc += 1
        elif ch in "b♭-":
            pc -= 1
        else:
            raise ChordError(name, "not a note name")
    return pc % 12


# --------------------------------------------------------------------------- Harte
# Shorthands as Harte et al. (ISMIR 2005) define them; 11ths and 13ths carry every lower
# extension (C:13 = 1,3,5,b7,9,11,13), unlike lead sheets, where C13 leaves the 11th out.
HARTE_SHORT: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7), "min": (0, 3, 7), "dim": (0, 3, 6), "aug": (0, 4, 8),
    "maj7": (0, 4, 7, 11), "min7": (0, 3, 7, 10), "7": (0, 4, 7, 10), "dim7": (0, 3, 6, 9),
    "hdim7": (0, 3, 6, 10), "minmaj7": (0, 3, 7, 11), "maj6": (0, 4, 7, 9),
    "min6": (0, 3, 7, 9), "9": (0, 4, 7, 10, 2), "maj9": (0, 4, 7, 11, 2),
    "min9": (0, 3, 7, 10, 2), "sus4": (0, 5, 7), "sus2": (0, 2, 7),
    "11": (0, 4, 7, 10, 2, 5), "maj11": (0, 4, 7, 11, 2, 5), "min11": (0, 3, 7, 10, 2, 5),
    "13": (0, 4, 7, 10, 2, 5, 9), "maj13": (0, 4, 7, 11, 2, 5, 9),
    "min13": (0, 3, 7, 10, 2, 5, 9), "1": (0,), "5": (0, 7), "": (),
}
_HARTE_RE = re.compile(
    r"([A-G](?:#|b)*)(?::([a-z0-9]*)(?:\(([^)]*)\))?)?(?:/(\*?[b#]*\d+))?")
_BASS_DEGREE = ("1", "b2", "2", "b3", "3", "4", "b5", "5", "b6", "6", "b7", "7")
_ADD_DEGREE = ("1", "b9", "9", "#9", "3", "11", "#11", "5", "b13", "13", "b7", "7")
_OMIT_DEGREE = ("1", "b9", "9", "b3", "3", "11", "b5", "5", "#5", "13", "b7", "7")


def harte_intervals(short: str, degrees: str | None, symbol: str,
                    where: str | None = None) -> set[int]:
    """Intervals of a Harte shorthand plus its bracketed degree list (``*`` omits)."""
    if short not in HARTE_SHORT:
        raise ChordError(symbol, f"unknown Harte shorthand {short!r}", where)
    ivs = set(HARTE_SHORT[short])
    for deg in (degrees or "").split(","):
        deg = deg.strip()
        if not deg:
            continue
        omit = deg.startswith("*")
        deg = deg.lstrip("*")
        if deg not in DEGREE:
            raise ChordError(symbol, f"unknown Harte degree {deg!r}", where)
        if omit:
            ivs.discard(DEGREE[deg])
        else:
            ivs.add(DEGREE[deg])
    return ivs


def parse_harte(symbol: str, where: str | None = None) -> Parsed:
    """Read ``A:min7/5``, ``C:(1,5)``, ``Bb`` (Harte allows a bare root: a major triad)."""
    m = _HARTE_RE.fullmatch(symbol)
    if not m:
        raise ChordError(symbol, "not a Harte chord", where)
    root_name, short, degrees, bass_deg = m.groups()
    root = pitch_class(root_name)
    if short is None or (short == "" and degrees is None):
        short = "maj"
    ivs = harte_intervals(short, degrees, symbol, where) or {0}
    bass = None
    if bass_deg:
        bd = bass_deg.lstrip("*")
        if bd not in DEGREE:
            raise ChordError(symbol, f"unknown Harte bass degree {bd!r}", where)
        bass = (root + DEGREE[bd]) % 12
    return root, frozenset(ivs), bass


def format_harte(root: str, short: str, intervals: frozenset[int], bass_iv: int | None) -> str:
    """Write ``root:short(degrees)/bass`` for an interval set.

    ``short`` may carry its own degree list (``"sus4(b7)"``); what the set adds to or leaves
    out of that base is written as extra degrees, so mir_eval and :func:`parse_harte` read back
    exactly ``intervals``.
    """
    head, _, inner = short.partition("(")
    inner = inner.rstrip(")")
    base = harte_intervals(head, inner, short)
    degrees = [d for d in inner.split(",") if d]
    degrees += [_ADD_DEGREE[i] for i in sorted(intervals - base)]
    degrees += ["*" + _OMIT_DEGREE[i] for i in sorted(base - intervals)]
    text = f"{root}:{head}({','.join(degrees)})" if degrees else f"{root}:{head}"
    if bass_iv is not None:
        text += "/" + _BASS_DEGREE[bass_iv % 12]
    return text


# --------------------------------------------------------------------------- Chordonomicon
# Chordonomicon names (chords_mapping.csv) write sharps as "s" (``Cs``, ``11s`` = #11) and
# flats after the degree (``13b`` = b13); "b7" is a diminished seventh (``Cb79`` = C E G A D)
# and "dim7" is half-diminished (its MIREX mapping says hdim7). Upper structures come from a
# closed list, so they are read as whole tokens: (token, intervals, implies a minor 7th).
_CHORDONOMICON_UPPER: list[tuple[str, tuple[int, ...], bool]] = [
    ("13b11b9b", (1, 4, 8), True), ("13s911s", (3, 6, 9), True), ("13bb9", (1, 5, 8), True),
    ("13b9", (1, 5, 9), True), ("1311s", (2, 6, 9), True), ("13b", (2, 5, 8), True),
    ("13", (2, 5, 9), True), ("11b913b", (1, 5, 8), True), ("1113b", (2, 5, 8), True),
    ("11b9", (1, 5), True), ("11s", (2, 6), True), ("b11b9", (1, 4), True), ("11", (2, 5), True),
    ("s911s", (3, 6), True), ("911s", (2, 6), True), ("s9", (3,), True), ("b9", (1,), True),
    ("9", (2,), True), ("add9", (2,), False), ("add11", (5,), False), ("add13", (9,), False),
]
_CHORDONOMICON_FLAT_SUFFIX = ("b9", "b79", "b7b9", "b711b9", "b11b9", "b713b9")
_CHORDONOMICON_ROOT = re.compile(r"^([A-G])(s|b)?")


def parse_chordonomicon(symbol: str, where: str | None = None) -> Parsed:
    """Read a Chordonomicon chord name (``Csmaj7``, ``Dbb9``, ``Cminb79``, ``Gno3d/B``).

    ``Xb`` followed by one of the suffixes that start with "b" is root X with that suffix
    (``Db9`` = D7(b9)), as the table defines it; otherwise ``Xb`` is the flat root.
    ``sus2``/``sus4`` replace the third, as in lead sheets and the dataset's MIREX mapping.
    """
    text, _, bass_text = symbol.partition("/")
    m = _CHORDONOMICON_ROOT.match(text)
    if not m:
        raise ChordError(symbol, "a Chordonomicon chord starts with a note name A-G", where)
    letter, acc = m.groups()
    rest = text[m.end():]
    if acc == "s" and rest.startswith("us"):  # "Csus4" is C sus4, not C# "us4"
        acc, rest = None, "s" + rest
    if acc == "b" and "b" + rest in _CHORDONOMICON_FLAT_SUFFIX:
        acc, rest = None, "b" + rest
    root = (NOTE_PCS[letter] + {"s": 1, "b": -1, None: 0}[acc]) % 12
    bass = None
    if bass_text:
        bm = _CHORDONOMICON_ROOT.fullmatch(bass_text)
        if not bm:
            raise ChordError(symbol, "bass after '/' must be a note name", where)
        bass = (NOTE_PCS[bm.group(1)] + {"s": 1, "b": -1, None: 0}[bm.group(2)]) % 12
    if rest in ("no3d", "5"):
        return root, frozenset({0, 7}), bass
    third, fifth = 4, 7
    for fam, (t, f) in (("min", (3, 7)), ("dim", (3, 6)), ("aug", (4, 8))):
        if rest.startswith(fam):
            third, fifth, rest = t, f, rest[len(fam):]
            break
    seventh: int | None = None
    for tok, iv in (("maj7", 11), ("maj", 11), ("b7", 9), ("7", 10)):
        # "maj" alone after a family is a triad spelled out ("Cmaj" is not in the table).
        if rest.startswith(tok) and rest != "maj":
            seventh, rest = iv, rest[len(tok):]
            break
    if rest == "maj":
        rest = ""
    extra: set[int] = set()
    if seventh == 9 and rest == "13b9":
        # Beside a diminished 7th (the 13th's pitch class) the table's "13b9" means b9, 11, b13.
        extra, rest = {1, 5, 8}, ""
    if rest.startswith("sus"):
        sus = rest[3:]
        if sus not in ("2", "4"):
            raise ChordError(symbol, f"unknown Chordonomicon suffix near {rest!r}", where)
        third, rest = int(sus) + (1 if sus == "4" else 0), ""
    for tok, ivs, implies_seventh in _CHORDONOMICON_UPPER:
        if rest == tok:
            extra |= set(ivs)
            if implies_seventh and seventh is None:
                seventh = 10
            rest = ""
            break
    if rest:
        raise ChordError(symbol, f"unknown Chordonomicon suffix near {rest!r}", where)
    ivs = {0, third, fifth} | extra
    if seventh is not None:
        ivs.add(seventh)
    return root, frozenset(ivs), bass


# --------------------------------------------------------------------------- MusicXML kinds
MUSICXML_KIND: dict[str, tuple[int, ...]] = {
    "major": (0, 4, 7), "minor": (0, 3, 7), "augmented": (0, 4, 8), "diminished": (0, 3, 6),
    "dominant": (0, 4, 7, 10), "major-seventh": (0, 4, 7, 11), "minor-seventh": (0, 3, 7, 10),
    "diminished-seventh": (0, 3, 6, 9), "augmented-seventh": (0, 4, 8, 10),
    "half-diminished": (0, 3, 6, 10), "major-minor": (0, 3, 7, 11), "major-sixth": (0, 4, 7, 9),
    "minor-sixth": (0, 3, 7, 9), "dominant-ninth": (0, 4, 7, 10, 2),
    "major-ninth": (0, 4, 7, 11, 2), "minor-ninth": (0, 3, 7, 10, 2),
    "dominant-11th": (0, 4, 7, 10, 2, 5), "major-11th": (0, 4, 7, 11, 2, 5),
    "minor-11th": (0, 3, 7, 10, 2, 5), "dominant-13th": (0, 4, 7, 10, 2, 9),
    "major-13th": (0, 4, 7, 11, 2, 9), "minor-13th": (0, 3, 7, 10, 2, 9),
    "suspended-second": (0, 2, 7), "suspended-fourth": (0, 5, 7), "power": (0, 7),
    "pedal": (0,), "augmented-ninth": (0, 4, 8, 10, 2), "Neapolitan": (0, 4, 7),
    "Italian": (0, 4, 10), "French": (0, 4, 6, 10), "German": (0, 4, 7, 10),
    "Tristan": (0, 3, 6, 10), "suspended-fourth-seventh": (0, 5, 7, 10),
}
# MusicXML <degree-value> -> interval of the unaltered degree (7 is the minor 7th there).
_MUSICXML_DEGREE = {1: 0, 2: 2, 3: 4, 4: 5, 5: 7, 6: 9, 7: 10, 9: 2, 11: 5, 13: 9}


def musicxml_intervals(kind: str, degrees: Iterable[tuple[str, int, int]] = ()) -> set[int]:
    """Intervals of a MusicXML ``<kind>`` with its ``(type, value, alter)`` degrees applied.

    Raises:
        ChordError: for a kind MusicXML does not define.
    """
    if kind not in MUSICXML_KIND:
        raise ChordError(kind, "unknown MusicXML harmony kind")
    ivs = set(MUSICXML_KIND[kind])
    for typ, value, alter in degrees:
        base = _MUSICXML_DEGREE.get(value)
        if base is None:
            continue
        if typ in ("subtract", "alter"):
            # Subtract and alter act on the tone the chord itself has for that degree (a minor
            # third, a major seventh), not on the major-scale default.
            own = ivs & _DEGREE_TONES.get(value, {base})
            tone = min(own, key=lambda iv: abs(iv - base)) if own else base
            ivs.discard(tone)
            if typ == "alter":
                ivs.add((tone + alter) % 12)
        else:
            ivs.add((base + alter) % 12)
    return ivs


# The chord tones that can stand for each degree: thirds (incl. sus), fifths, sevenths, tensions.
_DEGREE_TONES = {3: {2, 3, 4, 5}, 5: {6, 7, 8}, 7: {9, 10, 11}, 9: {1, 2, 3}, 11: {4, 5, 6},
                 13: {8, 9, 10}}
