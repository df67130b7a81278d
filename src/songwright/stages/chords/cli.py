"""CLI hooks for the chords stage. The main CLI wires them in:

    add_train_parsers(train_subparsers)   # train chords | reward | policy
    add_evaluate_parser(eval_subparsers)  # evaluate chords
    add_rate_parser(subparsers)           # rate
    ...
    if hasattr(args, "chords_handler"): return args.chords_handler(args)

Each handler returns an exit code and prints; errors are :class:`SongwrightError` (the main
CLI turns them into one line and exit code 2).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

from ...errors import SongwrightError


def add_train_parsers(tsub: argparse._SubParsersAction) -> None:
    """``train chords``, ``train reward`` and ``train policy``."""
    c = tsub.add_parser("chords", help="train the seq2seq chord model (pre-train on chord-only "
                        "corpora, fine-tune on lyric songs)")
    c.add_argument("--data-root", type=Path, default=None)
    c.add_argument("--out", type=Path, default=Path("runs/chords-seq2seq"))
    c.add_argument("--epochs", type=int, default=25)
    c.add_argument("--pretrain-epochs", type=int, default=3)
    c.add_argument("--batch-size", type=int, default=16)
    c.add_argument("--lr", type=float, default=2e-3)
    c.add_argument("--hidden", type=int, default=256)
    c.add_argument("--tf-start", type=float, default=1.0, help="teacher forcing at the start")
    c.add_argument("--tf-end", type=float, default=0.8, help="teacher forcing at the end")
    c.add_argument("--tf-fixed", type=float, default=None, help="fixed ratio (seed: 0.7)")
    c.add_argument("--chordonomicon", type=Path, default=None, help="Chordonomicon CSV")
    c.add_argument("--finetune-sources", default="songbook", help="e.g. songbook,openewld")
    c.add_argument("--pretrain-sources", default="billboard,ireal")
    c.add_argument("--max-songs", type=int, default=None, help="debug: cap songs per split")
    c.add_argument("--augment-relative-key", action="store_true",
                   help="also read each training song in its relative major/minor key")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--device", default="auto")
    c.set_defaults(chords_handler=cmd_train_chords)

    r = tsub.add_parser("reward", help="train the chord reward model (Bradley-Terry) on "
                        "corrupted progressions, Markov samples and the rating store")
    r.add_argument("--seq2seq", default="seq2seq", help="seq2seq model whose vocabulary to share")
    r.add_argument("--data-root", type=Path, default=None)
    r.add_argument("--store", type=Path, default=None, help="rating store (SQLite)")
    r.add_argument("--out", type=Path, default=Path("runs/chords-reward"))
    r.add_argument("--epochs", type=int, default=6)
    r.add_argument("--featurization", default="gru", choices=("gru", "positional"))
    r.add_argument("--human-weight", type=int, default=5)
    r.add_argument("--no-markov-pairs", action="store_true")
    r.add_argument("--max-songs", type=int, default=None, help="debug: cap songs per split")
    r.add_argument("--seed", type=int, default=0)
    r.set_defaults(chords_handler=cmd_train_reward)

    p = tsub.add_parser("policy", help="RLHF: REINFORCE (leave-one-out baseline, KL to the "
                        "seq2seq reference) against the reward model")
    p.add_argument("--seq2seq", default="seq2seq")
    p.add_argument("--reward", required=True, help="reward model folder")
    p.add_argument("--data-root", type=Path, default=None)
    p.add_argument("--out", type=Path, default=Path("runs/chords-policy"))
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--k", type=int, default=4)
    p.add_argument("--beta", type=float, default=0.05)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--songs-per-step", type=int, default=4)
    p.add_argument("--variant", default="rloo", choices=("rloo", "seed"),
                   help="seed: plain REINFORCE, no baseline, no KL (for comparison)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-songs", type=int, default=None, help="debug: cap songs per split")
    p.set_defaults(chords_handler=cmd_train_policy)


def add_evaluate_parser(esub: argparse._SubParsersAction) -> None:
    """``evaluate chords --data PATH [--model DIR] [--json]``."""
    e = esub.add_parser("chords", help="next-chord accuracy, perplexity, in-key ratio, chorus "
                        "consistency, CHE/CC/CTD and reward, against the Markov baseline")
    e.add_argument("--data", type=Path, required=True,
                   help="a data root (songbook/ inside), a ChordPro folder or one song file")
    e.add_argument("--model", default="default", help="default, policy, seq2seq, markov or a dir")
    e.add_argument("--split", default="test", help="songbook split (default test)")
    e.add_argument("--reward", default="default",
                   help="reward model folder for mean_reward (default: the shipped one; none: skip)")
    e.add_argument("--max-songs", type=int, default=None)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--json", action="store_true")
    e.set_defaults(chords_handler=cmd_evaluate_chords)


def add_rate_parser(sub: argparse._SubParsersAction) -> None:
    """``rate``: show a song (and play its WAV), record a 1-5 score or an A/B preference."""
    r = sub.add_parser("rate", help="rate a generated song 1-5, or prefer A or B")
    r.add_argument("songs", nargs="+", type=Path, help="song.json (one: score; two: A/B)")
    r.add_argument("--rechord", default=None,
                   help="A/B from one song: comma-separated chord models, e.g. seq2seq,policy")
    r.add_argument("--store", type=Path, default=None, help="rating store (SQLite)")
    r.add_argument("--score", type=int, default=None, help="non-interactive 1-5 score")
    r.add_argument("--prefer", default=None, choices=("a", "b", "tie"))
    r.add_argument("--rater", default=None)
    r.add_argument("--wav", type=Path, nargs="*", default=None, help="WAV file(s) to play")
    r.add_argument("--seed", type=int, default=0)
    r.set_defaults(chords_handler=cmd_rate)


# --------------------------------------------------------------------------- handlers


def cmd_train_chords(args: argparse.Namespace) -> int:
    from .train import ChordTrainConfig, train_chords

    cfg = ChordTrainConfig(
        out_dir=args.out, data_root=args.data_root, epochs=args.epochs,
        pretrain_epochs=args.pretrain_epochs, batch_size=args.batch_size, lr=args.lr,
        hidden=args.hidden, tf_start=args.tf_start, tf_end=args.tf_end, tf_fixed=args.tf_fixed,
        chordonomicon_csv=args.chordonomicon, max_songs=args.max_songs, seed=args.seed,
        finetune_sources=tuple(x for x in args.finetune_sources.split(",") if x),
        pretrain_sources=tuple(x for x in args.pretrain_sources.split(",") if x),
        augment_relative_key=args.augment_relative_key, device=args.device)
    run = train_chords(cfg)
    print(f"wrote {run}")
    print(json.dumps(json.loads((run / "metrics.json").read_text()).get("validation", {}),
                     indent=2))
    return 0


def cmd_train_reward(args: argparse.Namespace) -> int:
    from .rlhf import RewardRunConfig, train_reward_run

    run = train_reward_run(RewardRunConfig(
        out_dir=args.out, seq2seq=args.seq2seq, data_root=args.data_root, store=args.store,
        human_weight=args.human_weight, markov_pairs=not args.no_markov_pairs,
        featurization=args.featurization, epochs=args.epochs, seed=args.seed,
        max_songs=args.max_songs))
    print(f"wrote {run}")
    print(json.dumps(json.loads((run / "metrics.json").read_text()).get("validation", {}),
                     indent=2))
    return 0


def cmd_train_policy(args: argparse.Namespace) -> int:
    from .policy import PolicyConfig
    from .rlhf import songbook_splits, train_policy_run

    cfg = PolicyConfig(out_dir=args.out, seq2seq=args.seq2seq, reward=args.reward, k=args.k,
                       beta=args.beta, lr=args.lr, steps=args.steps,
                       songs_per_step=args.songs_per_step, variant=args.variant, seed=args.seed)
    splits = songbook_splits(args.data_root, args.max_songs)
    run = train_policy_run(cfg, splits, data_root=args.data_root)
    m = json.loads((run / "metrics.json").read_text())
    print(f"wrote {run}")
    print(json.dumps({k: m.get(k) for k in ("first", "final", "comparison")}, indent=2))
    return 0


def load_eval_songs(data: Path, split: str = "test", max_songs: int | None = None) -> list:
    """Songs from a data root (songbook split), a ChordPro/JSON folder, or one file."""
    from ...data.corpus import assign_split, load_source
    from ...formats.chordpro import read_chordpro
    from ...model import Song

    if not data.exists():
        raise SongwrightError(f"no such data: {data}")
    if (data / "songbook").is_dir():
        songs = [s for s in load_source("songbook", data)[0]
                 if split == "all" or assign_split(s) == split]
    else:
        files = [data] if data.is_file() else sorted(
            p for p in data.rglob("*") if p.suffix in (".cho", ".chordpro", ".json"))
        songs = [Song.from_json(p.read_text(encoding="utf-8")) if p.suffix == ".json"
                 else read_chordpro(p) for p in files]
    if not songs:
        raise SongwrightError(f"no songs in {data}")
    return songs[:max_songs] if max_songs else songs


def cmd_evaluate_chords(args: argparse.Namespace) -> int:
    from .evaluate import evaluate_chords
    from .load import load_chord_model
    from .reward import ChordReward

    songs = load_eval_songs(args.data, args.split, args.max_songs)
    model = load_chord_model(args.model)
    from .load import SHIPPED

    reward = None
    if args.reward == "default":
        if (SHIPPED["reward"] / "weights.safetensors").is_file():
            reward = ChordReward.load(SHIPPED["reward"])
    elif args.reward and args.reward != "none":
        reward = ChordReward.load(args.reward)
    if reward is not None and hasattr(model, "vocab") and reward.vocab != model.vocab:
        raise SongwrightError("the reward model's vocabulary differs from the chord model's; "
                              "pass --reward none or a matching reward model")
    m = evaluate_chords(model, songs, load_chord_model("markov"), reward, args.seed)
    if args.json:
        print(json.dumps(m, indent=2, sort_keys=True))
    else:
        for k in sorted(m):
            v = m[k]
            print(f"{k:32s} {v:.4f}" if isinstance(v, float) else f"{k:32s} {v}")
    return 0


def _play(wav: Path) -> None:
    for player in (["afplay"], ["aplay", "-q"], ["paplay"], ["ffplay", "-nodisp", "-autoexit",
                                                             "-loglevel", "quiet"]):
        if shutil.which(player[0]):
            subprocess.run([*player, str(wav)], check=False)  # noqa: S603
            return
    print(f"(no audio player found; open {wav} yourself)")


def _ask(prompt: str, valid: set[str]) -> str:
    while True:
        ans = input(prompt).strip().lower()
        if ans in valid:
            return ans
        print(f"please answer one of: {', '.join(sorted(valid))}")


def cmd_rate(args: argparse.Namespace) -> int:
    from ...model import Song
    from ...render.text import lead_sheet
    from .load import load_chord_model
    from .ratings import RatingStore, default_store_path

    songs = []
    for p in args.songs:
        if not p.is_file():
            raise SongwrightError(f"no such song file: {p}")
        songs.append(Song.from_json(p.read_text(encoding="utf-8")))
    if args.rechord:
        names = [n for n in args.rechord.split(",") if n]
        if len(names) != 2:
            raise SongwrightError("--rechord takes two chord models, e.g. seq2seq,policy")
        songs = [load_chord_model(n)(songs[0], seed=args.seed) for n in names]
    if len(songs) > 2:
        raise SongwrightError("rate takes one song (score) or two (A/B preference)")
    interactive = args.score is None and args.prefer is None
    for label, song in zip("AB", songs):
        print(f"=== {label if len(songs) == 2 else 'song'}: {song.title} "
              f"({song.meta.get('chord_model', '?')}) ===")
        print(lead_sheet(song))
    for wav in args.wav or []:
        if interactive:
            _play(wav)
    store = RatingStore(args.store or default_store_path())
    try:
        if len(songs) == 1:
            score = args.score if args.score is not None else int(
                _ask("score 1-5: ", {"1", "2", "3", "4", "5"}))
            rid = store.add_rating(songs[0], score, args.rater)
            print(f"recorded rating {rid} ({score}) in {store.path}")
        else:
            pref = args.prefer or _ask("prefer a, b or tie: ", {"a", "b", "tie"})
            pid = store.add_preference(songs[0], songs[1], pref, args.rater)
            print(f"recorded preference {pid} ({pref}) in {store.path}")
    finally:
        store.close()
    sys.stdout.flush()
    return 0
