"""Baseline genre classifier: TF-IDF over words and word pairs + logistic regression.

Kept as the named baseline that the transformer classifier is compared against. Trained with
scikit-learn; persisted without pickle: ``config.json`` (vocabulary, labels, settings) and
``weights.safetensors`` (idf, coefficients, intercepts), so a saved model is plain data.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from ...errors import SongwrightError
from ...model import Song

log = logging.getLogger(__name__)

FORMAT_VERSION = 1


def song_text(song: Song) -> str:
    """The text a genre model reads: the lyrics (title included: it carries diction too)."""
    return f"{song.title}\n{song.lyrics}".strip()


class TfidfGenre:
    """TF-IDF + logistic regression. ``name = "tfidf"``.

    Call it on a song to fill ``genre_probs`` (and ``genre`` when the song has none).
    """

    name = "tfidf"

    def __init__(self, vocabulary: dict[str, int], idf: np.ndarray, coef: np.ndarray,
                 intercept: np.ndarray, labels: list[str], ngram_range: tuple[int, int] = (1, 2),
                 sublinear_tf: bool = True, metrics: dict | None = None) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.labels = list(labels)
        # sklearn may hand back Fortran-ordered arrays; safetensors writes raw C-order bytes.
        self.coef = np.ascontiguousarray(coef, dtype=np.float32)
        self.intercept = np.ascontiguousarray(intercept, dtype=np.float32)
        self.metrics = metrics or {}
        self._vec = TfidfVectorizer(vocabulary=vocabulary, ngram_range=ngram_range,
                                    sublinear_tf=sublinear_tf, lowercase=True)
        self._vec.idf_ = idf.astype(np.float64)
        self.ngram_range = ngram_range
        self.sublinear_tf = sublinear_tf

    # ------------------------------------------------------------------ training
    @classmethod
    def train(cls, songs: list[Song], C: float = 10.0, max_features: int = 30000,
              min_df: int = 2, seed: int = 0) -> TfidfGenre:
        """Fit on songs with ``genre`` set."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        labelled = [s for s in songs if s.genre]
        if len({s.genre for s in labelled}) < 2:
            raise SongwrightError("training a genre model needs songs of at least two genres")
        texts = [song_text(s) for s in labelled]
        y = [s.genre for s in labelled]
        vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=min_df,
                              max_features=max_features, lowercase=True)
        x = vec.fit_transform(texts)
        clf = LogisticRegression(C=C, max_iter=2000, random_state=seed)
        clf.fit(x, y)
        labels = [str(c) for c in clf.classes_]
        coef = clf.coef_
        intercept = clf.intercept_
        if len(labels) == 2:  # sklearn stores one row for binary problems
            coef = np.vstack([-coef[0], coef[0]])
            intercept = np.array([-intercept[0], intercept[0]])
        vocab = {t: int(i) for t, i in vec.vocabulary_.items()}
        return cls(vocab, vec.idf_, coef, intercept, labels)

    # ------------------------------------------------------------------ inference
    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Class probabilities, shape (n_texts, n_labels)."""
        x = self._vec.transform(texts)
        logits = x @ self.coef.T + self.intercept  # (N, L)
        logits = np.asarray(logits)
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, texts: list[str]) -> list[str]:
        return [self.labels[i] for i in self.predict_proba(texts).argmax(axis=1)]

    def __call__(self, song: Song, *, seed: int = 0) -> Song:
        return classify_song(self, song, self.name)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        from safetensors.numpy import save_file

        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        config = {"kind": "tfidf-logreg", "format_version": FORMAT_VERSION,
                  "labels": self.labels, "ngram_range": list(self.ngram_range),
                  "sublinear_tf": self.sublinear_tf, "vocabulary": self._vec.vocabulary,
                  "metrics": self.metrics}
        (p / "config.json").write_text(json.dumps(config, ensure_ascii=False, sort_keys=True))
        save_file({"idf": np.ascontiguousarray(self._vec.idf_, dtype=np.float32), "coef": self.coef,
                   "intercept": self.intercept}, str(p / "weights.safetensors"))
        return p

    @classmethod
    def load(cls, path: str | Path) -> TfidfGenre:
        from safetensors.numpy import load_file

        p = Path(path)
        cfg = read_model_config(p, "tfidf-logreg", "a TF-IDF")
        w = load_file(str(p / "weights.safetensors"))
        return cls(cfg["vocabulary"], w["idf"], w["coef"], w["intercept"], cfg["labels"],
                   tuple(cfg["ngram_range"]), cfg["sublinear_tf"], cfg.get("metrics"))


def read_model_config(path: Path, kind: str | None = None, what: str = "") -> dict:
    """A saved genre model's ``config.json``; with ``kind``, check the model is of that kind
    (``what`` names it in the error)."""
    cfg_path = path / "config.json"
    if not cfg_path.is_file():
        raise SongwrightError(f"no genre model at {path} (missing config.json)")
    cfg = json.loads(cfg_path.read_text())
    if kind is not None and cfg.get("kind") != kind:
        raise SongwrightError(f"{path} is not {what} genre model (kind {cfg.get('kind')!r})")
    return cfg


def classify_song(model, song: Song, model_name: str, predict_proba=None) -> Song:  # noqa: ANN001
    """The genre stage's contract for any model with ``labels`` and ``predict_proba``: fill
    ``genre_probs``, fill ``genre`` when the song has none, record the model in ``meta``.
    ``predict_proba`` replaces the model's own (e.g. one that shares the encoder pass)."""
    if not song.lyrics.strip():
        raise SongwrightError("cannot classify the genre of a song with no lyrics")
    probs = (predict_proba or model.predict_proba)([song_text(song)])[0]
    genre_probs = {lab: round(float(p), 6) for lab, p in zip(model.labels, probs)}
    meta = dict(song.meta)
    meta["genre_model"] = model_name
    return song.replace(genre=song.genre or model.labels[int(np.argmax(probs))],
                        genre_probs=genre_probs, meta=meta)


def evaluate_genre_model(model: TfidfGenre, songs: list[Song]) -> dict:
    """Accuracy, macro-F1, per-genre F1 and the confusion matrix on labelled songs."""
    labelled = check_eval_songs(model.labels, songs)
    return genre_scores(model.labels, [s.genre for s in labelled],
                        model.predict([song_text(s) for s in labelled]))


def check_eval_songs(labels: list[str], songs: list[Song]) -> list[Song]:
    """The labelled songs, or a clear error when they cannot give a meaningful score: none,
    a genre the model does not know, or a single genre."""
    labelled = [s for s in songs if s.genre]
    if not labelled:
        raise SongwrightError("no labelled songs to evaluate on")
    unknown = {s.genre for s in labelled} - set(labels)
    if unknown:
        raise SongwrightError(f"evaluation labels not known to the model: {sorted(unknown)}")
    if len({s.genre for s in labelled}) < 2:
        raise SongwrightError("evaluation data has a single genre: macro-F1 would be meaningless")
    return labelled


def genre_scores(labels: list[str], y: list[str], pred: list[str]) -> dict:
    """Accuracy, macro-F1, per-genre F1 and the confusion matrix of predictions."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    per = f1_score(y, pred, labels=labels, average=None, zero_division=0)
    return {"n": len(y), "accuracy": float(accuracy_score(y, pred)),
            "macro_f1": float(f1_score(y, pred, labels=labels, average="macro",
                                       zero_division=0)),
            "per_genre_f1": {lab: float(f) for lab, f in zip(labels, per)},
            "labels": list(labels),
            "confusion_matrix": confusion_matrix(y, pred, labels=labels).tolist()}
