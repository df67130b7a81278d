"""LoRA fine-tuning of the lyrics model on prompt -> section pairs in the writer's own format.

A training example is one section of a real song: the chat messages the writer would send for
it (:func:`.prompts.section_messages`: system, seed fields, the song so far, the task) and the
section's real lines as the assistant's answer, one per line. Only the answer is in the loss.
The adapter therefore learns exactly the format it is later asked in, and is only valid for
``PROMPT_VERSION`` (recorded in the run).

Run directory::

    run_dir/
      adapter/            adapter_model.safetensors, adapter_config.json, songwright.json
      base/               (only for base "tiny-random": the tiny model, saved so it can be reloaded)
      config.json         the LyricsTrainConfig, base fingerprint, prompt version
      metrics.json        losses per evaluation, best validation loss, timing
"""

from __future__ import annotations

import functools
import json
import logging
import re
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ...errors import SongwrightError
from ...model import Song, SongPrompt
from .plan import LABELS, REPEATING_KINDS, PlannedSection
from .prompts import PROMPT_VERSION, section_messages

log = logging.getLogger(__name__)

IGNORE = -100  # label of prompt tokens: not in the loss
FINGERPRINT_KEYS = ("model_type", "vocab_size", "hidden_size", "num_hidden_layers",
                    "num_attention_heads", "intermediate_size")
_STOP = frozenset("the a an and or but of to in on at for with from by is are was were be i you "
                  "he she it we they my your his her our their me him us them this that".split())


@dataclass
class LyricsTrainConfig:
    """Settings of one LoRA run; validates itself and names the flag in its errors.

    Attributes:
        out: the run directory to write.
        base: ``"default"`` (SmolLM2 via ``ensure_smollm2()``), ``"tiny-random"`` or a local
            Hugging Face model folder.
        data: a ChordPro folder or a data root holding ``songbook/``; None: the data root.
        epochs, lr, batch_size, max_length, seed: the usual.
        lora_r, lora_alpha, lora_dropout, target_modules: the LoRA adapter.
        max_steps: stop after this many optimiser steps (tests, timing); None: all epochs.
        eval_steps: evaluate (and keep a checkpoint) every this many steps; None: once per
            epoch, or at the end of a ``max_steps`` run.
        warmup_steps: linear learning-rate warm-up.
        limit, eval_limit: at most this many training / validation songs.
        summariser: a seq2seq model folder to write missing verse prompts; None: extractive.
    """

    out: Path
    base: str = "default"
    data: Path | None = None
    epochs: int = 3
    lr: float = 2e-4
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
    batch_size: int = 2
    max_length: int = 1024
    max_steps: int | None = None
    eval_steps: int | None = None
    warmup_steps: int = 0
    seed: int = 0
    limit: int | None = None
    eval_limit: int | None = None
    summariser: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.out = Path(self.out)
        self.data = None if self.data is None else Path(self.data)
        self.target_modules = tuple(self.target_modules)
        checks = [("--epochs", self.epochs >= 1, "must be at least 1"),
                  ("--lr", 0 < self.lr < 1, "must be in (0, 1)"),
                  ("--lora-r", self.lora_r >= 1, "must be at least 1"),
                  ("--lora-alpha", self.lora_alpha > 0, "must be positive"),
                  ("--lora-dropout", 0 <= self.lora_dropout < 1, "must be in [0, 1)"),
                  ("--batch-size", self.batch_size >= 1, "must be at least 1"),
                  ("--max-length", self.max_length >= 32, "must be at least 32"),
                  ("--max-steps", self.max_steps is None or self.max_steps >= 1,
                   "must be at least 1"),
                  ("--eval-steps", self.eval_steps is None or self.eval_steps >= 1,
                   "must be at least 1"),
                  ("--warmup-steps", self.warmup_steps >= 0, "must be at least 0"),
                  ("--limit", self.limit is None or self.limit >= 1, "must be at least 1"),
                  ("--eval-limit", self.eval_limit is None or self.eval_limit >= 1,
                   "must be at least 1"),
                  ("--target-modules", bool(self.target_modules), "must name a module")]
        for flag, ok, why in checks:
            if not ok:
                raise SongwrightError(f"{flag} {why}")
        if self.data is not None and not self.data.exists():
            raise SongwrightError(f"--data {self.data} does not exist")
        if self.summariser is not None and \
                not (Path(self.summariser).expanduser() / "config.json").is_file():
            raise SongwrightError(f"--summariser {self.summariser}: not a local model folder "
                                  "with config.json")
        if self.base not in ("default", "smollm2", "tiny-random") and \
                not (Path(self.base).expanduser() / "config.json").is_file():
            raise SongwrightError(f"--base {self.base!r}: not 'default', 'tiny-random' nor a "
                                  "local model folder with config.json")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["out"], d["data"] = str(self.out), None if self.data is None else str(self.data)
        d["target_modules"] = list(self.target_modules)
        return d


# --------------------------------------------------------------------------- data
def summarise_verse_prompt(lyrics: str, model: str | Path | None = None,
                           max_words: int = 20) -> str:
    """A one-sentence "what the first verse is about" for songs that have no prompt.

    Args:
        lyrics: the verse (or song) text.
        model: a local seq2seq summarisation model folder (e.g. a BART/T5 checkpoint); None
            uses a cheap extractive summary: the line richest in content words.
        max_words: the summary is trimmed to this many words.
    """
    text = lyrics.strip()
    if not text:
        return ""
    summary = ""
    if model is not None:
        tok, m = _summariser(str(Path(model).expanduser()))
        enc = tok("summarize: " + text, return_tensors="pt", truncation=True, max_length=512)
        out = m.generate(**enc, max_new_tokens=48, num_beams=2)
        summary = " ".join(tok.decode(out[0], skip_special_tokens=True).split())
        if not summary:
            log.warning("summariser %s wrote nothing; using the extractive summary", model)
    if not summary:
        pieces = [p.strip() for p in re.split(r"[\n.!?]+", text) if p.strip()]

        def density(p: str) -> tuple[float, int]:
            ws = re.findall(r"[A-Za-z']+", p.lower())
            content = [w for w in ws if w not in _STOP and len(w) > 2]
            return (len(set(content)) / max(1, len(ws)) * len(set(content)), -len(ws))

        summary = max(pieces, key=density)
    return " ".join(summary.split()[:max_words]).strip(" ,;:-")


@functools.lru_cache(maxsize=2)
def _summariser(path: str) -> tuple[Any, Any]:
    """A local seq2seq summarisation model and its tokenizer, loaded once per folder."""
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    if not (Path(path) / "config.json").is_file():
        raise SongwrightError(f"--summariser {path} is not a model folder (no config.json)")
    tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    return tok, AutoModelForSeq2SeqLM.from_pretrained(path, local_files_only=True).eval()


def song_examples(song: Song, summariser: str | Path | None = None) -> list[dict[str, Any]]:
    """The writer-format examples of one song: ``{"messages": [...], "completion": str}``.

    One example per section with lyric lines; a chorus/hook that comes back word for word is
    trained once (the writer copies it).
    """
    prompt = song.to_prompt()
    if not prompt.verse_prompt.strip():
        first = next((s for s in song.sections if s.lyric_lines), None)
        if first is not None:
            verse = "\n".join(ln.text for ln in first.lyric_lines)
            prompt = SongPrompt(**{**prompt.to_dict(), "subgenres": prompt.subgenres,
                                   "structure": None,
                                   "verse_prompt": summarise_verse_prompt(verse, summariser)})
    out: list[dict[str, Any]] = []
    done: list[tuple[str, tuple[str, ...]]] = []
    seen_repeats: set[str] = set()
    for sec in song.sections:
        lines = tuple(ln.text.strip() for ln in sec.lyric_lines)
        if not lines:
            continue
        if sec.kind in REPEATING_KINDS:
            if sec.kind in seen_repeats:
                continue
            seen_repeats.add(sec.kind)
        name = LABELS.get(sec.kind, sec.kind.capitalize())
        # the writer's labels ("Chorus", "Verse 2"), not the file's spelling of them
        label = sec.label or (name if sec.number is None else f"{name} {sec.number}")
        planned = PlannedSection(sec.kind, label, sec.number, len(lines))
        # prefill=True is how local models are asked (one line at a time, continuing the
        # assistant turn); with no accepted lines yet its prompt ends at the assistant header
        msgs = section_messages(prompt, planned, done, [], prefill=True)[:-1]
        out.append({"messages": msgs, "completion": "\n".join(lines)})
        done.append((label, lines))
    return out


def load_lyrics_songs(data: Path | None, split: str, limit: int | None = None) -> list[Song]:
    """Songs with lyrics from a data root (its songbook) or a ChordPro folder, one split.

    Splits come from :func:`songwright.data.corpus.assign_split` (by artist).
    """
    from ...data.corpus import assign_split, load_source
    from ...paths import require_data_root

    root = data or require_data_root()
    if (root / "songbook").is_dir():
        songs, _ = load_source("songbook", root)
    elif root.is_dir():
        from ...formats.chordpro import read_chordpro

        songs = [read_chordpro(f) for f in sorted(root.rglob("*.cho"))]
    else:
        raise SongwrightError(f"--data {root} is neither a data root nor a ChordPro folder")
    songs = [s for s in songs if s.lyric_lines and assign_split(s) == split]
    return songs[:limit]


# --------------------------------------------------------------------------- model
def resolve_base(cfg: LyricsTrainConfig) -> Path:
    """The base model folder (the tiny model is saved into the run so it can be reloaded)."""
    if cfg.base in ("default", "smollm2"):
        from .default import ensure_smollm2

        return ensure_smollm2()
    if cfg.base == "tiny-random":
        from .tiny import tiny_random_lm

        lm = tiny_random_lm(seed=cfg.seed)
        path = cfg.out / "base"
        lm.model.save_pretrained(path)
        lm.tokenizer.save_pretrained(path)
        return path
    return Path(cfg.base).expanduser()


def base_fingerprint(path: str | Path) -> dict[str, Any]:
    """The architecture fields of a model folder's config.json (what an adapter must match)."""
    cfg = json.loads((Path(path) / "config.json").read_text())
    return {k: cfg.get(k) for k in FINGERPRINT_KEYS}


def check_adapter(adapter: str | Path, base: str | Path) -> None:
    """Refuse an adapter trained on another base model or another prompt version.

    Raises:
        SongwrightError: naming the adapter, the base it was trained on and the one given.
    """
    adapter = Path(adapter).expanduser()
    meta_path = adapter / "songwright.json"
    if not (adapter / "adapter_config.json").is_file():
        raise SongwrightError(f"--adapter {adapter} holds no adapter_config.json")
    if not meta_path.is_file():
        log.warning("adapter %s has no songwright.json; cannot check its base model", adapter)
        return
    meta = json.loads(meta_path.read_text())
    base_path = Path(base).expanduser()
    if str(base) in ("default", "smollm2"):
        from .default import ensure_smollm2

        base_path = ensure_smollm2()
    if not (base_path / "config.json").is_file():
        raise SongwrightError(f"cannot check adapter {adapter} against {base!s}: "
                              "not a local model folder")
    have = base_fingerprint(base_path)
    if have != meta["base_fingerprint"]:
        diff = {k: (meta["base_fingerprint"].get(k), v) for k, v in have.items()
                if meta["base_fingerprint"].get(k) != v}
        raise SongwrightError(
            f"adapter {adapter} was trained on base {meta['base']!r}, not on {str(base)!r} "
            f"(config differs: {diff}); pass --model {meta['base']}")
    if meta.get("prompt_version") != PROMPT_VERSION:
        raise SongwrightError(f"adapter {adapter} was trained for prompt version "
                              f"{meta.get('prompt_version')!r}, the writer uses {PROMPT_VERSION!r}")


def tokenize_example(tok: Any, ex: dict[str, Any], max_length: int) -> dict[str, list[int]] | None:
    """input_ids/labels of one example; the prompt part is masked out of the loss.

    The prompt is rendered as the writer renders it (chat template + generation prompt), the
    answer is the lines and the end-of-turn token. Too long: the prompt loses its oldest
    tokens; an answer that alone does not fit gives None.
    """
    prompt = tok.apply_chat_template(ex["messages"], tokenize=False, add_generation_prompt=True)
    p_ids = list(tok(prompt, add_special_tokens=False)["input_ids"])
    a_ids = list(tok(ex["completion"] + "\n", add_special_tokens=False)["input_ids"])
    a_ids.append(tok.eos_token_id)
    if len(a_ids) >= max_length // 2:
        return None
    p_ids = p_ids[-(max_length - len(a_ids)):]
    return {"input_ids": p_ids + a_ids, "labels": [IGNORE] * len(p_ids) + a_ids}


def _collate(pad_id: int):  # noqa: ANN202
    import torch

    def collate(rows: list[dict[str, list[int]]]) -> dict[str, Any]:
        n = max(len(r["input_ids"]) for r in rows)
        ids = torch.full((len(rows), n), pad_id, dtype=torch.long)  # (B, T)
        labels = torch.full((len(rows), n), IGNORE, dtype=torch.long)  # (B, T)
        mask = torch.zeros((len(rows), n), dtype=torch.long)  # (B, T)
        for i, r in enumerate(rows):
            k = len(r["input_ids"])
            ids[i, :k] = torch.tensor(r["input_ids"])
            labels[i, :k] = torch.tensor(r["labels"])
            mask[i, :k] = 1
        # the causal-LM loss shifts labels itself
        return {"input_ids": ids, "labels": labels, "attention_mask": mask}

    return collate


# --------------------------------------------------------------------------- training
def train_lyrics(cfg: LyricsTrainConfig) -> Path:
    """Fine-tune a LoRA adapter for the lyrics writer; return the run directory.

    Evaluates on the songbook validation split each epoch (or at the end of a ``max_steps``
    run) and keeps the adapter with the lowest validation loss.

    Raises:
        SongwrightError: no training data, or a bad base model.
    """
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        PrinterCallback,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    t_start = time.perf_counter()
    cfg.out.mkdir(parents=True, exist_ok=True)
    set_seed(cfg.seed)
    train_songs = load_lyrics_songs(cfg.data, "train", cfg.limit)
    val_songs = load_lyrics_songs(cfg.data, "validation", cfg.eval_limit)
    if not train_songs:
        raise SongwrightError(f"--data {cfg.data}: no training songs with lyrics")
    base_path = resolve_base(cfg)
    tok = AutoTokenizer.from_pretrained(base_path, local_files_only=True)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token

    def encode(songs: list[Song]) -> list[dict[str, list[int]]]:
        rows = [tokenize_example(tok, ex, cfg.max_length)
                for s in songs for ex in song_examples(s, cfg.summariser)]
        return [r for r in rows if r is not None]

    train_rows = encode(train_songs)
    val_rows = encode(val_songs)
    if not val_rows:
        log.warning("no validation songs; selecting the checkpoint by training-set loss")
        val_rows = train_rows
    log.info("lyrics LoRA: %d train / %d validation sections from %d / %d songs",
             len(train_rows), len(val_rows), len(train_songs), len(val_songs))

    model = AutoModelForCausalLM.from_pretrained(base_path, dtype=torch.float32,
                                                 local_files_only=True)
    lora = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=list(cfg.target_modules), task_type="CAUSAL_LM")
    model = get_peft_model(model, lora)
    ckpt = cfg.out / "checkpoints"
    by_steps = cfg.max_steps is not None or cfg.eval_steps is not None
    every = cfg.eval_steps or cfg.max_steps
    args = TrainingArguments(
        output_dir=str(ckpt), num_train_epochs=cfg.epochs, max_steps=cfg.max_steps or -1,
        learning_rate=cfg.lr, per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size, seed=cfg.seed, data_seed=cfg.seed,
        eval_strategy="steps" if by_steps else "epoch",
        save_strategy="steps" if by_steps else "epoch",
        eval_steps=every, save_steps=every, warmup_steps=cfg.warmup_steps,
        load_best_model_at_end=True, metric_for_best_model="eval_loss", greater_is_better=False,
        save_only_model=True, save_total_limit=2, logging_steps=1, report_to=[],
        use_cpu=not torch.cuda.is_available(), remove_unused_columns=False,
        dataloader_num_workers=0, disable_tqdm=not sys.stderr.isatty())
    trainer = Trainer(model=model, args=args, train_dataset=train_rows, eval_dataset=val_rows,
                      data_collator=_collate(tok.pad_token_id))
    trainer.remove_callback(PrinterCallback)  # the library logs; only the CLI prints
    t0 = time.perf_counter()
    result = trainer.train()
    train_s = time.perf_counter() - t0
    adapter = cfg.out / "adapter"
    trainer.model.save_pretrained(adapter, safe_serialization=True)
    tok.save_pretrained(adapter)
    base_name = str(base_path) if cfg.base == "tiny-random" else cfg.base
    meta = {"base": base_name, "base_path": str(base_path),
            "base_fingerprint": base_fingerprint(base_path), "prompt_version": PROMPT_VERSION}
    (adapter / "songwright.json").write_text(json.dumps(meta, indent=2))
    evals = [h for h in trainer.state.log_history if "eval_loss" in h]
    train_losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    steps = trainer.state.global_step
    eval_s = sum(h.get("eval_runtime", 0.0) for h in evals)
    metrics = {"train_sections": len(train_rows), "validation_sections": len(val_rows),
               "train_songs": len(train_songs), "validation_songs": len(val_songs),
               "steps": steps, "train_loss": result.training_loss,
               "first_loss": train_losses[0] if train_losses else None,
               "last_loss": train_losses[-1] if train_losses else None,
               "evals": [{"step": h["step"], "eval_loss": h["eval_loss"]} for h in evals],
               "best_eval_loss": trainer.state.best_metric,
               "best_checkpoint": Path(trainer.state.best_model_checkpoint).name
               if trainer.state.best_model_checkpoint else None,
               "train_seconds": round(train_s, 2),
               "eval_seconds": round(eval_s, 2),
               # optimiser steps only: the validation passes are timed apart
               "seconds_per_step": round((train_s - eval_s) / max(1, steps), 3),
               "total_seconds": round(time.perf_counter() - t_start, 2)}
    (cfg.out / "config.json").write_text(json.dumps(
        {**cfg.to_dict(), **meta, "kind": "lyrics-lora"}, indent=2))
    (cfg.out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    # intermediate checkpoints are only for picking the best one; the adapter is the result
    shutil.rmtree(ckpt, ignore_errors=True)
    log.info("lyrics LoRA: %d steps, best validation loss %s, %.1f s -> %s", steps,
             metrics["best_eval_loss"], train_s, adapter)
    return cfg.out
