"""Lyrics evaluation metrics, LoRA fine-tuning on a tiny model, and their CLI commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from songwright.errors import SongwrightError
from songwright.model import Line, Section, Song, SongPrompt
from songwright.stages.lyrics.evaluate import (
    METRIC_KEYS,
    evaluate_lyrics,
    load_prompts,
    lyrics_metrics,
    rhymes,
    syllables,
)


def _song(*sections: tuple[str, list[str]], title: str = "Night Road") -> Song:
    return Song(title=title, genre="pop", sections=tuple(
        Section(kind, tuple(Line(t) for t in lines), label=kind.capitalize())
        for kind, lines in sections))


def _prompt(structure: tuple[str, ...], title: str = "Night Road", genre: str = "pop"):
    return SongPrompt(title=title, genre=genre, structure=structure, lines_per_section=2)


class FakeGenre:
    """A genre model that always says pop."""

    labels = ["country", "pop", "rock"]

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return np.tile([0.1, 0.8, 0.1], (len(texts), 1))  # (N, 3)


# --------------------------------------------------------------------------- metrics
def test_words_rhyme_and_syllables() -> None:
    assert rhymes("night", "light") and not rhymes("night", "night")
    assert not rhymes("road", "sky")
    assert syllables("heartache") == 2 and syllables("zzyzx") == 1


def test_repeated_verse_line_counts_but_chorus_repeats_do_not() -> None:
    chorus = ["the night road calls", "we run all night"]
    song = _song(("verse", ["a lonely wind", "a lonely wind"]), ("chorus", chorus),
                 ("chorus", chorus))
    m = lyrics_metrics([song], [_prompt(("verse", "chorus", "chorus"))])
    assert m["repeated_line_ratio"] == pytest.approx(1 / 6)
    assert m["structure_validity"] == 1.0
    assert m["title_present"] == 1.0
    clean = _song(("verse", ["a lonely wind", "the empty street"]), ("chorus", chorus),
                  ("chorus", chorus))
    assert lyrics_metrics([clean], [_prompt(("verse", "chorus", "chorus"))])[
        "repeated_line_ratio"] == 0.0


def test_two_rhyming_lines_give_rhyme_density_one() -> None:
    song = _song(("verse", ["we drove into the night", "chasing every light"]))
    m = lyrics_metrics([song], [_prompt(("verse",))])
    assert m["rhyme_density"] == 1.0
    song2 = _song(("verse", ["we drove into the night", "down the river road"]))
    assert lyrics_metrics([song2], [_prompt(("verse",))])["rhyme_density"] == 0.0


def test_distinct_and_syllable_spread() -> None:
    song = _song(("verse", ["a a a"]))
    m = lyrics_metrics([song], [_prompt(("verse",))])
    assert m["distinct_1"] == pytest.approx(1 / 3)
    assert m["distinct_2"] == pytest.approx(1 / 2)
    assert m["syllables_per_line_std"] == 0.0
    assert m["title_present"] == 0.0
    assert m["genre_adherence"] is None  # no genre model given
    uneven = _song(("verse", ["go", "go on and on and on"]))  # 1 and 6 syllables
    assert lyrics_metrics([uneven], [_prompt(("verse",))])[
        "syllables_per_line_std"] == pytest.approx(2.5)


def test_structure_invalid_when_section_missing_empty_or_chorus_differs() -> None:
    p = _prompt(("verse", "chorus", "chorus"))
    missing = _song(("verse", ["one two three", "four five six"]), ("chorus", ["x y", "y z"]))
    differs = _song(("verse", ["one two three", "four five six"]), ("chorus", ["x y", "y z"]),
                    ("chorus", ["x y", "other"]))
    empty = _song(("verse", ["one two three", " "]), ("chorus", ["x y", "y z"]),
                  ("chorus", ["x y", "y z"]))
    m = lyrics_metrics([missing, differs, empty], [p, p, p], genre_model=FakeGenre())
    assert m["structure_validity"] == 0.0
    assert m["genre_adherence"] == 1.0
    with pytest.raises(SongwrightError, match="2 songs for 1 prompts"):
        lyrics_metrics([missing, differs], [p])


# --------------------------------------------------------------------------- evaluate
def _jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "prompts.jsonl"
    rows = [{"title": "Dust on the Highway", "genre": "country", "seed": 7},
            {"title": "Neon Rain", "genre": "pop", "verse_prompt": "a city at night"}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_evaluate_lyrics_with_tiny_stage_gives_every_key(tmp_path: Path) -> None:
    from songwright.stages.lyrics import make_lyrics_stage

    stage = make_lyrics_stage("tiny-random")
    m = evaluate_lyrics(stage, _jsonl(tmp_path), genre_model=FakeGenre())
    assert tuple(m) == METRIC_KEYS
    assert m["n"] == 2
    assert m["structure_validity"] == 1.0  # the writer always fills the plan
    assert m["genre_adherence"] == 0.5  # FakeGenre says pop to both
    assert m["tokens_per_second"] > 0 and m["seconds_per_song"] > 0
    assert evaluate_lyrics(stage, _jsonl(tmp_path), limit=1, genre_model=None)["n"] == 1


def test_load_prompts_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "x"}\n{"nope": 1}\n')
    with pytest.raises(SongwrightError, match=r"bad.jsonl:2: unknown prompt field"):
        load_prompts(bad)
    with pytest.raises(SongwrightError, match="does not exist"):
        load_prompts(tmp_path / "missing")


def test_load_prompts_from_chordpro_folder(tmp_path: Path) -> None:
    (tmp_path / "a.cho").write_text("{title: Neon Rain}\n{meta: genre pop}\n"
                                    "{meta: verse_prompt a city at night}\n\nrain on the glass\n")
    (p,) = load_prompts(tmp_path)
    assert (p.title, p.genre, p.verse_prompt) == ("Neon Rain", "pop", "a city at night")


def test_load_prompts_by_split_and_genre(tmp_path: Path) -> None:
    """--split keeps only that artist-hash split; --per-genre caps each genre."""
    from songwright.data.corpus import assign_split
    from songwright.formats.chordpro import parse_chordpro

    for i in range(60):
        genre = ("pop", "rock")[i % 2]
        (tmp_path / f"{i:03d}.cho").write_text(_cho(f"S{i}", f"Artist {i}", genre, ["a b"], ["c"]))
    want = [f"S{i}" for i in range(60) if assign_split(parse_chordpro(
        (tmp_path / f"{i:03d}.cho").read_text())) == "test"]
    assert want  # 60 artists: some land in test
    got = load_prompts(tmp_path, split="test")
    assert [p.title for p in got] == want
    capped = load_prompts(tmp_path, per_genre=3)
    assert [p.genre for p in capped].count("pop") == 3 and len(capped) == 6
    assert len(load_prompts(tmp_path, per_genre=3, limit=4)) == 4
    with pytest.raises(SongwrightError, match="--split must be"):
        load_prompts(tmp_path, split="dev")
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text('{"title": "x"}\n')
    with pytest.raises(SongwrightError, match="needs a ChordPro folder"):
        load_prompts(jsonl, split="test")


# --------------------------------------------------------------------------- training
def _cho(title: str, artist: str, genre: str, verse: list[str], chorus: list[str]) -> str:
    v = "\n".join(verse)
    c = "\n".join(chorus)
    return (f"{{title: {title}}}\n{{artist: {artist}}}\n{{meta: genre {genre}}}\n\n"
            f"{{start_of_verse: Verse 1}}\n{v}\n{{end_of_verse}}\n\n"
            f"{{start_of_chorus}}\n{c}\n{{end_of_chorus}}\n\n"
            f"{{start_of_verse: Verse 2}}\n{v}\n{{end_of_verse}}\n\n"
            f"{{start_of_chorus}}\n{c}\n{{end_of_chorus}}\n")


@pytest.fixture(scope="module")
def lyrics_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Hand-made songs: no verse prompts (the extractive summary writes them), every split."""
    from songwright.data.corpus import assign_split
    from songwright.formats.chordpro import parse_chordpro

    root = tmp_path_factory.mktemp("lyrics-data")
    verse = ["the road runs long into the night", "i hold your hand and see the light"]
    chorus = ["we ride the wind tonight", "we ride until the morning light"]
    splits: dict[str, int] = {}
    for i in range(40):
        text = _cho(f"Song {i}", f"Artist {i}", "pop", verse, chorus)
        split = assign_split(parse_chordpro(text))
        if splits.get(split, 0) < (3 if split == "train" else 1):
            splits[split] = splits.get(split, 0) + 1
            (root / f"{i:03d}.cho").write_text(text)
    assert splits.get("train") == 3 and splits.get("validation") == 1
    return root


@pytest.fixture(scope="module")
def tiny_run(lyrics_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from songwright.stages.lyrics.train import LyricsTrainConfig, train_lyrics

    out = tmp_path_factory.mktemp("run") / "lora"
    cfg = LyricsTrainConfig(out=out, base="tiny-random", data=lyrics_data, max_steps=2,
                            lr=1e-2, lora_r=4, lora_alpha=8, batch_size=2, max_length=512)
    return train_lyrics(cfg)


def test_song_examples_use_the_writer_format() -> None:
    from songwright.formats.chordpro import parse_chordpro
    from songwright.stages.lyrics.prompts import SYSTEM
    from songwright.stages.lyrics.train import song_examples

    song = parse_chordpro(_cho("Night Ride", "X", "pop", ["a b c d", "e f g h"],
                               ["we ride tonight", "ride on"]))
    exs = song_examples(song)
    assert len(exs) == 3  # verse 1, chorus, verse 2 (the repeated chorus is trained once)
    assert exs[0]["messages"][0] == {"role": "system", "content": SYSTEM}
    assert exs[0]["completion"] == "a b c d\ne f g h"
    assert "The first verse is about" in exs[0]["messages"][1]["content"]
    assert "The song so far:\n[Verse 1]\na b c d" in exs[1]["messages"][1]["content"]
    assert "It has 2 lines." in exs[1]["messages"][1]["content"]
    assert "[Chorus]\nwe ride tonight" in exs[2]["messages"][1]["content"]


def test_training_prompt_is_what_the_writer_sends() -> None:
    """The tokens before the answer are exactly the writer's encoding of its first call."""
    from songwright.formats.chordpro import parse_chordpro
    from songwright.stages.lyrics.plan import PlannedSection
    from songwright.stages.lyrics.prompts import section_messages
    from songwright.stages.lyrics.tiny import tiny_random_lm
    from songwright.stages.lyrics.train import IGNORE, song_examples, tokenize_example

    song = parse_chordpro(_cho("Night Ride", "X", "pop", ["a b c d", "e f g h"],
                               ["we ride tonight", "ride on"]))
    song = song.replace(meta={"verse_prompt": "a night ride"})
    lm = tiny_random_lm()
    row = tokenize_example(lm.tokenizer, song_examples(song)[0], 4096)
    writer = lm.encode(section_messages(song.to_prompt(), PlannedSection("verse", "Verse 1", 1, 2),
                                        [], [], prefill=True))
    n_prompt = row["labels"].count(IGNORE)
    assert row["input_ids"][:n_prompt] == writer


def test_summarise_verse_prompt_extractive() -> None:
    from songwright.stages.lyrics.train import summarise_verse_prompt

    text = "oh oh oh\nthe lonely trucker drives through burning desert highways\nla la"
    assert summarise_verse_prompt(text) == "the lonely trucker drives through burning desert highways"
    assert len(summarise_verse_prompt("word " * 50).split()) <= 20
    assert summarise_verse_prompt("") == ""


@pytest.fixture(scope="module")
def tiny_summariser(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random T5 with the tiny word-level tokenizer, saved as a model folder."""
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    from songwright.stages.lyrics.tiny import tiny_tokenizer

    tok = tiny_tokenizer()
    cfg = T5Config(vocab_size=len(tok), d_model=16, d_kv=8, d_ff=32, num_layers=1,
                   num_heads=2, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
                   decoder_start_token_id=tok.pad_token_id)
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny-t5")
    T5ForConditionalGeneration(cfg).eval().save_pretrained(path)
    tok.save_pretrained(path)
    return path


def test_summarise_verse_prompt_with_a_seq2seq_model(tiny_summariser: Path) -> None:
    """The model path: a local seq2seq folder writes the summary (random words here), trimmed
    to max_words; a folder that is not a model is named in the error."""
    from songwright.stages.lyrics.tiny import _WORDS
    from songwright.stages.lyrics.train import (
        LyricsTrainConfig,
        song_examples,
        summarise_verse_prompt,
    )

    text = "the trucker passes grain elevators\nquiet harvest evenings linger"
    assert not set(summarise_verse_prompt(text).split()) <= set(_WORDS)  # extractive differs
    summary = summarise_verse_prompt(text, model=tiny_summariser, max_words=6)
    words = summary.lower().replace(",", " ").replace(".", " ").split()
    assert 1 <= len(summary.split()) <= 6
    assert set(words) <= set(_WORDS)  # from the model's vocabulary, not copied from the text
    assert summary == summarise_verse_prompt(text, model=tiny_summariser, max_words=6)
    from songwright.formats.chordpro import parse_chordpro

    song = parse_chordpro(_cho("Night Ride", "X", "pop", text.split("\n"), ["we ride", "on"]))
    first = song_examples(song, summariser=tiny_summariser)[0]["messages"][1]["content"]
    assert "The first verse is about: " in first
    with pytest.raises(SongwrightError, match="--summariser"):
        summarise_verse_prompt(text, model=tiny_summariser / "nope")
    with pytest.raises(SongwrightError, match="--summariser"):
        LyricsTrainConfig(out=tiny_summariser / "run", summariser=str(tiny_summariser / "x"))


def test_train_lyrics_writes_a_loadable_adapter(tiny_run: Path) -> None:
    from safetensors.torch import load_file

    from songwright.stages.lyrics import make_lyrics_stage

    adapter = tiny_run / "adapter"
    for name in ("adapter_model.safetensors", "adapter_config.json", "songwright.json"):
        assert (adapter / name).is_file(), name
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    assert metrics["steps"] == 2 and metrics["best_eval_loss"] is not None
    assert metrics["validation_songs"] == 1
    config = json.loads((tiny_run / "config.json").read_text())
    assert config["prompt_version"] and config["lora_r"] == 4
    assert not (tiny_run / "checkpoints").exists()
    weights = load_file(adapter / "adapter_model.safetensors")
    lora_b = [v for k, v in weights.items() if "lora_B" in k]
    assert lora_b and any(v.abs().sum() > 0 for v in lora_b)  # B starts at zero
    stage = make_lyrics_stage(str(tiny_run / "base"), adapter=adapter)
    song = stage(SongPrompt(title="Night Road", genre="pop", seed=1))
    assert song.lyric_lines


def test_merged_adapter_is_cached_and_equals_peft(tiny_run: Path, tmp_path: Path) -> None:
    """The adapter is merged once into a cached float16 copy whose logits match peft's."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from songwright.stages.lyrics.default import ensure_merged

    adapter, base = tiny_run / "adapter", tiny_run / "base"
    merged = ensure_merged(adapter, cache=tmp_path, base=base)
    assert (merged / "model.safetensors").is_file() and (merged / "tokenizer.json").is_file()
    stamp = (merged / "model.safetensors").stat().st_mtime_ns
    assert ensure_merged(adapter, cache=tmp_path, base=base) == merged  # cached
    assert (merged / "model.safetensors").stat().st_mtime_ns == stamp
    ids = torch.tensor([[5, 9, 12, 40, 7]])
    ref = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), str(adapter))
    got = AutoModelForCausalLM.from_pretrained(merged, dtype=torch.float32)
    with torch.no_grad():
        a, b = ref(input_ids=ids).logits, got(input_ids=ids).logits
    assert torch.allclose(a, b, atol=2e-2)  # float16 storage
    plain = AutoModelForCausalLM.from_pretrained(base)
    with torch.no_grad():
        assert not torch.allclose(plain(input_ids=ids).logits, b, atol=1e-4)  # adapter applied
    with pytest.raises(SongwrightError, match="has no adapter_config.json"):
        ensure_merged(tmp_path, cache=tmp_path, base=base)


def test_shipped_adapter_matches_the_writer() -> None:
    """The shipped adapter is small, has its model card, and was trained for the writer's
    current prompt version (change the templates and this fails until it is retrained)."""
    from songwright.stages.lyrics.factory import default_adapter
    from songwright.stages.lyrics.prompts import PROMPT_VERSION

    path = default_adapter()
    if path is None:
        pytest.skip("no shipped lyrics adapter")
    meta = json.loads((path / "songwright.json").read_text())
    assert meta["prompt_version"] == PROMPT_VERSION and meta["base"] == "default"
    assert meta["base_fingerprint"]["num_hidden_layers"] == 30  # SmolLM2-135M
    config = json.loads((path / "adapter_config.json").read_text())
    assert config["peft_type"] == "LORA" and config["r"] >= 1
    size = sum(f.stat().st_size for f in path.iterdir())
    assert size < 8 * 2**20
    card = (path / "README.md").read_text()
    assert "## Rebuild" in card and "## Evaluation (held out)" in card
    metrics = json.loads((path / "metrics.json").read_text())
    assert metrics["heldout_adapter"]["structure_validity"] == 1.0


def test_adapter_for_another_base_is_refused(tiny_run: Path, tmp_path: Path) -> None:
    from transformers import LlamaConfig, LlamaForCausalLM

    from songwright.stages.lyrics.cli import load_stage
    from songwright.stages.lyrics.train import check_adapter

    check_adapter(tiny_run / "adapter", tiny_run / "base")  # its own base: fine
    cfg = LlamaConfig(vocab_size=99, hidden_size=16, num_hidden_layers=1,
                      num_attention_heads=2, intermediate_size=32)
    LlamaForCausalLM(cfg).save_pretrained(tmp_path / "other")
    with pytest.raises(SongwrightError, match="was trained on base"):
        check_adapter(tiny_run / "adapter", tmp_path / "other")
    with pytest.raises(SongwrightError, match="was trained on base"):
        load_stage(str(tmp_path / "other"), tiny_run / "adapter")
    with pytest.raises(SongwrightError, match="--adapter needs a model folder"):
        load_stage("tiny-random", tiny_run / "adapter")


@pytest.mark.parametrize(("kw", "flag"), [
    ({"epochs": 0}, "--epochs"), ({"lr": 0.0}, "--lr"), ({"lora_r": 0}, "--lora-r"),
    ({"batch_size": 0}, "--batch-size"), ({"max_length": 4}, "--max-length"),
    ({"max_steps": 0}, "--max-steps"), ({"base": "/no/such/model"}, "--base"),
    ({"data": Path("/no/such/data")}, "--data"), ({"lora_dropout": 1.0}, "--lora-dropout"),
])
def test_bad_config_names_the_flag(kw: dict, flag: str, tmp_path: Path) -> None:
    from songwright.stages.lyrics.train import LyricsTrainConfig

    with pytest.raises(SongwrightError, match=flag):
        LyricsTrainConfig(out=tmp_path, **kw)


# --------------------------------------------------------------------------- CLI
def test_cli_generate_with_an_adapter(tmp_path: Path, tiny_run: Path) -> None:
    """`generate --lyrics-adapter` writes a song with the adapter; one for another base model
    exits 2 before anything is written."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from songwright.cli import main

    args = ["generate", "--title", "Night Road", "--genre", "pop", "--seed", "1", "--quiet",
            "--formats", "json", "--chord-model", "markov", "--genre-model", "tfidf"]
    assert main([*args, "--lyrics-model", str(tiny_run / "base"), "--lyrics-adapter",
                 str(tiny_run / "adapter"), "--out", str(tmp_path / "ok")]) == 0
    song = json.loads(next((tmp_path / "ok").glob("*.json")).read_text())
    assert song["meta"]["lyrics_model"] and song["sections"]
    LlamaForCausalLM(LlamaConfig(vocab_size=99, hidden_size=16, num_hidden_layers=1,
                                 num_attention_heads=2, intermediate_size=32)).save_pretrained(
        tmp_path / "other")
    assert main([*args, "--lyrics-model", str(tmp_path / "other"), "--lyrics-adapter",
                 str(tiny_run / "adapter"), "--out", str(tmp_path / "bad")]) == 2
    assert not (tmp_path / "bad").exists()


def test_cli_help_and_evaluate(tmp_path: Path, tiny_run: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    from songwright.cli import main

    for cmd in (["train", "lyrics", "--help"], ["evaluate", "lyrics", "--help"]):
        with pytest.raises(SystemExit) as e:
            main(cmd)
        assert e.value.code == 0
    capsys.readouterr()
    rc = main(["evaluate", "lyrics", "--prompts", str(_jsonl(tmp_path)), "--limit", "1",
               "--model", str(tiny_run / "base"), "--adapter", str(tiny_run / "adapter"),
               "--genre-model", "none", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == 1 and set(out) == set(METRIC_KEYS)
    assert main(["evaluate", "lyrics", "--prompts", str(tmp_path / "missing.jsonl"),
                 "--model", "tiny-random"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["train", "lyrics", "--out", str(tmp_path / "r"), "--epochs", "0"]) == 2
    assert "--epochs" in capsys.readouterr().err


def test_train_lyrics_on_three_songbook_songs(data_root: Path, tmp_path: Path) -> None:
    from songwright.stages.lyrics.train import LyricsTrainConfig, train_lyrics

    cfg = LyricsTrainConfig(out=tmp_path / "run", base="tiny-random", data=data_root,
                            max_steps=1, limit=3, eval_limit=1, max_length=512)
    metrics = json.loads((train_lyrics(cfg) / "metrics.json").read_text())
    assert metrics["train_songs"] == 3 and metrics["validation_songs"] == 1
    assert (tmp_path / "run" / "adapter" / "adapter_model.safetensors").is_file()
