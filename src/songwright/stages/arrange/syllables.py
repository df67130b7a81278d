"""Syllables and stress of a lyric line, from the CMU pronouncing dictionary.

Each word is looked up with :mod:`pronouncing` (first pronunciation); its stress digits give the
syllable count and stress (1 primary, 2 secondary, 0 none). Unknown words fall back to counting
vowel groups (a silent final ``e`` does not count) with the stress on the first syllable. The
spelling is split into as many pieces as there are syllables, between vowel groups, so melody
notes can carry readable text; every piece but a word's last ends with ``-`` (the karaoke and
lead-sheet convention: ``beau- ti- ful``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache

logger = logging.getLogger(__name__)

_WORD_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_VOWELS = "aeiouy"
_VOWEL_GROUP_RE = re.compile(r"[aeiouyà-ÿ]+", re.IGNORECASE)


@dataclass(frozen=True)
class Syllable:
    """One sung syllable: its text piece, stress (0, 1 or 2) and the index of its word."""

    text: str
    stress: int
    word: int


def _fallback_count(word: str) -> int:
    """Vowel groups in ``word``; a silent final ``e`` (not ``-le``) does not count."""
    low = word.lower()
    groups = _VOWEL_GROUP_RE.findall(low)
    n = len(groups)
    if n > 1 and low.endswith("e") and not low.endswith(("le", "ee", "ye")) and groups[-1] == "e":
        n -= 1
    return max(1, n)


def _split_spelling(word: str, n: int) -> list[str]:
    """Split ``word`` into ``n`` pieces, breaking between vowel groups where possible.

    Between two vowel groups a single consonant goes with the next syllable (``ti-ger``) and a
    cluster is split after its first letter (``win-ter``).
    """
    if n <= 1 or len(word) < 2:
        return [word] + [""] * (n - 1) if n > 1 else [word]
    spans = [m.span() for m in _VOWEL_GROUP_RE.finditer(word)]
    cuts: list[int] = []
    if len(spans) >= n:
        # Merge surplus vowel groups into their neighbours by using the first n groups' gaps,
        # spread across the word.
        chosen = [spans[round(i * (len(spans) - 1) / (n - 1))] for i in range(n)] if n > 1 else []
        for (_, end_a), (start_b, _) in zip(chosen, chosen[1:]):
            gap = start_b - end_a
            cuts.append(end_a if gap <= 1 else end_a + 1)
    else:
        cuts = [round(i * len(word) / n) for i in range(1, n)]
    # Keep cuts strictly increasing and inside the word so no piece is empty when avoidable.
    fixed: list[int] = []
    prev = 0
    for i, c in enumerate(cuts):
        c = max(c, prev + 1)
        c = min(c, len(word) - (len(cuts) - i))
        fixed.append(c)
        prev = c
    bounds = [0, *fixed, len(word)]
    return [word[a:b] for a, b in zip(bounds, bounds[1:])]


@lru_cache(maxsize=20000)
def word_syllables(word: str) -> tuple[tuple[str, int], ...]:
    """Syllable pieces and stresses of one word: ``beautiful`` → (beau, 1), (ti, 0), (ful, 0).

    Numbers are sung digit by digit with a fallback count (``"24"`` → 2 syllables).
    """
    import pronouncing  # local: loading the CMU dictionary costs ~0.3 s on first use

    stresses: str | None = None
    if any(ch.isalpha() for ch in word):
        phones = pronouncing.phones_for_word(word.lower().replace("’", "'"))
        if phones:
            stresses = pronouncing.stresses(phones[0])
    if not stresses:
        if word.isdigit():
            n = len(word)
            return tuple((d, 1) for d in word) if n > 1 else ((word, 1),)
        n = _fallback_count(word)
        stresses = "1" + "0" * (n - 1)
    pieces = _split_spelling(word, len(stresses))
    return tuple((p, int(s)) for p, s in zip(pieces, stresses))


def syllabify(text: str) -> list[Syllable]:
    """Every sung syllable of a lyric line, in order; punctuation is dropped.

    >>> [s.text for s in syllabify("Beautiful night")]
    ['Beau-', 'ti-', 'ful', 'night']
    """
    out: list[Syllable] = []
    for wi, m in enumerate(_WORD_RE.finditer(text)):
        pieces = word_syllables(m.group(0))
        for i, (piece, stress) in enumerate(pieces):
            last = i == len(pieces) - 1
            out.append(Syllable(piece if last else piece + "-", stress, wi))
    return out
