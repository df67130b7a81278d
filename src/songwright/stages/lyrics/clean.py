"""Repair rules: turn raw model text into singable lyric lines, or say why a line is rejected.

Small models write prose, number their lines, echo labels ("Verse 1:"), loop, and talk about
the song instead of singing it. Everything here is plain string work with no model, so the
rules are cheap to test on hand-made bad outputs.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

MIN_WORDS = 3
MAX_WORDS = 12
NEAR_DUPLICATE = 0.7  # share of distinct words two lines may have in common

_SPECIAL = re.compile(r"<\|[^|>]*\|>|</?s>|<pad>|<unk>")
_TAG_LINE = re.compile(r"^\s*[\[({][^\])}]*[\])}]\s*$")
_INLINE_TAG = re.compile(
    r"[\[(](?:verse|chorus|bridge|hook|intro|outro|pre-?chorus|refrain|x\s*\d|\d\s*x|repeat)"
    r"[^\])]*[\])]", re.I)
_LABEL = re.compile(
    r"^\s*(?:verse|chorus|bridge|hook|intro|outro|pre-?chorus|post-?chorus|refrain|line|lyrics)"
    r"\s*\d*\s*(?:\(\w+\))?\s*[:.\-\u2013\u2014)]\s*", re.I)
_NUMBERING = re.compile(r"^\s*(?:\d{1,3}\s*[.):\]\-]|[-*\u2022\u2013\u2014>#]+)\s*")
_MARKDOWN = re.compile(r"[*_`#~]+")
# A short stage note in brackets at the end of a line: "... sweetheart! (Easter)".
_STAGE_NOTE = re.compile(r"\s*[(\[][^()\[\]]{1,30}[)\]]\s*$")
_QUOTES = re.compile(r"[\"\u201c\u201d\u00ab\u00bb]")
_WS = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_META = re.compile(
    r"^(?:here(?:'s| is| are)|sure\b|certainly|okay|ok\b|of course|title\s*:|this song|the song"
    r"|in this song|these lyrics|note\s*:)|\blyrics\b|\bstanza|\brhyme scheme|\bas an ai\b"
    r"|\bthe (?:first|second|third|fourth|next|last) line\b|\bline \d|\bi hope you\b"
    r"|\blet me know\b|\bverse\b|\bchorus\b|https?:|www\."
    # instruction-tuning residue that small chat models fall back to
    r"|^\w{1,12}\s*:\s|\bquestions?\b|\banswers?\b|\btranslat|\bparagraph|\bpoem\b"
    # echoes of the task itself ("the chorus is 2 lines", "write the second sentence")
    r"|\bsentences?\b|\b\d+[- ]lines?\b|\bpart of the song\b|\bthe song is\b"
    r"|\bwrite (?:the|a|an|\d)\b|\brepeat (?:the|it|\d)|\bcatchy\b|\b\d+ words?\b"
    r"|\bshorten\b", re.I)

CONJUNCTIONS = frozenset(
    "and but or so while when as because until till where that then though whose which "
    "who with like".split())
# Words a line should not end on after a hard cut (it would dangle).
DANGLING = frozenset(
    "the a an and or but of to in on at by for from with my your our their his her its is "
    "are was were be that as into onto than so".split())


def normalise(text: str) -> str:
    """Lower-case letters, digits and single spaces: the key for duplicate checks."""
    return _WS.sub(" ", re.sub(r"[^\w\s]", "", text.lower())).strip()


def words_of(text: str) -> list[str]:
    return text.split()


def cut_line(text: str, max_words: int = MAX_WORDS, min_words: int = MIN_WORDS) -> str:
    """Cut a run-on line to at most ``max_words`` words, at a clause boundary when possible.

    Tries, in order: the last punctuation mark inside the limit, the last conjunction inside the
    limit (cut before it), then a hard cut that drops dangling function words.

    >>> cut_line("I drove all night, the radio was playing our song and I thought of you", 8)
    'I drove all night'
    """
    words = words_of(text)
    if len(words) <= max_words:
        return text
    floor = max(min_words, 3)
    for i in range(max_words, floor - 1, -1):
        if re.search(r"[,;:.!?\u2014\u2013]$", words[i - 1]):
            return _tidy(" ".join(words[:i]))
    for i in range(max_words, floor - 1, -1):
        if words[i].lower().strip(",.") in CONJUNCTIONS:
            return _tidy(" ".join(words[:i]))
    cut = words[:max_words]
    while len(cut) > floor and cut[-1].lower().strip(",.;:") in DANGLING:
        cut.pop()
    return _tidy(" ".join(cut))


def _tidy(text: str) -> str:
    text = text.strip().rstrip(",;:-\u2013\u2014 ").rstrip(".")
    text = text.strip("'\u2018\u2019 ") if text[:1] in "'\u2018" else text
    return text[:1].upper() + text[1:] if text else text


def clean_line(raw: str, max_words: int = MAX_WORDS, min_words: int = MIN_WORDS) -> str:
    """Strip numbering, labels, tags, quotes and markup from one raw line; cut run-ons.

    Returns the cleaned text, or ``""`` when nothing singable is left (e.g. a bare tag).

    >>> clean_line('Verse 1: "I walk the empty streets alone"')
    'I walk the empty streets alone'
    >>> clean_line("3. Dancing in the moonlight, baby")
    'Dancing in the moonlight, baby'
    >>> clean_line("[Chorus]")
    ''
    >>> clean_line("Blessed is thy love, sweetheart! (Easter)")
    'Blessed is thy love, sweetheart!'
    """
    text = _SPECIAL.sub(" ", raw).strip()
    if _TAG_LINE.match(text):
        return ""
    text = _INLINE_TAG.sub(" ", text)
    for _ in range(3):  # "1. Verse 2: - ..." stacks prefixes
        before = text
        text = _NUMBERING.sub("", _LABEL.sub("", text))
        if text == before:
            break
    text = _MARKDOWN.sub("", _QUOTES.sub("", text))
    text = _STAGE_NOTE.sub("", text)
    text = _WS.sub(" ", text).strip()
    if not text:
        return ""
    return _tidy(cut_line(_tidy(text), max_words, min_words))


def split_candidates(raw: str, max_words: int = MAX_WORDS,
                     min_words: int = MIN_WORDS) -> list[str]:
    """Every candidate line in a block of raw text, cleaned; long prose is split at sentences."""
    out: list[str] = []
    for piece in raw.splitlines():
        parts = [piece]
        if len(words_of(piece)) > max_words:
            parts = [p for p in _SENTENCE_END.split(piece) if p.strip()]
        for p in parts:
            c = clean_line(p, max_words, min_words)
            if c:
                out.append(c)
    return out


def is_loop(text: str) -> bool:
    """True for a line that repeats itself: one word 3+ times, or a repeated 3-word run.

    >>> is_loop("the road the road the road")
    True
    >>> is_loop("Hold me close, hold me now")
    False
    """
    ws = [w.strip(",.!?;:").lower() for w in words_of(text)]
    ws = [w for w in ws if w]
    counts = Counter(w for w in ws if len(w) > 2)
    if counts and max(counts.values()) >= 3:
        return True
    grams = [tuple(ws[i:i + 3]) for i in range(len(ws) - 2)]
    return len(grams) != len(set(grams))


def reject_reason(text: str, used: Iterable[str] = (), banned: Iterable[str] = (),
                  min_words: int = MIN_WORDS, max_words: int = MAX_WORDS) -> str | None:
    """Why a cleaned line cannot be used, or None when it is fine.

    Args:
        text: a line from :func:`clean_line`.
        used: lines already in the song (duplicates are rejected; choruses are copied, not
            regenerated, so a repeat here is always a mistake).
        banned: normalised texts the line must not copy (example lyrics, prompt sentences).
    """
    if not text.strip():
        return "empty"
    n = len(words_of(text))
    if n < min_words:
        return "too short"
    if n > max_words:
        return "too long"
    letters = sum(ch.isalpha() for ch in text)
    if letters < 0.7 * len(text.replace(" ", "")) or re.search(r"\d{3,}", text):
        return "not words"
    if _META.search(text):
        return "talks about the song"
    if is_loop(text):
        return "loop"
    key = normalise(text)
    mine = set(key.split())
    for u in used:
        k = normalise(u)
        if key == k or (n >= 4 and len(k.split()) >= 4 and (key in k or k in key)):
            return "duplicate"
        # Near-copies ("Your love did not lie in the sea" / "... in the land") read as a loop.
        theirs = set(k.split())
        if n >= 4 and len(mine & theirs) >= NEAR_DUPLICATE * len(mine | theirs):
            return "duplicate"
    for b in banned:
        if key == b or (n >= 5 and key in b):
            return "copied from the prompt"
    return None
