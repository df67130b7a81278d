"""CLI hooks for the lyrics stage: ``train lyrics`` (LoRA) and ``evaluate lyrics``.

The main CLI owns the parser; it calls :func:`add_lyrics_commands` with its ``train`` and
``evaluate`` subparser objects and dispatches with ``args.lyrics_handler(args)``. Only these
handlers print.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable
from pathlib import Path

from ...errors import SongwrightError

log = logging.getLogger(__name__)

Handler = Callable[[argparse.Namespace], int]


def _modules(text: str) -> tuple[str, ...]:
    return tuple(x for x in text.replace(",", " ").split() if x)


def add_lyrics_commands(train_sub: argparse._SubParsersAction | None,
                        evaluate_sub: argparse._SubParsersAction | None) -> dict[str, Handler]:
    """Add ``lyrics`` under each given subparsers object.

    Returns:
        Handlers keyed ``"train"`` and ``"evaluate"``; each parser also gets
        ``set_defaults(lyrics_handler=...)``.
    """
    from .train import LyricsTrainConfig

    d = LyricsTrainConfig.__dataclass_fields__
    if train_sub is not None:
        t = train_sub.add_parser(
            "lyrics", help="LoRA fine-tune the lyrics model on songbook sections",
            description="LoRA SFT of the lyrics model on (writer prompt -> real section lines) "
            "pairs from the songbook train split; best adapter by validation loss.")
        t.add_argument("--out", type=Path, default=Path("runs/lyrics-lora"), help="run directory")
        t.add_argument("--base", default="default",
                       help="default (SmolLM2-135M-Instruct), tiny-random, or a model folder")
        t.add_argument("--data", type=Path, default=None,
                       help="a data root with songbook/ or a ChordPro folder (default: "
                       "$SONGWRIGHT_DATA)")
        t.add_argument("--epochs", type=int, default=d["epochs"].default)
        t.add_argument("--lr", type=float, default=d["lr"].default)
        t.add_argument("--lora-r", type=int, default=d["lora_r"].default)
        t.add_argument("--lora-alpha", type=int, default=d["lora_alpha"].default)
        t.add_argument("--lora-dropout", type=float, default=d["lora_dropout"].default)
        t.add_argument("--target-modules", type=_modules, default=("q_proj", "k_proj", "v_proj",
                                                                    "o_proj"),
                       help="comma-separated module names (default q_proj,k_proj,v_proj,o_proj)")
        t.add_argument("--batch-size", type=int, default=d["batch_size"].default)
        t.add_argument("--max-length", type=int, default=d["max_length"].default,
                       help="tokens per example; long prompts lose their oldest tokens")
        t.add_argument("--max-steps", type=int, default=None, help="stop after N steps")
        t.add_argument("--eval-steps", type=int, default=None,
                       help="validate and keep a checkpoint every N steps (default: per epoch)")
        t.add_argument("--warmup-steps", type=int, default=d["warmup_steps"].default)
        t.add_argument("--limit", type=int, default=None, help="at most N training songs")
        t.add_argument("--eval-limit", type=int, default=None, help="at most N validation songs")
        t.add_argument("--summariser", default=None,
                       help="seq2seq model folder for missing verse prompts (default: extractive)")
        t.add_argument("--seed", type=int, default=d["seed"].default)
        t.set_defaults(lyrics_handler=cmd_train_lyrics)
    if evaluate_sub is not None:
        e = evaluate_sub.add_parser(
            "lyrics", help="write songs for prompts and measure them",
            description="Structure validity, title presence, distinct-1/2, repeated lines, "
            "rhyme density, syllable spread, genre adherence and speed of a lyrics model.")
        e.add_argument("--prompts", type=Path, required=True,
                       help="a ChordPro folder (their metadata are the prompts) or a JSONL file")
        e.add_argument("--limit", type=int, default=None, help="at most N prompts")
        e.add_argument("--split", choices=("train", "validation", "test"), default=None,
                       help="ChordPro folder: only songs of this artist-hash split (e.g. the "
                       "test songs a LoRA adapter never saw)")
        e.add_argument("--per-genre", type=int, default=None,
                       help="at most N prompts per genre")
        e.add_argument("--model", default="default",
                       help="lyrics model name or folder (see `generate --lyrics-model`; "
                       "smollm2 = the default model without its shipped adapter)")
        e.add_argument("--backend", choices=("auto", "transformers", "llama-cpp"),
                       default="auto", help="engine for default/smollm2 (auto: llama.cpp when "
                       "installed)")
        e.add_argument("--adapter", type=Path, default=None,
                       help="a LoRA adapter folder (e.g. RUN/adapter from `train lyrics`)")
        e.add_argument("--genre-model", default="default",
                       help="genre model for genre_adherence; 'none' to skip")
        e.add_argument("--json", action="store_true", help="print JSON")
        e.set_defaults(lyrics_handler=cmd_evaluate_lyrics)
    return {"train": cmd_train_lyrics, "evaluate": cmd_evaluate_lyrics}


def config_from_args(args: argparse.Namespace):  # noqa: ANN201
    """A :class:`LyricsTrainConfig` from the ``train lyrics`` flags."""
    from .train import LyricsTrainConfig

    return LyricsTrainConfig(
        out=args.out, base=args.base, data=args.data, epochs=args.epochs, lr=args.lr,
        lora_r=args.lora_r, lora_alpha=args.lora_alpha, lora_dropout=args.lora_dropout,
        target_modules=args.target_modules, batch_size=args.batch_size,
        max_length=args.max_length, max_steps=args.max_steps,
        eval_steps=args.eval_steps, warmup_steps=args.warmup_steps, seed=args.seed, limit=args.limit,
        eval_limit=args.eval_limit, summariser=args.summariser)


def cmd_train_lyrics(args: argparse.Namespace) -> int:
    from .train import train_lyrics

    run_dir = train_lyrics(config_from_args(args))
    m = json.loads((run_dir / "metrics.json").read_text())
    print(f"run: {run_dir}")
    print(f"  adapter: {run_dir / 'adapter'}")
    print(f"  {m['steps']} steps, {m['train_sections']} sections, "
          f"{m['seconds_per_step']:.2f} s/step, best validation loss {m['best_eval_loss']:.4f}")
    return 0


def load_stage(model: str, adapter: Path | None, backend: str = "auto"):  # noqa: ANN201
    """A lyrics stage for ``model``, with ``adapter`` checked against it first."""
    from .factory import make_lyrics_stage

    if adapter is not None:
        if model == "tiny-random":
            raise SongwrightError("--adapter needs a model folder: for a run trained on "
                                  "tiny-random pass --model RUN/base")
        from .train import check_adapter

        check_adapter(adapter, model)
    return make_lyrics_stage(model, adapter=adapter, backend=backend)


def cmd_evaluate_lyrics(args: argparse.Namespace) -> int:
    from .evaluate import evaluate_lyrics, load_prompts

    if args.limit is not None and args.limit < 1:
        raise SongwrightError("--limit must be at least 1")
    if args.per_genre is not None and args.per_genre < 1:
        raise SongwrightError("--per-genre must be at least 1")
    prompts = load_prompts(args.prompts, args.limit, split=args.split, per_genre=args.per_genre)
    stage = load_stage(args.model, args.adapter, args.backend)
    genre = None if str(args.genre_model).lower() == "none" else args.genre_model
    metrics = evaluate_lyrics(stage, prompts, limit=args.limit, genre_model=genre)
    if args.json:
        print(json.dumps(metrics, indent=2))
        return 0
    for k, v in metrics.items():
        print(f"{k:24} {'n/a' if v is None else (f'{v:.3f}' if isinstance(v, float) else v)}")
    return 0
