"""Corpora: load every source into songs, split them by artist, build datasets, count things.

Sources under the data root (``$SONGWRIGHT_DATA`` or ``../shared/data``): ``songbook`` (ChordPro,
genre-labelled, with prompts), ``openewld`` (MusicXML lead sheets), ``billboard`` (chords only),
``ireal`` (chords only). User CSV dumps come in through :func:`load_csv_source`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from ..errors import SongwrightError
from ..formats.report import ImportReport
from ..model import Song

log = logging.getLogger(__name__)

SOURCES = ("songbook", "openewld", "billboard", "ireal")
GENRES = ("country", "metal", "pop", "rap", "rock")
SPLITS = ("train", "validation", "test")


def load_songbook(root: Path) -> tuple[list[Song], ImportReport]:
    """The project's ChordPro songbook: ``songbook/<genre>/NNN-slug.cho``."""
    from ..formats.chordpro import read_chordpro

    report = ImportReport("songbook")
    songs: list[Song] = []
    for path in sorted((root / "songbook").glob("*/*.cho")):
        report.total += 1
        try:
            song = read_chordpro(path)
        except SongwrightError as e:
            report.skip(str(path), str(e))
            continue
        meta = dict(song.meta)
        meta.setdefault("source", "songbook")
        meta.setdefault("id", f"songbook/{path.parent.name}/{path.stem}")
        songs.append(song.replace(genre=song.genre or path.parent.name, meta=meta))
        report.imported += 1
    return songs, report


def _from_scan(source: str, result) -> tuple[list[Song], ImportReport]:  # noqa: ANN001
    """Adapt an importer's ``(songs, report_dict)`` to a :class:`ImportReport`."""
    songs, rep = result
    report = ImportReport(source, total=int(rep.get("total", len(songs))), imported=len(songs))
    skipped = rep.get("skipped", [])
    if isinstance(skipped, dict):
        report.skipped = [(str(k), str(v)) for k, v in skipped.items()]
    elif isinstance(skipped, list):
        report.skipped = [(str(s[0]), str(s[1])) if isinstance(s, (list, tuple)) else (str(s), "")
                          for s in skipped]
    out = []
    for s in songs:
        meta = dict(s.meta)
        meta.setdefault("source", source)
        out.append(s.replace(meta=meta))
    return out, report


def load_source(name: str, root: Path) -> tuple[list[Song], ImportReport]:
    """Load one named source from the data root."""
    if name == "songbook":
        return load_songbook(root)
    if name == "openewld":
        from ..formats.musicxml import scan_openewld

        return _from_scan(name, scan_openewld(root / "openewld"))
    if name == "billboard":
        from ..formats.billboard import scan_billboard

        return _from_scan(name, scan_billboard(root / "billboard"))
    if name == "ireal":
        from ..formats.ireal import scan_ireal

        return _from_scan(name, scan_ireal(root / "ireal"))
    raise SongwrightError(f"unknown source {name!r}; known: {', '.join(SOURCES)}")


def load_csv_source(path: Path, schema: str, limit: int | None = None) -> list[Song]:
    """A user's CSV dump: ``schema`` is chordonomicon, kaggle, genius or metrolyrics."""
    from ..formats import tabular

    readers = {"chordonomicon": tabular.read_chordonomicon_csv,
               "kaggle": tabular.read_kaggle_chords_csv, "genius": tabular.read_genius_csv,
               "metrolyrics": tabular.read_metrolyrics_csv}
    if schema not in readers:
        raise SongwrightError(f"unknown CSV schema {schema!r}; known: {', '.join(readers)}")
    return list(readers[schema](path, limit=limit))


# --------------------------------------------------------------------------- splits


def group_key(song: Song) -> str:
    """The unit kept inside one split: the artist (or composer), else the title."""
    who = song.artist or song.meta.get("composer") or song.title
    return " ".join(str(who).lower().split())


def assign_split(song: Song, fractions: tuple[float, float] = (0.8, 0.1), salt: str = "") -> str:
    """Deterministic split from a hash of the song's group: same artist, same split."""
    h = int(hashlib.sha1((salt + group_key(song)).encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    if h < fractions[0]:
        return "train"
    if h < fractions[0] + fractions[1]:
        return "validation"
    return "test"


def song_row(song: Song, split: str) -> dict:
    """A flat dataset row; ``song_json`` holds the whole song for exact reconstruction."""
    from ..keys import song_key, to_relative

    try:
        key = song_key(song)
        key_name, mode = key.name, key.mode
        rel = [to_relative(c, key).token for c in song.chords]
    except SongwrightError:
        key_name, mode, rel = "", "", []
    return {
        "id": song.meta.get("id", ""), "source": song.meta.get("source", ""), "split": split,
        "title": song.title, "artist": song.artist or "", "genre": song.genre or "",
        "subgenres": list(song.subgenres), "era": song.era or "", "key": key_name, "mode": mode,
        "time": song.time or "", "tempo": float(song.tempo or 0.0), "lyrics": song.lyrics,
        "chords": [c.format("original") for c in song.chords], "rel_chords": rel,
        "song_json": song.to_json(indent=None),
    }


def build_dataset(out_dir: Path, sources: Iterable[str] = SOURCES, root: Path | None = None,
                  extra_songs: Iterable[Song] = (), salt: str = "") -> dict:
    """Turn sources into a Hugging Face ``DatasetDict`` on disk, split by artist.

    Returns a summary with per-split counts and the load reports.
    """
    from datasets import Dataset, DatasetDict

    from ..paths import require_data_root

    root = root or require_data_root()
    rows: dict[str, list[dict]] = {s: [] for s in SPLITS}
    reports = []
    for name in sources:
        songs, report = load_source(name, root)
        reports.append(report.to_dict())
        log.info("%s: %d of %d songs imported", name, report.imported, report.total)
        for song in songs:
            split = assign_split(song, salt=salt)
            rows[split].append(song_row(song, split))
    for song in extra_songs:
        split = assign_split(song, salt=salt)
        rows[split].append(song_row(song, split))
    dd = DatasetDict({s: Dataset.from_list(r) if r else Dataset.from_dict(
        {k: [] for k in song_row(Song(title="x"), s)}) for s, r in rows.items()})
    out_dir = Path(out_dir)
    dd.save_to_disk(str(out_dir))
    summary = {"splits": {s: len(r) for s, r in rows.items()}, "sources": reports}
    (out_dir / "songwright_summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def load_dataset_songs(path: Path, split: str | None = None) -> list[Song]:
    """Songs back from a dataset built by :func:`build_dataset`."""
    from datasets import load_from_disk

    dd = load_from_disk(str(path))
    splits = [split] if split else list(dd.keys())
    return [Song.from_json(r["song_json"]) for s in splits for r in dd[s]]


# --------------------------------------------------------------------------- stats


def corpus_stats(songs_by_source: dict[str, list[Song]]) -> dict:
    """Counts per source, genre, key, mode, metre, section type and chord vocabulary sizes."""
    from ..keys import song_key, to_relative
    from ..vocab import fold

    out: dict = {"sources": {}, "total": {}}
    all_raw: set[str] = set()
    all_rel: set[str] = set()
    all_sev: set[str] = set()
    all_tri: set[str] = set()
    totals: dict[str, Counter] = {k: Counter() for k in ("genre", "key", "mode", "time", "section")}
    for source, songs in songs_by_source.items():
        c: dict[str, Counter] = {k: Counter() for k in totals}
        raw: set[str] = set()
        rel: set[str] = set()
        sev: set[str] = set()
        tri: set[str] = set()
        for s in songs:
            c["genre"][s.genre or "(none)"] += 1
            c["time"][s.time or "(none)"] += 1
            for sec in s.sections:
                c["section"][sec.kind] += 1
            try:
                key = song_key(s)
            except SongwrightError:
                c["key"]["(none)"] += 1
                continue
            c["key"][key.name] += 1
            c["mode"][key.mode] += 1
            for ch in s.chords:
                raw.add(ch.format("original"))
                r = to_relative(ch, key)
                rel.add(r.token)
                sev.add(fold(r, "sevenths").token)
                tri.add(fold(r, "triads").token)
        for k in totals:
            totals[k].update(c[k])
        all_raw |= raw
        all_rel |= rel
        all_sev |= sev
        all_tri |= tri
        out["sources"][source] = {
            "songs": len(songs), **{k: dict(v.most_common()) for k, v in c.items()},
            "chord_vocab": {"raw_spellings": len(raw), "key_relative": len(rel),
                            "folded_sevenths": len(sev), "folded_triads": len(tri)},
        }
    out["total"] = {"songs": sum(len(v) for v in songs_by_source.values()),
                    **{k: dict(v.most_common()) for k, v in totals.items()},
                    "chord_vocab": {"raw_spellings": len(all_raw), "key_relative": len(all_rel),
                                    "folded_sevenths": len(all_sev),
                                    "folded_triads": len(all_tri)}}
    return out
