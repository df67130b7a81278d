"""songwright: a prompt-to-song studio."""

from __future__ import annotations

from .chords import Chord, parse_chord
from .errors import ChordError, FormatError, SongwrightError
from .model import ChordAt, Line, Note, Section, Song, SongPrompt, Track

__version__ = "0.1.0"

__all__ = ["Chord", "ChordAt", "ChordError", "FormatError", "Line", "Note", "Section", "Song",
           "SongPrompt", "SongwrightError", "Track", "parse_chord", "__version__"]
