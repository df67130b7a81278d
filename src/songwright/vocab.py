"""Chord vocabularies for models: key-relative tokens, folding of rare chords, JSON on disk.

A model sees chords as :class:`~songwright.keys.RelChord` tokens (degree above the tonic,
quality, alterations, bass), so it learns harmony rather than absolute pitch. Corpora spell
hundreds of rare chords (``7b9#5/3``) that a model cannot learn from a handful of examples;
:class:`ChordVocab` keeps frequent chords at full detail and folds rare ones into their family:
first the seventh chord they extend (``V7b9 -> V7``), then the triad (``V7 -> V``).

Levels of :func:`fold`:
    ``full``      the chord as written (relative to the key).
    ``sevenths``  triad family plus seventh type; tensions, alterations and bass dropped.
    ``triads``    ``maj``, ``min``, ``dim``, ``aug``, ``sus4``, ``sus2`` or ``5``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .chords import QUALITIES, Chord, is_importer_token, parse_chord
from .errors import SongwrightError
from .keys import Key, RelChord, estimate_key, parse_key, to_relative

LEVELS = ("full", "sevenths", "triads")
SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>", "N")
_FORMAT = "songwright.chord_vocab"

# (triad family, seventh interval or None) -> quality of the "sevenths" level.
_SEVENTHS = {
    ("maj", None): "maj", ("maj", 10): "7", ("maj", 11): "maj7",
    ("min", None): "min", ("min", 10): "min7", ("min", 11): "minmaj7",
    ("dim", None): "dim", ("dim", 10): "hdim7", ("dim", 9): "dim7",
    ("aug", None): "aug", ("aug", 10): "aug7", ("aug", 11): "augmaj7",
    ("sus4", None): "sus4", ("sus4", 10): "7sus4",
}
# "sevenths" quality -> "triads" quality.
_TRIAD_OF = {"maj": "maj", "7": "maj", "maj7": "maj", "min": "min", "min7": "min",
             "minmaj7": "min", "dim": "dim", "hdim7": "dim", "dim7": "dim", "aug": "aug",
             "aug7": "aug", "augmaj7": "aug", "sus4": "sus4", "7sus4": "sus4", "sus2": "sus2",
             "5": "5"}


def _intervals(rel: RelChord) -> frozenset[int]:
    base = QUALITIES[rel.quality][0]
    return (base - set(rel.omitted)) | set(rel.added)


def _sevenths_quality(ivs: frozenset[int]) -> str:
    """Triad family and seventh type of an interval set, ignoring everything else."""
    if 4 in ivs:  # a major third wins: beside it a minor third is a #9
        family = "aug" if 8 in ivs and 7 not in ivs else "maj"
    elif 3 in ivs:
        family = "dim" if 6 in ivs and 7 not in ivs else "min"
    elif 5 in ivs:
        family = "sus4"
    elif 2 in ivs:
        family = "sus2"
    else:
        return "5"
    if family == "dim" and 9 in ivs and 10 not in ivs:
        seventh: int | None = 9
    elif 10 in ivs:
        seventh = 10
    elif 11 in ivs:
        seventh = 11
    else:
        seventh = None  # a sixth is a colour, not a seventh (MIREX folds maj6 to maj)
    return _SEVENTHS.get((family, seventh), family)


def fold(rel: RelChord, level: str) -> RelChord:
    """Fold a key-relative chord to ``level`` (``full``, ``sevenths`` or ``triads``).

    >>> fold(RelChord.from_token("7:7+1/4"), "sevenths").token
    '7:7'
    >>> fold(RelChord.from_token("2:min7"), "triads").token
    '2:min'
    """
    if level not in LEVELS:
        raise ValueError(f"unknown fold level {level!r}; choose from {LEVELS}")
    if level == "full" or rel.degree is None:
        return rel
    quality = _sevenths_quality(_intervals(rel))
    if level == "triads":
        quality = _TRIAD_OF[quality]
    return RelChord(rel.degree, quality)


def _token(rel: RelChord, level: str = "full") -> str:
    return fold(rel, level).token


@dataclass
class ChordVocab:
    """Token <-> id table over key-relative chords, with rare chords folded into families.

    Ids 0-4 are ``<pad>``, ``<bos>``, ``<eos>``, ``<unk>`` and ``N`` (no chord). Two
    vocabularies are equal when they hold the same tokens in the same order at the same level.
    """

    tokens: list[str]
    level: str = "full"
    min_count: int = 1
    counts: dict[str, int] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if tuple(self.tokens[: len(SPECIALS)]) != SPECIALS:
            raise SongwrightError(f"a chord vocabulary starts with {SPECIALS}")
        self._index = {t: i for i, t in enumerate(self.tokens)}

    # ------------------------------------------------------------------ building
    @classmethod
    def build(cls, rel_chords: Iterable[RelChord], min_count: int = 2,
              level: str = "full") -> ChordVocab:
        """Count chords at ``level``; keep those seen ``min_count`` times, fold the rest.

        A rare chord goes to its ``sevenths`` family when that family (its own use plus the
        other rare chords folded into it) reaches ``min_count``, else to its ``triads``
        family, which is always kept, so every chord seen in training has a token.
        """
        if level not in LEVELS:
            raise ValueError(f"unknown fold level {level!r}; choose from {LEVELS}")
        counts = Counter(_token(r, level) for r in rel_chords)
        kept = {t: n for t, n in counts.items() if n >= min_count and t not in SPECIALS}
        rare = {t: n for t, n in counts.items() if n < min_count and t not in SPECIALS}
        for coarser in LEVELS[LEVELS.index(level) + 1:]:
            pooled: Counter[str] = Counter()
            for t, n in rare.items():
                pooled[_token(RelChord.from_token(t), coarser)] += n
            last = coarser == LEVELS[-1]
            for t, n in pooled.items():
                if t in kept or n >= min_count or last:
                    kept[t] = kept.get(t, 0) + n
            rare = {t: n for t, n in rare.items()
                    if _token(RelChord.from_token(t), coarser) not in kept}
        ordered = sorted(kept, key=lambda t: (-kept[t], t))
        return cls(list(SPECIALS) + ordered, level, min_count, kept)

    # ------------------------------------------------------------------ lookup
    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: object) -> bool:
        return token in self._index

    @property
    def pad_id(self) -> int:
        return 0

    @property
    def bos_id(self) -> int:
        return 1

    @property
    def eos_id(self) -> int:
        return 2

    @property
    def unk_id(self) -> int:
        return 3

    def encode(self, rel: RelChord) -> int:
        """Id of ``rel``: exact, else its sevenths family, else its triad, else ``<unk>``."""
        if rel.degree is None:
            return self._index["N"]
        for lvl in LEVELS[LEVELS.index(self.level):]:
            i = self._index.get(_token(rel, lvl))
            if i is not None:
                return i
        return self.unk_id

    def decode(self, idx: int) -> RelChord:
        """The chord an id stands for (``N`` gives the no-chord).

        Raises:
            ValueError: for ``<pad>``, ``<bos>``, ``<eos>`` and ``<unk>``, which are no chord.
        """
        token = self.tokens[idx]
        if token in SPECIALS[:4]:
            raise ValueError(f"id {idx} is the special token {token}, not a chord")
        return RelChord.from_token(token)

    def encode_chords(self, chords: Iterable[Chord], key: Key) -> list[int]:
        """Ids of absolute chords in ``key``."""
        return [self.encode(to_relative(c, key)) for c in chords]

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        return {"format": _FORMAT, "version": 1, "level": self.level,
                "min_count": self.min_count, "tokens": self.tokens, "counts": self.counts}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChordVocab:
        if data.get("format") != _FORMAT:
            raise SongwrightError(f"not a songwright chord vocabulary (format {data.get('format')!r})")
        return cls(list(data["tokens"]), data["level"], int(data["min_count"]),
                   {str(k): int(v) for k, v in data.get("counts", {}).items()})

    def save(self, path: str | Path) -> Path:
        """Write the vocabulary as JSON; returns the path."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=1, sort_keys=True) + "\n",
                        encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> ChordVocab:
        """Read a vocabulary written by :meth:`save`."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


# --------------------------------------------------------------------------- report

SongLike = Any  # a Song (with .key and .chords) or a (key, chords) pair


def _song_chords(song: SongLike) -> tuple[Key, list[Chord]]:
    """Chords and key of a Song or of a ``(key, chords)`` pair; strings are parsed and corpus
    markup (``%``, ``(3/4)``) skipped; a missing key is estimated."""
    if hasattr(song, "chords"):
        key_text, raw = getattr(song, "key", None), list(song.chords)
    else:
        key_text, raw = song
    chords = [parse_chord(c) if isinstance(c, str) else c for c in raw
              if not (isinstance(c, str) and is_importer_token(c))]
    if isinstance(key_text, Key):
        key = key_text
    elif key_text:
        key = parse_key(key_text)
    else:
        key = estimate_key(chords) if any(c.root is not None for c in chords) else Key(0, "major")
    return key, chords


def vocabulary_report(songs_by_source: Mapping[str, Iterable[SongLike]],
                      min_count: int = 5) -> dict[str, dict[str, int]]:
    """Vocabulary sizes before and after canonicalising, key-relative coding and folding.

    Args:
        songs_by_source: corpus name -> songs, each a Song or a ``(key, chords)`` pair whose
            chords are symbols or :class:`Chord` records (names keep the raw spelling).
        min_count: the :meth:`ChordVocab.build` threshold for the ``vocab_min{n}`` column.

    Returns:
        For each corpus and for ``"overall"``: ``songs``, ``chords`` (events),
        ``raw_spellings``, ``canonical_chords``, ``relative_full``, ``relative_sevenths``,
        ``relative_triads`` and ``vocab_min{min_count}`` (chord tokens, specials excluded).
    """
    report: dict[str, dict[str, int]] = {}
    every: list[tuple[Chord, RelChord]] = []
    n_songs = 0
    for source, songs in songs_by_source.items():
        pairs: list[tuple[Chord, RelChord]] = []
        count = 0
        for song in songs:
            key, chords = _song_chords(song)
            pairs += [(c, to_relative(c, key)) for c in chords]
            count += 1
        report[source] = _sizes(pairs, count, min_count)
        every += pairs
        n_songs += count
    report["overall"] = _sizes(every, n_songs, min_count)
    return report


def _sizes(pairs: list[tuple[Chord, RelChord]], songs: int, min_count: int) -> dict[str, int]:
    rels = [r for _, r in pairs]
    vocab = ChordVocab.build(rels, min_count=min_count)
    return {
        "songs": songs,
        "chords": len(pairs),
        "raw_spellings": len({c.name for c, _ in pairs}),
        "canonical_chords": len({c for c, _ in pairs}),
        "relative_full": len({r.token for r in rels}),
        "relative_sevenths": len({_token(r, "sevenths") for r in rels}),
        "relative_triads": len({_token(r, "triads") for r in rels}),
        f"vocab_min{min_count}": len(vocab) - len(SPECIALS),
    }
