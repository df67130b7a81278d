"""Evaluate a lyrics stage on a set of prompts: structure, titles, diversity, rhyme, metre, genre.

Prompts come from a folder of ChordPro files (each song's metadata is a prompt:
:meth:`Song.to_prompt`) or a JSONL file of :class:`SongPrompt` dicts. :func:`lyrics_metrics`
is a pure function over finished songs, so it can be checked on hand-made songs;
:func:`evaluate_lyrics` runs a stage on the prompts, times it and calls it.
"""

from __future__ import annotations

import json
import logging
import re
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ...errors import SongwrightError
from ...model import Song, SongPrompt
from .plan import INSTRUMENTAL_KINDS, REPEATING_KINDS, plan_song

log = logging.getLogger(__name__)

METRIC_KEYS = ("n", "structure_validity", "title_present", "distinct_1", "distinct_2",
               "repeated_line_ratio", "rhyme_density", "syllables_per_line_std",
               "genre_adherence", "seconds_per_song", "tokens_per_second")

_WORD_RE = re.compile(r"[a-z0-9']+")
_VOWELS_RE = re.compile(r"[aeiouy]+")


# --------------------------------------------------------------------------- prompts
def load_prompts(path: str | Path, limit: int | None = None, split: str | None = None,
                 per_genre: int | None = None) -> list[SongPrompt]:
    """Prompts from a ChordPro folder (or one ``.cho`` file) or a JSONL file.

    Args:
        path: the folder, file or JSONL.
        limit: at most this many prompts.
        split: ChordPro only: keep songs of this artist-hash split
            (:func:`songwright.data.corpus.assign_split`: ``train``/``validation``/``test``),
            e.g. the held-out songs a LoRA adapter never saw.
        per_genre: at most this many prompts per genre (in file order).

    Raises:
        SongwrightError: missing path, unreadable line, bad split, or no prompts at all.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise SongwrightError(f"prompts path {p} does not exist")
    if split is not None and split not in ("train", "validation", "test"):
        raise SongwrightError(f"--split must be train, validation or test, got {split!r}")
    prompts: list[SongPrompt] = []
    counts: dict[str, int] = {}

    def keep(prompt: SongPrompt) -> bool:
        g = (prompt.genre or "").lower()
        if per_genre is not None and counts.get(g, 0) >= per_genre:
            return False
        counts[g] = counts.get(g, 0) + 1
        prompts.append(prompt)
        return limit is not None and len(prompts) >= limit

    if p.is_dir() or p.suffix in (".cho", ".chordpro", ".chopro"):
        from ...data.corpus import assign_split
        from ...formats.chordpro import read_chordpro

        files = [p] if p.is_file() else sorted(
            f for f in p.rglob("*") if f.suffix in (".cho", ".chordpro", ".chopro"))
        for f in files:
            song = read_chordpro(f)
            if split is not None and assign_split(song) != split:
                continue
            if keep(song.to_prompt()):
                break
    else:
        if split is not None:
            raise SongwrightError("--split needs a ChordPro folder (JSONL prompts have no split)")
        for i, row in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            if not row.strip():
                continue
            try:
                prompt = SongPrompt.from_dict(json.loads(row))
            except (json.JSONDecodeError, TypeError) as e:
                raise SongwrightError(f"{p}:{i}: not a JSON prompt object: {e}") from e
            except SongwrightError as e:
                raise SongwrightError(f"{p}:{i}: {e}") from e
            if keep(prompt):
                break
    if not prompts:
        raise SongwrightError(f"no prompts found in {p}" + (f" (split {split})" if split else ""))
    return prompts


# --------------------------------------------------------------------------- words
def words(text: str) -> list[str]:
    """Lower-case word tokens (apostrophes kept)."""
    return _WORD_RE.findall(text.lower())


def _norm(text: str) -> str:
    return " ".join(words(text))


def syllables(word: str) -> int:
    """Syllables of a word: CMU dictionary, else the number of vowel groups (at least 1).

    >>> syllables("heartache"), syllables("zzyzx")
    (2, 1)
    """
    import pronouncing

    w = word.lower().strip("'")
    phones = pronouncing.phones_for_word(w)
    if phones:
        return pronouncing.syllable_count(phones[0])
    return max(1, len(_VOWELS_RE.findall(w)))


def _rhyme_parts(word: str) -> set[str]:
    import pronouncing

    parts = {pronouncing.rhyming_part(ph) for ph in pronouncing.phones_for_word(word)}
    if not parts:  # not in the dictionary: the spelling from the last vowel group on
        m = re.search(r"[aeiouy]+[^aeiouy]*$", word)
        parts = {"~" + (m.group(0) if m else word)}
    return parts


def rhymes(a: str, b: str) -> bool:
    """Whether two words rhyme (the same word does not count).

    >>> rhymes("night", "light"), rhymes("night", "night"), rhymes("day", "stone")
    (True, False, False)
    """
    import pronouncing

    a, b = a.lower().strip("'"), b.lower().strip("'")
    if not a or not b or a == b:
        return False
    return b in pronouncing.rhymes(a) or bool(_rhyme_parts(a) & _rhyme_parts(b))


# --------------------------------------------------------------------------- metrics
def structure_valid(song: Song, prompt: SongPrompt) -> bool:
    """Every planned lyric section present in order, no empty lines, repeats word for word."""
    plan = [s for s in plan_song(prompt) if s.lines > 0]
    secs = [s for s in song.sections if s.kind not in INSTRUMENTAL_KINDS or s.lyric_lines]
    if [s.kind for s in secs] != [p.kind for p in plan]:
        return False
    first: dict[str, list[str]] = {}
    for sec in secs:
        texts = [ln.text.strip() for ln in sec.lines if ln.kind == "lyric"]
        if not texts or any(not t for t in texts):
            return False
        if sec.kind in REPEATING_KINDS and first.setdefault(sec.kind, texts) != texts:
            return False
    return True


def _repeated_lines(song: Song) -> tuple[int, int]:
    """(lines outside repeating sections that repeat an earlier line, all lyric lines)."""
    seen: set[str] = set()
    repeated = total = 0
    for sec in song.sections:
        for ln in sec.lyric_lines:
            key = _norm(ln.text)
            total += 1
            if sec.kind not in REPEATING_KINDS and key and key in seen:
                repeated += 1
            seen.add(key)
    return repeated, total


def _rhyme_pairs(song: Song) -> tuple[int, int]:
    """(adjacent line pairs inside a section whose last words rhyme, all adjacent pairs)."""
    hit = pairs = 0
    done: set[tuple[str, ...]] = set()
    for sec in song.sections:
        ends = [w[-1] for w in (words(ln.text) for ln in sec.lyric_lines) if w]
        key = (sec.kind, *ends)
        if sec.kind in REPEATING_KINDS and key in done:
            continue  # a copied chorus would count its rhymes twice
        done.add(key)
        for a, b in zip(ends, ends[1:]):
            pairs += 1
            hit += rhymes(a, b)
    return hit, pairs


def _ratio(num: float, den: float) -> float | None:
    return None if den == 0 else num / den


def lyrics_metrics(songs: Sequence[Song], prompts: Sequence[SongPrompt],
                   genre_model: Any = None) -> dict[str, Any]:
    """Every lyrics metric except timing, over songs written for ``prompts`` (same order).

    Args:
        songs: the written songs.
        prompts: the prompt of each song.
        genre_model: an object with ``labels`` and ``predict_proba(texts)`` (see
            :func:`songwright.stages.genre.load.load_genre_model`); None leaves
            ``genre_adherence`` null.

    Returns:
        ``n``, ``structure_validity``, ``title_present``, ``distinct_1``, ``distinct_2``,
        ``repeated_line_ratio``, ``rhyme_density``, ``syllables_per_line_std``,
        ``genre_adherence``; a ratio with nothing to count is None.
    """
    if len(songs) != len(prompts):
        raise SongwrightError(f"{len(songs)} songs for {len(prompts)} prompts")
    n = len(songs)
    unigrams: list[str] = []
    bigrams: list[tuple[str, str]] = []
    valid = titled = rep = lines = rhyme_hit = rhyme_pairs = 0
    stds: list[float] = []
    for song, prompt in zip(songs, prompts):
        valid += structure_valid(song, prompt)
        title = _norm(prompt.title)
        titled += bool(title) and title in _norm(song.lyrics)
        for ln in song.lyric_lines:
            w = words(ln.text)
            unigrams += w
            bigrams += list(zip(w, w[1:]))
        r, t = _repeated_lines(song)
        rep, lines = rep + r, lines + t
        h, p = _rhyme_pairs(song)
        rhyme_hit, rhyme_pairs = rhyme_hit + h, rhyme_pairs + p
        counts = [sum(syllables(w) for w in words(ln.text)) for ln in song.lyric_lines]
        if counts:
            stds.append(statistics.pstdev(counts))
    return {
        "n": n,
        "structure_validity": _ratio(valid, n),
        "title_present": _ratio(titled, n),
        "distinct_1": _ratio(len(set(unigrams)), len(unigrams)),
        "distinct_2": _ratio(len(set(bigrams)), len(bigrams)),
        "repeated_line_ratio": _ratio(rep, lines),
        "rhyme_density": _ratio(rhyme_hit, rhyme_pairs),
        "syllables_per_line_std": statistics.fmean(stds) if stds else None,
        "genre_adherence": _genre_adherence(songs, prompts, genre_model),
    }


def _genre_adherence(songs: Sequence[Song], prompts: Sequence[SongPrompt],
                     model: Any) -> float | None:
    """Fraction of songs whose top genre label is the genre asked for (known genres only)."""
    if model is None:
        return None
    labels = [str(x).lower() for x in model.labels]
    pairs = [(s.lyrics, p.genre.lower()) for s, p in zip(songs, prompts)
             if p.genre.lower() in labels and s.lyrics.strip()]
    if not pairs:
        return None
    probs = model.predict_proba([text for text, _ in pairs])  # (N, n_labels)
    hits = sum(labels[int(row.argmax())] == genre for row, (_, genre) in zip(probs, pairs))
    return hits / len(pairs)


# --------------------------------------------------------------------------- running
def evaluate_lyrics(stage: Callable[[SongPrompt], Song], prompts: Sequence[SongPrompt] | str
                    | Path, limit: int | None = None,
                    genre_model: Any = "default") -> dict[str, Any]:
    """Write a song for each prompt with ``stage`` and measure it (keys: ``METRIC_KEYS``).

    Args:
        stage: a lyrics stage (``stage(prompt) -> Song``), e.g. from ``make_lyrics_stage``.
        prompts: prompts, or a ChordPro folder / JSONL path to read them from.
        limit: evaluate at most this many prompts.
        genre_model: a genre model name/folder (loaded once), a loaded model, or None to skip
            ``genre_adherence``.

    Returns:
        :func:`lyrics_metrics` plus ``seconds_per_song`` and ``tokens_per_second`` (None when
        the stage's LM does not count ``tokens_generated``).
    """
    if isinstance(prompts, (str, Path)):
        prompts = load_prompts(prompts, limit)
    prompts = list(prompts)[:limit]
    if not prompts:
        raise SongwrightError("no prompts to evaluate")
    if isinstance(genre_model, (str, Path)):
        from ..genre.load import load_genre_model

        genre_model = load_genre_model(genre_model)
    lm = getattr(stage, "lm", None)
    tokens0 = getattr(lm, "tokens_generated", None)
    songs: list[Song] = []
    t0 = time.perf_counter()
    for i, prompt in enumerate(prompts, 1):
        songs.append(stage(prompt))
        log.info("evaluate lyrics: %d/%d %r", i, len(prompts), prompt.title)
    seconds = time.perf_counter() - t0
    out = lyrics_metrics(songs, prompts, genre_model)
    out["seconds_per_song"] = seconds / len(prompts)
    tokens1 = getattr(lm, "tokens_generated", None)
    out["tokens_per_second"] = (None if tokens0 is None or tokens1 is None or seconds <= 0
                                else (tokens1 - tokens0) / seconds)
    return {k: out[k] for k in METRIC_KEYS}
