"""Genre benchmark: `make bench-genre` (not part of the tests).

For each shipped genre model: batched inference songs/s with the encoders' caches off (a
150-song sample of the songbook and the 173 held-out songs of draw 0), one song at a time,
the early exit's exit rates, held-out macro-F1 (draw 0: songs none of the shipped models
trained on), and for the transformer models one training epoch on cached vectors against
re-encoding. Each model is checked against the genre issue's targets (0.85 held-out macro-F1,
30 songs/s batched, a cached epoch at least 20x faster) and the report says which it meets.
Writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

TARGETS = {"heldout_macro_f1": 0.85, "songs_per_s_batched": 30.0, "cached_speedup": 20.0}
MODELS = ("default", "smollm2-full", "smollm2-early", "minilm")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=list(MODELS),
                    help=f"shipped names or model folders (default: {' '.join(MODELS)})")
    ap.add_argument("--no-epochs", action="store_true",
                    help="skip the cached vs re-encoded epoch timing (the slowest part)")
    ap.add_argument("--out", type=Path, default=Path("bench/genre.json"))
    args = ap.parse_args(argv)

    import torch

    from songwright.data.corpus import load_songbook
    from songwright.paths import require_data_root
    from songwright.stages.genre.load import model_path
    from songwright.stages.genre.protocol import heldout_groups, heldout_split
    from songwright.stages.genre.speed import measure
    from songwright.stages.genre.train import evaluate_genre

    songs, _ = load_songbook(require_data_root())
    heldout = heldout_groups(heldout_split(songs))["heldout"]
    report: dict = {
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(),
                    "processor": platform.processor(), "cpus": os.cpu_count(),
                    "torch_threads": torch.get_num_threads()},
        "date": time.strftime("%Y-%m-%d"), "targets": TARGETS, "models": {}}
    for name in args.models:
        t0 = time.perf_counter()
        path = model_path(name)
        row = measure(path, epochs=not args.no_epochs)
        scores = evaluate_genre(str(path), heldout)
        row.update({"heldout_macro_f1": round(scores["macro_f1"], 4),
                    "heldout_accuracy": round(scores["accuracy"], 4), "heldout_n": scores["n"]})
        speed = min(row["inference_songs_per_s_batched"],
                    row["inference_songs_per_s_batched_heldout"])
        row["meets"] = {
            "heldout_macro_f1": row["heldout_macro_f1"] >= TARGETS["heldout_macro_f1"],
            "songs_per_s_batched": speed >= TARGETS["songs_per_s_batched"]}
        if "cached_speedup" in row:
            row["meets"]["cached_speedup"] = row["cached_speedup"] >= TARGETS["cached_speedup"]
        row["bench_s"] = round(time.perf_counter() - t0, 1)
        report["models"][name] = row
        print(f"{name:14} held-out F1 {row['heldout_macro_f1']:.3f}  batched "
              f"{row['inference_songs_per_s_batched']:.1f} / "
              f"{row['inference_songs_per_s_batched_heldout']:.1f} songs/s  meets "
              f"{', '.join(k for k, v in row['meets'].items() if v) or 'none'}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
