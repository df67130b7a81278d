"""The ``songwright`` command. Every verb calls the Python API; only this module prints."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from .errors import SongwrightError

log = logging.getLogger("songwright")


def _add_prompt_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("prompt (the seed's fields; or --prompt / --prompts)")
    g.add_argument("--title", help="song title (required unless --prompt/--prompts)")
    g.add_argument("--artist", default="", help="artist or band name, real or fictional")
    g.add_argument("--genre", default="", help="primary genre: country, metal, pop, rap or rock")
    g.add_argument("--subgenres", default="", help="comma-separated sub-genres")
    g.add_argument("--era", default="", help="era or decade, e.g. 1980s")
    g.add_argument("--verse-prompt", default="", help="what the first verse is about")
    g.add_argument("--instructions", default="", help="extra instructions for the writer")
    g.add_argument("--example-lyrics", default="", help="example lyrics to imitate (text or @FILE)")
    g.add_argument("--key", default=None, help="key, e.g. G, Em, Bb (default: chosen by genre)")
    g.add_argument("--tempo", type=float, default=None, help="tempo in BPM, 1-400")
    g.add_argument("--time", default=None, help="time signature, e.g. 4/4, 3/4, 6/8")
    g.add_argument("--structure", default=None,
                   help='section plan, e.g. "verse chorus verse chorus bridge chorus"')
    g.add_argument("--seed", type=int, default=0, help="random seed: same seed, same song")
    g.add_argument("--prompt", type=Path, help="a JSON file with the prompt fields")
    g.add_argument("--prompts", type=Path, help="a JSONL file: one prompt per line (batch)")


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="songwright", description="Prompt-to-song studio: lyrics, genre, chords, melody, "
        "arrangement; renders ChordPro, MusicXML, MIDI, WAV and JSON.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="write a song from a prompt",
                       description="Write a song from a prompt and render it into --out.")
    _add_prompt_flags(g)
    g.add_argument("--out", type=Path, default=Path("out"), help="output folder (default: out)")
    g.add_argument("--formats", default=",".join(("chordpro", "json", "midi", "wav", "musicxml")),
                   help="comma-separated outputs: chordpro,json,midi,wav,musicxml")
    g.add_argument("--lyrics-model", default="default",
                   help="default (SmolLM2 + the shipped LoRA adapter, offline), smollm2 (no "
                   "adapter), tiny-random, a model folder, or openai:<base_url>#<model>")
    g.add_argument("--lyrics-adapter", type=Path, default=None,
                   help="a LoRA adapter folder for --lyrics-model (from `train lyrics`)")
    g.add_argument("--lyrics-backend", choices=("auto", "transformers", "llama-cpp"),
                   default="auto", help="engine for default/smollm2 (auto: llama.cpp when "
                   "installed by `make setup-llamacpp`, else transformers int8)")
    g.add_argument("--genre-model", default="default",
                   help="default (SmolLM2 + stylistic features, early exit at layer 2), "
                   "smollm2-full (always 12 layers), smollm2-early (always 2), minilm "
                   "(faster, less accurate), tfidf (baseline) or a folder")
    g.add_argument("--chord-model", default="default",
                   help="default (the RLHF policy), policy, seq2seq, markov (baseline), "
                   "seed-3chord (the seed's setting) or a model folder")
    g.add_argument("--audio", default="auto", choices=("auto", "fluidsynth", "numpy"),
                   help="WAV engine (auto: FluidSynth when installed, else the numpy synth)")
    g.add_argument("--quiet", action="store_true", help="print no lead sheet or progress")

    c = sub.add_parser("convert", help="convert one song file between formats")
    c.add_argument("input", type=Path, help=".cho/.chordpro, .json, .mxl/.musicxml, "
                   "salami_chords.txt or an iReal playlist with one song")
    c.add_argument("--to", required=True, choices=("chordpro", "json", "musicxml"))
    c.add_argument("-o", "--output", type=Path, help="output file (default: stdout for text)")

    d = sub.add_parser("data", help="corpora: build datasets, print statistics")
    dsub = d.add_subparsers(dest="data_command", required=True)
    db = dsub.add_parser("build", help="build a Hugging Face DatasetDict split by artist")
    db.add_argument("--sources", default="songbook,openewld,billboard,ireal")
    db.add_argument("--csv", action="append", default=[], metavar="SCHEMA:PATH",
                    help="a user CSV: chordonomicon:, kaggle:, genius: or metrolyrics:PATH")
    db.add_argument("--data-root", type=Path, default=None, help="default: $SONGWRIGHT_DATA "
                    "or ../shared/data")
    db.add_argument("--out", type=Path, required=True, help="dataset folder to write")
    ds = dsub.add_parser("stats", help="counts per source, genre, key, mode, metre, sections, "
                         "chord vocabulary")
    ds.add_argument("--sources", default="songbook,openewld,billboard,ireal")
    ds.add_argument("--data-root", type=Path, default=None)
    ds.add_argument("--json", action="store_true", help="print JSON")

    t = sub.add_parser("train", help="train a stage")
    tsub = t.add_subparsers(dest="train_command", required=True)
    tb = tsub.add_parser("baselines", help="train the TF-IDF genre and Markov chord baselines "
                         "(the shipped defaults) from the corpora")
    tb.add_argument("--data-root", type=Path, default=None)
    tb.add_argument("--out", type=Path, default=None,
                    help="folder for genre-tfidf/ and chords-markov/ (default: package assets)")

    e = sub.add_parser("evaluate", help="evaluate a stage")
    esub = e.add_subparsers(dest="eval_command", required=True)
    cmp_ = sub.add_parser("compare", help="compare models of a stage on the same split")
    csub = cmp_.add_subparsers(dest="compare_command", required=True)

    from .stages.chords.cli import add_evaluate_parser, add_rate_parser, add_train_parsers
    from .stages.genre.cli import add_genre_commands
    from .stages.lyrics.cli import add_lyrics_commands

    add_genre_commands(tsub, csub, esub)
    add_lyrics_commands(tsub, esub)
    add_train_parsers(tsub)
    add_evaluate_parser(esub)
    add_rate_parser(sub)
    return parser


def _read_text_arg(value: str) -> str:
    if value.startswith("@"):
        p = Path(value[1:])
        if not p.is_file():
            raise SongwrightError(f"no such file: {p}")
        return p.read_text(encoding="utf-8")
    return value


def _prompt_from_args(args: argparse.Namespace):  # noqa: ANN202
    from .model import SongPrompt

    if args.prompt is not None:
        if not args.prompt.is_file():
            raise SongwrightError(f"no such prompt file: {args.prompt}")
        try:
            data = json.loads(args.prompt.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise SongwrightError(f"{args.prompt}: invalid JSON: {e}") from e
        data.setdefault("seed", args.seed)
        return SongPrompt.from_dict(data)
    if not args.title:
        raise SongwrightError("--title is required (or give --prompt FILE.json)")
    return SongPrompt.from_dict({
        "title": args.title, "artist": args.artist, "genre": args.genre,
        "subgenres": args.subgenres, "era": args.era, "verse_prompt": args.verse_prompt,
        "instructions": args.instructions, "example_lyrics": _read_text_arg(args.example_lyrics),
        "key": args.key, "tempo": args.tempo, "time": args.time, "structure": args.structure,
        "seed": args.seed,
    })


def _read_prompts_jsonl(path: Path):  # noqa: ANN202
    from .model import SongPrompt

    if not path.is_file():
        raise SongwrightError(f"no such prompts file: {path}")
    prompts = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            prompts.append(SongPrompt.from_dict(json.loads(line)))
        except (json.JSONDecodeError, SongwrightError, TypeError) as e:
            raise SongwrightError(f"{path}:{i}: {e}") from e
    if not prompts:
        raise SongwrightError(f"{path} holds no prompts")
    return prompts


def _cmd_generate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .pipeline import Pipeline, PipelineConfig, check_writable, slugify
    from .render.text import lead_sheet

    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    lyrics_options: dict = {"backend": args.lyrics_backend}
    if args.lyrics_adapter is not None:
        from .stages.lyrics.train import check_adapter

        check_adapter(args.lyrics_adapter, args.lyrics_model)
        lyrics_options["adapter"] = args.lyrics_adapter
    config = PipelineConfig(lyrics=args.lyrics_model, genre=args.genre_model,
                            chords=args.chord_model, formats=formats, audio_engine=args.audio,
                            lyrics_options=lyrics_options)
    quiet = args.quiet

    def on_line(section: object, text: str) -> None:
        if not quiet:
            name = getattr(section, "label", None) or str(section)
            print(f"  {name:>10} | {text}", file=sys.stderr, flush=True)

    pipe = Pipeline(config, on_line=on_line)
    if args.prompts is not None:
        prompts = _read_prompts_jsonl(args.prompts)
        for pr in prompts:  # validate every prompt before spending time on any
            pr.validate(pipe.known_genres)
        check_writable(args.out)  # fail on an unwritable --out before generating anything
        pipe.on_line = None
        for i, pr in enumerate(tqdm(prompts, desc="songs", unit="song", disable=quiet), start=1):
            song = pipe.generate(pr)
            pipe.render(song, args.out / f"{i:03d}-{slugify(pr.title)}")
        if not quiet:
            print(f"wrote {len(prompts)} songs into {args.out}", file=sys.stderr)
        return 0
    prompt = _prompt_from_args(args)
    prompt.validate(pipe.known_genres)
    check_writable(args.out)
    bar = tqdm(total=4 + len(formats), desc="song", unit="step", disable=quiet, leave=False)

    def progress(step: str) -> None:
        bar.set_postfix_str(step)
        bar.update(1)

    song = pipe.generate(prompt, progress=progress)
    files = pipe.render(song, args.out, progress=progress)
    bar.close()
    if not quiet:
        print(lead_sheet(song))
        for fmt, p in files.items():
            print(f"{fmt:>9}: {p}", file=sys.stderr)
    return 0


def _cmd_convert(args: argparse.Namespace) -> int:
    from .formats import atomic_write, load_song, song_to_text

    song = load_song(args.input)
    data = song_to_text(song, args.to)
    if args.output is None:
        if isinstance(data, bytes):
            data = data.decode("utf-8")
        sys.stdout.write(data)
    else:
        atomic_write(args.output, data)
    return 0


def _load_all(sources: str, data_root: Path | None) -> dict:
    from .data.corpus import load_source
    from .paths import require_data_root

    root = data_root or require_data_root()
    out = {}
    for name in [s.strip() for s in sources.split(",") if s.strip()]:
        songs, report = load_source(name, root)
        log.info("%s: %s", name, report.to_dict())
        out[name] = songs
    return out


def _cmd_data(args: argparse.Namespace) -> int:
    from .data.corpus import build_dataset, corpus_stats, load_csv_source

    if args.data_command == "build":
        extra = []
        for spec in args.csv:
            schema, _, path = spec.partition(":")
            if not path:
                raise SongwrightError(f"--csv wants SCHEMA:PATH, got {spec!r}")
            extra.extend(load_csv_source(Path(path), schema))
        sources = [s.strip() for s in args.sources.split(",") if s.strip()]
        summary = build_dataset(args.out, sources, args.data_root, extra_songs=extra)
        print(json.dumps(summary, indent=2))
        return 0
    stats = corpus_stats(_load_all(args.sources, args.data_root))
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    for name, s in list(stats["sources"].items()) + [("TOTAL", stats["total"])]:
        print(f"== {name}: {s['songs']} songs")
        for k in ("genre", "mode", "time", "section"):
            top = ", ".join(f"{a} {b}" for a, b in list(s[k].items())[:12])
            print(f"  {k:8} {top}")
        print(f"  keys     {len(s['key'])} distinct; top: "
              + ", ".join(f"{a} {b}" for a, b in list(s["key"].items())[:8]))
        v = s["chord_vocab"]
        print(f"  chords   raw spellings {v['raw_spellings']}, key-relative {v['key_relative']}, "
              f"folded to sevenths {v['folded_sevenths']}, to triads {v['folded_triads']}")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from .train_baselines import train_baselines

    report = train_baselines(args.data_root, args.out)
    print(json.dumps(report, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point. Returns the exit code: 0 success, 2 bad input (one line on stderr)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # Model loads take a second; their progress bars would only clutter the lead sheet.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    parser = _build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    handlers = {"generate": _cmd_generate, "convert": _cmd_convert, "data": _cmd_data,
                "train": _cmd_train}
    try:
        # Stage commands (train genre, compare genre, evaluate genre, ...) bring their handler.
        handler = (getattr(args, "genre_handler", None) or getattr(args, "chords_handler", None)
                   or getattr(args, "lyrics_handler", None) or handlers[args.command])
        return handler(args)
    except SongwrightError as e:
        print(f"songwright: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("songwright: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
