"""Chord parsing: pitch classes, dialects, round trips, and every spelling in the corpora."""

from __future__ import annotations

import ast
import csv
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from songwright.chords import (
    Chord,
    from_musicxml_kind,
    is_importer_token,
    parse_chord,
    pitch_class,
)
from songwright.errors import ChordError

ROUND_TRIP_STYLES = (("standard", "auto"), ("ireal", "auto"), ("harte", "auto"),
                     ("music21", "music21"))


def pcs(*names: str) -> frozenset[int]:
    return frozenset(pitch_class(n) for n in names)


@pytest.mark.parametrize(("symbol", "expected", "bass"), [
    ("F#m7b5", pcs("F#", "A", "C", "E"), "F#"),
    ("Bb/D", pcs("Bb", "D", "F"), "D"),
    ("E5", pcs("E", "B"), "E"),
    ("Dsus4", pcs("D", "G", "A"), "D"),
    ("Cadd9", pcs("C", "D", "E", "G"), "C"),
    ("A:min7/5", pcs("A", "C", "E", "G"), "E"),
    ("E-7", pcs("E", "G", "B", "D"), "E"),  # iReal minor seventh
    ("Bb^7", pcs("Bb", "D", "F", "A"), "Bb"),
    ("Ah7", pcs("A", "C", "Eb", "G"), "A"),
    ("Go7", pcs("G", "Bb", "Db", "E"), "G"),
    ("C7alt", pcs("C", "E", "Bb", "Db", "Eb", "Ab"), "C"),
    ("D7#9", pcs("D", "F#", "A", "C", "F"), "D"),
    ("C13", pcs("C", "E", "G", "Bb", "D", "A"), "C"),  # lead-sheet 13th: no 11th
    ("C:13", pcs("C", "E", "G", "Bb", "D", "F", "A"), "C"),  # Harte 13th keeps it
    ("C2", pcs("C", "D", "G"), "C"),  # iReal "2" is sus2
    ("A7_sus4", pcs("A", "D", "E", "G"), "A"),  # chord-template separator
    ("DMin", pcs("D", "F", "A"), "D"),
    ("Csmaj7", pcs("C#", "F", "G#", "C"), "C#"),  # Chordonomicon, needs its dialect below
])
def test_pitch_classes(symbol: str, expected: frozenset[int], bass: str) -> None:
    dialect = "chordonomicon" if symbol == "Csmaj7" else "auto"
    chord = parse_chord(symbol, dialect=dialect)
    assert chord.pitch_classes == expected
    assert chord.bass_pc == pitch_class(bass)


def test_equal_spellings_and_names() -> None:
    assert parse_chord("Cm7b5") == parse_chord("Cø7") == parse_chord("Ch7") == parse_chord("C:hdim7")
    assert parse_chord("F#m7b5").format("harte") == "F#:hdim7"
    assert parse_chord("Bb^7").format("standard") == "Bbmaj7"
    assert parse_chord("Bbmaj7").format("ireal") == "Bb^7"
    assert parse_chord("A:min7/5").format("standard") == "Am7/E"
    assert str(parse_chord("Am7")) == "Am7"
    assert parse_chord("N.C.").is_no_chord and parse_chord("N", dialect="harte").root is None


def test_music21_dialect_reads_minus_as_flat() -> None:
    assert parse_chord("B-7", dialect="music21") == parse_chord("Bb7")
    assert parse_chord("E-", dialect="music21") == parse_chord("Eb")
    assert parse_chord("E-") == parse_chord("Em")  # iReal: "-" is minor
    assert parse_chord("Bb7").format("music21") == "B-7"


@pytest.mark.parametrize("symbol", ["H7", "Cxyz", "C/", "", "C/X", "C(b9", "Q"])
def test_bad_symbol_names_symbol_and_place(symbol: str) -> None:
    with pytest.raises(ChordError) as info:
        parse_chord(symbol, where="song.cho:12")
    assert repr(symbol) in str(info.value) and "song.cho:12" in str(info.value)
    assert info.value.symbol == symbol and info.value.where == "song.cho:12"


def test_importer_tokens_are_not_chords() -> None:
    for tok in ("%", "%2", "p", "W/G#", "A#W/G#", "(3/4)", "&pause", "*"):
        assert is_importer_token(tok)
    for sym in ("C", "A-7", "N", "G:maj", "Bb/D"):
        assert not is_importer_token(sym)


def test_musicxml_kinds() -> None:
    assert from_musicxml_kind("B-", "dominant") == parse_chord("Bb7")
    assert from_musicxml_kind("C", "major", degrees=[("add", 9, 0)]) == parse_chord("Cadd9")
    assert from_musicxml_kind("D", "minor-seventh", bass="C") == parse_chord("Dm7/C")
    assert from_musicxml_kind("C", "none").is_no_chord
    with pytest.raises(ChordError):
        from_musicxml_kind("C", "hyper-major")


# --------------------------------------------------------------------------- properties

ROOTS = [letter + acc for letter in "ABCDEFG" for acc in ("", "#", "b")]
SUFFIXES = ["", "m", "-", "7", "maj7", "^7", "m7", "-7", "h7", "m7b5", "o7", "dim", "aug", "+",
            "sus4", "sus2", "sus", "7sus4", "6", "m6", "69", "-69", "9", "m9", "^9", "11", "m11",
            "13", "-13", "^13", "5", "add9", "madd9", "m(maj7)", "-^7", "7alt", "dim7", "aug7",
            "M7", "mi7", "ø7", "7#5", "^7#5", "9sus4", "1"]
ALTERATIONS = ["", "b9", "#9", "#11", "b13", "b5", "#5", "(no3)", "(b9,#11)", "add11"]


@st.composite
def chords(draw: st.DrawFn) -> Chord:
    symbol = draw(st.sampled_from(ROOTS)) + draw(st.sampled_from(SUFFIXES))
    alteration = draw(st.sampled_from(ALTERATIONS))
    # "C" + "b9" reads as a C-flat root: bracket alterations after an empty suffix.
    if alteration and symbol[-1] in "#b" + "ABCDEFG" and alteration[0] in "b#":
        alteration = f"({alteration})"
    symbol += alteration
    if draw(st.booleans()):
        symbol += "/" + draw(st.sampled_from(ROOTS))
    return parse_chord(symbol)


@st.composite
def interval_chords(draw: st.DrawFn) -> Chord:
    ivs = draw(st.sets(st.integers(1, 11), max_size=7))
    bass = draw(st.none() | st.integers(0, 11))
    return Chord.from_intervals(draw(st.integers(0, 11)), ivs, bass=bass)


@settings(max_examples=300, deadline=None)
@given(chords() | interval_chords())
def test_format_then_parse_is_identity(chord: Chord) -> None:
    for style, dialect in ROUND_TRIP_STYLES:
        assert parse_chord(chord.format(style), dialect=dialect) == chord, chord.format(style)


@settings(max_examples=200, deadline=None)
@given(chords() | interval_chords(), st.integers(-11, 11))
def test_transpose_there_and_back(chord: Chord, k: int) -> None:
    moved = chord.transpose(k)
    assert moved.transpose(-k) == chord
    assert {(p - k) % 12 for p in moved.pitch_classes} == set(chord.pitch_classes)


def test_every_interval_set_round_trips() -> None:
    """All 2048 interval sets over a root, with and without a bass, in every style."""
    for mask in range(1 << 11):
        ivs = {i + 1 for i in range(11) if mask >> i & 1}
        for bass in (None, 4):
            chord = Chord.from_intervals(0, ivs, bass=bass)
            assert chord.intervals == frozenset(ivs | {0})
            for style, dialect in ROUND_TRIP_STYLES:
                assert parse_chord(chord.format(style), dialect=dialect) == chord


# --------------------------------------------------------------------------- corpora

CHO_CHORD = re.compile(r"\[([^\]]+)\]")


def corpus_spellings(root: Path) -> dict[str, Counter[str]]:
    """Distinct chord spellings (with counts) of every shared corpus, markup included."""
    found: dict[str, Counter[str]] = {k: Counter() for k in
                                      ("songbook", "ireal", "billboard", "openewld", "templates")}
    for path in sorted((root / "songbook").glob("*/*.cho")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.startswith("{"):
                found["songbook"].update(CHO_CHORD.findall(line))
    with open(root / "ireal" / "ireal_progressions.jsonl", encoding="utf-8") as fh:
        for line in fh:
            for sec in json.loads(line)["sections"]:
                for bar in sec["bars"]:
                    found["ireal"].update(bar)
    with open(root / "billboard" / "billboard_progressions.jsonl", encoding="utf-8") as fh:
        for line in fh:
            for sec in json.loads(line)["sections"]:
                found["billboard"].update(sec["chords"])
    with open(root / "openewld" / "openewld_chordpro.jsonl", encoding="utf-8") as fh:
        for line in fh:
            for bar in json.loads(line)["measure_chords"]:
                found["openewld"].update(bar)
    with open(root / "chord_templates" / "Chord-Progressions.csv", encoding="utf-8") as fh:
        for row in csv.reader(fh):
            found["templates"].update(row[3].split("-"))
    return found


@pytest.fixture(scope="module")
def spellings(data_root: Path) -> dict[str, Counter[str]]:
    return corpus_spellings(data_root)


def test_every_corpus_spelling_parses_and_round_trips(spellings: dict[str, Counter[str]]) -> None:
    for corpus, counts in spellings.items():
        for symbol in counts:
            if is_importer_token(symbol):
                continue
            chord = parse_chord(symbol, where=corpus)
            for style, dialect in ROUND_TRIP_STYLES:
                assert parse_chord(chord.format(style), dialect=dialect) == chord, (corpus, symbol)
    # The only markup is iReal repeats/invisible roots and Billboard metre/pause marks.
    assert spellings["ireal"]["%"] > 10_000
    assert not any(is_importer_token(s) for s in spellings["songbook"])


def _mir_eval_pcs(symbol: str) -> tuple[set[int], int | None]:
    import mir_eval.chord as mc

    root, bitmap, bass = mc.encode(symbol, reduce_extended_chords=True)
    if root < 0:
        return set(), None
    notes = {(root + i) % 12 for i in np.nonzero(bitmap)[0]} | {(root + bass) % 12}
    return notes, (root + bass) % 12


def test_harte_agrees_with_mir_eval(spellings: dict[str, Counter[str]]) -> None:
    """Every Billboard symbol, and the Harte text of every corpus chord, as mir_eval reads it."""
    checked = 0
    for corpus, counts in spellings.items():
        for symbol in counts:
            if is_importer_token(symbol):
                continue
            chord = parse_chord(symbol)
            texts = [chord.format("harte")] + ([symbol] if corpus == "billboard" else [])
            for text in texts:
                notes, bass = _mir_eval_pcs(text)
                assert notes == set(chord.pitch_classes), (symbol, text)
                assert bass == chord.bass_pc, (symbol, text)
                checked += 1
    assert checked > 3000


def test_chordonomicon_dialect_agrees_with_degrees(data_root: Path) -> None:
    """Agreement with chords_mapping.csv's pitch-class vectors (docs/chords.md).

    Every row agrees except the 288 "7sus"/"maj7sus" rows, where the table keeps the third
    (C7sus4 = C E F G Bb) and we follow lead sheets and the dataset's MIREX mapping.
    """
    path = data_root / "chordonomicon_meta" / "chords_mapping.csv"
    with open(path, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    agree, disagree = 0, []
    for row in rows:
        truth = {i for i, v in enumerate(ast.literal_eval(row["Degrees"])) if v}
        chord = parse_chord(row["Chords"], dialect="chordonomicon")
        if set(chord.pitch_classes) == truth:
            agree += 1
        else:
            disagree.append(row["Chords"])
    assert len(rows) == 2793 and agree / len(rows) >= 0.89
    assert all(re.search(r"7sus[24]$", name) for name in disagree)


def test_musicxml_degrees_act_on_the_chords_own_tones():
    from songwright.chords import from_musicxml_kind

    assert from_musicxml_kind("C", "minor", None, [("subtract", 3, 0)]).intervals == {0, 7}
    assert from_musicxml_kind("C", "major-seventh", None, [("subtract", 7, 0)]).intervals == {
        0, 4, 7}
    assert from_musicxml_kind("C", "major-seventh", None, [("alter", 7, -1)]).intervals == {
        0, 4, 7, 10}
    assert from_musicxml_kind("C", "dominant", None, [("alter", 5, -1)]).intervals == {0, 4, 6, 10}
