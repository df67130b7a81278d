from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from songwright.chords import parse_chord
from songwright.errors import SongwrightError
from songwright.model import (
    ChordAt,
    Line,
    Note,
    Section,
    Song,
    SongPrompt,
    Track,
    parse_time,
    section_kind_from_label,
)

GENRES = ("country", "metal", "pop", "rap", "rock")


def _song() -> Song:
    line = Line("Hello there", (ChordAt(parse_chord("Am7"), 0), ChordAt(parse_chord("Bb/D"), 6)),
                (Note(69, 0.0, 1.0, "Hel"), Note(67, 1.0, 0.5, "lo", velocity=70)))
    return Song(title="T", artist="A", key="Am", tempo=92.5, time="6/8", genre="rock",
                subgenres=("indie",), era="2000s",
                sections=(Section("verse", (line, Line("note", kind="comment")), "Verse 1", 1),
                          Section("chorus", (line,), None, None, "chorus")),
                meta={"verse_prompt": "x"}, genre_probs={"rock": 0.7, "pop": 0.3},
                tracks=(Track("drums", 0, (Note(36, 0, 0.5),), True),))


def test_json_round_trip_is_exact_and_readable():
    song = _song()
    text = song.to_json()
    assert Song.from_json(text) == song
    data = json.loads(text)
    # The documented nesting other tools read.
    assert data["sections"][0]["lines"][0]["chords"][1] == {"chord": "Bb/D", "position": 6}
    assert data["key"] == "Am" and data["time"] == "6/8"
    assert Song.from_json(text).sections[0].lines[0].chords[1].chord.format() == "Bb/D"


@given(st.lists(st.tuples(st.text(max_size=30), st.sampled_from(["C", "F#m7", "Bb13", "Dsus4",
                                                                  "E5", "Cadd9", "G/B"]),
                          st.integers(0, 30)), max_size=8))
def test_json_round_trip_property(items):
    lines = tuple(Line(t, (ChordAt(parse_chord(c), p),)) for t, c, p in items)
    song = Song(title="x", sections=(Section("verse", lines),))
    assert Song.from_json(song.to_json()) == song


def test_bad_json():
    with pytest.raises(SongwrightError, match="invalid song JSON"):
        Song.from_json("{nope")
    with pytest.raises(SongwrightError, match="sections"):
        Song.from_json("[1, 2]")


@pytest.mark.parametrize("label, env, expected", [
    ("Verse 2 (Rap)", "verse", ("verse", 2)), ("Pre-Chorus", "verse", ("pre-chorus", None)),
    ("Spoken Interlude", "verse", ("interlude", None)), ("Outro", "verse", ("outro", None)),
    (None, "chorus", ("chorus", None)), ("Post-Chorus", "verse", ("post-chorus", None)),
])
def test_section_kind_from_label(label, env, expected):
    assert section_kind_from_label(label, env) == expected


def test_prompt_validation_messages():
    ok = SongPrompt(title="Hi", genre="pop", key="F#m", tempo=120, time="7/8").validate(GENRES)
    assert ok.title == "Hi"
    cases = [
        (SongPrompt(title="  "), "title must not be empty"),
        (SongPrompt(title="x", genre="polka"), "unknown genre 'polka'; known genres: country"),
        (SongPrompt(title="x", tempo=0), "tempo must be in"),
        (SongPrompt(title="x", tempo=401), "tempo must be in"),
        (SongPrompt(title="x", key="H"), "invalid key 'H'"),
        (SongPrompt(title="x", time="4/3"), "invalid time signature"),
        (SongPrompt(title="x", verse_prompt="a" * 3000), "verse_prompt is 3000 characters"),
        (SongPrompt(title="x", structure=("verse", "kazoo")), "unknown section kind 'kazoo'"),
    ]
    for prompt, message in cases:
        with pytest.raises(SongwrightError, match=message):
            prompt.validate(GENRES)


def test_prompt_from_dict():
    p = SongPrompt.from_dict({"title": "x", "subgenres": "a, b", "structure": "verse chorus",
                              "tempo": "100"})
    assert p.subgenres == ("a", "b") and p.structure == ("verse", "chorus") and p.tempo == 100.0
    assert SongPrompt.from_dict(p.to_dict()) == p
    with pytest.raises(SongwrightError, match="unknown prompt field"):
        SongPrompt.from_dict({"title": "x", "colour": "red"})
    with pytest.raises(SongwrightError, match="tempo must be a number"):
        SongPrompt.from_dict({"title": "x", "tempo": "fast"})


def test_parse_time():
    assert parse_time("12/8") == (12, 8)
    assert Song(time="6/8").beats_per_bar == 3.0
    with pytest.raises(SongwrightError):
        parse_time("0/4")
