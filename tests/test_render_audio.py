"""MIDI and WAV rendering: round trips, a golden note list, both audio engines, errors."""

from __future__ import annotations

import json
import os
import shutil
import wave
from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from songwright.chords import parse_chord
from songwright.errors import SongwrightError
from songwright.model import ChordAt, Line, Section, Song
from songwright.render import audio
from songwright.render.audio import find_soundfont, write_wav
from songwright.render.midi import (
    MELODY_PROGRAM,
    midi_note_list,
    song_length_beats,
    write_midi,
)
from songwright.stages.arrange import BasicArranger

GOLDEN = Path(__file__).parent / "golden" / "basic_arrangement.json"
HAS_FLUIDSYNTH = shutil.which("fluidsynth") is not None and find_soundfont() is not None


def line(text: str, *chords: tuple[str, int]) -> Line:
    return Line(text, tuple(ChordAt(parse_chord(c), p) for c, p in chords))


def tiny_song(time: str = "4/4", genre: str = "pop", tempo: float = 120) -> Song:
    """One verse line and one chorus line: four bars, eight seconds at 120 BPM."""
    return BasicArranger()(Song(title="Tiny", genre=genre, key="C", tempo=tempo, time=time,
                                sections=(
        Section("verse", (line("Hello little river", ("C", 0), ("Am", 7)),)),
        Section("chorus", (line("Carry me home tonight", ("F", 0), ("G", 9)),), env="chorus"),
    )), seed=0)


def seconds(song: Song) -> float:
    return song_length_beats(song) * 60 / song.tempo


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 2
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
        return data.astype(np.float32) / 32768, w.getframerate()


def no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


# ----------------------------------------------------------------------------- MIDI


def test_midi_round_trip(tmp_path: Path) -> None:
    song = tiny_song(time="6/8", tempo=96)
    path = write_midi(song, tmp_path / "out" / "tiny.mid")
    pm = pretty_midi.PrettyMIDI(str(path))
    names = [i.name for i in pm.instruments]
    assert names == ["melody", "chords", "bass", "drums"]
    assert [i.program for i in pm.instruments[:3]] == [MELODY_PROGRAM, 0, 33]
    assert [i.is_drum for i in pm.instruments] == [False, False, False, True]
    melody = [n for ln in song.lines for n in ln.notes]
    expected = [len(melody)] + [len(t.notes) for t in song.tracks]
    assert [len(i.notes) for i in pm.instruments] == expected
    _, tempi = pm.get_tempo_changes()
    assert list(np.round(tempi, 3)) == [96.0]
    ts = pm.time_signature_changes
    assert [(t.numerator, t.denominator) for t in ts] == [(6, 8)]
    assert [ly.text for ly in pm.lyrics] == [n.syllable for n in melody]
    spb = 60 / 96
    got = sorted((n.start, n.pitch) for n in pm.instruments[0].notes)
    want = sorted((n.start * spb, n.pitch) for n in melody)
    assert all(abs(a[0] - b[0]) < 1e-3 and a[1] == b[1] for a, b in zip(got, want))
    assert no_temp_files(path.parent)


def test_midi_golden_note_list() -> None:
    notes = midi_note_list(tiny_song())
    text = "[\n" + ",\n".join(json.dumps(n, sort_keys=True) for n in notes) + "\n]\n"
    if os.environ.get("SONGWRIGHT_UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert json.loads(GOLDEN.read_text(encoding="utf-8")) == notes


def test_midi_note_list_is_json_and_sorted() -> None:
    notes = midi_note_list(tiny_song())
    assert json.loads(json.dumps(notes)) == notes
    tracks = [n["track"] for n in notes]
    assert tracks == sorted(tracks, key=["melody", "chords", "bass", "drums"].index)
    assert {n["channel"] for n in notes if n["track"] == "drums"} == {9}


def test_midi_errors(tmp_path: Path) -> None:
    with pytest.raises(SongwrightError, match="arrange it first"):
        write_midi(Song(title="bare"), tmp_path / "x.mid")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(SongwrightError, match="cannot write"):
        write_midi(tiny_song(), blocker / "x.mid")


# ----------------------------------------------------------------------------- WAV


def test_numpy_synth_wav(tmp_path: Path) -> None:
    song = tiny_song(genre="rock")
    path = write_wav(song, tmp_path / "tiny.wav", sample_rate=22050, engine="numpy")
    data, rate = read_wav(path)
    assert rate == 22050
    assert abs(len(data) / rate - seconds(song)) <= 1.0
    assert float(np.sqrt(np.mean(data ** 2))) > 0.02
    assert 0.85 < float(np.abs(data).max()) < 0.9  # normalised to -1 dBFS
    assert no_temp_files(tmp_path)


def test_numpy_synth_from_midi_file(tmp_path: Path) -> None:
    song = tiny_song(genre="jazz", time="7/8")
    mid = write_midi(song, tmp_path / "tiny.mid")
    path = write_wav(mid, tmp_path / "tiny.wav", sample_rate=16000, engine="numpy")
    data, rate = read_wav(path)
    assert abs(len(data) / rate - seconds(song)) <= 1.0
    assert float(np.sqrt(np.mean(data ** 2))) > 0.02


def test_auto_falls_back_to_numpy_without_a_soundfont(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audio, "SOUNDFONT_PATHS", ())
    monkeypatch.delenv("SONGWRIGHT_SOUNDFONT", raising=False)

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("fluidsynth must not run")

    monkeypatch.setattr(audio, "render_fluidsynth", boom)
    path = write_wav(tiny_song(), tmp_path / "auto.wav", sample_rate=16000)
    assert path.is_file()
    with pytest.raises(SongwrightError, match="soundfont"):
        write_wav(tiny_song(), tmp_path / "forced.wav", engine="fluidsynth")


@pytest.mark.skipif(not HAS_FLUIDSYNTH, reason="fluidsynth or a GM soundfont is not installed")
def test_fluidsynth_wav(tmp_path: Path) -> None:
    song = tiny_song(genre="country", time="3/4")
    path = write_wav(song, tmp_path / "fs.wav", engine="fluidsynth")
    data, rate = read_wav(path)
    assert rate == 44100
    assert abs(len(data) / rate - seconds(song)) <= 1.0
    assert float(np.sqrt(np.mean(data ** 2))) > 0.02
    assert no_temp_files(tmp_path)
    # A MIDI file renders the same way.
    mid = write_midi(song, tmp_path / "fs.mid")
    assert write_wav(mid, tmp_path / "fs2.wav", engine="auto").stat().st_size > 44


@pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="fluidsynth is not installed")
def test_fluidsynth_failure_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             ) -> None:
    bad = tmp_path / "bad.sf2"
    bad.write_bytes(b"not a soundfont")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(SongwrightError, match="not a SoundFont"):
        write_wav(tiny_song(), out / "x.wav", soundfont=bad, engine="fluidsynth")
    assert list(out.iterdir()) == []
    # A fluidsynth that fails: the error names the exit status; nothing is left behind.
    sf2 = find_soundfont()
    if sf2 is not None:
        fake = tmp_path / "fluidsynth"
        fake.write_text("#!/bin/sh\necho 'fluidsynth: panic' >&2\nexit 3\n")
        fake.chmod(0o755)
        monkeypatch.setattr(audio, "fluidsynth_binary", lambda: str(fake))
        with pytest.raises(SongwrightError, match="exit 3.*panic"):
            write_wav(tiny_song(), out / "x.wav", engine="fluidsynth")
        assert list(out.iterdir()) == []


def test_wav_errors(tmp_path: Path) -> None:
    with pytest.raises(SongwrightError, match="unknown audio engine"):
        write_wav(tiny_song(), tmp_path / "x.wav", engine="timidity")
    with pytest.raises(SongwrightError, match="soundfont not found"):
        write_wav(tiny_song(), tmp_path / "x.wav", soundfont=tmp_path / "none.sf2")
    with pytest.raises(SongwrightError, match="MIDI file not found"):
        write_wav(tmp_path / "none.mid", tmp_path / "x.wav")
    with pytest.raises(SongwrightError, match="no notes"):
        write_wav(Song(title="bare"), tmp_path / "x.wav", engine="numpy")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(SongwrightError, match="cannot write"):
        write_wav(tiny_song(), blocker / "x.wav", sample_rate=8000, engine="numpy")
    assert not (tmp_path / "x.wav").exists()
