"""Speed of a genre model, as the model cards and `bench/bench_genre.py` report it.

Batched inference songs/s with the encoders' caches off (on a 150-song sample of the songbook
and on the 173 held-out songs), one song at a time, and for a transformer model the time of
one training epoch on cached vectors against re-encoding the training songs each epoch.
"""

from __future__ import annotations

import json
import time
from pathlib import Path


def songs_per_s(model, texts: list[str]) -> tuple[float, float]:  # noqa: ANN001
    """Batched songs/s, and the share of songs an early-exit model answered early (1.0 for
    other models)."""
    if hasattr(model, "forget"):
        model.forget()  # time encoding, not the encoders' in-memory stores
    t0 = time.perf_counter()
    model.predict_proba(texts)
    speed = len(texts) / (time.perf_counter() - t0)
    exits = getattr(model, "exits", None)
    return speed, (float(exits.mean()) if exits is not None else 1.0)


def measure(model_dir: Path, epochs: bool = True) -> dict:
    """Inference songs/s (batched, no cache; on a 150-song sample of the songbook and on the
    173 held-out songs; one song at a time on 30) and, with ``epochs``, the re-encode vs
    cached epoch times of a transformer model (an early-exit model's deep member)."""
    from ...data.corpus import load_songbook
    from ...paths import require_data_root
    from .encoder import TextEncoder
    from .load import load_genre_model
    from .protocol import heldout_groups, heldout_split
    from .tfidf import song_text
    from .transformer import encoder_texts

    songs, _ = load_songbook(require_data_root())
    texts = [song_text(s) for s in songs[::5]]  # 150 songs, all genres
    heldout = [song_text(s) for s in heldout_groups(heldout_split(songs))["heldout"]]
    model = load_genre_model(model_dir)
    model.predict_proba(texts[:4])  # warm-up
    batched, exit_sample = songs_per_s(model, texts)
    batched_heldout, exit_heldout = songs_per_s(model, heldout)
    if hasattr(model, "forget"):
        model.forget()
    t0 = time.perf_counter()
    for t in texts[::5]:  # 30 songs, all genres
        model.predict_proba([t])
    loop = len(texts[::5]) / (time.perf_counter() - t0)
    out = {"inference_songs_per_s_batched": round(batched, 1),
           "inference_songs_per_s_batched_heldout": round(batched_heldout, 1),
           "inference_songs_per_s_per_song_loop": round(loop, 1), "n_timed": len(texts),
           "n_timed_heldout": len(heldout)}
    member = getattr(model, "full", model)  # an early-exit model: time its deep member's epochs
    if member is not model:
        full_batched, _ = songs_per_s(member, texts)
        out.update({"exit_rate_sample": round(exit_sample, 3),
                    "exit_rate_heldout": round(exit_heldout, 3),
                    "full_member_songs_per_s_batched": round(full_batched, 1)})
    if not epochs or not hasattr(member, "settings"):
        return out
    member_dir = model_dir / "full" if member is not model else model_dir
    metrics = json.loads((member_dir / "metrics.json").read_text())
    n_train = metrics["split_sizes"]["train"]
    s = member.settings
    enc = TextEncoder(s["backbone"], max_length=s["max_length"],
                      num_layers=s["num_layers"] or max(s["layers"]),
                      device="cpu", cache=False)
    train_texts = [song_text(x) for x in songs[:n_train]]
    t0 = time.perf_counter()
    if s.get("granularity") == "lines":
        enc.encode_by_lines(train_texts, s["layers"], shared=False)
    else:
        enc.encode_texts(encoder_texts(train_texts, s.get("drop_repeats", False)), s["pooling"],
                         s["layers"])
    encode_train = time.perf_counter() - t0
    epoch = metrics["timing"]["epoch_s"]
    out.update({"epoch_s_cached": round(epoch, 3),
                "epoch_s_reencoding": round(encode_train + epoch, 2),
                "cached_speedup": round((encode_train + epoch) / epoch, 1)})
    return out


__all__ = ["measure", "songs_per_s"]
