"""Stylistic features of lyrics: what carries genre when the topic does not.

Sentence embeddings mostly carry topic. A rap verse about fishing is still a rap verse: long
lines, many words a line, internal rhyme, dropped g's and slang; a metal song about a
heartbreak still has short declamatory lines and few contractions. These numbers are cheap
(no model), independent of topic words, and fed to the head beside the encoder's vectors.

Every feature is a float; :data:`FEATURE_NAMES` fixes their order.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

log = logging.getLogger(__name__)

_WORD = re.compile(r"[A-Za-z][A-Za-z']*")
_VOWELS = re.compile(r"[aeiouy]+", re.I)

# Small hand lists: style markers, not topic words.
SLANG = frozenset("""ya yo y'all ain't gonna wanna gotta finna tryna lemme gimme kinda outta
imma i'ma cuz 'cause cause homie homies dawg bro yeah yeh uh huh ayy ay aye woah whoa nah
yall aint em 'em ol' lil tho shawty ridin' rollin' flow mic crew hood""".split())
PROFANE = frozenset("""damn damned hell shit fuck fuckin' fucking bitch ass crap bastard
goddamn piss""".split())
FIRST = frozenset("i me my mine i'm i've i'd i'll myself".split())
SECOND = frozenset("you your yours you're you've you'll ya".split())
PLURAL = frozenset("we us our ours we're".split())
THIRD = frozenset("he she him her his hers they them their".split())
EXCLAIM = frozenset("oh ooh ah whoa woah hey yeah na la baby".split())
# Elevated, archaic register (metal, old hymns) versus everyday speech.
ELEVATED = frozenset("""thee thy thou thine shall upon beneath unto ye o'er 'neath eternal
whence hath doth nevermore ere yon behold forsaken""".split())
EVERYDAY = frozenset("""gonna wanna got get just like really kinda stuff okay ok guess
alright pretty whatever""".split())

FEATURE_NAMES = (
    "n_lines_log", "chars_per_line", "chars_per_line_std", "words_per_line",
    "words_per_line_std", "syllables_per_line", "syllables_per_line_std", "word_len",
    "long_word_ratio", "type_token_ratio", "unique_line_ratio", "top_line_repeat",
    "repeated_word_in_line", "contraction_ratio", "g_drop_ratio", "slang_ratio",
    "profane_ratio", "first_person", "second_person", "plural_person", "third_person",
    "exclaim_ratio", "end_rhyme_adjacent", "end_rhyme_alternate", "internal_rhyme",
    "comma_per_line", "exclam_per_line", "question_per_line", "quote_per_line",
    "dash_per_line", "paren_per_line", "digit_ratio", "caps_word_ratio", "one_syllable_ratio",
    "line_start_and_ratio", "stanza_lines", "line_len_max", "elevated_ratio", "everyday_ratio",
    "syllables_per_word", "line_end_punct_ratio", "line_start_i_ratio",
)


@lru_cache(maxsize=50000)
def syllables(word: str) -> int:
    """Syllables of a word: CMU dictionary (``pronouncing``) when known, else vowel groups."""
    w = word.lower().strip("'")
    if not w:
        return 0
    try:
        import pronouncing

        phones = pronouncing.phones_for_word(w)
        if phones:
            return pronouncing.syllable_count(phones[0])
    except ImportError:  # pragma: no cover - pronouncing is a dependency
        pass
    if w.endswith("in'"):
        w = w[:-1] + "g"
    return max(1, len(_VOWELS.findall(w)) - (1 if w.endswith("e") and len(w) > 3 else 0))


@lru_cache(maxsize=50000)
def rhyme_part(word: str) -> str:
    """The rhyming part of a word (stressed vowel to end), spelling-based when not in CMU."""
    w = word.lower().strip("'")
    if w.endswith("in'"):
        w = w[:-1] + "g"
    try:
        import pronouncing

        phones = pronouncing.phones_for_word(w)
        if phones:
            return pronouncing.rhyming_part(phones[0])
    except ImportError:  # pragma: no cover
        pass
    m = re.search(r"[aeiouy]+[^aeiouy]*$", w)
    return m.group(0) if m else w


def _rhymes(a: str, b: str) -> bool:
    return bool(a) and bool(b) and a.lower() != b.lower() and rhyme_part(a) == rhyme_part(b)


def _ratio(num: float, den: float) -> float:
    return float(num) / den if den else 0.0


def stylistic_features(text: str) -> np.ndarray:
    """The feature vector of one lyrics text (sections separated by blank lines).

    Returns:
        Array of shape ``(len(FEATURE_NAMES),)``; all zeros for an empty text.
    """
    stanzas = [[ln.strip() for ln in st.split("\n") if ln.strip()]
               for st in re.split(r"\n\s*\n", text)]
    stanzas = [s for s in stanzas if s]
    lines = [ln for st in stanzas for ln in st]
    if not lines:
        return np.zeros(len(FEATURE_NAMES), dtype=np.float32)
    words_by_line = [_WORD.findall(ln) for ln in lines]
    words = [w.lower() for ws in words_by_line for w in ws]
    nw = max(len(words), 1)
    nl = len(lines)
    chars = np.array([len(ln) for ln in lines], dtype=float)
    wpl = np.array([len(ws) for ws in words_by_line], dtype=float)
    spl = np.array([sum(syllables(w) for w in ws) for ws in words_by_line], dtype=float)
    counts = Counter(ln.lower() for ln in lines)
    ends = [ws[-1] for ws in words_by_line if ws]
    adjacent = sum(_rhymes(a, b) for a, b in zip(ends, ends[1:]))
    alternate = sum(_rhymes(a, b) for a, b in zip(ends, ends[2:]))
    internal = 0
    for ws in words_by_line:
        if len(ws) > 2:
            internal += sum(_rhymes(w, ws[-1]) for w in ws[:-1] if len(w) > 2)
    repeated_in_line = sum(len(ws) - len({w.lower() for w in ws}) for ws in words_by_line)
    feats = {
        "n_lines_log": math.log1p(nl),
        "chars_per_line": chars.mean(), "chars_per_line_std": chars.std(),
        "words_per_line": wpl.mean(), "words_per_line_std": wpl.std(),
        "syllables_per_line": spl.mean(), "syllables_per_line_std": spl.std(),
        "word_len": float(np.mean([len(w) for w in words])) if words else 0.0,
        "long_word_ratio": _ratio(sum(len(w) >= 8 for w in words), nw),
        "type_token_ratio": _ratio(len(set(words)), nw),
        "unique_line_ratio": _ratio(len(counts), nl),
        "top_line_repeat": _ratio(counts.most_common(1)[0][1], nl),
        "repeated_word_in_line": _ratio(repeated_in_line, nw),
        "contraction_ratio": _ratio(sum("'" in w.strip("'") for w in words), nw),
        "g_drop_ratio": _ratio(sum(w.endswith("in'") for w in words), nw),
        "slang_ratio": _ratio(sum(w in SLANG for w in words), nw),
        "profane_ratio": _ratio(sum(w in PROFANE for w in words), nw),
        "first_person": _ratio(sum(w in FIRST for w in words), nw),
        "second_person": _ratio(sum(w in SECOND for w in words), nw),
        "plural_person": _ratio(sum(w in PLURAL for w in words), nw),
        "third_person": _ratio(sum(w in THIRD for w in words), nw),
        "exclaim_ratio": _ratio(sum(w in EXCLAIM for w in words), nw),
        "end_rhyme_adjacent": _ratio(adjacent, max(len(ends) - 1, 1)),
        "end_rhyme_alternate": _ratio(alternate, max(len(ends) - 2, 1)),
        "internal_rhyme": _ratio(internal, nl),
        "comma_per_line": _ratio(text.count(","), nl),
        "exclam_per_line": _ratio(text.count("!"), nl),
        "question_per_line": _ratio(text.count("?"), nl),
        "quote_per_line": _ratio(text.count('"'), nl),
        "dash_per_line": _ratio(text.count("-") + text.count("\u2014"), nl),
        "paren_per_line": _ratio(text.count("("), nl),
        "digit_ratio": _ratio(sum(c.isdigit() for c in text), max(len(text), 1)),
        "caps_word_ratio": _ratio(sum(w.isupper() and len(w) > 1 for ws in words_by_line
                                      for w in ws), nw),
        "one_syllable_ratio": _ratio(sum(syllables(w) == 1 for w in words), nw),
        "line_start_and_ratio": _ratio(sum(ws[0].lower() in {"and", "but", "so"}
                                           for ws in words_by_line if ws), nl),
        "stanza_lines": _ratio(nl, len(stanzas)),
        "line_len_max": float(chars.max()),
        "elevated_ratio": _ratio(sum(w in ELEVATED for w in words), nw),
        "everyday_ratio": _ratio(sum(w in EVERYDAY for w in words), nw),
        "syllables_per_word": _ratio(float(spl.sum()), nw),
        "line_end_punct_ratio": _ratio(sum(ln[-1] in ".,!?;:" for ln in lines), nl),
        "line_start_i_ratio": _ratio(sum(bool(ws) and ws[0].lower() in FIRST
                                         for ws in words_by_line), nl),
    }
    return np.array([feats[k] for k in FEATURE_NAMES], dtype=np.float32)


def feature_matrix(texts: Sequence[str]) -> np.ndarray:
    """Features of many texts, shape ``(N, F)``."""
    if not texts:
        return np.zeros((0, len(FEATURE_NAMES)), dtype=np.float32)
    return np.stack([stylistic_features(t) for t in texts])
