"""Lyrics stage: plan a song's sections, then fill them line by line with a language model.

Typical use::

    from songwright.stages.lyrics import make_lyrics_stage
    stage = make_lyrics_stage("default")          # SmolLM2-135M, offline, CPU
    song = stage(prompt)                           # Song with sections and lines

Importing this package is cheap: torch and transformers load only when a model is built.
"""

from __future__ import annotations

from .clean import clean_line, cut_line, reject_reason, split_candidates
from .factory import load_lm, make_lyrics_stage
from .lm import BaseLM, LanguageModel
from .plan import PlannedSection, genre_habit, plan_song
from .prompts import PROMPT_VERSION
from .writer import LyricsWriter, WriteStats

__all__ = [
    "PROMPT_VERSION", "BaseLM", "LanguageModel", "LyricsWriter", "PlannedSection", "WriteStats",
    "clean_line", "cut_line", "genre_habit", "load_lm", "make_lyrics_stage", "plan_song",
    "reject_reason", "split_candidates",
]
