from __future__ import annotations

from songwright.chords import parse_chord
from songwright.model import ChordAt, Line, Section, Song
from songwright.render.text import lead_sheet, line_with_chords_above


def test_chords_sit_above_their_words_and_never_overlap():
    line = Line("Down by the river", (ChordAt(parse_chord("G"), 0), ChordAt(parse_chord("Cmaj7"), 5),
                                      ChordAt(parse_chord("D7sus4"), 8)))
    chords, text = line_with_chords_above(line)
    assert text == "Down by the river"
    assert chords.index("G") == 0 and chords.index("Cmaj7") == 5
    # D7sus4 wanted column 8, inside "Cmaj7": it moves right, one space after it.
    assert chords.index("D7sus4") == len("G    Cmaj7 ")


def test_lead_sheet_header_and_sections():
    song = Song(title="T", artist="A", key="G", tempo=96, time="3/4", genre="country",
                genre_probs={"country": 0.1, "rock": 0.9},
                sections=(Section("verse", (Line("la la", (ChordAt(parse_chord("G"), 0),)),),
                                  "Verse 1", 1),
                          Section("chorus", (Line("oh", (ChordAt(parse_chord("D"), 0),)),),
                                  env="chorus")))
    text = lead_sheet(song)
    assert text.splitlines()[:2] == ["T - A",
                                     "genre country (lyrics read as rock, 90%), key G, 96 BPM, 3/4"]
    assert "[Verse 1]\nG\nla la" in text and "[Chorus]\nD\noh" in text
