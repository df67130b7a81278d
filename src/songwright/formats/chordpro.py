"""ChordPro reader and writer (https://www.chordpro.org/chordpro/).

Read: ``title``/``subtitle``/``artist``/``key``/``tempo``/``time`` and other metadata directives,
``{meta: name value}``, ``start_of_*``/``end_of_*`` environments with labels (and their short
forms ``soc``/``eoc``, ``sov``/``eov``, ``sob``/``eob``, ``sot``/``eot``, ``sog``/``eog``), inline
chords ``[Am]`` anywhere in a line (also at its end), ``{comment: ...}`` lines and ``#`` file
comments. Unknown directives are kept in ``Song.meta`` as ChordPro says readers should tolerate
them. Structural faults (an unbalanced ``[``, a section closed that was never opened or left
open when the next begins, binary junk, absurdly long lines) raise :class:`FormatError` with
the file and line.

Write: the canonical layout of the songbook, so ``write(read(f)) == f`` up to whitespace.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from ..chords import parse_chord
from ..errors import ChordError, FormatError
from ..model import ChordAt, Line, Section, Song, default_env, section_kind_from_label

log = logging.getLogger(__name__)

MAX_LINE_CHARS = 10_000
MAX_FILE_BYTES = 20_000_000

_ENV_SHORT = {"soc": "start_of_chorus", "eoc": "end_of_chorus", "sov": "start_of_verse",
              "eov": "end_of_verse", "sob": "start_of_bridge", "eob": "end_of_bridge",
              "sot": "start_of_tab", "eot": "end_of_tab", "sog": "start_of_grid",
              "eog": "end_of_grid"}
_ALIASES = {"t": "title", "st": "subtitle", "c": "comment", "ci": "comment_italic",
            "cb": "comment_box", "su": "subtitle"}
_COMMENTS = {"comment", "comment_italic", "comment_box", "highlight"}
# Prompt fields the songbook carries in {meta: ...}, written in this order.
_META_ORDER = ("verse_prompt", "instructions")
_DIRECTIVE_RE = re.compile(r"^\{\s*([A-Za-z_][\w-]*)\s*(?::\s*(.*?)|\s+(.*?))?\s*\}$")


def _split_chords(raw: str, path: str, lineno: int) -> Line:
    """Split ``"[A]Two dollar [D]bills"`` into text and chords at character offsets."""
    text_parts: list[str] = []
    chords: list[ChordAt] = []
    pos = 0
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "[":
            close = raw.find("]", i + 1)
            if close < 0:
                raise FormatError(f"unbalanced '[' at column {i + 1}", path, lineno)
            symbol = raw[i + 1:close]
            if "[" in symbol:
                raise FormatError(f"unbalanced '[' at column {i + 1}", path, lineno)
            if symbol.startswith("*"):
                pass  # an annotation ([*Riff]) is not a chord; ChordPro prints it, we skip it
            else:
                try:
                    chord = parse_chord(symbol, where=f"{path}:{lineno}")
                except ChordError as e:
                    raise FormatError(str(e), path, lineno) from e
                chords.append(ChordAt(chord, pos))
            i = close + 1
            continue
        if ch == "]":
            raise FormatError(f"unbalanced ']' at column {i + 1}", path, lineno)
        text_parts.append(ch)
        pos += 1
        i += 1
    return Line("".join(text_parts), tuple(chords))


def parse_chordpro(text: str, path: str = "<string>") -> Song:
    """Parse ChordPro ``text``. ``path`` names the source in error messages."""
    if "\x00" in text:
        raise FormatError("binary data (NUL bytes): not a ChordPro text file", path)
    fields: dict[str, object] = {"title": "", "artist": None, "key": None, "tempo": None,
                                 "time": None, "genre": None, "subgenres": (), "era": None}
    meta: dict[str, str] = {}
    sections: list[Section] = []
    current: list[Line] | None = None  # lines of the open environment
    env: str | None = None
    label: str | None = None
    opened_at = 0
    loose: list[Line] = []  # lines outside any environment

    def flush_loose() -> None:
        if loose:
            sections.append(Section("verse", tuple(loose), None, None, None))
            loose.clear()

    for lineno, raw in enumerate(text.splitlines(), start=1):
        if len(raw) > MAX_LINE_CHARS:
            raise FormatError(f"line is {len(raw):,} characters long (limit {MAX_LINE_CHARS:,})",
                              path, lineno)
        line = raw.rstrip()
        stripped = line.strip()
        if stripped.startswith("#") and current is None:
            continue  # file comment
        if stripped.startswith("{"):
            m = _DIRECTIVE_RE.match(stripped)
            if not m:
                raise FormatError(f"malformed directive {stripped[:60]!r}", path, lineno)
            name = m.group(1).lower()
            value = (m.group(2) if m.group(2) is not None else m.group(3) or "").strip()
            name = _ENV_SHORT.get(name, _ALIASES.get(name, name))
            if name.startswith("start_of_"):
                if current is not None:
                    raise FormatError(
                        f"{name} while the {env} section opened at line {opened_at} is still open",
                        path, lineno)
                flush_loose()
                env, label, current, opened_at = name[9:], value or None, [], lineno
                continue
            if name.startswith("end_of_"):
                if current is None or name[7:] != env:
                    what = f"the open section is {env!r}" if current is not None else "none is open"
                    raise FormatError(f"{name} without a matching start ({what})", path, lineno)
                kind, number = section_kind_from_label(label, env)
                sections.append(Section(kind, tuple(current), label, number, env))
                current, env, label = None, None, None
                continue
            if name in _COMMENTS:
                target = current if current is not None else loose
                target.append(Line(value, kind="comment"))
                continue
            if name == "meta":
                key, _, val = value.partition(" ")
                if not key:
                    raise FormatError("{meta} needs a name and a value", path, lineno)
                _set_field(fields, meta, key.lower(), val.strip())
                continue
            if name in ("new_song", "ns"):
                raise FormatError("several songs in one file are not supported", path, lineno)
            if name not in ("title", "subtitle", "artist", "key", "tempo", "time", "genre",
                            "composer", "lyricist", "album", "year", "capo", "copyright",
                            "duration", "arranger"):
                log.warning("%s:%d: unknown directive {%s} kept in meta", path, lineno, name)
            _set_field(fields, meta, name, value)
            continue
        if current is None:
            if not stripped:
                flush_loose()
                continue
            loose.append(_split_chords(line, path, lineno))
        else:
            current.append(_split_chords(line, path, lineno))
    if current is not None:
        # ChordPro readers close an environment left open at the end of the file.
        log.warning("%s: section %r opened at line %d is not closed; closed at end of file",
                    path, env, opened_at)
        kind, number = section_kind_from_label(label, env)
        sections.append(Section(kind, tuple(current), label, number, env))
    flush_loose()
    tempo = fields["tempo"]
    return Song(
        title=str(fields["title"] or ""), artist=fields["artist"], key=fields["key"],  # type: ignore[arg-type]
        tempo=tempo, time=fields["time"], genre=fields["genre"],  # type: ignore[arg-type]
        subgenres=fields["subgenres"], era=fields["era"],  # type: ignore[arg-type]
        sections=tuple(sections), meta=meta,
    )


def _set_field(fields: dict[str, object], meta: dict[str, str], name: str, value: str) -> None:
    if name == "tempo":
        try:
            fields["tempo"] = float(value)
        except ValueError:
            meta["tempo"] = value
    elif name == "subgenres":
        fields["subgenres"] = tuple(s.strip() for s in value.split(",") if s.strip())
    elif name in ("title", "artist", "key", "time", "genre", "era"):
        fields[name] = value
    else:
        meta[name] = value


def read_chordpro(path: str | Path) -> Song:
    """Read a ChordPro file.

    Raises:
        FormatError: with the file (and line) on malformed or non-text input.
    """
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as e:
        raise FormatError(f"cannot read: {e.strerror}", str(p)) from e
    if size > MAX_FILE_BYTES:
        raise FormatError(f"file is {size:,} bytes; a ChordPro song is at most {MAX_FILE_BYTES:,}",
                          str(p))
    data = p.read_bytes()
    if b"\x00" in data[:65536]:
        raise FormatError("binary data (NUL bytes): not a ChordPro text file", str(p))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise FormatError(f"not UTF-8 text (byte {e.start})", str(p)) from e
    song = parse_chordpro(text, str(p))
    if not song.title:
        song = song.replace(title=p.stem)
    return song


# --------------------------------------------------------------------------- writing


def _fmt_number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def line_to_chordpro(line: Line, style: str = "original") -> str:
    """One line with ``[chords]`` inserted at their offsets."""
    if line.kind == "comment":
        return "{comment: " + line.text + "}"
    out: list[str] = []
    prev = 0
    text = line.text
    for ca in sorted(line.chords, key=lambda c: c.position):
        pos = min(max(ca.position, 0), len(text))
        out.append(text[prev:pos])
        out.append("[" + ca.chord.format(style) + "]")
        prev = pos
    out.append(text[prev:])
    return "".join(out)


def write_chordpro(song: Song, style: str = "original") -> str:
    """Render ``song`` as ChordPro text (the songbook's canonical layout)."""
    head = [f"{{title: {song.title}}}"]
    if song.artist:
        head.append(f"{{artist: {song.artist}}}")
    if song.key:
        head.append(f"{{key: {song.key}}}")
    if song.tempo is not None:
        head.append(f"{{tempo: {_fmt_number(song.tempo)}}}")
    if song.time:
        head.append(f"{{time: {song.time}}}")
    if song.genre:
        head.append(f"{{meta: genre {song.genre}}}")
    if song.subgenres:
        head.append(f"{{meta: subgenres {', '.join(song.subgenres)}}}")
    if song.era:
        head.append(f"{{meta: era {song.era}}}")
    ordered = [k for k in _META_ORDER if k in song.meta]
    ordered += [k for k in song.meta if k not in _META_ORDER]
    for k in ordered:
        value = str(song.meta[k]).replace("\n", " ").strip()
        if value:  # an empty field says nothing; ChordPro has no way to write it cleanly
            head.append(f"{{meta: {k} {value}}}")
    blocks = ["\n".join(head)]
    for sec in song.sections:
        body = [line_to_chordpro(ln, style) for ln in sec.lines]
        if sec.env is None:
            blocks.append("\n".join(body))
            continue
        env = sec.env
        start = f"{{start_of_{env}: {sec.label}}}" if sec.label else f"{{start_of_{env}}}"
        blocks.append("\n".join([start, *body, f"{{end_of_{env}}}"]))
    return "\n\n".join(blocks) + "\n"


def save_chordpro(song: Song, path: str | Path, style: str = "original") -> None:
    Path(path).write_text(write_chordpro(song, style), encoding="utf-8")


def ensure_env(section: Section) -> Section:
    """A section with an environment to write it into (generated sections may lack one)."""
    return section if section.env else section.__class__(
        section.kind, section.lines, section.label, section.number, default_env(section.kind))
