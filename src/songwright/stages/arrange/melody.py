"""Melody: one note per syllable, stressed syllables on strong beats, chord tones on the beat.

Rhythm. The line's ticks (eighths in x/4 and x/8) are the possible onsets. A small dynamic
programme places the syllables in order, one per tick at most, minimising: stressed syllables
off the beat (rewarded by beat strength), unstressed syllables on strong beats, uneven gaps
(a quarter note is cheapest), long gaps inside a word, a late first syllable, and a last
syllable that ends the phrase early or off the beat. The last syllable's onset leaves at least
three ticks, so the phrase ends on a held note; a seeded jitter on the costs lets seeds differ.

Pitch. Notes that start on a felt beat, and the phrase's last note, take chord tones of the
chord sounding then, chosen by a seeded soft-minimum over leap size and distance from a target
that arches up through the line (higher in choruses); the last note prefers the chord's root or
the key's tonic. Notes between take scale steps that pass from one chord tone to the next (a
neighbour tone when the two are equal). Everything stays in :func:`melody_range`.
"""

from __future__ import annotations

import math

import numpy as np

from ...chords import Chord
from ...keys import Key
from ...model import Note
from .layout import FINAL_TICKS, LineLayout, chord_at
from .metre import Metre

_STRESS_WEIGHT = {1: 1.0, 2: 0.6, 0: 0.0}
_MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)
_MINOR_STEPS = (0, 2, 3, 5, 7, 8, 10)


def melody_range(key: Key) -> tuple[int, int]:
    """The singable range for ``key``: C4–A5 (60–81) moved so its floor is the tonic nearest
    C4 (F#3 to F4)."""
    shift = (key.tonic + 6) % 12 - 6
    return 60 + shift, 81 + shift


def _gap_cost(quarters: float) -> float:
    """Cost of the distance between two syllable onsets; a quarter note is the easy default."""
    table = {0.5: 0.35, 1.0: 0.0, 1.5: 0.2, 2.0: 0.3}
    if quarters in table:
        return table[quarters]
    return 0.3 + 0.45 * max(0.0, quarters - 2.0) + (0.25 if quarters < 0.5 else 0.0)


def line_rhythm(layout: LineLayout, metre: Metre, rng: np.random.Generator,
                jitter: float = 0.35) -> list[tuple[float, float, int]]:
    """Onset, duration and tick strength of every syllable of a sung line (quarter notes).

    Returns:
        One ``(start, duration, strength)`` per syllable, in order.
    """
    sylls = layout.syllables
    n = len(sylls)
    bar = metre.bar_length
    ticks = [(layout.start + b * bar + off, s) for b in range(layout.bars) for off, s in metre.ticks]
    times = np.array([t for t, _ in ticks])
    strength = np.array([s for _, s in ticks], dtype=float)
    n_ticks = len(ticks)
    if n == 0:
        return []
    w = np.array([_STRESS_WEIGHT.get(s.stress, 0.0) for s in sylls])
    # Node costs, shape (n, n_ticks).
    cost = -w[:, None] * strength[None, :] + 0.5 * (1 - w[:, None]) * np.maximum(
        0.0, strength[None, :] - 1)
    cost += rng.normal(0.0, jitter, size=cost.shape)
    cost[0] += 0.5 * (times - layout.start)  # start near the line's start
    last_ok = n_ticks - FINAL_TICKS
    end_cost = 0.25 * np.maximum(0.0, (times[last_ok] - times)) - 0.8 * np.minimum(strength, 2)
    cost[-1] += end_cost
    cost[-1, last_ok + 1:] = np.inf
    max_gap = min(n_ticks - 1, 8)
    # Gap costs depend only on the tick grid: gaps[g] has shape (n_ticks - g,).
    gaps = {g: times[g:] - times[:-g] for g in range(1, max_gap + 1)}
    gap_cost = {g: np.array([_gap_cost(round(float(x) * 4) / 4) for x in q])
                for g, q in gaps.items()}
    # Dynamic programme over (syllable, tick): best[i, p] = min over gaps g of best[i-1, p-g]
    # plus the gap's cost, plus the node cost. back[i, p] holds the chosen previous tick.
    best = np.full((n, n_ticks), np.inf)
    back = np.zeros((n, n_ticks), dtype=np.int64)
    best[0] = cost[0]
    for i in range(1, n):
        same_word = sylls[i].word == sylls[i - 1].word
        for g in range(1, max_gap + 1):
            step = gap_cost[g]
            if same_word:  # keep a word's syllables together
                step = step + 0.6 * np.maximum(0.0, gaps[g] - 1.0)
            cand = best[i - 1, :-g] + step
            better = cand < best[i, g:]
            best[i, g:] = np.where(better, cand, best[i, g:])
            back[i, g:] = np.where(better, np.arange(n_ticks - g), back[i, g:])
        best[i] += cost[i]
    p = int(np.argmin(best[-1]))
    if not math.isfinite(best[-1, p]):
        # Cannot happen when the line has ticks for every syllable (layout guarantees it);
        # fall back to one syllable per tick from the start.
        onsets = list(range(n))
    else:
        onsets = [p]
        for i in range(n - 1, 0, -1):
            p = int(back[i, p])
            onsets.append(p)
        onsets.reverse()
    tick_len = float(times[1] - times[0]) if n_ticks > 1 else bar
    cap = max(2.0, 2 * max(b.length for b in metre.beats))
    out: list[tuple[float, float, int]] = []
    for i, p in enumerate(onsets):
        start = float(times[p])
        if i + 1 < n:
            dur = min(float(times[onsets[i + 1]]) - start, cap)
        else:
            room = layout.end - start
            dur = room - (tick_len if room >= 4 * tick_len - 1e-9 else 0.0)
        out.append((start, dur, int(strength[p])))
    return out


def _leap_cost(d: int) -> float:
    d = abs(d)
    if d == 0:
        return 0.5
    if d <= 2:
        return 0.0
    if d <= 4:
        return 0.35
    if d <= 7:
        return 0.9
    if d <= 9:
        return 1.6
    return 2.5 + 0.5 * (d - 9)


def _step_pcs(key: Key, chord: Chord | None) -> list[int]:
    """Scale pitch classes for passing notes; a chord tone outside the scale (the raised
    leading tone of V in minor, a secondary dominant's third) replaces its scale neighbour."""
    steps = _MAJOR_STEPS if key.mode == "major" else _MINOR_STEPS
    pcs = {(key.tonic + s) % 12 for s in steps}
    if chord is not None and chord.root is not None:
        for pc in chord.pitch_classes - pcs:
            pcs -= {(pc - 1) % 12, (pc + 1) % 12}
            pcs.add(pc)
    return sorted(pcs)


def _pitches_in(pcs: set[int] | list[int] | frozenset[int], lo: int, hi: int) -> list[int]:
    return [p for p in range(lo, hi + 1) if p % 12 in pcs]


def line_pitches(rhythm: list[tuple[float, float, int]], layout: LineLayout, key: Key,
                 prev: int, rng: np.random.Generator, lift: int = 0,
                 temperature: float = 0.45) -> list[int]:
    """Pitches for a line's notes (see the module docstring).

    Args:
        rhythm: the line's ``(start, duration, strength)`` from :func:`line_rhythm`.
        layout: the line's layout (chord spans).
        key: the song's key.
        prev: the previous sung pitch (continuity across lines).
        rng: seeded generator.
        lift: semitones added to the arch's target (choruses sit higher).
        temperature: spread of the seeded choice among good candidates.
    """
    lo, hi = melody_range(key)
    n = len(rhythm)
    if n == 0:
        return []
    centre = lo + 7 + lift
    span = layout.end - layout.start
    strong = [i for i, (_, _, s) in enumerate(rhythm) if s >= 1]
    if not strong or strong[-1] != n - 1:
        strong.append(n - 1)
    chords = [chord_at(layout.spans, t) for t, _, _ in rhythm]
    scale_all = {(key.tonic + s) % 12
                 for s in (_MAJOR_STEPS if key.mode == "major" else _MINOR_STEPS)}
    pitches: list[int | None] = [None] * n
    last = prev
    repeats = 0  # strong notes in a row on one pitch: each repeat costs more than the last
    for k in strong:
        chord = chords[k]
        pcs = chord.pitch_classes if chord is not None and chord.root is not None else scale_all
        cands = np.array(_pitches_in(pcs, lo, hi))
        frac = (rhythm[k][0] - layout.start) / span if span else 0.0
        target = centre + 4.0 * math.sin(math.pi * min(1.0, frac * 1.15))
        cost = np.array([_leap_cost(c - last) for c in cands]) + 0.18 * np.abs(cands - target)
        cost += 0.4 * repeats * (cands == last)
        if k == n - 1:
            root = chord.root if chord is not None and chord.root is not None else key.tonic
            cost -= 0.9 * (cands % 12 == root) + 0.5 * (cands % 12 == key.tonic)
        cost -= temperature * rng.gumbel(size=len(cands))  # Gumbel-max: a seeded soft-minimum
        choice = int(cands[int(np.argmin(cost))])
        repeats = repeats + 1 if choice == last else 0
        last = choice
        pitches[k] = last
    # Passing and neighbour tones between the chosen chord tones.
    anchors = [(-1, prev)] + [(k, pitches[k]) for k in strong]
    for (a, pa), (b, pb) in zip(anchors, anchors[1:]):
        if b - a <= 1:
            continue
        assert pa is not None and pb is not None
        direction = 1 if rng.random() < 0.5 else -1
        for j in range(a + 1, b):
            steps = _pitches_in(_step_pcs(key, chords[j]), lo, hi)
            if a == -1:
                # A pickup before the first beat: climb (or fall) by step into the first anchor.
                dist = b - j
                idx = min(range(len(steps)), key=lambda i: abs(steps[i] - pb))
                want = steps[max(0, min(len(steps) - 1, idx - direction * dist))]
            elif pa == pb:
                idx = min(range(len(steps)), key=lambda i: abs(steps[i] - pa))
                off = direction if (j - a) % 2 else 0
                want = steps[max(0, min(len(steps) - 1, idx + off))]
            else:
                target = pa + (pb - pa) * (j - a) / (b - a)
                want = min(steps, key=lambda p, t=target: (abs(p - t), p))
            pitches[j] = want
    return [int(p) for p in pitches]  # type: ignore[arg-type]


def line_notes(layout: LineLayout, metre: Metre, key: Key, prev: int, rng: np.random.Generator,
               lift: int = 0) -> list[Note]:
    """The melody notes of one sung line, one per syllable, with syllable text and velocity."""
    rhythm = line_rhythm(layout, metre, rng)
    pitches = line_pitches(rhythm, layout, key, prev, rng, lift)
    notes: list[Note] = []
    for syl, (start, dur, strength), pitch in zip(layout.syllables, rhythm, pitches):
        velocity = {1: 100, 2: 90}.get(syl.stress, 78) + (6 if strength >= 3 else 0)
        notes.append(Note(pitch, round(start, 6), round(dur, 6), syl.text, min(127, velocity)))
    return notes
