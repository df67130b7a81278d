"""Train and evaluate the transformer genre classifier: ``train_genre(cfg) -> run dir``.

Runs unchanged on one CPU, a GPU, or several processes under ``accelerate launch``. The best
state is chosen by validation macro-F1 (early stopping on it); the run directory holds
``model.safetensors``, ``config.json``, ``labels.json``, ``metrics.json``, ``history.jsonl``,
``validation_predictions.json`` (the selection run's log-probabilities on the validation songs),
``confusion_matrix.png`` and ``training_curve.png`` (plus ``backbone/`` when fine-tuned).
"""

from __future__ import annotations

import copy
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ...errors import SongwrightError
from ...model import Song
from .encoder import (
    DEFAULT_ALIASES,
    OFFLINE_ALIASES,
    TextEncoder,
    resolve_backbone,
    shared_line_encoder,
)
from .features import feature_matrix
from .protocol import heldout_groups, heldout_split
from .tfidf import evaluate_genre_model, read_model_config, song_text
from .transformer import (
    FinetuneEncoder,
    GenreHead,
    TransformerGenre,
    check_texts,
    encoder_texts,
    head_loss,
)

log = logging.getLogger(__name__)

MODES = ("frozen", "finetune")


@dataclass
class GenreTrainConfig:
    """Everything a genre run needs; validates itself and names the flag in errors."""

    out: Path = Path("runs/genre")
    data: Path | None = None  # None: the songbook under the data root
    backbone: str = "default"
    mode: str = "frozen"
    pooling: str = "mean"
    layers: tuple[int, ...] = (2,)
    # "text": the lyrics encoded whole (in windows); "lines": each line encoded alone and the
    # line vectors pooled -- the shared line pass the chord stage reads too (frozen mode only)
    granularity: str = "text"
    num_layers: int | None = None  # None: the highest layer used (drops the layers above)
    max_length: int = 256
    use_embeddings: bool = True
    use_features: bool = True
    hidden: int = 64  # feature MLP width; 0: a linear feature expert
    dropout: float = 0.2
    members: int = 3  # feature MLPs in the bag
    joint_loss: bool = False  # also train on the combined prediction
    emb_l2: float = 0.3  # L2 on the linear encoder expert (like logistic regression's 1/C)
    feat_l2: float = 0.0  # L2 on the feature experts' output layers
    lr: float = 3e-3
    encoder_lr: float = 3e-5  # finetune mode: learning rate of the encoder
    weight_decay: float = 0.01
    batch_size: int = 32
    epochs: int = 300
    patience: int = 40
    train_layers: int | None = None  # finetune: only the top N encoder layers (None: all)
    holdout_fraction: float = 0.22
    # which sub-genres are held out (protocol.heldout_split; 0: the shipped models' split)
    holdout_draw: int = 0
    seed: int = 0
    device: str = "auto"
    cache: bool = True
    # the encoder reads each distinct stanza once (written-out repeated choruses dropped);
    # the stylistic features still see the whole text
    drop_repeats: bool = False
    # after choosing the epoch on validation, retrain on train + validation for that many
    # epochs and keep that model (frozen mode)
    refit: bool = False
    model_name: str = "transformer"
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.out = Path(self.out)
        self.layers = tuple(int(x) for x in self.layers)
        checks = [
            (self.mode in MODES, f"--mode must be one of {', '.join(MODES)}, got {self.mode!r}"),
            (self.granularity in ("text", "lines"),
             f"--granularity must be text or lines, got {self.granularity!r}"),
            (self.granularity == "text" or (self.mode == "frozen" and self.pooling == "mean"),
             "--granularity lines needs --mode frozen and --pooling mean (the shared line pass)"),
            (not (self.refit and self.mode == "finetune"),
             "--refit retrains the head on cached vectors: it needs --mode frozen"),
            (not (self.drop_repeats and self.granularity == "lines"),
             "--drop-repeats is for whole-text encoding (--granularity text)"),
            (self.use_embeddings or self.use_features,
             "--no-embeddings and --no-features together leave nothing to learn from"),
            (self.lr > 0, f"--lr must be > 0, got {self.lr}"),
            (self.encoder_lr > 0, f"--encoder-lr must be > 0, got {self.encoder_lr}"),
            (self.batch_size >= 1, f"--batch-size must be >= 1, got {self.batch_size}"),
            (self.epochs >= 1, f"--epochs must be >= 1, got {self.epochs}"),
            (self.members >= 1, f"--members must be >= 1, got {self.members}"),
            (self.emb_l2 >= 0, f"--emb-l2 must be >= 0, got {self.emb_l2}"),
            (self.feat_l2 >= 0, f"--feat-l2 must be >= 0, got {self.feat_l2}"),
            (self.hidden >= 0, f"--hidden must be >= 0, got {self.hidden}"),
            (self.patience >= 1, f"--patience must be >= 1, got {self.patience}"),
            (0.0 <= self.dropout < 1.0, f"--dropout must be in [0, 1), got {self.dropout}"),
            (self.max_length >= 8, f"--max-length must be >= 8, got {self.max_length}"),
            (bool(self.layers) and all(x >= 0 for x in self.layers),
             f"--layers must be hidden-state indices >= 0, got {self.layers}"),
            (0.0 <= self.holdout_fraction < 1.0,
             f"--holdout-fraction must be in [0, 1), got {self.holdout_fraction}"),
            (isinstance(self.holdout_draw, int) and self.holdout_draw >= 0,
             f"--holdout-draw must be an integer >= 0, got {self.holdout_draw!r}"),
        ]
        for ok, msg in checks:
            if not ok:
                raise SongwrightError(msg)
        if self.num_layers is None and self.granularity == "text":
            self.num_layers = max(self.layers) or 1  # lines: the whole encoder (shared pass)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["out"] = str(self.out)
        d["data"] = str(self.data) if self.data else None
        d["layers"] = list(self.layers)
        return d


def load_training_songs(data: Path | None) -> list[Song]:
    """Songs for training: the songbook by default, else a ChordPro folder, dataset or CSV."""
    if data is None:
        from ...data.corpus import load_songbook
        from ...paths import require_data_root

        songs, _ = load_songbook(require_data_root())
        return songs
    from .evaluate import load_eval_songs

    return load_eval_songs(Path(data))


def _song_key(song: Song) -> str:
    """A song's identity in saved predictions: its corpus id, else artist and title."""
    return str(song.meta.get("id") or f"{song.artist}|{song.title}")


def _macro_f1(y: np.ndarray, pred: np.ndarray, n_labels: int) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y, pred, labels=list(range(n_labels)), average="macro", zero_division=0))


def train_genre(cfg: GenreTrainConfig, songs: list[Song] | None = None,
                encoder: TextEncoder | None = None) -> Path:
    """Train a genre classifier and write its run directory.

    The epoch (and so the early stop) is chosen by validation macro-F1 on a model trained on
    ``train``; with ``cfg.refit`` a fresh model is then trained from the same initialisation on
    ``train`` + ``validation`` for that many epochs (frozen mode), and that model is saved.

    Args:
        cfg: the run's configuration.
        songs: labelled songs (default: loaded from ``cfg.data``); split by
            :func:`protocol.heldout_split`.
        encoder: a ready encoder (tests pass tiny random BERTs); default from ``cfg.backbone``.

    Returns:
        The run directory (``cfg.out``).
    """
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs, set_seed

    # Fine-tuning may leave parameters without gradients (layers above the pooled ones).
    ddp = DistributedDataParallelKwargs(find_unused_parameters=cfg.mode == "finetune")
    acc = Accelerator(cpu=cfg.device == "cpu", kwargs_handlers=[ddp])
    set_seed(cfg.seed)
    songs = load_training_songs(cfg.data) if songs is None else songs
    splits = heldout_split(songs, cfg.holdout_fraction, draw=cfg.holdout_draw)
    train, val = splits["train"], splits["validation"] or splits["test"]
    labels = sorted({s.genre for s in train})
    if len(labels) < 2:
        raise SongwrightError("training a genre model needs songs of at least two genres")
    if not val:
        raise SongwrightError("no validation songs: give more songs or artists")
    lab2id = {lab: i for i, lab in enumerate(labels)}
    val = [s for s in val if s.genre in lab2id]
    texts = {k: check_texts([song_text(s) for s in v]) for k, v in (("train", train), ("val", val))}
    y = {k: torch.tensor([lab2id[s.genre] for s in v]) for k, v in (("train", train), ("val", val))}
    shared = encoder is None and cfg.use_embeddings and cfg.granularity == "lines" and \
        cfg.backbone in DEFAULT_ALIASES and cfg.max_length == 256 and cfg.device == "auto"
    if shared:
        encoder = shared_line_encoder(persist=cfg.cache)  # the chord stage's cache too
    if encoder is None and cfg.use_embeddings:
        encoder = TextEncoder(cfg.backbone, max_length=cfg.max_length,
                              num_layers=cfg.num_layers or max(cfg.layers) or 1,
                              device=cfg.device, cache=cfg.cache and cfg.mode == "frozen")
    feats = {k: torch.from_numpy(feature_matrix(t)) if cfg.use_features else None
             for k, t in texts.items()}
    # what the encoder reads (the features always see the whole text, repeats included)
    enc_texts = {k: encoder_texts(t, cfg.drop_repeats) for k, t in texts.items()}

    emb: dict[str, torch.Tensor | None] = {"train": None, "val": None}
    t0 = time.perf_counter()
    if cfg.use_embeddings and cfg.mode == "frozen":
        # Rank 0 encodes and fills the disk cache; the other ranks then read it.
        with acc.main_process_first():
            if cfg.granularity == "lines":
                emb = {k: encoder.encode_by_lines(t, cfg.layers, shared=shared,
                                                  progress=acc.is_main_process)
                       for k, t in enc_texts.items()}
            else:
                emb = {k: encoder.encode_texts(t, cfg.pooling, cfg.layers,
                                               progress=acc.is_main_process)
                       for k, t in enc_texts.items()}
    encode_s = time.perf_counter() - t0
    if cfg.mode == "finetune" and not cfg.use_embeddings:
        raise SongwrightError("--mode finetune needs the encoder (drop --no-embeddings)")
    data = {"emb": emb, "feats": feats, "texts": enc_texts, "y": y}
    fit = _Fit(cfg, acc, encoder, len(labels), data)
    inner, history, best, epoch_times = fit.run("train", val_split="val")
    # the selection run's own validation predictions (with --refit the saved head has seen
    # these songs): what an early-exit threshold or an ensemble is chosen on
    val_log_probs = fit.log_probs(inner, "val")
    val_predictions = {"labels": labels, "songs": [_song_key(s) for s in val],
                       "genres": [s.genre for s in val],
                       "log_probs": np.round(val_log_probs.cpu().numpy(), 5).tolist()}
    refit_epochs = None
    if cfg.refit:
        # the chosen number of epochs, now on train + validation, from the same initialisation
        refit_epochs = best["epoch"] + 1
        for key in ("emb", "feats", "y"):
            parts = [data[key][k] for k in ("train", "val")]
            data[key]["all"] = None if parts[0] is None else torch.cat(parts)
        data["texts"]["all"] = data["texts"]["train"] + data["texts"]["val"]
        inner, _, _, _ = fit.run("all", epochs=refit_epochs)
        log.info("refit on train + validation (%d songs) for %d epochs",
                 len(data["texts"]["all"]), refit_epochs)
    acc.wait_for_everyone()
    if acc.is_main_process:
        _write_run(cfg, inner, encoder, labels, splits, history, best,
                   {"encode_s": encode_s, "epoch_s": float(np.median(epoch_times)),
                    "epochs_run": len(history), "processes": acc.num_processes,
                    "refit_epochs": refit_epochs})
        (cfg.out / VAL_PREDICTIONS).write_text(json.dumps(val_predictions))
    acc.wait_for_everyone()
    return cfg.out


class _Fit:
    """One training run of the head (and, fine-tuning, the encoder) on prepared inputs.

    ``data`` holds per split name: ``emb`` (vectors or None), ``feats``, ``texts`` (what the
    encoder reads) and ``y``. Every :meth:`run` starts from the same seeded initialisation.
    """

    def __init__(self, cfg: GenreTrainConfig, acc, encoder: TextEncoder | None,  # noqa: ANN001
                 n_labels: int, data: dict) -> None:
        self.cfg, self.acc, self.encoder, self.n_labels, self.data = cfg, acc, encoder, \
            n_labels, data

    def _build(self, split: str) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
        from accelerate.utils import set_seed

        cfg, d = self.cfg, self.data
        set_seed(cfg.seed)
        emb_dim = 0
        if cfg.use_embeddings:
            emb_dim = (2 if cfg.pooling == "meanmax" else 1) * self.encoder.hidden_size * \
                len(cfg.layers)
        head = GenreHead(emb_dim, d["feats"][split].shape[1] if cfg.use_features else 0,
                         self.n_labels, cfg.hidden, cfg.dropout, cfg.members)
        ft: FinetuneEncoder | None = None
        if cfg.mode == "frozen":
            head.fit_scalers(d["emb"][split], d["feats"][split])
        else:
            ft = FinetuneEncoder(self.encoder, cfg.pooling, cfg.layers, cfg.train_layers)
            with torch.no_grad():
                head.fit_scalers(ft(d["texts"][split][:64]), d["feats"][split])
        net = _Net(head, ft)
        groups = [{"params": list(head.parameters()), "lr": cfg.lr}]
        if ft is not None:  # a pretrained encoder wants a far smaller step than a fresh head
            groups.append({"params": [p for p in ft.parameters() if p.requires_grad],
                           "lr": cfg.encoder_lr})
        return net, torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)

    def _forward(self, model: torch.nn.Module, split: str, idx: torch.Tensor):  # noqa: ANN202
        d = self.data
        e = d["emb"][split][idx] if d["emb"][split] is not None else None
        f = d["feats"][split][idx] if self.cfg.use_features else None
        t = [d["texts"][split][i] for i in idx] if self.cfg.mode == "finetune" else None
        return model(e, f, t)

    @torch.no_grad()
    def log_probs(self, model: torch.nn.Module, split: str) -> torch.Tensor:
        """``model``'s log-probabilities on every song of ``split``, ``(N, L)``."""
        model.eval()
        return self._forward(model, split, torch.arange(len(self.data["y"][split])))[0]

    def run(self, split: str, val_split: str | None = None, epochs: int | None = None
            ) -> tuple[torch.nn.Module, list[dict], dict, list[float]]:
        """Train on ``split``; with ``val_split`` keep the best epoch by its macro-F1 and stop
        after ``cfg.patience`` epochs without improvement, else train ``epochs`` epochs.

        Returns:
            ``(model, history, best, epoch_times)``; the model holds the kept state.
        """
        cfg, acc, d = self.cfg, self.acc, self.data
        net, opt = self._build(split)
        loader = torch.utils.data.DataLoader(torch.arange(len(d["y"][split])),
                                             batch_size=cfg.batch_size, shuffle=True,
                                             generator=torch.Generator().manual_seed(cfg.seed))
        net, opt, loader = acc.prepare(net, opt, loader)
        inner = acc.unwrap_model(net)
        # A head on cached vectors is tiny ops: one thread is ~100x faster than two fighting
        # over a busy 2-core CPU (measured: 0.02 s against 2.3 s an epoch).
        threads = torch.get_num_threads()
        if cfg.mode == "frozen" and acc.device.type == "cpu":
            torch.set_num_threads(1)
        history: list[dict] = []
        best: dict = {"macro_f1": -1.0, "epoch": -1, "state": None}
        epoch_times: list[float] = []
        for epoch in range(epochs or cfg.epochs):
            net.train()
            te = time.perf_counter()
            losses = []
            for idx in loader:
                idx = idx.cpu()
                log_probs, parts = self._forward(net, split, idx)
                loss = head_loss(log_probs, parts, d["y"][split][idx].to(log_probs.device),
                                 cfg.joint_loss)
                loss = loss + inner.head.l2_penalty(cfg.emb_l2, cfg.feat_l2)
                opt.zero_grad()
                acc.backward(loss)
                opt.step()
                losses.append(float(loss.detach()))
            epoch_times.append(time.perf_counter() - te)
            if val_split is None:
                continue
            net.eval()
            yv = d["y"][val_split]
            log_probs = self.log_probs(inner, val_split)
            val_loss = float(torch.nn.functional.nll_loss(log_probs.cpu(), yv))
            pred = log_probs.argmax(-1).cpu().numpy()
            f1 = _macro_f1(yv.numpy(), pred, self.n_labels)
            acc_v = float((pred == yv.numpy()).mean())
            history.append({"epoch": epoch, "train_loss": float(np.mean(losses)),
                            "val_loss": val_loss, "val_accuracy": acc_v, "val_macro_f1": f1})
            (log.info if cfg.mode == "finetune" else log.debug)(
                "epoch %d: train loss %.4f, validation loss %.4f, macro-F1 %.3f", epoch,
                history[-1]["train_loss"], val_loss, f1)
            if f1 > best["macro_f1"]:
                best = {"macro_f1": f1, "epoch": epoch, "val_loss": val_loss,
                        "val_accuracy": acc_v, "state": copy.deepcopy(inner.state_dict())}
            elif epoch - best["epoch"] >= cfg.patience:
                log.info("early stop at epoch %d (best %d, macro-F1 %.3f)", epoch,
                         best["epoch"], best["macro_f1"])
                break
        torch.set_num_threads(threads)
        if best["state"] is not None:
            inner.load_state_dict(best["state"])
        return inner, history, best, epoch_times


class _Net(torch.nn.Module):
    """Head plus (fine-tune mode) encoder, one module so DDP sees every forward."""

    def __init__(self, head: GenreHead, encoder: FinetuneEncoder | None) -> None:
        super().__init__()
        self.head = head
        self.encoder = encoder

    def forward(self, emb: torch.Tensor | None, feat: torch.Tensor | None,
                texts: list[str] | None = None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        if self.encoder is not None:
            emb = self.encoder(texts)  # (B, E)
        return self.head(emb, feat)


DELTA_FILE = "backbone_delta.safetensors"  # fine-tuned top layers only (--train-layers)
VAL_PREDICTIONS = "validation_predictions.json"  # the selection run's, on validation songs
# a run folder's small files (a fine-tuned run also has backbone/ or its DELTA_FILE)
RUN_FILES = ("model.safetensors", "config.json", "labels.json", "metrics.json", "history.jsonl",
             VAL_PREDICTIONS, "confusion_matrix.png", "training_curve.png")


def copy_run(run: Path, dest: Path) -> None:
    """Copy a trained run folder's model files (not its caches) into ``dest``."""
    import shutil

    cfg = read_model_config(run)
    dest.mkdir(parents=True, exist_ok=True)
    for name in RUN_FILES:
        if (run / name).is_file():
            shutil.copy2(run / name, dest / name)
    if (run / "backbone").is_dir():
        shutil.copytree(run / "backbone", dest / "backbone", dirs_exist_ok=True)
    if cfg.get("backbone_delta"):
        shutil.copy2(run / cfg["backbone_delta"], dest / cfg["backbone_delta"])


def _write_run(cfg: GenreTrainConfig, inner: _Net, encoder: TextEncoder | None,
               labels: list[str], splits: dict[str, list[Song]], history: list[dict],
               best: dict, timing: dict) -> None:
    from .plots import plot_confusion, plot_history

    out = cfg.out
    out.mkdir(parents=True, exist_ok=True)
    # Aliases ("default", "smollm2") stay aliases so a shipped model finds its backbone on any
    # machine.
    path = cfg.backbone if cfg.backbone in OFFLINE_ALIASES else resolve_backbone(cfg.backbone)
    settings = {**cfg.to_dict(), "backbone_path": path if cfg.use_embeddings else None}
    if inner.encoder is not None and cfg.train_layers is not None:
        # only the trained top layers: the rest is the (frozen) backbone the run started from
        from safetensors.torch import save_file

        trained = {n: p.detach().cpu().contiguous()
                   for n, p in inner.encoder.backbone.named_parameters() if p.requires_grad}
        save_file(trained, str(out / DELTA_FILE))
        settings["backbone_delta"] = DELTA_FILE
    elif inner.encoder is not None:
        inner.encoder.backbone.save_pretrained(out / "backbone")
        inner.encoder.tokenizer.save_pretrained(out / "backbone")
        settings["backbone_path"] = str(out / "backbone")
    model = TransformerGenre(settings, labels, inner.head.cpu(),
                             encoder=encoder if cfg.mode == "frozen" else None)
    model.save(out)
    if inner.encoder is not None:  # reload so evaluation sees exactly what was saved
        model = TransformerGenre.load(out, device=cfg.device)
    # with --refit, the validation numbers are the selection run's (the saved model has seen
    # the validation songs)
    metrics: dict = {"best_epoch": best["epoch"], "validation": {
        "macro_f1": best["macro_f1"], "accuracy": best["val_accuracy"], "loss": best["val_loss"]},
        "refit_on_validation": cfg.refit,
        "timing": timing, "split_sizes": {k: len(v) for k, v in splits.items()}}
    for name, group in heldout_groups(splits).items():
        group = [s for s in group if s.genre in labels]
        if len({s.genre for s in group}) >= 2:
            metrics[name] = evaluate_genre(model, group)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    with (out / "history.jsonl").open("w") as fh:
        for row in history:
            fh.write(json.dumps(row) + "\n")
    plot_history(history, out / "training_curve.png")
    shown = metrics.get("test") or evaluate_genre(model, splits["validation"])
    plot_confusion(np.array(shown["confusion_matrix"]), labels, out / "confusion_matrix.png",
                   title=f"held-out test, macro-F1 {shown['macro_f1']:.3f}")
    log.info("wrote %s", out)


def evaluate_genre(run_dir_or_model: str | Path | object, songs: list[Song]) -> dict:
    """Accuracy, macro-F1, per-genre F1, confusion matrix and n of a model on labelled songs.

    Args:
        run_dir_or_model: a run directory, a name for :func:`load.load_genre_model`, or a model.
        songs: songs with ``genre`` set.

    Raises:
        SongwrightError: empty lyrics, labels the model does not know, or a single class.
    """
    from .load import load_genre_model

    model = load_genre_model(run_dir_or_model) if isinstance(run_dir_or_model, (str, Path)) \
        else run_dir_or_model
    labelled = [s for s in songs if s.genre]
    if not labelled:
        raise SongwrightError("no labelled songs to evaluate on (songs need a genre)")
    empty = [s.title or f"#{i}" for i, s in enumerate(labelled) if not s.lyrics.strip()]
    if empty:
        raise SongwrightError(f"{len(empty)} evaluation songs have no lyrics, e.g. {empty[:3]}")
    return evaluate_genre_model(model, labelled)  # type: ignore[arg-type]
