"""MusicXML lead sheets: reading (OpenEWLD and hand-written fixtures) and writing."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest

from songwright.chords import parse_chord
from songwright.errors import FormatError
from songwright.formats.musicxml import read_musicxml, scan_openewld, write_musicxml
from songwright.model import ChordAt, Line, Section, Song

CLOSER_WALK = "openewld/dataset/[Traditional]/Just_a_Closer_Walk_with_Thee/Just_a_Closer_Walk_with_Thee.mxl"
SWEET_SIXTEEN = "openewld/dataset/James_Thornton/When_You_Were_Sweet_Sixteen/When_You_Were_Sweet_Sixteen.mxl"
IN_THE_GARDEN = "openewld/dataset/Charles_Austin_Miles/In_the_Garden/In_the_Garden.mxl"


def _note(step: str, octave: int, dur: int, lyrics: tuple[tuple[int, str, str], ...] = (),
          alter: int = 0) -> str:
    alt = f"<alter>{alter}</alter>" if alter else ""
    ly = "".join(f'<lyric number="{n}"><syllabic>{s}</syllabic><text>{t}</text></lyric>'
                 for n, s, t in lyrics)
    return (f"<note><pitch><step>{step}</step>{alt}<octave>{octave}</octave></pitch>"
            f"<duration>{dur}</duration><type>quarter</type>{ly}</note>")


def _harmony(step: str, kind: str, alter: int = 0) -> str:
    alt = f"<root-alter>{alter}</root-alter>" if alter else ""
    return f"<harmony><root><root-step>{step}</root-step>{alt}</root><kind>{kind}</kind></harmony>"


REST = "<note><rest/><duration>1</duration><type>quarter</type></note>"


def _score(measures: list[str], title: str = "Fixture Song", key: str = "") -> str:
    body = "".join(f'<measure number="{i + 1}">{m}</measure>' for i, m in enumerate(measures))
    attrs = ("<attributes><divisions>1</divisions>" + key +
             "<time><beats>4</beats><beat-type>4</beat-type></time></attributes>")
    body = body.replace('<measure number="1">', '<measure number="1">' + attrs, 1)
    return ("<?xml version='1.0' encoding='UTF-8'?><score-partwise><work><work-title>"
            f"{title}</work-title></work><identification><creator type=\"composer\">Ann Writer"
            "</creator></identification><part-list><score-part id=\"P1\"><part-name>Voice"
            f"</part-name></score-part></part-list><part id=\"P1\">{body}</part></score-partwise>")


def _lyric_words(line: Line) -> list[str]:
    return [w.strip(".,;:!?") for w in line.text.split()]


# --------------------------------------------------------------------------- fixtures


def test_fixture_syllables_verses_and_chords(tmp_path: Path) -> None:
    m1 = (_harmony("F", "major") + _note("F", 4, 1, ((1, "begin", "Hap"), (2, "single", "Now"))) +
          _note("G", 4, 1, ((1, "end", "py"), (2, "single", "we"))) +
          _harmony("B", "dominant", -1) + REST +
          _note("A", 4, 1, ((1, "single", "day,"), (2, "single", "sing"))))
    m2 = (_note("B", 4, 1, ((1, "begin", "ev"), (2, "single", "all")), alter=-1) +
          _note("A", 4, 1, ((1, "middle", "er"),)) + _note("G", 4, 1, ((1, "end", "y"),)) +
          _harmony("C", "none") + _harmony("C", "dominant") + _note("F", 4, 1, ((1, "single", "day."),)))
    path = tmp_path / "fixture.musicxml"
    path.write_text(_score([m1, m2], key="<key><fifths>-1</fifths><mode>major</mode></key>"))
    song = read_musicxml(path)
    assert (song.title, song.artist, song.key, song.time) == ("Fixture Song", "Ann Writer", "F", "4/4")
    assert [s.name for s in song.sections] == ["verse 1", "verse 2"]
    v1 = song.sections[0]
    text = " ".join(ln.text for ln in v1.lines)
    assert text == "Happy day, every day."
    chords = [(str(c.chord), c.position) for ln in v1.lines for c in ln.chords]
    # Bb7 falls on the rest: it moves to the next syllable "day,"; kind "none" is skipped.
    offsets = [sum(len(ln.text) + 1 for ln in v1.lines[:i]) for i in range(len(v1.lines))]
    flat = [(c, off + p) for (c, p), off in zip(chords, [o for i, ln in enumerate(v1.lines)
                                                         for o in [offsets[i]] * len(ln.chords)])]
    assert flat == [("F", 0), ("Bb7", text.index("day,")), ("C7", text.index("day."))]
    notes = [n for ln in v1.lines for n in ln.notes]
    assert [n.pitch for n in notes] == [65, 67, 69, 70, 69, 67, 65]
    assert [n.start for n in notes] == [0.0, 1.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    assert notes[0].syllable == "Hap"
    v2 = song.sections[1]
    assert " ".join(ln.text for ln in v2.lyric_lines) == "Now we sing all"
    assert all(not ln.notes for ln in v2.lines)


def test_fixture_split_words_marked_single_are_rejoined(tmp_path: Path) -> None:
    sylls = ["Je", "sus", "keep", "me", "from", "all", "wro", "ng", "I'll", "be", "sat", "is",
             "fied", "as", "lo", "ng", "as", "I", "walk"]
    measures = ["".join(_note("C", 5, 1, ((1, "single", s),)) for s in sylls[i:i + 4])
                for i in range(0, len(sylls), 4)]
    measures[0] = _harmony("E", "major", -1) + measures[0]
    path = tmp_path / "singles.xml"
    path.write_text(_score(measures))
    words = " ".join(ln.text for ln in read_musicxml(path).lyric_lines).split()
    for word in ("Jesus", "wrong", "satisfied", "long", "keep", "walk"):
        assert word in words
    assert "Je" not in words and "ng" not in words


def test_no_lyrics_still_imports_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "tune.musicxml"
    path.write_text(_score([_harmony("G", "major") + _note("G", 4, 4), _harmony("D", "dominant") +
                            _note("A", 4, 4)]))
    song = read_musicxml(path)
    assert "no lyrics" in song.meta["import_warnings"]
    assert [str(c) for c in song.chords] == ["G", "D7"]
    assert not song.lyric_lines and song.sections[0].kind == "instrumental"


@pytest.mark.parametrize("content", [b"this is not a zip file at all", b"PK\x03\x04garbage",
                                     b"<score-partwise><part>"])
def test_corrupt_file_raises_format_error_naming_it(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken_song.mxl"
    path.write_bytes(content)
    with pytest.raises(FormatError) as err:
        read_musicxml(path)
    assert "broken_song.mxl" in str(err.value)
    assert err.value.path == str(path)


def test_zip_without_score_is_a_format_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.mxl"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "nothing here")
    with pytest.raises(FormatError, match="empty.mxl"):
        read_musicxml(path)


# --------------------------------------------------------------------------- writing


def _unarranged_song() -> Song:
    bb7, am, c = parse_chord("Bb7"), parse_chord("Am"), parse_chord("C")
    verse = Section("verse", (
        Line("Hello darling world", (ChordAt(c, 0), ChordAt(bb7, 6), ChordAt(am, 14))),
        Line("", (ChordAt(parse_chord("F#m7b5"), 0),)),
        Line("goodbye now", (ChordAt(parse_chord("Eb/G"), 0),)),
    ), None, 1)
    return Song(title="Plain", artist="Someone", key="F", tempo=96.0, time="3/4", sections=(verse,))


def test_export_song_without_notes(tmp_path: Path) -> None:
    music21 = pytest.importorskip("music21")
    path = write_musicxml(_unarranged_song(), tmp_path / "plain.musicxml")
    score = music21.converter.parse(str(path))
    symbols = list(score.recurse().getElementsByClass(music21.harmony.ChordSymbol))
    assert [cs.root().name for cs in symbols] == ["C", "B-", "A", "F#", "E-"]
    # "Bb7" is written as root + kind, so music21 does not misread it as B7.
    assert {p.pitchClass for p in symbols[1].pitches} == {10, 2, 5, 8}
    lyrics = [n.lyric for n in score.recurse().notes if n.lyric]
    assert lyrics == ["Hello", "darling", "world", "goodbye", "now"]
    darling = next(n for n in score.recurse().notes if n.lyric == "darling")
    assert darling.pitch.pitchClass == 10  # on the root of Bb7
    assert score.metadata.bestTitle == "Plain" and score.metadata.composer == "Someone"
    ts = score.recurse().getElementsByClass(music21.meter.TimeSignature).first()
    assert ts.ratioString == "3/4"
    again = read_musicxml(path)
    assert again.chords == _unarranged_song().chords
    assert (again.key, again.tempo, again.time) == ("F", 96.0, "3/4")


def test_export_mxl_round_trip(tmp_path: Path) -> None:
    path = write_musicxml(_unarranged_song(), tmp_path / "plain.mxl")
    assert zipfile.is_zipfile(path)
    assert read_musicxml(path).chords == _unarranged_song().chords


# --------------------------------------------------------------------------- OpenEWLD


def test_closer_walk_words_are_whole(data_root: Path) -> None:
    song = read_musicxml(data_root / CLOSER_WALK)
    words = {w for ln in song.lyric_lines for w in _lyric_words(ln)}
    for word in ("Jesus", "wrong", "satisfied", "long", "closer", "walking"):
        assert word in words
    assert not {"Je", "sus", "wro", "ng", "fied"} & words
    assert song.title == "Just a Closer Walk With Thee"
    assert song.artist == "Traditional" and song.meta["composer"] == "Traditional"
    assert song.meta["discogs_genre"] and song.genre is None
    assert (song.key, song.time) == ("Bb", "4/4")
    assert all(len(ln.text) <= 60 for ln in song.lyric_lines)


def _syllable_starts(line: Line) -> set[int]:
    starts, ptr = {0}, 0
    for n in line.notes:
        if n.syllable:
            at = line.text.find(n.syllable, ptr)
            if at >= 0:
                starts.add(at)
                ptr = at + len(n.syllable)
    return starts


@pytest.mark.parametrize("rel", [CLOSER_WALK, SWEET_SIXTEEN, IN_THE_GARDEN])
def test_chords_land_on_word_or_syllable_starts(data_root: Path, rel: str) -> None:
    song = read_musicxml(data_root / rel)
    verse1 = song.sections[0]
    assert song.chords
    for line in verse1.lines:
        starts = _syllable_starts(line) | {m.start() for m in re.finditer(r"\S+", line.text)}
        for ca in line.chords:
            assert ca.position in starts, (line.text, ca.position)


def test_verses_become_sections(data_root: Path) -> None:
    song = read_musicxml(data_root / SWEET_SIXTEEN)
    assert [s.name for s in song.sections][:2] == ["verse 1", "verse 2"]
    assert all(ln.notes for ln in song.sections[0].lyric_lines)
    starts = [n.start for ln in song.sections[0].lines for n in ln.notes]
    assert starts == sorted(starts)


def test_export_openewld_song_keeps_chords_and_words(data_root: Path, tmp_path: Path) -> None:
    music21 = pytest.importorskip("music21")
    song = read_musicxml(data_root / CLOSER_WALK)
    path = write_musicxml(song, tmp_path / "closer.musicxml")
    score = music21.converter.parse(str(path))
    symbols = list(score.recurse().getElementsByClass(music21.harmony.ChordSymbol))
    assert len(symbols) == len(song.chords)
    assert [cs.root().name for cs in symbols[:3]] == ["B-", "B-", "C"]
    words, cur = [], ""
    for n in score.recurse().notes:
        for ly in n.lyrics[:1]:
            cur += ly.text
            if ly.syllabic in ("single", "end"):
                words.append(cur.strip(".,;:!?"))
                cur = ""
    for word in ("Jesus", "wrong", "satisfied", "long"):
        assert word in words
    again = read_musicxml(path)
    assert again.chords == song.chords
    assert [ln.text for ln in again.lines] == [ln.text for ln in song.lines]


def test_sample_of_openewld_imports(data_root: Path) -> None:
    files = sorted((data_root / "openewld" / "dataset").rglob("*.mxl"))[::50]
    assert len(files) >= 10
    songs = [read_musicxml(f) for f in files]
    with_both = [s for s in songs if s.lyric_lines and s.chords]
    assert len(with_both) >= 8
    for s in songs:
        assert s.title and s.time and s.key
        if s.lyric_lines:
            assert s.sections[0].lines[0].notes


def test_all_openewld_import(data_root: Path) -> None:
    songs, report = scan_openewld(data_root)
    assert report["total"] == 502 and len(songs) == report["imported"]
    assert report["imported"] + len(report["skipped"]) == report["total"]
    assert report["with_lyrics_and_chords"] >= 460
    assert len(report["without_lyrics"]) == report["imported"] - report["with_lyrics_and_chords"] - sum(
        1 for s in songs if s.lyric_lines and not s.chords)


def test_arranged_song_keeps_every_syllable(tmp_path):
    """Arranged syllables carry a trailing hyphen ("Ked-"); the lead sheet must keep them."""
    import music21

    from songwright.chords import parse_chord
    from songwright.model import ChordAt, Line, Section, Song
    from songwright.stages.arrange import BasicArranger

    line = Line("Keddy rather wait for summer", (ChordAt(parse_chord("C"), 0),))
    song = BasicArranger()(Song(title="t", key="C", sections=(Section("verse", (line,)),)))
    path = write_musicxml(song, tmp_path / "s.musicxml")
    lyrics = [(ly.text, ly.syllabic) for n in music21.converter.parse(str(path)).recurse().notes
              for ly in n.lyrics]
    sung = [n.syllable for n in song.sections[0].lines[0].notes if n.syllable]
    assert len(lyrics) == len(sung)
    words, word = [], ""
    for text, syllabic in lyrics:
        word += text
        if syllabic in ("single", "end"):
            words.append(word)
            word = ""
    assert words == ["Keddy", "rather", "wait", "for", "summer"]
