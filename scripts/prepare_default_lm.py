"""Prepare (and optionally benchmark) the default offline lyrics model.

    python scripts/prepare_default_lm.py                 # convert the GGUF once into the cache
    python scripts/prepare_default_lm.py --benchmark fp32 int8 int8-keep-head

Each benchmark variant runs in a fresh process so load time and peak memory are its own; the
results are printed as JSON lines (the numbers in docs/lyrics.md come from here).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

PROMPT = dict(title="Dust on the Highway", artist="The Long Haul", genre="country",
              subgenres=("honky-tonk",), era="1990s",
              verse_prompt="a trucker driving home through the night to see his daughter",
              instructions="warm, hopeful, simple rhymes", seed=7)


def bench(variant: str, seed: int) -> dict:
    """Load one variant, measure decode speed and a whole song; return the numbers."""
    import torch

    from songwright.model import SongPrompt
    from songwright.stages.lyrics.default import NAME, ensure_smollm2
    from songwright.stages.lyrics.hf import TransformersLM, quantize_int8
    from songwright.stages.lyrics.writer import LyricsWriter

    t0 = time.perf_counter()
    folder = ensure_smollm2()
    lm = TransformersLM.from_pretrained(folder, dtype="float32", name=f"{NAME}-{variant}")
    if variant.startswith("int8"):
        lm.model = quantize_int8(lm.model, skip_lm_head=variant == "int8-keep-head")
    load_s = time.perf_counter() - t0
    msgs = [{"role": "user", "content": "Write a short poem about the sea at night."}]
    lm.reset()  # chooses the thread count (see TransformersLM.threads)
    lm.generate(msgs, max_new_tokens=4, temperature=0)  # warm-up
    lm._cache_ids, lm._cache = [], None
    torch.set_num_threads(lm._threads_now or torch.get_num_threads())
    n, t0 = 0, time.perf_counter()
    ids = lm.encode(msgs)
    with torch.inference_mode():
        logits = lm._feed(ids)
        prefill_s = time.perf_counter() - t0
        out: list[int] = []
        t1 = time.perf_counter()
        for _ in range(96):  # fixed count: tokens/s without early stops
            out.append(int(logits.argmax()))
            logits = lm._feed(ids + out)
            n += 1
        decode_tps = n / (time.perf_counter() - t1)
    sample = lm.tokenizer.decode(out, skip_special_tokens=True)
    writer = LyricsWriter(lm)
    t0 = time.perf_counter()
    song = writer(SongPrompt(**{**PROMPT, "seed": seed}))
    song_s = time.perf_counter() - t0
    st = writer.last_stats
    return {"variant": variant, "threads": torch.get_num_threads(),
            "load_avg_1min": round(os.getloadavg()[0], 1), "load_s": round(load_s, 2), "prefill_s": round(prefill_s, 3),
            "decode_tokens_per_s": round(decode_tps, 1), "song_s": round(song_s, 1),
            "song_lines": len(song.lyric_lines), "calls": st.calls, "fallback_lines": st.fallbacks,
            "rejected": dict(st.rejected),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "greedy_sample": sample, "lyrics": song.lyrics}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--benchmark", nargs="*", metavar="VARIANT",
                    help="variants to measure: fp32, int8, int8-keep-head")
    ap.add_argument("--force", action="store_true", help="convert again even if cached")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--_one", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args._one:
        print(json.dumps(bench(args._one, args.seed)), flush=True)
        return 0
    from songwright.stages.lyrics.default import ensure_smollm2

    t0 = time.perf_counter()
    folder = ensure_smollm2(force=args.force)
    logging.info("default lyrics model ready in %s (%.1f s)", folder, time.perf_counter() - t0)
    for variant in args.benchmark or []:
        subprocess.run([sys.executable, __file__, "--_one", variant, "--seed", str(args.seed)],
                       check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
