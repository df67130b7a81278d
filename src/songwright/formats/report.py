"""What an importer read, imported and skipped: one report shared by every corpus loader."""

from __future__ import annotations

import functools
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..chords import Chord, parse_chord
from ..errors import ChordError

log = logging.getLogger(__name__)

UNKNOWN = Chord(None, name="X")  # Harte "X": a chord is sounding but was not (or cannot be) named


@dataclass
class ImportReport:
    """What an importer read, imported and skipped, and which chord symbols it could not parse."""

    source: str
    total: int = 0
    imported: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    unparsed: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def skip(self, where: str, reason: str) -> None:
        log.debug("skipped %s: %s", where, reason)
        self.skipped.append((where, reason))

    def chord(self, symbol: str, where: str, dialect: str = "auto",
              fallback: Chord | None = UNKNOWN) -> Chord | None:
        """Parse ``symbol``; count it as unparsed and return ``fallback`` when it fails."""
        try:
            return parse_cached(symbol, dialect)
        except ChordError:
            self.unparsed[symbol] += 1
            log.debug("%s: unparsed chord %r", where, symbol)
            return fallback

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "total": self.total, "imported": self.imported,
            "skipped": [list(s) for s in self.skipped],
            "unparsed_chords": {"count": sum(self.unparsed.values()),
                                "distinct": len(self.unparsed),
                                "examples": dict(self.unparsed.most_common(20))},
            "seconds": round(self.seconds, 3),
        }


@functools.lru_cache(maxsize=1 << 16)
def parse_cached(symbol: str, dialect: str = "auto") -> Chord:
    # Chords are immutable, so corpora that repeat a few thousand spellings parse each once.
    return parse_chord(symbol, dialect=dialect)
