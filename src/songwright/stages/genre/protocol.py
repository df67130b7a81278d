"""The held-out evaluation protocol for genre: artist-disjoint and sub-genre-aware.

A random split flatters a genre model: songs of the same artist or the same sub-genre share
diction and topics. This protocol holds out, per genre, *whole sub-genres* and reports on
songs none of whose sub-genres the model has seen with that genre:

1. For each genre, its sub-genres are ordered by a hash of ``genre|sub-genre`` (deterministic,
   independent of the data order) and taken in that order into the held-out set ``H`` until
   the songs touched cover ``holdout_fraction`` of that genre's songs.
2. A song is *held out* when any of its ``(genre, sub-genre)`` pairs is in ``H``. Held-out
   songs never train or select a model:
   - ``test``: held-out songs of the songbook's second volume (files 101-180, where over half
     the songs take a topic typical of another genre) -- the headline number;
   - ``test_vol1``: held-out songs of the first volume (files 001-070).
3. The other songs are split by artist hash (:func:`songwright.data.corpus.assign_split`):
   ``validation`` (its "validation" and "test" buckets, for early stopping and model choice)
   and ``train``.

Songs without sub-genres or a volume number (user data) follow step 3 only. Every songbook
artist is unique, so all splits are also artist-disjoint; :func:`check_disjoint` verifies it.

**Draws.** ``draw=0`` is *the* split: the shipped models were trained and scored on it. Each
``draw=k`` (k >= 1) orders the sub-genres by another hash (``k|genre|sub-genre``), so it holds
out another set of whole sub-genres by the same rules. One held-out set of 85-88 songs moves
by about 0.012 macro-F1 per song; ``compare genre --draws N`` trains and scores every model
on draws 0..N-1 and reports the mean and spread, a far steadier estimate of how a model does
on sub-genres it has never seen. (The settings of the shipped models were chosen by grouped
cross-validation on draw 0's training songs, which include some of the other draws'
held-out songs: their weights never saw those songs, their settings may have.)
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter, defaultdict

from ...data.corpus import assign_split, group_key
from ...errors import SongwrightError
from ...model import Song

log = logging.getLogger(__name__)

SPLIT_NAMES = ("train", "validation", "test", "test_vol1")


def _hash(text: str) -> float:
    return int(hashlib.sha1(text.lower().encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def volume(song: Song) -> int | None:
    """1 for songbook files 001-099, 2 for 100 and up, None when the id has no number."""
    m = re.search(r"/(\d{3})-[^/]*$", str(song.meta.get("id", "")))
    if not m:
        return None
    return 1 if int(m.group(1)) < 100 else 2


def heldout_subgenres(songs: list[Song], fraction: float = 0.22, draw: int = 0
                      ) -> set[tuple[str, str]]:
    """The held-out ``(genre, sub-genre)`` pairs: per genre, enough to touch ``fraction`` of
    its songs, chosen in the hash order of draw ``draw`` (see the module docstring)."""
    prefix = f"{draw}|" if draw else ""
    by_genre: dict[str, list[Song]] = defaultdict(list)
    for s in songs:
        if s.genre:
            by_genre[s.genre].append(s)
    held: set[tuple[str, str]] = set()
    for genre, group in by_genre.items():
        subs = sorted({x.lower() for s in group for x in s.subgenres},
                      key=lambda x: _hash(f"{prefix}{genre}|{x}"))
        touched: set[int] = set()
        for sub in subs:
            if len(touched) >= fraction * len(group):
                break
            held.add((genre, sub))
            touched |= {i for i, s in enumerate(group) if sub in {x.lower() for x in s.subgenres}}
    return held


def heldout_split(songs: list[Song], fraction: float = 0.22, salt: str = "", draw: int = 0
                  ) -> dict[str, list[Song]]:
    """Split labelled songs into :data:`SPLIT_NAMES` (see the module docstring); ``draw``
    picks which sub-genres are held out (0: the split the shipped models use)."""
    if not 0.0 <= fraction < 1.0:
        raise SongwrightError(f"holdout fraction must be in [0, 1), got {fraction}")
    if not isinstance(draw, int) or draw < 0:
        raise SongwrightError(f"the held-out draw must be an integer >= 0, got {draw!r}")
    labelled = [s for s in songs if s.genre]
    held = heldout_subgenres(labelled, fraction, draw)
    out: dict[str, list[Song]] = {k: [] for k in SPLIT_NAMES}
    for s in labelled:
        pairs = {(s.genre, x.lower()) for x in s.subgenres}
        if pairs & held:
            out["test" if volume(s) != 1 else "test_vol1"].append(s)
        else:
            out["train" if assign_split(s, salt=salt) == "train" else "validation"].append(s)
    check_disjoint(out)
    log.info("held-out split: %s", {k: len(v) for k, v in out.items()})
    return out


HELDOUT_GROUPS = ("test", "test_vol1", "heldout")  # "heldout": test and test_vol1 together


def heldout_groups(splits: dict[str, list[Song]]) -> dict[str, list[Song]]:
    """The held-out songs as they are scored: ``test``, ``test_vol1`` and ``heldout`` (both:
    every song the protocol held out)."""
    return {"test": splits["test"], "test_vol1": splits["test_vol1"],
            "heldout": splits["test"] + splits["test_vol1"]}


def check_disjoint(splits: dict[str, list[Song]]) -> None:
    """Raise when an artist appears in the training split and in an evaluation split."""
    train_artists = {group_key(s) for s in splits.get("train", [])}
    for name, group in splits.items():
        if name == "train":
            continue
        shared = train_artists & {group_key(s) for s in group}
        if shared:
            raise SongwrightError(f"artists shared between train and {name}: {sorted(shared)[:5]}")


def describe(splits: dict[str, list[Song]]) -> dict[str, dict[str, int]]:
    """Songs per genre in each split."""
    return {k: dict(sorted(Counter(s.genre for s in v).items())) for k, v in splits.items()}
