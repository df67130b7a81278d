"""iReal Pro charts: the raw ``irealb://`` playlist format and the decoded JSONL.

:func:`decode_irealb` turns a playlist link (or a file holding one) into chart dicts shaped like
the records of ``ireal_progressions.jsonl``; :func:`song_from_chart` turns either into a
chord-only :class:`Song` (bars laid out as in :mod:`songwright.formats.billboard`).

Decoding (see docs/formats-corpora.md): URL-decode; songs are separated by ``===`` and the last
part names the playlist; fields are ``title=composer=?=style=key=transpose=music=comp style=
bpm=repeats``; the music string starts with ``1r34LbKcu7``, after which every whole 50-character
block (while more than 51 characters remain) is unscrambled by swapping characters 0-4 with
49-45 and 10-23 with 39-26; then ``Kcl`` → ``| x``, ``LZ`` → `` |``, ``XyQ`` → three spaces.
Written here from that public description (the open-source ireal-reader and pyRealParser do the
same); the only PyPI parser, pyrealparser 0.1.0, is unmaintained since 2018.

Repeats are kept as written, one pass: ``{ }`` bars appear once and every ending (``N1``, ``N2``)
in the order written, as in the JSONL; ``x`` (repeat one bar) and ``r`` (repeat two bars)
restate the chords of the bars they repeat.
"""

from __future__ import annotations

import json
import logging
import re
import time
import urllib.parse
from pathlib import Path
from typing import Any

from ..chords import Chord
from ..errors import FormatError, SongwrightError
from ..keys import parse_key
from ..model import Section, Song, default_env
from .billboard import Bar, chunk_lines, label_kind, restate
from .report import ImportReport

log = logging.getLogger(__name__)

MUSIC_PREFIX = "1r34LbKcu7"
NC = Chord(None, name="N.C.")
_SECTION_LABELS = {"i": "intro", "v": "verse"}

_TOKEN_RE = re.compile(r"""
    (?P<comment><[^>]*>?)
  | (?P<section>\*[A-Za-z])
  | (?P<time>T\d\d)
  | (?P<ending>N\d)
  | (?P<bar>[|\[\]{}Z])
  | (?P<chord>(?:[A-G][b#]?|W)(?:sus|alt|add|[-+^\dhob#o])*(?:\*[^*]*\*)?(?:/[A-G][b#]?)?)
  | (?P<alt>\([^)]*\)?)
  | (?P<x>x)
  | (?P<r>r)
  | (?P<nc>n)
  | (?P<p>p)
  | (?P<other>.)
""", re.VERBOSE | re.DOTALL)


def _swap50(block: str) -> str:
    out = list(block)
    for i in list(range(5)) + list(range(10, 24)):
        out[i], out[49 - i] = block[49 - i], block[i]
    return "".join(out)


def unscramble(music: str) -> str:
    """Undo iReal Pro's obfuscation of a music string (with or without its prefix)."""
    if music.startswith(MUSIC_PREFIX):
        music = music[len(MUSIC_PREFIX):]
    out = []
    while len(music) > 51:
        out.append(_swap50(music[:50]))
        music = music[50:]
    out.append(music)
    return "".join(out).replace("Kcl", "| x").replace("LZ", " |").replace("XyQ", "   ")


def _time_sig(tok: str) -> str:
    digits = tok[1:]
    return "12/8" if digits == "12" else f"{digits[0]}/{digits[1]}"


def parse_music(music: str) -> dict[str, Any]:
    """Parse an unscrambled music string into sections of bars (lists of chord symbols).

    ``%`` marks a bar that repeats the previous bar (``x``), ``%2`` one that repeats the bar two
    back (the two bars of ``r``); ``W/B`` is resolved to the previous chord over the new bass;
    ``n`` is ``N.C.``; ``p`` (a slash beat) is kept as a cell so onsets stay right; alternate chords in brackets and empty bars are dropped.
    """
    sections: list[dict[str, Any]] = []
    times: list[str] = []
    bar: list[str] = []
    tokens: list[str] = []  # chord symbols as written (W/ unresolved), for checks
    last_chord: str | None = None

    def close_bar() -> None:
        nonlocal bar
        if bar:
            if not sections:
                sections.append({"label": None, "bars": []})
            sections[-1]["bars"].append(bar)
            bar = []

    for m in _TOKEN_RE.finditer(music):
        kind, tok = m.lastgroup, m.group()
        if kind == "section":
            close_bar()  # a mark inside a bar applies from the next bar
            sections.append({"label": tok[1], "bars": []})
        elif kind == "time":
            times.append(_time_sig(tok))
        elif kind == "bar":
            close_bar()
        elif kind == "x":
            bar = ["%"]
        elif kind == "r":  # two bars; the second is written as an empty bar after it
            bar = ["%2"]
            close_bar()
            bar = ["%2"]
        elif kind == "nc":
            bar.append("n")
        elif kind == "p":  # a slash: the chord goes on for another beat
            bar.append("p")
        elif kind == "chord":
            tokens.append(tok)
            if tok.startswith("W"):  # invisible root: the previous chord over a new bass
                base = (last_chord or "").split("/")[0]
                tok = base + tok[1:] if base else tok
            tok = re.sub(r"\*[^*]*\*", "", tok)  # custom chord text: keep the parsed part
            bar.append(tok)
            last_chord = tok
    close_bar()
    return {"sections": [s for s in sections if s["bars"]], "times": times, "tokens": tokens}


def _split_link(text: str) -> str:
    """The link in ``text``: up to the closing quote in HTML, else to the end of the text."""
    m = re.search(r"""(["']?)(irealb(?:ook)?://)""", text)
    if not m:
        raise FormatError("no irealb:// link found")
    rest = text[m.start(2):]
    if m.group(1):
        rest = rest.split(m.group(1))[0]
    return rest.strip()


def decode_irealb(url_or_text: str, path: str | None = None,
                  errors: str = "raise") -> list[dict[str, Any]]:
    """Decode an ``irealb://`` (or plain ``irealbook://``) playlist into chart dicts.

    Each dict has ``title, composer, style, key, time, tempo, playlist, sections`` (``label``,
    ``bars``), ``chords`` (the chord symbols in order, ``%`` repeats left out) and ``music``.

    Args:
        url_or_text: the link, or text (a file, an HTML page) holding one.
        path: named in errors.
        errors: ``"raise"`` raises on a malformed song; ``"report"`` returns it as
            ``{"index", "title", "error"}`` so a scan can count it and go on.

    Raises:
        FormatError: no link, or (with ``errors="raise"``) a truncated or malformed song.
    """
    try:
        link = _split_link(url_or_text)
    except FormatError:
        raise FormatError("no irealb:// or irealbook:// link found", path) from None
    scheme, _, body = urllib.parse.unquote(link).partition("://")
    parts = body.split("===")
    playlist = ""
    if len(parts) > 1 and "=" not in parts[-1]:
        playlist = parts.pop().strip()
    charts: list[dict[str, Any]] = []
    for i, part in enumerate(parts, 1):
        try:
            charts.append(_decode_song(part, scheme, playlist, last=i == len(parts)))
        except FormatError as e:
            msg = f"song {i} ({part.split('=')[0][:40]!r}): {e}"
            if errors == "raise":
                raise FormatError(msg, path) from None
            charts.append({"index": i, "title": part.split("=")[0], "error": msg})
    return charts


def _decode_song(part: str, scheme: str, playlist: str, last: bool) -> dict[str, Any]:
    fields = part.split("=")
    if scheme == "irealbook":
        if len(fields) < 6:
            raise FormatError(f"expected 6 fields, found {len(fields)} (truncated?)")
        title, composer, style, key, _, music = fields[:6]
        rest: list[str] = []
    else:
        idx = next((j for j, f in enumerate(fields) if f.startswith(MUSIC_PREFIX)), None)
        if idx is None or idx < 4:
            raise FormatError("no music field starting with 1r34LbKcu7 (truncated or not iReal)")
        title, composer = fields[0], fields[1]
        style, key = fields[idx - 3], fields[idx - 2]
        music, rest = unscramble(fields[idx]), fields[idx + 1:]
        if len(rest) < 3 and last and not playlist:
            raise FormatError("song ends early: style/tempo/repeat fields missing (truncated)")
    if not re.sub(r"<[^>]*>", "", music).rstrip(" ,YUQSflsp").endswith(tuple("Z]}|[{")):
        raise FormatError("music does not end with a barline (truncated)")
    parsed = parse_music(music)
    chords = [c for s in parsed["sections"] for b in s["bars"] for c in b
              if c not in ("%", "%2", "p")]
    tempo = int(rest[1]) if len(rest) > 1 and rest[1].isdigit() and int(rest[1]) > 0 else None
    return {"title": title, "composer": composer, "style": style, "key": key,
            "time": parsed["times"][0] if parsed["times"] else None, "tempo": tempo,
            "comp_style": rest[0] if rest else "", "playlist": playlist,
            "sections": parsed["sections"], "chords": chords, "chord_tokens": parsed["tokens"],
            "music": music}


# --------------------------------------------------------------------------- songs


def style_genre(style: str | None) -> str | None:
    """A 5-genre label for an iReal style when exactly one of rock/pop/country is named."""
    words = set(re.findall(r"[a-z]+", (style or "").lower()))
    hits = {g for g in ("rock", "pop", "country", "metal") if g in words}
    if "bluegrass" in words:
        hits.add("country")
    if words & {"rap", "hip"}:
        hits.add("rap")
    return hits.pop() if len(hits) == 1 else None


def song_from_chart(chart: dict[str, Any], report: ImportReport | None = None,
                    where: str = "") -> Song:
    """A chord-only :class:`Song` from a decoded chart or a JSONL record.

    Raises:
        FormatError: when the chart has no sections.
    """
    report = report or ImportReport("ireal")
    sections: list[Section] = []
    for sec in chart.get("sections") or []:
        bars: list[Bar] = []
        for cell in sec["bars"]:
            if cell in (["%"], ["%2"]) or not cell:
                back = 2 if cell == ["%2"] and len(bars) >= 2 else 1
                bars.append(list(bars[-back]) if bars else restate(bars))
                continue
            bar: Bar = []
            for j, sym in enumerate(cell):
                if sym == "p" and bar:
                    continue  # a slash beat: the chord goes on (it still takes its slot)
                if sym in ("%", "%2", "p"):  # the chord sounding at the bar line goes on
                    chord = restate(bars + [bar])[0][0]
                elif sym in ("n", "N.C."):
                    chord = NC
                elif "W" in sym:  # invisible root (the JSONL keeps "W/G#", even "A#W/G#")
                    head, _, bass = sym.partition("W/")
                    last = head or next((c.name for b in reversed(bars + [bar])
                                         for c, _ in reversed(b) if c.root is not None), "")
                    chord = report.chord(f"{last.split('/')[0]}/{bass}" if last else sym, where)
                else:
                    chord = report.chord(sym, where)
                if chord is not None:
                    bar.append((chord, j / len(cell)))
            bars.append(bar or restate(bars))
        raw = sec.get("label")
        label = _SECTION_LABELS.get(raw, raw) if raw else None
        kind, number = label_kind(label) if label and len(label) > 1 else ("other", None)
        sections.append(Section(kind, tuple(chunk_lines(bars)), label, number, default_env(kind)))
    if not sections:
        raise FormatError("chart has no bars", where or None)
    meta = {"source": "ireal", "style": chart.get("style") or "",
            "composer": chart.get("composer") or "", "playlist": chart.get("playlist") or ""}
    meta["id"] = f"ireal/{meta['playlist']}/{chart.get('title', '')}"
    if chart.get("comp_style"):
        meta["comp_style"] = chart["comp_style"]
    if chart.get("key"):
        meta["ireal_key"] = chart["key"]
    try:
        key = parse_key(chart["key"]).name if chart.get("key") else None
    except SongwrightError:
        key = None
    return Song(title=chart.get("title") or "", artist=chart.get("composer") or None, key=key,
                tempo=float(chart["tempo"]) if chart.get("tempo") else None,
                time=chart.get("time"), genre=style_genre(chart.get("style")),
                sections=tuple(sections), meta=meta)


def chords_agree(reference: list[str], tokens: list[str]) -> bool:
    """Whether a JSONL ``chords`` list agrees with a decoded chart's ``chord_tokens``.

    The JSONL converter drops some chords (those glued to ``s``/``l``/``p`` markers, ``n``)
    and sometimes keeps only one side of a slash chord (``A7sus/G`` → ``G``; ``W/G`` → ``G``),
    so agreement means: every reference chord matches, in order, a decoded token, its part
    before the slash or its bass.
    """
    i = 0
    for ref in reference:
        while i < len(tokens) and ref not in (tokens[i], *tokens[i].split("/", 1)):
            i += 1
        if i == len(tokens):
            return False
        i += 1
    return True


def _charts_to_songs(charts: list[dict[str, Any]], where: str,
                     report: ImportReport) -> list[Song]:
    songs = []
    for i, chart in enumerate(charts, 1):
        report.total += 1
        w = f"{where}#{i} {chart.get('title', '')!r}"
        if "error" in chart:
            report.skip(w, chart["error"])
            continue
        try:
            song = song_from_chart(chart, report, w)
        except SongwrightError as e:
            report.skip(w, str(e))
            continue
        if not any(c.root is not None for c in song.chords):
            report.skip(w, "no chords")
            continue
        songs.append(song)
        report.imported += 1
    return songs


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise FormatError(f"not UTF-8 text ({e.reason} at byte {e.start})", str(path)) from e
    except OSError as e:
        raise FormatError(f"cannot read: {e.strerror}", str(path)) from e


def read_ireal_playlist(path: str | Path) -> list[Song]:
    """Every chart of one raw playlist file; a malformed chart raises :class:`FormatError`."""
    path = Path(path)
    report = ImportReport("ireal")
    charts = decode_irealb(_read(path), str(path))
    songs = _charts_to_songs(charts, str(path), report)
    if report.skipped:
        where, reason = report.skipped[0]
        raise FormatError(f"{where}: {reason}", str(path))
    return songs


def scan_ireal(root: str | Path) -> tuple[list[Song], dict[str, Any]]:
    """Read every ``*.txt`` playlist under ``root``; returns ``(songs, report)``."""
    t0 = time.perf_counter()
    report = ImportReport("ireal")
    songs: list[Song] = []
    for path in sorted(Path(root).glob("*.txt")):
        try:
            charts = decode_irealb(_read(path), str(path), errors="report")
        except FormatError as e:
            report.total += 1
            report.skip(str(path), str(e))
            continue
        songs.extend(_charts_to_songs(charts, str(path), report))
    report.seconds = time.perf_counter() - t0
    log.info("ireal: %d of %d charts imported", report.imported, report.total)
    return songs, report.to_dict()


def read_ireal_jsonl(path: str | Path) -> tuple[list[Song], dict[str, Any]]:
    """Read ``ireal_progressions.jsonl`` records (title, composer, style, key, sections)."""
    t0 = time.perf_counter()
    path = Path(path)
    report = ImportReport("ireal-jsonl")
    charts: list[dict[str, Any]] = []
    for lineno, raw in enumerate(_read(path).splitlines(), 1):
        if not raw.strip():
            continue
        try:
            d = json.loads(raw)
            if not isinstance(d, dict):
                raise ValueError("not an object")
        except ValueError as e:
            charts.append({"title": f"line {lineno}", "error": f"invalid JSON: {e}"})
            continue
        d.setdefault("playlist", d.get("source_file", ""))
        charts.append(d)
    songs = _charts_to_songs(charts, str(path), report)
    report.seconds = time.perf_counter() - t0
    return songs, report.to_dict()
