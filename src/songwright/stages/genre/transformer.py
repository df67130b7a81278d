"""The transformer genre classifier: encoder vectors + stylistic features -> genre.

The head is a small product of experts: a linear expert on the (standardised) pooled encoder
vectors and a few MLPs on the (standardised) stylistic features (a bag of ``members`` with
different initialisations, averaged in probability); the song's log-probabilities are the
normalised sum of the experts' log-probabilities. Each expert is trained on its own loss
(optionally plus the combined one), so each stays a calibrated classifier and the sum behaves
like an ensemble: on held-out songs this beat one MLP over the concatenated inputs.

Two modes share this head:
- ``frozen``: the encoder never changes, its vectors are computed once (and cached on disk);
- ``finetune``: :class:`FinetuneEncoder` back-propagates into the encoder (all layers or the
  top ``train_layers``), pooling chunks of long lyrics exactly as the frozen encoder does.

:class:`TransformerGenre` is the pipeline stage: ``stage(song, *, seed=0) -> Song``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ...errors import SongwrightError
from ...model import Song
from .encoder import (
    DEFAULT_ALIASES,
    TextEncoder,
    chunk_ids,
    frame_windows,
    layer_view,
    pool_hidden,
    shared_line_encoder,
    special_tokens,
    transformer_blocks,
)
from .features import FEATURE_NAMES, feature_matrix
from .tfidf import classify_song, read_model_config

log = logging.getLogger(__name__)

KIND = "transformer-genre"
FORMAT_VERSION = 1


class GenreHead(nn.Module):
    """Product-of-experts head over encoder vectors ``(B, E)`` and features ``(B, F)``.

    Args:
        emb_dim: width of the encoder vectors (0: no embedding expert).
        feat_dim: number of stylistic features (0: no feature expert).
        n_labels: number of genres.
        hidden: hidden units of the feature MLP (0: a linear feature expert, i.e. logistic
            regression on the standardised features).
        dropout: dropout before each expert's output layer.
        members: number of feature MLPs in the bag.
    """

    def __init__(self, emb_dim: int, feat_dim: int, n_labels: int, hidden: int = 64,
                 dropout: float = 0.2, members: int = 1) -> None:
        super().__init__()
        if emb_dim <= 0 and feat_dim <= 0:
            raise SongwrightError("the genre head needs encoder vectors, features or both")
        self.emb_dim, self.feat_dim, self.n_labels = emb_dim, feat_dim, n_labels
        # Standardisation statistics travel with the weights (set by fit_scalers).
        self.register_buffer("emb_mean", torch.zeros(max(emb_dim, 1)))
        self.register_buffer("emb_std", torch.ones(max(emb_dim, 1)))
        self.register_buffer("feat_mean", torch.zeros(max(feat_dim, 1)))
        self.register_buffer("feat_std", torch.ones(max(feat_dim, 1)))
        self.emb_expert = nn.Sequential(nn.Dropout(dropout), nn.Linear(emb_dim, n_labels)) \
            if emb_dim > 0 else None
        self.feat_experts = nn.ModuleList(
            (nn.Sequential(nn.Linear(feat_dim, hidden), nn.ReLU(), nn.Dropout(dropout),
                           nn.Linear(hidden, n_labels)) if hidden > 0
             else nn.Sequential(nn.Dropout(dropout), nn.Linear(feat_dim, n_labels)))
            for _ in range(members if feat_dim > 0 else 0))

    def fit_scalers(self, emb: torch.Tensor | None, feat: torch.Tensor | None) -> None:
        """Set the standardisation from training inputs ``(N, E)`` / ``(N, F)``."""
        with torch.no_grad():
            if emb is not None and self.emb_dim:
                self.emb_mean.copy_(emb.mean(0))
                self.emb_std.copy_(emb.std(0).clamp(min=1e-6))
            if feat is not None and self.feat_dim:
                self.feat_mean.copy_(feat.mean(0))
                self.feat_std.copy_(feat.std(0).clamp(min=1e-6))

    def l2_penalty(self, emb_l2: float, feat_l2: float) -> torch.Tensor:
        """``emb_l2`` times the squared weights of the encoder expert plus ``feat_l2`` times
        those of the feature experts' output layers (logistic regression's ``1/C``)."""
        total = torch.zeros(())
        if self.emb_expert is not None and emb_l2 > 0:
            total = total + emb_l2 * self.emb_expert[-1].weight.pow(2).sum()
        if feat_l2 > 0:
            total = total + feat_l2 * sum(m[-1].weight.pow(2).sum() for m in self.feat_experts)
        return total

    def forward(self, emb: torch.Tensor | None, feat: torch.Tensor | None
                ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Returns ``(log_probs (B, L), [expert logits (B, L), ...])``."""
        parts, experts = [], []
        if self.emb_expert is not None:
            parts.append(self.emb_expert((emb - self.emb_mean) / self.emb_std))
            experts.append(parts[-1].log_softmax(-1))
        if len(self.feat_experts):
            x = (feat - self.feat_mean) / self.feat_std
            bag = [m(x) for m in self.feat_experts]
            parts.extend(bag)
            mean_p = torch.stack([b.softmax(-1) for b in bag]).mean(0)  # (B, L)
            experts.append(mean_p.clamp(min=1e-12).log())
        combined = torch.stack(experts).sum(0)  # (B, L)
        return combined.log_softmax(-1), parts


def head_loss(log_probs: torch.Tensor, parts: list[torch.Tensor], y: torch.Tensor,
              joint: bool = False) -> torch.Tensor:
    """The sum of each expert's cross-entropy (plus the combined NLL when ``joint``)."""
    loss = sum(nn.functional.cross_entropy(p, y) for p in parts)
    if joint or len(parts) == 1:
        loss = loss + nn.functional.nll_loss(log_probs, y)
    return loss


class FinetuneEncoder(nn.Module):
    """A trainable backbone that pools chunks of each text like :class:`TextEncoder`.

    Args:
        encoder: the :class:`TextEncoder` whose tokenizer, model and settings to use.
        pooling: pooling of token states.
        layers: hidden-state indices to pool and concatenate.
        train_layers: train only the top ``train_layers`` transformer layers (None: all).
    """

    def __init__(self, encoder: TextEncoder, pooling: str, layers: Sequence[int],
                 train_layers: int | None = None) -> None:
        super().__init__()
        self.tokenizer = encoder.tokenizer
        self.backbone = encoder.model
        self.max_length, self.stride = encoder.max_length, encoder.stride
        self.pooling, self.layers = pooling, tuple(layers)
        found = transformer_blocks(self.backbone)
        blocks = getattr(*found) if found else None
        pooler = getattr(self.backbone, "pooler", None)
        if pooler is not None:  # we pool hidden states ourselves; an unused pooler breaks DDP
            pooler.requires_grad_(False)
        if train_layers is not None:
            if blocks is None:
                raise SongwrightError("train_layers needs a BERT-like encoder or a Llama-like "
                                      "decoder")
            for p in self.backbone.parameters():
                p.requires_grad_(False)
            for block in list(blocks)[len(blocks) - train_layers:]:
                for p in block.parameters():
                    p.requires_grad_(True)

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        """Vectors ``(N, D * len(layers))`` with gradients."""
        tok = self.tokenizer
        device = next(self.backbone.parameters()).device
        ids = tok(list(texts), add_special_tokens=False, truncation=False)["input_ids"]
        window = self.max_length - special_tokens(tok, self.backbone)
        chunks = [(i, c) for i, t in enumerate(ids) for c in chunk_ids(t, window, self.stride)]
        input_ids, mask, pool_mask = frame_windows(tok, self.backbone, [c for _, c in chunks])
        out = self.backbone(input_ids=input_ids.to(device), attention_mask=mask.to(device),
                            output_hidden_states=True)
        pool_mask = pool_mask.to(device)
        vecs = torch.cat([pool_hidden(out.hidden_states[x], pool_mask, self.pooling)
                          for x in self.layers], dim=-1)  # (C, W)
        # Token-count-weighted mean of each text's chunks, as in TextEncoder.
        owner = torch.tensor([i for i, _ in chunks], device=device)
        w = torch.tensor([float(max(len(c), 1)) for _, c in chunks], device=device)
        summed = torch.zeros(len(texts), vecs.shape[1], device=device).index_add(
            0, owner, vecs * w.unsqueeze(1))  # (N, W)
        total = torch.zeros(len(texts), device=device).index_add(0, owner, w)  # (N,)
        return summed / total.unsqueeze(1)


def apply_delta(model: nn.Module, path: str | Path) -> None:
    """Load fine-tuned layers (a partial state dict in safetensors) into a base backbone.

    Raises:
        SongwrightError: a tensor the backbone does not have, or of another shape.
    """
    from safetensors.torch import load_file

    delta = load_file(str(path))
    own = model.state_dict()
    bad = [k for k, v in delta.items() if k not in own or own[k].shape != v.shape]
    if bad:
        raise SongwrightError(f"{path} does not fit the backbone (e.g. {bad[0]}): it was "
                              "fine-tuned from another encoder")
    model.load_state_dict(delta, strict=False)


def drop_repeated_stanzas(text: str) -> str:
    """The text with each stanza (block between blank lines) kept once, in first-seen order.

    Songs write their repeated choruses out; an encoder learns nothing new from the second
    and third copy, and a decoder's cost grows with every token (about a third fewer tokens on
    the songbook). Nothing else is removed: this is not a truncation.
    """
    seen: set[str] = set()
    kept = []
    for stanza in re.split(r"\n\s*\n", text):
        key = " ".join(stanza.lower().split())
        if key and key not in seen:
            seen.add(key)
            kept.append(stanza.strip("\n"))
    return "\n\n".join(kept)


def encoder_texts(texts: Sequence[str], drop_repeats: bool) -> list[str]:
    """What the encoder reads: the texts as given, or with repeated stanzas dropped."""
    return [drop_repeated_stanzas(t) for t in texts] if drop_repeats else list(texts)


def check_texts(texts: Sequence[object]) -> list[str]:
    """Reject non-text and empty lyrics with a clear message."""
    out = []
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise SongwrightError(f"lyrics #{i} are {type(t).__name__}, not text")
        if not t.strip():
            raise SongwrightError(f"lyrics #{i} are empty: nothing to classify")
        out.append(t)
    return out


class TransformerGenre:
    """The trained classifier: an encoder, optional features, and a :class:`GenreHead`.

    Args:
        settings: the model config (backbone, pooling, layers, features, ...), as saved.
        labels: the genres, in head order.
        head: the trained head.
        encoder: the encoder (loaded from ``settings`` when None).
    """

    name = "transformer"

    def __init__(self, settings: dict, labels: list[str], head: GenreHead,
                 encoder: TextEncoder | None = None, metrics: dict | None = None) -> None:
        self.settings = dict(settings)
        self.labels = list(labels)
        self.head = head.eval()
        self.metrics = metrics or {}
        self._encoder = encoder

    @property
    def uses_embeddings(self) -> bool:
        return self.head.emb_dim > 0

    @property
    def encoder(self) -> TextEncoder:
        """The encoder for batch classification (layers above the pooled ones dropped)."""
        if self._encoder is None:
            self._encoder = self._new_encoder()
            if self.settings.get("backbone_delta_path"):
                apply_delta(self._encoder.model, self.settings["backbone_delta_path"])
        return self._encoder

    def _new_encoder(self, model: tuple | None = None, device: str | None = None
                     ) -> TextEncoder:
        """An inference encoder on this model's settings (``model``: an already built
        ``(tokenizer, model)``, e.g. a :func:`layer_view`)."""
        s = self.settings
        return TextEncoder(s["backbone_path"], max_length=s["max_length"],
                           num_layers=self.depth(),
                           device=device or s.get("device", "auto"), cache=False,
                           batch_size=s.get("infer_batch_size", 64), model=model)

    def depth(self) -> int:
        """How many encoder layers this model reads."""
        s = self.settings
        return int(s.get("num_layers") or max(s["layers"]) or 1)

    def share_encoder(self, other: TransformerGenre) -> bool:
        """Read through ``other``'s loaded backbone, truncated to this model's depth, instead
        of loading a second copy (:func:`layer_view`: the same weights, the same numbers).

        Possible when both read the same frozen backbone in whole-text windows of the same
        size and this model reads no deeper than ``other``; returns whether it now does.
        """
        a, b = self.settings, other.settings
        same = ("backbone_path", "max_length", "granularity")
        if (not self.uses_embeddings or not other.uses_embeddings
                or any(a.get(k) != b.get(k) for k in same) or a.get("granularity") == "lines"
                or a.get("backbone_delta_path") or b.get("backbone_delta_path")
                or a.get("mode") == "finetune" or self.depth() > other.depth()):
            return False
        enc = other.encoder
        self._encoder = self._new_encoder(
            model=(enc.tokenizer, layer_view(enc.model, self.depth())), device=str(enc.device))
        return True

    @property
    def shares_line_pass(self) -> bool:
        """Whether a song's vectors can come from the shared line pass the chord stage reads
        (line granularity on the default backbone and window)."""
        s = self.settings
        return (self.uses_embeddings and s.get("granularity") == "lines"
                and s.get("backbone") in DEFAULT_ALIASES and s["max_length"] == 256
                and s.get("device", "auto") == "auto")

    def inputs(self, texts: Sequence[str], share_lines: bool = False
               ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """The head's inputs for texts: encoder vectors ``(N, E)`` and features ``(N, F)``.

        ``share_lines``: take the vectors from the shared line pass (the pipeline: the chord
        stage then reuses them) instead of this model's truncated encoder (batch work).
        """
        s = self.settings
        emb = None
        if self.uses_embeddings and s.get("granularity") == "lines":
            if share_lines and self.shares_line_pass:
                emb = shared_line_encoder(persist=False).encode_by_lines(list(texts), s["layers"])
            else:
                emb = self.encoder.encode_by_lines(list(texts), s["layers"], shared=False)
        elif self.uses_embeddings:
            emb = self.encoder.encode_texts(encoder_texts(texts, s.get("drop_repeats", False)),
                                            pooling=s["pooling"], layers=s["layers"])
        feat = torch.from_numpy(feature_matrix(list(texts))) if self.head.feat_dim else None
        return emb, feat

    @torch.no_grad()
    def predict_proba(self, texts: Sequence[str], share_lines: bool = False) -> np.ndarray:
        """Class probabilities, shape ``(n_texts, n_labels)`` (``share_lines``: see
        :meth:`inputs`)."""
        texts = check_texts(texts)
        emb, feat = self.inputs(texts, share_lines)
        log_probs, _ = self.head(emb, feat)
        return log_probs.exp().numpy()

    def forget(self) -> None:
        """Drop the vectors this model's encoder keeps in memory (benchmarks time encoding,
        not the store); the shared line pass is the chord stage's too and is left alone."""
        if self._encoder is not None:
            self._encoder.forget()

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [self.labels[i] for i in self.predict_proba(texts).argmax(axis=1)]

    def __call__(self, song: Song, *, seed: int = 0) -> Song:
        return classify_song(self, song, self.settings.get("model_name", self.name),
                             lambda texts: self.predict_proba(texts, share_lines=True))

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write ``config.json``, ``labels.json`` and ``model.safetensors`` (head + scalers)."""
        from safetensors.torch import save_file

        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        settings = {k: v for k, v in self.settings.items() if k != "backbone_delta_path"}
        cfg = {"kind": KIND, "format_version": FORMAT_VERSION, **settings,
               "emb_dim": self.head.emb_dim, "feat_dim": self.head.feat_dim,
               "feature_names": list(FEATURE_NAMES) if self.head.feat_dim else []}
        (p / "config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True))
        (p / "labels.json").write_text(json.dumps(
            {"labels": self.labels, "label2id": {lab: i for i, lab in enumerate(self.labels)}},
            indent=2))
        state = {k: v.detach().cpu().contiguous() for k, v in self.head.state_dict().items()}
        save_file(state, str(p / "model.safetensors"))
        return p

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> TransformerGenre:
        """Load a saved model; a fine-tuned backbone is read from ``path/backbone``."""
        from safetensors.torch import load_file

        p = Path(path)
        cfg = read_model_config(p, KIND, "a transformer")
        if cfg.get("feat_dim") and cfg.get("feature_names") != list(FEATURE_NAMES):
            raise SongwrightError(f"{p} was trained with other stylistic features; retrain it")
        labels = json.loads((p / "labels.json").read_text())["labels"]
        head = GenreHead(cfg["emb_dim"], cfg["feat_dim"], len(labels), cfg.get("hidden", 64),
                         cfg.get("dropout", 0.2), cfg.get("members", 1))
        head.load_state_dict(load_file(str(p / "model.safetensors")))
        if (p / "backbone").is_dir():
            cfg["backbone_path"] = str(p / "backbone")
        if cfg.get("backbone_delta"):
            delta = p / cfg["backbone_delta"]
            if not delta.is_file():
                raise SongwrightError(f"{p}: fine-tuned layers {delta.name} are missing")
            cfg["backbone_delta_path"] = str(delta)
        cfg["device"] = device
        metrics = json.loads((p / "metrics.json").read_text()) if (p / "metrics.json").is_file() \
            else {}
        return cls(cfg, labels, head, metrics=metrics)
