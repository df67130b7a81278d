"""MusicXML lead-sheet reader (see :mod:`songwright.formats.musicxml`).

Both directions work on the XML directly (``zipfile`` + ``xml.etree``): reading the 502
OpenEWLD files takes ~4 s this way against ~33 s for music21's parser alone, and writing takes
milliseconds where building the score in music21 took 1-2 s per song (docs/formats-musicxml.md).
:func:`song_to_music21` parses the written XML with music21 for callers who want its objects.
"""

from __future__ import annotations

import functools
import logging
import re
import sqlite3
import time
import xml.etree.ElementTree as ET
import zipfile
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..chords import Chord, from_musicxml_kind, parse_chord
from ..errors import ChordError, FormatError, SongwrightError
from ..keys import estimate_key
from ..model import ChordAt, Line, Note, Section, Song, parse_time

log = logging.getLogger(__name__)

# Line-break rule (docs/formats-musicxml.md): a line ends after a word when it has at least
# MIN_SYLLABLES and the word ends a phrase (strong punctuation, a rest of REST_BEATS or more,
# or a note held LONG_BEATS or more), or after a comma / short rest once it has SOFT_SYLLABLES.
# A line longer than MAX_SYLLABLES or MAX_CHARS is then split at its strongest phrase end.
MIN_SYLLABLES, SOFT_SYLLABLES, MAX_SYLLABLES, MAX_CHARS = 4, 8, 14, 60
REST_BEATS, SHORT_REST_BEATS, LONG_BEATS = Fraction(1), Fraction(1, 2), Fraction(3)
INSTRUMENTAL_BARS = 2  # chords this far (or more) before the next syllable form chord-only lines
_STRONG_PUNCT, _SOFT_PUNCT = ".!?;:", ","
_MAJOR_BY_FIFTHS = ["Cb", "Gb", "Db", "Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#"]
_MINOR_BY_FIFTHS = ["Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#", "G#", "D#", "A#"]
# Words so common that two of them side by side are two words, not one split word ("a way").
_COMMON = frozenset("""a about after again all am an and any are as at away back bad be been
before best big boy but by call came can come could dance day dear did do does don't down dream
eyes far feel find fine for from get girl give go god gone good got had hand has have he heart
her here him his home how i i'm if in is it just keep kind know la last let life light like
little long look lord love made make man may me mind more my never new night no not now of oh
old on once one only or our out over play rain rest right road round said saw say see she shine
sing sky so some song soon still sun sweet take tell than that the thee their them then there
they thing thou though through thy time to too true two up us wait want was way we well were
what when where who why will wish with world would yes yet you your
re de con un ex pro dis com""".split())  # noqa: SIM905 - last line: prefixes ("I re-" is not "ire")


@dataclass
class _Ev:
    """One note or rest of the melody, in quarter-note beats from the start."""

    start: Fraction
    dur: Fraction
    pitch: int | None  # None: a rest
    tie_stop: bool = False
    lyrics: dict[int, tuple[str, str]] = field(default_factory=dict)  # verse -> (text, syllabic)


@dataclass
class _Score:
    notes: list[_Ev]
    harmonies: list[tuple[Fraction, Chord]]
    bars: list[Fraction]  # start of each measure
    meta: dict[str, str]
    fifths: int | None = None
    mode: str | None = None
    time: str | None = None
    tempo: float | None = None
    bad_chords: int = 0


# --------------------------------------------------------------------------- XML reading

def _load_root(path: Path) -> ET.Element:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise FormatError(f"cannot read file: {e.strerror or e}", str(path)) from e
    try:
        if data[:2] == b"PK":
            with zipfile.ZipFile(path) as z:
                names = [n for n in z.namelist() if not n.startswith("META-INF/")]
                target = None
                try:
                    rf = ET.fromstring(z.read("META-INF/container.xml")).find(".//rootfile")
                    target = rf.get("full-path") if rf is not None else None
                except (KeyError, ET.ParseError):  # OpenEWLD: full-path='I'll ...' is not XML
                    target = None
                if target not in z.namelist():
                    target = None
                if target is None:
                    target = next(n for n in names if n.endswith((".xml", ".musicxml")))
                data = z.read(target)
        root = ET.fromstring(data)
    except (zipfile.BadZipFile, KeyError, StopIteration) as e:
        raise FormatError(f"not a readable compressed MusicXML (.mxl) file: {e}", str(path)) from e
    except ET.ParseError as e:
        raise FormatError(f"invalid MusicXML: {e}", str(path), e.position[0]) from e
    if root.tag != "score-partwise":
        raise FormatError(f"expected <score-partwise>, found <{root.tag}>", str(path))
    return root


def _harmony_chord(h: ET.Element) -> Chord | None:
    kind_el = h.find("kind")
    kind = (kind_el.text or "").strip() if kind_el is not None else ""
    if kind in ("", "none"):
        return None
    step = h.findtext("root/root-step") or ""
    alter = int(float(h.findtext("root/root-alter") or 0))
    root = step.strip() + ("#" * alter if alter > 0 else "b" * -alter)
    bass = None
    if h.find("bass") is not None:
        b_alter = int(float(h.findtext("bass/bass-alter") or 0))
        bass = (h.findtext("bass/bass-step") or "").strip()
        bass += "#" * b_alter if b_alter > 0 else "b" * -b_alter
    degrees = [(d.findtext("degree-type") or "add", int(d.findtext("degree-value") or 0),
                int(float(d.findtext("degree-alter") or 0))) for d in h.findall("degree")]
    try:
        return from_musicxml_kind(root, kind, bass or None, degrees)
    except ChordError:
        # Non-standard kinds (OpenEWLD has "maj69") usually carry a readable text="" attribute.
        text = kind_el.get("text") if kind_el is not None else None
        return parse_chord(root + (text if text is not None else kind) + (f"/{bass}" if bass else ""))


def _parse_score(root: ET.Element, path: Path) -> _Score:
    meta: dict[str, str] = {}
    title = (root.findtext("movement-title") or root.findtext("work/work-title") or "").strip()
    if title:
        meta["title"] = title
    for cr in root.iter("creator"):
        if cr.get("type") in ("composer", "lyricist", "arranger") and (cr.text or "").strip():
            meta.setdefault(cr.get("type") or "", cr.text.strip())
    parts = root.findall("part")
    if not parts:
        raise FormatError("no <part> in the score", str(path))
    # The melody is the first part that has lyrics, else the first part.
    part = next((p for p in parts if p.find(".//lyric") is not None), parts[0])
    sc = _Score([], [], [], meta)
    divisions, pos, voice1 = Fraction(1), Fraction(0), None
    for measure in part.findall("measure"):
        sc.bars.append(pos)
        m_start, m_end = pos, pos
        for el in measure:
            tag = el.tag
            if tag == "attributes":
                if el.findtext("divisions"):
                    divisions = Fraction(el.findtext("divisions")).limit_denominator(100000)
                k = el.find("key")
                if k is not None and sc.fifths is None and k.findtext("fifths") is not None:
                    sc.fifths = int(k.findtext("fifths"))
                    sc.mode = (k.findtext("mode") or "").strip().lower() or None
                t = el.find("time")
                if t is not None and sc.time is None and t.findtext("beats"):
                    beats = sum(int(x) for x in re.findall(r"\d+", t.findtext("beats") or ""))
                    sc.time = f"{beats}/{(t.findtext('beat-type') or '4').strip()}"
            elif tag == "harmony":
                off = Fraction(int(float(el.findtext("offset") or 0))) / divisions
                try:
                    chord = _harmony_chord(el)
                except ChordError as e:
                    log.warning("%s: skipping chord: %s", path, e)
                    sc.bad_chords += 1
                    chord = None
                if chord is not None:
                    sc.harmonies.append((max(m_start, pos + off), chord))
            elif tag in ("backup", "forward"):
                d = Fraction(int(float(el.findtext("duration") or 0))) / divisions
                pos += -d if tag == "backup" else d
            elif tag == "note":
                if el.find("grace") is not None or el.find("cue") is not None:
                    continue
                d = Fraction(int(float(el.findtext("duration") or 0))) / divisions
                voice = el.findtext("voice") or "1"
                voice1 = voice1 or voice
                if el.find("chord") is not None:  # a chord tone over the melody note
                    continue
                if voice == voice1:
                    sc.notes.append(_note_event(el, pos, d))
                pos += d
            elif tag == "direction" or tag == "sound":
                _read_tempo(el, sc)
            m_end = max(m_end, pos)
        pos = m_end
    sc.bars.append(pos)
    return sc


def _note_event(el: ET.Element, pos: Fraction, d: Fraction) -> _Ev:
    pitch = None
    if el.find("rest") is None and el.find("pitch") is not None:
        step = el.findtext("pitch/step") or "C"
        alter = round(float(el.findtext("pitch/alter") or 0))
        octave = int(el.findtext("pitch/octave") or 4)
        pitch = 12 * (octave + 1) + {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}[step] + alter
    ev = _Ev(pos, d, pitch, tie_stop=any(t.get("type") == "stop" for t in el.findall("tie")))
    for ly in el.findall("lyric"):
        text = " ".join((t.text or "").strip() for t in ly.findall("text")).strip()
        if text:
            num = re.sub(r"\D", "", ly.get("number") or "1") or "1"
            ev.lyrics[int(num)] = (text, (ly.findtext("syllabic") or "single").strip())
    return ev


def _read_tempo(el: ET.Element, sc: _Score) -> None:
    if sc.tempo is not None:
        return
    snd = el if el.tag == "sound" else el.find("sound")
    if snd is not None and snd.get("tempo"):
        sc.tempo = round(float(snd.get("tempo") or 0), 2) or None
        return
    pm = el.find(".//metronome/per-minute")
    if pm is not None and re.fullmatch(r"\d+(\.\d+)?", (pm.text or "").strip()):
        unit = {"half": 2.0, "eighth": 0.5, "whole": 4.0}.get(el.findtext(".//metronome/beat-unit") or "", 1.0)
        unit *= 1.5 if el.find(".//metronome/beat-unit-dot") is not None else 1.0
        sc.tempo = round(float(pm.text or 0) * unit, 2) or None


# --------------------------------------------------------------------------- words and lines

@functools.lru_cache(maxsize=1)
def _cmu() -> dict[str, int]:
    """CMU dictionary words and their syllable counts (used to repair split words)."""
    import pronouncing

    pronouncing.init_cmu()
    return {w: sum(ch.isdigit() for ch in ph) for w, ph in reversed(pronouncing.pronunciations or [])}


def _join_singles(tokens: list[str], loose: bool) -> list[str]:
    """Rejoin words split into "single" syllables (OpenEWLD: ``Je sus``, ``wro ng``).

    A run of 2-4 tokens may merge when the joined text is a CMU dictionary word with at most as
    many syllables as tokens, no inner token ends in punctuation and the last token is not a
    common word that stands on its own ("just a", "true love" stay apart). Unless ``loose``
    (a verse marked all ``single``), one token must also be missing from the dictionary. Among
    the possible merges, dynamic programming picks the split with the most joins, a join
    counting less when the word has fewer syllables than tokens ("has e ver" -> "has ever").
    """
    cmu = _cmu()
    n = len(tokens)
    bare = [re.sub(r"[^a-z']", "", t.lower()) for t in tokens]
    best: list[tuple[float, int]] = [(0.0, 0)] * (n + 1)  # (score, length of the last group)
    for end in range(1, n + 1):
        best[end] = (best[end - 1][0], 1)
        for k in range(2, min(4, end) + 1):
            i = end - k
            if any(not t[-1:].isalpha() for t in tokens[i:end - 1]) or bare[end - 1] in _COMMON:
                continue
            syl = cmu.get("".join(bare[i:end]), 0)
            if not 0 < syl <= k or not (loose or any(b not in cmu for b in bare[i:end])):
                continue
            score = best[i][0] + (k - 1) * (1.0 if syl == k else 0.6)
            if score > best[end][0]:
                best[end] = (score, k)
    out: list[str] = []
    end = n
    while end > 0:
        k = best[end][1]
        out.append("".join(tokens[end - k:end]))
        end -= k
    return out[::-1]


def _words(sylls: list[tuple[int, str, str]]) -> list[list[tuple[int, str]]]:
    """Group (note index, text, syllabic) into words by syllabic type, repairing runs of singles."""
    words: list[list[tuple[int, str]]] = []
    open_word = False
    for idx, text, syllabic in sylls:
        cont = syllabic in ("middle", "end") and open_word
        text = text.strip("-") if syllabic != "single" else text
        if cont:
            words[-1].append((idx, text))
        else:
            words.append([(idx, text)])
        open_word = syllabic in ("begin", "middle") or (syllabic == "single" and text.endswith("-"))
    # Repair runs of one-syllable "single" words whose text joins into a dictionary word.
    loose = all(s == "single" for _, _, s in sylls)
    out: list[list[tuple[int, str]]] = []
    run: list[list[tuple[int, str]]] = []
    for w in words + [[]]:
        if len(w) == 1:
            run.append(w)
            continue
        if run:
            texts = _join_singles([r[0][1] for r in run], loose)
            j = 0
            for t in texts:
                parts: list[tuple[int, str]] = []
                while "".join(p[1] for p in parts) != t:
                    parts.append(run[j][0])
                    j += 1
                out.append(parts)
            run = []
        if w:
            out.append(w)
    return out


def _boundary(word: list[tuple[int, str]], nxt: list[tuple[int, str]],
              notes: list[_Ev]) -> tuple[int, Fraction]:
    """How strongly a phrase ends after ``word``: (2 strong / 1 soft / 0 none, rest + held beats)."""
    last, first_next = word[-1][0], nxt[0][0]
    held = rest = Fraction(0)
    for ev in notes[last:first_next]:
        if ev.pitch is None:
            rest += ev.dur
        elif not rest:
            held += ev.dur
    tail = word[-1][1].rstrip("\"')]»”’")[-1:]
    if tail in _STRONG_PUNCT or rest >= REST_BEATS or held >= LONG_BEATS:
        return 2, rest + held
    return (1 if tail in _SOFT_PUNCT or rest >= SHORT_REST_BEATS else 0), rest + held


def _break_lines(words: list[list[tuple[int, str]]], notes: list[_Ev]) -> list[list[list[tuple[int, str]]]]:
    """Group words into lines by the rule at the top of the module."""
    bounds = [_boundary(w, n, notes) for w, n in zip(words, words[1:])]
    lines: list[list[int]] = [[]]
    for i in range(len(words)):
        lines[-1].append(i)
        nsyl = sum(len(words[j]) for j in lines[-1])
        if i < len(bounds) and (bounds[i][0] == 2 and nsyl >= MIN_SYLLABLES
                                or bounds[i][0] == 1 and nsyl >= SOFT_SYLLABLES):
            lines.append([])

    def split(idx: list[int]) -> list[list[int]]:
        syl = [len(words[j]) for j in idx]
        chars = sum(len(t) for j in idx for _, t in words[j]) + len(idx) - 1
        if len(idx) < 2 or sum(syl) <= MAX_SYLLABLES and chars <= MAX_CHARS:
            return [idx]
        total = sum(syl)

        def score(k: int) -> tuple[bool, int, Fraction, int]:
            left = sum(syl[:k])
            return (min(left, total - left) >= 3, bounds[idx[k - 1]][0], bounds[idx[k - 1]][1],
                    -abs(total - 2 * left))
        k = max(range(1, len(idx)), key=score)
        return split(idx[:k]) + split(idx[k:])

    return [[words[j] for j in part] for ln in lines if ln for part in split(ln)]


def _verse_section(sc: _Score, verse: int, bar_len: Fraction, with_notes: bool) -> Section:
    """Build the section of lyric verse ``verse``: lines, chords on syllables, melody notes."""
    notes = sc.notes
    sylls = [(i, ev.lyrics[verse][0], ev.lyrics[verse][1]) for i, ev in enumerate(notes)
             if verse in ev.lyrics]
    words = _words(sylls)
    line_words = _break_lines(words, notes)
    # Text of each line and where each syllable's note lands in it.
    texts: list[str] = []
    where: dict[int, tuple[int, int]] = {}  # note index -> (line, char offset)
    for ln, lw in enumerate(line_words):
        text = ""
        for w in lw:
            text += " " if text else ""
            for idx, syl in w:
                where[idx] = (ln, len(text))
                text += syl
        texts.append(text)
    syl_idx = [i for i, _, _ in sylls]
    syl_starts = [notes[i].start for i in syl_idx]
    lo = hi = None
    if verse > 1 and syl_idx:  # later verses span the bars that carry their syllables
        lo = max(b for b in sc.bars if b <= syl_starts[0])
        hi = min((b for b in sc.bars if b > syl_starts[-1]), default=sc.bars[-1])
    line_chords: list[list[ChordAt]] = [[] for _ in texts]
    extra: dict[int, list[tuple[Fraction, Chord]]] = {}  # line index -> chord-only chords before it
    for t, chord in sc.harmonies:
        if lo is not None and not lo <= t < (hi or t + 1):
            continue
        j = bisect_left(syl_starts, t)
        j = None if j == len(syl_starts) else j
        if j is None or syl_starts[j] - t >= INSTRUMENTAL_BARS * bar_len:
            extra.setdefault(len(texts) if j is None else where[syl_idx[j]][0], []).append((t, chord))
        else:
            ln, off = where[syl_idx[j]]
            line_chords[ln].append(ChordAt(chord, off))
    lines: list[tuple[Fraction, Line]] = []
    for ln in range(len(texts) + 1):
        group = extra.get(ln, [])
        for g in range(0, len(group), 8):
            chunk = group[g:g + 8]
            lines.append((chunk[0][0], Line("", tuple(ChordAt(c, 0) for _, c in chunk))))
        if ln < len(texts) and texts[ln]:
            first = notes[line_words[ln][0][0][0]].start
            lines.append((first, Line(texts[ln], tuple(line_chords[ln]))))
    if with_notes:
        lines = _attach_notes(lines, notes, verse)
    return Section("verse", tuple(ln for _, ln in lines), None, verse, "verse")


def _attach_notes(lines: list[tuple[Fraction, Line]], notes: list[_Ev],
                  verse: int) -> list[tuple[Fraction, Line]]:
    """Give each line the melody notes from its start to the next line's (ties merged)."""
    if not lines:
        return lines
    per_line: list[list[list[Any]]] = [[] for _ in lines]
    prev: list[Any] | None = None
    k = 0
    for ev in notes:
        if ev.pitch is None:
            prev = None
            continue
        if (prev is not None and ev.tie_stop and prev[0] == ev.pitch and prev[1] + prev[2] == ev.start
                and verse not in ev.lyrics):  # a "tie" into a new syllable is a repeated note
            prev[2] += ev.dur
            continue
        while k + 1 < len(lines) and lines[k + 1][0] <= ev.start:
            k += 1
        syl, syllabic = ev.lyrics.get(verse, (None, ""))
        syl = syl.strip("-") if syl and syllabic != "single" else syl  # as in the line text
        prev = [ev.pitch, ev.start, ev.dur, syl]
        per_line[k].append(prev)
    return [(s, Line(ln.text, ln.chords, tuple(Note(p, float(st), float(d), sy) for p, st, d, sy in ns)))
            for (s, ln), ns in zip(lines, per_line)]


def _instrumental_section(sc: _Score, bar_len: Fraction) -> Section:
    """A lyric-less score: chord-only lines of four bars each, with the melody notes."""
    lines: list[tuple[Fraction, Line]] = []
    for b in range(0, max(len(sc.bars) - 1, 1), 4):
        start = sc.bars[b] if sc.bars else Fraction(0)
        end = sc.bars[min(b + 4, len(sc.bars) - 1)] if sc.bars else Fraction(0)
        chords = tuple(ChordAt(c, 0) for t, c in sc.harmonies if start <= t < end)
        if chords or any(start <= ev.start < end and ev.pitch is not None for ev in sc.notes):
            lines.append((start, Line("", chords)))
    return Section("instrumental", tuple(ln for _, ln in _attach_notes(lines, sc.notes, 1)))


def _key_name(sc: _Score) -> str | None:
    chords = [c for _, c in sc.harmonies]
    times = [t for t, _ in sc.harmonies] + [sc.bars[-1] if sc.bars else Fraction(0)]
    durs = [float(max(b - a, Fraction(1, 4))) for a, b in zip(times, times[1:])]
    mel = [(ev.pitch, float(ev.dur)) for ev in sc.notes if ev.pitch is not None]
    try:
        est = estimate_key(chords, durs, mel) if chords or mel else None
    except SongwrightError:
        est = None
    if sc.fifths is None or not -7 <= sc.fifths <= 7:
        return est.name if est else None
    major, minor = _MAJOR_BY_FIFTHS[sc.fifths + 7], _MINOR_BY_FIFTHS[sc.fifths + 7] + "m"
    # Wikifonia wrote <mode>major</mode> by default (489 of 493 OpenEWLD files), so only
    # "minor" is trusted; otherwise the relative minor wins when the estimate prefers it.
    if sc.mode == "minor":
        return minor
    return minor if est is not None and est.mode == "minor" and est.name == minor else major


# --------------------------------------------------------------------------- public reading

def read_musicxml(path: str | Path) -> Song:
    """Read a MusicXML lead sheet (``.mxl`` compressed or plain ``.xml``/``.musicxml``).

    Each lyric verse (``<lyric number="n">``) becomes section ``verse n``; syllables are joined
    into words by their ``<syllabic>`` type (and split words marked ``single`` are repaired
    with the CMU dictionary); lines break at phrase ends (see the module constants). Chords go
    on the syllable where they fall, or the next syllable after a rest or melisma. The first
    verse's lines carry the melody notes. A score with no lyrics becomes one ``instrumental``
    section of chord-only lines. Problems that do not stop the import (no lyrics, no chords,
    unreadable chords) are logged and listed in ``song.meta["import_warnings"]``.

    Args:
        path: the file.

    Returns:
        The song. OpenEWLD metadata (Discogs genre/style, authors, date) is added to
        ``song.meta`` when ``OpenEWLD.db`` sits above the file.

    Raises:
        FormatError: naming the file, when it is not readable MusicXML.
    """
    path = Path(path)
    try:
        sc = _parse_score(_load_root(path), path)
    except FormatError:
        raise
    except (ValueError, KeyError, ZeroDivisionError, TypeError) as e:
        raise FormatError(f"malformed MusicXML: {e}", str(path)) from e
    meta = dict(sc.meta)
    db = _openewld_meta(path)
    meta.update({k: v for k, v in db.items() if k not in meta})
    meta["source"] = str(path)
    time_sig, warnings = sc.time, []
    try:
        if time_sig:
            parse_time(time_sig)
    except SongwrightError:
        time_sig = None
    if time_sig is None and len(sc.bars) > 2:  # no <time>: the commonest bar length
        lengths = Counter(b - a for a, b in zip(sc.bars, sc.bars[1:]) if b > a)
        q = lengths.most_common(1)[0][0] if lengths else Fraction(4)
        time_sig = f"{q}/4" if q.denominator == 1 else f"{q * 2}/8" if (q * 2).denominator == 1 else None
        if time_sig:
            warnings.append(f"no time signature ({time_sig} from the bar lengths)")
    num, den = parse_time(time_sig or "4/4")
    bar_len = Fraction(num * 4, den)
    verses = sorted({v for ev in sc.notes for v in ev.lyrics})
    if verses:
        sections = tuple(_verse_section(sc, v, bar_len, v == verses[0]) for v in verses)
    else:
        warnings.append("no lyrics")
        sections = (_instrumental_section(sc, bar_len),)
    if not sc.harmonies:
        warnings.append("no chords")
    if sc.bad_chords:
        warnings.append(f"{sc.bad_chords} unreadable chord(s) skipped")
    if warnings:
        meta["import_warnings"] = "; ".join(warnings)
        log.warning("%s: %s", path, meta["import_warnings"])
    folder_title = path.stem.replace("_", " ")
    artist = meta.get("composer") or db.get("authors") or (
        path.parent.parent.name.replace("_", " ").replace("-", ", ") if path.parent.parent.name else None)
    return Song(title=meta.pop("title", "") or db.get("db_title") or folder_title, artist=artist,
                key=_key_name(sc), tempo=sc.tempo, time=time_sig, sections=sections, meta=meta)


def _openewld_meta(path: Path) -> dict[str, str]:
    """OpenEWLD.db fields for ``path`` when the database sits 1-4 folders above it."""
    for parent in list(path.resolve().parents)[:4]:
        db = parent / "OpenEWLD.db"
        if db.is_file():
            rel = path.resolve().relative_to(parent).as_posix()
            return _db_table(str(db)).get(rel, {})
    return {}


@functools.lru_cache(maxsize=4)
def _db_table(db: str) -> dict[str, dict[str, str]]:
    """Every work of an OpenEWLD database, keyed by its lead-sheet path."""
    out: dict[str, dict[str, str]] = {}
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            ids = {}
            for wid, title, date, lang, sheet in con.execute(
                    "SELECT id, title, first_performance_date, language, path_leadsheet FROM works"):
                d = {"db_title": title or "", "first_performance_date": date or "",
                     "language": lang or ""}
                out[sheet] = {k: v for k, v in d.items() if v}
                ids[wid] = out[sheet]
            for table, col, key in (("work_genres", "genre", "discogs_genre"),
                                    ("work_style", "style", "discogs_style"),
                                    ("work_author", "author", "authors")):
                order = " ORDER BY occurrences DESC" if key != "authors" else ""
                for wid, val in con.execute(f"SELECT id, {col} FROM {table}{order}"):  # noqa: S608
                    if wid in ids and val:
                        d = ids[wid]
                        d[key] = f"{d[key]}, {val}" if key in d else val
        finally:
            con.close()
    except sqlite3.Error as e:
        log.warning("cannot read %s: %s", db, e)
    return out


def scan_openewld(root: str | Path) -> tuple[list[Song], dict[str, Any]]:
    """Import every OpenEWLD lead sheet under ``root`` (the ``openewld`` folder or the data root).

    Returns:
        The songs, and a report: ``total``, ``imported``, ``with_lyrics_and_chords``,
        ``without_lyrics`` and ``without_chords`` (file lists), ``skipped`` (file -> reason)
        and ``seconds``. No file is dropped without an entry in the report.
    """
    root = Path(root)
    if (root / "openewld").is_dir():
        root = root / "openewld"
    files = sorted((root / "dataset" if (root / "dataset").is_dir() else root).rglob("*.mxl"))
    t0 = time.perf_counter()
    songs: list[Song] = []
    report: dict[str, Any] = {"total": len(files), "imported": 0, "with_lyrics_and_chords": 0,
                              "without_lyrics": [], "without_chords": [], "skipped": {}}
    for f in files:
        try:
            song = read_musicxml(f)
        except SongwrightError as e:
            report["skipped"][str(f)] = str(e)
            log.warning("skipping %s: %s", f, e)
            continue
        songs.append(song)
        report["imported"] += 1
        lyrics, chords = bool(song.lyric_lines), bool(song.chords)
        report["with_lyrics_and_chords"] += lyrics and chords
        if not lyrics:
            report["without_lyrics"].append(str(f))
        if not chords:
            report["without_chords"].append(str(f))
    report["seconds"] = round(time.perf_counter() - t0, 2)
    return songs, report
