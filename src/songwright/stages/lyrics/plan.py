"""Plan a song's structure before any text is written: which sections, in which order, how long.

A small untuned model ignores structure tags, so structure comes from the program: the prompt's
``structure`` when given, else the habits of its genre. Planning is deterministic per seed (the
only random choices are an optional outro and a pre-chorus for some genres).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ...model import SongPrompt
from .lm import derive_seed

# Sections that, when they come back, come back word for word.
REPEATING_KINDS = ("chorus", "hook", "pre-chorus", "post-chorus")
# Sections with no lyric lines unless the prompt fixes a line count for every section.
INSTRUMENTAL_KINDS = ("intro", "instrumental", "solo", "interlude")

DEFAULT_LINES = {"verse": 4, "chorus": 4, "hook": 4, "bridge": 4, "pre-chorus": 2,
                 "post-chorus": 2, "outro": 2, "other": 4}
LABELS = {"pre-chorus": "Pre-Chorus", "post-chorus": "Post-Chorus"}

# Genre habits: (structure, line counts that differ from DEFAULT_LINES).
HABITS: dict[str, tuple[tuple[str, ...], dict[str, int]]] = {
    "pop": (("verse", "chorus", "verse", "chorus", "bridge", "chorus"), {}),
    "rock": (("verse", "chorus", "verse", "chorus", "bridge", "chorus"), {}),
    "country": (("verse", "chorus", "verse", "chorus", "bridge", "chorus"), {}),
    "metal": (("verse", "chorus", "verse", "chorus", "bridge", "chorus"), {}),
    "rap": (("verse", "hook", "verse", "hook"), {"verse": 8}),
    "rnb": (("verse", "pre-chorus", "chorus", "verse", "pre-chorus", "chorus", "bridge",
             "chorus"), {}),
    "folk": (("verse", "chorus", "verse", "chorus", "verse", "chorus"), {}),
}
# Words in the genre or sub-genres that map to a habit, checked in this order.
GENRE_WORDS = (
    ("rap", ("rap", "hip hop", "hip-hop", "hiphop", "trap", "drill", "grime")),
    ("metal", ("metal", "metalcore", "thrash", "doom")),
    ("rnb", ("r&b", "rnb", "soul", "neo-soul", "funk")),
    ("country", ("country", "bluegrass", "americana")),
    ("folk", ("folk", "singer-songwriter", "ballad")),
    ("rock", ("rock", "punk", "grunge", "indie", "alternative")),
    ("pop", ("pop", "dance", "disco", "synth")),
)


@dataclass(frozen=True)
class PlannedSection:
    """One section to write.

    Attributes:
        kind: a section kind from ``songwright.model.SECTION_KINDS``.
        label: display label (``"Verse 2"``, ``"Chorus"``).
        number: the verse/bridge number, None for sections that repeat verbatim.
        lines: how many lyric lines to write.
        repeat_of: index in the plan of the section this one copies, or None.
    """

    kind: str
    label: str
    number: int | None
    lines: int
    repeat_of: int | None = None


def genre_habit(genre: str, subgenres: tuple[str, ...] = ()) -> str:
    """The habit name for a genre (``"pop"`` when nothing matches).

    >>> genre_habit("Hip Hop")
    'rap'
    >>> genre_habit("", ("thrash metal",))
    'metal'
    """
    text = " ".join((genre, *subgenres)).lower()
    for habit, words in GENRE_WORDS:
        if any(w in text for w in words):
            return habit
    return "pop"


def plan_song(prompt: SongPrompt) -> tuple[PlannedSection, ...]:
    """The sections of the song in order, with line counts and chorus repeats.

    ``prompt.structure`` wins over the genre habit; ``prompt.lines_per_section`` fixes every
    lyric section's line count. Without an explicit structure the seed decides whether the song
    gets an outro (and, for pop, a pre-chorus).
    """
    rng = random.Random(derive_seed("plan", prompt.seed, prompt.genre))
    habit = genre_habit(prompt.genre, prompt.subgenres)
    if prompt.structure:
        kinds = tuple(k.lower() for k in prompt.structure)
        counts = dict(DEFAULT_LINES)
    else:
        base, extra = HABITS[habit]
        kinds, counts = base, {**DEFAULT_LINES, **extra}
        if habit == "pop" and rng.random() < 0.35:
            kinds = _with_pre_chorus(kinds)
        if rng.random() < 0.4:
            kinds = (*kinds, "outro")
    return _number(kinds, counts, prompt.lines_per_section)


def _with_pre_chorus(kinds: tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    for i, k in enumerate(kinds):
        # before every chorus that follows a verse
        if k == "chorus" and i and kinds[i - 1] == "verse":
            out.append("pre-chorus")
        out.append(k)
    return tuple(out)


def _number(kinds: tuple[str, ...], counts: dict[str, int],
            fixed: int | None) -> tuple[PlannedSection, ...]:
    totals = {k: kinds.count(k) for k in set(kinds)}
    seen: dict[str, int] = {}
    first: dict[str, int] = {}
    out: list[PlannedSection] = []
    for i, kind in enumerate(kinds):
        seen[kind] = seen.get(kind, 0) + 1
        name = LABELS.get(kind, kind.capitalize())
        if kind in REPEATING_KINDS:
            repeat_of = first.get(kind)
            first.setdefault(kind, i)
            number, label = None, name
        else:
            repeat_of = None
            number = seen[kind]
            # number verses always (ChordPro and readers expect "Verse 1"); others when repeated
            label = f"{name} {number}" if kind == "verse" or totals[kind] > 1 else name
            if kind != "verse" and totals[kind] == 1:
                number = None
        if kind in INSTRUMENTAL_KINDS and fixed is None:
            n = 0
        else:
            n = fixed if fixed is not None else counts.get(kind, counts["other"])
        if repeat_of is not None:
            n = out[repeat_of].lines
        out.append(PlannedSection(kind, label, number, n, repeat_of))
    return tuple(out)
