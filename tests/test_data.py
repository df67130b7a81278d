from __future__ import annotations

import json

import pytest

from songwright.cli import main
from songwright.data.corpus import (
    assign_split,
    build_dataset,
    corpus_stats,
    group_key,
    load_dataset_songs,
    load_songbook,
)
from songwright.model import Song


def test_split_keeps_each_artist_in_one_split():
    a1 = Song(title="one", artist="The  Band")
    a2 = Song(title="two", artist="the band")
    assert group_key(a1) == group_key(a2)
    assert assign_split(a1) == assign_split(a2)
    splits = {assign_split(Song(title="t", artist=f"artist {i}")) for i in range(200)}
    assert splits == {"train", "validation", "test"}


def test_build_dataset_from_songbook(tmp_path, data_root):
    summary = build_dataset(tmp_path / "ds", ["songbook"], data_root)
    assert sum(summary["splits"].values()) == 750
    assert summary["splits"]["train"] > 500 and summary["splits"]["test"] > 30
    songs = load_dataset_songs(tmp_path / "ds", "test")
    assert len(songs) == summary["splits"]["test"]
    from datasets import load_from_disk

    dd = load_from_disk(str(tmp_path / "ds"))
    artists = {s: set(dd[s]["artist"]) for s in dd}
    assert not artists["train"] & artists["test"] and not artists["train"] & artists["validation"]
    row = dd["test"][0]
    assert row["genre"] in {"country", "metal", "pop", "rap", "rock"} and row["rel_chords"]
    # The stored JSON rebuilds the song exactly.
    original, _ = load_songbook(data_root)
    by_id = {s.meta["id"]: s for s in original}
    assert songs[0] == by_id[songs[0].meta["id"]]


def test_stats_counts(data_root, capsys):
    songs, report = load_songbook(data_root)
    assert report.imported == 750 and not report.skipped
    stats = corpus_stats({"songbook": songs})
    sb = stats["sources"]["songbook"]
    assert sb["genre"] == {g: 150 for g in ("country", "metal", "pop", "rap", "rock")}
    assert sb["time"]["4/4"] == 634 and sb["time"]["3/4"] == 50
    assert sb["mode"]["major"] + sb["mode"]["minor"] == 750
    v = sb["chord_vocab"]
    assert v["raw_spellings"] > v["key_relative"] > v["folded_sevenths"] > v["folded_triads"]
    assert main(["data", "stats", "--sources", "songbook", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["total"]["songs"] == 750


def test_unknown_source_is_a_clear_error(data_root, capsys):
    assert main(["data", "stats", "--sources", "songbook,lyricsdump"]) == 2
    assert "unknown source 'lyricsdump'" in capsys.readouterr().err


@pytest.mark.slow
def test_stats_all_sources(data_root):
    from songwright.data.corpus import SOURCES, load_source

    stats = corpus_stats({s: load_source(s, data_root)[0] for s in SOURCES})
    assert stats["sources"]["billboard"]["songs"] == 890
    assert stats["sources"]["ireal"]["songs"] >= 2390
    assert stats["sources"]["openewld"]["songs"] >= 460
