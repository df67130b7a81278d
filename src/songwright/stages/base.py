"""The stage contract. The pipeline is the only place that knows the order of stages.

- a lyrics stage turns a :class:`SongPrompt` into a :class:`Song` with sections and lines;
- every later stage is a callable ``stage(song, *, seed) -> Song`` that reads and writes only
  the song model (genre fills ``genre``/``genre_probs``, chords fill ``Line.chords`` and
  ``key``, arrange fills ``Line.notes`` and ``tracks``).

Learned stages additionally offer ``save(path)`` and a ``load(path)`` classmethod.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..model import Song, SongPrompt


@runtime_checkable
class LyricsStage(Protocol):
    name: str

    def __call__(self, prompt: SongPrompt) -> Song: ...


@runtime_checkable
class SongStage(Protocol):
    name: str

    def __call__(self, song: Song, *, seed: int = 0) -> Song: ...
