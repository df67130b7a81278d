"""Baseline chord model: a genre- and mode-conditioned Markov chain over key-relative chords.

Kept as the named baseline that the learned chord models are compared against. A second-order
chain with interpolated back-off (genre+mode order 2 → genre+mode order 1 → mode order 1 → mode
unigram) over :class:`~songwright.keys.RelChord` tokens, with a ``<sec>`` token at every section
start so it learns how sections open. Persisted as one JSON file of counts.

Placement rules (shared with later chord models through :func:`place_on_words`):
- every lyric line gets at least one chord, the first at the line's start;
- a section whose lines repeat an earlier section's text word for word (a repeated chorus)
  reuses that section's chords exactly; a later section of the same kind (verse 2) reuses the
  first one's progression line by line, re-placed on its own words.
"""

from __future__ import annotations

import json
import logging
import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

from ...errors import SongwrightError
from ...keys import Key, RelChord, parse_key, song_key, to_relative
from ...model import ChordAt, Line, Section, Song

log = logging.getLogger(__name__)

SEC = "<sec>"
FORMAT_VERSION = 1
_LAMBDAS = (0.6, 0.25, 0.1, 0.05)  # order-2, order-1, mode order-1, mode unigram


def place_on_words(text: str, n: int) -> list[int]:
    """Character offsets for ``n`` chords spread over the word starts of ``text``."""
    starts = [m.start() for m in re.finditer(r"\S+", text)] or [0]
    if n <= 1:
        return [starts[0] if starts else 0][:max(n, 1)]
    idx = [round(i * len(starts) / n) for i in range(n)]
    out: list[int] = []
    for i in idx:
        pos = starts[min(i, len(starts) - 1)]
        out.append(pos)
    return out


class MarkovChords:
    """``name = "markov"``. Call it on a song with lyrics to put chords on every line."""

    name = "markov"

    def __init__(self, counts: dict[str, dict[str, dict[str, int]]],
                 chords_per_line: dict[str, dict[str, int]], keys: dict[str, dict[str, int]],
                 metrics: dict | None = None) -> None:
        self.counts = counts
        self.chords_per_line = chords_per_line
        self.keys = keys
        self.metrics = metrics or {}
        self._totals = {cond: {ctx: sum(nx.values()) for ctx, nx in table.items()}
                        for cond, table in counts.items()}

    # ------------------------------------------------------------------ training
    @classmethod
    def train(cls, songs: Iterable[Song], min_context: int = 2) -> MarkovChords:
        counts: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
        per_line: dict[str, Counter] = defaultdict(Counter)
        keys: dict[str, Counter] = defaultdict(Counter)
        n_songs = 0
        for song in songs:
            try:
                key = song_key(song)
            except SongwrightError:
                continue
            genre = song.genre
            # Songs without a genre (most iReal charts) only teach the genre-free tables.
            conds = ([f"{genre}|{key.mode}"] if genre else []) + [f"*|{key.mode}"]
            keys[genre or "*"][key.name] += 1
            prev2, prev1 = SEC, SEC
            for sec in song.sections:
                prev2, prev1 = prev1, SEC
                for line in sec.lines:
                    if line.kind != "lyric":
                        continue
                    if line.text.strip():
                        per_line[genre or "*"][str(len(line.chords))] += 1
                    for ca in line.chords:
                        if ca.chord.root is None:
                            continue
                        tok = to_relative(ca.chord, key).token
                        for cond in conds:
                            counts[cond][f"{prev2} {prev1}"][tok] += 1
                            counts[cond][prev1][tok] += 1
                            counts[cond][""][tok] += 1
                        prev2, prev1 = prev1, tok
            n_songs += 1
        if n_songs == 0:
            raise SongwrightError("no songs with chords and a key to train the Markov model on")
        log.info("Markov chords trained on %d songs", n_songs)
        # Order-2 contexts seen once carry little but most of the file's size: drop them.
        pruned = {c: {ctx: dict(nx) for ctx, nx in t.items()
                      if " " not in ctx or sum(nx.values()) >= min_context}
                  for c, t in counts.items()}
        return cls(pruned,
                   {g: dict(c) for g, c in per_line.items()}, {g: dict(c) for g, c in keys.items()},
                   {"songs": n_songs})

    # ------------------------------------------------------------------ probabilities
    def distribution(self, prev2: str, prev1: str, genre: str | None, mode: str) -> dict[str, float]:
        """P(next token | two previous tokens, genre, mode), interpolated."""
        parts = [
            (f"{genre}|{mode}", f"{prev2} {prev1}"), (f"{genre}|{mode}", prev1),
            (f"*|{mode}", prev1), (f"*|{mode}", ""),
        ]
        dist: dict[str, float] = defaultdict(float)
        used = 0.0
        for lam, (cond, ctx) in zip(_LAMBDAS, parts):
            table = self.counts.get(cond, {}).get(ctx)
            if not table:
                continue
            total = self._totals[cond][ctx]
            for tok, n in table.items():
                dist[tok] += lam * n / total
            used += lam
        if not dist:
            raise SongwrightError(f"the Markov model has no chords for mode {mode!r}")
        return {t: p / used for t, p in dist.items()}

    def sample_next(self, prev2: str, prev1: str, genre: str | None, mode: str,
                    rng: random.Random, temperature: float = 1.0) -> str:
        dist = self.distribution(prev2, prev1, genre, mode)
        toks = sorted(dist)
        weights = [dist[t] ** (1.0 / max(temperature, 1e-3)) for t in toks]
        return rng.choices(toks, weights=weights, k=1)[0]

    def _n_chords(self, genre: str | None, rng: random.Random, text: str) -> int:
        table = self.chords_per_line.get(genre or "", {}) or {
            k: v for t in self.chords_per_line.values() for k, v in t.items()}
        options = [(int(k), v) for k, v in table.items() if int(k) > 0]
        if not options:
            return 1
        n = rng.choices([k for k, _ in options], weights=[v for _, v in options], k=1)[0]
        return max(1, min(n, len(text.split()) or 1))

    def choose_key(self, genre: str | None, rng: random.Random) -> Key:
        table = self.keys.get(genre or "", {}) or {
            k: v for t in self.keys.values() for k, v in t.items()}
        names = sorted(table)
        return parse_key(rng.choices(names, weights=[table[n] for n in names], k=1)[0])

    # ------------------------------------------------------------------ the stage
    def __call__(self, song: Song, *, seed: int = 0, temperature: float = 1.0) -> Song:
        if not song.lyric_lines:
            raise SongwrightError("cannot put chords on a song with no lyric lines")
        rng = random.Random(seed)
        genre = song.genre if song.genre and any(
            c.startswith(f"{song.genre}|") for c in self.counts) else None
        key = parse_key(song.key) if song.key else self.choose_key(genre, rng)
        mode = key.mode

        def sample_line(text: str, state: list[str]) -> list[str]:
            toks: list[str] = []
            for _ in range(self._n_chords(genre, rng, text)):
                # A chord repeated on the next word of the same line says nothing: resample a
                # few times, then leave the slot out (the line keeps at least one chord).
                for _try in range(4):
                    tok = self.sample_next(state[0], state[1], genre or "*", mode, rng,
                                           temperature)
                    if not toks or tok != toks[-1]:
                        break
                else:
                    continue
                toks.append(tok)
                state[0], state[1] = state[1], tok
            return toks

        state = [SEC, SEC]
        by_text: dict[tuple, Section] = {}
        first_of_kind: dict[str, list[list[str]]] = {}
        sections: list[Section] = []
        for sec in song.sections:
            texts = tuple(ln.text for ln in sec.lines)
            if (sec.kind, texts) in by_text:  # a repeated chorus keeps its chords exactly
                done = by_text[(sec.kind, texts)]
                sections.append(Section(sec.kind, done.lines, sec.label, sec.number, sec.env))
                continue
            state = [state[1], SEC]
            template = first_of_kind.get(sec.kind)
            progression: list[list[str]] = []
            new_lines: list[Line] = []
            lyric_i = 0
            for line in sec.lines:
                if line.kind != "lyric" or not line.text.strip():
                    new_lines.append(line)
                    continue
                if template:
                    toks = template[lyric_i % len(template)]
                    for tok in toks:
                        state = [state[1], tok]
                else:
                    toks = sample_line(line.text, state)
                progression.append(toks)
                lyric_i += 1
                chords = [RelChord.from_token(t).to_chord(key) for t in toks]
                positions = place_on_words(line.text, len(chords))
                new_lines.append(Line(line.text, tuple(ChordAt(c, p) for c, p in
                                                       zip(chords, positions)), line.notes))
            if sec.kind not in first_of_kind and progression:
                first_of_kind[sec.kind] = progression
            new_sec = Section(sec.kind, tuple(new_lines), sec.label, sec.number, sec.env)
            by_text[(sec.kind, texts)] = new_sec
            sections.append(new_sec)
        meta = dict(song.meta)
        meta["chord_model"] = self.name
        return song.replace(sections=tuple(sections), key=key.name, meta=meta)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        data = {"kind": "markov-chords", "format_version": FORMAT_VERSION, "counts": self.counts,
                "chords_per_line": self.chords_per_line, "keys": self.keys,
                "metrics": self.metrics}
        (p / "markov.json").write_text(json.dumps(data, sort_keys=True, separators=(",", ":")))
        return p

    @classmethod
    def load(cls, path: str | Path) -> MarkovChords:
        p = Path(path)
        f = p / "markov.json" if p.is_dir() else p
        if not f.is_file():
            raise SongwrightError(f"no Markov chord model at {p}")
        data = json.loads(f.read_text())
        if data.get("kind") != "markov-chords":
            raise SongwrightError(f"{f} is not a Markov chord model")
        return cls(data["counts"], data["chords_per_line"], data["keys"], data.get("metrics"))

