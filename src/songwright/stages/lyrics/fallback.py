"""Safe lines built from the prompt's own words, used when the model keeps failing.

They guarantee that the stage always returns every planned line; they are plain but singable,
seeded, and never repeat a line already in the song.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable

from ...model import SongPrompt
from .clean import normalise

STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had
has have having he her here hers him his how i if in into is it its just me more most my no nor
not now of off on once only or other our out over own same she should so some song songs such
than that the their them then there these they this those through to too under until up very
was we were what when where which while who whom why will with would you your verse first
write lyrics about make feel style""".split())

POOL = ("heart", "road", "night", "light", "home", "time", "dream", "fire", "rain", "sky")

TEMPLATES = (
    "We carry {a} through the {b}",
    "I still remember {a} and {b}",
    "Every road leads back to {a}",
    "Out here with {a} and {b}",
    "{A} is calling out my name",
    "Under the {a} we are free",
    "Nothing shines like {a} and {b}",
    "Tell me about {a} one more time",
    "Through the {a} and the {b}",
    "I can feel the {a} in my soul",
    "Don't let the {a} fade away",
    "Sing it loud for {a} tonight",
    "All we need is {a} and {b}",
    "Take me back to {a} again",
)


def keywords(prompt: SongPrompt) -> list[str]:
    """Content words of the prompt (title first), padded with a few song words."""
    text = " ".join((prompt.title, prompt.verse_prompt, prompt.instructions,
                     " ".join(prompt.subgenres), prompt.genre))
    out: list[str] = []
    for w in re.findall(r"[A-Za-z][A-Za-z']+", text):
        w = w.lower().strip("'")
        if len(w) >= 3 and w not in STOPWORDS and w not in out:
            out.append(w)
    for w in POOL:
        if len(out) >= 8:
            break
        if w not in out:
            out.append(w)
    return out


def fallback_line(prompt: SongPrompt, rng: random.Random, used: Iterable[str]) -> str:
    """A line from a template and the prompt's words that is not yet in ``used``."""
    taken = {normalise(u) for u in used}
    words = keywords(prompt)
    order = list(TEMPLATES)
    rng.shuffle(order)
    pairs = [(a, b) for a in words for b in words if a != b]
    rng.shuffle(pairs)
    for a, b in pairs:
        for t in order:
            line = t.format(a=a, b=b, A=a.capitalize())
            if normalise(line) not in taken:
                return line
    # unreachable with 8+ words and 14 templates, but the stage must never fail
    return f"{words[0].capitalize()} and {words[1]} forever, line {len(taken) + 1}"
