"""The seed's 3-chord setting, kept as a baseline for honest comparison.

In the seed (``seed/reference-facts.md``) a song's "progression" is a given start chord plus
3 predicted chords. :class:`SeedThreeChords` reproduces that setting as a stage: the start
chord is the tonic, the 3 chords come from the Markov chain (most likely continuation, or
sampled), and the 4-chord loop is laid one chord per lyric line, cycling, with a repeated
chorus reusing its chords.
"""

from __future__ import annotations

import random

from ...errors import SongwrightError
from ...keys import RelChord, parse_key
from ...model import ChordAt, Line, Section, Song
from .markov import SEC, MarkovChords


class SeedThreeChords:
    """``name = "seed-3chord"``: start chord + 3 chords, one chord a line, looped."""

    name = "seed-3chord"

    def __init__(self, markov: MarkovChords, sample: bool = False) -> None:
        self.markov = markov
        self.sample = sample

    def progression(self, genre: str | None, mode: str, rng: random.Random) -> list[str]:
        """The start chord (tonic triad of ``mode``) and 3 continuation tokens."""
        start = "0:min" if mode == "minor" else "0:maj"
        toks = [start]
        prev2, prev1 = SEC, start
        for _ in range(3):
            if self.sample:
                tok = self.markov.sample_next(prev2, prev1, genre or "*", mode, rng)
            else:
                dist = self.markov.distribution(prev2, prev1, genre or "*", mode)
                tok = max((t for t in dist if t != prev1), key=dist.get, default=start)
            toks.append(tok)
            prev2, prev1 = prev1, tok
        return toks

    def __call__(self, song: Song, *, seed: int = 0) -> Song:
        if not song.lyric_lines:
            raise SongwrightError("cannot put chords on a song with no lyric lines")
        rng = random.Random(seed)
        key = parse_key(song.key) if song.key else self.markov.choose_key(song.genre, rng)
        loop = [RelChord.from_token(t).to_chord(key)
                for t in self.progression(song.genre, key.mode, rng)]
        i = 0
        sections = []
        for sec in song.sections:
            lines = []
            for ln in sec.lines:
                if ln.kind != "lyric" or not ln.text.strip():
                    lines.append(ln)
                    continue
                lines.append(Line(ln.text, (ChordAt(loop[i % 4], 0),), ln.notes, ln.kind))
                i += 1
            sections.append(Section(sec.kind, tuple(lines), sec.label, sec.number, sec.env))
        meta = dict(song.meta)
        meta["chord_model"] = self.name
        return song.replace(sections=tuple(sections), key=key.name, meta=meta)
