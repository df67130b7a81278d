"""Readers for the CSV dumps users bring: Chordonomicon, the Kaggle chords-and-lyrics dump,
Genius lyrics and MetroLyrics.

Each ``read_*_csv(path, limit=None)`` returns a :class:`SongStream`: iterate it for songs (rows
are read lazily, so multi-gigabyte dumps stream), then read ``stream.report`` for what was
read, imported and skipped (with row numbers and reasons) and which chord symbols did not parse.
A missing column, a file that is not UTF-8 text or a broken CSV raises :class:`FormatError`
naming the file and row.
"""

from __future__ import annotations

import ast
import csv
import logging
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from ..chords import Chord
from ..errors import ChordError, FormatError, SongwrightError
from ..model import ChordAt, Line, Section, Song, default_env, section_kind_from_label
from .billboard import Bar, chunk_lines, era_of, label_kind
from .report import UNKNOWN, ImportReport, parse_cached

log = logging.getLogger(__name__)

GENRES = ("metal", "rock", "rap", "pop", "country")
# Genre words found in free-text tags; the one written last is the head noun ("pop rock" is rock).
_GENRE_WORDS = [("hip hop", "rap"), ("hip-hop", "rap"), ("hiphop", "rap"), ("rap", "rap"),
                ("trap", "rap"), ("drill", "rap"), ("metal", "metal"), ("rock", "rock"),
                ("punk", "rock"), ("grunge", "rock"), ("country", "country"),
                ("bluegrass", "country"), ("pop", "pop")]

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # lyrics cells exceed the 128 kB default


def map_genre(tags: str | Iterable[str] | None) -> str | None:
    """Map raw genre tags to one of :data:`GENRES` where the mapping is clear.

    Each tag gives the genre whose word ends last in it (``"pop rap"`` → rap, ``"country rock"``
    → rock); the most frequent genre over the tags wins, and a tie gives None.

    >>> map_genre(['pop', 'dance pop', 'hip hop'])
    'pop'
    >>> map_genre('Hip-Hop'), map_genre('rb'), map_genre('misc')
    ('rap', None, None)
    """
    if tags is None:
        return None
    if isinstance(tags, str):
        tags = [tags]
    votes: Counter = Counter()
    for tag in tags:
        low = str(tag).lower()
        best: tuple[int, str] | None = None
        for word, genre in _GENRE_WORDS:
            for m in re.finditer(rf"(?<![a-z]){re.escape(word)}(?![a-z])", low):
                if best is None or m.end() > best[0]:
                    best = (m.end(), genre)
        if best:
            votes[best[1]] += 1
    top = votes.most_common(2)
    if not top or (len(top) > 1 and top[0][1] == top[1][1]):
        return None
    return top[0][0]


def parse_list(text: str | None) -> list[str]:
    """``"['pop', 'dance pop']"`` (a Python list literal), ``"pop, dance pop"`` → a list."""
    text = (text or "").strip()
    if not text:
        return []
    if text[0] == "[":
        try:
            value = ast.literal_eval(text)
            if isinstance(value, (list, tuple)):
                return [str(v).strip() for v in value if str(v).strip()]
        except (ValueError, SyntaxError):
            pass
        text = text.strip("[]")
    return [t.strip(" '\"") for t in text.split(",") if t.strip(" '\"")]


class SongStream(Iterator[Song]):
    """Songs read lazily from a CSV file; ``report`` fills in as rows are read."""

    def __init__(self, path: str | Path, source: str, required: tuple[str, ...],
                 build: Callable[[dict[str, str], str, ImportReport], Song | None],
                 limit: int | None = None) -> None:
        self.path = Path(path)
        self._report = ImportReport(source)
        self._limit = limit
        self._build = build
        self._check_header(required)
        self._rows = self._songs()

    @property
    def report(self) -> dict[str, Any]:
        return self._report.to_dict()

    def _open(self):  # noqa: ANN202 - a text file object
        try:
            return self.path.open(encoding="utf-8-sig", newline="")
        except OSError as e:
            raise FormatError(f"cannot read: {e.strerror}", str(self.path)) from e

    def _check_header(self, required: tuple[str, ...]) -> None:
        with self._open() as fh:
            try:
                header = next(csv.reader(fh), None)
            except (UnicodeDecodeError, csv.Error) as e:
                raise FormatError(f"not a UTF-8 CSV file: {e}", str(self.path), 1) from e
        if not header:
            raise FormatError("empty file: no header row", str(self.path), 1)
        missing = [c for c in required if c not in {h.strip() for h in header}]
        if missing:
            raise FormatError(f"missing column(s) {', '.join(missing)}; header has "
                              f"{', '.join(h for h in header[:12])}", str(self.path), 1)

    def _songs(self) -> Iterator[Song]:
        rep = self._report
        with self._open() as fh:
            reader = csv.DictReader(fh)
            reader.fieldnames = [f.strip() for f in reader.fieldnames or []]
            while self._limit is None or rep.total < self._limit:
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except (UnicodeDecodeError, csv.Error) as e:
                    raise FormatError(f"unreadable row: {e}", str(self.path),
                                      reader.line_num) from e
                rep.total += 1
                where = f"{self.path}:{reader.line_num}"
                if None in row:  # more cells than header columns
                    rep.skip(where, f"{len(row[None])} cell(s) beyond the header")
                    continue
                try:
                    song = self._build(row, where, rep)
                except (SongwrightError, ValueError) as e:
                    rep.skip(where, str(e))
                    continue
                if song is None:
                    continue
                rep.imported += 1
                yield song

    def __iter__(self) -> SongStream:
        return self

    def __next__(self) -> Song:
        return next(self._rows)


# --------------------------------------------------------------------------- lyrics text

_HEADER_RE = re.compile(r"^\s*[\[(]\s*([^\]\[)]{1,60}?)\s*[\])]\s*$")
_LABEL_COLON_RE = re.compile(
    r"^\s*((?:pre-?|post-?)?(?:verse|chorus|bridge|intro|outro|hook|refrain|interlude|solo|"
    r"instrumental)(?:\s*\d+)?)\s*:\s*$", re.IGNORECASE)
_CHORDISH_RE = re.compile(r"^[A-G][#b]?[A-Za-z0-9#+\-^°ø()/]*$|^N\.?C\.?$")
_INLINE_RE = re.compile(r"\[([^\]\s]{1,16})\]")


def _try_chord(tok: str) -> Chord | None:
    try:
        return parse_cached(tok)
    except ChordError:
        return None


def _chord_line(text: str, rep: ImportReport, where: str) -> list[ChordAt] | None:
    """Chords and their columns if ``text`` is a line of chords (most tokens parse)."""
    toks = [(m.group(), m.start()) for m in re.finditer(r"\S+", text)]
    toks = [(t, c) for t, c in toks if t not in ("|", "||", "-", "/")]
    if not toks or not all(_CHORDISH_RE.match(t) for t, _ in toks):
        return None
    parsed = [(_try_chord(t), t, c) for t, c in toks]
    ok = sum(1 for p, _, _ in parsed if p is not None)
    if ok == 0 or (ok < len(parsed) and ok * 2 <= len(parsed)):
        return None
    out = []
    for chord, tok, col in parsed:
        if chord is None:
            rep.unparsed[tok] += 1
            continue
        out.append(ChordAt(chord, col))
    return out


def _header(line: str) -> str | None:
    m = _HEADER_RE.match(line) or _LABEL_COLON_RE.match(line)
    if not m:
        return None
    label = m.group(1).strip()
    kind, _ = section_kind_from_label(label)
    if kind == "other" and line.lstrip().startswith("("):
        return None  # "(oh yeah)" is a sung line; "(Chorus)" is a header
    # "[Am]" alone on a line is a chord, not a section header.
    if kind == "other" and _CHORDISH_RE.match(label) and _try_chord(label):
        return None
    return label


def sections_from_text(text: str, rep: ImportReport, where: str,
                       chords: bool = True) -> list[Section]:
    """Split lyrics into sections at headers (``[Verse 1]``, ``Chorus:``) and blank lines.

    With ``chords``, inline ``[Am]`` chords and chord lines above lyric lines become
    :class:`ChordAt` offsets; a chord line with no lyric under it becomes a chord-only line.
    """
    sections: list[Section] = []
    label: str | None = None
    lines: list[Line] = []
    pending: list[ChordAt] | None = None

    def flush() -> None:
        nonlocal lines, label, pending
        if pending:
            width = pending[-1].position + 1
            lines.append(Line(" " * width, tuple(pending)))
            pending = None
        if lines:
            kind, number = section_kind_from_label(label)
            sections.append(Section(kind, tuple(lines), label, number, default_env(kind)))
        lines, label = [], None

    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.rstrip()
        head = _header(line)
        if head is not None:
            flush()
            label = head
            continue
        if not line.strip():
            if lines or pending:
                flush()
            continue
        if chords:
            found = _chord_line(line, rep, where)
            if found is not None:
                if pending:
                    lines.append(Line(" " * (pending[-1].position + 1), tuple(pending)))
                pending = found
                continue
            if _INLINE_RE.search(line):
                items, plain, last = [], [], 0
                for m in _INLINE_RE.finditer(line):
                    plain.append(line[last:m.start()])
                    pos = sum(len(p) for p in plain)
                    chord = rep.chord(m.group(1), where, fallback=None)
                    if chord is not None:
                        items.append(ChordAt(chord, pos))
                    last = m.end()
                plain.append(line[last:])
                lines.append(Line("".join(plain).rstrip(), tuple(items)))
                continue
        if pending:
            cut = len(line)
            lines.append(Line(line, tuple(ChordAt(c.chord, min(c.position, cut))
                                          for c in pending)))
            pending = None
        else:
            lines.append(Line(line.strip()))
    flush()
    return sections


# --------------------------------------------------------------------------- the schemas


def _chordonomicon_chord(tok: str, rep: ImportReport, where: str) -> Chord:
    """A Chordonomicon chord (``Fs``, ``Csmin7/Gs``, ``Dno3d``); re-exported dumps that write
    ``F#m`` are read in the ordinary spelling. An unparsed chord keeps its slot as ``X``."""
    for symbol, dialect in ((tok, "chordonomicon"), (tok, "auto")):
        try:
            return parse_cached(symbol, dialect)
        except ChordError:
            continue
    rep.unparsed[tok] += 1
    log.debug("%s: unparsed chord %r", where, tok)
    return UNKNOWN


def _chordonomicon(row: dict[str, str], where: str, rep: ImportReport) -> Song:
    text = (row.get("chords") or "").strip()
    if not text:
        raise FormatError("empty 'chords' cell")
    sections: list[tuple[str | None, list[Bar]]] = [(None, [])]
    for tok in text.split():
        if tok.startswith("<") and tok.endswith(">"):
            sections.append((tok[1:-1].replace("_", " "), []))
            continue
        sections[-1][1].append([(_chordonomicon_chord(tok, rep, where), 0.0)])
    out = []
    for label, bars in sections:
        if bars:
            kind, number = label_kind(label)
            out.append(Section(kind, tuple(chunk_lines(bars)), label, number, default_env(kind)))
    raw_genres = parse_list(row.get("genres"))
    main = (row.get("main_genre") or "").strip()
    meta = {"source": "chordonomicon", "id": f"chordonomicon/{row.get('id', '')}"}
    for k in ("main_genre", "rock_genre", "release_date", "decade", "artist_id",
              "spotify_song_id", "spotify_artist_id"):
        if (row.get(k) or "").strip():
            meta[k] = row[k].strip()
    if raw_genres:
        meta["genres"] = "; ".join(raw_genres)
    return Song(title=str(row.get("id", "")), artist=(row.get("artist_id") or "").strip() or None,
                genre=map_genre(main) if main else map_genre(raw_genres),
                subgenres=tuple(raw_genres), era=era_of(row.get("decade") or
                                                        row.get("release_date")),
                sections=tuple(out), meta=meta)


def read_chordonomicon_csv(path: str | Path, limit: int | None = None) -> SongStream:
    """Chordonomicon (``id, chords, release_date, genres, decade, rock_genre, artist_id,
    main_genre, spotify_song_id, spotify_artist_id``): chord-only songs, one chord a slot,
    sections from ``<verse_1>``-style tags. ``artist`` is the opaque ``artist_id``."""
    return SongStream(path, "chordonomicon", ("id", "chords"), _chordonomicon, limit)


def _kaggle(row: dict[str, str], where: str, rep: ImportReport) -> Song:
    text = row.get("chords&lyrics") or ""
    if text.strip().startswith("[") and text.strip().endswith("]") and "\n" not in text:
        text = "\n".join(parse_list(text))  # some dumps store the lines as a list literal
    sections = sections_from_text(text, rep, where) if text.strip() else []
    if not any(ln.chords for s in sections for ln in s.lines):
        chords = [rep.chord(c, where) for c in parse_list(row.get("chords"))
                  if not c.startswith("[")]
        if chords:
            bars = [[(c, 0.0)] for c in chords if c is not None]
            sections.append(Section("other", tuple(chunk_lines(bars)), "chords", None, "verse"))
    if not sections and (row.get("lyrics") or "").strip():
        sections = sections_from_text(row["lyrics"], rep, where, chords=False)
    if not sections:
        raise FormatError("no chords and no lyrics")
    genres = parse_list(row.get("genres"))
    meta = {"source": "kaggle-chords"}
    if genres:
        meta["genres"] = "; ".join(genres)
    return Song(title=(row.get("song_name") or "").strip(),
                artist=(row.get("artist_name") or "").strip() or None, genre=map_genre(genres),
                subgenres=tuple(genres), sections=tuple(sections), meta=meta)


def read_kaggle_chords_csv(path: str | Path, limit: int | None = None) -> SongStream:
    """The Kaggle chords-and-lyrics dump (``artist_name, song_name, chords&lyrics, chords,
    lyrics, genres, ...``): chords inline (``[Am]``) or on lines above the lyrics."""
    return SongStream(path, "kaggle-chords", ("artist_name", "song_name", "chords&lyrics"),
                      _kaggle, limit)


def _lyrics_song(row: dict[str, str], where: str, rep: ImportReport, *, source: str,
                 title: str, genre_raw: str, year: str) -> Song:
    lyrics = row.get("lyrics") or ""
    sections = sections_from_text(lyrics, rep, where, chords=False)
    if not sections:
        raise FormatError("empty lyrics")
    meta = {"source": source, "genre_raw": genre_raw}
    for k in ("id", "index", "views", "features", "year"):
        if (row.get(k) or "").strip():
            meta[k] = row[k].strip()
    return Song(title=(row.get(title) or "").strip(),
                artist=(row.get("artist") or "").strip() or None, genre=map_genre(genre_raw),
                era=era_of(year), sections=tuple(sections), meta=meta)


def read_genius_csv(path: str | Path, limit: int | None = None) -> SongStream:
    """Genius lyrics (``title, tag, artist, year, views, features, lyrics, id``): sections
    from ``[Verse 1]``/``[Chorus]`` headers; ``tag`` rap/rock/pop/country map, rb/misc → None."""
    return SongStream(path, "genius", ("title", "tag", "artist", "lyrics"),
                      lambda r, w, rep: _lyrics_song(r, w, rep, source="genius", title="title",
                                                     genre_raw=r.get("tag") or "",
                                                     year=r.get("year") or ""), limit)


def read_metrolyrics_csv(path: str | Path, limit: int | None = None) -> SongStream:
    """MetroLyrics 380k (``index, song, year, artist, genre, lyrics``): stanzas become
    sections; genres Metal, Rock, Hip-Hop, Pop, Country map, the rest → None."""
    return SongStream(path, "metrolyrics", ("song", "artist", "genre", "lyrics"),
                      lambda r, w, rep: _lyrics_song(r, w, rep, source="metrolyrics",
                                                     title="song", genre_raw=r.get("genre") or "",
                                                     year=r.get("year") or ""), limit)
