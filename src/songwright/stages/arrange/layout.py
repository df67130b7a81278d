"""Time layout: how many bars each line gets and when each of its chords sounds.

Rules (docs/arrange-and-render.md):

- every lyric line gets a whole number of bars: the metre's default (the fewest of 1, 2, 4 or 8
  bars lasting at least six quarter notes: two bars of 4/4, 3/4, 6/8 or 7/8, one of 12/8, four
  of 2/4), plus one bar at a time until its syllables fit one per tick (at most two per quarter
  note) with three ticks left for the held last note, and until each chord can have a beat;
- a line with no text but chords (an instrumental line) gets one bar per chord; comment lines
  and empty lines without chords get no time;
- a line's chords sound in order from the line's start: one per bar when there are as many
  chords as bars; an equal number of bars each when the chords divide the bars; an equal share
  of each bar when the bars divide the chords; otherwise each chord lasts in proportion to the
  text from it to the next chord, with every change snapped to a felt beat and every chord at
  least one beat long;
- a line without chords keeps the chord that was sounding (the key's tonic triad at the start).

The layout depends only on the text, the chords and the metre, never on a seed, so renderers can
recompute it from an arranged song (:func:`layout_song`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ...chords import Chord
from ...keys import Key
from ...model import Line, Song
from .metre import Metre, metre_for
from .syllables import Syllable, syllabify

# Sections whose lines are played, never sung, even when they carry text ("(guitar solo)").
INSTRUMENTAL_KINDS = frozenset({"instrumental", "solo", "interlude"})
# Ticks kept free after the last syllable's onset so the phrase ends on a held note.
FINAL_TICKS = 3


@dataclass(frozen=True)
class ChordSpan:
    """A chord sounding from ``start`` to ``end`` (quarter notes from the song start)."""

    chord: Chord
    start: float
    end: float


@dataclass(frozen=True)
class LineLayout:
    """Where one line of the song sits in time.

    ``section``/``line`` index ``Song.sections[section].lines[line]``; ``start``/``end`` are in
    quarter notes; ``sung`` says whether the line gets a melody (``syllables`` then non-empty).
    """

    section: int
    line: int
    start: float
    bars: int
    end: float
    spans: tuple[ChordSpan, ...]
    syllables: tuple[Syllable, ...]
    sung: bool


@dataclass(frozen=True)
class SongLayout:
    """The whole song's time layout: one :class:`LineLayout` per line that takes time."""

    metre: Metre
    lines: tuple[LineLayout, ...]

    @property
    def length(self) -> float:
        """Song length in quarter notes."""
        return self.lines[-1].end if self.lines else 0.0

    @property
    def spans(self) -> list[ChordSpan]:
        return [s for ln in self.lines for s in ln.spans]

    def section_bounds(self) -> list[tuple[int, float, float]]:
        """``(section index, start, end)`` for every section that takes time."""
        out: list[tuple[int, float, float]] = []
        for ln in self.lines:
            if out and out[-1][0] == ln.section:
                out[-1] = (ln.section, out[-1][1], ln.end)
            else:
                out.append((ln.section, ln.start, ln.end))
        return out


def _beat_onsets(metre: Metre, start: float, bars: int) -> list[float]:
    return [start + b * metre.bar_length + beat.offset
            for b in range(bars) for beat in metre.beats]


def _snap_boundaries(targets: list[float], onsets: list[float], n: int) -> list[int]:
    """Snap ``n - 1`` change times to beat indices, strictly increasing, leaving each chord at
    least one beat. Returns indices into ``onsets``; index 0 (the line start) is implied."""
    total = len(onsets)
    idx = [min(range(total), key=lambda i: abs(onsets[i] - t)) for t in targets]
    for k in range(len(idx)):  # forward: after the previous change, and never at the start
        idx[k] = max(idx[k], (idx[k - 1] if k else 0) + 1)
    for k in range(len(idx) - 1, -1, -1):  # backward: leave a beat for every later chord
        idx[k] = min(idx[k], total - (len(idx) - k))
        if k + 1 < len(idx):
            idx[k] = min(idx[k], idx[k + 1] - 1)
    return idx


def chord_spans(line: Line, chords: list[Chord], metre: Metre, start: float,
                bars: int) -> list[ChordSpan]:
    """Spread ``chords`` (the line's, in order) over ``bars`` bars from ``start`` (rules above)."""
    m = len(chords)
    end = start + bars * metre.bar_length
    if m == 0:
        return []
    bar = metre.bar_length
    if m == bars or bars % m == 0:
        per = bars // m
        return [ChordSpan(c, start + i * per * bar, start + (i + 1) * per * bar)
                for i, c in enumerate(chords)]
    onsets = _beat_onsets(metre, start, bars)
    if m % bars == 0 and m // bars <= len(metre.beats):
        per_bar = m // bars
        nb = len(metre.beats)
        cuts = [round(j * nb / per_bar) for j in range(per_bar)]
        times = [start + b * bar + metre.beats[c].offset for b in range(bars) for c in cuts]
        return [ChordSpan(c, t, times[i + 1] if i + 1 < m else end)
                for i, (c, t) in enumerate(zip(chords, times))]
    positions = [c.position for c in line.chords]
    first = positions[0]
    text_end = max(len(line.text), positions[-1] + 1)
    width = max(1, text_end - first)
    targets = [start + (p - first) / width * (end - start) for p in positions[1:]]
    idx = _snap_boundaries(targets, onsets, m)
    times = [start] + [onsets[i] for i in idx] + [end]
    return [ChordSpan(c, times[i], times[i + 1]) for i, c in enumerate(chords)]


def line_bars(n_syllables: int, n_chords: int, metre: Metre, sung: bool) -> int:
    """Bars for a line with ``n_syllables`` sung syllables and ``n_chords`` chords."""
    if not sung:
        return max(1, n_chords)
    bars = metre.default_bars_per_line
    while (bars * metre.ticks_per_bar - FINAL_TICKS < n_syllables
           or bars * len(metre.beats) < n_chords):
        bars += 1
    return bars


def layout_song(song: Song, key: Key | None = None) -> SongLayout:
    """Lay out every line of ``song`` in time (see the module docstring).

    Args:
        song: the song; ``song.time`` gives the metre (4/4 when unset).
        key: the key whose tonic triad sounds before the first chord (C major when None).
    """
    metre = metre_for(song.time)
    tonic = Chord.from_intervals(key.tonic if key else 0,
                                 (0, 3, 7) if key and key.mode == "minor" else (0, 4, 7))
    current = tonic
    t = 0.0
    out: list[LineLayout] = []
    for si, section in enumerate(song.sections):
        instrumental = section.kind in INSTRUMENTAL_KINDS
        for li, line in enumerate(section.lines):
            if line.kind != "lyric":
                continue
            syllables = [] if instrumental else syllabify(line.text)
            chords = [c.chord for c in line.chords]
            if not syllables and not chords:
                continue
            sung = bool(syllables)
            bars = line_bars(len(syllables), len(chords), metre, sung)
            if chords:
                spans = chord_spans(line, chords, metre, t, bars)
                current = chords[-1]
            else:
                spans = [ChordSpan(current, t, t + bars * metre.bar_length)]
            end = t + bars * metre.bar_length
            out.append(LineLayout(si, li, t, bars, end, tuple(spans), tuple(syllables), sung))
            t = end
    return SongLayout(metre, tuple(out))


def chord_at(spans: list[ChordSpan] | tuple[ChordSpan, ...], time: float) -> Chord | None:
    """The chord sounding at ``time`` among ``spans`` (sorted), or None outside them."""
    for s in spans:
        if s.start - 1e-9 <= time < s.end - 1e-9:
            return s.chord
    return None


def bar_count(layout: SongLayout) -> int:
    """Number of whole bars in the layout."""
    return int(math.ceil(layout.length / layout.metre.bar_length - 1e-9))
