from __future__ import annotations

import pytest

from songwright.errors import FormatError
from songwright.formats.chordpro import parse_chordpro, read_chordpro, write_chordpro
from songwright.model import Song

SONG = """\
{title: Test Song}
{artist: The Testers}
{key: G}
{tempo: 96}
{time: 3/4}
{meta: genre country}
{meta: subgenres bluegrass, gospel}
{meta: era 1940s}
{meta: verse_prompt a porch at dusk}

{start_of_verse: Verse 1}
[G]Down by the [C]river the [G]water runs [D7]
{comment: slowly}
[Em]cold and clear[D/F#]
{end_of_verse}

{start_of_chorus}
[C]Sing it [G]now
{end_of_chorus}
"""


def _norm(text: str) -> str:
    return "\n".join(ln.rstrip() for ln in text.strip().splitlines() if ln.strip())


def test_parse_fields_sections_and_chord_offsets():
    song = parse_chordpro(SONG, "t.cho")
    assert (song.title, song.artist, song.key, song.tempo, song.time) == (
        "Test Song", "The Testers", "G", 96.0, "3/4")
    assert song.genre == "country" and song.subgenres == ("bluegrass", "gospel")
    assert song.era == "1940s" and song.meta["verse_prompt"] == "a porch at dusk"
    verse, chorus = song.sections
    assert (verse.kind, verse.label, verse.number, verse.env) == ("verse", "Verse 1", 1, "verse")
    assert chorus.kind == "chorus" and chorus.label is None
    line = verse.lines[0]
    assert line.text == "Down by the river the water runs "
    assert [(c.chord.format(), c.position) for c in line.chords] == [
        ("G", 0), ("C", 12), ("G", 22), ("D7", len(line.text))]  # chord at the end of a line
    assert verse.lines[1].kind == "comment" and verse.lines[1].text == "slowly"
    assert verse.lines[2].chords[-1].chord.bass == 6  # D/F#


def test_round_trip_text_and_json():
    song = parse_chordpro(SONG)
    assert _norm(write_chordpro(song)) == _norm(SONG)
    assert Song.from_json(song.to_json()) == song
    assert parse_chordpro(write_chordpro(song)) == song


def test_every_songbook_file_round_trips(data_root):
    files = sorted((data_root / "songbook").glob("*/*.cho"))
    assert len(files) == 750
    per_genre: dict[str, int] = {}
    for f in files:
        song = read_chordpro(f)
        per_genre[song.genre] = per_genre.get(song.genre, 0) + 1
        assert _norm(write_chordpro(song)) == _norm(f.read_text()), f
        assert Song.from_json(song.to_json()) == song, f
    assert per_genre == {g: 150 for g in ("country", "metal", "pop", "rap", "rock")}


@pytest.mark.parametrize("text, fragment, line", [
    ("{title: x}\n{start_of_verse}\nla [G la\n{end_of_verse}\n", "unbalanced '['", 3),
    ("{title: x}\nla G] la\n", "unbalanced ']'", 2),
    ("{title: x}\n{start_of_verse}\nla\n{start_of_chorus}\n", "still open", 4),
    ("{title: x}\n{end_of_chorus}\n", "without a matching start", 2),
    ("{title: x}\n{start_of_verse}\n[Hm7]la\n{end_of_verse}\n", "Hm7", 3),
    ("{title: x}\n{start_of_verse\n", "malformed directive", 2),
])
def test_malformed_input_names_file_and_line(tmp_path, text, fragment, line):
    p = tmp_path / "bad.cho"
    p.write_text(text)
    with pytest.raises(FormatError) as info:
        read_chordpro(p)
    assert fragment in str(info.value)
    assert f"{p}:{line}:" in str(info.value)


def test_binary_junk_and_huge_line(tmp_path):
    junk = tmp_path / "junk.cho"
    junk.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(FormatError, match="binary"):
        read_chordpro(junk)
    huge = tmp_path / "huge.cho"
    huge.write_text("{title: x}\n" + "la " * 3_500_000 + "\n")  # a 10 MB line
    with pytest.raises(FormatError, match=r"huge.cho:2: line is 10,500,000 characters"):
        read_chordpro(huge)
    latin = tmp_path / "latin.cho"
    latin.write_bytes("{title: caf\xe9}\n".encode("latin-1"))
    with pytest.raises(FormatError, match="not UTF-8"):
        read_chordpro(latin)


def test_lenient_where_chordpro_is(tmp_path, caplog):
    # An unknown directive is kept; a section left open at the end is closed; short forms work.
    text = "{t: x}\n{capo: 2}\n{foo: bar}\n{soc}\n[Am]la la\n"
    song = parse_chordpro(text)
    assert song.title == "x" and song.meta == {"capo": "2", "foo": "bar"}
    assert song.sections[0].kind == "chorus" and song.sections[0].lines[0].chords[0].chord.is_minor
    # Lines outside any environment form their own sections, split at blank lines.
    loose = parse_chordpro("{title: y}\n[C]one\ntwo\n\n[G]three\n")
    assert [len(s.lines) for s in loose.sections] == [2, 1]
    assert all(s.env is None for s in loose.sections)
    assert _norm(write_chordpro(loose)) == _norm("{title: y}\n[C]one\ntwo\n\n[G]three\n")


def test_empty_meta_values_are_not_written():
    song = parse_chordpro(SONG).replace(meta={"verse_prompt": "x", "instructions": "  "})
    text = write_chordpro(song)
    assert "{meta: verse_prompt x}" in text and "instructions" not in text
