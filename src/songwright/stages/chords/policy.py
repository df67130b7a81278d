"""RLHF for chords: REINFORCE with a leave-one-out baseline and a KL penalty to the reference.

The policy starts as a copy of the seq2seq model; the reference is a frozen copy. Each step
samples ``k`` progressions per song, scores them with the reward model, and minimises

    loss = -mean(A * log pi(progression)) + beta * mean(KL(pi || pi_ref))

with the RLOO advantage ``A = r - (group_sum - r) / (k - 1)`` and the exact per-step KL
summed over the progression's free steps (chords copied into a repeated chorus are not
actions). Every step logs reward, KL, entropy and diversity (share of distinct progressions
among the k samples), so reward hacking shows: a reward that climbs while diversity and
entropy collapse, or a KL that runs away.

``variant="seed"`` is the seed's REINFORCE for comparison: no baseline (A = r), no KL.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ...errors import SongwrightError
from ...model import Song
from .data import SongPlan, build_example, collate, embed_lines, plan_song
from .decode import rollout
from .reward import ChordReward, Progression
from .seq2seq import Seq2SeqChords

log = logging.getLogger(__name__)


def rloo_advantages(rewards: torch.Tensor) -> torch.Tensor:
    """Leave-one-out advantages for one group of ``k >= 2`` rewards ``(k,)``.

    >>> rloo_advantages(torch.tensor([1.0, 1.0, 1.0])).tolist()
    [0.0, 0.0, 0.0]
    """
    k = rewards.shape[0]
    if k < 2:
        raise SongwrightError("the leave-one-out baseline needs k >= 2 samples per song")
    baseline = (rewards.sum() - rewards) / (k - 1)
    return rewards - baseline


def kl_per_step(logits: torch.Tensor, ref_logits: torch.Tensor) -> torch.Tensor:
    """Exact ``KL(pi || pi_ref)`` at every step, ``(B, T, V) -> (B, T)``; 0 when equal."""
    logp = logits.log_softmax(-1)
    logq = ref_logits.log_softmax(-1)
    return (logp.exp() * (logp - logq)).sum(-1)


@dataclass
class PolicyConfig:
    """Settings of a policy run (``songwright train policy``)."""

    out_dir: Path = Path("runs/chords-policy")
    seq2seq: str = "seq2seq"
    reward: str = "reward"
    k: int = 4
    beta: float = 0.05
    lr: float = 1e-4
    steps: int = 100
    songs_per_step: int = 4
    temperature: float = 1.0
    variant: str = "rloo"
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        self.out_dir = Path(self.out_dir)
        if self.variant not in ("rloo", "seed"):
            raise SongwrightError("--variant must be 'rloo' or 'seed'")
        if self.variant == "rloo" and self.k < 2:
            raise SongwrightError("--k must be >= 2 for the leave-one-out baseline")
        if self.beta < 0 or self.lr <= 0 or self.steps < 1:
            raise SongwrightError("--beta must be >= 0, --lr > 0 and --steps >= 1")


def policy_step(policy, ref, reward: ChordReward, items: Sequence[tuple[SongPlan, torch.Tensor]],  # noqa: ANN001
                vocab, cfg: PolicyConfig, generator: torch.Generator) -> tuple[torch.Tensor, dict]:  # noqa: ANN001
    """The loss of one REINFORCE step over songs ``(plan, line vectors)`` and its logs."""
    device = next(policy.parameters()).device
    examples, progs = [], []
    samples = []
    for plan, emb in items:
        lines = rollout(policy, plan, emb, vocab, k=cfg.k, greedy=False, generator=generator,
                        temperature=cfg.temperature)
        samples.append(lines)
        for one in lines:
            ex = build_example(plan, one, emb, vocab.eos_id, vocab.pad_id)
            examples.append(ex)
            progs.append(Progression(ex.targets, emb.mean(0), plan.genre))
    r = torch.tensor(reward(progs), device=device).view(len(items), cfg.k)  # (S, k)
    if cfg.variant == "rloo":
        adv = torch.stack([rloo_advantages(g) for g in r]).view(-1)  # (S * k,)
    else:
        adv = r.view(-1)
    batch = {n: v.to(device) for n, v in collate(examples, vocab.bos_id, vocab.pad_id).items()}
    policy.eval()  # no dropout: pi and pi_ref must agree at the start (KL 0); grads still flow
    logits, _, _ = policy(batch)  # (N, T, V)
    with torch.no_grad():
        ref_logits, _, _ = ref(batch)
    act = batch["mask"] & batch["free"]  # (N, T): steps that were actions
    tgt = batch["targets"].clamp(min=0)
    logp = logits.log_softmax(-1).gather(-1, tgt.unsqueeze(-1)).squeeze(-1)  # (N, T)
    logp_sum = (logp * act).sum(1)  # (N,)
    kl = (kl_per_step(logits, ref_logits) * act).sum(1)  # (N,)
    loss = -(adv.detach() * logp_sum).mean()
    if cfg.variant == "rloo" and cfg.beta:
        loss = loss + cfg.beta * kl.mean()
    probs = logits.softmax(-1)
    ent = -(probs * logits.log_softmax(-1)).sum(-1)  # (N, T)
    distinct = [len({tuple(tuple(t for t, _ in ln) for ln in one) for one in s}) / cfg.k
                for s in samples]
    logs = {"reward": float(r.mean()), "kl": float(kl.detach().mean()),
            "entropy": float((ent.detach() * act).sum() / act.sum().clamp(min=1)),
            "diversity": sum(distinct) / len(distinct), "loss": float(loss.detach())}
    return loss, logs


def train_policy_on(stage: Seq2SeqChords, reward: ChordReward, songs: Sequence[Song],
                    cfg: PolicyConfig) -> tuple[Seq2SeqChords, list[dict]]:
    """Run REINFORCE on ``songs`` (lyrics only are used); returns the policy stage and logs."""
    from tqdm.auto import tqdm

    if reward.vocab != stage.vocab:
        raise SongwrightError("the reward model and the seq2seq model use different chord "
                              "vocabularies; train the reward model on the seq2seq run")
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    items = []
    for s in songs:
        try:
            plan = plan_song(s)
        except SongwrightError:
            continue
        items.append((plan, embed_lines([t for _, _, t in plan.lines], stage.encoder)))
    if not items:
        raise SongwrightError("no songs with lyric lines to train the policy on")
    policy = copy.deepcopy(stage.model)
    ref = copy.deepcopy(stage.model).eval()
    for p in ref.parameters():
        p.requires_grad_(False)
    opt = torch.optim.AdamW(policy.parameters(), lr=cfg.lr)
    logs = []
    order = torch.randperm(len(items), generator=torch.Generator().manual_seed(cfg.seed))
    for step in tqdm(range(cfg.steps), desc="policy", disable=cfg.steps < 5):
        pick = [items[int(order[(step * cfg.songs_per_step + i) % len(items)])]
                for i in range(cfg.songs_per_step)]
        loss, entry = policy_step(policy, ref, reward, pick, stage.vocab, cfg, gen)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
        opt.step()
        entry["step"] = step
        logs.append(entry)
        if step % 10 == 0:
            log.info("step %d reward %.3f kl %.4f entropy %.3f diversity %.2f", step,
                     entry["reward"], entry["kl"], entry["entropy"], entry["diversity"])
    policy.eval()
    out = Seq2SeqChords(policy, stage.vocab, stage.keys, "policy", stage.options,
                        {"policy_config": {k: str(v) if isinstance(v, Path) else v
                                           for k, v in asdict(cfg).items()}},
                        stage.encoder)
    return out, logs


def save_policy_run(policy: Seq2SeqChords, logs: list[dict], out_dir: Path) -> Path:
    """Write the policy (a seq2seq folder named ``policy``) and its per-step logs."""
    p = policy.save(out_dir)
    (p / "rl_log.jsonl").write_text("".join(json.dumps(e) + "\n" for e in logs))
    return p
