"""McGill Billboard 2.0 chord annotations (SALAMI format) and their JSONL conversion.

``read_salami`` reads one ``billboard-2.0-salami_chords/NNNN/salami_chords.txt``; ``scan_billboard``
reads the 890 chart slots and joins ``billboard_progressions.jsonl`` (genre5, AcousticBrainz tags,
chart date) and ``billboard-2.0-index.csv``. Chord-only songs are laid out as described in
``docs/formats-corpora.md``: one :class:`Line` per annotated phrase, text made of spaces, each bar
:data:`BAR_WIDTH` columns wide and starting with a chord (a held chord is restated).

This module also holds the small pieces the other chord-corpus importers share
(:class:`ImportReport`, :func:`bars_line`, :func:`chunk_lines`).
"""

from __future__ import annotations

import csv
import json
import logging
import re
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..chords import Chord, pitch_class
from ..errors import ChordError, FormatError, SongwrightError
from ..keys import KK_MAJOR, KK_MINOR
from ..model import ChordAt, Line, Section, Song, default_env, section_kind_from_label
from .report import UNKNOWN, ImportReport

log = logging.getLogger(__name__)

BAR_WIDTH = 4  # columns per bar in a chord-only line (wider only when a bar holds > 4 chords)
BARS_PER_LINE = 4  # bars per line where the source has no phrasing of its own
NO_CHORD = Chord(None, name="N")

# A bar is a list of (chord, onset as a fraction of the bar).
Bar = list[tuple[Chord, float]]


# --------------------------------------------------------------------------- shared helpers


def bars_line(bars: Sequence[Bar]) -> Line:
    """A chord-only line: text of spaces, each bar ``BAR_WIDTH`` columns, chords at their onsets.

    Every bar starts with a chord (callers restate a held chord), so bar ``i`` of a line with
    ordinary bars starts at column ``BAR_WIDTH * i``. Positions strictly increase.
    """
    items: list[ChordAt] = []
    start = 0
    for bar in bars:
        width = max(BAR_WIDTH, len(bar))
        last = -1
        for chord, onset in bar:
            col = max(last + 1, min(width - 1, int(onset * width)))
            items.append(ChordAt(chord, start + col))
            last = col
        start += width
    return Line(" " * start, tuple(items))


def chunk_lines(bars: Sequence[Bar], size: int = BARS_PER_LINE) -> list[Line]:
    """Cut a run of bars into chord-only lines of ``size`` bars."""
    return [bars_line(bars[i:i + size]) for i in range(0, len(bars), size)]


def restate(bars: list[Bar]) -> Bar:
    """A bar holding the chord that was sounding at the end of the last bar."""
    for bar in reversed(bars):
        if bar:
            return [(bar[-1][0], 0.0)]
    return [(NO_CHORD, 0.0)]


def era_of(year: Any) -> str | None:
    """``"1987-07-11"``, ``1987`` or ``"1980.0"`` → ``"1980s"``; None when no year is found."""
    m = re.search(r"(1[89]\d\d|20\d\d)", str(year or ""))
    return f"{int(m.group(1)) // 10 * 10}s" if m else None


def key_with_mode(tonic: str, chords: Sequence[Chord]) -> str | None:
    """Billboard gives only the tonic: pick major or minor by the Krumhansl-Kessler profile
    correlation of the chords' pitch classes with that tonic fixed."""
    try:
        t = pitch_class(tonic)
    except ChordError:
        return None
    hist = np.zeros(12)
    for c in chords:
        for pc in c.pitch_classes:
            hist[pc] += 1.5 if pc == c.root else 1.0
    if hist.sum() == 0 or hist.std() == 0:
        return tonic
    major = np.corrcoef(hist, np.roll(KK_MAJOR, t))[0, 1]
    minor = np.corrcoef(hist, np.roll(KK_MINOR, t))[0, 1]
    return tonic + ("m" if minor > major else "")


# --------------------------------------------------------------------------- SALAMI parsing

# SALAMI function labels that section_kind_from_label does not know.
_LABEL_KIND = {"fadeout": "outro", "fade out": "outro", "coda": "outro", "ending": "outro",
               "prechorus": "pre-chorus", "trans": "interlude", "transition": "interlude",
               "break": "interlude", "instrumental break": "instrumental"}
_LETTER_RE = re.compile(r"^[A-Za-z]'*$")
_METRE_RE = re.compile(r"^\((\d+/\d+)\)$")
_REPEAT_RE = re.compile(r"^x(\d+)$")


def label_kind(label: str | None) -> tuple[str, int | None]:
    """Section kind and number for a SALAMI (or iReal, Chordonomicon) label."""
    if label is None:
        return "other", None
    low = label.lower().strip()
    if low in _LABEL_KIND:
        return _LABEL_KIND[low], None
    return section_kind_from_label(low, env="other")


def _salami_token(tok: str, where: str, report: ImportReport) -> Chord | None:
    """One token inside a bar: a chord, or None for '.' (the previous chord goes on)."""
    if tok == ".":
        return None
    if tok in ("N", "&pause"):
        return NO_CHORD
    if tok in ("X", "*"):
        return UNKNOWN
    return report.chord(tok, where, dialect="harte")


def _parse_bar_run(run: str, where: str, report: ImportReport, prev: list[Bar],
                   metres: Counter) -> tuple[list[Bar], int]:
    """``| A:min | C:maj . G:maj | x2`` → (bars with the repetition expanded, bars a pass)."""
    body, _, tail = run.rpartition("|")
    repeat = 1
    for tok in tail.split():
        m = _REPEAT_RE.match(tok)
        if m:
            repeat = max(1, int(m.group(1)))
        elif tok != "->":  # "->" marks an elided transition into the next line
            log.debug("%s: ignored %r after bars", where, tok)
    bars: list[Bar] = []
    for cell in body.split("|")[1:]:
        toks = cell.split()
        metre_toks = [t for t in toks if _METRE_RE.match(t)]
        for t in metre_toks:
            metres[t.strip("()")] += 1
        toks = [t for t in toks if not _METRE_RE.match(t)]
        bar: Bar = []
        for j, tok in enumerate(toks):
            chord = _salami_token(tok, where, report)
            if chord is not None:
                bar.append((chord, j / len(toks)))
        if not bar or bar[0][1] > 0:  # bar starts with '.' or is empty: the chord goes on
            bar.insert(0, restate(prev + bars)[0])
        bars.append(bar)
    return bars * repeat, len(bars)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise FormatError(f"not UTF-8 text ({e.reason} at byte {e.start})", str(path)) from e
    except OSError as e:
        raise FormatError(f"cannot read: {e.strerror}", str(path)) from e


def read_salami(path: str | Path, extra: dict[str, Any] | None = None,
                report: ImportReport | None = None) -> Song:
    """Read one SALAMI-format Billboard annotation into a chord-only :class:`Song`.

    Args:
        path: a ``salami_chords.txt`` file.
        extra: joined metadata (``genre5``, ``acousticbrainz_genre_tags``, ``chart_date``).
        report: collects unparsed chord symbols; a fresh one is used when None.

    Raises:
        FormatError: when the file is not text, lacks the header, or has no timed lines.
    """
    path = Path(path)
    report = report or ImportReport("billboard")
    extra = extra or {}
    text = _read_text(path)
    header: dict[str, str] = {}
    metres: Counter = Counter()
    tonics: list[str] = []
    sections: list[tuple[str | None, list[Line]]] = []
    letter_label: dict[str, str] = {}
    all_bars: list[Bar] = []
    n_timed = 0
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if not line:
            continue
        if line.startswith("#"):
            k, _, v = line[1:].partition(":")
            k, v = k.strip().lower(), v.strip()
            if k == "tonic":
                tonics.append(v)
            if k == "metre":
                metres[v] += 1
            header.setdefault(k, v)
            continue
        stamp, tab, content = line.partition("\t")
        try:
            float(stamp)
        except ValueError:
            raise FormatError(f"expected '<seconds>\\t<annotation>', got {line[:40]!r}",
                              str(path), lineno) from None
        if not tab:
            continue
        n_timed += 1
        where = f"{path}:{lineno}"
        fields = [f.strip() for f in content.split(", ")]
        letter = label = None
        seen_bars = False
        for f in fields:
            if not f:
                continue
            if f.startswith("|"):
                bars, group = _parse_bar_run(f, where, report, all_bars, metres)
                if not sections or letter is not None or label is not None:
                    if label is None and letter is not None:
                        label = letter_label.get(letter.rstrip("'").upper())
                    if letter is not None and label is not None:
                        letter_label[letter.rstrip("'").upper()] = label
                    sections.append((label, []))
                    letter = label = None
                # One line per annotated phrase; a repeated phrase gives one line per pass,
                # short ones ("| * | x15") packed to about BARS_PER_LINE bars a line.
                size = max(1, group * max(1, BARS_PER_LINE // max(1, group)))
                sections[-1][1].extend(chunk_lines(bars, size))
                all_bars.extend(bars)
                seen_bars = True
            elif seen_bars:
                continue  # annotations after the bars: instruments, "fadeout"
            elif _LETTER_RE.match(f) and len(f.rstrip("'")) == 1:
                letter = f
            elif f.startswith("(") and (")" not in f or f.endswith(")")) or (
                    f.endswith(")") and "(" not in f):
                continue  # lead instrument spans: "(voice", "voice)", "(guitar)"
            elif f in ("silence", "end", "Z"):
                continue
            else:
                label = f
    if not header.get("title"):
        raise FormatError("no '# title:' header", str(path))
    if n_timed == 0:
        raise FormatError("no timed annotation lines", str(path))
    chords = [c.chord for _, lines in sections for ln in lines for c in ln.chords]
    out_sections = []
    for label, lines in sections:
        if not lines:
            continue
        kind, number = label_kind(label)
        out_sections.append(Section(kind, tuple(lines), label, number, default_env(kind)))
    meta = {"source": "billboard", "id": f"billboard/{path.parent.name}"}
    tonic = tonics[0] if tonics else header.get("tonic")
    if tonic:
        meta["tonic"] = tonic
    if len(set(tonics)) > 1:
        meta["tonic_changes"] = " ".join(tonics)
    metre = header.get("metre")
    if len(metres) > 1:
        meta["metres"] = " ".join(f"{m}:{n}" for m, n in metres.most_common())
    for k in ("chart_date", "peak_rank", "target_rank"):
        if extra.get(k):
            meta[k] = str(extra[k])
    tags = extra.get("acousticbrainz_genre_tags") or []
    if tags:
        meta["acousticbrainz_genre_tags"] = "; ".join(tags)
    genre = extra.get("genre5") or None
    if genre:
        meta["genre5"] = genre
    return Song(
        title=header["title"], artist=header.get("artist") or None,
        key=key_with_mode(tonic, [c for c in chords if c.root is not None]) if tonic else None,
        time=metre if metre and re.fullmatch(r"\d+/\d+", metre) else None, genre=genre,
        era=era_of(extra.get("chart_date")), sections=tuple(out_sections), meta=meta,
    )


# --------------------------------------------------------------------------- the corpus


def _load_join(root: Path) -> dict[str, dict[str, Any]]:
    """Per-slot metadata from the JSONL conversion, the index CSV and AcousticBrainz tags."""
    join: dict[str, dict[str, Any]] = {}
    jl = root / "billboard_progressions.jsonl"
    if jl.is_file():
        for line in jl.read_text(encoding="utf-8").splitlines():
            if line.strip():
                d = json.loads(line)
                join[str(d["id"]).zfill(4)] = {k: d.get(k) for k in (
                    "genre5", "acousticbrainz_genre_tags", "chart_date")}
    ab = root / "acousticbrainz_genres.json"
    if ab.is_file():
        for sid, d in json.loads(ab.read_text(encoding="utf-8")).items():
            entry = join.setdefault(str(sid).zfill(4), {})
            if not entry.get("acousticbrainz_genre_tags") and d.get("tag_genre"):
                entry["acousticbrainz_genre_tags"] = d["tag_genre"]
    idx = root / "billboard-2.0-index.csv"
    if idx.is_file():
        with idx.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                entry = join.setdefault(str(row.get("id", "")).zfill(4), {})
                for k in ("chart_date", "peak_rank", "target_rank"):
                    if row.get(k) and not entry.get(k):
                        entry[k] = row[k]
    return join


def scan_billboard(root: str | Path) -> tuple[list[Song], dict[str, Any]]:
    """Read every chart slot under ``root`` (the ``billboard/`` folder or its salami folder).

    Returns:
        ``(songs, report)``; ``report`` counts total, imported, skipped (with reasons) and
        unparsed chord symbols. A slot that fails or holds no chord is skipped, never dropped
        silently.
    """
    t0 = time.perf_counter()
    root = Path(root)
    salami = root / "billboard-2.0-salami_chords"
    if not salami.is_dir():
        salami, root = root, root.parent
    if not salami.is_dir():
        raise FormatError("no billboard-2.0-salami_chords folder", str(root))
    join = _load_join(root)
    report = ImportReport("billboard")
    songs: list[Song] = []
    for folder in sorted(p for p in salami.iterdir() if p.is_dir()):
        report.total += 1
        path = folder / "salami_chords.txt"
        try:
            song = read_salami(path, join.get(folder.name), report)
        except SongwrightError as e:
            report.skip(str(path), str(e))
            continue
        if not any(c.root is not None for c in song.chords):
            report.skip(str(path), "no chords")
            continue
        songs.append(song)
        report.imported += 1
    report.seconds = time.perf_counter() - t0
    log.info("billboard: %d of %d slots imported", report.imported, report.total)
    return songs, report.to_dict()


def read_billboard_jsonl(path: str | Path) -> tuple[list[Song], dict[str, Any]]:
    """Read ``billboard_progressions.jsonl`` (one Harte chord per bar, sections with labels)."""
    t0 = time.perf_counter()
    path = Path(path)
    report = ImportReport("billboard-jsonl")
    songs: list[Song] = []
    for lineno, raw in enumerate(_read_text(path).splitlines(), 1):
        if not raw.strip():
            continue
        report.total += 1
        where = f"{path}:{lineno}"
        try:
            d = json.loads(raw)
            sections = []
            for sec in d["sections"]:
                bars: list[Bar] = []
                for sym in sec["chords"]:
                    if _METRE_RE.match(sym):
                        continue  # a metre change left in the conversion: "(2/4)"
                    chord = _salami_token(sym, where, report) if sym != "." else None
                    bars.append([(chord, 0.0)] if chord is not None else restate(bars))
                kind, number = label_kind(sec.get("label"))
                sections.append(Section(kind, tuple(chunk_lines(bars)), sec.get("label"),
                                        number, default_env(kind)))
            chords = [c for s in sections for ln in s.lines for c in ln.chord_list]
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as e:
            report.skip(where, f"malformed record: {e!r}")
            continue
        if not any(c.root is not None for c in chords):
            report.skip(where, "no chords")
            continue
        meta = {"source": "billboard", "id": f"billboard/{d.get('id', lineno)}"}
        if d.get("tonic"):
            meta["tonic"] = str(d["tonic"])
        if d.get("acousticbrainz_genre_tags"):
            meta["acousticbrainz_genre_tags"] = "; ".join(d["acousticbrainz_genre_tags"])
        if d.get("chart_date"):
            meta["chart_date"] = str(d["chart_date"])
        tonic = d.get("tonic")
        songs.append(Song(
            title=d.get("title") or "", artist=d.get("artist"),
            key=key_with_mode(tonic, [c for c in chords if c.root is not None]) if tonic else None,
            time=d.get("metre"), genre=d.get("genre5"), era=era_of(d.get("chart_date")),
            sections=tuple(sections), meta=meta))
        report.imported += 1
    report.seconds = time.perf_counter() - t0
    return songs, report.to_dict()
