"""Line-level training examples for the learned chord models.

A song becomes one flat decoding sequence: for every lyric line, its chords as key-relative
vocabulary ids followed by ``<eos>`` (end of line). Every step also carries the features of the
line it belongs to (the frozen encoder's vector of the line text, the section kind, the line's
index inside its section) and a *template* token: the chord at the same line and slot of the
most recent earlier section of the same kind (``verse 2`` sees ``verse 1``), which lets the
decoder reuse a progression the way songwriters do. The song carries genre and era ids.

Chord-only corpora (Billboard, iReal, Chordonomicon) give the same sequences with an empty
lyric context (a zero line vector), for pre-training.

The teacher-forcing shift (input = target shifted right, ``<bos>`` first) lives in
:func:`collate`, not in the model.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import torch

from ...errors import SongwrightError
from ...keys import Key, RelChord, parse_key, song_key, to_relative
from ...model import SECTION_KINDS, Song
from ...vocab import ChordVocab

log = logging.getLogger(__name__)

GENRE_NAMES = ("<unk>", "country", "metal", "pop", "rap", "rock")
ERA_NAMES = ("<unk>",) + tuple(f"{d}s" for d in range(1900, 2040, 10))
SECTION_NAMES = ("<unk>",) + SECTION_KINDS
MODE_NAMES = ("<unk>", "major", "minor")
N_POS_BUCKETS = 8
MAX_LINE_INDEX = 15
MAX_CHORDS_PER_LINE = 8
MAX_LINES = 1000  # longer songs are refused with a clear error (see docs/chords-stage.md)
IGNORE = -100

LineEncoder = Callable[[Sequence[str]], torch.Tensor]


def genre_id(genre: str | None) -> int:
    """Id of a genre label; unknown genres map to ``<unk>`` (documented fallback)."""
    g = (genre or "").strip().lower()
    return GENRE_NAMES.index(g) if g in GENRE_NAMES[1:] else 0


def era_id(era: str | None) -> int:
    """Id of an era string (``"1980s"``, ``"80s"``, ``"1985"``); unknown → ``<unk>``.

    >>> ERA_NAMES[era_id("1985")], ERA_NAMES[era_id("80s")], era_id("future")
    ('1980s', '1980s', 0)
    """
    if not era:
        return 0
    m = re.search(r"(\d{4})", era)
    if m:
        decade = f"{int(m.group(1)) // 10 * 10}s"
    else:
        m = re.search(r"\b(\d)0s\b", era)
        if not m:
            return 0
        d = int(m.group(1))
        decade = f"{(2000 if d <= 2 else 1900) + d * 10}s"
    return ERA_NAMES.index(decade) if decade in ERA_NAMES else 0


def section_id(kind: str) -> int:
    return SECTION_NAMES.index(kind) if kind in SECTION_NAMES else 0


def position_bucket(position: int, text: str) -> int:
    """Bucket of a chord's character offset: the word it sits on, as a fraction of the line.

    >>> position_bucket(0, "one two three four"), position_bucket(14, "one two three four")
    (0, 6)
    """
    starts = [m.start() for m in re.finditer(r"\S+", text)] or [0]
    word = sum(1 for s in starts if s <= position) - 1
    return min(N_POS_BUCKETS - 1, max(0, word) * N_POS_BUCKETS // len(starts))


def bucket_to_position(bucket: int, text: str) -> int:
    """Character offset of the word a bucket points at (inverse of :func:`position_bucket`)."""
    starts = [m.start() for m in re.finditer(r"\S+", text)] or [0]
    word = min(len(starts) - 1, -(-bucket * len(starts) // N_POS_BUCKETS))
    return starts[word]


def embed_lines(texts: Sequence[str], encoder: LineEncoder | None = None,
                persist: bool = True) -> torch.Tensor:
    """Encoder vectors of lyric lines, shape ``(N, D)``; the one place that calls the genre
    stage's shared encoder (so an API change there touches only this function).

    Args:
        texts: line texts.
        encoder: a callable ``texts -> (N, D)``; None uses the last-layer part of the shared
            line pass (:func:`..genre.encoder.shared_line_encoder`), which the genre stage
            has usually filled for this song already: one encoder pass for both stages.
        persist: keep new vectors in the disk cache too (training); inference passes False.
    """
    if encoder is not None:
        return encoder(list(texts)).float()
    from ..genre.encoder import shared_line_encoder

    enc = shared_line_encoder(persist)
    return enc.encode_lines(list(texts))[:, enc.line_layer_columns((-1,))].float()


@dataclass
class SongExample:
    """One song as a flat decoding sequence (see the module docstring). Lists run per step."""

    targets: list[int]
    positions: list[int]
    templates: list[int]
    line_index: list[int]
    sections: list[int]
    line_in_section: list[int]
    line_emb: torch.Tensor  # (L, D)
    genre: int = 0
    era: int = 0
    mode: int = 0
    free: list[bool] = field(default_factory=list)  # False where a repeated chorus is copied
    gold: list[str | None] = field(default_factory=list)  # full key-relative token per step

    def __len__(self) -> int:
        return len(self.targets)


@dataclass
class SongPlan:
    """The structure of a song for decoding: its lyric lines per section and the repeats."""

    lines: list[tuple[int, int, str]]  # (section index, line index in section, text)
    section_kinds: list[str]
    repeat_of: dict[int, int]  # section index -> earlier section whose chords it copies
    template_of: dict[int, int]  # section index -> earlier section of the same kind
    key: Key | None
    genre: int
    era: int

    @property
    def mode(self) -> int:
        """Id of the key's mode in :data:`MODE_NAMES` (0 when the key is unknown)."""
        return MODE_NAMES.index(self.key.mode) if self.key is not None else 0


def plan_song(song: Song, chord_only: bool = False) -> SongPlan:
    """Lines to decode, and which sections repeat or follow another.

    Args:
        song: a song with sections.
        chord_only: take every line that has chords, text or not (Billboard, iReal).

    Raises:
        SongwrightError: for a song with no lyric lines, or more than ``MAX_LINES`` lines.
    """
    lines: list[tuple[int, int, str]] = []
    kinds: list[str] = []
    repeat_of: dict[int, int] = {}
    template_of: dict[int, int] = {}
    seen_text: dict[tuple, int] = {}
    first_kind: dict[str, int] = {}
    for si, sec in enumerate(song.sections):
        kinds.append(sec.kind)
        sel = [ln for ln in sec.lines if ln.kind == "lyric"
               and (ln.text.strip() or (chord_only and ln.chords))]
        if not sel:
            continue
        texts = (sec.kind, tuple(ln.text for ln in sel))
        if not chord_only and texts in seen_text:
            repeat_of[si] = seen_text[texts]
        seen_text.setdefault(texts, si)
        if sec.kind in first_kind:
            template_of[si] = first_kind[sec.kind]
        first_kind[sec.kind] = si  # the most recent section of this kind
        lines.extend((si, i, ln.text) for i, ln in enumerate(sel))
    if not lines:
        raise SongwrightError("cannot put chords on a song with no lyric lines")
    if len(lines) > MAX_LINES:
        raise SongwrightError(f"song has {len(lines)} lyric lines; the chord models take at "
                              f"most {MAX_LINES} (split it into several songs)")
    key = None
    if song.key or song.chords:
        try:
            key = song_key(song)
        except SongwrightError:
            key = None
    return SongPlan(lines, kinds, repeat_of, template_of, key, genre_id(song.genre),
                    era_id(song.era))


def build_example(plan: SongPlan, line_chords: Sequence[Sequence[tuple]],
                  line_emb: torch.Tensor, eos_id: int, pad_id: int) -> SongExample:
    """A :class:`SongExample` from ``(token id, position bucket[, full token])`` per planned
    line (the full token, when given, is kept for metrics against unfolded chords)."""
    ex = SongExample([], [], [], [], [], [], line_emb, plan.genre, plan.era, plan.mode)
    by_section: dict[int, list[list[int]]] = {}
    repeat_targets: set[int] = set()
    for li, ((si, idx, _), chords) in enumerate(zip(plan.lines, line_chords)):
        by_section.setdefault(si, []).append([c[0] for c in chords])
        tmpl_sec = plan.template_of.get(si)
        tmpl_lines = by_section.get(tmpl_sec, []) if tmpl_sec is not None else []
        tmpl = tmpl_lines[idx % len(tmpl_lines)] if tmpl_lines else None
        free = si not in plan.repeat_of
        if not free:
            repeat_targets.add(si)
        steps = [(c[0], c[1], c[2] if len(c) > 2 else None) for c in chords]
        steps.append((eos_id, IGNORE, None))
        for j, (tok, bucket, gold) in enumerate(steps):
            ex.gold.append(gold)
            ex.targets.append(tok)
            ex.positions.append(bucket)
            ex.templates.append(pad_id if tmpl is None else (tmpl[j] if j < len(tmpl) else eos_id))
            ex.line_index.append(li)
            ex.sections.append(section_id(plan.section_kinds[si]))
            ex.line_in_section.append(min(idx, MAX_LINE_INDEX))
            ex.free.append(free)
    return ex


def song_line_chords(song: Song, plan: SongPlan, vocab: ChordVocab, key: Key,
                     chord_only: bool = False, collapse_repeats: bool = False,
                     ) -> list[list[tuple[int, int, str]]]:
    """Target ``(id, bucket, full token)`` for each planned line of a song with chords."""
    out: list[list[tuple[int, int, str]]] = []
    for sec in song.sections:
        for ln in sec.lines:
            if ln.kind != "lyric" or not (ln.text.strip() or (chord_only and ln.chords)):
                continue
            pairs: list[tuple[int, int, str]] = []
            for ca in ln.chords:
                if ca.chord.root is None:
                    continue
                rel = to_relative(ca.chord, key)
                tok = vocab.encode(rel)
                if collapse_repeats and pairs and pairs[-1][0] == tok:
                    continue
                bucket = 0 if chord_only else position_bucket(ca.position, ln.text)
                pairs.append((tok, bucket, rel.token))
            out.append(pairs[:MAX_CHORDS_PER_LINE])
    return out


def song_to_example(song: Song, vocab: ChordVocab, encoder: LineEncoder | None,
                    chord_only: bool = False, key: Key | None = None,
                    line_dim: int = 384) -> SongExample | None:
    """The training example of a song with chords, or None when it has no key or chords."""
    try:
        plan = plan_song(song, chord_only=chord_only)
        key = key or plan.key
    except SongwrightError:
        return None
    if key is None:
        return None
    plan.key = key
    chords = song_line_chords(song, plan, vocab, key, chord_only, collapse_repeats=chord_only)
    if not any(chords):
        return None
    if chord_only:
        emb = torch.zeros(len(plan.lines), line_dim)  # the empty lyric context
    else:
        emb = embed_lines([t for _, _, t in plan.lines], encoder)
    return build_example(plan, chords, emb, vocab.eos_id, vocab.pad_id)


def relative_key_variant(song: Song) -> Song | None:
    """Augmentation: the same song read in its relative major/minor key.

    Key-relative tokens are invariant under transposition (transposing a song and its key
    changes no token, see the tests), so transposition augmentation in absolute pitch is a
    no-op here; the ambiguity a key-relative model does face is the mode reading, which this
    variant supplies.
    """
    try:
        key = song_key(song)
    except SongwrightError:
        return None
    other = Key((key.tonic + 3) % 12, "major") if key.mode == "minor" else \
        Key((key.tonic + 9) % 12, "minor")
    return song.replace(key=other.name)


def transpose_song(song: Song, semitones: int) -> Song:
    """The song transposed (chords and declared key) by ``semitones``."""
    from ...model import ChordAt

    secs = []
    for sec in song.sections:
        lines = [ln.with_chords(tuple(ChordAt(c.chord.transpose(semitones), c.position)
                                      for c in ln.chords)) for ln in sec.lines]
        secs.append(sec.__class__(sec.kind, tuple(lines), sec.label, sec.number, sec.env))
    key = parse_key(song.key).transposed(semitones).name if song.key else None
    return song.replace(sections=tuple(secs), key=key)


def build_vocab(songs: Iterable[Song], min_count: int = 3, level: str = "full") -> ChordVocab:
    """A vocabulary of key-relative chords from the songs, rare spellings folded."""
    rels: list[RelChord] = []
    for song in songs:
        try:
            key = song_key(song)
        except SongwrightError:
            continue
        rels.extend(to_relative(c, key) for c in song.chords if c.root is not None)
    if not rels:
        raise SongwrightError("no chords to build a vocabulary from")
    return ChordVocab.build(rels, min_count=min_count, level=level)


def collate(examples: Sequence[SongExample], bos_id: int, pad_id: int) -> dict[str, torch.Tensor]:
    """Pad a batch and apply the teacher-forcing shift: ``inputs[t] = targets[t-1]``.

    Returns tensors ``inputs, targets, positions, templates, sections, line_in_section, free``
    of shape ``(B, T)``, ``line_emb`` ``(B, T, D)`` (each step's line vector), ``genre``,
    ``era`` and ``mode`` ``(B,)`` and ``mask`` ``(B, T)``.
    """
    B = len(examples)
    T = max(len(e) for e in examples)
    D = examples[0].line_emb.shape[-1]

    def full(v: int, dtype: torch.dtype = torch.long) -> torch.Tensor:
        return torch.full((B, T), v, dtype=dtype)

    out = {"inputs": full(pad_id), "targets": full(IGNORE), "positions": full(IGNORE),
           "templates": full(pad_id), "sections": full(0), "line_in_section": full(0),
           "free": full(0, torch.bool), "mask": full(0, torch.bool),
           "line_emb": torch.zeros(B, T, D)}
    for b, e in enumerate(examples):
        n = len(e)
        tg = torch.tensor(e.targets)
        out["targets"][b, :n] = tg
        out["inputs"][b, 0] = bos_id
        out["inputs"][b, 1:n] = tg[:-1]  # the shift
        out["positions"][b, :n] = torch.tensor(e.positions)
        out["templates"][b, :n] = torch.tensor(e.templates)
        out["sections"][b, :n] = torch.tensor(e.sections)
        out["line_in_section"][b, :n] = torch.tensor(e.line_in_section)
        out["free"][b, :n] = torch.tensor(e.free or [True] * n)
        out["mask"][b, :n] = True
        out["line_emb"][b, :n] = e.line_emb[torch.tensor(e.line_index)]  # (n, D)
    out["genre"] = torch.tensor([e.genre for e in examples])
    out["era"] = torch.tensor([e.era for e in examples])
    out["mode"] = torch.tensor([e.mode for e in examples])
    return out
