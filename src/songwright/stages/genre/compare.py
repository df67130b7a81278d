"""Compare genre models on one split: the seed's Table 1 for our data.

Rows: a majority-class baseline, TF-IDF + logistic regression, stylistic features alone, and
for each backbone the model trained with the given settings. Every row is trained on the same
``train`` split of :func:`protocol.heldout_split` and scored on the held-out ``test`` split
(plus macro-F1 on ``test_vol1`` and on both together, ``heldout``). Loss is the mean negative
log-likelihood on the test songs; songs/s is batched inference on the test songs, encoding
included (no cache).

With ``draws > 1`` the whole comparison runs once per held-out draw (other whole sub-genres
held out each time, see :mod:`protocol`) and each row reports the mean, the standard
deviation and the worst draw: one draw's 85 test songs move by about 0.012 per song.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from ...errors import SongwrightError
from ...model import Song
from .protocol import heldout_groups, heldout_split
from .tfidf import TfidfGenre, check_eval_songs, genre_scores, song_text
from .train import GenreTrainConfig, evaluate_genre, load_training_songs, train_genre

log = logging.getLogger(__name__)

COLUMNS = ("model", "loss", "accuracy", "macro_f1", "macro_f1_vol1", "macro_f1_heldout",
           "train_s", "songs_per_s")
NUMERIC = COLUMNS[1:]


class MajorityGenre:
    """Always the most frequent training genre; probabilities are the training priors."""

    name = "majority"

    def __init__(self, songs: list[Song]) -> None:
        counts: dict[str, int] = {}
        for s in songs:
            counts[s.genre] = counts.get(s.genre, 0) + 1
        self.labels = sorted(counts)
        self.priors = np.array([counts[g] for g in self.labels], dtype=float) / len(songs)
        self.top = self.labels[int(np.argmax(self.priors))]  # ties: as the probabilities say

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return np.tile(self.priors, (len(texts), 1))

    def predict(self, texts: list[str]) -> list[str]:
        return [self.top] * len(texts)


def last_layer(backbone: str) -> int:
    """The index of a backbone's last hidden state (its number of layers)."""
    from transformers import AutoConfig

    from .encoder import resolve_backbone

    try:
        return int(AutoConfig.from_pretrained(resolve_backbone(backbone)).num_hidden_layers)
    except (OSError, ValueError) as e:
        raise SongwrightError(f"cannot read the config of backbone {backbone!r}: {e}") from e


def run_name(tag: str, cfg: GenreTrainConfig) -> str:
    """A table row's name from a backbone tag and its settings."""
    layers = "+".join(f"L{x}" for x in cfg.layers)
    how = {"lines": "each line mean-pooled, lines averaged",
           "text": "whole lyrics mean-pooled"}[cfg.granularity]
    extras = [x for x, on in (("repeats dropped", cfg.drop_repeats),
                              ("refit on train + validation", cfg.refit)) if on]
    feats = " + stylistic features" if cfg.use_features else ""
    return f"{tag} {cfg.mode}, {how} {layers}{feats}" + (f" ({', '.join(extras)})" if extras
                                                         else "")


def _row(name: str, model, splits: dict[str, list[Song]], train_s: float) -> dict:  # noqa: ANN001
    groups = heldout_groups(splits)
    test = check_eval_songs(model.labels, groups["test"])
    t0 = time.perf_counter()
    probs = model.predict_proba([song_text(s) for s in test])
    songs_s = len(test) / max(time.perf_counter() - t0, 1e-9)
    vol1 = [s for s in groups["test_vol1"] if s.genre]
    if vol1:
        check_eval_songs(model.labels, vol1 + test)  # genres the model knows
        probs = np.concatenate([probs, model.predict_proba([song_text(s) for s in vol1])])
    pred = [model.labels[i] for i in probs.argmax(1)]
    y = [s.genre for s in test + vol1]
    m = genre_scores(model.labels, y[:len(test)], pred[:len(test)])
    idx = [model.labels.index(g) for g in y[:len(test)]]
    loss = float(-np.mean(np.log(np.clip(probs[np.arange(len(test)), idx], 1e-7, 1.0))))

    def f1(lo: int, hi: int | None) -> float:
        if len(set(y[lo:hi])) < 2:
            return float("nan")
        return genre_scores(model.labels, y[lo:hi], pred[lo:hi])["macro_f1"]

    return {"model": name, "loss": loss, "accuracy": m["accuracy"], "macro_f1": m["macro_f1"],
            "macro_f1_vol1": f1(len(test), None), "macro_f1_heldout": f1(0, None),
            "train_s": train_s, "songs_per_s": songs_s, "n": m["n"]}


def exit_row_name(layers: str, threshold: str) -> str:
    """The name of an early-exit row (``threshold``: one value, or a range over draws)."""
    return (f"the same with an early exit: {layers} + features when sure (top probability "
            f">= {threshold}, chosen on validation)")


def compare_genre(backbones: list[str], base: GenreTrainConfig | None = None,
                  songs: list[Song] | None = None, out_dir: Path = Path("runs/genre-compare"),
                  baselines: bool = True, plain: bool = True,
                  per_backbone: dict[str, GenreTrainConfig] | None = None,
                  early_exit: dict[str, GenreTrainConfig] | None = None,
                  draws: int = 1) -> list[dict]:
    """Train every backbone on the same split and score all rows on the held-out test songs.

    Args:
        backbones: names or folders of encoders.
        base: settings for each backbone's run (``backbone`` and ``out`` are replaced).
        songs: labelled songs (default: from ``base.data``).
        out_dir: each run is written to ``out_dir/<i>-<backbone name>``.
        baselines: add the majority, TF-IDF and features-only rows.
        plain: also add, per backbone, the classic frozen last-layer mean-pool + linear head.
        per_backbone: settings for some backbones instead of ``base`` (the CLI passes a
            backbone's preset, e.g. ``smollm2``).
        early_exit: for some backbones, the settings of a shallow run; it is trained too and
            combined with the backbone's run into an early-exit row (the CLI: ``smollm2``
            with ``smollm2-early``, the shipped default).
        draws: 1: one comparison on ``base.holdout_draw``; N > 1: one on each of the held-out
            draws 0..N-1 (runs under ``out_dir/draw-<k>``), rows averaged (:func:`aggregate`).

    Returns:
        Rows with the keys of :data:`COLUMNS` (and ``n``); with ``draws > 1`` also ``draws``,
        ``<column>_sd``, ``<column>_min`` and ``<column>_draws`` (the per-draw values).
    """
    if not isinstance(draws, int) or draws < 1:
        raise SongwrightError(f"--draws must be an integer >= 1, got {draws!r}")
    base = base or GenreTrainConfig()
    songs = load_training_songs(base.data) if songs is None else songs
    if draws == 1:
        return _compare_one(backbones, base, songs, Path(out_dir), baselines, plain,
                            per_backbone or {}, early_exit or {})
    from tqdm.auto import tqdm

    per_draw = []
    for d in tqdm(range(draws), desc="held-out draws", unit="draw"):
        per = {bb: replace(c, holdout_draw=d) for bb, c in (per_backbone or {}).items()}
        early = {bb: replace(c, holdout_draw=d) for bb, c in (early_exit or {}).items()}
        per_draw.append(_compare_one(backbones, replace(base, holdout_draw=d), songs,
                                     Path(out_dir) / f"draw-{d}", baselines, plain, per, early))
    return aggregate(per_draw)


def aggregate(per_draw: list[list[dict]]) -> list[dict]:
    """One row per model from the same comparison on several draws: the mean of each numeric
    column, its standard deviation over draws (``_sd``), its worst draw (``_min``) and the
    per-draw values (``_draws``)."""
    out = []
    for rows in zip(*per_draw, strict=True):
        first = rows[0]
        # an early-exit row's name holds its threshold, which each draw chooses anew
        if len({r.get("exit_layers") or r["model"] for r in rows}) > 1:
            raise SongwrightError("draws gave different rows: " + ", ".join(r["model"]
                                                                           for r in rows))
        row: dict = {"model": first["model"], "draws": len(rows)}
        if "threshold" in first:
            ts = sorted(r["threshold"] for r in rows)
            row["model"] = exit_row_name(first["exit_layers"], f"{ts[0]:.2f}-{ts[-1]:.2f}"
                                         if ts[0] != ts[-1] else f"{ts[0]:.2f}")
            row["threshold_draws"] = [r["threshold"] for r in rows]
        for col in (*NUMERIC, "n"):
            vals = np.array([r[col] for r in rows], dtype=float)
            row[col] = float(np.mean(vals))
            row[f"{col}_sd"] = float(np.std(vals, ddof=1))
            row[f"{col}_min"] = float(np.min(vals))
            row[f"{col}_draws"] = [float(v) for v in vals]
        out.append(row)
    return out


def _compare_one(backbones: list[str], base: GenreTrainConfig, songs: list[Song],
                 out_dir: Path, baselines: bool, plain: bool,
                 per_backbone: dict[str, GenreTrainConfig],
                 early_exit: dict[str, GenreTrainConfig]) -> list[dict]:
    """:func:`compare_genre` on one held-out draw (``base.holdout_draw``)."""
    splits = heldout_split(songs, base.holdout_fraction, draw=base.holdout_draw)
    if len({s.genre for s in splits["test"]}) < 2:
        raise SongwrightError("the held-out test split has fewer than two genres")
    rows = []
    if baselines:
        t0 = time.perf_counter()
        rows.append(_row("majority class", MajorityGenre(splits["train"]), splits,
                         time.perf_counter() - t0))
        t0 = time.perf_counter()
        tfidf = TfidfGenre.train(splits["train"], seed=base.seed)
        rows.append(_row("TF-IDF + logistic regression", tfidf, splits, time.perf_counter() - t0))
        head = "linear" if base.hidden == 0 else f"bag of {base.members} MLPs"
        refit = ", refit on train + validation" if base.refit else ""
        runs = [(f"stylistic features ({head}{refit})",
                 replace(base, use_embeddings=False, out=Path(out_dir) / "features"), None)]
    else:
        runs = []
    for i, bb in enumerate(backbones):
        from .encoder import DEFAULT_ALIASES, DEFAULT_BACKBONE

        tag = DEFAULT_BACKBONE if bb in DEFAULT_ALIASES else (Path(bb).name or bb)
        cfg = per_backbone.get(bb, base)
        if plain:
            last = last_layer(bb)
            runs.append((f"{tag} frozen, mean-pool L{last} + linear",
                         replace(cfg, backbone=bb, layers=(last,), num_layers=last,
                                 granularity="text", use_features=False, refit=False,
                                 mode="frozen", out=Path(out_dir) / f"{i}-{tag}-plain"), None))
        early = early_exit.get(bb)
        runs.append((run_name(tag, cfg), replace(cfg, backbone=bb, num_layers=None,
                                                 out=Path(out_dir) / f"{i}-{tag}"),
                     None if early is None else
                     replace(early, backbone=bb, num_layers=None,
                             out=Path(out_dir) / f"{i}-{tag}-early")))
    from .early_exit import EarlyExitGenre, build_early_exit
    from .transformer import TransformerGenre

    for name, cfg, early in runs:  # each built by replace(), which validates it again
        t0 = time.perf_counter()
        run_dir = train_genre(cfg, songs=songs)
        train_s = time.perf_counter() - t0
        rows.append(_row(name, TransformerGenre.load(run_dir, device=cfg.device), splits, train_s))
        log.info("%s: %s", name, rows[-1])
        if early is not None:
            t0 = time.perf_counter()
            early_dir = train_genre(early, songs=songs)
            exit_dir = build_early_exit(early_dir, run_dir, run_dir.with_name(
                f"{run_dir.name}-exit"), songs=songs)
            train_s += time.perf_counter() - t0
            model = EarlyExitGenre.load(exit_dir, device=cfg.device)
            layers = "+".join(f"L{x}" for x in early.layers)
            rows.append({**_row(exit_row_name(layers, f"{model.threshold:.2f}"), model, splits,
                                train_s), "threshold": model.threshold, "exit_layers": layers})
            log.info("%s: %s", rows[-1]["model"], rows[-1])
    return rows


def format_table(rows: list[dict]) -> str:
    """A Markdown table like the seed's Table 1 (with macro-F1, time and throughput); rows
    from several draws get the mean and spread of held-out macro-F1 first."""
    if rows and "draws" in rows[0]:
        n = rows[0]["draws"]
        lines = [f"| model | held-out macro-F1, mean ± sd over {n} draws | worst draw | "
                 "macro-F1 test | macro-F1 vol. 1 | accuracy test | loss test | train s | "
                 "songs/s |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for r in rows:
            lines.append(f"| {r['model']} | {r['macro_f1_heldout']:.3f} ± "
                         f"{r['macro_f1_heldout_sd']:.3f} | {r['macro_f1_heldout_min']:.3f} | "
                         f"{r['macro_f1']:.3f} | {r['macro_f1_vol1']:.3f} | "
                         f"{r['accuracy']:.3f} | {r['loss']:.2f} | {r['train_s']:.1f} | "
                         f"{r['songs_per_s']:.0f} |")
        return "\n".join(lines)
    lines = ["| model | loss | accuracy | macro-F1 | macro-F1 vol. 1 | macro-F1 held out | "
             "train s | songs/s |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['loss']:.2f} | {r['accuracy']:.3f} | "
                     f"{r['macro_f1']:.3f} | {r['macro_f1_vol1']:.3f} | "
                     f"{r['macro_f1_heldout']:.3f} | {r['train_s']:.1f} | "
                     f"{r['songs_per_s']:.0f} |")
    return "\n".join(lines)


__all__ = ["COLUMNS", "MajorityGenre", "aggregate", "compare_genre", "evaluate_genre",
           "exit_row_name", "format_table"]
