"""Runs of the RLHF half: ``train_reward_run(cfg) -> run_dir`` and ``train_policy_run(cfg)``.

Both read the corpora (songbook train split for training, validation split for reporting) and
the rating store; both write a run folder with weights, config, vocabulary and metrics.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ...data.corpus import assign_split, load_source
from ...errors import SongwrightError
from ...model import Song
from .evaluate import chord_histogram_entropy, song_progression, strip_chords
from .load import load_chord_model
from .reward import (
    CORRUPTIONS,
    ChordReward,
    RewardConfig,
    make_pairs,
    pairwise_accuracy,
    train_reward_model,
)

log = logging.getLogger(__name__)


@dataclass
class RewardRunConfig:
    """Settings of ``songwright train reward``."""

    out_dir: Path = Path("runs/chords-reward")
    seq2seq: str = "seq2seq"
    data_root: Path | None = None
    store: Path | None = None
    human_weight: int = 5
    markov_pairs: bool = True
    featurization: str = "gru"
    epochs: int = 6
    lr: float = 1e-3
    seed: int = 0
    max_songs: int | None = None

    def __post_init__(self) -> None:
        self.out_dir = Path(self.out_dir)
        if self.human_weight < 1 or self.epochs < 1:
            raise SongwrightError("--human-weight and --epochs must be >= 1")


def songbook_splits(data_root: Path | None, max_songs: int | None = None) -> dict[str, list[Song]]:
    """The songbook by artist-disjoint split."""
    from ...paths import require_data_root

    songs, _ = load_source("songbook", Path(data_root) if data_root else require_data_root())
    out: dict[str, list[Song]] = {"train": [], "validation": [], "test": []}
    for s in songs:
        out[assign_split(s)].append(s)
    return {k: v[:max_songs] if max_songs else v for k, v in out.items()}


def _pairs_for(songs: list[Song], stage, markov, seed: int) -> list:  # noqa: ANN001
    progs = [p for p in (song_progression(s, stage.vocab, encoder=stage.encoder) for s in songs)
             if p is not None]
    pairs = make_pairs(progs, stage.vocab, seed=seed, kinds=CORRUPTIONS)
    if markov is not None:
        for i, s in enumerate(songs):
            real = song_progression(s, stage.vocab, encoder=stage.encoder)
            fake = song_progression(markov(strip_chords(s), seed=seed + i), stage.vocab,
                                    encoder=stage.encoder)
            if real is not None and fake is not None:
                pairs.append((real, fake, "baseline"))
    return pairs


def train_reward_run(cfg: RewardRunConfig, splits: dict[str, list[Song]] | None = None,
                     stage=None) -> Path:  # noqa: ANN001
    """Build preference pairs (corruptions, Markov samples, human ratings), fit, save."""
    from .ratings import RatingStore, default_store_path, preference_pairs

    stage = stage or load_chord_model(cfg.seq2seq)
    if not hasattr(stage, "vocab"):
        raise SongwrightError("--seq2seq must name a seq2seq model (its vocabulary is shared)")
    splits = splits or songbook_splits(cfg.data_root, cfg.max_songs)
    markov = load_chord_model("markov") if cfg.markov_pairs else None
    train = _pairs_for(splits["train"], stage, markov, cfg.seed)
    val = _pairs_for(splits["validation"], stage, markov, cfg.seed + 1)
    store_path = Path(cfg.store) if cfg.store else default_store_path()
    human = []
    with RatingStore(store_path, readonly=True) as store:
        for a, b in preference_pairs(store):
            pa = song_progression(a, stage.vocab, encoder=stage.encoder)
            pb = song_progression(b, stage.vocab, encoder=stage.encoder)
            if pa is not None and pb is not None:
                human.append((pa, pb, "human"))
    if not human:
        log.warning("no human preference pairs in %s: training on synthetic pairs only",
                    store_path)
    rcfg = RewardConfig(len(stage.vocab), line_dim=stage.model.cfg.line_dim,
                        featurization=cfg.featurization)
    reward = train_reward_model(train + human * cfg.human_weight, stage.vocab, rcfg, val,
                                epochs=cfg.epochs, lr=cfg.lr, seed=cfg.seed)
    if human:
        reward.metrics["human_train_accuracy"] = pairwise_accuracy(reward, human)["accuracy"]
    reward.metrics.update({"pairs_train": len(train), "pairs_human": len(human),
                           "config": {k: str(v) if isinstance(v, Path) else v
                                      for k, v in asdict(cfg).items()}})
    return reward.save(cfg.out_dir)


def compare_policy(reference, policy, reward: ChordReward, songs: list[Song], seed: int = 0,  # noqa: ANN001
                   ) -> dict[str, float]:
    """Mean reward and CHE of sampled songs from the reference and the policy, and the
    references' CHE."""
    out: dict[str, float] = {}
    che_ref = [chord_histogram_entropy(s.chords) for s in songs]
    for name, stage in (("seq2seq", reference), ("policy", policy)):
        gen = [stage(strip_chords(s), seed=seed + i) for i, s in enumerate(songs)]
        progs = [p for p in (song_progression(g, reward.vocab, encoder=stage.encoder)
                             for g in gen) if p is not None]
        out[f"mean_reward_{name}"] = float(np.mean(reward(progs)))
        out[f"che_{name}"] = float(np.mean([chord_histogram_entropy(g.chords) for g in gen]))
    out["che_ref"] = float(np.mean(che_ref))
    out["che_policy_vs_ref"] = out["che_policy"] / out["che_ref"] - 1.0
    return out


def train_policy_run(cfg, splits: dict[str, list[Song]] | None = None, stage=None,  # noqa: ANN001
                     reward: ChordReward | None = None, data_root: Path | None = None,
                     eval_songs: int = 40) -> Path:
    """REINFORCE from the seq2seq model against the reward model; saves the policy with its
    per-step log and a before/after comparison on validation songs."""
    from .policy import save_policy_run, train_policy_on

    stage = stage or load_chord_model(cfg.seq2seq)
    reward = reward or ChordReward.load(cfg.reward)
    splits = splits or songbook_splits(data_root)
    policy, logs = train_policy_on(stage, reward, splits["train"], cfg)
    val = splits["validation"][:eval_songs] or splits["train"][:eval_songs]
    policy.metrics["comparison"] = compare_policy(stage, policy, reward, val, cfg.seed)
    last = logs[-10:]
    policy.metrics["final"] = {k: float(np.mean([e[k] for e in last]))
                               for k in ("reward", "kl", "entropy", "diversity")}
    policy.metrics["first"] = {k: float(np.mean([e[k] for e in logs[:10]]))
                               for k in ("reward", "kl", "entropy", "diversity")}
    log.info("policy: %s", json.dumps(policy.metrics["comparison"]))
    random.seed(cfg.seed)
    return save_policy_run(policy, logs, Path(cfg.out_dir))
