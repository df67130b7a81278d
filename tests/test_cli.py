"""End-to-end tests of the `songwright` command (fast: the tiny random lyrics model)."""

from __future__ import annotations

import json
import wave

import pytest

from songwright.cli import main

FAST = ["--lyrics-model", "tiny-random", "--quiet"]
PROMPT = ["--title", "Gravel Road", "--artist", "The Testers", "--genre", "country",
          "--verse-prompt", "a dog waiting at the gate", "--seed", "5"]


def test_help_for_every_command(capsys):
    for argv in (["--help"], ["generate", "--help"], ["convert", "--help"], ["data", "--help"],
                 ["data", "build", "--help"], ["data", "stats", "--help"], ["train", "--help"],
                 ["train", "baselines", "--help"], ["train", "genre", "--help"],
                 ["evaluate", "genre", "--help"], ["compare", "genre", "--help"],
                 ["train", "chords", "--help"], ["train", "reward", "--help"],
                 ["train", "policy", "--help"], ["evaluate", "chords", "--help"], ["rate", "--help"],
                 ["train", "lyrics", "--help"], ["evaluate", "lyrics", "--help"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--title", "--artist", "--genre", "--subgenres", "--era", "--verse-prompt",
                 "--instructions", "--example-lyrics", "--key", "--tempo", "--time", "--seed",
                 "--prompt ", "--prompts", "--out"):
        assert flag in out, flag


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen") / "song"
    assert main(["generate", *PROMPT, *FAST, "--audio", "numpy", "--out", str(out)]) == 0
    return out


def test_generate_writes_every_artifact(generated):
    names = sorted(p.name for p in generated.iterdir())
    assert names == ["song.cho", "song.json", "song.mid", "song.musicxml", "song.wav"]
    song = json.loads((generated / "song.json").read_text())
    assert song["title"] == "Gravel Road" and song["genre"] == "country"
    assert set(song["genre_probs"]) == {"country", "metal", "pop", "rap", "rock"}
    lyric_lines = [ln for s in song["sections"] for ln in s["lines"] if ln["text"].strip()]
    assert lyric_lines and all(ln["chords"] for ln in lyric_lines)
    assert all(ln.get("notes") for ln in lyric_lines)
    with wave.open(str(generated / "song.wav")) as w:
        assert w.getnframes() / w.getframerate() >= 20
    import music21

    score = music21.converter.parse(str(generated / "song.musicxml"))
    assert len(score.recurse().getElementsByClass("ChordSymbol")) > 0
    assert not list(generated.parent.glob(".song.partial-*"))


def test_same_seed_same_song(generated, tmp_path, capsys):
    again = tmp_path / "again"
    # Not quiet: lines stream to stderr as they are written, the lead sheet goes to stdout.
    assert main(["generate", *PROMPT, "--lyrics-model", "tiny-random", "--formats",
                 "json,chordpro", "--out", str(again)]) == 0
    assert (again / "song.cho").read_text() == (generated / "song.cho").read_text()
    captured = capsys.readouterr()
    song = json.loads((again / "song.json").read_text())
    first = song["sections"][0]["lines"][0]
    assert first["text"] in captured.out and first["text"] in captured.err
    rows = captured.out.splitlines()
    header = rows.index(f"[{song['sections'][0]['label']}]")
    assert rows[header + 1].startswith(first["chords"][0]["chord"])  # chords above the words
    assert rows[header + 2] == first["text"]


@pytest.mark.parametrize("extra, message", [
    (["--title", ""], "title"),
    (["--genre", "polka"], "unknown genre 'polka'; known genres: country, metal, pop, rap, rock"),
    (["--tempo", "0"], "tempo must be in"),
    (["--tempo", "401"], "tempo must be in"),
    (["--key", "H#"], "invalid key"),
    (["--time", "4/5"], "invalid time signature"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, extra, message):
    out = tmp_path / "out"
    code = main(["generate", *PROMPT, *FAST, *extra, "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_unwritable_out(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["generate", *PROMPT, *FAST, "--out", str(blocker / "out")]) == 2
    assert "cannot write" in capsys.readouterr().err
    assert blocker.read_text() == "x"


def test_batch_prompts(tmp_path):
    prompts = tmp_path / "p.jsonl"
    prompts.write_text("\n".join(json.dumps(p) for p in (
        {"title": "One", "genre": "rock", "seed": 1}, {"title": "Two", "genre": "rap"})) + "\n")
    out = tmp_path / "many"
    assert main(["generate", "--prompts", str(prompts), *FAST, "--formats", "json",
                 "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["001-one", "002-two"]
    assert json.loads((out / "002-two" / "song.json").read_text())["genre"] == "rap"


def test_bad_batch_line_names_the_line(tmp_path, capsys):
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"title": "ok"}\n{"title": "x", "tempo": -3}\n')
    assert main(["generate", "--prompts", str(prompts), *FAST, "--out", str(tmp_path / "o")]) == 2
    assert "tempo must be in" in capsys.readouterr().err


def test_convert_chordpro_to_json_and_back(tmp_path, capsys):
    src = tmp_path / "s.cho"
    src.write_text("{title: Tiny}\n{key: G}\n\n{start_of_verse: Verse 1}\n[G]la [D7]la\n"
                   "{end_of_verse}\n")
    out = tmp_path / "s.json"
    assert main(["convert", str(src), "--to", "json", "-o", str(out)]) == 0
    assert json.loads(out.read_text())["sections"][0]["lines"][0]["chords"][1] == {
        "chord": "D7", "position": 3}
    assert main(["convert", str(out), "--to", "chordpro"]) == 0
    assert "[G]la [D7]la" in capsys.readouterr().out
    assert main(["convert", str(tmp_path / "missing.cho"), "--to", "json"]) == 2
