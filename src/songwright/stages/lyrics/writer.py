"""The lyrics stage: plan the song, then fill it section by section with a language model.

Backends that continue an assistant message (local transformers models, llama.cpp) write one
line per call, stopping at the newline; the others (HTTP chat endpoints, seq2seq models) are
asked for a whole section and their answer is split into lines. Either way every line is
cleaned and checked (:mod:`.clean`); a rejected line is retried with a new seed, and after
``max_attempts`` failures a safe line is built from the prompt's words (:mod:`.fallback`), so
the stage always returns every planned line. A chorus or hook is written once and copied.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from ...model import Line, Section, Song, SongPrompt, default_env
from .clean import MAX_WORDS, MIN_WORDS, clean_line, normalise, reject_reason, split_candidates
from .fallback import fallback_line
from .lm import LanguageModel, derive_seed
from .plan import PlannedSection, plan_song
from .prompts import PROMPT_VERSION, section_messages

log = logging.getLogger(__name__)

OnLine = Callable[[PlannedSection, str], None]


@dataclass
class WriteStats:
    """What happened while writing one song (kept on the writer as ``last_stats``)."""

    calls: int = 0
    accepted: int = 0
    fallbacks: int = 0
    rejected: Counter = field(default_factory=Counter)
    seconds: float = 0.0


class LyricsWriter:
    """A :class:`~songwright.stages.base.LyricsStage` backed by any :class:`LanguageModel`.

    Args:
        lm: the text generator.
        temperature: sampling temperature (0 = greedy; retries then differ only by prompt).
        top_p: nucleus sampling threshold.
        max_attempts: model calls per line before a fallback line is used.
        max_new_tokens: token budget for one line (a section gets this times its lines).
        min_words: shortest accepted line, in words.
        max_words: longer lines are cut at a clause boundary to this many words.
        on_line: called with ``(section, text)`` as each line is accepted (copied chorus
            lines included), so a CLI can print lines as they come.
    """

    def __init__(self, lm: LanguageModel, *, temperature: float = 0.8, top_p: float = 0.92,
                 max_attempts: int = 4, max_new_tokens: int = 28, min_words: int = MIN_WORDS,
                 max_words: int = MAX_WORDS, on_line: OnLine | None = None) -> None:
        self.lm = lm
        self.name = f"lyrics:{lm.name}"
        self.temperature = temperature
        self.top_p = top_p
        self.max_attempts = max_attempts
        self.max_new_tokens = max_new_tokens
        self.min_words = min_words
        self.max_words = max_words
        self.on_line = on_line
        self.last_stats = WriteStats()

    # ------------------------------------------------------------------ the stage
    def __call__(self, prompt: SongPrompt) -> Song:
        """Write the lyrics of ``prompt``: same prompt and seed, same lyrics."""
        t0 = time.perf_counter()
        self.last_stats = stats = WriteStats()
        reset = getattr(self.lm, "reset", None)
        if reset is not None:
            reset()  # the KV cache must not carry one song into the next
        plan = plan_song(prompt)
        banned = _banned(prompt)
        written: list[tuple[str, ...]] = []
        done: list[tuple[str, tuple[str, ...]]] = []
        for i, sec in enumerate(plan):
            if sec.repeat_of is not None:
                lines = written[sec.repeat_of]
                for ln in lines:
                    self._emit(sec, ln)
            else:
                used = [ln for prev in written for ln in prev]
                lines = self.write_section(prompt, sec, i, done, used, banned, stats)
            written.append(lines)
            if sec.repeat_of is None and lines:
                done.append((sec.label, lines))
        sections = tuple(
            Section(kind=sec.kind, lines=tuple(Line(t) for t in lines), label=sec.label,
                    number=sec.number, env=default_env(sec.kind))
            for sec, lines in zip(plan, written))
        stats.seconds = time.perf_counter() - t0
        log.info("lyrics: %d lines accepted, %d fallback, %d calls, rejected %s, %.1f s",
                 stats.accepted, stats.fallbacks, stats.calls, dict(stats.rejected),
                 stats.seconds)
        meta = {"verse_prompt": prompt.verse_prompt, "instructions": prompt.instructions,
                "lyrics_model": self.lm.name, "prompt_version": PROMPT_VERSION,
                "lyrics_fallback_lines": str(stats.fallbacks)}
        return Song(title=prompt.title, artist=prompt.artist or None, key=prompt.key,
                    tempo=prompt.tempo, time=prompt.time, genre=prompt.genre or None,
                    subgenres=tuple(prompt.subgenres), era=prompt.era or None,
                    sections=sections, meta=meta)

    # ------------------------------------------------------------------ one section
    def write_section(self, prompt: SongPrompt, sec: PlannedSection, index: int,
                      done: list[tuple[str, tuple[str, ...]]], used: list[str],
                      banned: set[str], stats: WriteStats | None = None) -> tuple[str, ...]:
        """Write the ``sec.lines`` lines of one section (see the module docstring)."""
        stats = stats or WriteStats()
        rng = random.Random(derive_seed("fallback", prompt.seed, index))
        title_line = _title_start(prompt, sec)
        lines: list[str] = []
        failures = 0
        attempt = 0
        while len(lines) < sec.lines:
            if failures >= self.max_attempts:
                line = fallback_line(prompt, rng, used + lines)
                lines.append(line)
                stats.fallbacks += 1
                self._emit(sec, line)
                failures = 0
                continue
            seed = derive_seed("line", prompt.seed, index, len(lines), attempt)
            attempt += 1
            stats.calls += 1
            cands = self._ask(prompt, sec, done, lines, seed,
                              title_line if not lines and failures < 2 else "")
            took = 0
            for cand in cands:
                why = reject_reason(cand, used + lines, banned, self.min_words, self.max_words)
                if why is not None:
                    stats.rejected[why] += 1
                    log.debug("rejected (%s): %r", why, cand)
                    continue
                lines.append(cand)
                took += 1
                stats.accepted += 1
                self._emit(sec, cand)
                if len(lines) == sec.lines:
                    break
            failures = 0 if took else failures + 1
        if lines and title_line and not any(normalise(title_line) in normalise(x) for x in lines):
            # the model drifted away from the title: the chorus must still carry it
            lines[-1] = _title_hook(prompt.title)
        return tuple(lines)

    def _ask(self, prompt: SongPrompt, sec: PlannedSection,
             done: list[tuple[str, tuple[str, ...]]], lines: list[str], seed: int,
             start: str) -> list[str]:
        prefill = bool(getattr(self.lm, "supports_prefill", False))
        msgs = section_messages(prompt, sec, done, lines, prefill, start if prefill else "")
        if prefill:
            raw = self.lm.generate(msgs, max_new_tokens=self.max_new_tokens,
                                   temperature=self.temperature, top_p=self.top_p, seed=seed,
                                   stop=("\n",))
            raw = start + raw
            # one line per call: whatever the model wrote up to the newline is the candidate
            cand = clean_line(raw.split("\n")[0], self.max_words, self.min_words)
            return [cand] if cand else [""]
        budget = self.max_new_tokens * max(1, sec.lines - len(lines))
        raw = self.lm.generate(msgs, max_new_tokens=budget, temperature=self.temperature,
                               top_p=self.top_p, seed=seed)
        return split_candidates(raw, self.max_words, self.min_words) or [""]

    def _emit(self, sec: PlannedSection, text: str) -> None:
        if self.on_line is not None:
            self.on_line(sec, text)


def _banned(prompt: SongPrompt) -> set[str]:
    """Normalised texts a line must not copy: example lyric lines and the prompt's sentences."""
    from .prompts import style_example_lines

    examples = prompt.example_lyrics.splitlines() + style_example_lines(prompt)
    out = {normalise(x) for x in examples if x.strip()}
    for text in (prompt.verse_prompt, prompt.instructions, prompt.artist):
        if text.strip():
            out.add(normalise(text))
    return {x for x in out if x}


def _title_start(prompt: SongPrompt, sec: PlannedSection) -> str:
    """The title, when this section should open with it (a chorus or hook, short title)."""
    title = prompt.title.strip()
    if sec.kind in ("chorus", "hook") and title and len(title.split()) <= 8:
        return title
    return ""


def _title_hook(title: str) -> str:
    title = title.strip()
    return title if len(title.split()) >= 3 else f"Oh, {title}, {title.lower()}"
