"""CLI hooks for the genre stage: ``train genre``, ``compare genre``, ``evaluate genre``.

The main CLI owns the parser; it calls :func:`add_genre_commands` with its ``train``,
``compare`` and ``evaluate`` subparser objects and dispatches to the returned handlers. Only
these handlers print.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from ...errors import SongwrightError

log = logging.getLogger(__name__)

Handler = Callable[[argparse.Namespace], int]

# "minilm": MiniLM layer 2 from the shared line pass + stylistic features, a bag of 3 feature
# MLPs (the fast model: 37-108 songs/s batched on 2 cores).
# "smollm2": SmolLM2-135M (the lyrics model's base) truncated to 12 layers, the lyrics read
# whole with repeated stanzas dropped, + stylistic features; two linear experts (logistic
# regressions, L2 chosen by grouped cross-validation), refit on train + validation. The more
# accurate on held-out songs (see docs/genre.md), about 6 songs/s alone; the deep member of
# the shipped default, whose early exit ("smollm2-early") answers most songs after 2 layers.
_HEAD = {"mode": "frozen", "use_features": True, "lr": 3e-3, "epochs": 300, "patience": 40,
         "seed": 0}
PRESETS: dict[str, dict] = {
    "minilm": {**_HEAD, "model_name": "genre-minilm", "backbone": "default", "layers": (2,),
               "granularity": "lines", "members": 3, "emb_l2": 0.3, "dropout": 0.3,
               "weight_decay": 0.01},
    "smollm2": {**_HEAD, "model_name": "genre-smollm2", "backbone": "smollm2", "layers": (12,),
                "granularity": "text", "max_length": 512, "drop_repeats": True, "refit": True,
                "hidden": 0, "members": 1, "emb_l2": 0.03, "feat_l2": 0.009, "dropout": 0.0,
                "weight_decay": 0.0},
}
# "smollm2-early": the same, reading only 2 layers (about 5x faster; the shipped default's
# early exit, `train genre-exit` combines it with a smollm2 run)
PRESETS["smollm2-early"] = {**PRESETS["smollm2"], "model_name": "genre-smollm2-early",
                            "layers": (2,)}
PRESETS["default"] = PRESETS["smollm2"]  # the deep member of the shipped default model
# "gemma3": Gemma 3 270M (optional wheels) on the smollm2 settings, on hidden state 4 (the best
# by grouped cross-validation of its 18; docs/genre.md); for `compare genre`, not shipped
PRESETS["gemma3"] = {**PRESETS["smollm2"], "model_name": "genre-gemma3", "backbone": "gemma3",
                     "layers": (4,)}


def preset_for_backbone(backbone: str) -> str | None:
    """The preset made for an offline backbone alias ("default"/"minilm" -> minilm,
    "smollm2" -> smollm2, "gemma3" -> gemma3), None for other backbones."""
    from .encoder import DEFAULT_ALIASES, GEMMA3_ALIASES, SMOLLM2_ALIASES

    if backbone in DEFAULT_ALIASES:
        return "minilm"
    if backbone in GEMMA3_ALIASES:
        return "gemma3"
    return "smollm2" if backbone in SMOLLM2_ALIASES else None


def _layers(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.replace(",", " ").split())
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"--layers wants integers, got {text!r}") from e


def _add_model_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, default=None, help="a ChordPro folder, a built dataset "
                   "or a CSV (default: the songbook under $SONGWRIGHT_DATA)")
    p.add_argument("--mode", choices=("frozen", "finetune"), default=None,
                   help="frozen encoder with cached embeddings (default), or full fine-tuning")
    p.add_argument("--layers", type=_layers, default=None,
                   help="hidden states to mean-pool, e.g. '2' or '2,3' (0 = embeddings)")
    p.add_argument("--pooling", choices=("mean", "cls", "max", "meanmax"), default=None)
    p.add_argument("--granularity", choices=("text", "lines"), default=None,
                   help="encode the lyrics whole, or line by line and pool (the shared line "
                   "pass the chord stage reads; the minilm preset)")
    p.add_argument("--max-length", type=int, default=None, help="encoder window in tokens; "
                   "longer lyrics are chunked and pooled")
    p.add_argument("--drop-repeats", action=argparse.BooleanOptionalAction, default=None,
                   help="the encoder reads each distinct stanza once (whole-text encoding)")
    p.add_argument("--refit", action=argparse.BooleanOptionalAction, default=None,
                   help="after choosing the epoch on validation, retrain on train + "
                   "validation for that many epochs (frozen mode)")
    p.add_argument("--no-features", action="store_true", help="no stylistic features")
    p.add_argument("--no-embeddings", action="store_true", help="stylistic features only")
    p.add_argument("--train-layers", type=int, default=None,
                   help="fine-tune: train only the top N encoder layers")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--patience", type=int, default=None, help="early-stopping patience (epochs)")
    p.add_argument("--lr", type=float, default=None, help="learning rate of the head")
    p.add_argument("--encoder-lr", type=float, default=None,
                   help="fine-tune: learning rate of the encoder (default 3e-5)")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--holdout-draw", type=int, default=None, metavar="K",
                   help="which whole sub-genres are held out (default 0: the split the "
                   "shipped models use; see docs/genre.md)")
    p.add_argument("--device", default=None, help="auto (default), cpu, cuda, ...")
    p.add_argument("--preset", choices=sorted(PRESETS), default="default",
                   help="starting settings; flags override them (default: default)")


def config_from_args(args: argparse.Namespace, out: Path, backbone: str | None = None,  # noqa: ANN201
                     preset: str | None = None):
    """A :class:`GenreTrainConfig` from the preset (``args.preset`` unless given) and the flags
    that were given."""
    from .train import GenreTrainConfig

    kw = dict(PRESETS[preset or args.preset])
    flags = {"data": args.data, "mode": args.mode, "layers": args.layers, "pooling": args.pooling,
             "granularity": args.granularity, "drop_repeats": args.drop_repeats,
             "refit": args.refit,
             "max_length": args.max_length, "train_layers": args.train_layers,
             "epochs": args.epochs, "patience": args.patience, "lr": args.lr,
             "encoder_lr": args.encoder_lr,
             "batch_size": args.batch_size, "seed": args.seed, "device": args.device,
             "holdout_draw": args.holdout_draw,
             "backbone": backbone or getattr(args, "backbone", None)}
    kw.update({k: v for k, v in flags.items() if v is not None})
    if args.no_features:
        kw["use_features"] = False
    if args.no_embeddings:
        kw["use_embeddings"] = False
    return GenreTrainConfig(out=out, **kw)


def add_genre_commands(train_sub: argparse._SubParsersAction,
                       compare_sub: argparse._SubParsersAction | None,
                       evaluate_sub: argparse._SubParsersAction | None) -> dict[str, Handler]:
    """Add ``genre`` under each given subparsers object.

    Returns:
        Handlers keyed ``"train"``, ``"compare"``, ``"evaluate"``; each parser also gets
        ``set_defaults(genre_handler=...)`` so the caller may dispatch with
        ``args.genre_handler(args)``.
    """
    handlers: dict[str, Handler] = {"train": cmd_train_genre, "compare": cmd_compare_genre,
                                    "evaluate": cmd_evaluate_genre,
                                    "train-exit": cmd_train_genre_exit}
    t = train_sub.add_parser("genre", help="train the transformer genre classifier",
                             description="Train a genre classifier: a transformer encoder "
                             "(default SmolLM2-135M, offline; or all-MiniLM-L6-v2 with --preset "
                             "minilm) + stylistic features; best "
                             "checkpoint by validation macro-F1. Runs under accelerate launch.")
    t.add_argument("--backbone", default=None,
                       help="AutoModel name or folder (default: the preset's; smollm2)")
    t.add_argument("--out", type=Path, default=Path("runs/genre"), help="run directory")
    _add_model_flags(t)
    t.set_defaults(genre_handler=cmd_train_genre)
    x = train_sub.add_parser("genre-exit", help="combine two genre runs with an early exit",
                             description="Combine a shallow and a deep genre run on the same "
                             "backbone into one model: the shallow head answers the songs it "
                             "is sure of, the others go on to the deep head. The threshold is "
                             "chosen on the validation songs; the held-out splits are scored.")
    x.add_argument("--early", type=Path, required=True,
                   help="run folder of the shallow model (e.g. --preset smollm2-early)")
    x.add_argument("--full", type=Path, required=True,
                   help="run folder of the deep model (e.g. --preset smollm2)")
    x.add_argument("--out", type=Path, default=Path("runs/genre-exit"), help="model folder")
    x.add_argument("--threshold", type=float, default=None,
                   help="the early head's top probability needed to exit (default: chosen on "
                   "validation)")
    x.add_argument("--data", type=Path, default=None,
                   help="the labelled songs the runs were trained on (default: the runs' data)")
    x.set_defaults(genre_handler=cmd_train_genre_exit)
    if compare_sub is not None:
        c = compare_sub.add_parser("genre", help="train several backbones, print Table 1",
                                   description="Train each backbone on the same held-out split "
                                   "and print loss, accuracy, macro-F1, train time and songs/s "
                                   "beside majority-class and TF-IDF baselines.")
        c.add_argument("--backbones", nargs="+", default=["minilm", "smollm2"], metavar="NAME",
                       help="encoder names or folders (default: minilm smollm2, the two "
                       "offline ones, each with its preset's settings; others get --preset)")
        c.add_argument("--out", type=Path, default=Path("runs/genre-compare"))
        c.add_argument("--no-baselines", action="store_true")
        c.add_argument("--no-plain", action="store_true",
                       help="skip the last-layer mean-pool + linear row per backbone")
        c.add_argument("--draws", type=int, default=1, metavar="N",
                       help="run the comparison on held-out draws 0..N-1 (other whole "
                       "sub-genres held out each time) and report mean, spread and worst "
                       "draw (default 1: draw --holdout-draw only)")
        c.add_argument("--json", action="store_true", help="print the rows as JSON")
        _add_model_flags(c)
        c.set_defaults(genre_handler=cmd_compare_genre)
    if evaluate_sub is not None:
        e = evaluate_sub.add_parser("genre", help="accuracy and F1 of a genre model",
                                    description="Score a genre model on labelled songs.")
        e.add_argument("--data", type=Path, required=True,
                       help="a ChordPro folder, a built dataset or a CSV with lyrics,genre")
        e.add_argument("--model", default="default",
                       help="default (SmolLM2 + features, early exit), smollm2-full, "
                       "smollm2-early, minilm (the fast one), tfidf, or a model/run folder")
        e.add_argument("--split", default=None,
                       help="a built dataset's split; for a ChordPro folder or a CSV, a split "
                       "of the held-out protocol: train, validation, test, test_vol1, "
                       "heldout (test + test_vol1)")
        e.add_argument("--holdout-draw", type=int, default=0, metavar="K",
                       help="with --split: the held-out draw (default 0: the shipped models')")
        e.add_argument("--json", action="store_true", help="print JSON")
        e.set_defaults(genre_handler=cmd_evaluate_genre)
    return handlers


def cmd_train_genre(args: argparse.Namespace) -> int:
    from .train import train_genre

    run_dir = train_genre(config_from_args(args, args.out))
    if int(os.environ.get("RANK", "0")) != 0:  # under accelerate launch only rank 0 reports
        return 0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    print(f"run: {run_dir}")
    for split in ("validation", "test", "test_vol1", "heldout"):
        if split in metrics:
            m = metrics[split]
            print(f"  {split:10} macro-F1 {m['macro_f1']:.3f}  accuracy {m['accuracy']:.3f}")
    return 0


def cmd_train_genre_exit(args: argparse.Namespace) -> int:
    from .early_exit import build_early_exit
    from .train import load_training_songs

    songs = load_training_songs(args.data) if args.data else None
    out = build_early_exit(args.early, args.full, args.out, songs=songs,
                           threshold=args.threshold)
    metrics = json.loads((out / "metrics.json").read_text())
    print(f"model: {out} (threshold {metrics['threshold']:.2f})")
    val = metrics.get("validation")
    if val:
        print(f"  validation macro-F1 {val['macro_f1']:.3f}  exit early {val['exit_rate']:.0%}")
    for split in ("test", "test_vol1", "heldout"):
        if split in metrics:
            m = metrics[split]
            print(f"  {split:10} macro-F1 {m['macro_f1']:.3f}  accuracy {m['accuracy']:.3f}  "
                  f"exit early {m['exit_rate']:.0%}")
    return 0


def cmd_compare_genre(args: argparse.Namespace) -> int:
    from .compare import compare_genre, format_table

    base = config_from_args(args, args.out)
    # the offline backbones get their presets' settings (flags on top); others the --preset
    per_backbone = {bb: config_from_args(args, args.out, preset=preset_for_backbone(bb))
                    for bb in args.backbones if preset_for_backbone(bb)}
    # the shipped default: the smollm2 run with its early exit
    early = {bb: config_from_args(args, args.out, preset="smollm2-early")
             for bb in args.backbones if preset_for_backbone(bb) == "smollm2"}
    rows = compare_genre(args.backbones, base=base, out_dir=args.out,
                         baselines=not args.no_baselines, plain=not args.no_plain,
                         per_backbone=per_backbone, early_exit=early, draws=args.draws)
    print(json.dumps(rows, indent=2) if args.json else format_table(rows))
    return 0


def cmd_evaluate_genre(args: argparse.Namespace) -> int:
    from .evaluate import load_eval_songs
    from .train import evaluate_genre

    songs = load_eval_songs(args.data, args.split, draw=args.holdout_draw)
    if not songs:
        raise SongwrightError(f"--data {args.data}: no songs")
    from .load import trained_draw

    drawn = trained_draw(args.model)
    if args.split in ("test", "test_vol1", "heldout") and drawn not in (None, args.holdout_draw):
        print(f"warning: {args.model} was trained on held-out draw {drawn}; draw "
              f"{args.holdout_draw}'s {args.split} songs include songs it was trained on, so "
              f"this is not a held-out score (train with --holdout-draw {args.holdout_draw} "
              "to get one)", file=sys.stderr)
    metrics = evaluate_genre(args.model, songs)
    if args.json:
        print(json.dumps(metrics, indent=2))
        return 0
    print(f"n={metrics['n']} accuracy={metrics['accuracy']:.3f} macro_f1={metrics['macro_f1']:.3f}")
    for lab, f in metrics["per_genre_f1"].items():
        print(f"  {lab:8} F1 {f:.3f}")
    labels = metrics["labels"]
    print("confusion (rows true, columns predicted): " + " ".join(labels))
    for lab, row in zip(labels, metrics["confusion_matrix"]):
        print(f"  {lab:8} " + " ".join(f"{v:4d}" for v in row))
    return 0
