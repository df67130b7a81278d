"""Evaluation data for genre models: a ChordPro folder, a built dataset or a CSV file."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

from ...errors import SongwrightError
from ...model import Line, Section, Song

log = logging.getLogger(__name__)

CSV_LYRICS = ("lyrics", "text", "lyric")
CSV_GENRE = ("genre", "tag", "label")


def load_eval_songs(path: Path, split: str | None = None, draw: int = 0) -> list[Song]:
    """Labelled songs from ``path``.

    - a folder with ``dataset_dict.json``: a dataset from ``songwright data build`` (``split``
      picks one split, default all);
    - any other folder: every ``*.cho`` below it; a song without a genre takes its folder name;
    - a ``.csv`` file with a lyrics column (``lyrics``/``text``) and a genre column
      (``genre``/``tag``/``label``), optionally ``title`` and ``artist``.

    For a folder or a CSV, ``split`` picks one split of the held-out protocol
    (:func:`protocol.heldout_split`: ``train``, ``validation``, ``test``, ``test_vol1``, or
    ``heldout`` for the last two together), so ``--split heldout`` scores exactly the songs
    the shipped models never trained on or were chosen by; ``draw`` picks the protocol's
    held-out draw (0: the shipped models').
    """
    path = Path(path)
    if not path.exists():
        raise SongwrightError(f"--data {path}: no such file or folder")
    if path.is_dir() and (path / "dataset_dict.json").exists():
        if draw:
            raise SongwrightError("--holdout-draw picks a split of the held-out protocol on a "
                                  "ChordPro folder or a CSV; a built dataset has its own splits")
        from ...data.corpus import load_dataset_songs

        return load_dataset_songs(path, split)
    songs = _read_folder_or_csv(path)
    if split is None:
        return songs
    from .protocol import SPLIT_NAMES, heldout_groups, heldout_split

    if split not in (*SPLIT_NAMES, "heldout"):
        raise SongwrightError(f"--split {split!r}: for a ChordPro folder or a CSV, one of "
                              f"{', '.join(SPLIT_NAMES)} or heldout (test + test_vol1; the "
                              "held-out protocol)")
    splits = heldout_split(songs, draw=draw)
    return heldout_groups(splits)["heldout"] if split == "heldout" else splits[split]


def _read_folder_or_csv(path: Path) -> list[Song]:
    if path.is_dir():
        from ...formats.chordpro import read_chordpro

        songs = []
        for p in sorted(path.rglob("*.cho")):
            s = read_chordpro(p)
            meta = {**s.meta, "id": s.meta.get("id", str(p.relative_to(path)))}
            songs.append(s.replace(genre=s.genre or p.parent.name, meta=meta))
        if not songs:
            raise SongwrightError(f"--data {path}: no .cho files found")
        return songs
    if path.suffix.lower() == ".csv":
        return _read_csv(path)
    raise SongwrightError(f"--data {path}: not a ChordPro folder, a built dataset or a .csv")


def _read_csv(path: Path) -> list[Song]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        cols = {c.lower(): c for c in reader.fieldnames or []}
        lyr = next((cols[c] for c in CSV_LYRICS if c in cols), None)
        gen = next((cols[c] for c in CSV_GENRE if c in cols), None)
        if lyr is None or gen is None:
            raise SongwrightError(f"{path}: a CSV needs a lyrics column ({'/'.join(CSV_LYRICS)}) "
                                  f"and a genre column ({'/'.join(CSV_GENRE)}); "
                                  f"found {reader.fieldnames}")
        songs = []
        for i, row in enumerate(reader, start=2):
            text = (row.get(lyr) or "").replace("\r\n", "\n")
            stanzas = [st for st in text.split("\n\n") if st.strip()]
            sections = tuple(Section(label="Verse", kind="verse", lines=tuple(
                Line(text=ln.strip()) for ln in st.split("\n") if ln.strip())) for st in stanzas)
            songs.append(Song(title=row.get(cols.get("title", ""), "") or f"row {i}",
                              artist=row.get(cols.get("artist", ""), "") or None,
                              genre=(row.get(gen) or "").strip().lower() or None,
                              sections=sections, meta={"id": f"{path.name}:{i}"}))
    if not songs:
        raise SongwrightError(f"{path}: no rows")
    return songs
