"""Chord-corpus (Billboard, iReal) and user CSV (Chordonomicon, Kaggle, Genius, MetroLyrics)
importers: counts on the shared corpora, hand-checked songs, and malformed input."""

from __future__ import annotations

import csv
import json
import urllib.parse
from pathlib import Path

import pytest

from songwright.chords import parse_chord
from songwright.errors import FormatError
from songwright.formats import billboard, ireal, tabular
from songwright.formats.report import ImportReport
from songwright.model import Song

# --------------------------------------------------------------------------- corpora


@pytest.fixture(scope="module")
def billboard_scan(data_root):
    return billboard.scan_billboard(data_root / "billboard")


@pytest.fixture(scope="module")
def ireal_scan(data_root):
    return ireal.scan_ireal(data_root / "ireal")


def test_billboard_all_slots_import_with_chords_and_sections(billboard_scan):
    songs, report = billboard_scan
    assert report["total"] == 890
    assert report["imported"] == len(songs) == 890, report["skipped"][:5]
    assert report["unparsed_chords"]["count"] == 0
    for s in songs:
        assert s.sections and any(c.root is not None for c in s.chords), s.title
        assert s.meta["source"] == "billboard"
    genres = {s.genre for s in songs}
    assert genres <= {None, "rock", "pop", "country", "rap", "metal"}
    assert sum(s.genre == "rock" for s in songs) == 258  # genre5 joined from the JSONL


def test_billboard_hand_checked(billboard_scan):
    songs, _ = billboard_scan
    by_id = {s.meta["id"]: s for s in songs}
    s = by_id["billboard/0003"]  # James Brown, I Don't Mind: | A:min | A:min | C:maj | C:maj |
    assert (s.title, s.artist, s.time, s.genre, s.era) == (
        "I Don't mind", "James Brown", "6/8", "pop", "1960s")
    assert s.sections[0].kind == "intro" and s.sections[1].kind == "verse"
    first = s.sections[0].lines[0]
    assert [c.chord.format("harte") for c in first.chords] == ["A:min", "A:min", "C:maj", "C:maj"]
    assert [c.position for c in first.chords] == [0, 4, 8, 12] and first.text == " " * 16
    crazy = by_id["billboard/0033"]  # Heart, Crazy On You: tonic A, minor; "| * | x15" intro
    assert crazy.key == "Am"
    assert len(crazy.sections[0].lines[0].chords) == 4  # 15 repeated bars packed 4 a line
    assert crazy.sections[2].kind == "verse"
    # "x2" repeats expand: the verse holds 8 bars in two lines.
    assert [len(ln.chords) for ln in crazy.sections[2].lines] == [4, 4]
    # "| F:maj . . G:maj |": G on the 4th beat of the bar.
    chorus = next(sec for sec in crazy.sections if sec.kind == "chorus")
    assert [(str(c.chord), c.position) for c in chorus.lines[0].chords][1:3] == [
        ("F:maj", 4), ("G:maj", 7)]
    assert Song.from_json(crazy.to_json()) == crazy


def test_ireal_charts_import(ireal_scan):
    songs, report = ireal_scan
    assert report["total"] == 2400
    assert report["imported"] >= 2390, report["skipped"][:5]
    assert all(s.sections and any(c.root is not None for c in s.chords) for s in songs)
    assert report["unparsed_chords"]["count"] <= 10


def test_ireal_hand_checked(ireal_scan):
    songs, _ = ireal_scan
    by_title = {s.title: s for s in songs}
    s = by_title["All Your Love"]
    assert (s.artist, s.key, s.time, s.tempo) == ("Rush Otis", "Em", "4/4", 80.0)
    assert s.meta["style"] == "Slow Blues" and s.genre is None
    assert [str(c) for c in s.chords[:6]] == ["E-", "E-", "E-", "E-", "A-", "A-"]
    assert [sec.label for sec in s.sections] == ["A", "B"]
    u = by_title["Across the Universe"]
    assert (u.key, u.sections[0].kind, u.meta["style"]) == ("D", "intro", "Rock Pop")
    assert [str(c) for c in u.sections[1].lines[0].chord_list[:3]] == ["D", "B-", "F#-"]
    assert by_title["ABC"].tempo == 93.0


def test_ireal_decoder_agrees_with_jsonl(data_root):
    folder = data_root / "ireal"
    charts = {}
    for path in sorted(folder.glob("*.txt")):
        for c in ireal.decode_irealb(path.read_text(encoding="utf-8"), str(path), "report"):
            charts.setdefault((path.name, c["title"]), c)
    refs = [json.loads(x) for x in (folder / "ireal_progressions.jsonl").read_text().splitlines()]
    agree = sum(ireal.chords_agree(r["chords"], charts[(r["source_file"], r["title"])]
                                   .get("chord_tokens", [])) for r in refs)
    assert agree >= 0.95 * len(refs), agree


def test_jsonl_readers(data_root):
    songs, report = billboard.read_billboard_jsonl(
        data_root / "billboard" / "billboard_progressions.jsonl")
    assert report["imported"] == 890 and report["unparsed_chords"]["count"] == 0
    songs, report = ireal.read_ireal_jsonl(data_root / "ireal" / "ireal_progressions.jsonl")
    # Two charts are repeat signs only in the JSONL: skipped with a reason, never silently.
    assert report["imported"] + len(report["skipped"]) == report["total"] == 2400
    assert report["imported"] >= 2390


# --------------------------------------------------------------------------- iReal, no corpora


def _irealb(*songs: str, playlist: str = "Test") -> str:
    """Scramble songs the way iReal Pro does (the scrambling is its own inverse)."""
    parts = []
    for title, music in songs:
        body, scrambled = music, ""
        while len(body) > 51:
            scrambled += ireal._swap50(body[:50])
            body = body[50:]
        parts.append(f"{title}=Composer X==Pop=C-==1r34LbKcu7{scrambled + body}=Pop-Rock=120=1")
    return "irealb://" + urllib.parse.quote("===".join(parts) + "===" + playlist)


def test_decode_irealb_features():
    music = ("{*AT34C-7 F7 |W/Eb |x |Bb^7(A7) |N1n |pp G7 }|N2G7sus Z" + " " * 60
             + "[*BA-7 |   r|    |D7 Z")
    c = ireal.decode_irealb(_irealb(("Made Up", music)))[0]
    assert (c["title"], c["key"], c["time"], c["tempo"], c["playlist"]) == (
        "Made Up", "C-", "3/4", 120, "Test")
    assert c["sections"][0]["bars"] == [["C-7", "F7"], ["F7/Eb"], ["%"], ["Bb^7"], ["n"],
                                        ["p", "p", "G7"], ["G7sus"]]
    assert "A7" not in c["chords"]  # the alternate chord in brackets is dropped
    song = ireal.song_from_chart(c)
    assert (song.key, song.time, song.tempo) == ("Cm", "3/4", 120.0)
    assert [sec.label for sec in song.sections] == ["A", "B"]
    a_line = song.sections[0].lines[1]  # bars 5-7: N.C., "pp G7", G7sus
    assert [(str(x.chord), x.position) for x in a_line.chords] == [
        ("N.C.", 0), ("N.C.", 4), ("G7", 6), ("G7sus", 8)]
    # "r" repeats the two bars before it (here the one bar, twice).
    assert [str(x) for ln in song.sections[1].lines for x in ln.chord_list] == [
        "A-7", "A-7", "A-7", "D7"]
    assert Song.from_json(song.to_json()) == song


def test_decode_irealb_malformed():
    good = _irealb(("One", "[T44C |G Z"))
    with pytest.raises(FormatError, match="irealb"):
        ireal.decode_irealb("\x00\x01\xff junk", "junk.txt")
    with pytest.raises(FormatError, match="truncated"):
        ireal.decode_irealb(good[: len(good) // 2 + 20], "cut.txt")
    charts = ireal.decode_irealb(good[:-30], "cut.txt", errors="report")
    assert "error" in charts[-1]


def test_read_ireal_playlist_errors(tmp_path):
    p = tmp_path / "bin.txt"
    p.write_bytes(b"\xff\xfe\x00binary junk\x80")
    with pytest.raises(FormatError, match="bin.txt"):
        ireal.read_ireal_playlist(p)
    q = tmp_path / "ok.txt"
    q.write_text(_irealb(("One", "[T44C |G Z"), ("Two", "[T44D- |A7 Z")))
    assert [s.title for s in ireal.read_ireal_playlist(q)] == ["One", "Two"]
    songs, report = ireal.scan_ireal(tmp_path)
    assert report["total"] == 3 and report["imported"] == 2 and len(report["skipped"]) == 1


def test_salami_malformed(tmp_path):
    folder = tmp_path / "0001"
    folder.mkdir()
    p = folder / "salami_chords.txt"
    p.write_text("# title: T\n# artist: A\n# metre: 4/4\n# tonic: C\n\n"
                 "0.0\tsilence\n1.0\tA, verse, | C:maj | Q:zz | x2\nbad line here\n")
    with pytest.raises(FormatError) as e:
        billboard.read_salami(p)
    assert e.value.path == str(p) and e.value.line == 8
    p.write_text("# title: T\n# metre: 4/4\n# tonic: C\n\n0.0\tA, verse, | C:maj | Q:zz | x2\n")
    report = ImportReport("billboard")
    song = billboard.read_salami(p, report=report)
    # Counted once as written, kept as "X" in both passes of the repeat.
    assert report.unparsed["Q:zz"] == 1 and [str(c) for c in song.chords] == ["C:maj", "X"] * 2
    p.write_bytes(b"\x89PNG\x00\xff")
    with pytest.raises(FormatError, match="UTF-8"):
        billboard.read_salami(p)


# --------------------------------------------------------------------------- CSV schemas


def _csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


CHORDONOMICON = ["id", "chords", "release_date", "genres", "decade", "rock_genre", "artist_id",
                 "main_genre", "spotify_song_id", "spotify_artist_id"]


def test_chordonomicon(tmp_path):
    p = _csv(tmp_path / "c.csv", CHORDONOMICON, [
        ["1", "<intro_1> C G <verse_1> Amin F C G <pre-chorus_1> Fs/As Dno3d <chorus_1> F C",
         "2004-05-01", "['pop', 'dance pop']", "2000.0", "", "a1", "pop", "s1", "sa1"],
        ["2", "<verse_1> C Qzz7 G", "", "country rock", "1970.0", "", "a2", "country", "", ""],
        ["3", "", "", "", "", "", "a3", "rock", "", ""],
    ])
    stream = tabular.read_chordonomicon_csv(p)
    songs = list(stream)
    rep = stream.report
    assert [s.title for s in songs] == ["1", "2"]
    assert rep["total"] == 3 and rep["imported"] == 2 and len(rep["skipped"]) == 1
    assert rep["unparsed_chords"]["examples"] == {"Qzz7": 1}
    s = songs[0]
    assert [sec.kind for sec in s.sections] == ["intro", "verse", "pre-chorus", "chorus"]
    assert (s.genre, s.era, s.artist, s.subgenres) == ("pop", "2000s", "a1", ("pop", "dance pop"))
    pre = s.sections[2].lines[0].chord_list
    assert pre[0] == parse_chord("F#/A#") and pre[1].intervals == {0, 7}
    assert len(songs[1].chords) == 3 and songs[1].chords[1].root is None  # the slot is kept
    assert list(tabular.read_chordonomicon_csv(p, limit=1))[0].title == "1"


KAGGLE = ["artist_name", "song_name", "chords&lyrics", "chords", "lyrics", "genres"]


def test_kaggle_chords(tmp_path):
    text = ("[Verse 1]\nAm      F       Gzz7   G\nI walked along the river\n"
            "[C]Hello [G]world\n\n[Chorus]\nC   G\nSing it\nF  C\n")
    p = _csv(tmp_path / "k.csv", KAGGLE, [
        ["Band", "River", text, "", "", "['pop rock', 'modern rock']"],
        ["Solo", "Plain", "", "['C', 'G', 'Am']", "", "['country']"],
        ["Nobody", "Empty", "", "", "", "[]"],
    ])
    stream = tabular.read_kaggle_chords_csv(p)
    songs = list(stream)
    assert stream.report["imported"] == 2 and len(stream.report["skipped"]) == 1
    assert stream.report["unparsed_chords"]["examples"] == {"Gzz7": 1}
    s = songs[0]
    assert (s.title, s.artist, s.genre) == ("River", "Band", "rock")
    verse, chorus = s.sections
    assert (verse.kind, verse.number, chorus.kind) == ("verse", 1, "chorus")
    first = verse.lines[0]
    assert first.text == "I walked along the river"
    assert [(str(c.chord), c.position) for c in first.chords] == [("Am", 0), ("F", 8), ("G", 23)]
    assert verse.lines[1].text == "Hello world"
    assert [(str(c.chord), c.position) for c in verse.lines[1].chords] == [("C", 0), ("G", 6)]
    assert chorus.lines[-1].text.strip() == "" and len(chorus.lines[-1].chords) == 2
    assert songs[1].genre == "country" and [str(c) for c in songs[1].chords] == ["C", "G", "Am"]


def test_genius_and_metrolyrics(tmp_path):
    g = _csv(tmp_path / "g.csv", ["title", "tag", "artist", "year", "views", "features",
                                  "lyrics", "id"], [
        ["Song A", "rap", "MC", "2015", "100", "{}",
         "[Intro]\nYeah\n\n[Verse 1: MC]\nLine one\n(oh yeah)\n\n(Chorus)\nHook line", "7"],
        ["Song B", "rb", "Singer", "1999", "5", "{}", "Just words\nMore words", "8"],
        ["Song C", "pop", "X", "2001", "1", "{}", "", "9"],
    ])
    stream = tabular.read_genius_csv(g)
    songs = list(stream)
    assert [s.genre for s in songs] == ["rap", None]
    assert [sec.kind for sec in songs[0].sections] == ["intro", "verse", "chorus"]
    assert songs[0].sections[1].label == "Verse 1: MC" and songs[0].era == "2010s"
    assert songs[0].sections[1].lines[1].text == "(oh yeah)"
    assert stream.report["skipped"][0][1] == "empty lyrics"
    m = _csv(tmp_path / "m.csv", ["index", "song", "year", "artist", "genre", "lyrics"], [
        ["0", "ego-remix", "2009", "beyonce-knowles", "Pop", "Verse one\n\nVerse two"],
        ["1", "crack", "2008", "x", "Hip-Hop", "Bars"],
        ["2", "odd", "2008", "y", "Not Available", "Words"],
    ])
    songs = list(tabular.read_metrolyrics_csv(m))
    assert [s.genre for s in songs] == ["pop", "rap", None]
    assert len(songs[0].sections) == 2 and songs[0].lyrics == "Verse one\n\nVerse two"


def test_map_genre():
    assert tabular.map_genre(["pop", "dance pop", "post-teen pop"]) == "pop"
    assert tabular.map_genre("hip hop") == "rap" and tabular.map_genre("Hip-Hop") == "rap"
    assert tabular.map_genre("country rock") == "rock"
    assert tabular.map_genre(["pop", "rock"]) is None  # a tie is not clear
    assert tabular.map_genre("rb") is None and tabular.map_genre("misc") is None
    assert tabular.map_genre("Metal") == "metal"


def test_csv_malformed(tmp_path):
    p = _csv(tmp_path / "x.csv", ["title", "artist", "lyrics"], [["a", "b", "c"]])
    with pytest.raises(FormatError) as e:
        tabular.read_genius_csv(p)
    assert "tag" in str(e.value) and e.value.path == str(p) and e.value.line == 1
    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01")
    with pytest.raises(FormatError, match="junk.csv"):
        tabular.read_metrolyrics_csv(junk)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(FormatError, match="empty"):
        tabular.read_chordonomicon_csv(empty)
    with pytest.raises(FormatError, match="cannot read"):
        tabular.read_kaggle_chords_csv(tmp_path / "missing.csv")
    # A row with more cells than the header is skipped with its row number.
    wide = tmp_path / "wide.csv"
    wide.write_text("index,song,year,artist,genre,lyrics\n0,a,2000,b,Rock,words,EXTRA\n")
    stream = tabular.read_metrolyrics_csv(wide)
    assert list(stream) == [] and stream.report["skipped"][0][0].endswith("wide.csv:2")
