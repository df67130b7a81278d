"""The basic, rule-based arranger: melody per syllable, chords, bass and drums.

It is the baseline that learned arrangers are compared against, so it stays simple and fully
deterministic for a given seed (the seed only varies the melody's rhythm and pitch choices).
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from ...errors import SongwrightError
from ...keys import Key, parse_key, song_key
from ...model import Line, Note, Section, Song, Track
from .accompaniment import bass_track, chord_track, drum_track
from .genres import style_for
from .layout import layout_song
from .melody import line_notes, melody_range
from .metre import metre_for

logger = logging.getLogger(__name__)

# Semitones added to the melody's arch in sections that should lift above the verse.
_LIFT = {"chorus": 3, "hook": 3, "post-chorus": 2, "pre-chorus": 1, "bridge": 2}


def resolve_key(song: Song) -> Key:
    """The song's key: declared, else estimated from its chords, else C major.

    Raises:
        SongwrightError: when ``song.key`` is set but is not a key name.
    """
    if song.key:
        return parse_key(song.key)
    try:
        return song_key(song)
    except SongwrightError:
        return parse_key("C")


class BasicArranger:
    """Rule-based arranger (the ``arrange`` stage's baseline), called as ``stage(song, seed=)``.

    Fills ``Line.notes`` with one melody note per sung syllable, sets ``Song.tracks`` to
    ``(chords, bass, drums)`` and sets ``tempo`` (genre default when missing), ``time`` (4/4
    when missing) and ``key`` (estimated when missing). See docs/arrange-and-render.md.
    """

    name = "basic"

    def __call__(self, song: Song, *, seed: int = 0) -> Song:
        style = style_for(song.genre)
        time = song.time or "4/4"
        metre = metre_for(time)  # raises SongwrightError on a bad time signature
        tempo = float(song.tempo) if song.tempo else float(style.tempo)
        if not 0 < tempo <= 400:
            raise SongwrightError(f"tempo must be in (0, 400] BPM, got {tempo}")
        key = resolve_key(song)
        song = song.replace(tempo=tempo, time=time, key=song.key or key.name)
        layout = layout_song(song, key)
        lo, hi = melody_range(key)
        prev = lo + 7
        melody: dict[tuple[int, int], tuple[Note, ...]] = {}
        base = seed % (1 << 63)  # numpy seeds must be non-negative
        for ll in layout.lines:
            if not ll.sung:
                continue
            rng = np.random.default_rng([base, ll.section, ll.line])
            lift = _LIFT.get(song.sections[ll.section].kind, 0)
            notes = line_notes(ll, metre, key, prev, rng, lift)
            melody[(ll.section, ll.line)] = tuple(notes)
            if notes:
                prev = notes[-1].pitch
        sections: list[Section] = []
        for si, section in enumerate(song.sections):
            lines: list[Line] = [replace(ln, notes=melody.get((si, li), ()))
                                 for li, ln in enumerate(section.lines)]
            sections.append(replace(section, lines=tuple(lines)))
        tracks = (
            Track("chords", style.chord_program, tuple(chord_track(layout, style))),
            Track("bass", style.bass_program, tuple(bass_track(layout, style))),
            Track("drums", 0, tuple(drum_track(layout, style)), is_drum=True),
        )
        logger.debug("arranged %d lines into %d beats (%s, %s, %.0f BPM, %s)",
                     len(layout.lines), layout.length, style.family, time, tempo, key.name)
        return song.replace(sections=tuple(sections), tracks=tracks)
