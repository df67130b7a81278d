"""Reading and writing songs in every format songwright knows.

``load_song(path)`` picks a reader by file name; ``save_song(song, path, fmt)`` a writer. Readers
for the corpora (Billboard, iReal, CSV dumps) live in their own modules and return many songs.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..errors import FormatError, SongwrightError
from ..model import Song

CHORDPRO_SUFFIXES = {".cho", ".chordpro", ".chopro", ".crd", ".pro"}
MUSICXML_SUFFIXES = {".mxl", ".musicxml", ".xml"}
WRITE_FORMATS = ("chordpro", "json", "musicxml")


def detect_format(path: str | Path) -> str:
    """Name the format of ``path`` from its name (and, for .txt, its first bytes)."""
    p = Path(path)
    suf = p.suffix.lower()
    if suf in CHORDPRO_SUFFIXES:
        return "chordpro"
    if suf == ".json":
        return "json"
    if suf in MUSICXML_SUFFIXES:
        return "musicxml"
    if p.name == "salami_chords.txt":
        return "billboard"
    if suf == ".txt":
        try:
            head = p.read_bytes()[:4096]
        except OSError as e:
            raise FormatError(f"cannot read: {e.strerror}", str(p)) from e
        if b"irealb://" in head or b"irealbook://" in head:
            return "ireal"
        if b"# tonic:" in head or b"# metre:" in head:
            return "billboard"
        return "chordpro"
    raise FormatError(
        f"unknown song format {suf or '(no suffix)'}; songwright reads .cho/.chordpro, .json, "
        ".mxl/.musicxml, Billboard salami_chords.txt and iReal playlists", str(p))


def load_songs(path: str | Path) -> list[Song]:
    """Read every song in ``path`` (a playlist may hold many)."""
    p = Path(path)
    if not p.exists():
        raise FormatError("no such file", str(p))
    fmt = detect_format(p)
    if fmt == "chordpro":
        from .chordpro import read_chordpro

        return [read_chordpro(p)]
    if fmt == "json":
        try:
            return [Song.from_json(p.read_text(encoding="utf-8"))]
        except (SongwrightError, UnicodeDecodeError) as e:
            raise FormatError(str(e), str(p)) from e
    if fmt == "musicxml":
        from .musicxml import read_musicxml

        return [read_musicxml(p)]
    if fmt == "billboard":
        from .billboard import read_salami

        return [read_salami(p)]
    from .ireal import read_ireal_playlist

    return read_ireal_playlist(p)


def load_song(path: str | Path) -> Song:
    """Read one song; a playlist with several songs is an error (use :func:`load_songs`)."""
    songs = load_songs(path)
    if len(songs) != 1:
        raise FormatError(f"holds {len(songs)} songs; convert them one by one", str(path))
    return songs[0]


def song_to_text(song: Song, fmt: str) -> str | bytes:
    if fmt == "chordpro":
        from .chordpro import write_chordpro

        return write_chordpro(song)
    if fmt == "json":
        return song.to_json() + "\n"
    if fmt == "musicxml":
        from .musicxml_write import musicxml_bytes

        return musicxml_bytes(song)
    raise SongwrightError(f"unknown output format {fmt!r}; choose from {', '.join(WRITE_FORMATS)}")


def atomic_write(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, so nothing half-written remains."""
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", dir=p.parent)
    except OSError as e:
        raise SongwrightError(f"cannot write {p}: {e.strerror}") from e
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_song(song: Song, path: str | Path, fmt: str | None = None) -> Path:
    """Write ``song`` to ``path`` in ``fmt`` (default: from the suffix)."""
    p = Path(path)
    fmt = fmt or detect_format(p)
    atomic_write(p, song_to_text(song, fmt))
    return p
