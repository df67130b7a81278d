"""Accompaniment: voiced chords, a bass line and a drum kit, by genre and metre.

Every pattern is written against the metre's felt beats and ticks (:mod:`.metre`), so the same
genre plays sensible bars in 4/4, 3/4, 6/8, 12/8, 2/4, 5/4 and 7/8. Notes never sound past the
end of the chord they belong to. Drums use General MIDI percussion keys (channel 10).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator

from ...chords import Chord
from ...model import Note
from .genres import GenreStyle
from .layout import ChordSpan, SongLayout
from .metre import Beat

# General MIDI percussion keys.
KICK, STICK, SNARE, CLAP, HAT, PEDAL_HAT, OPEN_HAT = 36, 37, 38, 39, 42, 44, 46
LOW_TOM, MID_TOM, CRASH, HIGH_TOM, RIDE = 45, 47, 49, 50, 51
DRUM_LENGTH = 0.25  # GM drums ignore note-off; a short note keeps the MIDI tidy.

# Interval priority when a chord has more tones than a four-note voicing: third and seventh
# define the chord, the root and fifth are the first to go (the bass has the root).
_VOICING_PRIORITY = (4, 3, 10, 11, 0, 2, 9, 5, 6, 8, 1, 7)


class _Timeline:
    """Chord lookup by time over the song's sorted, contiguous chord spans."""

    def __init__(self, spans: list[ChordSpan]) -> None:
        self.spans = spans
        self.starts = [s.start for s in spans]

    def at(self, t: float) -> ChordSpan | None:
        i = bisect.bisect_right(self.starts, t + 1e-9) - 1
        if i < 0 or t >= self.spans[i].end - 1e-9:
            return None
        return self.spans[i]

    def next_after(self, span: ChordSpan) -> ChordSpan | None:
        i = bisect.bisect_right(self.starts, span.start + 1e-9)
        return self.spans[i] if i < len(self.spans) else None


def _beats(layout: SongLayout) -> Iterator[tuple[float, Beat, int]]:
    """Every felt beat of the song as ``(absolute time, beat, index of the beat in its bar)``."""
    metre = layout.metre
    n_bars = int(round(layout.length / metre.bar_length))
    for b in range(n_bars):
        for i, beat in enumerate(metre.beats):
            yield b * metre.bar_length + beat.offset, beat, i


def voice(chord: Chord, centre: float) -> list[int]:
    """A close voicing of at most four chord tones within a fifth either side of ``centre``."""
    assert chord.root is not None
    ivs = sorted(chord.intervals, key=_VOICING_PRIORITY.index)[:4]
    lo = int(round(centre)) - 6
    return sorted(lo + ((chord.root + iv - lo) % 12) for iv in ivs)


def _power(chord: Chord) -> list[int]:
    assert chord.root is not None
    root = 40 + (chord.root - 4) % 12  # E2..D#3: a guitar's low strings
    return [root, root + 7, root + 12]


def chord_track(layout: SongLayout, style: GenreStyle) -> list[Note]:
    """Chord notes in the genre's pattern (see :class:`GenreStyle`)."""
    tl = _Timeline(layout.spans)
    notes: list[Note] = []
    centre = 60.0
    voicing_for: dict[tuple[float, float], list[int]] = {}
    pattern = style.chord_pattern
    bar = layout.metre.bar_length

    def pitches(span: ChordSpan) -> list[int]:
        nonlocal centre
        k = (span.start, span.end)
        if k not in voicing_for:
            if pattern == "power":
                voicing_for[k] = _power(span.chord)
            else:
                v = voice(span.chord, centre)
                voicing_for[k] = v
                # Follow the previous voicing so chords move by small steps, within E3..E4.
                centre = min(64.0, max(55.0, sum(v) / len(v)))
        return voicing_for[k]

    def hit(t: float, length: float, velocity: int) -> None:
        span = tl.at(t)
        if span is None or span.chord.root is None:
            return
        dur = min(length, span.end - t)
        notes.extend(Note(p, round(t, 6), round(dur, 6), None, velocity) for p in pitches(span))

    for t, beat, _ in _beats(layout):
        tick = beat.tick_length
        accent = beat.strength >= 1
        if pattern == "beat":
            hit(t, beat.length * 0.9, 74 if accent else 62)
        elif pattern in ("strum", "power"):
            for i in range(beat.ticks):
                hit(t + i * tick, tick * 0.9, (84 if accent else 76) if i == 0 else 62)
        elif pattern == "offbeat":
            for i in range(1, beat.ticks):
                hit(t + i * tick, tick * 0.6, 70)
        elif pattern == "boom_chick":
            if beat.strength == 0:
                hit(t, beat.length * 0.6, 66)
        else:  # sustain: on every bar line and chord change
            span = tl.at(t)
            if span is None:
                continue
            bar_start = abs(t / bar - round(t / bar)) < 1e-9
            if bar_start or abs(span.start - t) < 1e-9:
                next_bar = (math.floor(t / bar + 1e-9) + 1) * bar
                hit(t, min(next_bar, span.end) - t, 66)
    return notes


def _bass_pitch(pc: int) -> int:
    return 33 + (pc - 9) % 12  # A1..G#2


def bass_track(layout: SongLayout, style: GenreStyle) -> list[Note]:
    """A bass line in the genre's pattern: roots on strong beats, fifths, octaves, approach
    notes into chord changes (country, walking)."""
    tl = _Timeline(layout.spans)
    pattern = style.bass_pattern
    onsets: list[tuple[float, int, int, float | None]] = []  # (time, pitch, velocity, length)
    for t, beat, _ in _beats(layout):
        span = tl.at(t)
        if span is None or span.chord.root is None:
            continue
        chord = span.chord
        root = _bass_pitch(chord.bass_pc)  # the slash bass when there is one
        fifth_iv = next((iv for iv in (7, 6, 8) if iv in chord.intervals), 7)
        fifth = _bass_pitch(chord.root) + fifth_iv
        third_iv = next((iv for iv in (4, 3, 5, 2) if iv in chord.intervals), 4)
        change = abs(span.start - t) < 1e-9
        nxt = tl.next_after(span)
        before_change = (nxt is not None and nxt.chord.root is not None
                         and abs(t + beat.length - span.end) < 1e-9 and nxt.chord != chord)
        tick = beat.tick_length
        if pattern == "octaves":
            for i in range(beat.ticks):
                up = beat.strength == 0 and i == beat.ticks - 1
                onsets.append((t + i * tick, root + 12 if up else root, 92 if i == 0 else 80,
                               tick * 0.85))
        elif pattern == "drive":
            for i in range(beat.ticks):
                last_tick_of_bar = beat is layout.metre.beats[-1] and i == beat.ticks - 1
                onsets.append((t + i * tick, root + 12 if last_tick_of_bar else root,
                               96 if i == 0 else 86, tick * 0.8))
        elif pattern in ("walking", "alternating") and before_change and not change:
            assert nxt is not None and nxt.chord.root is not None
            target = _bass_pitch(nxt.chord.bass_pc)  # bass_pc is the root unless slashed
            # Approach the next root from a semitone below (walking) or a whole tone below.
            onsets.append((t, target - (1 if pattern == "walking" else 2), 80, None))
        elif pattern == "walking":
            order = [root, _bass_pitch(chord.root) + third_iv, fifth, _bass_pitch(chord.root) + 12]
            k = int(round((t - span.start) / beat.length))
            onsets.append((t, order[k % len(order)], 86 if change else 78, None))
        elif pattern == "alternating":
            if change or beat.strength == 2:
                onsets.append((t, root, 92, None))
            elif beat.strength == 1:
                onsets.append((t, fifth, 84, None))
        elif pattern == "syncopated":
            if change or beat.strength == 2:
                onsets.append((t, root, 94, beat.length * 1.5))
            if beat.strength == 0 and beat.ticks >= 2:
                # The off-beat before the next strong beat: the push of hip-hop and R&B bass.
                onsets.append((t + (beat.ticks - 1) * tick, root, 84, tick))
        else:  # root_fifth
            if change or beat.strength == 2:
                onsets.append((t, root, 92, None))
            elif beat.strength == 1:
                onsets.append((t, fifth, 84, None))
    onsets.sort(key=lambda o: o[0])
    notes: list[Note] = []
    for i, (t, pitch, vel, length) in enumerate(onsets):
        span = tl.at(t)
        assert span is not None
        nxt_t = onsets[i + 1][0] if i + 1 < len(onsets) else layout.length
        dur = min(nxt_t - t, span.end - t) * 0.95 if length is None else min(length, span.end - t)
        notes.append(Note(pitch, round(t, 6), round(dur, 6), None, vel))
    return notes


def drum_track(layout: SongLayout, style: GenreStyle) -> list[Note]:
    """Drums: a hi-hat (or ride) on every tick, kick and snare placed by beat strength in the
    genre's pattern, a crash at each section's start and a snare fill on its last beat."""
    pattern = style.drum_pattern
    metre = layout.metre
    out: list[tuple[float, int, int]] = []
    section_starts = {round(s, 6) for _, s, _ in layout.section_bounds()}
    section_last_beats = {round(e - metre.beats[-1].length, 6)
                          for _, _, e in layout.section_bounds()[:-1]}
    beats = metre.beats
    n_beats = len(beats)
    drop = next((i for i, b in enumerate(beats) if b.strength == 1), n_beats // 2)
    for t, beat, idx in _beats(layout):
        tick = beat.tick_length
        strong = beat.strength >= 1
        for i in range(beat.ticks):
            tt = t + i * tick
            if pattern == "jazz":
                if i == 0 or i == beat.ticks - 1:
                    out.append((tt, RIDE, 70 if i == 0 else 55))
            elif pattern == "four_floor" and i > 0:
                out.append((tt, OPEN_HAT, 60))
            else:
                out.append((tt, HAT, 72 if i == 0 else 52))
        if round(t, 6) in section_starts:
            out.append((t, CRASH, 100))
        if pattern == "jazz":
            if beat.strength == 2:
                out.append((t, KICK, 60))
            if not strong:
                out.append((t, PEDAL_HAT, 60))
            continue
        if pattern == "reggae":
            if idx == drop:  # one drop: kick and rim together on the bar's middle strong beat
                out += [(t, KICK, 96), (t, STICK, 90)]
            continue
        if pattern == "four_floor":
            out.append((t, KICK, 100))
            if not strong:
                out.append((t, CLAP, 88))
            continue
        if pattern == "metal":
            out += [(t + i * tick, KICK, 96) for i in range(beat.ticks)]
        elif strong:
            out.append((t, KICK, 100 if beat.strength == 2 else 92))
        if not strong:
            out.append((t, SNARE, 96 if pattern != "country" else 80))
            if pattern in ("rock", "hiphop") and idx + 1 < n_beats and beats[idx + 1].strength == 1:
                # The push into the next strong beat: the "and" of 2 in 4/4.
                out.append((t + (beat.ticks - 1) * tick, KICK, 88))
        if round(t, 6) in section_last_beats:
            # A short fill into the next section: snare on every tick of the last beat, then toms.
            for i in range(beat.ticks):
                out.append((t + i * tick, SNARE if i == 0 else (MID_TOM if i == 1 else LOW_TOM),
                            80 + 8 * i))
    # One hit per (time, drum): a fill's snare may land where the backbeat already put one.
    hits: dict[tuple[float, int], int] = {}
    for t, p, v in out:
        k = (round(t, 6), p)
        hits[k] = max(v, hits.get(k, 0))
    return [Note(p, t, DRUM_LENGTH, None, v) for (t, p), v in sorted(hits.items())]
