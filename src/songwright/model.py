"""The song model: plain, frozen records that every stage, importer, renderer and interface uses.

JSON is the obvious nesting of the records (``Song.to_dict`` / ``Song.from_dict``) and round-trips
exactly: ``Song.from_json(song.to_json()) == song``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from .chords import Chord, parse_chord
from .errors import SongwrightError

SECTION_KINDS = ("intro", "verse", "pre-chorus", "chorus", "post-chorus", "bridge", "hook",
                 "interlude", "instrumental", "solo", "outro", "other")
# ChordPro environments that songwright writes a section into.
_ENV_FOR_KIND = {"chorus": "chorus", "bridge": "bridge"}

PROMPT_LIMITS = {"title": 200, "artist": 200, "genre": 50, "era": 50, "verse_prompt": 2000,
                 "instructions": 2000, "example_lyrics": 20000}
TIME_RE = re.compile(r"^(\d{1,2})/(1|2|4|8|16|32)$")


@dataclass(frozen=True)
class ChordAt:
    """A chord placed in a lyric line at a character offset (where ChordPro puts ``[C]``)."""

    chord: Chord
    position: int

    def to_dict(self) -> dict[str, Any]:
        return {"chord": self.chord.to_json(), "position": self.position}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ChordAt:
        return cls(parse_chord(d["chord"]), int(d["position"]))


@dataclass(frozen=True)
class Note:
    """A note. ``start`` and ``duration`` are in beats (quarter notes) from the song's start."""

    pitch: int
    start: float
    duration: float
    syllable: str | None = None
    velocity: int = 90

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"pitch": self.pitch, "start": self.start, "duration": self.duration}
        if self.syllable is not None:
            d["syllable"] = self.syllable
        if self.velocity != 90:
            d["velocity"] = self.velocity
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Note:
        return cls(int(d["pitch"]), float(d["start"]), float(d["duration"]), d.get("syllable"),
                   int(d.get("velocity", 90)))


@dataclass(frozen=True)
class Line:
    """One line of a section: its text, chords at offsets and, once arranged, melody notes.

    ``kind`` is ``"lyric"`` (sung text, possibly empty for chord-only lines) or ``"comment"``.
    """

    text: str
    chords: tuple[ChordAt, ...] = ()
    notes: tuple[Note, ...] = ()
    kind: str = "lyric"

    @property
    def chord_list(self) -> list[Chord]:
        return [c.chord for c in self.chords]

    def with_chords(self, chords: list[tuple[Chord, int]] | tuple[ChordAt, ...]) -> Line:
        items = tuple(c if isinstance(c, ChordAt) else ChordAt(c[0], c[1]) for c in chords)
        return replace(self, chords=items)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"text": self.text, "chords": [c.to_dict() for c in self.chords]}
        if self.notes:
            d["notes"] = [n.to_dict() for n in self.notes]
        if self.kind != "lyric":
            d["kind"] = self.kind
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Line:
        return cls(
            d["text"],
            tuple(ChordAt.from_dict(c) for c in d.get("chords", [])),
            tuple(Note.from_dict(n) for n in d.get("notes", [])),
            d.get("kind", "lyric"),
        )


def section_kind_from_label(label: str | None, env: str | None = None) -> tuple[str, int | None]:
    """Infer the kind and number of a section from its label (``"Verse 2 (Rap)"`` → verse, 2)."""
    if label:
        low = label.lower()
        num = re.search(r"\b(\d+)\b", low)
        number = int(num.group(1)) if num else None
        for kind in ("pre-chorus", "post-chorus", "chorus", "verse", "bridge", "intro", "outro",
                     "hook", "interlude", "instrumental", "solo", "refrain"):
            variants = (kind, kind.replace("-", " "), kind.replace("-", ""))
            if any(low.startswith(v) or f" {v}" in low for v in variants):
                return ("chorus" if kind == "refrain" else kind), number
        if env in ("chorus", "bridge", "verse"):
            return env, number
        return "other", number
    if env in ("chorus", "bridge", "verse"):
        return env, None
    return "verse" if env is None else "other", None


@dataclass(frozen=True)
class Section:
    """An ordered group of lines: verse, chorus, bridge, ...

    ``label`` is the display label as written (``"Verse 2 (Rap)"``) or None; ``env`` is the
    ChordPro environment the section was read from or is written into (``verse``, ``chorus``,
    ``bridge``, ``tab``, ``grid``), or None for lines outside any environment.
    """

    kind: str
    lines: tuple[Line, ...] = ()
    label: str | None = None
    number: int | None = None
    env: str | None = "verse"

    @property
    def name(self) -> str:
        """Human name: the label if any, else the kind and number (``"chorus"``, ``"verse 2"``)."""
        if self.label:
            return self.label
        return self.kind if self.number is None else f"{self.kind} {self.number}"

    @property
    def lyric_lines(self) -> list[Line]:
        return [ln for ln in self.lines if ln.kind == "lyric" and ln.text.strip()]

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "label": self.label, "number": self.number,
                             "env": self.env, "lines": [ln.to_dict() for ln in self.lines]}
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Section:
        return cls(d["kind"], tuple(Line.from_dict(x) for x in d.get("lines", [])),
                   d.get("label"), d.get("number"), d.get("env", "verse"))


@dataclass(frozen=True)
class Track:
    """An accompaniment part (bass, drums, chords) with General MIDI program and notes."""

    name: str
    program: int
    notes: tuple[Note, ...]
    is_drum: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "program": self.program, "is_drum": self.is_drum,
                "notes": [n.to_dict() for n in self.notes]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Track:
        return cls(d["name"], int(d["program"]), tuple(Note.from_dict(n) for n in d["notes"]),
                   bool(d.get("is_drum", False)))


@dataclass(frozen=True)
class Song:
    """A whole song: metadata, sections, and (once arranged) accompaniment tracks.

    ``meta`` holds every other field in the order read (``verse_prompt``, ``instructions``,
    ``source``, ``composer``, ...). ``genre_probs`` maps genre labels to probabilities once the
    genre stage has run.
    """

    title: str = ""
    artist: str | None = None
    key: str | None = None
    tempo: float | None = None
    time: str | None = None
    genre: str | None = None
    subgenres: tuple[str, ...] = ()
    era: str | None = None
    sections: tuple[Section, ...] = ()
    meta: dict[str, str] = field(default_factory=dict)
    genre_probs: dict[str, float] = field(default_factory=dict)
    tracks: tuple[Track, ...] = ()

    # ------------------------------------------------------------------ views
    @property
    def lines(self) -> list[Line]:
        return [ln for s in self.sections for ln in s.lines]

    @property
    def lyric_lines(self) -> list[Line]:
        return [ln for s in self.sections for ln in s.lyric_lines]

    @property
    def chords(self) -> list[Chord]:
        """Every chord in order of appearance."""
        return [c.chord for ln in self.lines for c in ln.chords]

    @property
    def lyrics(self) -> str:
        """Plain lyrics, a blank line between sections."""
        return "\n\n".join("\n".join(ln.text for ln in s.lyric_lines) for s in self.sections
                           if s.lyric_lines)

    @property
    def beats_per_bar(self) -> float:
        num, den = parse_time(self.time or "4/4")
        return num * 4 / den

    def replace(self, **changes: Any) -> Song:
        return replace(self, **changes)

    def to_prompt(self, seed: int = 0) -> SongPrompt:
        """The prompt this song answers, from its metadata (songbook songs carry all fields)."""
        return SongPrompt(
            title=self.title, artist=self.artist or "", genre=self.genre or "",
            subgenres=self.subgenres, era=self.era or "",
            verse_prompt=self.meta.get("verse_prompt", ""),
            instructions=self.meta.get("instructions", ""), key=self.key, tempo=self.tempo,
            time=self.time, seed=seed,
        )

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "title": self.title, "artist": self.artist, "key": self.key, "tempo": self.tempo,
            "time": self.time, "genre": self.genre, "subgenres": list(self.subgenres),
            "era": self.era, "meta": dict(self.meta), "genre_probs": dict(self.genre_probs),
            "sections": [s.to_dict() for s in self.sections],
        }
        if self.tracks:
            d["tracks"] = [t.to_dict() for t in self.tracks]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Song:
        if not isinstance(d, dict) or "sections" not in d:
            raise SongwrightError("song JSON must be an object with a 'sections' list")
        tempo = d.get("tempo")
        return cls(
            title=d.get("title") or "", artist=d.get("artist"), key=d.get("key"),
            tempo=None if tempo is None else float(tempo), time=d.get("time"),
            genre=d.get("genre"), subgenres=tuple(d.get("subgenres", ())), era=d.get("era"),
            sections=tuple(Section.from_dict(s) for s in d["sections"]),
            meta=dict(d.get("meta", {})),
            genre_probs={k: float(v) for k, v in d.get("genre_probs", {}).items()},
            tracks=tuple(Track.from_dict(t) for t in d.get("tracks", [])),
        )

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Song:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise SongwrightError(f"invalid song JSON: {e}") from e
        return cls.from_dict(data)


def parse_time(time: str) -> tuple[int, int]:
    """Parse a metre such as ``"4/4"`` or ``"7/8"``."""
    m = TIME_RE.match(str(time).strip())
    if not m or int(m.group(1)) == 0:
        raise SongwrightError(f"invalid time signature {time!r}; expected e.g. 4/4, 3/4, 6/8, 7/8")
    return int(m.group(1)), int(m.group(2))


@dataclass(frozen=True)
class SongPrompt:
    """What a person asks for: the seed's prompt fields, optional musical choices and a seed.

    ``structure`` is an optional list of section kinds (``("verse", "chorus", "verse",
    "chorus", "bridge", "chorus")``); ``lines_per_section`` optionally fixes line counts.
    """

    title: str
    artist: str = ""
    genre: str = ""
    subgenres: tuple[str, ...] = ()
    era: str = ""
    verse_prompt: str = ""
    instructions: str = ""
    example_lyrics: str = ""
    key: str | None = None
    tempo: float | None = None
    time: str | None = None
    structure: tuple[str, ...] | None = None
    lines_per_section: int | None = None
    seed: int = 0

    def validate(self, known_genres: tuple[str, ...] | None = None) -> SongPrompt:
        """Check every field; return self or raise :class:`SongwrightError` naming the field."""
        from .keys import parse_key  # local: keys imports chords, which is light

        if not self.title or not self.title.strip():
            raise SongwrightError("title must not be empty")
        for name, cap in PROMPT_LIMITS.items():
            value = getattr(self, name)
            if value and len(value) > cap:
                raise SongwrightError(f"{name} is {len(value)} characters; the limit is {cap}")
        if self.genre and known_genres is not None and self.genre.lower() not in known_genres:
            raise SongwrightError(
                f"unknown genre {self.genre!r}; known genres: {', '.join(known_genres)}")
        if self.tempo is not None and not (0 < float(self.tempo) <= 400):
            raise SongwrightError(f"tempo must be in (0, 400] BPM, got {self.tempo}")
        if self.key:
            parse_key(self.key)
        if self.time:
            parse_time(self.time)
        if self.structure is not None:
            for kind in self.structure:
                if kind not in SECTION_KINDS:
                    raise SongwrightError(
                        f"unknown section kind {kind!r} in structure; known: {', '.join(SECTION_KINDS)}")
        if self.lines_per_section is not None and not 1 <= self.lines_per_section <= 32:
            raise SongwrightError("lines_per_section must be between 1 and 32")
        return self

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["subgenres"] = list(self.subgenres)
        d["structure"] = None if self.structure is None else list(self.structure)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SongPrompt:
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise SongwrightError(f"unknown prompt field(s): {', '.join(sorted(unknown))}")
        if "title" not in d:
            raise SongwrightError("prompt needs a 'title'")
        d = dict(d)
        sub = d.get("subgenres", ())
        if isinstance(sub, str):
            sub = tuple(s.strip() for s in sub.split(",") if s.strip())
        d["subgenres"] = tuple(sub)
        if d.get("structure") is not None:
            st = d["structure"]
            if isinstance(st, str):
                st = st.split()
            d["structure"] = tuple(st)
        if d.get("tempo") is not None:
            try:
                d["tempo"] = float(d["tempo"])
            except (TypeError, ValueError) as e:
                raise SongwrightError(f"tempo must be a number, got {d['tempo']!r}") from e
        return cls(**d)


def default_env(kind: str) -> str:
    """The ChordPro environment a section of ``kind`` is written into."""
    return _ENV_FOR_KIND.get(kind, "verse")
