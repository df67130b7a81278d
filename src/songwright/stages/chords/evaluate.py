"""Metrics of chord models: teacher-forced next-chord accuracy and perplexity, and properties
of generated progressions against the human references.

- ``next_chord_top1/top5``: per chord position, teacher-forced, the model's most likely chord
  (ranking chord tokens only) against the *unfolded* key-relative chord as written; the Markov
  baseline is scored the same way (``baseline_*``). ``perplexity``: exp of the mean negative
  log-probability of the gold token (the model's folded token; the chain's full token).
- ``in_key_ratio``: share of generated chords whose every tone lies in the key's scale
  (natural minor plus its raised 7th for minor keys).
- ``chorus_consistency``: share of repeated choruses (same text as an earlier chorus) whose
  chords equal the earlier one's.
- ``che``, ``cc``, ``ctd``: chord histogram entropy, chord coverage and chord tonal distance
  (Yeh et al. 2021, "Automatic melody harmonization with triad chords"), per song, averaged;
  ``*_ref`` for the references.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import torch

from ...chords import Chord
from ...errors import SongwrightError
from ...keys import Key, song_key, to_relative
from ...model import Song

_SPECIAL_OR_N = 5  # ids 0-4: <pad> <bos> <eos> <unk> N


def chord_histogram_entropy(chords: Sequence[Chord]) -> float:
    """Entropy (nats) of the chord histogram; 0 for one chord repeated.

    >>> from songwright.chords import parse_chord as p
    >>> chord_histogram_entropy([p("C"), p("C")])
    0.0
    >>> round(chord_histogram_entropy([p("C"), p("G")]), 4)
    0.6931
    """
    counts = Counter(c.pitch_classes for c in chords if c.root is not None)
    n = sum(counts.values())
    return float(-sum(v / n * math.log(v / n) for v in counts.values())) if n else 0.0


def chord_coverage(chords: Sequence[Chord]) -> int:
    """Number of distinct chords (by pitch-class set)."""
    return len({c.pitch_classes for c in chords if c.root is not None})


_PHI = np.array([[r * f(pc * a) for pc in range(12)] for r, a in
                 ((1.0, 7 * math.pi / 6), (1.0, 3 * math.pi / 2), (0.5, 2 * math.pi / 3))
                 for f in (math.sin, math.cos)])  # (6, 12): Harte et al. (2006)


def tonal_centroid(chord: Chord) -> np.ndarray:
    """The 6-D tonal centroid of a chord's pitch classes (Harte, Sandler & Gasser 2006)."""
    v = np.zeros(12)
    for pc in chord.pitch_classes:
        v[pc] = 1.0
    return _PHI @ (v / max(v.sum(), 1.0))


def chord_tonal_distance(chords: Sequence[Chord]) -> float:
    """Mean Euclidean distance between tonal centroids of adjacent chords (0 for fewer than 2)."""
    real = [c for c in chords if c.root is not None]
    if len(real) < 2:
        return 0.0
    cs = [tonal_centroid(c) for c in real]
    return float(np.mean([np.linalg.norm(a - b) for a, b in zip(cs, cs[1:])]))


def in_key(chord: Chord, key: Key) -> bool:
    """Every tone of the chord lies in the key's scale."""
    return chord.root is None or set(chord.pitch_classes) <= set(key.scale)


def chorus_consistency(song: Song) -> float | None:
    """Share of repeated choruses that copy the earlier chorus's chords; None if none repeat."""
    seen: dict[tuple, tuple] = {}
    same = total = 0
    for sec in song.sections:
        if sec.kind != "chorus" or not sec.lyric_lines:
            continue
        text = tuple(ln.text for ln in sec.lyric_lines)
        chords = tuple(tuple((c.chord.pitch_classes, c.chord.root) for c in ln.chords)
                       for ln in sec.lyric_lines)
        if text in seen:
            total += 1
            same += seen[text] == chords
        else:
            seen[text] = chords
    return same / total if total else None


def progression_metrics(songs: Iterable[Song], suffix: str = "") -> dict[str, float]:
    """``in_key_ratio``, ``chorus_consistency``, ``che``, ``cc``, ``ctd`` over songs."""
    che, cc, ctd, cons = [], [], [], []
    inside = total = 0
    for s in songs:
        chords = s.chords
        try:
            key = song_key(s)
        except SongwrightError:
            continue
        inside += sum(in_key(c, key) for c in chords)
        total += len(chords)
        che.append(chord_histogram_entropy(chords))
        cc.append(chord_coverage(chords))
        ctd.append(chord_tonal_distance(chords))
        c = chorus_consistency(s)
        if c is not None:
            cons.append(c)
    mean = (lambda xs: float(np.mean(xs)) if xs else float("nan"))  # noqa: E731
    return {f"in_key_ratio{suffix}": inside / max(total, 1),
            f"chorus_consistency{suffix}": mean(cons), f"che{suffix}": mean(che),
            f"cc{suffix}": mean(cc), f"ctd{suffix}": mean(ctd)}


@torch.no_grad()
def teacher_forced_metrics(model, examples: Sequence, vocab, batch_size: int = 16,  # noqa: ANN001
                           device: torch.device | str = "cpu") -> dict[str, float]:
    """Next-chord top-1/top-5 and perplexity of a seq2seq model on :class:`SongExample` s."""
    from .data import collate

    model.eval()
    top1 = top5 = n = 0
    nll = 0.0
    tokens = vocab.tokens
    for i in range(0, len(examples), batch_size):
        chunk = examples[i:i + batch_size]
        batch = {k: v.to(device) for k, v in collate(chunk, vocab.bos_id, vocab.pad_id).items()}
        logits, _, _ = model(batch)  # (B, T, V)
        logp = logits.log_softmax(-1)
        ranked = logits.clone()
        ranked[..., :_SPECIAL_OR_N] = float("-inf")
        top = ranked.topk(5, dim=-1).indices.cpu()  # (B, T, 5)
        for b, ex in enumerate(chunk):
            for t, gold in enumerate(ex.gold):
                if gold is None:
                    continue
                cand = [tokens[j] for j in top[b, t].tolist()]
                top1 += cand[0] == gold
                top5 += gold in cand
                nll -= float(logp[b, t, ex.targets[t]])
                n += 1
    return {"next_chord_top1": top1 / max(n, 1), "next_chord_top5": top5 / max(n, 1),
            "perplexity": math.exp(nll / max(n, 1)), "n": n}


def markov_metrics(markov, songs: Iterable[Song]) -> dict[str, float]:  # noqa: ANN001
    """The Markov chain's teacher-forced top-1/top-5 (as ``train_baselines`` measures them)
    and perplexity, under ``baseline_*`` names."""
    from .markov import SEC

    top1 = top5 = n = 0
    nll = 0.0
    for song in songs:
        try:
            key = song_key(song)
        except SongwrightError:
            continue
        prev2 = prev1 = SEC
        for sec in song.sections:
            prev2, prev1 = prev1, SEC
            for ca in (c for ln in sec.lines for c in ln.chords):
                if ca.chord.root is None:
                    continue
                tok = to_relative(ca.chord, key).token
                dist = markov.distribution(prev2, prev1, song.genre or "*", key.mode)
                ranked = sorted(dist, key=dist.get, reverse=True)
                top1 += ranked[0] == tok
                top5 += tok in ranked[:5]
                nll -= math.log(max(dist.get(tok, 0.0), 1e-6))
                n += 1
                prev2, prev1 = prev1, tok
    return {"baseline_next_chord_top1": top1 / max(n, 1),
            "baseline_next_chord_top5": top5 / max(n, 1),
            "baseline_perplexity": math.exp(nll / max(n, 1)), "baseline_n": n}


def strip_chords(song: Song) -> Song:
    """The song with no chords but its (declared or estimated) key kept."""
    key = song_key(song).name
    secs = tuple(s.__class__(s.kind, tuple(ln.with_chords(()) for ln in s.lines), s.label,
                             s.number, s.env) for s in song.sections)
    return song.replace(sections=secs, key=key)


def song_progression(song: Song, vocab, line_emb: torch.Tensor | None = None,  # noqa: ANN001
                     encoder=None):  # noqa: ANN001, ANN201
    """The reward model's view of a song with chords (None without a key or lyric lines)."""
    from .data import song_to_example
    from .reward import Progression

    ex = song_to_example(song, vocab, encoder)
    if ex is None:
        return None
    return Progression(ex.targets, ex.line_emb.mean(0), ex.genre)


def evaluate_chords(model, songs: Sequence[Song], markov=None, reward=None, seed: int = 0,  # noqa: ANN001
                    encoder=None) -> dict:  # noqa: ANN001
    """Every metric of the module docstring for ``model`` on reference ``songs``.

    Args:
        model: a chord stage; teacher-forced metrics need a seq2seq model (``.model``).
        songs: references with chords and lyrics.
        markov: the Markov baseline (for ``baseline_*``), or None.
        reward: a :class:`~.reward.ChordReward` (for ``mean_reward``), or None.
        seed: generation seed (song i uses ``seed + i``).
    """
    import time

    from .data import song_to_example

    refs = [s for s in songs if s.lyric_lines and s.chords]
    if not refs:
        raise SongwrightError("no reference songs with lyrics and chords to evaluate on")
    out: dict = {"n": len(refs)}
    if hasattr(model, "model"):
        exs = [e for e in (song_to_example(s, model.vocab, encoder) for s in refs) if e]
        out.update(teacher_forced_metrics(model.model, exs, model.vocab))
        out["n_chords"] = out.pop("n")
        out["n"] = len(refs)
    if markov is not None:
        out.update(markov_metrics(markov, refs))
    gen, t0 = [], time.perf_counter()
    for i, s in enumerate(refs):
        gen.append(model(strip_chords(s), seed=seed + i))
    out["seconds_per_song"] = (time.perf_counter() - t0) / len(refs)
    out.update(progression_metrics(gen))
    out.update(progression_metrics(refs, "_ref"))
    if markov is not None:
        base = [markov(strip_chords(s), seed=seed + i) for i, s in enumerate(refs)]
        out.update({f"baseline_{k}": v for k, v in progression_metrics(base).items()})
    if reward is not None:
        progs = [p for p in (song_progression(s, reward.vocab, encoder=encoder) for s in gen) if p]
        ref_p = [p for p in (song_progression(s, reward.vocab, encoder=encoder) for s in refs) if p]
        out["mean_reward"] = float(np.mean(reward(progs))) if progs else float("nan")
        out["mean_reward_ref"] = float(np.mean(reward(ref_p))) if ref_p else float("nan")
    return out
