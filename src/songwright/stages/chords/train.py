"""Train the seq2seq chord model: pre-train on chord-only corpora, fine-tune on lyric songs.

``train_chords(cfg) -> run_dir``. The loop runs through Hugging Face Accelerate, so the same
code runs on one CPU, under ``accelerate launch --num_processes 2`` and on GPUs. The best
checkpoint is the one with the highest validation next-chord top-1 (ties: lower loss); only
improvements are saved.

Teacher forcing is scheduled: the ratio of gold previous tokens falls linearly from
``tf_start`` to ``tf_end`` over the fine-tuning epochs (``tf_fixed`` reproduces the seed's
fixed 0.7). Free-running inputs come from a first, gradient-free pass of the model (two-pass
scheduled sampling, Mihaylova & Martins 2019), which keeps the LSTM a single fused call.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ...data.corpus import assign_split, load_csv_source, load_source
from ...errors import SongwrightError
from ...keys import song_key
from ...model import Song
from .data import (
    IGNORE,
    LineEncoder,
    SongExample,
    build_vocab,
    collate,
    embed_lines,
    relative_key_variant,
    song_to_example,
)
from .evaluate import teacher_forced_metrics
from .seq2seq import ChordSeq2Seq, Seq2SeqChords, Seq2SeqConfig

log = logging.getLogger(__name__)


@dataclass
class ChordTrainConfig:
    """Everything a run needs; written to ``run_dir/train_config.json``."""

    out_dir: Path = Path("runs/chords-seq2seq")
    data_root: Path | None = None
    pretrain_sources: tuple[str, ...] = ("billboard", "ireal")
    finetune_sources: tuple[str, ...] = ("songbook",)
    chordonomicon_csv: Path | None = None
    chordonomicon_limit: int | None = 50000
    pretrain_epochs: int = 3
    epochs: int = 25
    batch_size: int = 16
    lr: float = 2e-3
    weight_decay: float = 0.01
    pos_loss_weight: float = 0.3
    tf_start: float = 1.0
    tf_end: float = 0.8
    tf_fixed: float | None = None
    hidden: int = 256
    emb_dim: int = 64
    dropout: float = 0.2
    min_count: int = 3
    augment_relative_key: bool = False
    seed: int = 0
    device: str = "auto"
    max_songs: int | None = None
    backbone: str = "default"

    def __post_init__(self) -> None:
        self.out_dir = Path(self.out_dir)
        for name in ("tf_start", "tf_end"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise SongwrightError(f"--{name.replace('_', '-')} must be between 0 and 1")
        if self.tf_fixed is not None and not 0.0 <= self.tf_fixed <= 1.0:
            raise SongwrightError("--tf-fixed must be between 0 and 1")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise SongwrightError("--epochs and --batch-size must be >= 1 and --lr > 0")

    def teacher_forcing(self, epoch: int) -> float:
        """The gold-input ratio for a fine-tuning epoch (0-based)."""
        if self.tf_fixed is not None:
            return self.tf_fixed
        frac = epoch / max(self.epochs - 1, 1)
        return self.tf_start + (self.tf_end - self.tf_start) * frac


def load_training_songs(cfg: ChordTrainConfig) -> dict[str, list[Song]]:
    """``pretrain`` (chord-only), ``train``, ``validation``, ``test`` songs."""
    from ...paths import require_data_root

    root = Path(cfg.data_root) if cfg.data_root else require_data_root()
    out: dict[str, list[Song]] = {"pretrain": [], "train": [], "validation": [], "test": []}
    for name in cfg.pretrain_sources:
        try:
            songs, _ = load_source(name, root)
        except (SongwrightError, ImportError, OSError) as e:
            log.warning("skipping pre-training source %s: %s", name, e)
            continue
        out["pretrain"] += songs
    if cfg.chordonomicon_csv:
        out["pretrain"] += load_csv_source(Path(cfg.chordonomicon_csv), "chordonomicon",
                                           cfg.chordonomicon_limit)
    for name in cfg.finetune_sources:
        songs, _ = load_source(name, root)
        for s in songs:
            out[assign_split(s)].append(s)
    if cfg.max_songs:
        out = {k: v[:cfg.max_songs] for k, v in out.items()}
    return out


def key_table(songs: list[Song]) -> dict[str, dict[str, int]]:
    """Genre -> key name -> count: how the stage picks a key for a song without one."""
    table: dict[str, Counter] = {}
    for s in songs:
        try:
            table.setdefault(s.genre or "*", Counter())[song_key(s).name] += 1
        except SongwrightError:
            continue
    return {g: dict(c) for g, c in table.items()}


def _examples(songs: list[Song], vocab, encoder: LineEncoder | None, chord_only: bool,  # noqa: ANN001
              line_dim: int) -> list[SongExample]:
    from tqdm.auto import tqdm

    out = []
    for s in tqdm(songs, desc="examples", disable=len(songs) < 200):
        ex = song_to_example(s, vocab, encoder, chord_only=chord_only, line_dim=line_dim)
        if ex is not None:
            out.append(ex)
    return out


def train_epoch(model, loader, optimizer, accelerator, tf_ratio: float, pos_weight: float,  # noqa: ANN001
                generator: torch.Generator) -> float:
    """One epoch; returns the mean loss. ``tf_ratio < 1`` mixes in the model's own tokens."""
    model.train()
    total = steps = 0.0
    for batch in loader:
        if tf_ratio < 1.0:
            with torch.no_grad():
                logits, _, _ = model(batch)
            pred = logits.argmax(-1)  # (B, T)
            own = torch.rand(pred.shape, generator=generator).to(pred.device) > tf_ratio
            own[:, 0] = False  # <bos> stays
            mixed = batch["inputs"].clone()
            mixed[:, 1:] = torch.where(own[:, 1:] & batch["mask"][:, 1:], pred[:, :-1],
                                       batch["inputs"][:, 1:])
            batch = {**batch, "inputs": mixed}
        logits, pos_logits, _ = model(batch)
        loss = F.cross_entropy(logits.flatten(0, 1), batch["targets"].flatten(),
                               ignore_index=IGNORE)
        if pos_weight:
            loss = loss + pos_weight * F.cross_entropy(
                pos_logits.flatten(0, 1), batch["positions"].flatten(), ignore_index=IGNORE)
        optimizer.zero_grad()
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        total += float(loss.detach())
        steps += 1
    return total / max(steps, 1)


def train_chords(cfg: ChordTrainConfig, songs: dict[str, list[Song]] | None = None,
                 encoder: LineEncoder | None = None, line_dim: int = 384) -> Path:
    """Train, keep the best checkpoint by validation next-chord top-1, return the run dir.

    Args:
        cfg: the run's settings.
        songs: preloaded ``pretrain/train/validation/test`` songs (tests); else from corpora.
        encoder: line encoder callable (tests: tiny); None = the shared default encoder.
        line_dim: width of the encoder's vectors.
    """
    from accelerate import Accelerator
    from torch.utils.data import DataLoader

    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    acc = Accelerator(cpu=cfg.device == "cpu")
    songs = songs or load_training_songs(cfg)
    if not songs.get("train"):
        raise SongwrightError("no lyric-aligned training songs (check --data-root)")
    vocab = build_vocab(songs["pretrain"] + songs["train"], min_count=cfg.min_count)
    log.info("chord vocabulary: %d tokens", len(vocab))
    t0 = time.perf_counter()
    with acc.main_process_first():  # the first process fills the embedding cache
        texts = sorted({ln.text for s in songs["train"] + songs["validation"]
                        for ln in s.lyric_lines})
        if texts:  # one batched pass; per-song look-ups then hit the cache
            embed_lines(texts, encoder)
        pre = _examples(songs["pretrain"], vocab, encoder, True, line_dim)
        train = _examples(songs["train"], vocab, encoder, False, line_dim)
        if cfg.augment_relative_key:  # each song also read in its relative major/minor
            extra = [v for v in map(relative_key_variant, songs["train"]) if v is not None]
            train += _examples(extra, vocab, encoder, False, line_dim)
        val = _examples(songs["validation"] or songs["train"][:20], vocab, encoder, False,
                        line_dim)
    log.info("examples: %d pre-training, %d train, %d validation (%.0f s)", len(pre),
             len(train), len(val), time.perf_counter() - t0)
    mcfg = Seq2SeqConfig(len(vocab), line_dim=line_dim, hidden=cfg.hidden, emb_dim=cfg.emb_dim,
                         dropout=cfg.dropout, backbone=cfg.backbone)
    model = ChordSeq2Seq(mcfg)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)

    def loader(exs: list[SongExample]) -> DataLoader:
        return DataLoader(exs, batch_size=cfg.batch_size, shuffle=True,
                          collate_fn=lambda b: collate(b, vocab.bos_id, vocab.pad_id),
                          generator=torch.Generator().manual_seed(cfg.seed))

    model, opt = acc.prepare(model, opt)
    gen = torch.Generator().manual_seed(cfg.seed)
    history = []
    run_dir = cfg.out_dir
    if pre and cfg.pretrain_epochs:
        pre_loader = acc.prepare(loader(pre))
        for ep in range(cfg.pretrain_epochs):
            loss = train_epoch(model, pre_loader, opt, acc, 1.0, 0.0, gen)
            history.append({"phase": "pretrain", "epoch": ep, "loss": loss})
            log.info("pretrain epoch %d loss %.3f", ep, loss)
    train_loader = acc.prepare(loader(train))
    best: dict | None = None
    stage = Seq2SeqChords(acc.unwrap_model(model), vocab, key_table(songs["train"]),
                          encoder=encoder)
    for ep in range(cfg.epochs):
        tf = cfg.teacher_forcing(ep)
        loss = train_epoch(model, train_loader, opt, acc, tf, cfg.pos_loss_weight, gen)
        m = teacher_forced_metrics(acc.unwrap_model(model), val, vocab, device=acc.device)
        history.append({"phase": "finetune", "epoch": ep, "loss": loss, "tf": tf, **m})
        log.info("epoch %d loss %.3f tf %.2f val top1 %.3f top5 %.3f ppl %.2f", ep, loss, tf,
                 m["next_chord_top1"], m["next_chord_top5"], m["perplexity"])
        score = (m["next_chord_top1"], -m["perplexity"])
        if best is None or score > (best["next_chord_top1"], -best["perplexity"]):
            best = {"epoch": ep, **m}
            if acc.is_main_process:
                stage.metrics = {"validation": best, "history": history}
                stage.save(run_dir)
    acc.wait_for_everyone()
    if acc.is_main_process:
        (run_dir / "history.json").write_text(json.dumps(history, indent=1))
        (run_dir / "train_config.json").write_text(json.dumps(
            {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()},
            indent=1))
    return run_dir
