"""Chord symbols: one parser for every spelling songwright meets, and one record.

A :class:`Chord` is a root pitch class, a canonical quality from :data:`QUALITIES`, intervals
added to or left out of that quality, and an optional bass pitch class. Parsing goes through the
set of intervals the symbol denotes, and the quality is named back from that set, so two
spellings of the same chord (``Cm7b5``, ``Cø7``, ``Ch7``, ``C:hdim7``) give equal records, and
``parse(format(c)) == c`` for every parsed chord in the styles ``standard``, ``ireal`` and
``harte`` (and ``music21`` read with ``dialect="music21"``).

Dialects: lead-sheet / ChordPro (``F#m7b5``, ``Bb/D``, ``E5``, ``Dsus4``, ``Cadd9``,
``C(b9)``), iReal Pro (``-7``, ``^7``, ``h7``, ``o7``, ``7sus``, ``-^7``, ``7alt``), Harte as used
by Billboard and mir_eval (``A:min7/5``, ``C:maj(9)``, ``N``, ``X``), Chordonomicon names
(``Cs11s``, ``Cmajs9``), music21 (``B-7``: "-" is a flat) and MusicXML ``<kind>`` values (see
:func:`from_musicxml_kind`). The non-lead-sheet readers live in :mod:`.chord_dialects`.

Why hand-written: measured on our corpora (docs/chords.md), music21 mis-reads flats (``Bb7``
parses as B7) and has no iReal or Harte dialect, pychord rejects iReal and Harte spellings, and
mir_eval only reads Harte. We use mir_eval in the tests as an independent check of pitch classes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from .chord_dialects import (
    DEGREE,
    NOTE_PCS,
    format_harte,
    musicxml_intervals,
    parse_chordonomicon,
    parse_harte,
    pitch_class,
)
from .errors import ChordError

__all__ = ["DIALECTS", "NOTE_PCS", "QUALITIES", "STYLES", "Chord", "format_chord",
           "from_musicxml_kind", "is_importer_token", "parse_chord", "pitch_class", "spell"]

FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
# The spelling most lead sheets use when nothing says otherwise.
DEFAULT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

# name: (intervals above the root, lead-sheet suffix, iReal suffix, Harte shorthand)
# Order matters: when two qualities fit a set equally well, the earlier one names it.
QUALITIES: dict[str, tuple[frozenset[int], str, str, str]] = {}


def _q(name: str, ivs: Iterable[int], std: str, ireal: str, harte: str) -> None:
    QUALITIES[name] = (frozenset(ivs), std, ireal, harte)


_q("maj", (0, 4, 7), "", "", "maj")
_q("min", (0, 3, 7), "m", "-", "min")
_q("dim", (0, 3, 6), "dim", "o", "dim")
_q("aug", (0, 4, 8), "aug", "+", "aug")
_q("sus4", (0, 5, 7), "sus4", "sus", "sus4")
_q("sus2", (0, 2, 7), "sus2", "2", "sus2")
_q("5", (0, 7), "5", "5", "(1,5)")
_q("1", (0,), "1", "1", "(1)")
_q("7", (0, 4, 7, 10), "7", "7", "7")
_q("maj7", (0, 4, 7, 11), "maj7", "^7", "maj7")
_q("min7", (0, 3, 7, 10), "m7", "-7", "min7")
_q("minmaj7", (0, 3, 7, 11), "m(maj7)", "-^7", "minmaj7")
_q("dim7", (0, 3, 6, 9), "dim7", "o7", "dim7")
_q("hdim7", (0, 3, 6, 10), "m7b5", "h7", "hdim7")
_q("aug7", (0, 4, 8, 10), "aug7", "7#5", "aug(b7)")
_q("augmaj7", (0, 4, 8, 11), "maj7#5", "^7#5", "aug(7)")
_q("7sus4", (0, 5, 7, 10), "7sus4", "7sus", "sus4(b7)")
_q("maj6", (0, 4, 7, 9), "6", "6", "maj6")
_q("min6", (0, 3, 7, 9), "m6", "-6", "min6")
_q("69", (0, 2, 4, 7, 9), "6/9", "69", "maj6(9)")
_q("min69", (0, 2, 3, 7, 9), "m6/9", "-69", "min6(9)")
_q("9", (0, 2, 4, 7, 10), "9", "9", "9")
_q("maj9", (0, 2, 4, 7, 11), "maj9", "^9", "maj9")
_q("min9", (0, 2, 3, 7, 10), "m9", "-9", "min9")
_q("9sus4", (0, 2, 5, 7, 10), "9sus4", "9sus", "sus4(b7,9)")
_q("11", (0, 2, 4, 5, 7, 10), "11", "11", "11")
_q("min11", (0, 2, 3, 5, 7, 10), "m11", "-11", "min11")
# Lead-sheet 13ths leave the 11th out; Harte's C:13 keeps it, hence "9(13)" there.
_q("13", (0, 2, 4, 7, 9, 10), "13", "13", "9(13)")
_q("maj13", (0, 2, 4, 7, 9, 11), "maj13", "^13", "maj9(13)")
_q("min13", (0, 2, 3, 7, 9, 10), "m13", "-13", "min9(13)")

QUALITY_NAMES = tuple(QUALITIES)

# Interval -> degree label used for added tones (relative to the root).
_ADD_LABEL = {1: "b9", 2: "9", 3: "#9", 4: "3", 5: "11", 6: "#11", 7: "5", 8: "b13", 9: "13",
              10: "b7", 11: "7"}
_OMIT_LABEL = {0: "1", 1: "b9", 2: "9", 3: "b3", 4: "3", 5: "11", 6: "b5", 7: "5", 8: "#5",
               9: "13", 10: "b7", 11: "7"}

STYLES = ("standard", "ireal", "harte", "music21")
DIALECTS = ("auto", "harte", "chordonomicon", "music21")


def spell(pc: int, prefer: str | None = None) -> str:
    """Name a pitch class; ``prefer`` is ``"sharp"``, ``"flat"`` or None for common spellings."""
    if prefer == "sharp":
        return SHARP_NAMES[pc % 12]
    if prefer == "flat":
        return FLAT_NAMES[pc % 12]
    return DEFAULT_NAMES[pc % 12]


def _accidental_pref(name: str | None) -> str | None:
    if not name:
        return None
    if "#" in name[1:]:
        return "sharp"
    if "b" in name[1:] or "-" in name[1:]:
        return "flat"
    return None


@dataclass(frozen=True)
class Chord:
    """A parsed chord. ``root is None`` means no chord (``N``, ``N.C.``).

    Equality is musical: root and bass pitch classes, quality, added and omitted intervals.
    ``name`` keeps the spelling it was read from (or was made with) and does not take part in
    equality; :meth:`format` with ``style="original"`` gives it back.
    """

    root: int | None
    quality: str = "maj"
    added: tuple[int, ...] = ()
    omitted: tuple[int, ...] = ()
    bass: int | None = None
    name: str = field(default="", compare=False)

    # ----------------------------------------------------------------- construction
    @classmethod
    def parse(cls, symbol: str, where: str | None = None, dialect: str = "auto") -> Chord:
        """Parse a chord symbol (see :func:`parse_chord`)."""
        return parse_chord(symbol, where=where, dialect=dialect)

    @classmethod
    def from_intervals(cls, root: int, intervals: Iterable[int], bass: int | None = None,
                       name: str | None = None, prefer: str | None = None) -> Chord:
        """Name a set of intervals above ``root`` with the best-fitting canonical quality."""
        ivs = frozenset(i % 12 for i in intervals) | {0}
        quality, added, omitted = _name_intervals(ivs)
        bass_pc = None if bass is None or bass % 12 == root % 12 else bass % 12
        chord = cls(root % 12, quality, added, omitted, bass_pc, "")
        text = name if name else chord.format("standard", prefer=prefer)
        return _with_name(chord, text)

    @property
    def is_no_chord(self) -> bool:
        """True for ``N`` / ``N.C.``."""
        return self.root is None

    # ----------------------------------------------------------------- music
    @property
    def intervals(self) -> frozenset[int]:
        """Intervals above the root (bass excluded)."""
        if self.root is None:
            return frozenset()
        base = QUALITIES[self.quality][0]
        return (base - set(self.omitted)) | set(self.added)

    @property
    def pitch_classes(self) -> frozenset[int]:
        """Sounding pitch classes, bass included."""
        if self.root is None:
            return frozenset()
        pcs = {(self.root + i) % 12 for i in self.intervals}
        if self.bass is not None:
            pcs.add(self.bass)
        return frozenset(pcs)

    @property
    def bass_pc(self) -> int | None:
        """The lowest note: the bass if given, else the root."""
        return self.bass if self.bass is not None else self.root

    @property
    def is_minor(self) -> bool:
        """A minor third and no major third."""
        return 3 in self.intervals and 4 not in self.intervals

    def transpose(self, semitones: int, prefer: str | None = None) -> Chord:
        """Move by ``semitones``. Spelling follows ``prefer`` or the chord's own accidentals."""
        if self.root is None:
            return self
        pref = prefer or _accidental_pref(_root_text(self.name))
        moved = Chord(
            (self.root + semitones) % 12, self.quality, self.added, self.omitted,
            None if self.bass is None else (self.bass + semitones) % 12, "",
        )
        return _with_name(moved, moved.format("standard", prefer=pref))

    # ----------------------------------------------------------------- text
    def format(self, style: str = "standard", prefer: str | None = None) -> str:
        """Print in ``style``: ``original``, ``standard``, ``ireal``, ``harte`` or ``music21``.

        ``music21`` text uses "-" for flats and reads back with ``dialect="music21"``.
        """
        if style == "original":
            return self.name or self.format("standard", prefer=prefer)
        if style not in STYLES:
            raise ValueError(f"unknown chord style {style!r}; choose from {STYLES + ('original',)}")
        if self.root is None:
            return "N" if style == "harte" else "N.C."
        pref = prefer or _accidental_pref(_root_text(self.name))
        root = spell(self.root, pref)
        bass = None if self.bass is None else spell(self.bass, pref)
        if style == "harte":
            bass_iv = None if self.bass is None else self.bass - self.root
            return format_harte(root, QUALITIES[self.quality][3], self.intervals, bass_iv)
        if style == "music21":
            root = root.replace("b", "-")
            bass = bass.replace("b", "-") if bass else None
        suffix = QUALITIES[self.quality][2 if style == "ireal" else 1]
        text = root + suffix + _format_alterations(self, suffix)
        if bass is not None:
            text += "/" + bass
        return text

    def __str__(self) -> str:
        return self.format("original")

    # ----------------------------------------------------------------- serialisation
    def to_json(self) -> str:
        """The spelling it was read from: JSON keeps what the user wrote."""
        return self.format("original")

    @classmethod
    def from_json(cls, text: str) -> Chord:
        """Inverse of :meth:`to_json`."""
        return parse_chord(text)


def _with_name(chord: Chord, name: str) -> Chord:
    # The record is frozen; its name is set once, right after construction.
    object.__setattr__(chord, "name", name)
    return chord


def _root_text(name: str) -> str | None:
    m = re.match(r"^[A-Ga-g][#b♯♭-]*", name or "")
    return m.group(0) if m else None


def _format_alterations(chord: Chord, suffix: str) -> str:
    """Spell added and omitted intervals after the quality suffix.

    Common tensions read the lead-sheet way (``7b9``, ``maj7#11``, ``add9``, ``7b5``); anything
    else goes in brackets as degrees (``5(b7)``, ``dim(7)``, ``m11(nob7)``), which the parser
    reads back to the same intervals.
    """
    ivs = chord.intervals
    added = list(chord.added)
    omitted = list(chord.omitted)
    simple: list[str] = []
    degrees: list[str] = []
    # A lowered or raised fifth replacing the fifth reads as b5/#5.
    if 7 in omitted and 6 in added:
        simple.append("b5")
        omitted.remove(7)
        added.remove(6)
    elif 7 in omitted and 8 in added:
        simple.append("#5")
        omitted.remove(7)
        added.remove(8)
    for iv in added:
        tension = iv in (1, 3) and bool(ivs & {10, 11}) and (iv != 3 or 4 in ivs)
        if tension or iv in (6, 8) and 7 in ivs:
            simple.append(_ADD_LABEL[iv])
        elif iv in (2, 5, 9):
            simple.append("add" + _ADD_LABEL[iv])
        else:
            degrees.append(_ADD_LABEL[iv])
    degrees += ["no" + _OMIT_LABEL[iv] for iv in omitted]
    if not simple and not degrees:
        return ""
    if degrees:
        return "(" + ",".join(simple + degrees) + ")"
    text = "".join(simple)
    # "C" + "b9" would read as the root C-flat: bracket alterations after an empty suffix.
    if not suffix and text[0] in "b#":
        return "(" + ",".join(simple) + ")"
    return text




def _name_intervals(ivs: frozenset[int]) -> tuple[str, tuple[int, ...], tuple[int, ...]]:
    """Best canonical quality for an interval set, with what it adds and leaves out."""
    for name, (q, *_rest) in QUALITIES.items():
        if q == ivs:
            return name, (), ()
    best: tuple[int, int, str] | None = None
    for order, (name, (q, *_rest)) in enumerate(QUALITIES.items()):
        missing = q - ivs
        if 0 in missing:
            continue
        # Prefer qualities that explain the most tones while leaving out the fewest.
        score = len(q & ivs) * 2 - len(missing) * 3
        if 4 in missing or 3 in missing:  # losing the third changes the chord's family
            score -= 2
        if 3 in q and 4 not in q and 4 in ivs:  # with a major third present, 3 is a #9
            score -= 6
        key = (score, -order)
        if best is None or key > best[:2]:
            best = (score, -order, name)
    assert best is not None
    name = best[2]
    q = QUALITIES[name][0]
    return name, tuple(sorted(ivs - q)), tuple(sorted(q - ivs))


# --------------------------------------------------------------------------- parsing

_ROOT_RE = re.compile(r"^([A-Ga-g])((?:##|bb|#|b|♯|♭)?)")
# "n" is iReal's no-chord; "X" is Harte's "no chord annotated", read as no chord too.
_NO_CHORD = {"N", "N.C.", "NC", "N.C", "n", "X"}

# Tokens of a chord suffix, longest first. Each maps to an action on the interval set.
_SUFFIX_TOKENS: list[tuple[str, str]] = [
    ("maj13", "maj13"), ("maj11", "maj11"), ("maj9", "maj9"),
    ("maj7", "maj7"), ("Maj7", "maj7"), ("Maj9", "maj9"), ("ma7", "maj7"), ("ma9", "maj9"),
    ("M13", "maj13"), ("M11", "maj11"), ("M9", "maj9"), ("M7", "maj7"), ("^13", "maj13"),
    ("^11", "maj11"), ("^9", "maj9"), ("^7", "maj7"), ("Δ7", "maj7"), ("Δ9", "maj9"),
    ("Δ", "maj7"), ("^", "maj7"), ("maj", "majtriad"), ("Maj", "majtriad"), ("Min", "min"), ("M", "majtriad"),
    ("j7", "maj7"),
    ("min", "min"), ("mi", "min"), ("m", "min"), ("-", "min"),
    ("dim7", "dim7"), ("dim", "dim"), ("°7", "dim7"), ("°", "dim"), ("o7", "dim7"), ("o", "dim"),
    ("ø7", "hdim7"), ("ø", "hdim7"), ("h7", "hdim7"), ("h9", "hdim9"), ("h", "hdim7"),
    ("aug", "aug"), ("+", "aug"),
    ("sus4", "sus4"), ("sus2", "sus2"), ("sus9", "sus2"), ("sus", "sus4"),
    ("alt", "alt"),
    ("add13", "add13"), ("add11", "add11"), ("add9", "add9"), ("add2", "add9"), ("add4", "add11"),
    ("add3", "add3"), ("add6", "add13"), ("add", "add"),
    ("no3", "no3"), ("no5", "no5"), ("omit3", "no3"), ("omit5", "no5"),
    ("6/9", "69"), ("69", "69"), ("6", "6"),
    ("13", "13"), ("11", "11"), ("9", "9"), ("7", "7"), ("5", "5"), ("4", "sus4"), ("2", "sus2"),
    ("1", "1"),
]


def _tokenize_suffix(suffix: str, symbol: str, where: str | None) -> list[str]:
    """Split a suffix into actions. Alterations come back as ``alt:<degree>``, degrees
    inside brackets as ``deg:<degree>`` (added) or ``no:<degree>`` (left out)."""
    actions: list[str] = []
    s = suffix
    while s:
        if s[0] in ", _":  # "A7_sus4" (chord templates) reads as "A7 sus4"
            s = s[1:]
            continue
        if s[0] == "(":
            close = s.find(")")
            if close < 0:
                raise ChordError(symbol, "unbalanced '('", where)
            for item in s[1:close].split(","):
                item = item.strip()
                dm = re.fullmatch(r"(no|omit|\*)?((?:b|#|bb)?\d+)", item)
                if dm and dm.group(2) in DEGREE:
                    actions.append(("no:" if dm.group(1) else "deg:") + dm.group(2))
                elif item:
                    actions.extend(_tokenize_suffix(item, symbol, where))
            s = s[close + 1:]
            continue
        m = re.match(r"^(b|#|♭|♯|\+|-)(5|6|9|11|13)", s)
        # "-" and "+" before 5/9/11/13 mean flat/sharp only after something was read
        # ("C7-9"); at the start "-" is minor (iReal) and "+" is augmented.
        if m and (m.group(1) in "b#♭♯" or actions):
            acc = {"b": "b", "♭": "b", "-": "b", "#": "#", "♯": "#", "+": "#"}[m.group(1)]
            deg = m.group(2)
            if deg == "6":
                deg = "13"
            actions.append(f"alt:{acc}{deg}")
            s = s[m.end():]
            continue
        for tok, act in _SUFFIX_TOKENS:
            if s.startswith(tok):
                actions.append(act)
                s = s[len(tok):]
                break
        else:
            raise ChordError(symbol, f"unknown chord quality near {s!r}", where)
    return actions


def _build_intervals(actions: list[str], symbol: str, where: str | None) -> set[int]:
    """Turn suffix actions into the set of intervals above the root."""
    third: int | None = 4
    fifth: int | None = 7
    seventh: int | None = None
    extra: set[int] = set()
    removed: set[int] = set()
    ext = 0  # highest stacked extension: 9, 11 or 13
    power = no_third = no_fifth = False
    i = 0
    while i < len(actions):
        act = actions[i]
        nxt = actions[i + 1] if i + 1 < len(actions) else None
        if act == "min":
            third = 3
        elif act == "majtriad":
            # "CM" is a major triad; "CM7" and "CmM7" put a major seventh on it.
            if nxt in ("7", "9", "11", "13"):
                seventh = 11
        elif act in ("maj7", "maj9", "maj11", "maj13"):
            seventh = 11
            ext = max(ext, {"maj7": 0, "maj9": 9, "maj11": 11, "maj13": 13}[act])
        elif act == "minmaj7":
            third, seventh = 3, 11
        elif act == "dim":
            third, fifth = 3, 6
        elif act == "dim7":
            third, fifth, seventh = 3, 6, 9
        elif act in ("hdim7", "hdim9"):
            third, fifth, seventh = 3, 6, 10
            if act == "hdim9":
                ext = max(ext, 9)
        elif act == "aug":
            fifth = 8
        elif act == "sus4":
            third = 5
        elif act == "sus2":
            third = 2
        elif act == "alt":
            seventh = 10 if seventh is None else seventh
            extra |= {1, 3, 8}
            fifth = None
        elif act in ("6", "69"):
            extra.add(9)
            if act == "69":
                extra.add(2)
        elif act == "7":
            if seventh is None:
                seventh = 10
        elif act in ("9", "11", "13"):
            if seventh is None:
                seventh = 10
            ext = max(ext, int(act))
        elif act == "5":
            power = True
        elif act == "1":
            no_third = no_fifth = True
        elif act in ("add9", "add11", "add13", "add3"):
            extra.add({"add9": 2, "add11": 5, "add13": 9, "add3": 4}[act])
        elif act == "add":
            # "add" followed by a bare degree: "Cadd 9" -> an added 9th, not a 9th chord;
            # "sus4add7" (OpenEWLD) leaves the "7" to be read as the seventh it is.
            if nxt in ("9", "11", "13"):
                extra.add({"9": 2, "11": 5, "13": 9}[nxt])
                i += 1
        elif act == "no3":
            no_third = True
        elif act == "no5":
            no_fifth = True
        elif act.startswith("alt:"):
            deg = act[4:]
            if deg in ("b5", "#5"):
                fifth = DEGREE[deg]
            else:
                extra.add(DEGREE[deg])
        elif act.startswith("deg:"):
            deg = act[4:]
            if deg in ("b5", "#5") and fifth == 7:
                fifth = DEGREE[deg]  # lead-sheet "C7(b5)": the fifth is lowered
            else:
                extra.add(DEGREE[deg])
        elif act.startswith("no:"):
            removed.add(DEGREE[act[3:]])
        else:  # pragma: no cover - the token table and this loop are kept in step
            raise ChordError(symbol, f"unhandled token {act}", where)
        i += 1
    if power and third == 4:
        third = None  # "C5", "C7(no3)" style power chords have no third
    ivs = {0}
    if third is not None and not no_third:
        ivs.add(third)
    if fifth is not None and not no_fifth:
        ivs.add(fifth)
    if seventh is not None:
        ivs.add(seventh)
    if ext >= 9:
        ivs.add(2)
    if ext == 11:
        ivs.add(5)
    if ext == 13:
        ivs.add(9)  # the 11th is customarily left out of a 13th chord
    ivs |= extra
    ivs -= removed
    return ivs


# Tokens that corpus importers meet between chords and must skip, never parse: iReal's "%"
# and "%2" (repeat one or two bars), "p" (repeat the chord) and invisible-root slashes ("W/G#",
# decoded as "A#W/G#"), and Billboard's "(3/4)" metre changes, "&pause" and "*".
_IMPORTER_TOKEN = re.compile(r"%2?|p|&pause|\*|\(\d+/\d+\)|[A-G]?[#b]?W(/[A-G][#b]?)?")


def is_importer_token(symbol: str) -> bool:
    """True for corpus markup that sits where a chord would but is not one (``%``, ``(3/4)``)."""
    return bool(_IMPORTER_TOKEN.fullmatch(symbol.strip()))


def _music21_to_standard(text: str) -> str:
    """music21 writes flats as "-" ("B-7", "E-m/B-"); elsewhere "-" would be iReal minor."""
    def flat(m: re.Match[str]) -> str:
        return m.group(1) + "b" * len(m.group(2))

    head = re.sub(r"^([A-Ga-g])(-+)", flat, text)
    return re.sub(r"/([A-Ga-g])(-+)$", lambda m: "/" + flat(m), head)


def parse_chord(symbol: str, where: str | None = None, dialect: str = "auto") -> Chord:
    """Parse ``symbol`` into a :class:`Chord`.

    Args:
        symbol: the chord text (``"F#m7b5"``, ``"A:min7/5"``, ``"E-7"``, ``"N.C."``).
        where: where it came from (``"song.cho:12"``), for the error message.
        dialect: ``auto`` (lead-sheet, ChordPro and iReal; Harte when it has a ":"),
            ``harte``, ``chordonomicon`` or ``music21`` ("-" is a flat, not iReal minor).

    Raises:
        ChordError: naming the symbol and ``where`` it came from.
    """
    if not isinstance(symbol, str):
        raise ChordError(repr(symbol), "not a string", where)
    if dialect not in DIALECTS:
        raise ValueError(f"unknown chord dialect {dialect!r}; choose from {DIALECTS}")
    text = symbol.strip()
    if not text:
        raise ChordError(symbol, "empty chord", where)
    if text in _NO_CHORD:
        return Chord(None, name=text)
    if dialect == "harte" or (dialect == "auto" and ":" in text):
        root, ivs, bass = parse_harte(text, where)
        return Chord.from_intervals(root, ivs, bass=bass, name=text)
    if dialect == "chordonomicon":
        root, ivs, bass = parse_chordonomicon(text, where)
        return Chord.from_intervals(root, ivs, bass=bass, name=text)
    if dialect == "music21":
        text = _music21_to_standard(text)
    m = _ROOT_RE.match(text)
    if not m:
        raise ChordError(symbol, "a chord starts with a note name A-G", where)
    root = pitch_class(m.group(1).upper() + m.group(2).replace("♯", "#").replace("♭", "b"))
    rest = text[m.end():]
    bass: int | None = None
    # A slash followed by a note name is a bass; "6/9" is a quality.
    sm = re.search(r"/([A-Ga-g](?:##|bb|#|b|♯|♭)?)$", rest)
    if sm:
        bass = pitch_class(sm.group(1))
        rest = rest[: sm.start()]
    elif re.search(r"/(?!9)", rest):
        raise ChordError(symbol, "bass after '/' must be a note name", where)
    actions = _tokenize_suffix(rest, symbol, where)
    ivs = _build_intervals(actions, symbol, where)
    return Chord.from_intervals(root, ivs, bass=bass, name=symbol.strip())


def format_chord(chord: Chord, style: str = "standard", prefer: str | None = None) -> str:
    """Function form of :meth:`Chord.format`."""
    return chord.format(style, prefer=prefer)


def from_musicxml_kind(root: str, kind: str, bass: str | None = None,
                       degrees: Iterable[tuple[str, int, int]] = ()) -> Chord:
    """Build a chord from MusicXML ``<harmony>`` parts.

    Args:
        root: root step with alteration as a note name (``"Bb"``; music21's ``"B-"`` works).
        kind: the MusicXML ``<kind>`` value (``"dominant"``, ``"minor-seventh"``, ...).
        bass: bass note name, if any.
        degrees: ``(type, value, alter)`` for each ``<degree>``: type ``add``/``alter``/``subtract``.

    Raises:
        ChordError: for an unknown kind or note name.
    """
    if kind in ("none", "", None):
        return Chord(None, name="N.C.")
    try:
        ivs = musicxml_intervals(kind, degrees)
    except ChordError as exc:
        raise ChordError(f"{root} {kind}", "unknown MusicXML harmony kind") from exc
    b = pitch_class(bass) if bass else None
    pref = _accidental_pref(root.replace("-", "b"))
    return Chord.from_intervals(pitch_class(root), ivs, bass=b, prefer=pref)
