"""Chord vocabularies: folding levels, rare-chord folding, JSON round trip, corpus report."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from songwright.chords import parse_chord
from songwright.keys import RelChord, parse_key, to_relative
from songwright.vocab import SPECIALS, ChordVocab, fold, vocabulary_report


def rel(symbol: str, key: str = "C") -> RelChord:
    return to_relative(parse_chord(symbol), parse_key(key))


@pytest.mark.parametrize(("symbol", "sevenths", "triads"), [
    ("G7b9/B", "7:7", "7:maj"), ("Dm9", "2:min7", "2:min"), ("Bm7b5", "11:hdim7", "11:dim"),
    ("Bdim7", "11:dim7", "11:dim"), ("C6/9", "0:maj", "0:maj"), ("Am6", "9:min", "9:min"),
    ("Cmaj13#11", "0:maj7", "0:maj"), ("E7#5", "4:aug7", "4:aug"), ("D7#9", "2:7", "2:maj"),
    ("G9sus4", "7:7sus4", "7:sus4"), ("F5", "5:5", "5:5"), ("Dsus2", "2:sus2", "2:sus2"),
    ("Cm(maj7)", "0:minmaj7", "0:min"), ("C7alt", "0:aug7", "0:aug"),
])
def test_fold_levels(symbol: str, sevenths: str, triads: str) -> None:
    r = rel(symbol)
    assert fold(r, "full") == r
    assert fold(r, "sevenths").token == sevenths
    assert fold(r, "triads").token == triads
    assert fold(RelChord(None), "triads").token == "N"
    with pytest.raises(ValueError):
        fold(r, "ninths")


def test_build_folds_rare_chords() -> None:
    data = [rel("C")] * 5 + [rel("G7")] * 4 + [rel("G7b9")] + [rel("Am7")] * 3 \
        + [rel("Am9")] + [rel("Em7b5")] + [rel("N.C.")] * 2
    vocab = ChordVocab.build(data, min_count=3)
    assert vocab.tokens[: len(SPECIALS)] == list(SPECIALS)
    chord_tokens = vocab.tokens[len(SPECIALS):]
    # Frequent chords stay exact; G7b9 and Am9 fold into kept families; Em7b5 is alone in
    # its sevenths family, so it falls to its triad, which is always kept.
    assert chord_tokens == ["0:maj", "7:7", "9:min7", "4:dim"]
    assert vocab.encode(rel("G7b9")) == vocab.tokens.index("7:7")
    assert vocab.encode(rel("Am11")) == vocab.tokens.index("9:min7")
    assert vocab.encode(rel("C")) == vocab.tokens.index("0:maj")
    assert vocab.encode(rel("N.C.")) == SPECIALS.index("N")
    assert vocab.encode(rel("F#aug")) == vocab.unk_id
    assert vocab.decode(vocab.encode(rel("G7"))) == rel("G7")
    assert vocab.decode(SPECIALS.index("N")).degree is None
    with pytest.raises(ValueError):
        vocab.decode(vocab.pad_id)
    assert vocab.encode_chords([parse_chord("D7")], parse_key("G")) == [vocab.tokens.index("7:7")]


def test_build_at_coarser_level() -> None:
    data = [rel("G7"), rel("G9"), rel("G7b9"), rel("C"), rel("Cmaj7")]
    assert ChordVocab.build(data, min_count=1, level="sevenths").tokens[5:] == \
        ["7:7", "0:maj", "0:maj7"]
    triads = ChordVocab.build(data, min_count=1, level="triads")
    assert triads.tokens[5:] == ["7:maj", "0:maj"]
    assert triads.encode(rel("G13")) == triads.tokens.index("7:maj")


def test_json_round_trip(tmp_path: Path) -> None:
    data = [rel(c, "A") for c in ["A", "E", "F#m", "D", "E7", "A/C#", "Bm7", "E7sus4", "A"]]
    vocab = ChordVocab.build(data, min_count=2)
    path = vocab.save(tmp_path / "vocab.json")
    again = ChordVocab.load(path)
    assert again == vocab and again.counts == vocab.counts and len(again) == len(vocab)
    assert again != ChordVocab.build(data, min_count=1)


def test_vocabulary_report_on_a_fixture() -> None:
    songs = {"a": [("C", ["C", "Am", "F", "G7", "%"]), ("G", ["G", "Em", "C", "D7"])],
             "b": [(None, ["Bb", "Gm", "Eb", "F7", "Bb"])]}
    rep = vocabulary_report(songs, min_count=2)
    assert rep["a"]["raw_spellings"] == 7 and rep["a"]["chords"] == 8
    assert rep["a"]["relative_full"] == 4  # I, vi, IV, V7 in both keys
    assert rep["b"]["relative_full"] == 4
    assert rep["overall"]["songs"] == 3 and rep["overall"]["relative_triads"] == 4
    assert rep["overall"]["vocab_min2"] == 4


def test_songbook_vocabulary(data_root: Path) -> None:
    """The numbers quoted in docs/chords.md for the songbook."""
    songs = []
    for path in sorted((data_root / "songbook").glob("*/*.cho")):
        text = path.read_text(encoding="utf-8")
        key = re.search(r"\{key:\s*([^}]+)\}", text).group(1)
        songs.append((key, [c for line in text.splitlines() if not line.startswith("{")
                            for c in re.findall(r"\[([^\]]+)\]", line)]))
    rep = vocabulary_report({"songbook": songs}, min_count=5)["songbook"]
    assert rep["songs"] == 750
    assert (rep["raw_spellings"], rep["canonical_chords"], rep["relative_full"]) == (152, 133, 77)
    assert (rep["relative_sevenths"], rep["relative_triads"], rep["vocab_min5"]) == (55, 35, 73)
