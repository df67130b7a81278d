"""The basic arranger: time layout, melody per syllable, accompaniment by genre and metre."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from songwright.chords import parse_chord
from songwright.errors import SongwrightError
from songwright.model import ChordAt, Line, Section, Song
from songwright.stages.arrange import (
    BasicArranger,
    genre_family,
    layout_song,
    melody_range,
    metre_for,
    resolve_key,
    syllabify,
)
from songwright.stages.arrange.layout import chord_at
from songwright.stages.base import SongStage

METRES = {"4/4": 4.0, "3/4": 3.0, "6/8": 3.0, "12/8": 6.0, "2/4": 2.0, "5/4": 5.0, "7/8": 3.5}
# Hi-hat strokes per bar: eighths in x/4, one per written eighth in x/8.
HATS_PER_BAR = {"4/4": 8, "3/4": 6, "6/8": 6, "12/8": 12, "2/4": 4, "5/4": 10, "7/8": 7}


def line(text: str, *chords: tuple[str, int]) -> Line:
    return Line(text, tuple(ChordAt(parse_chord(c), p) for c, p in chords))


def small_song(genre: str | None = "pop", time: str | None = None, key: str | None = "G",
               tempo: float | None = None) -> Song:
    """Two sung sections, a chord-only line and an instrumental section."""
    verse = Section("verse", (
        line("I walked along the river in the rain", ("G", 0), ("Em", 22)),
        line("Every little window held a light for you", ("C", 0), ("D", 14), ("G", 27),
             ("D", 36)),
        line("", ("C", 0), ("D", 3)),
    ), number=1)
    chorus = Section("chorus", (
        line("Oh tonight we sing", ("C", 0), ("G", 3), ("D", 12), ("G", 16)),
        line("Carry me home", ("Em", 0), ("C", 6), ("D", 9)),
    ), env="chorus")
    solo = Section("solo", (line("(guitar solo)", ("G", 0), ("C", 1), ("D", 2), ("G", 3)),))
    return Song(title="River", genre=genre, time=time, key=key, tempo=tempo,
                sections=(verse, chorus, solo))


@pytest.fixture(scope="module")
def arranged() -> Song:
    return BasicArranger()(small_song(), seed=0)


def test_is_a_song_stage() -> None:
    assert isinstance(BasicArranger(), SongStage)
    assert BasicArranger.name == "basic"


def test_fills_metadata_and_tracks(arranged: Song) -> None:
    assert (arranged.tempo, arranged.time, arranged.key) == (110.0, "4/4", "G")
    assert [t.name for t in arranged.tracks] == ["chords", "bass", "drums"]
    assert [t.is_drum for t in arranged.tracks] == [False, False, True]
    assert all(t.notes for t in arranged.tracks)


@pytest.mark.parametrize(("genre", "tempo"), [("Heavy Metal", 140), ("rock", 120), ("pop", 110),
                                              ("Hip-Hop/Rap", 90), ("country", 110), (None, 110)])
def test_default_tempo_by_genre(genre: str | None, tempo: float) -> None:
    song = BasicArranger()(small_song(genre=genre, key=None))
    assert song.tempo == tempo and song.time == "4/4" and song.key


def test_declared_tempo_and_time_are_kept() -> None:
    song = BasicArranger()(small_song(tempo=77, time="3/4"))
    assert (song.tempo, song.time) == (77.0, "3/4")


def test_every_syllable_of_every_sung_line_has_a_note(arranged: Song) -> None:
    for section in arranged.sections:
        for ln in section.lines:
            if section.kind == "solo" or not ln.text:
                assert ln.notes == ()
                continue
            sylls = syllabify(ln.text)
            assert [n.syllable for n in ln.notes] == [s.text for s in sylls]
            starts = [n.start for n in ln.notes]
            assert starts == sorted(starts) and len(set(starts)) == len(starts)


def test_notes_in_singable_range(arranged: Song) -> None:
    lo, hi = melody_range(resolve_key(arranged))
    assert (lo, hi) == (55, 76)  # G: C4-A5 moved down to G3-E5
    assert all(lo <= n.pitch <= hi for ln in arranged.lines for n in ln.notes)


def test_every_note_inside_its_lines_bars(arranged: Song) -> None:
    layout = layout_song(arranged, resolve_key(arranged))
    bar = layout.metre.bar_length
    for ll in layout.lines:
        assert ll.bars >= 1 and abs((ll.end - ll.start) - ll.bars * bar) < 1e-9
        for n in arranged.sections[ll.section].lines[ll.line].notes:
            assert ll.start <= n.start < ll.end
            assert n.start + n.duration <= ll.end + 1e-9
            assert n.duration > 0


def test_layout_bars_and_chord_spans(arranged: Song) -> None:
    layout = layout_song(arranged, resolve_key(arranged))
    by_line = {(ll.section, ll.line): ll for ll in layout.lines}
    first = by_line[(0, 0)]
    assert first.start == 0 and first.bars == 2  # two bars of 4/4 per ordinary line
    # Two chords over two bars: one per bar, the first at the line's start.
    assert [(s.chord.name, s.start, s.end) for s in first.spans] == [("G", 0, 4), ("Em", 4, 8)]
    # Four chords over two bars: two beats each.
    second = by_line[(0, 1)]
    assert [s.end - s.start for s in second.spans] == [2, 2, 2, 2]
    # Three chords over two bars: proportional to the text, snapped to beats, in order.
    last = by_line[(1, 1)]
    times = [(s.start - last.start, s.end - last.start) for s in last.spans]
    assert times[0][0] == 0 and times[-1][1] == 8
    assert all(a[1] == b[0] for a, b in zip(times, times[1:]))
    assert all(float(t).is_integer() for t, _ in times)
    # The chord-only line and the solo get a bar per chord; lines follow one another.
    assert by_line[(0, 2)].bars == 2 and not by_line[(0, 2)].sung
    assert by_line[(2, 0)].bars == 4 and not by_line[(2, 0)].sung
    assert all(a.end == b.start for a, b in zip(layout.lines, layout.lines[1:]))


def test_long_lines_get_more_bars() -> None:
    text = " ".join(["beautiful"] * 8)  # 24 syllables do not fit two bars of eighths
    song = Song(title="x", sections=(Section("verse", (line(text, ("C", 0)),)),))
    ll = layout_song(song).lines[0]
    assert ll.bars == 4 and len(ll.syllables) == 24
    arranged = BasicArranger()(song)
    assert len(arranged.lines[0].notes) == 24


def test_chord_tones_on_beats(arranged: Song) -> None:
    layout = layout_song(arranged, resolve_key(arranged))
    spans = layout.spans
    onbeat = [(n, chord_at(spans, n.start)) for ln in arranged.lines for n in ln.notes
              if abs(n.start - round(n.start)) < 1e-9]
    assert len(onbeat) >= 10
    hits = sum(n.pitch % 12 in c.pitch_classes for n, c in onbeat)
    assert hits / len(onbeat) >= 0.9


def test_stressed_syllables_mostly_on_beats(arranged: Song) -> None:
    stressed = [n for ln in arranged.lines
                for n, s in zip(ln.notes, syllabify(ln.text)) if s.stress == 1]
    on = sum(abs(n.start - round(n.start)) < 1e-9 for n in stressed)
    assert on / len(stressed) >= 0.6


def test_phrase_ends_long_on_a_chord_tone(arranged: Song) -> None:
    spans = layout_song(arranged, resolve_key(arranged)).spans
    for ln in arranged.lines:
        if ln.notes:
            last = ln.notes[-1]
            assert last.pitch % 12 in chord_at(spans, last.start).pitch_classes
            assert last.duration >= max(n.duration for n in ln.notes[:-1]) - 0.5


def test_accompaniment_follows_chords(arranged: Song) -> None:
    spans = layout_song(arranged, resolve_key(arranged)).spans
    chords, bass, _ = arranged.tracks
    for n in chords.notes:
        assert n.pitch % 12 in chord_at(spans, n.start).pitch_classes
    for n in bass.notes:
        assert n.pitch % 12 in chord_at(spans, n.start).pitch_classes
        assert 28 <= n.pitch <= 60
    # The solo and the chord-only line are accompanied.
    length = spans[-1].end
    assert any(n.start >= length - 4 for n in chords.notes)


@pytest.mark.parametrize("time", sorted(METRES))
def test_drums_fill_every_bar_in_every_metre(time: str) -> None:
    song = BasicArranger()(small_song(time=time))
    bar = METRES[time]
    assert metre_for(time).bar_length == bar == song.beats_per_bar
    drums = song.tracks[2]
    length = layout_song(song).length
    n_bars = round(length / bar)
    assert abs(n_bars * bar - length) < 1e-9
    for b in range(n_bars):
        hits = [n for n in drums.notes if b * bar <= n.start < (b + 1) * bar - 1e-9]
        hats = {n.start for n in hits if n.pitch == 42}
        assert len(hats) == HATS_PER_BAR[time], (time, b)
        assert any(n.pitch == 36 and abs(n.start - b * bar) < 1e-9 for n in hits)
        assert any(n.pitch == 38 for n in hits)
    assert all(0 <= n.start < length for n in drums.notes)


@pytest.mark.parametrize("genre", ["rock", "metal", "rap", "country", "jazz", "reggae",
                                   "electronic", "blues", "folk", "rnb", "punk"])
@pytest.mark.parametrize("time", ["4/4", "6/8", "7/8"])
def test_every_genre_plays_every_bar(genre: str, time: str) -> None:
    song = BasicArranger()(small_song(genre=genre, time=time))
    bar = song.beats_per_bar
    length = layout_song(song).length
    for track in song.tracks:
        assert all(0 <= n.start < length and n.duration > 0 for n in track.notes), track.name
        assert 0 <= track.program < 128
    bars_with_drums = {int(n.start // bar) for n in song.tracks[2].notes}
    assert bars_with_drums == set(range(round(length / bar)))


def test_same_seed_same_song_other_seeds_differ() -> None:
    song = small_song()
    a = BasicArranger()(song, seed=3)
    assert a == BasicArranger()(song, seed=3)
    melodies = {tuple(n for ln in BasicArranger()(song, seed=s).lines for n in ln.notes)
                for s in range(5)}
    assert len(melodies) > 1


def test_rearranging_replaces_old_notes(arranged: Song) -> None:
    again = BasicArranger()(arranged, seed=0)
    assert again == arranged


def test_bad_metadata_raises() -> None:
    with pytest.raises(SongwrightError):
        BasicArranger()(small_song(time="4/5"))
    with pytest.raises(SongwrightError):
        BasicArranger()(small_song(key="H minor"))


def test_empty_song_arranges_to_nothing() -> None:
    song = BasicArranger()(Song(title="empty"))
    assert song.tracks and all(t.notes == () for t in song.tracks)
    assert song.key == "C"


def test_syllables_from_cmu_and_fallback() -> None:
    assert [(s.text, s.stress) for s in syllabify("Beautiful night!")] == [
        ("Beau-", 1), ("ti-", 0), ("ful", 0), ("night", 1)]
    assert [s.text for s in syllabify("tonight")] == ["to-", "night"]
    made_up = syllabify("zorblaxian")  # not in the CMU dictionary: vowel groups
    assert len(made_up) == 3 and made_up[0].stress == 1
    assert "".join(s.text.rstrip("-") for s in made_up) == "zorblaxian"
    assert syllabify("") == [] and syllabify("--- !!") == []


def test_genre_family_aliases() -> None:
    assert genre_family("Death Metal") == "metal"
    assert genre_family("hip hop") == "rap"
    assert genre_family("Alt-Country") == "country"
    assert genre_family("polka") == "pop"


@pytest.mark.parametrize(("time", "beats", "ticks"), [
    ("4/4", 4, 8), ("3/4", 3, 6), ("6/8", 2, 6), ("12/8", 4, 12), ("2/4", 2, 4), ("5/4", 5, 10),
    ("7/8", 3, 7), ("2/2", 2, 4), ("9/8", 3, 9)])
def test_metres(time: str, beats: int, ticks: int) -> None:
    m = metre_for(time)
    assert len(m.beats) == beats and m.ticks_per_bar == ticks
    assert m.beats[0].strength == 2 and m.beats[0].offset == 0
    assert abs(sum(b.length for b in m.beats) - m.bar_length) < 1e-9
    assert m.default_bars_per_line * m.bar_length >= 6


_WORDS = st.sampled_from(["love", "the", "beautiful", "river", "tonight", "I", "remember",
                          "zorblax", "and", "fire", "everybody", "go", "home", "24"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(words=st.lists(st.lists(_WORDS, min_size=0, max_size=14), min_size=1, max_size=4),
       n_chords=st.integers(min_value=0, max_value=6),
       time=st.sampled_from(sorted(METRES)), seed=st.integers(0, 2**31))
def test_any_lines_arrange_validly(words: list[list[str]], n_chords: int, time: str,
                                   seed: int) -> None:
    names = ["C", "Am", "F", "G7", "Dm", "E"]
    lines = []
    for ws in words:
        text = " ".join(ws)
        chords = [(names[i], min(len(text), i * 5)) for i in range(n_chords)]
        lines.append(line(text, *chords))
    song = BasicArranger()(Song(title="p", time=time, sections=(Section("verse", tuple(lines)),)),
                           seed=seed)
    layout = layout_song(song, resolve_key(song))
    lo, hi = melody_range(resolve_key(song))
    for ll in layout.lines:
        notes = song.sections[0].lines[ll.line].notes
        assert len(notes) == len(ll.syllables)
        assert all(ll.start <= n.start < ll.end and lo <= n.pitch <= hi for n in notes)
        assert all(n.start + n.duration <= ll.end + 1e-9 for n in notes)
