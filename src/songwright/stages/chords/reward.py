"""The reward model: scores (lyrics, genre, progression) with one number.

Trained with the pairwise Bradley-Terry loss ``-logsigmoid(r_chosen - r_rejected).mean()`` on
preference pairs: human-written progressions over corrupted ones (shuffled, substituted, out of
key, another genre's song) and over baseline samples (the Markov chain), plus real human
ratings from the SQLite store (:mod:`.ratings`): an A/B preference is a pair; two ratings of
songs for the same prompt (title) with different scores are a pair.

Two featurisations of the progression: ``gru`` (a GRU over the chord tokens, line ends
included) and ``positional`` (the seed's: each chord's one-hot slot holds ``1 + 0.25 x
position``, summed).
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import SongwrightError
from ...keys import RelChord
from ...vocab import ChordVocab
from .data import GENRE_NAMES

log = logging.getLogger(__name__)
FORMAT = "songwright.chords-reward"
CORRUPTIONS = ("shuffle", "substitute", "out_of_key", "other_genre")


def bradley_terry_loss(r_chosen: torch.Tensor, r_rejected: torch.Tensor) -> torch.Tensor:
    """Pairwise loss; ``log 2`` when the scores are equal.

    >>> round(float(bradley_terry_loss(torch.zeros(3), torch.zeros(3))), 4)
    0.6931
    """
    return -F.logsigmoid(r_chosen - r_rejected).mean()


@dataclass
class RewardConfig:
    vocab_size: int
    line_dim: int = 384
    emb_dim: int = 32
    hidden: int = 64
    cond_dim: int = 8
    featurization: str = "gru"

    def __post_init__(self) -> None:
        if self.featurization not in ("gru", "positional"):
            raise SongwrightError("featurization must be 'gru' or 'positional'")


@dataclass
class Progression:
    """What the reward model reads: flat chord ids (``<eos>`` ends each line), the mean encoder
    vector of the lyric lines, and the genre id."""

    tokens: list[int]
    lyric: torch.Tensor  # (D,)
    genre: int


class ChordRewardModel(nn.Module):
    """(lyrics, genre, progression) -> scalar reward."""

    def __init__(self, cfg: RewardConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.lyric = nn.Linear(cfg.line_dim, cfg.hidden)
        self.genre = nn.Embedding(len(GENRE_NAMES), cfg.cond_dim)
        if cfg.featurization == "gru":
            self.emb = nn.Embedding(cfg.vocab_size, cfg.emb_dim, padding_idx=0)
            self.rnn = nn.GRU(cfg.emb_dim, cfg.hidden, batch_first=True)
        else:
            self.bag = nn.Linear(cfg.vocab_size, cfg.hidden)
        self.mlp = nn.Sequential(nn.Linear(2 * cfg.hidden + cfg.cond_dim, cfg.hidden), nn.Tanh(),
                                 nn.Linear(cfg.hidden, 1))

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor, lyric: torch.Tensor,
                genre: torch.Tensor) -> torch.Tensor:
        """Rewards ``(B,)`` from tokens ``(B, T)`` (0-padded), lengths ``(B,)``, lyric vectors
        ``(B, D)`` and genre ids ``(B,)``."""
        if self.cfg.featurization == "gru":
            h, _ = self.rnn(self.emb(tokens))  # (B, T, H)
            idx = (lengths - 1).clamp(min=0).view(-1, 1, 1).expand(-1, 1, h.shape[-1])
            prog = h.gather(1, idx).squeeze(1)  # (B, H): state after the last token
        else:
            T = tokens.shape[1]
            weight = 1.0 + 0.25 * torch.arange(T, device=tokens.device).float()  # (T,)
            mask = (tokens != 0).float() * weight  # (B, T)
            bag = torch.zeros(tokens.shape[0], self.cfg.vocab_size, device=tokens.device)
            bag.scatter_add_(1, tokens, mask)  # (B, V)
            prog = torch.tanh(self.bag(bag / lengths.clamp(min=1).view(-1, 1)))
        x = torch.cat([prog, torch.relu(self.lyric(lyric)), self.genre(genre)], -1)
        return self.mlp(x).squeeze(-1)  # (B,)

    def score(self, progs: Sequence[Progression]) -> torch.Tensor:
        """Rewards of progressions, ``(N,)`` (with grad if enabled)."""
        device = next(self.parameters()).device
        T = max(1, max(len(p.tokens) for p in progs))
        toks = torch.zeros(len(progs), T, dtype=torch.long)
        for i, p in enumerate(progs):
            toks[i, :len(p.tokens)] = torch.tensor(p.tokens, dtype=torch.long)
        lengths = torch.tensor([max(1, len(p.tokens)) for p in progs])
        lyric = torch.stack([p.lyric for p in progs])
        genre = torch.tensor([p.genre for p in progs])
        return self(toks.to(device), lengths.to(device), lyric.to(device), genre.to(device))


# --------------------------------------------------------------------------- pairs


def corrupt(prog: Progression, kind: str, vocab: ChordVocab, rng: random.Random,
            others: Sequence[Progression] = ()) -> Progression | None:
    """A worse version of ``prog``; None when the corruption cannot apply."""
    toks = list(prog.tokens)
    chord_at = [i for i, t in enumerate(toks) if t >= 5]
    if not chord_at:
        return None
    if kind == "shuffle":
        vals = [toks[i] for i in chord_at]
        rng.shuffle(vals)
        if vals == [toks[i] for i in chord_at]:
            return None
        for i, v in zip(chord_at, vals):
            toks[i] = v
    elif kind == "substitute":
        for i in rng.sample(chord_at, max(1, len(chord_at) // 3)):
            toks[i] = rng.randrange(5, len(vocab))
    elif kind == "out_of_key":
        shift = rng.choice((1, 6, 11))
        for i in chord_at:
            r = vocab.decode(toks[i])
            toks[i] = vocab.encode(RelChord((r.degree + shift) % 12, r.quality, r.added,
                                            r.omitted, r.bass))
    elif kind == "other_genre":
        pool = [o for o in others if o.genre != prog.genre and o.genre != 0]
        if not pool:
            return None
        toks = list(rng.choice(pool).tokens)
    else:
        raise SongwrightError(f"unknown corruption {kind!r}; known: {CORRUPTIONS}")
    return Progression(toks, prog.lyric, prog.genre)


def make_pairs(progs: Sequence[Progression], vocab: ChordVocab, seed: int = 0,
               kinds: Sequence[str] = CORRUPTIONS) -> list[tuple[Progression, Progression, str]]:
    """``(chosen, rejected, kind)``: every real progression over each corruption of it."""
    rng = random.Random(seed)
    out = []
    for p in progs:
        for kind in kinds:
            bad = corrupt(p, kind, vocab, rng, progs)
            if bad is not None:
                out.append((p, bad, kind))
    return out


# --------------------------------------------------------------------------- container


@dataclass
class ChordReward:
    """A trained reward model with its vocabulary; ``save``/``load`` a run folder."""

    model: ChordRewardModel
    vocab: ChordVocab
    metrics: dict

    def __call__(self, progs: Sequence[Progression]) -> list[float]:
        with torch.no_grad():
            self.model.eval()
            return self.model.score(progs).tolist()

    def save(self, path: str | Path) -> Path:
        from safetensors.torch import save_file

        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        save_file({k: v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()},
                  str(p / "weights.safetensors"))
        self.vocab.save(p / "vocab.json")
        (p / "config.json").write_text(json.dumps(
            {"format": FORMAT, "version": 1, "model": asdict(self.model.cfg)}, indent=1))
        (p / "metrics.json").write_text(json.dumps(self.metrics, indent=1))
        return p

    @classmethod
    def load(cls, path: str | Path) -> ChordReward:
        """Raises SongwrightError for a missing folder, another format or a vocab mismatch."""
        from safetensors.torch import load_file

        p = Path(path)
        if not (p / "config.json").is_file() or not (p / "weights.safetensors").is_file():
            raise SongwrightError(f"{p} is not a chord reward model")
        cfg = json.loads((p / "config.json").read_text())
        if cfg.get("format") != FORMAT:
            raise SongwrightError(f"{p} is not a chord reward model")
        vocab = ChordVocab.load(p / "vocab.json")
        rcfg = RewardConfig(**cfg["model"])
        if rcfg.vocab_size != len(vocab):
            raise SongwrightError(f"{p}: vocabulary mismatch ({len(vocab)} tokens in vocab.json, "
                                  f"{rcfg.vocab_size} in the config)")
        model = ChordRewardModel(rcfg)
        try:
            model.load_state_dict(load_file(str(p / "weights.safetensors")))
        except RuntimeError as e:
            raise SongwrightError(f"{p}: weights do not fit the config: {e}") from e
        metrics = json.loads((p / "metrics.json").read_text()) if (p / "metrics.json").is_file() \
            else {}
        return cls(model, vocab, metrics)


def train_reward_model(pairs: Sequence[tuple[Progression, Progression, str]], vocab: ChordVocab,
                       cfg: RewardConfig, val_pairs: Sequence = (), epochs: int = 5,
                       lr: float = 1e-3, batch_size: int = 64, seed: int = 0) -> ChordReward:
    """Fit a reward model on pairs with the Bradley-Terry loss; report pairwise accuracy."""
    if not pairs:
        raise SongwrightError("no preference pairs to train the reward model on")
    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = ChordRewardModel(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    pairs = list(pairs)
    history = []
    for ep in range(epochs):
        rng.shuffle(pairs)
        model.train()
        total = 0.0
        for i in range(0, len(pairs), batch_size):
            chunk = pairs[i:i + batch_size]
            r = model.score([c for c, _, _ in chunk] + [b for _, b, _ in chunk])
            loss = bradley_terry_loss(r[:len(chunk)], r[len(chunk):])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(chunk)
        history.append({"epoch": ep, "loss": total / len(pairs)})
        log.info("reward epoch %d loss %.4f", ep, total / len(pairs))
    reward = ChordReward(model, vocab, {"history": history})
    reward.metrics["validation"] = pairwise_accuracy(reward, val_pairs or pairs)
    return reward


def pairwise_accuracy(reward: ChordReward, pairs: Sequence) -> dict[str, float]:
    """Share of pairs where the chosen progression scores higher, overall and per kind."""
    if not pairs:
        return {}
    r = reward([c for c, _, _ in pairs] + [b for _, b, _ in pairs])
    n = len(pairs)
    wins: dict[str, list[bool]] = {}
    for i, (_, _, kind) in enumerate(pairs):
        wins.setdefault(kind, []).append(r[i] > r[n + i])
    out = {f"accuracy_{k}": sum(v) / len(v) for k, v in wins.items()}
    out["accuracy"] = sum(sum(v) for v in wins.values()) / n
    out["pairs"] = n
    return out
