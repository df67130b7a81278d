"""Metres: where the felt beats of a bar fall, how strong each is, and the tick grid.

A bar of ``num/den`` lasts ``num * 4 / den`` quarter notes. Its *felt beats* are:

- simple metres (``x/1``, ``x/2``, ``x/4`` and ``2/8``, ``4/8``): one beat per written pulse,
  each split into two ticks (eighths in ``x/4``);
- compound metres (``6/8``, ``9/8``, ``12/8``, ...): dotted beats of three pulses, each pulse a
  tick;
- asymmetric metres (``5/8``, ``7/8``, ``11/8``): groups of two and three pulses, each group a
  beat and each pulse a tick (``7/8`` is 2+2+3).

Strength: 2 on the downbeat, 1 on the first beat of every later group (beat 3 of ``4/4``, beat
4 of ``5/4`` read as 3+2, the second dotted beat of ``12/8``'s halves), 0 elsewhere. The tick
grid is what the melody's syllables and the hi-hat land on.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ...model import parse_time


@dataclass(frozen=True)
class Beat:
    """One felt beat of a bar: ``offset`` and ``length`` in quarter notes from the bar start."""

    offset: float
    length: float
    strength: int
    ticks: int

    @property
    def tick_length(self) -> float:
        return self.length / self.ticks


@dataclass(frozen=True)
class Metre:
    """A parsed time signature with its felt beats (see the module docstring)."""

    num: int
    den: int
    beats: tuple[Beat, ...]

    @property
    def bar_length(self) -> float:
        """Bar length in quarter notes."""
        return self.num * 4 / self.den

    @property
    def name(self) -> str:
        return f"{self.num}/{self.den}"

    @property
    def ticks(self) -> tuple[tuple[float, int], ...]:
        """Every tick of a bar as ``(offset, strength)``; strength is the beat's strength + 1 on
        a beat onset and 0 between beats, so the downbeat is 3 and off-beat ticks are 0."""
        out: list[tuple[float, int]] = []
        for b in self.beats:
            for i in range(b.ticks):
                out.append((b.offset + i * b.tick_length, b.strength + 1 if i == 0 else 0))
        return tuple(out)

    @property
    def ticks_per_bar(self) -> int:
        return sum(b.ticks for b in self.beats)

    @property
    def default_bars_per_line(self) -> int:
        """The fewest of 1, 2, 4 or 8 bars that last at least six quarter notes: a lyric line
        is then about two bars of 4/4 in every metre."""
        for bars in (1, 2, 4, 8):
            if bars * self.bar_length >= 6 - 1e-9:
                return bars
        return 8


def _groups(n: int) -> tuple[int, ...]:
    """Split ``n`` pulses (or beats) into groups of two and three; the first of each group is
    accented. 4 → 2+2, 5 → 3+2, 6 → 3+3, 7 → 2+2+3."""
    if n <= 3:
        return (n,)
    if n == 4:
        return (2, 2)
    if n == 5:
        return (3, 2)
    if n % 3 == 0:
        return (3,) * (n // 3)
    return (2,) * ((n - 3) // 2) + (3,)


def _strengths(groups: tuple[int, ...]) -> list[int]:
    out: list[int] = []
    for gi, g in enumerate(groups):
        out.append(2 if gi == 0 else 1)
        out.extend([0] * (g - 1))
    return out


@lru_cache(maxsize=64)
def metre_for(time: str | None) -> Metre:
    """The :class:`Metre` of a time signature such as ``"4/4"`` (None means 4/4).

    Raises:
        SongwrightError: when ``time`` is not a valid time signature.
    """
    num, den = parse_time(time or "4/4")
    pulse = 4 / den  # quarter notes per written pulse
    beats: list[Beat] = []
    if den <= 4 or num in (2, 4) and den == 8:
        # Simple metre: every written pulse is a beat (4/8 is felt like 2/4 written in eighths).
        per = 2 if num == 4 and den == 8 else 1
        n_beats = num // per
        strengths = _strengths(_groups(n_beats))
        for i in range(n_beats):
            beats.append(Beat(i * pulse * per, pulse * per, strengths[i], 2))
    elif num % 3 == 0:
        # Compound metre: dotted beats of three pulses, strengths as for num/3 simple beats.
        n_beats = num // 3
        strengths = _strengths(_groups(n_beats))
        for i in range(n_beats):
            beats.append(Beat(i * 3 * pulse, 3 * pulse, strengths[i], 3))
    else:
        # Asymmetric metre: groups of two and three pulses; accents alternate 2, 0, 1, 0, 1...
        offset = 0.0
        groups = _groups(num)
        for gi, g in enumerate(groups):
            # The closing (longest) group is accented too, so 5/8 reads 3+2 as two strong beats.
            strength = 2 if gi == 0 else (1 if gi % 2 == 0 or gi == len(groups) - 1 else 0)
            beats.append(Beat(offset, g * pulse, strength, g))
            offset += g * pulse
    return Metre(num, den, tuple(beats))
