"""Decoding speed of the default lyrics model per backend: `make bench-lm` (not a test).

For the same model (SmolLM2-135M-Instruct) and the same writer prompt it reports generated
tokens/s and time to the first token for:

- ``raw_llamacpp``: llama-cpp-python's ``create_completion`` called directly (the reference);
- ``songwright_llamacpp``: songwright's ``LlamaCppLM`` backend (the same engine through our
  interface);
- ``songwright_transformers_int8``: the transformers backend (the default without llama.cpp);

and, per songwright backend, the whole lyrics stage for one song (``stage_*``: tokens/s over
the stage's wall time, prompt processing, retries and cleaning included; ``first_line_s``: the
time until the first line is shown). ``ratio_vs_raw_llamacpp`` divides each tokens/s by the
raw reference. llama.cpp rows are skipped when llama-cpp-python is not installed
(`make setup-llamacpp`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time
from pathlib import Path


def _prompt():  # noqa: ANN202
    from songwright.model import SongPrompt
    from songwright.stages.lyrics.plan import PlannedSection
    from songwright.stages.lyrics.prompts import section_messages

    p = SongPrompt(title="Two Lane Summer", artist="The Gravel Saints", genre="country",
                   era="1990s", verse_prompt="driving home past the grain elevator at dusk",
                   seed=7)
    return p, section_messages(p, PlannedSection("verse", "Verse 1", 1, 8), [], [], prefill=True)


def time_stream(pieces, count) -> dict:  # noqa: ANN001
    """Consume a stream; tokens/s over the decoding time after the first token."""
    t0 = time.perf_counter()
    first = None
    n0 = count()
    for _ in pieces:
        if first is None:
            first = time.perf_counter()
    end = time.perf_counter()
    n = count() - n0
    return {"tokens": n, "seconds": end - t0, "first_token_s": (first or end) - t0,
            "tokens_per_s": (n - 1) / (end - first) if first and n > 1 and end > first else 0.0}


def median_runs(fn, runs: int) -> dict:  # noqa: ANN001
    rows = [fn(i) for i in range(runs)]
    return {k: statistics.median(r[k] for r in rows) for k in rows[0]} | {"runs": runs}


def bench_backend(name: str, make, msgs, song_prompt, args) -> dict:  # noqa: ANN001
    """The raw-stream row and the whole-stage row of one songwright backend."""
    from songwright.stages.lyrics.writer import LyricsWriter

    t0 = time.perf_counter()
    lm = make()
    load_s = time.perf_counter() - t0
    lm.reset()
    row = median_runs(lambda i: time_stream(
        lm.stream(msgs, max_new_tokens=args.tokens, seed=i), lambda: lm.tokens_generated),
        args.runs)
    first: list[float] = []
    writer = LyricsWriter(lm, on_line=lambda s, t: first.append(time.perf_counter()))
    stage_rows = []
    for i in range(args.runs):
        first.clear()
        n0 = lm.tokens_generated
        t = time.perf_counter()
        writer(dataclasses.replace(song_prompt, seed=i))
        dt = time.perf_counter() - t
        stage_rows.append({"tokens": lm.tokens_generated - n0, "seconds": dt,
                           "tokens_per_s": (lm.tokens_generated - n0) / dt,
                           "first_line_s": first[0] - t if first else float("nan")})
    stage = {k: statistics.median(r[k] for r in stage_rows) for k in stage_rows[0]}
    return {f"songwright_{name}": row | {"load_s": load_s},
            f"stage_{name}": stage | {"runs": args.runs}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=160, help="tokens to generate per run")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--adapter", default="default",
                    help="LoRA adapter folder for the songwright rows; default: the shipped "
                    "one; none: the base model")
    ap.add_argument("--out", type=Path, default=Path("bench/lm.json"))
    args = ap.parse_args(argv)

    from songwright.stages.lyrics.default import (
        LlamaCppLM,
        llama_cpp_available,
        load_default_lm,
        smollm2_gguf,
    )
    from songwright.stages.lyrics.factory import default_adapter
    from songwright.stages.lyrics.lm import chatml

    if args.adapter == "default":
        args.adapter = default_adapter()
    elif args.adapter == "none":
        args.adapter = None
    song_prompt, msgs = _prompt()
    report: dict = {"tokens": args.tokens, "cores": os.cpu_count(),
                    "adapter": None if args.adapter is None else str(args.adapter), "rows": {}}
    backends = {}
    if llama_cpp_available():
        raw = LlamaCppLM(smollm2_gguf())  # its .llm is the plain llama_cpp.Llama
        text = chatml(msgs)
        counter = {"n": 0}

        def raw_stream():  # noqa: ANN202
            for chunk in raw.llm.create_completion(text, max_tokens=args.tokens,
                                                   temperature=0.8, top_p=0.95, seed=1,
                                                   repeat_penalty=1.15, stream=True):
                counter["n"] += 1
                yield chunk
        report["rows"]["raw_llamacpp"] = median_runs(
            lambda i: time_stream(raw_stream(), lambda: counter["n"]), args.runs)
        backends["llamacpp"] = lambda: load_default_lm("llama-cpp", adapter=args.adapter)
    backends["transformers_int8"] = lambda: load_default_lm("transformers", adapter=args.adapter)
    for name, make in backends.items():
        report["rows"].update(bench_backend(name, make, msgs, song_prompt, args))
    ref = report["rows"].get("raw_llamacpp", {}).get("tokens_per_s")
    if ref:
        report["ratio_vs_raw_llamacpp"] = {k: round(v["tokens_per_s"] / ref, 3)
                                           for k, v in report["rows"].items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
