"""The pipeline: the one place that knows the order of the stages.

``prompt → lyrics → genre → chords → arrange → renders``. Each stage is chosen by name or path
in :class:`PipelineConfig`; each reads and writes only the song model.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import SongwrightError
from .model import Song, SongPrompt

log = logging.getLogger(__name__)

RENDER_FORMATS = ("chordpro", "json", "midi", "wav", "musicxml")
FILE_NAMES = {"chordpro": "song.cho", "json": "song.json", "midi": "song.mid",
              "wav": "song.wav", "musicxml": "song.musicxml"}


@dataclass
class PipelineConfig:
    """Which stage to use at each step: a registered name or a path to a saved model.

    Attributes:
        lyrics: ``"default"`` (SmolLM2-135M-Instruct, offline), ``"tiny-random"`` (tests), a
            local model folder, or an OpenAI-compatible endpoint (see the lyrics stage docs).
        genre: ``"default"`` (frozen SmolLM2 + stylistic features, an early exit at layer
            2 before layer 12), ``"minilm"``
            (frozen MiniLM layer 2 + stylistic features: faster, and it shares the chord
            stage's line pass; less accurate on held-out songs), ``"tfidf"`` (the baseline) or
            a saved model folder.
        chords: ``"default"`` (the RLHF policy), ``"policy"``, ``"seq2seq"``, ``"markov"``
            (the baseline), ``"seed-3chord"`` or a saved model folder.
        arrange: ``"basic"``.
        formats: which files :meth:`Pipeline.render` writes.
        audio_engine: ``"auto"`` (FluidSynth when present, else numpy), ``"fluidsynth"``,
            ``"numpy"``.
    """

    lyrics: str = "default"
    genre: str = "default"
    chords: str = "default"
    arrange: str = "basic"
    formats: tuple[str, ...] = RENDER_FORMATS
    audio_engine: str = "auto"
    lyrics_options: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        bad = [f for f in self.formats if f not in RENDER_FORMATS]
        if bad:
            raise SongwrightError(f"unknown output format(s) {bad}; choose from {RENDER_FORMATS}")


def _load_genre(name: str):  # noqa: ANN202 - returns a SongStage
    from .stages.genre.load import load_genre_model

    return load_genre_model(name)


def _load_chords(name: str):  # noqa: ANN202
    from .stages.chords.load import load_chord_model

    return load_chord_model(name)


def _load_arranger(name: str):  # noqa: ANN202
    from .stages.arrange import BasicArranger

    if name == "basic":
        return BasicArranger()
    raise SongwrightError(f"unknown arranger {name!r}; known: basic")


class Pipeline:
    """Prompt in, song out; :meth:`render` writes the files.

    Args:
        config: which stages to use.
        on_line: called with ``(section_name, line_text)`` as the lyrics stage accepts lines.
    """

    def __init__(self, config: PipelineConfig | None = None,
                 on_line: Callable[[str, str], None] | None = None) -> None:
        self.config = config or PipelineConfig()
        self.on_line = on_line
        self._stages: dict[str, object] = {}
        self.timings: dict[str, float] = {}

    # ------------------------------------------------------------------ stages
    def stage(self, name: str):  # noqa: ANN201
        """The stage object for ``name`` (``lyrics``, ``genre``, ``chords``, ``arrange``)."""
        if name not in self._stages:
            t0 = time.perf_counter()
            if name == "lyrics":
                from .stages.lyrics import make_lyrics_stage

                self._stages[name] = make_lyrics_stage(
                    self.config.lyrics, on_line=self.on_line, **self.config.lyrics_options)
            elif name == "genre":
                self._stages[name] = _load_genre(self.config.genre)
            elif name == "chords":
                self._stages[name] = _load_chords(self.config.chords)
            elif name == "arrange":
                self._stages[name] = _load_arranger(self.config.arrange)
            else:
                raise SongwrightError(f"unknown stage {name!r}")
            self.timings[f"load_{name}"] = time.perf_counter() - t0
        return self._stages[name]

    @property
    def known_genres(self) -> tuple[str, ...]:
        return tuple(self.stage("genre").labels)

    # ------------------------------------------------------------------ running
    def generate(self, prompt: SongPrompt,
                 progress: Callable[[str], None] | None = None) -> Song:
        """Run every stage on ``prompt`` and return the arranged song."""
        prompt = prompt.validate(self.known_genres)
        if prompt.genre:
            prompt = replace(prompt, genre=prompt.genre.lower())
        song: Song | None = None
        for name in ("lyrics", "genre", "chords", "arrange"):
            if progress:
                progress(name)
            stage = self.stage(name)
            t0 = time.perf_counter()
            song = stage(prompt) if name == "lyrics" else stage(song, seed=prompt.seed)
            self.timings[name] = time.perf_counter() - t0
        assert song is not None
        return song

    def render(self, song: Song, out_dir: str | Path,
               progress: Callable[[str], None] | None = None) -> dict[str, Path]:
        """Write the configured formats into ``out_dir``, all or nothing.

        Files are written into a temporary folder beside ``out_dir`` and moved in at the end, so
        a failure leaves ``out_dir`` as it was.
        """
        out = Path(out_dir)
        staging = make_staging_dir(out)
        try:
            written = self._render_into(song, staging, progress)
            out.mkdir(parents=True, exist_ok=True)
            final = {}
            for fmt, p in written.items():
                target = out / p.name
                os.replace(p, target)
                final[fmt] = target
            return final
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _render_into(self, song: Song, d: Path,
                     progress: Callable[[str], None] | None) -> dict[str, Path]:
        written: dict[str, Path] = {}
        for fmt in self.config.formats:
            if progress:
                progress(fmt)
            t0 = time.perf_counter()
            path = d / FILE_NAMES[fmt]
            if fmt == "chordpro":
                from .formats.chordpro import write_chordpro

                path.write_text(write_chordpro(song), encoding="utf-8")
            elif fmt == "json":
                path.write_text(song.to_json() + "\n", encoding="utf-8")
            elif fmt == "midi":
                from .render.midi import write_midi

                write_midi(song, path)
            elif fmt == "wav":
                from .render.audio import write_wav

                write_wav(song, path, engine=self.config.audio_engine)
            elif fmt == "musicxml":
                from .formats.musicxml import write_musicxml

                write_musicxml(song, path)
            written[fmt] = path
            self.timings[f"render_{fmt}"] = time.perf_counter() - t0
        return written

    def run(self, prompt: SongPrompt, out_dir: str | Path) -> tuple[Song, dict[str, Path]]:
        song = self.generate(prompt)
        return song, self.render(song, out_dir)


def check_writable(out: Path) -> None:
    """Fail early, before any generation, when ``out`` cannot be written."""
    shutil.rmtree(make_staging_dir(out), ignore_errors=True)


def make_staging_dir(out: Path) -> Path:
    """A temporary folder beside ``out``; fails early, with a clear message, if unwritable."""
    parent = out.resolve().parent
    if out.exists() and not out.is_dir():
        raise SongwrightError(f"--out {out} exists and is not a folder")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=parent))
    except OSError as e:
        raise SongwrightError(f"cannot write to {out}: {e.strerror or e}") from e


def slugify(text: str, limit: int = 40) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].strip("-") or "song"
