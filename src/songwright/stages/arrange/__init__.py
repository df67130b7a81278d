"""The arrange stage: melody fitted to syllables, chords, bass and drums by genre and metre.

``BasicArranger`` is the rule-based baseline (see docs/arrange-and-render.md);
``layout_song`` recomputes an arranged song's bar layout and chord timing for renderers.
"""

from __future__ import annotations

from .basic import BasicArranger, resolve_key
from .genres import STYLES, GenreStyle, genre_family, style_for
from .layout import ChordSpan, LineLayout, SongLayout, layout_song
from .melody import melody_range
from .metre import Beat, Metre, metre_for
from .syllables import Syllable, syllabify

__all__ = ["STYLES", "BasicArranger", "Beat", "ChordSpan", "GenreStyle", "LineLayout", "Metre",
           "SongLayout", "Syllable", "genre_family", "layout_song", "melody_range", "metre_for",
           "resolve_key", "style_for", "syllabify"]
