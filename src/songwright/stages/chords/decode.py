"""Decoding for :class:`~.seq2seq.ChordSeq2Seq`: greedy, sampled (temperature, top-p) and beam.

Rules every decoder keeps (shared with the Markov baseline):
- every lyric line gets at least one chord (``<eos>`` is masked at a line's first step) and at
  most ``min(MAX_CHORDS_PER_LINE, words)``;
- a section whose text repeats an earlier one of the same kind (a repeated chorus) copies that
  section's chords exactly; the copied chords still go through the decoder so its state knows
  them;
- only chord tokens are emitted (``<pad> <bos> <unk> N`` masked); positions never go backwards.
"""

from __future__ import annotations

import torch

from ...vocab import ChordVocab
from .data import MAX_CHORDS_PER_LINE, SongPlan, section_id

Pairs = list[tuple[int, int]]


def _banned(vocab: ChordVocab) -> list[int]:
    return [vocab.pad_id, vocab.bos_id, vocab.unk_id, vocab.tokens.index("N")]


def _step_batch(prev: torch.Tensor, tmpl: torch.Tensor, line_vec: torch.Tensor, sec: int,
                lis: int, plan: SongPlan) -> dict[str, torch.Tensor]:
    B = prev.shape[0]
    return {"inputs": prev.view(B, 1), "templates": tmpl.view(B, 1),
            "line_emb": line_vec.view(1, 1, -1).expand(B, 1, -1),  # (B, 1, D)
            "sections": torch.full((B, 1), sec), "line_in_section": torch.full((B, 1), lis),
            "genre": torch.full((B,), plan.genre), "era": torch.full((B,), plan.era),
            "mode": torch.full((B,), plan.mode)}


def _top_p_filter(logits: torch.Tensor, top_p: float) -> torch.Tensor:
    """Keep the smallest set of tokens whose probability reaches ``top_p`` (per row)."""
    if top_p >= 1.0:
        return logits
    sorted_l, idx = logits.sort(dim=-1, descending=True)
    cum = sorted_l.softmax(-1).cumsum(-1)
    drop = cum - sorted_l.softmax(-1) >= top_p  # keep the token that crosses top_p
    sorted_l = sorted_l.masked_fill(drop, float("-inf"))
    return torch.full_like(logits, float("-inf")).scatter(-1, idx, sorted_l)


def zero_state(model, batch: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: ANN001
    """The LSTM's initial state for ``batch`` rows: two ``(layers, batch, hidden)`` zeros."""
    shape = (model.cfg.layers, batch, model.cfg.hidden)
    return torch.zeros(shape, device=device), torch.zeros(shape, device=device)


def _max_chords(text: str) -> int:
    return max(1, min(MAX_CHORDS_PER_LINE, len(text.split())))


@torch.no_grad()
def rollout(model, plan: SongPlan, line_emb: torch.Tensor, vocab: ChordVocab, *, k: int = 1,  # noqa: ANN001
            greedy: bool = False, generator: torch.Generator | None = None,
            temperature: float = 1.0, top_p: float = 1.0) -> list[list[Pairs]]:
    """Decode ``k`` progressions for one song at once.

    Returns:
        For each sample, for each planned line, its ``(token id, position bucket)`` pairs.
    """
    device = next(model.parameters()).device
    line_emb = line_emb.to(device)
    eos = vocab.eos_id
    banned = _banned(vocab)
    out: list[list[Pairs]] = [[] for _ in range(k)]
    by_sec: list[dict[int, list[Pairs]]] = [{} for _ in range(k)]
    prev = torch.full((k,), vocab.bos_id, device=device)
    state = zero_state(model, k, device)
    for li, (si, idx, text) in enumerate(plan.lines):
        src = plan.repeat_of.get(si)
        forced = [by_sec[b][src][idx] for b in range(k)] if src is not None else None
        tsec = plan.template_of.get(si)
        tmpl_lines = [by_sec[b].get(tsec, []) if tsec is not None else [] for b in range(k)]
        tmpl = [t[idx % len(t)] if t else None for t in tmpl_lines]
        n_max = _max_chords(text)
        if forced is not None:
            n_max = max(n_max, max(len(f) for f in forced))
        done = torch.zeros(k, dtype=torch.bool, device=device)
        lines: list[Pairs] = [[] for _ in range(k)]
        last_bucket = torch.zeros(k, dtype=torch.long, device=device)
        for j in range(n_max + 1):
            tmpl_ids = torch.tensor([vocab.pad_id if t is None else (t[j][0] if j < len(t)
                                     else eos) for t in tmpl], device=device)
            batch = _step_batch(prev, tmpl_ids, line_emb[li], section_id(plan.section_kinds[si]),
                                idx, plan)
            logits, pos_logits, new_state = model(batch, state)
            logits, pos_logits = logits[:, 0], pos_logits[:, 0]  # (k, V), (k, P)
            if forced is not None:
                tok = torch.tensor([f[j][0] if j < len(f) else eos for f in forced],
                                   device=device)
                bucket = torch.tensor([f[j][1] if j < len(f) else 0 for f in forced],
                                      device=device)
            else:
                logits[:, banned] = float("-inf")
                if j == 0:
                    logits[:, eos] = float("-inf")
                if j == n_max:
                    logits[:] = float("-inf")
                    logits[:, eos] = 0.0
                if greedy:
                    tok = logits.argmax(-1)
                else:
                    probs = _top_p_filter(logits / temperature, top_p).softmax(-1)
                    tok = torch.multinomial(probs, 1, generator=generator).view(-1)
                ar = torch.arange(pos_logits.shape[-1], device=device)
                pos_logits = pos_logits.masked_fill(ar.view(1, -1) < last_bucket.view(-1, 1),
                                                    float("-inf"))
                bucket = pos_logits.argmax(-1)
            keep = done.view(1, -1, 1)  # finished rows keep their state
            state = tuple(torch.where(keep, s, n) for s, n in zip(state, new_state))
            for b in range(k):
                if not done[b] and tok[b] != eos:
                    lines[b].append((int(tok[b]), int(bucket[b])))
            last_bucket = torch.where(done, last_bucket, bucket)
            prev = torch.where(done, prev, tok)
            done = done | (tok == eos)
            if bool(done.all()):
                break
        for b in range(k):
            out[b].append(lines[b])
            by_sec[b].setdefault(si, []).append(lines[b])
    return out


@torch.no_grad()
def beam_decode(model, plan: SongPlan, line_emb: torch.Tensor, vocab: ChordVocab,  # noqa: ANN001
                beam_size: int = 4) -> list[Pairs]:
    """Beam search line by line: the best-scoring chords of each line (sum of log-probs,
    ``<eos>`` included) are kept, then the next line starts from that beam's state."""
    device = next(model.parameters()).device
    line_emb = line_emb.to(device)
    eos, banned, W = vocab.eos_id, _banned(vocab), beam_size
    out: list[Pairs] = []
    by_sec: dict[int, list[Pairs]] = {}
    prev = torch.tensor([vocab.bos_id], device=device)
    state = None
    for li, (si, idx, text) in enumerate(plan.lines):
        src = plan.repeat_of.get(si)
        if src is not None:  # copy, then run the copied chords through the decoder
            forced = by_sec[src][idx]
            seq = [t for t, _ in forced] + [eos]
            ins = [int(prev[0])] + seq[:-1]
            tsec = plan.template_of.get(si)
            tl = by_sec.get(tsec, []) if tsec is not None else []
            t = tl[idx % len(tl)] if tl else None
            for j, tok in enumerate(ins):
                tid = vocab.pad_id if t is None else (t[j][0] if j < len(t) else eos)
                b = _step_batch(torch.tensor([tok], device=device), torch.tensor([tid], device=device),
                                line_emb[li], section_id(plan.section_kinds[si]), idx, plan)
                _, _, state = model(b, state)
            prev = torch.tensor([eos], device=device)
            out.append(list(forced))
            by_sec.setdefault(si, []).append(list(forced))
            continue
        tsec = plan.template_of.get(si)
        tl = by_sec.get(tsec, []) if tsec is not None else []
        t = tl[idx % len(tl)] if tl else None
        n_max = _max_chords(text)
        beams: list[Pairs] = [[]]
        scores = torch.zeros(1, device=device)
        done = torch.zeros(1, dtype=torch.bool, device=device)
        prev_b = prev
        st = state if state is not None else zero_state(model, 1, device)
        for j in range(n_max + 1):
            n = len(beams)
            tid = vocab.pad_id if t is None else (t[j][0] if j < len(t) else eos)
            b = _step_batch(prev_b, torch.full((n,), tid, device=device), line_emb[li],
                            section_id(plan.section_kinds[si]), idx, plan)
            logits, pos_logits, new_st = model(b, st)
            logp = logits[:, 0].log_softmax(-1)  # (n, V)
            logp[:, banned] = float("-inf")
            if j == 0:
                logp[:, eos] = float("-inf")
            if j == n_max:
                logp[:, :] = float("-inf")
                logp[:, eos] = 0.0
            cand = scores.view(-1, 1) + logp
            cand[done] = float("-inf")
            cand[done, eos] = scores[done]  # a finished beam carries on unchanged
            top = cand.view(-1).topk(min(W, int(torch.isfinite(cand).sum())))
            V = logp.shape[-1]
            parent, tok = top.indices // V, top.indices % V
            merged = tuple(torch.where(done.view(1, -1, 1), s, ns) for s, ns in zip(st, new_st))
            st = tuple(s[:, parent] for s in merged)  # each (layers, n', H)
            buckets = pos_logits[:, 0].argmax(-1)
            beams = [beams[p] + ([] if bool(done[p]) or int(k) == eos else
                                 [(int(k), max(int(buckets[p]), beams[p][-1][1] if beams[p] else 0))])
                     for p, k in zip(parent.tolist(), tok.tolist())]
            prev_b = torch.where(done[parent], prev_b[parent], tok)
            done = done[parent] | (tok == eos)
            scores = top.values
            if bool(done.all()):
                break
        best = int(scores.argmax())
        state = tuple(s[:, best:best + 1] for s in st)
        prev = torch.tensor([eos], device=device)
        out.append(beams[best])
        by_sec.setdefault(si, []).append(beams[best])
    return out
