"""End-to-end benchmark: `make bench` (not part of the tests).

Generates the same song (fixed seed) N times with one warm Pipeline and reports the median
end-to-end time, the time per stage, the lyrics model's tokens/s, the time until the first
lyric line is shown (``first_line_s``, what the CLI streams), the cold start (model loads) and
the peak memory, as JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--lyrics-model", default="default")
    ap.add_argument("--genre-model", default="default", help="default, minilm, tfidf or a folder")
    ap.add_argument("--lyrics-backend", default="auto",
                    choices=("auto", "transformers", "llama-cpp"))
    ap.add_argument("--out", type=Path, default=Path("bench/report.json"))
    args = ap.parse_args(argv)

    from songwright.model import SongPrompt
    from songwright.pipeline import Pipeline, PipelineConfig

    prompt = SongPrompt(title="Two Lane Summer", artist="The Gravel Saints", genre="country",
                        era="1990s", verse_prompt="driving home past the grain elevator at dusk",
                        seed=args.seed)
    t0 = time.perf_counter()
    first_line: list[float] = []

    def on_line(section: object, text: str) -> None:
        if not first_line:
            first_line.append(time.perf_counter())

    pipe = Pipeline(PipelineConfig(lyrics=args.lyrics_model, genre=args.genre_model,
                                   lyrics_options={"backend": args.lyrics_backend}),
                    on_line=on_line)
    for name in ("lyrics", "genre", "chords", "arrange"):
        pipe.stage(name)
    cold_load = time.perf_counter() - t0
    runs = []
    lm = getattr(pipe.stage("lyrics"), "lm", None)
    for _ in range(args.runs):
        tokens_before = getattr(lm, "tokens_generated", 0)
        first_line.clear()
        # every run encodes afresh (the vectors would otherwise be kept from the previous,
        # identical run): the genre model's own encoder and the shared line pass (the chord
        # stage's; the minilm genre model fills it and the chord stage reuses it)
        from songwright.stages.genre.encoder import shared_line_encoder

        shared_line_encoder(persist=False).forget()
        if hasattr(pipe.stage("genre"), "forget"):
            pipe.stage("genre").forget()
        with tempfile.TemporaryDirectory() as d:
            t = time.perf_counter()
            song = pipe.generate(prompt)
            t_gen = time.perf_counter() - t
            pipe.render(song, Path(d) / "out")
            total = time.perf_counter() - t
        run = {"total_s": total, "generate_s": t_gen,
               "first_line_s": first_line[0] - t if first_line else float("nan"), **{k: v for k, v in pipe.timings.items()
                                                        if not k.startswith("load_")}}
        tokens = getattr(lm, "tokens_generated", 0) - tokens_before
        run["lyrics_tokens"] = float(tokens)
        run["lyrics_tokens_per_s"] = tokens / run["lyrics"] if run["lyrics"] else 0.0
        stats = getattr(pipe.stage("lyrics"), "last_stats", None)
        if stats is not None:
            run["lyrics_stats"] = {"calls": stats.calls, "accepted": stats.accepted,
                                   "fallbacks": stats.fallbacks,
                                   "rejected": dict(stats.rejected)}
        runs.append(run)
    keys = [k for k in runs[0] if isinstance(runs[0][k], float)]
    report = {
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(),
                    "processor": platform.processor()},
        "seed": args.seed, "runs": args.runs, "lyrics_model": args.lyrics_model,
        "genre_model": args.genre_model,
        "lyrics_backend": args.lyrics_backend,
        "lyrics_model_name": getattr(lm, "name", None),
        "cold_load_s": cold_load,
        "load_s": {k: v for k, v in pipe.timings.items() if k.startswith("load_")},
        "median_s": {k: statistics.median(r[k] for r in runs) for k in keys},
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "lyrics_stats_last": runs[-1].get("lyrics_stats"),
        "lyrics_lines": len(song.lyric_lines),
        "per_run": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps({"median_total_s": report["median_s"]["total_s"],
                      "median_s": report["median_s"], "cold_load_s": cold_load,
                      "peak_rss_mb": report["peak_rss_mb"]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
