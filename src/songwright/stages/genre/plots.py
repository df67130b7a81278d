"""PNG plots of a genre run: confusion matrix and training curves (matplotlib, Agg backend)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


def plot_confusion(cm: np.ndarray, labels: list[str], path: Path, title: str = "") -> Path:
    """Write a confusion matrix (rows: true genre, columns: predicted) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.8, 4.2), dpi=100)
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center",
                    color="white" if cm[i, j] > cm.max() / 2 else "black")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_history(history: list[dict], path: Path) -> Path:
    """Write train/validation loss and validation macro-F1 per epoch as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = [h["epoch"] for h in history]
    fig, (a, b) = plt.subplots(1, 2, figsize=(8, 3.2), dpi=100)
    a.plot(ep, [h["train_loss"] for h in history], label="train loss")
    a.plot(ep, [h["val_loss"] for h in history], label="validation loss")
    a.set_xlabel("epoch")
    a.legend()
    b.plot(ep, [h["val_macro_f1"] for h in history], label="validation macro-F1")
    b.plot(ep, [h["val_accuracy"] for h in history], label="validation accuracy")
    b.set_xlabel("epoch")
    b.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
