"""MusicXML lead-sheet writer (see :mod:`songwright.formats.musicxml`)."""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
import zipfile
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..chords import Chord, from_musicxml_kind, pitch_class, spell
from ..errors import SongwrightError
from ..model import Line, Note, Song, parse_time

log = logging.getLogger(__name__)


_MAJOR_BY_FIFTHS = ["Cb", "Gb", "Db", "Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#"]
_MINOR_BY_FIFTHS = ["Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#", "G#", "D#", "A#"]

# --------------------------------------------------------------------------- writing

# Chord quality -> the MusicXML <kind> tried first; other kinds are tried when the chord's
# extra or missing tones cannot be written as <degree>s of it.
_KIND_FOR_QUALITY = {
    "maj": "major", "min": "minor", "dim": "diminished", "aug": "augmented",
    "sus4": "suspended-fourth", "sus2": "suspended-second", "5": "power", "1": "pedal",
    "7": "dominant", "maj7": "major-seventh", "min7": "minor-seventh", "minmaj7": "major-minor",
    "dim7": "diminished-seventh", "hdim7": "half-diminished", "aug7": "augmented-seventh",
    "maj6": "major-sixth", "min6": "minor-sixth", "9": "dominant-ninth", "maj9": "major-ninth",
    "min9": "minor-ninth", "11": "dominant-11th", "min11": "minor-11th", "13": "dominant-13th",
    "maj13": "major-13th", "min13": "minor-13th",
}
# Interval -> (degree value, alter) for <degree type="add">. Sevenths are never added as
# degrees: readers disagree on whether "7" means b7 (Wikifonia, chords.py) or maj7 (music21).
_ADD_DEGREE = {1: (9, -1), 2: (9, 0), 3: (9, 1), 4: (3, 0), 5: (11, 0), 6: (11, 1), 8: (13, -1),
               9: (13, 0)}
_SUB_DEGREE = {0: 1, 2: 9, 4: 3, 5: 11, 7: 5, 9: 13, 10: 7}


def _kind_and_degrees(chord: Chord) -> tuple[str, list[tuple[str, int, int]]]:
    """The MusicXML kind and degree modifications that spell ``chord``'s intervals."""
    ivs = chord.intervals
    best: tuple[float, str, list[tuple[str, int, int]]] | None = None
    for kind in dict.fromkeys([_KIND_FOR_QUALITY.get(chord.quality, "major"), *_KIND_FOR_QUALITY.values()]):
        base = from_musicxml_kind("C", kind).intervals
        add, sub = ivs - base, base - ivs
        if not add <= _ADD_DEGREE.keys() or not sub <= _SUB_DEGREE.keys():
            continue
        cost = len(add) + len(sub) - (0.5 if kind == _KIND_FOR_QUALITY.get(chord.quality) else 0)
        if best is None or cost < best[0]:
            degs = [("add", *_ADD_DEGREE[i]) for i in sorted(add)]
            best = (cost, kind, degs + [("subtract", _SUB_DEGREE[i], 0) for i in sorted(sub)])
    return (best[1], best[2]) if best else ("major", [])


def _syllable_offsets(line: Line) -> list[tuple[int, Note, str]]:
    """Each sung note with the character offset and text of its syllable in ``line.text``.

    The arranger marks a syllable that continues its word with a trailing hyphen (``"Ked-"``);
    the hyphen is not in the line's text, and MusicXML says it with ``<syllabic>`` instead.
    """
    out, ptr = [], 0
    low = line.text.lower()
    for n in line.notes:
        if n.syllable:
            syl = n.syllable.rstrip("-") or n.syllable
            at = low.find(syl.lower(), ptr)
            if at >= 0:
                out.append((at, n, line.text[at:at + len(syl)]))
                ptr = at + len(syl)
    return out


def _timeline(song: Song) -> tuple[list[tuple[float, float, int, str | None, str]], list[tuple[float, Chord]]]:
    """Lay the song out in time: melody notes (start, length, pitch, lyric, syllabic) and chords.

    Lines with notes keep their times; lines without notes follow the melody, one quarter
    note per word on the root of the chord in force (a bar per chord for chord-only lines).
    """
    notes: list[tuple[float, float, int, str | None, str]] = []
    chords: list[tuple[float, Chord]] = []
    bar = song.beats_per_bar
    bare: list[Line] = []
    lines = song.lines
    cursor = 0.0  # end of the melody placed so far
    for li, line in enumerate(lines):
        if not line.notes:
            nxt = next((ln.notes[0].start for ln in lines[li + 1:] if ln.notes), None)
            if not line.text.strip() and nxt is not None and nxt > cursor and line.chords:
                # A chord-only line between sung lines: its chords share the gap before the next.
                step = (nxt - cursor) / len(line.chords)
                chords += [(cursor + k * step, ca.chord) for k, ca in enumerate(line.chords)]
            else:
                bare.append(line)
            continue
        cursor = max(cursor, max(n.start + n.duration for n in line.notes))
        sung = _syllable_offsets(line)
        for i, (at, n, syl) in enumerate(sung):
            joined_prev = i > 0 and sung[i - 1][0] + len(sung[i - 1][2]) == at
            joined_next = i + 1 < len(sung) and at + len(syl) == sung[i + 1][0]
            kind = {(False, False): "single", (False, True): "begin", (True, True): "middle"}.get(
                (joined_prev, joined_next), "end")
            notes.append((n.start, n.duration, n.pitch, syl, kind))
        sung_ids = {id(n) for _, n, _ in sung}
        notes += [(n.start, n.duration, n.pitch, None, "") for n in line.notes if id(n) not in sung_ids]
        anchors = [(at, n) for at, n, _ in sung] or [(0, n) for n in line.notes]
        by_note: dict[int, list[Chord]] = {}
        for j, ca in enumerate(line.chords):
            if not sung:
                target = line.notes[j * len(line.notes) // len(line.chords)]
            else:
                target = next((n for at, n in reversed(anchors) if at <= ca.position), anchors[0][1])
            by_note.setdefault(id(target), []).append(ca.chord)
        prev_end = None
        for n in line.notes:
            group = by_note.get(id(n), [])
            # Several chords on one syllable: spread over the rest before it, else stack them.
            gap = n.start - prev_end if prev_end is not None and len(group) > 1 else 0.0
            step = gap / (len(group) - 1) if gap > 0 else 0.0
            chords += [(n.start - (len(group) - 1 - k) * step, c) for k, c in enumerate(group)]
            prev_end = n.start + n.duration
    t = -(-max((s + d for s, d, *_ in notes), default=0.0) // bar) * bar  # next bar line
    pitch = 60
    for line in bare:
        words = [(m.start(), m.group(0)) for m in re.finditer(r"\S+", line.text)]
        if not words:
            for ca in line.chords:
                chords.append((t, ca.chord))
                t += bar
            continue
        for w, (start, word) in enumerate(words):
            end = words[w + 1][0] if w + 1 < len(words) else 10**9
            here = [ca.chord for ca in line.chords if (ca.position < end if w == 0 else start <= ca.position < end)]
            for k in range(max(1, len(here))):
                if k < len(here):
                    chords.append((t, here[k]))
                    pitch = 60 + (here[k].root or 0) if here[k].root is not None else pitch
                notes.append((t, 1.0, pitch, word if k == 0 else None, "single"))
                t += 1.0
        t = -(-t // bar) * bar
    return notes, chords


_DIV = 48  # divisions per quarter note: exact for 32nds, triplets and sextuplets
_TYPES = [(4, "whole"), (2, "half"), (1, "quarter"), (Fraction(1, 2), "eighth"),
          (Fraction(1, 4), "16th"), (Fraction(1, 8), "32nd"), (Fraction(1, 16), "64th")]
# Written length in divisions -> (type, dots, tuplet): plain, dotted, double-dotted, triplet.
_SHAPES: dict[int, tuple[str, int, bool]] = {}
for _q, _name in reversed(_TYPES):
    for _len, _shape in ((_q * Fraction(2, 3), (_name, 0, True)), (_q, (_name, 0, False)),
                         (_q * Fraction(3, 2), (_name, 1, False)), (_q * Fraction(7, 4), (_name, 2, False))):
        if (_len * _DIV).denominator == 1:
            _SHAPES.setdefault(int(_len * _DIV), _shape)


def _pieces(length: int) -> list[int]:
    """Split a length (divisions) into lengths that each have one written shape, longest first."""
    out = []
    while length > 0:
        step = max((k for k in _SHAPES if k <= length), default=length)
        out.append(step)
        length -= step
    return out


def _sub(parent: ET.Element, tag: str, value: object = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    if value is not None:
        el.text = str(value)
    return el


def _harmony_xml(parent: ET.Element, chord: Chord, offset: int) -> None:
    text = chord.format("standard")
    m = re.match(r"([A-G])([#b]*)", text)
    bass = re.search(r"/([A-G])([#b]*)$", text)
    h = _sub(parent, "harmony")
    for tag, mm in (("root", m), ("bass", bass)):
        if mm:
            el = _sub(h, tag)
            _sub(el, f"{tag}-step", mm.group(1))
            alter = mm.group(2).count("#") - mm.group(2).count("b")
            if alter:
                _sub(el, f"{tag}-alter", alter)
        if tag == "root":
            kind, degrees = _kind_and_degrees(chord)
            suffix = text[m.end():bass.start() if bass else None] if m else ""
            _sub(h, "kind", kind, text=suffix)
    for typ, value, alter in degrees:
        d = _sub(h, "degree")
        _sub(d, "degree-value", value)
        _sub(d, "degree-alter", alter)
        _sub(d, "degree-type", typ)
    if offset:
        _sub(h, "offset", offset)


def _note_xml(parent: ET.Element, length: int, pitch: int | None, prefer: str,
              ties: tuple[bool, bool], lyric: tuple[str, str] | None) -> None:
    n = _sub(parent, "note")
    if pitch is None:
        _sub(n, "rest")
    else:
        name = spell(pitch % 12, prefer)
        p = _sub(n, "pitch")
        _sub(p, "step", name[0])
        if len(name) > 1:
            _sub(p, "alter", 1 if name[1] == "#" else -1)
        _sub(p, "octave", pitch // 12 - 1)
    _sub(n, "duration", length)
    for kind, on in zip(("stop", "start"), ties):
        if on:
            _sub(n, "tie", type=kind)
    _sub(n, "voice", 1)
    if length in _SHAPES:
        name, dots, tuplet = _SHAPES[length]
        _sub(n, "type", name)
        for _ in range(dots):
            _sub(n, "dot")
        if tuplet:
            tm = _sub(n, "time-modification")
            _sub(tm, "actual-notes", 3)
            _sub(tm, "normal-notes", 2)
    if any(ties):
        nt = _sub(n, "notations")
        for kind, on in zip(("stop", "start"), ties):
            if on:
                _sub(nt, "tied", type=kind)
    if lyric:
        ly = _sub(n, "lyric", number="1")
        _sub(ly, "syllabic", lyric[1])
        _sub(ly, "text", lyric[0])


def _score_xml(song: Song) -> bytes:
    """The song as MusicXML 3.1 partwise bytes (one voice part)."""
    from ..keys import parse_key

    key = parse_key(song.key) if song.key else None
    prefer = key.prefer if key else "flat"
    notes, chords = _timeline(song)
    mel = sorted((round(s * _DIV), round((s + d) * _DIV), p, syl, kind) for s, d, p, syl, kind in notes)
    mel = [(s, min(e, mel[i + 1][0]) if i + 1 < len(mel) else e, p, syl, k)  # monophonic
           for i, (s, e, p, syl, k) in enumerate(mel) if i + 1 == len(mel) or mel[i + 1][0] > s]
    mel = [m for m in mel if m[1] > m[0]]
    harm = sorted(((round(t * _DIV), c) for t, c in chords if c.root is not None), key=lambda x: x[0])
    num, den = parse_time(song.time or "4/4")
    bar = num * 4 * _DIV // den
    end = max([e for _, e, *_ in mel] + [t + 1 for t, _ in harm] + [1])
    root = ET.Element("score-partwise", version="3.1")
    _sub(_sub(root, "work"), "work-title", song.title or "Untitled")
    _sub(root, "movement-title", song.title or "Untitled")
    ident = _sub(root, "identification")
    if song.artist:
        _sub(ident, "creator", song.artist, type="composer")
    _sub(_sub(ident, "encoding"), "software", "songwright")
    _sub(_sub(_sub(root, "part-list"), "score-part", id="P1"), "part-name", "Voice")
    part = _sub(root, "part", id="P1")
    hi = ni = 0
    for m, ms in enumerate(range(0, end, bar)):
        me = ms + bar
        measure = _sub(part, "measure", number=str(m + 1))
        if m == 0:
            attrs = _sub(measure, "attributes")
            _sub(attrs, "divisions", _DIV)
            if key:
                k = _sub(attrs, "key")
                _sub(k, "fifths", _fifths(key.name))
                _sub(k, "mode", key.mode)
            t = _sub(attrs, "time")
            _sub(t, "beats", num)
            _sub(t, "beat-type", den)
            clef = _sub(attrs, "clef")
            _sub(clef, "sign", "G")
            _sub(clef, "line", 2)
            if song.tempo:
                d = _sub(measure, "direction", placement="above")
                mt = _sub(_sub(d, "direction-type"), "metronome")
                _sub(mt, "beat-unit", "quarter")
                _sub(mt, "per-minute", f"{song.tempo:g}")
                _sub(d, "sound", tempo=f"{song.tempo:g}")
        # Events of this bar: sung notes clipped to it, rests split where a chord falls.
        events: list[tuple[int, int, int | None, tuple[bool, bool], tuple[str, str] | None]] = []
        pos = ms
        while ni < len(mel) and mel[ni][0] < me:
            s, e, p, syl, kind = mel[ni]
            if s > pos:
                events.append((pos, s, None, (False, False), None))
            a, b = max(s, ms), min(e, me)
            events.append((a, b, p, (s < ms, e > me), (syl, kind) if syl and s >= ms else None))
            pos = b
            if e > me:
                break
            ni += 1
        if pos < me:
            events.append((pos, me, None, (False, False), None))
        cuts = sorted({t for t, _ in harm if ms < t < me})
        for a, b, p, ties, lyric in events:
            inner = [a] + ([c for c in cuts if a < c < b] if p is None else []) + [b]
            for x, y in zip(inner, inner[1:]):
                while hi < len(harm) and harm[hi][0] < y:
                    _harmony_xml(measure, harm[hi][1], max(0, harm[hi][0] - x))
                    hi += 1
                lens = [y - x] if p is None and y - x == bar else _pieces(y - x)
                for i, ln in enumerate(lens):
                    tie = (ties[0] or i > 0, ties[1] or i < len(lens) - 1) if p is not None else (False, False)
                    _note_xml(measure, ln, p, prefer, tie, lyric if i == 0 else None)
    ET.indent(root)
    return (b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE score-partwise PUBLIC "-//Recordare//DTD '
            b'MusicXML 3.1 Partwise//EN" "http://www.musicxml.org/dtds/partwise.dtd">\n'
            + ET.tostring(root, encoding="utf-8"))


def _fifths(name: str) -> int:
    minor = name.endswith("m")
    table = _MINOR_BY_FIFTHS if minor else _MAJOR_BY_FIFTHS
    tonic = name[:-1] if minor else name
    if tonic in table:
        return table.index(tonic) - 7
    pc = (pitch_class(tonic) + (3 if minor else 0)) % 12  # relative major's tonic
    return (pc * 7 + 5) % 12 - 5


def song_to_music21(song: Song) -> Any:
    """The lead sheet of :func:`write_musicxml` as a music21 ``Score`` (parsed from its XML)."""
    import music21

    return music21.converter.parse(_score_xml(song).decode("utf-8"), format="musicxml")


def write_musicxml(song: Song, path: str | Path) -> Path:
    """Write ``song`` as a MusicXML lead sheet (``.mxl`` compressed, else plain XML).

    Melody notes come from ``Line.notes`` at their times, lyrics from their syllables (with
    begin/middle/end found by aligning them to the line text). Lines without notes (a song not
    arranged yet, or later verses of an imported song) follow the melody: one quarter note per
    word on the root of the chord in force, a bar per chord for chord-only lines. Chord symbols
    are written as root, kind, bass and degrees. Time and key signature, tempo, title and
    composer (``song.artist``) are written when known.

    Returns:
        The path written.

    Raises:
        SongwrightError: when the file cannot be written.
    """
    path = Path(path)
    data = _score_xml(song)
    try:
        if path.suffix.lower() == ".mxl":
            inner = "score.musicxml"
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
                z.writestr("mimetype", "application/vnd.recordare.musicxml")
                z.writestr("META-INF/container.xml", _CONTAINER.format(inner))
                z.writestr(inner, data)
        else:
            path.write_bytes(data)
    except OSError as e:
        raise SongwrightError(f"cannot write {path}: {e}") from e
    return path


_CONTAINER = ('<?xml version="1.0" encoding="UTF-8"?><container><rootfiles>'
              '<rootfile full-path="{}" media-type="application/vnd.recordare.musicxml+xml"/>'
              '</rootfiles></container>')


def musicxml_bytes(song: Song) -> bytes:
    """The uncompressed MusicXML document of ``song``'s lead sheet."""
    return _score_xml(song)
