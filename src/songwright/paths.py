"""Where songwright finds corpora, shipped assets and its cache."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
ASSETS_DIR = PACKAGE_DIR / "assets"


def data_root() -> Path | None:
    """The corpora folder: ``$SONGWRIGHT_DATA``, else ``../shared/data`` beside the checkout.

    Returns None when neither exists (a user's fresh machine has no corpora).
    """
    env = os.environ.get("SONGWRIGHT_DATA")
    if env:
        p = Path(env).expanduser()
        return p if p.is_dir() else None
    # src/songwright -> src -> repo root -> ../shared/data
    candidates = [PACKAGE_DIR.parents[1] / ".." / "shared" / "data",
                  Path.cwd() / ".." / "shared" / "data"]
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    return None


def require_data_root() -> Path:
    from .errors import SongwrightError

    root = data_root()
    if root is None:
        raise SongwrightError(
            "no corpora found: set SONGWRIGHT_DATA to the folder holding songbook/, billboard/, ...")
    return root


def cache_dir() -> Path:
    """``$SONGWRIGHT_CACHE`` or ``~/.cache/songwright`` (created on demand)."""
    p = Path(os.environ.get("SONGWRIGHT_CACHE", Path.home() / ".cache" / "songwright"))
    p.mkdir(parents=True, exist_ok=True)
    return p
