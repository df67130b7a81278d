"""The seq2seq chord model: frozen text-encoder line vectors feed an LSTM decoder.

The decoder runs once over the whole song (its state carries harmony across lines and
sections). At every step it sees the previous token, the template token (same slot of the
previous section of the same kind), the projected encoder vector of the current line, and
embeddings of genre, era, section kind and the line's index in its section. Two heads: the next
token (a chord or ``<eos>`` = end of line) and the word-position bucket of that chord.

:class:`Seq2SeqChords` is the stage (``stage(song, *, seed) -> Song``) and the unit of
persistence: ``weights.safetensors`` + ``config.json`` + ``vocab.json`` (+ ``metrics.json``).
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ...errors import SongwrightError
from ...keys import Key, RelChord, parse_key
from ...model import ChordAt, Line, Section, Song
from ...vocab import ChordVocab
from .data import (
    ERA_NAMES,
    GENRE_NAMES,
    MAX_LINE_INDEX,
    MODE_NAMES,
    N_POS_BUCKETS,
    SECTION_NAMES,
    LineEncoder,
    bucket_to_position,
    embed_lines,
    plan_song,
)

log = logging.getLogger(__name__)
FORMAT = "songwright.chords-seq2seq"
DECODINGS = ("greedy", "sample", "beam")


@dataclass
class Seq2SeqConfig:
    """Sizes of the decoder; everything else comes from data."""

    vocab_size: int
    line_dim: int = 384
    line_proj: int = 64
    emb_dim: int = 64
    cond_dim: int = 16
    hidden: int = 256
    layers: int = 1
    dropout: float = 0.1
    backbone: str = "default"

    def __post_init__(self) -> None:
        for name in ("vocab_size", "line_dim", "line_proj", "emb_dim", "cond_dim", "hidden",
                     "layers"):
            if int(getattr(self, name)) < 1:
                raise SongwrightError(f"Seq2SeqConfig.{name} must be >= 1")
        if not 0.0 <= self.dropout < 1.0:
            raise SongwrightError("Seq2SeqConfig.dropout must be in [0, 1)")


class ChordSeq2Seq(nn.Module):
    """LSTM decoder over a song's flat chord sequence (see the module docstring)."""

    def __init__(self, cfg: Seq2SeqConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.emb_dim)
        self.tmpl_emb = nn.Embedding(cfg.vocab_size, cfg.emb_dim)
        self.line_proj = nn.Linear(cfg.line_dim, cfg.line_proj)
        self.genre_emb = nn.Embedding(len(GENRE_NAMES), cfg.cond_dim)
        self.era_emb = nn.Embedding(len(ERA_NAMES), cfg.cond_dim)
        self.mode_emb = nn.Embedding(len(MODE_NAMES), cfg.cond_dim)
        self.sec_emb = nn.Embedding(len(SECTION_NAMES), cfg.cond_dim)
        self.lis_emb = nn.Embedding(MAX_LINE_INDEX + 1, cfg.cond_dim)
        d_in = 2 * cfg.emb_dim + cfg.line_proj + 5 * cfg.cond_dim
        self.drop = nn.Dropout(cfg.dropout)
        self.lstm = nn.LSTM(d_in, cfg.hidden, cfg.layers, batch_first=True,
                            dropout=cfg.dropout if cfg.layers > 1 else 0.0)
        self.head = nn.Linear(cfg.hidden, cfg.vocab_size)
        self.pos_head = nn.Linear(cfg.hidden, N_POS_BUCKETS)

    def forward(self, batch: dict[str, torch.Tensor],
                state: tuple[torch.Tensor, torch.Tensor] | None = None,
                ) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Logits ``(B, T, V)``, position logits ``(B, T, P)`` and the LSTM state.

        ``batch`` holds ``inputs, templates, sections, line_in_section`` ``(B, T)``,
        ``line_emb`` ``(B, T, D)`` and ``genre, era, mode`` ``(B,)`` (see :func:`data.collate`).
        """
        T = batch["inputs"].shape[1]
        cond = torch.cat([self.genre_emb(batch["genre"]), self.era_emb(batch["era"]),
                          self.mode_emb(batch["mode"])], -1)  # (B, 3C)
        x = torch.cat([
            self.tok_emb(batch["inputs"]),  # (B, T, E)
            self.tmpl_emb(batch["templates"]),  # (B, T, E)
            torch.relu(self.line_proj(batch["line_emb"])),  # (B, T, P)
            cond.unsqueeze(1).expand(-1, T, -1),  # (B, T, 3C)
            self.sec_emb(batch["sections"]),  # (B, T, C)
            self.lis_emb(batch["line_in_section"].clamp(max=MAX_LINE_INDEX)),  # (B, T, C)
        ], dim=-1)
        h, state = self.lstm(self.drop(x), state)  # (B, T, H)
        h = self.drop(h)
        return self.head(h), self.pos_head(h), state


@dataclass
class DecodeOptions:
    """How the stage decodes: ``greedy``, ``sample`` (temperature, top-p) or ``beam``."""

    decoding: str = "sample"
    temperature: float = 0.8
    top_p: float = 0.95
    beam_size: int = 4

    def __post_init__(self) -> None:
        if self.decoding not in DECODINGS:
            raise SongwrightError(f"unknown decoding {self.decoding!r}; choose from {DECODINGS}")
        if self.temperature <= 0 or not 0 < self.top_p <= 1 or self.beam_size < 1:
            raise SongwrightError("temperature must be > 0, top_p in (0, 1], beam_size >= 1")


@dataclass
class Seq2SeqChords:
    """The chords stage backed by :class:`ChordSeq2Seq` (also the RLHF policy's container).

    Attributes:
        model: the decoder. vocab: its chord vocabulary. keys: genre -> key name -> count, for
        songs without a key. name: ``"seq2seq"`` or ``"policy"``. encoder: None for the shared
        default encoder, or a callable ``texts -> (N, D)`` (tests).
    """

    model: ChordSeq2Seq
    vocab: ChordVocab
    keys: dict[str, dict[str, int]] = field(default_factory=dict)
    name: str = "seq2seq"
    options: DecodeOptions = field(default_factory=DecodeOptions)
    metrics: dict[str, Any] = field(default_factory=dict)
    encoder: LineEncoder | None = None

    def choose_key(self, genre: str | None, rng: random.Random) -> Key:
        table = self.keys.get(genre or "", {}) or {
            k: v for t in self.keys.values() for k, v in t.items()} or {"C": 1}
        names = sorted(table)
        return parse_key(rng.choices(names, weights=[table[n] for n in names], k=1)[0])

    def __call__(self, song: Song, *, seed: int = 0, decoding: str | None = None,
                 temperature: float | None = None, top_p: float | None = None,
                 beam_size: int | None = None, line_emb: torch.Tensor | None = None) -> Song:
        """Put chords on every lyric line of ``song``; the same seed gives the same chords.

        Args:
            song: a song with lyric lines (chords, if any, are replaced).
            seed: random seed (sampling and the key when the song has none).
            decoding, temperature, top_p, beam_size: override :attr:`options`.
            line_emb: precomputed encoder vectors of the lyric lines ``(L, D)`` (a caller that
                already encoded them, e.g. the genre stage, passes them to skip the encoder).

        Raises:
            SongwrightError: a song with no lyric lines or too many of them.
        """
        from .decode import beam_decode, rollout

        opts = DecodeOptions(decoding or self.options.decoding,
                             temperature or self.options.temperature,
                             top_p or self.options.top_p, beam_size or self.options.beam_size)
        plan = plan_song(song)
        if song.genre and plan.genre == 0:
            log.warning("unknown genre %r: the chord model decodes without a genre", song.genre)
        rng = random.Random(seed)
        key = parse_key(song.key) if song.key else self.choose_key(
            GENRE_NAMES[plan.genre] if plan.genre else None, rng)
        plan.key = key  # the decoder is conditioned on the key's mode
        if line_emb is None:
            line_emb = embed_lines([t for _, _, t in plan.lines], self.encoder, persist=False)
        if line_emb.shape != (len(plan.lines), self.model.cfg.line_dim):
            raise SongwrightError(f"line vectors of shape {tuple(line_emb.shape)}; the model "
                                  f"expects ({len(plan.lines)}, {self.model.cfg.line_dim})")
        gen = torch.Generator().manual_seed(seed)
        self.model.eval()
        if opts.decoding == "beam":
            lines = beam_decode(self.model, plan, line_emb, self.vocab, opts.beam_size)
        else:
            lines = rollout(self.model, plan, line_emb, self.vocab, k=1,
                            greedy=opts.decoding == "greedy", generator=gen,
                            temperature=opts.temperature, top_p=opts.top_p)[0]
        return self.apply(song, plan, lines, key)

    def apply(self, song: Song, plan, lines: list[list[tuple[int, int]]], key: Key) -> Song:  # noqa: ANN001
        """Write decoded ``(id, bucket)`` pairs per planned line into the song."""
        by_pos = {(si, idx): chords for (si, idx, _), chords in zip(plan.lines, lines)}
        sections = []
        for si, sec in enumerate(song.sections):
            new_lines, idx = [], 0
            for ln in sec.lines:
                if ln.kind != "lyric" or not ln.text.strip():
                    new_lines.append(ln)
                    continue
                chords, last = [], -1
                for tok, bucket in by_pos[(si, idx)]:
                    pos = max(bucket_to_position(bucket, ln.text), last)
                    chords.append(ChordAt(RelChord.from_token(self.vocab.tokens[tok])
                                          .to_chord(key), pos))
                    last = pos
                new_lines.append(Line(ln.text, tuple(chords), ln.notes, ln.kind))
                idx += 1
            sections.append(Section(sec.kind, tuple(new_lines), sec.label, sec.number, sec.env))
        meta = dict(song.meta)
        meta["chord_model"] = self.name
        return song.replace(sections=tuple(sections), key=key.name, meta=meta)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write ``weights.safetensors``, ``config.json``, ``vocab.json``, ``metrics.json``."""
        from safetensors.torch import save_file

        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        save_file({k: v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()},
                  str(p / "weights.safetensors"))
        self.vocab.save(p / "vocab.json")
        cfg = {"format": FORMAT, "version": 1, "name": self.name,
               "model": asdict(self.model.cfg), "decoding": asdict(self.options),
               "keys": self.keys, "vocab_tokens": len(self.vocab)}
        (p / "config.json").write_text(json.dumps(cfg, indent=1, sort_keys=True) + "\n")
        (p / "metrics.json").write_text(json.dumps(self.metrics, indent=1, sort_keys=True) + "\n")
        return p

    @classmethod
    def load(cls, path: str | Path, encoder: LineEncoder | None = None) -> Seq2SeqChords:
        """Load a folder written by :meth:`save`.

        Raises:
            SongwrightError: missing files, another format, or weights whose vocabulary does
                not match ``vocab.json``.
        """
        from safetensors.torch import load_file

        p = Path(path)
        files = [p / n for n in ("config.json", "vocab.json", "weights.safetensors")]
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise SongwrightError(f"{p} is not a chord seq2seq model: missing {missing}")
        try:
            cfg = json.loads(files[0].read_text())
        except json.JSONDecodeError as e:
            raise SongwrightError(f"{files[0]}: invalid JSON: {e}") from e
        if cfg.get("format") != FORMAT:
            raise SongwrightError(f"{p} is not a chord seq2seq model (format {cfg.get('format')!r})")
        vocab = ChordVocab.load(files[1])
        mcfg = Seq2SeqConfig(**cfg["model"])
        state = load_file(str(files[2]))
        rows = state.get("head.weight", torch.zeros(0, 0)).shape[0]
        if len(vocab) != mcfg.vocab_size or rows != mcfg.vocab_size:
            raise SongwrightError(
                f"{p}: vocabulary mismatch: vocab.json has {len(vocab)} tokens, the config says "
                f"{mcfg.vocab_size} and the weights have {rows}; retrain or restore vocab.json")
        model = ChordSeq2Seq(mcfg)
        try:
            model.load_state_dict(state)
        except RuntimeError as e:
            raise SongwrightError(f"{p}: weights do not fit the config: {e}") from e
        model.eval()
        metrics = json.loads((p / "metrics.json").read_text()) if (p / "metrics.json").is_file() \
            else {}
        return cls(model, vocab, cfg.get("keys", {}), cfg.get("name", "seq2seq"),
                   DecodeOptions(**cfg.get("decoding", {})), metrics, encoder)
