"""One place that turns a genre model name or folder into a stage object."""

from __future__ import annotations

import logging
from pathlib import Path

from ...errors import SongwrightError
from ...paths import ASSETS_DIR

log = logging.getLogger(__name__)

# the default: SmolLM2 with an early exit (early/: 2 layers, full/: 12 layers), the more
# accurate on held-out songs
SMOLLM2_DIR = ASSETS_DIR / "genre-smollm2"
MINILM_DIR = ASSETS_DIR / "genre-minilm"  # the fast one (shares the chord stage's line pass)
DEFAULT_DIR = SMOLLM2_DIR
TFIDF_DIR = ASSETS_DIR / "genre-tfidf"
NAMES = {"default": DEFAULT_DIR, "smollm2": SMOLLM2_DIR, "smollm2-full": SMOLLM2_DIR / "full",
         "smollm2-early": SMOLLM2_DIR / "early", "minilm": MINILM_DIR, "fast": MINILM_DIR,
         "transformer": DEFAULT_DIR, "tfidf": TFIDF_DIR}


def load_genre_model(name_or_path: str | Path, device: str = "auto"):  # noqa: ANN201
    """A genre stage (``stage(song, *, seed=0) -> Song``, ``.labels``, ``.predict_proba``).

    Args:
        name_or_path: ``"default"``/``"smollm2"`` (the shipped SmolLM2 + stylistic model,
            with an early exit at layer 2), ``"smollm2-full"`` / ``"smollm2-early"`` (its
            12-layer or 2-layer member alone),
            ``"minilm"``/``"fast"`` (the shipped MiniLM + stylistic model: faster, less
            accurate on held-out songs), ``"tfidf"`` (the TF-IDF baseline) or a saved
            model/run folder of any of these kinds.
        device: for transformer models: ``"auto"``, ``"cpu"``, ``"cuda"``.

    Raises:
        SongwrightError: unknown name, missing folder or unknown model kind.
    """
    from . import early_exit
    from .tfidf import TfidfGenre, read_model_config
    from .transformer import KIND, TransformerGenre

    key = str(name_or_path)
    path = model_path(key)
    if not path.is_dir():
        hint = (" (the shipped model is missing; rebuild it with "
                "`python scripts/build_genre_default.py`)" if key in NAMES else "")
        raise SongwrightError(f"unknown genre model {key!r}: not one of "
                              f"{', '.join(sorted(NAMES))} nor a model folder{hint}")
    kind = read_model_config(path).get("kind")
    if kind == "tfidf-logreg":
        return TfidfGenre.load(path)
    if kind == KIND:
        return TransformerGenre.load(path, device=device)
    if kind == early_exit.KIND:
        return early_exit.EarlyExitGenre.load(path, device=device)
    raise SongwrightError(f"{path}: unknown genre model kind {kind!r}")


def model_path(name_or_path: str | Path) -> Path:
    """The folder of a shipped model name (:data:`NAMES`), else the path itself."""
    return NAMES.get(str(name_or_path), Path(name_or_path))


def trained_draw(name_or_path: str | Path) -> int | None:
    """The held-out draw a transformer or early-exit genre model was trained on (see
    :mod:`protocol`; the shipped ones: 0), None for other kinds or when unknown."""
    from . import early_exit
    from .tfidf import read_model_config
    from .transformer import KIND

    path = model_path(name_or_path)
    try:
        cfg = read_model_config(path)
        if cfg.get("kind") == early_exit.KIND:
            cfg = read_model_config(path / early_exit.MEMBERS[1])
    except (SongwrightError, ValueError):
        return None
    return int(cfg.get("holdout_draw", 0)) if cfg.get("kind") == KIND else None


def genre_adherence(lyrics: str, genre: str, model: object | str = "default") -> float:
    """The probability the genre model gives ``genre`` for ``lyrics`` (0..1).

    For the lyrics evaluation: how much written lyrics read like the genre asked for.

    Raises:
        SongwrightError: empty lyrics, or a genre the model does not know.
    """
    m = load_genre_model(model) if isinstance(model, (str, Path)) else model
    if genre not in m.labels:
        raise SongwrightError(f"genre {genre!r} unknown to the genre model "
                              f"(knows {', '.join(m.labels)})")
    if not isinstance(lyrics, str) or not lyrics.strip():
        raise SongwrightError("cannot measure genre adherence of empty lyrics")
    return float(m.predict_proba([lyrics])[0][m.labels.index(genre)])
