"""Early exit: a head on a shallow layer answers the songs it is sure of; the others go on
through the full depth to the accurate head.

Both heads read the same frozen decoder (the shallow one through :func:`encoder.layer_view` of
the deep one's loaded backbone: one copy of the weights). On the songbook the 2-layer SmolLM2
head is confident (top probability at least the threshold) on about three songs in four, and
on those it is as accurate as the 12-layer head; the rest pay for both passes. The threshold is
chosen on the validation songs, from the two members' selection-run predictions
(``validation_predictions.json``): the lowest on :data:`THRESHOLDS` at which the combination
scores at least the deep head's validation macro-F1. Nothing about it looks at the held-out
test songs.

A saved early-exit model is a folder: ``config.json`` (kind ``early-exit``, the threshold, the
validation table), ``metrics.json`` (held-out scores and how many songs exit early) and the two
members, ``early/`` and ``full/``, each a transformer genre run folder.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ...errors import SongwrightError
from ...model import Song
from .tfidf import classify_song, read_model_config
from .transformer import TransformerGenre, check_texts

log = logging.getLogger(__name__)

KIND = "early-exit"
FORMAT_VERSION = 1
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99)
MEMBERS = ("early", "full")


class EarlyExitGenre:
    """Two transformer genre models as one stage: ``early`` first, ``full`` where ``early``'s
    top probability is below ``threshold``.

    Args:
        early: the shallow model (fewer encoder layers).
        full: the deep model.
        threshold: in ``(0, 1]``; above 1 every song goes to ``full``, 0 none.
        settings: saved settings (model name, validation table), kept as they are.
    """

    name = "early-exit"

    def __init__(self, early: TransformerGenre, full: TransformerGenre, threshold: float,
                 settings: dict | None = None, metrics: dict | None = None) -> None:
        if early.labels != full.labels:
            raise SongwrightError(f"early-exit members disagree on the genres: {early.labels} "
                                  f"vs {full.labels}")
        if early.depth() > full.depth():
            raise SongwrightError(f"the early member reads {early.depth()} layers, more than "
                                  f"the full one's {full.depth()}")
        self.early, self.full = early, full
        self.threshold = float(threshold)
        self.settings = dict(settings or {})
        self.metrics = metrics or {}
        self.labels = list(full.labels)
        self.exits = np.zeros(0, dtype=bool)  # per song of the last call: answered early
        self._shared: bool | None = None

    def _share(self) -> None:
        if self._shared is None:  # on first use: loading the backbone waits until it is needed
            self._shared = self.early.share_encoder(self.full)
            log.debug("early-exit members share one backbone: %s", self._shared)

    def predict_with_exits(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Class probabilities ``(n_texts, n_labels)`` -- the early head's where it is sure,
        the full head's elsewhere -- and which texts exited early ``(n_texts,)``."""
        texts = check_texts(texts)
        self._share()
        probs = self.early.predict_proba(texts)
        exits = probs.max(axis=1) >= self.threshold
        late = np.flatnonzero(~exits)
        if len(late):
            probs[late] = self.full.predict_proba([texts[i] for i in late])
        return probs, exits

    def predict_proba(self, texts: Sequence[str], share_lines: bool = False) -> np.ndarray:
        """Class probabilities (see :meth:`predict_with_exits`; :attr:`exits` keeps the last
        call's exits for reports)."""
        probs, self.exits = self.predict_with_exits(texts)
        return probs

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [self.labels[i] for i in self.predict_proba(texts).argmax(axis=1)]

    def forget(self) -> None:
        """Drop the vectors the members' encoders keep in memory (benchmarks)."""
        self.early.forget()
        self.full.forget()

    def __call__(self, song: Song, *, seed: int = 0) -> Song:
        name = self.settings.get("model_name", self.name)
        exits: list[bool] = []  # this call's own (a server may classify songs concurrently)

        def predict(texts: list[str]) -> np.ndarray:
            probs, ex = self.predict_with_exits(texts)
            exits.extend(bool(x) for x in ex)
            return probs

        out = classify_song(self, song, name, predict)
        meta = dict(out.meta)
        meta["genre_exit"] = "early" if exits[0] else "full"
        return out.replace(meta=meta)

    # ------------------------------------------------------------------ persistence
    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> EarlyExitGenre:
        p = Path(path)
        cfg = read_model_config(p, KIND, "an early-exit")
        missing = [m for m in MEMBERS if not (p / m / "config.json").is_file()]
        if missing:
            raise SongwrightError(f"{p}: early-exit member(s) {', '.join(missing)} missing")
        metrics = json.loads((p / "metrics.json").read_text()) \
            if (p / "metrics.json").is_file() else {}
        return cls(TransformerGenre.load(p / "early", device=device),
                   TransformerGenre.load(p / "full", device=device), cfg["threshold"],
                   settings=cfg, metrics=metrics)


def _validation_predictions(run: Path) -> dict:
    from .train import VAL_PREDICTIONS

    f = run / VAL_PREDICTIONS
    if not f.is_file():
        raise SongwrightError(f"{run} has no {VAL_PREDICTIONS}: train it again with this "
                              "version of songwright")
    return json.loads(f.read_text())


def threshold_table(early: dict, full: dict, thresholds: Sequence[float] = THRESHOLDS
                    ) -> list[dict]:
    """Validation macro-F1 and early-exit rate of the combination at each threshold, from
    the members' ``validation_predictions.json`` contents (the same songs, in order)."""
    from sklearn.metrics import f1_score

    if early["songs"] != full["songs"] or early["labels"] != full["labels"]:
        raise SongwrightError("the early-exit members were validated on different songs or "
                              "genres: train both on the same data and split")
    labels = full["labels"]
    y = [labels.index(g) for g in full["genres"]]
    lp_early, lp_full = np.array(early["log_probs"]), np.array(full["log_probs"])
    sure = np.exp(lp_early).max(axis=1)

    def row(t: float) -> dict:
        exits = sure >= t
        pred = np.where(exits, lp_early.argmax(1), lp_full.argmax(1))
        return {"threshold": float(t), "exit_rate": round(float(exits.mean()), 4),
                "macro_f1": round(float(f1_score(y, pred, average="macro",
                                                 labels=range(len(labels)))), 4)}

    return [row(0.0), *(row(t) for t in thresholds), row(1.01)]


def choose_threshold(table: list[dict]) -> float:
    """The lowest threshold (the most early exits) whose validation macro-F1 is at least the
    full model's alone (the row with no exit)."""
    full_f1 = next(r["macro_f1"] for r in table if r["exit_rate"] == 0.0)
    ok = [r["threshold"] for r in table if r["macro_f1"] >= full_f1 and r["threshold"] > 0]
    return min(ok)


def build_early_exit(early_run: str | Path, full_run: str | Path, out: str | Path,
                     songs: list[Song] | None = None, threshold: float | None = None,
                     model_name: str = "genre-early-exit") -> Path:
    """Combine two trained runs into an early-exit model folder and score it.

    Args:
        early_run: run folder of the shallow model.
        full_run: run folder of the deep model (same songs, split and genres).
        out: the model folder to write; written whole or not at all.
        songs: labelled songs to score the held-out splits on (default: the songbook, split by
            the held-out protocol as in training).
        threshold: fixed threshold; default: :func:`choose_threshold` on validation.
        model_name: recorded in songs' ``meta["genre_model"]``.
    """
    from .protocol import heldout_groups, heldout_split
    from .train import copy_run, evaluate_genre, load_training_songs

    early_run, full_run, out = Path(early_run), Path(full_run), Path(out)
    table = threshold_table(_validation_predictions(early_run), _validation_predictions(full_run))
    chosen = choose_threshold(table) if threshold is None else float(threshold)
    if chosen < 0.0:
        raise SongwrightError(f"--threshold must be at least 0, got {chosen}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        for member, run in zip(MEMBERS, (early_run, full_run)):
            copy_run(run, tmp / member)
        cfg = {"kind": KIND, "format_version": FORMAT_VERSION, "threshold": chosen,
               "chosen_on_validation": threshold is None, "validation": table,
               "model_name": model_name}
        (tmp / "config.json").write_text(json.dumps(cfg, indent=2))
        model = EarlyExitGenre.load(tmp)
        run_cfg = json.loads((full_run / "config.json").read_text())
        if songs is None:
            songs = load_training_songs(Path(run_cfg["data"]) if run_cfg.get("data") else None)
        splits = heldout_split(songs, run_cfg.get("holdout_fraction", 0.22),
                               draw=run_cfg.get("holdout_draw", 0))
        metrics: dict = {"threshold": chosen, "validation": next(
            (r for r in table if r["threshold"] == chosen), None)}
        for name, group in heldout_groups(splits).items():
            group = [s for s in group if s.genre in model.labels]
            if len({s.genre for s in group}) >= 2:
                metrics[name] = evaluate_genre(model, group)
                metrics[name]["exit_rate"] = round(float(model.exits.mean()), 4)
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2))
        tmp.chmod(0o755)  # mkdtemp makes it private
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("wrote %s (threshold %.2f)", out, chosen)
    return out
