from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def data_root():
    """The shared corpora folder; tests that need it skip cleanly without it."""
    from songwright.paths import data_root as find

    root = find()
    if root is None:
        pytest.skip("shared corpora not available (set SONGWRIGHT_DATA)")
    return root
