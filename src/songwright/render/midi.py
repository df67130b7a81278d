"""Multi-track Standard MIDI File output, and a stable note list for golden tests.

The file is type 1 at 480 ticks per quarter note: a conductor track (title, tempo, time and
key signature), then ``melody`` (channel 1, :data:`MELODY_PROGRAM`, one lyric meta event per
syllable at its note's onset) and one track per :class:`~songwright.model.Track` in song order
(chords, bass, ...; drums on channel 10). Written with mido directly so beat positions become
exact ticks and lyrics sit in the melody track, where karaoke players look for them.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mido

from ..errors import SongwrightError
from ..keys import parse_key
from ..model import Note, Song, parse_time

logger = logging.getLogger(__name__)

TICKS_PER_BEAT = 480
MELODY_PROGRAM = 73  # GM Flute: a clear, sustained, voice-like line that reads well as a guide
DRUM_CHANNEL = 9  # channel 10 counted from 1
DEFAULT_TEMPO = 120.0


@contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it onto ``path`` only if the block succeeds.

    Nothing half-written is ever left at ``path``; the temporary file is removed on failure.

    Raises:
        SongwrightError: when the folder cannot be created or written, or the move fails.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise SongwrightError(f"cannot write {path}: {e.strerror or e}") from e
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; outputs are meant to be shared
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise SongwrightError(f"cannot write {path}: {e.strerror or e}") from e
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def melody_notes(song: Song) -> list[Note]:
    """Every melody note of the song in time order."""
    return sorted((n for ln in song.lines for n in ln.notes), key=lambda n: (n.start, n.pitch))


def song_length_beats(song: Song) -> float:
    """Where the last note of any part ends, in quarter notes (0 for a song with no notes)."""
    ends = [n.start + n.duration for n in melody_notes(song)]
    ends += [n.start + n.duration for t in song.tracks for n in t.notes]
    return max(ends, default=0.0)


def _parts(song: Song, melody_program: int) -> list[tuple[str, int, int, list[Note]]]:
    """``(name, channel, program, notes)`` for the melody and every track, in file order."""
    parts = [("melody", 0, melody_program, melody_notes(song))]
    free = [c for c in range(1, 16) if c != DRUM_CHANNEL]
    for tr in song.tracks:
        channel = DRUM_CHANNEL if tr.is_drum else (free.pop(0) if free else 15)
        parts.append((tr.name, channel, tr.program, list(tr.notes)))
    return parts


def _tick(beats: float) -> int:
    return int(round(beats * TICKS_PER_BEAT))


def _conductor(song: Song, tempo: float) -> mido.MidiTrack:
    num, den = parse_time(song.time or "4/4")
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name=song.title or "songwright", time=0))
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo), time=0))
    compound = den == 8 and num % 3 == 0 and num > 3
    track.append(mido.MetaMessage("time_signature", numerator=num, denominator=den,
                                  clocks_per_click=36 if compound else 24,
                                  notated_32nd_notes_per_beat=8, time=0))
    if song.key:
        name = parse_key(song.key).name
        try:
            track.append(mido.MetaMessage("key_signature", key=name, time=0))
        except (KeyError, ValueError):
            # mido knows only the 30 conventional key names (A# major is written Bb).
            logger.debug("key %s has no MIDI key signature; omitted", name)
    return track


def _part_track(name: str, channel: int, program: int, notes: list[Note],
                lyrics: bool) -> mido.MidiTrack:
    # (tick, order, index, kind, value): at one tick, note-offs come before lyrics and
    # note-ons so a repeated pitch restarts cleanly. Messages are built once, with their delta
    # time, because mido validates every construction and copy (the main cost of writing).
    events: list[tuple[int, int, int, str, int | str]] = []
    for i, n in enumerate(notes):
        on, off = _tick(n.start), max(_tick(n.start + n.duration), _tick(n.start) + 1)
        pitch = min(127, max(0, int(n.pitch)))
        events.append((on, 2, i, "note_on", pitch))
        events.append((off, 0, i, "note_off", pitch))
        if lyrics and n.syllable:
            events.append((on, 1, i, "lyrics", n.syllable))
    velocity = {i: min(127, max(1, int(n.velocity))) for i, n in enumerate(notes)}
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name=name, time=0))
    if channel != DRUM_CHANNEL:
        track.append(mido.Message("program_change", channel=channel, program=program % 128,
                                  time=0))
    now = 0
    for tick, _, i, kind, value in events:
        delta, now = tick - now, tick
        if kind == "lyrics":
            track.append(mido.MetaMessage("lyrics", text=value, time=delta))
        else:
            track.append(mido.Message(kind, channel=channel, note=value, time=delta,
                                      velocity=velocity[i] if kind == "note_on" else 0))
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def build_midi(song: Song, melody_program: int = MELODY_PROGRAM) -> mido.MidiFile:
    """The song as an in-memory :class:`mido.MidiFile` (see the module docstring)."""
    tempo = float(song.tempo or DEFAULT_TEMPO)
    mid = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    mid.tracks.append(_conductor(song, tempo))
    for name, channel, program, notes in _parts(song, melody_program):
        mid.tracks.append(_part_track(name, channel, program, notes, lyrics=name == "melody"))
    return mid


def write_midi(song: Song, path: str | Path, *, melody_program: int = MELODY_PROGRAM) -> Path:
    """Write the arranged ``song`` as a multi-track MIDI file.

    Args:
        song: an arranged song (melody in ``Line.notes``, parts in ``Song.tracks``).
        path: where to write; the folder is created, the file is replaced atomically.
        melody_program: General MIDI program (0-based) of the melody track.

    Returns:
        The path written.

    Raises:
        SongwrightError: when the song has no notes (arrange it first) or the file cannot be
            written.
    """
    if song_length_beats(song) <= 0:
        raise SongwrightError("song has no notes to write as MIDI; arrange it first")
    mid = build_midi(song, melody_program)
    path = Path(path)
    with atomic_output(path) as tmp:
        mid.save(str(tmp))
    logger.debug("wrote %s (%d tracks)", path, len(mid.tracks))
    return path


def midi_note_list(song: Song) -> list[dict[str, Any]]:
    """Every note of every part as plain dicts, in a stable order, for golden tests.

    Each item: ``track`` (``"melody"`` or the track name), ``channel`` (0-based), ``pitch``,
    ``start`` and ``duration`` (beats, rounded to 1/1000), ``velocity`` and, for melody notes,
    ``syllable``. Sorted by part order, then start, then pitch.
    """
    out: list[dict[str, Any]] = []
    for name, channel, _, notes in _parts(song, MELODY_PROGRAM):
        for n in sorted(notes, key=lambda n: (n.start, n.pitch)):
            item: dict[str, Any] = {"track": name, "channel": channel, "pitch": int(n.pitch),
                                    "start": round(n.start, 3), "duration": round(n.duration, 3),
                                    "velocity": int(n.velocity)}
            if n.syllable is not None:
                item["syllable"] = n.syllable
            out.append(item)
    return out
