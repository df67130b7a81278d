"""Rebuild the shipped baseline models from the corpora: ``songwright train baselines``.

- ``genre-tfidf``: TF-IDF + logistic regression on the songbook's train split (artist-disjoint),
  evaluated on its test split.
- ``chords-markov``: the genre/mode-conditioned Markov chain on the songbook's train split plus
  Billboard and iReal (chord-only corpora), evaluated by next-chord accuracy on the songbook's
  test split.

Each folder gets a model card (README.md) with data, metrics and licence notes.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from .data.corpus import assign_split, load_source
from .errors import SongwrightError
from .paths import ASSETS_DIR, require_data_root

log = logging.getLogger(__name__)

LICENCE_NOTES = """\
- songbook: written for this project; free to use for anything.
- McGill Billboard 2.0 annotations: CC0 (cite Burgoyne et al., ISMIR 2011).
- iReal Pro charts: user-contributed, from a GPL-3.0 repository's test data. Only transition
  counts between key-relative chord tokens are kept, no chart is reproduced.
"""


def markov_next_chord_accuracy(model, songs) -> dict:  # noqa: ANN001
    """Teacher-forced next-chord top-1/top-5 of the Markov chain on songs with chords."""
    from .stages.chords.evaluate import markov_metrics

    m = markov_metrics(model, songs)
    return {"n": m["baseline_n"], "next_chord_top1": m["baseline_next_chord_top1"],
            "next_chord_top5": m["baseline_next_chord_top5"],
            "perplexity": m["baseline_perplexity"]}


def train_baselines(data_root: Path | None = None, out: Path | None = None) -> dict:
    """Train both baselines, write them with model cards, return their metrics."""
    from .stages.chords.markov import MarkovChords
    from .stages.genre.tfidf import TfidfGenre, evaluate_genre_model

    root = data_root or require_data_root()
    out = Path(out) if out else ASSETS_DIR
    songbook, _ = load_source("songbook", root)
    train = [s for s in songbook if assign_split(s) == "train"]
    val = [s for s in songbook if assign_split(s) == "validation"]
    test = [s for s in songbook if assign_split(s) == "test"]

    t0 = time.perf_counter()
    genre = TfidfGenre.train(train + val)
    genre_metrics = evaluate_genre_model(genre, test)
    genre_metrics["train_seconds"] = round(time.perf_counter() - t0, 2)
    genre_metrics["train_songs"] = len(train) + len(val)
    genre.metrics = genre_metrics
    genre_dir = genre.save(out / "genre-tfidf")
    _write_card(genre_dir, "TF-IDF + logistic-regression genre baseline", genre_metrics,
                "songbook train+validation splits (artist-disjoint hash split)",
                "songbook test split")

    chord_songs = list(train + val)
    extra_counts = {}
    for name in ("billboard", "ireal"):
        try:
            songs, report = load_source(name, root)
        except (SongwrightError, ImportError) as e:  # a missing corpus is reported, not fatal
            log.warning("skipping %s: %s", name, e)
            continue
        if name == "ireal":
            # Most iReal charts are jazz standards; their extended harmony would leak into pop
            # songs through the genre-free back-off tables. Keep the charts whose style names
            # one of our genres.
            songs = [s for s in songs if s.genre]
        chord_songs.extend(songs)
        extra_counts[name] = len(songs)
    t0 = time.perf_counter()
    markov = MarkovChords.train(chord_songs)
    chord_metrics = markov_next_chord_accuracy(markov, test)
    chord_metrics["train_seconds"] = round(time.perf_counter() - t0, 2)
    chord_metrics["train_songs"] = {"songbook": len(train) + len(val), **extra_counts}
    markov.metrics = chord_metrics
    chord_dir = markov.save(out / "chords-markov")
    _write_card(chord_dir, "Markov chord baseline (genre- and mode-conditioned, order 2)",
                chord_metrics, "songbook train+validation splits, Billboard, iReal",
                "songbook test split (teacher-forced next chord)")
    examples = build_lyrics_examples(train)
    (out / "lyrics-examples.json").write_text(json.dumps(examples, indent=2, ensure_ascii=False)
                                              + "\n", encoding="utf-8")
    return {"genre": genre_metrics, "chords": chord_metrics,
            "lyrics_examples": {g: e["id"] for g, e in examples.items()}}


def build_lyrics_examples(songs, lines: int = 4) -> dict:  # noqa: ANN001
    """One songbook song per genre (the first by id with a 4-line verse and chorus): the style
    example the lyrics prompt shows a small model when the user gives none."""
    out: dict[str, dict] = {}
    for song in sorted(songs, key=lambda s: s.meta.get("id", s.title)):
        if not song.genre or song.genre in out:
            continue
        verse = next((s for s in song.sections if s.kind == "verse"), None)
        chorus = next((s for s in song.sections if s.kind == "chorus"), None)
        if not verse or not chorus:
            continue
        v = [ln.text.strip() for ln in verse.lyric_lines][:lines]
        c = [ln.text.strip() for ln in chorus.lyric_lines][:lines]
        if len(v) == lines and len(c) == lines:
            out[song.genre] = {"id": song.meta.get("id", ""), "title": song.title,
                               "verse": v, "chorus": c}
    return dict(sorted(out.items()))


def _write_card(d: Path, title: str, metrics: dict, data: str, evaluation: str) -> None:
    shown = {k: v for k, v in metrics.items() if k not in ("confusion_matrix",)}
    text = f"""# {title}

Baseline shipped with songwright; rebuild with `songwright train baselines` (reads the corpora
from `$SONGWRIGHT_DATA` or `../shared/data`).

- Trained on: {data}
- Evaluated on: {evaluation}
- Metrics:

```json
{json.dumps(shown, indent=2)}
```

## Data licences
{LICENCE_NOTES}
## Model licence
Apache-2.0, like songwright.
"""
    (d / "README.md").write_text(text, encoding="utf-8")
