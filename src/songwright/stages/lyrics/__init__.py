"""Lyrics stage: plan a song's sections, then fill them line by line with a language model.

Typical use::

    from songwright.stages.lyrics import make_lyrics_stage
    stage = make_lyrics_stage("default")          # SmolLM2-135M, offline, CPU
    song = stage(prompt)                           # Song with sections and lines

Importing this package is cheap: torch and transformers load only when a model is built.
"""

from __future__ import annotations

from .clean import clean_line, cut_line, reject_reason, split_candidates
from .evaluate import evaluate_lyrics, lyrics_metrics
from .factory import load_lm, make_lyrics_stage
from .lm import BaseLM, LanguageModel
from .plan import PlannedSection, genre_habit, plan_song
from .prompts import PROMPT_VERSION
from .train import LyricsTrainConfig, train_lyrics
from .writer import LyricsWriter, WriteStats

__all__ = [
    "PROMPT_VERSION", "BaseLM", "LanguageModel", "LyricsTrainConfig", "LyricsWriter",
    "PlannedSection", "WriteStats", "clean_line", "cut_line", "evaluate_lyrics", "genre_habit",
    "load_lm", "lyrics_metrics", "make_lyrics_stage", "plan_song", "reject_reason",
    "split_candidates", "train_lyrics",
]
