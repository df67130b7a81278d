"""``load_chord_model(name_or_path)``: one dispatch point for every chord stage.

Names: ``"default"`` (the shipped RLHF policy), ``"policy"``, ``"seq2seq"``, ``"markov"``
(the Markov baseline), ``"seed-3chord"`` (the seed's setting). A path: a seq2seq/policy run
folder (``config.json`` + ``weights.safetensors`` + ``vocab.json``) or a Markov model
(``markov.json``). If the shipped policy is missing (a trimmed install), ``"default"`` falls
back to the shipped seq2seq model, then to the Markov baseline, with a warning.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from ...errors import SongwrightError
from ...paths import ASSETS_DIR

log = logging.getLogger(__name__)

SHIPPED = {"policy": ASSETS_DIR / "chords-policy", "seq2seq": ASSETS_DIR / "chords-seq2seq",
           "markov": ASSETS_DIR / "chords-markov", "reward": ASSETS_DIR / "chords-reward"}
NAMES = ("default", "policy", "seq2seq", "markov", "seed-3chord")


def load_chord_model(name_or_path: str | Path = "default", encoder=None):  # noqa: ANN001, ANN201
    """A chord stage (``stage(song, *, seed) -> Song``) by name or path.

    Args:
        name_or_path: one of :data:`NAMES` or a folder/file.
        encoder: optional line encoder callable for seq2seq models (tests).

    Raises:
        SongwrightError: an unknown name, or a path that holds no chord model.
    """
    from .markov import MarkovChords
    from .seq2seq import Seq2SeqChords

    name = str(name_or_path)
    if name == "default":
        for cand in ("policy", "seq2seq"):
            if (SHIPPED[cand] / "weights.safetensors").is_file():
                return Seq2SeqChords.load(SHIPPED[cand], encoder)
            log.warning("shipped chord model %s is missing; falling back", cand)
        return MarkovChords.load(SHIPPED["markov"])
    if name in ("policy", "seq2seq"):
        return Seq2SeqChords.load(SHIPPED[name], encoder)
    if name == "markov":
        return MarkovChords.load(SHIPPED["markov"])
    if name == "seed-3chord":
        from .baselines import SeedThreeChords

        return SeedThreeChords(MarkovChords.load(SHIPPED["markov"]))
    p = Path(name).expanduser()
    if p.is_file() and p.name == "markov.json" or (p / "markov.json").is_file():
        return MarkovChords.load(p)
    if (p / "config.json").is_file():
        try:
            fmt = json.loads((p / "config.json").read_text()).get("format")
        except json.JSONDecodeError as e:
            raise SongwrightError(f"{p / 'config.json'}: invalid JSON: {e}") from e
        if fmt == "songwright.chords-seq2seq":
            return Seq2SeqChords.load(p, encoder)
        raise SongwrightError(f"{p} holds a {fmt!r} model, not a chord model")
    raise SongwrightError(f"unknown chord model {name!r}: choose from {', '.join(NAMES)} or a "
                          "model folder")
