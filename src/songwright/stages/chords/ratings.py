"""The rating store: human feedback on generated songs, in one SQLite file.

``songwright rate`` writes here, the web UI will too, and ``songwright train reward`` reads it.
Every write is a transaction; nothing is ever deleted or updated in place. The schema is
versioned in the ``meta`` table.

Bad input:
- a file that is not SQLite (or a damaged one) raises :class:`SongwrightError` and is left
  byte-for-byte untouched (its header is checked before SQLite opens it, and readers open it
  read-only);
- a zero-byte or missing file is a new, empty store when opened for writing (documented
  fallback); opened read-only it is reported as holding no ratings;
- a store with a newer schema version is refused rather than misread.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ...errors import SongwrightError
from ...model import Song

SCHEMA_VERSION = 1
APP_ID = "songwright-ratings"
_HEADER = b"SQLite format 3\x00"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS songs (
    id INTEGER PRIMARY KEY, sha1 TEXT UNIQUE NOT NULL, song_json TEXT NOT NULL,
    model TEXT, title TEXT, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ratings (
    id INTEGER PRIMARY KEY, song_id INTEGER NOT NULL REFERENCES songs(id),
    score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5), rater TEXT, note TEXT,
    created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS preferences (
    id INTEGER PRIMARY KEY, song_a INTEGER NOT NULL REFERENCES songs(id),
    song_b INTEGER NOT NULL REFERENCES songs(id),
    preferred TEXT NOT NULL CHECK (preferred IN ('a', 'b', 'tie')), rater TEXT, note TEXT,
    created TEXT NOT NULL);
"""


def default_store_path() -> Path:
    """``$SONGWRIGHT_CACHE/ratings.sqlite`` (``~/.cache/songwright/ratings.sqlite``)."""
    from ...paths import cache_dir

    return cache_dir() / "ratings.sqlite"


@dataclass(frozen=True)
class Rating:
    song: Song
    score: int
    rater: str | None
    model: str | None


@dataclass(frozen=True)
class Preference:
    a: Song
    b: Song
    preferred: str  # "a", "b" or "tie"
    rater: str | None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class RatingStore:
    """Open (or create) a rating store.

    Args:
        path: the SQLite file.
        readonly: open for reading only (never creates or changes the file).

    Raises:
        SongwrightError: not a SQLite file, damaged, not a songwright store, or a newer schema.
    """

    def __init__(self, path: str | Path, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        exists = self.path.is_file() and self.path.stat().st_size > 0
        if exists:
            with self.path.open("rb") as f:
                if f.read(16) != _HEADER:
                    raise SongwrightError(f"{self.path} is not a rating store (not an SQLite "
                                          "file); it was left untouched")
        elif readonly:
            self.conn = None
            return
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            if readonly:
                self.conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            else:
                self.conn = sqlite3.connect(self.path)
            self.conn.execute("PRAGMA foreign_keys = ON")
            tables = {r[0] for r in self.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as e:
            raise SongwrightError(f"{self.path}: damaged rating store ({e}); it was left "
                                  "untouched") from e
        if not tables and not readonly:
            with self.conn:
                self.conn.executescript(_SCHEMA)
                self.conn.executemany("INSERT INTO meta VALUES (?, ?)",
                                      [("schema_version", str(SCHEMA_VERSION)), ("app", APP_ID)])
            return
        if "meta" not in tables:
            self.close()
            raise SongwrightError(f"{self.path} is an SQLite file but not a songwright rating "
                                  "store; it was left untouched")
        meta = dict(self.conn.execute("SELECT key, value FROM meta"))
        version = int(meta.get("schema_version", "0"))
        if meta.get("app") != APP_ID or version > SCHEMA_VERSION:
            self.close()
            raise SongwrightError(f"{self.path}: rating store schema {version} from a newer "
                                  f"songwright (this one reads {SCHEMA_VERSION})")

    # ------------------------------------------------------------------ writing
    def _writable(self) -> sqlite3.Connection:
        if self.readonly or self.conn is None:
            raise SongwrightError(f"{self.path} was opened read-only")
        return self.conn

    def add_song(self, song: Song, model: str | None = None) -> int:
        """Store a song (once per content); returns its id."""
        conn = self._writable()
        text = song.to_json(indent=None)
        sha = hashlib.sha1(text.encode("utf-8")).hexdigest()
        with conn:
            conn.execute("INSERT OR IGNORE INTO songs (sha1, song_json, model, title, created) "
                         "VALUES (?, ?, ?, ?, ?)",
                         (sha, text, model or song.meta.get("chord_model"), song.title, _now()))
        return int(conn.execute("SELECT id FROM songs WHERE sha1 = ?", (sha,)).fetchone()[0])

    def add_rating(self, song: Song, score: int, rater: str | None = None,
                   note: str | None = None, model: str | None = None) -> int:
        """Record a 1-5 score for a song; returns the rating id."""
        if not isinstance(score, int) or not 1 <= score <= 5:
            raise SongwrightError(f"a rating is an integer from 1 to 5, got {score!r}")
        conn = self._writable()
        sid = self.add_song(song, model)
        with conn:
            cur = conn.execute("INSERT INTO ratings (song_id, score, rater, note, created) "
                               "VALUES (?, ?, ?, ?, ?)", (sid, score, rater, note, _now()))
        return int(cur.lastrowid)

    def add_preference(self, a: Song, b: Song, preferred: str, rater: str | None = None,
                       note: str | None = None) -> int:
        """Record an A/B preference (``"a"``, ``"b"`` or ``"tie"``); returns its id."""
        if preferred not in ("a", "b", "tie"):
            raise SongwrightError(f"a preference is 'a', 'b' or 'tie', got {preferred!r}")
        conn = self._writable()
        ia, ib = self.add_song(a), self.add_song(b)
        with conn:
            cur = conn.execute("INSERT INTO preferences (song_a, song_b, preferred, rater, note, "
                               "created) VALUES (?, ?, ?, ?, ?, ?)",
                               (ia, ib, preferred, rater, note, _now()))
        return int(cur.lastrowid)

    # ------------------------------------------------------------------ reading
    def ratings(self) -> list[Rating]:
        if self.conn is None:
            return []
        rows = self.conn.execute("SELECT s.song_json, r.score, r.rater, s.model FROM ratings r "
                                 "JOIN songs s ON s.id = r.song_id ORDER BY r.id")
        return [Rating(Song.from_json(j), int(sc), rater, m) for j, sc, rater, m in rows]

    def preferences(self) -> list[Preference]:
        if self.conn is None:
            return []
        rows = self.conn.execute(
            "SELECT a.song_json, b.song_json, p.preferred, p.rater FROM preferences p "
            "JOIN songs a ON a.id = p.song_a JOIN songs b ON b.id = p.song_b ORDER BY p.id")
        return [Preference(Song.from_json(x), Song.from_json(y), pr, r) for x, y, pr, r in rows]

    def counts(self) -> dict[str, int]:
        if self.conn is None:
            return {"songs": 0, "ratings": 0, "preferences": 0}
        return {t: int(self.conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0])  # noqa: S608
                for t in ("songs", "ratings", "preferences")}

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def __enter__(self) -> RatingStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def preference_pairs(store: RatingStore) -> list[tuple[Song, Song]]:
    """``(chosen, rejected)`` songs: every A/B preference (ties skipped), and every two rated
    songs with the same title whose scores differ (the better one chosen)."""
    pairs = [(p.a, p.b) if p.preferred == "a" else (p.b, p.a)
             for p in store.preferences() if p.preferred != "tie"]
    by_title: dict[str, list[Rating]] = {}
    for r in store.ratings():
        by_title.setdefault(r.song.title, []).append(r)
    for group in by_title.values():
        for i, x in enumerate(group):
            for y in group[i + 1:]:
                if x.score != y.score:
                    pairs.append((x.song, y.song) if x.score > y.score else (y.song, x.song))
    return pairs
