"""Hugging Face transformers backend: any causal or seq2seq LM, optional PEFT LoRA adapter.

Causal models are decoded by a small loop of our own rather than ``model.generate`` because
the writer needs three things ``generate`` does not give together: a ``torch.Generator`` per
call (same seed, same lyrics, whatever else ran before), text pieces as they come, and reuse
of the KV cache across calls. The writer asks for one line at a time with a prompt that only
grows at its end, so most of each prompt is already in the cache from the previous call
(``_PrefixCache``): a line costs its own tokens, not a fresh prefill of the whole prompt.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ...errors import SongwrightError
from .lm import BaseLM, PromptLike, flatten_messages, messages_of

log = logging.getLogger(__name__)

_SENTINEL = "\u2063SWPREFILL\u2063"


def _looks_like_path(name: str) -> bool:
    return name.startswith((".", "/", "~")) or Path(name).expanduser().exists()


def _hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0") or \
        os.environ.get("TRANSFORMERS_OFFLINE", "") not in ("", "0")


class TransformersLM(BaseLM):
    """A transformers model and its tokenizer behind :class:`~.lm.LanguageModel`.

    Args:
        model: a loaded ``PreTrainedModel`` (causal LM or encoder-decoder), in eval mode.
        tokenizer: its tokenizer; a chat template is used when it has one.
        name: the name recorded in songs' metadata.
        repetition_penalty: divides the logits of tokens already generated in this call,
            because small models otherwise loop inside a line.
        threads: CPU threads for decoding: a number, or ``"auto"`` to time 1 thread against
            all cores at each :meth:`reset` (once per song) and keep the faster. torch's
            OpenMP threads spin at barriers, so on a busy machine one thread can be several
            times faster than two (measured in docs/lyrics.md).
    """

    def __init__(self, model: Any, tokenizer: Any, name: str = "transformers",
                 repetition_penalty: float = 1.15, threads: int | str = "auto") -> None:
        self.model = model
        self.threads = threads
        self._threads_now: int | None = None if threads == "auto" else int(threads)
        self.tokenizer = tokenizer
        self.name = name
        self.repetition_penalty = repetition_penalty
        self.is_seq2seq = bool(getattr(model.config, "is_encoder_decoder", False))
        self.supports_prefill = not self.is_seq2seq
        self._cache_ids: list[int] = []
        self._cache: Any = None
        eos: set[int] = set()
        for tid in (tokenizer.eos_token_id, getattr(model.config, "eos_token_id", None)):
            if isinstance(tid, int):
                eos.add(tid)
            elif isinstance(tid, list):
                eos.update(tid)
        for tok in ("<|im_end|>", "<|endoftext|>", "<end_of_turn>", "<|eot_id|>"):
            tid = tokenizer.convert_tokens_to_ids(tok) if tok in tokenizer.get_vocab() else None
            if isinstance(tid, int):
                eos.add(tid)
        self.eos_ids = eos

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_pretrained(cls, name_or_path: str | Path, *, adapter: str | Path | None = None,
                        dtype: str = "float32", quantize: str | None = None,
                        name: str | None = None, **kw: Any) -> TransformersLM:
        """Load a model by local path or hub id (hub ids need the model in the local cache).

        Args:
            name_or_path: a local folder or a hub id such as ``HuggingFaceTB/SmolLM2-135M``.
            adapter: optional PEFT LoRA adapter folder; merged into the weights for speed.
            dtype: ``float32`` (fastest on CPUs without bf16 units) or ``bfloat16``/``float16``.
            quantize: ``"int8"`` for dynamic int8 quantization of the Linear layers (CPU).
            name: the name to record; defaults to ``name_or_path``.

        Raises:
            SongwrightError: the path does not exist, or a hub id is not in the local cache.
        """
        import torch
        from transformers import (
            AutoConfig,
            AutoModelForCausalLM,
            AutoModelForSeq2SeqLM,
            AutoTokenizer,
        )

        src = str(name_or_path)
        is_path = isinstance(name_or_path, Path) or _looks_like_path(src)
        if is_path:
            path = Path(src).expanduser()
            if not path.exists():
                raise SongwrightError(f"lyrics model path {path} does not exist")
            src = str(path)
        try:
            config = AutoConfig.from_pretrained(src, local_files_only=is_path or _hub_offline())
        except (OSError, ValueError) as e:
            if is_path:
                raise SongwrightError(f"lyrics model path {src} holds no model config: {e}") from e
            raise SongwrightError(
                f"model {src!r} not found locally and the hub is offline or unreachable; "
                "download it on a connected machine or pass a local folder") from e
        auto = AutoModelForSeq2SeqLM if getattr(config, "is_encoder_decoder", False) \
            else AutoModelForCausalLM
        try:
            tokenizer = AutoTokenizer.from_pretrained(src, local_files_only=True)
            model = auto.from_pretrained(src, dtype=getattr(torch, dtype), local_files_only=True)
        except (OSError, ValueError) as e:
            raise SongwrightError(f"cannot load lyrics model {src}: {e}") from e
        if adapter is not None:
            model = apply_adapter(model, adapter)
        model.eval()
        if quantize:
            model = quantize_int8(model) if quantize == "int8" else _bad_quant(quantize)
        return cls(model, tokenizer, name=name or str(name_or_path), **kw)

    def reset(self) -> None:
        self._cache_ids, self._cache = [], None
        if self.threads == "auto":
            self._threads_now = self._calibrate_threads()

    def _calibrate_threads(self) -> int | None:
        """The faster of 1 thread and all cores for a short forward pass (None: leave torch's)."""
        import torch

        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
            (os.cpu_count() or 1)
        if cores <= 1 or self.is_seq2seq:
            return None
        x = torch.tensor([[self.tokenizer.eos_token_id or 0] * 8], dtype=torch.long)
        old, best = torch.get_num_threads(), {}
        try:
            with torch.inference_mode():
                for n in (1, cores, 1, cores):  # interleaved: the load can change meanwhile
                    torch.set_num_threads(n)
                    t0 = time.perf_counter()
                    self.model(input_ids=x, logits_to_keep=1)
                    best[n] = min(best.get(n, 1e9), time.perf_counter() - t0)
        finally:
            torch.set_num_threads(old)
        choice = min(best, key=best.get)
        log.debug("decoding threads: %d (1: %.3f s, %d: %.3f s)", choice, best[1], cores,
                  best[cores])
        return choice

    # ------------------------------------------------------------------ prompts
    def encode(self, prompt: PromptLike) -> list[int]:
        """Token ids of the prompt, through the chat template when the tokenizer has one."""
        tok = self.tokenizer
        if isinstance(prompt, str) and not getattr(tok, "chat_template", None):
            return list(tok(prompt)["input_ids"])
        if not getattr(tok, "chat_template", None):
            return list(tok(flatten_messages(prompt))["input_ids"])
        msgs = messages_of(prompt)
        prefill = msgs[-1]["content"] if msgs[-1]["role"] == "assistant" else None
        if prefill is not None:
            # continue_final_message strips the message's trailing newline, which would make
            # the model extend the previous line; render a sentinel and splice the text in.
            msgs[-1] = {"role": "assistant", "content": _SENTINEL}
            text = tok.apply_chat_template(msgs, tokenize=False, continue_final_message=True)
            text = text[: text.rindex(_SENTINEL)] + prefill
        else:
            text = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        return list(tok(text, add_special_tokens=False)["input_ids"])

    # ------------------------------------------------------------------ decoding
    def _stream(self, prompt: PromptLike, *, max_new_tokens: int, temperature: float,
                top_p: float, seed: int | None) -> Iterator[str]:
        if self.is_seq2seq:
            yield self._generate_seq2seq(prompt, max_new_tokens, temperature, top_p, seed)
            return
        import torch

        ids = self.encode(prompt)
        gen = torch.Generator().manual_seed(0 if seed is None else int(seed))
        out: list[int] = []
        shown = ""
        old_threads = torch.get_num_threads()
        if self._threads_now:
            torch.set_num_threads(self._threads_now)
        try:
            yield from self._decode(ids, out, shown, max_new_tokens, temperature, top_p, gen)
        finally:
            torch.set_num_threads(old_threads)

    def _decode(self, ids: list[int], out: list[int], shown: str, max_new_tokens: int,
                temperature: float, top_p: float, gen: Any) -> Iterator[str]:
        import torch

        with torch.inference_mode():
            logits = self._feed(ids)
            for _ in range(max_new_tokens):
                nxt = self._sample(logits, out, temperature, top_p, gen)
                if nxt in self.eos_ids:
                    break
                out.append(nxt)
                self.tokens_generated += 1
                text = self.tokenizer.decode(out, skip_special_tokens=True)
                # hold back a partial multi-byte character until its bytes are complete
                if not text.endswith("\ufffd") and len(text) > len(shown):
                    piece, shown = text[len(shown):], text
                    yield piece
                logits = self._feed(ids + out)

    def _feed(self, ids: list[int]) -> Any:
        """Run the model on ``ids``, reusing the cached prefix; return the last logits (V,)."""
        import torch
        from transformers import DynamicCache

        common = 0
        for a, b in zip(self._cache_ids, ids):
            if a != b:
                break
            common += 1
        common = min(common, len(ids) - 1)  # at least one new token, to get logits
        if self._cache is None or common == 0:
            self._cache, common = DynamicCache(config=self.model.config), 0
        elif common < self._cache.get_seq_length():
            # transformers 5 crops by a negative count of tokens to drop
            self._cache.crop(common - self._cache.get_seq_length())
        new = torch.tensor([ids[common:]], dtype=torch.long)  # (1, T_new)
        res = self.model(input_ids=new, cache=self._cache, use_cache=True, logits_to_keep=1)
        self._cache_ids = list(ids)
        return res.logits[0, -1].float()  # (V,)

    def _sample(self, logits: Any, generated: list[int], temperature: float, top_p: float,
                gen: Any) -> int:
        import torch

        if generated and self.repetition_penalty != 1.0:
            idx = torch.tensor(sorted(set(generated)), dtype=torch.long)
            vals = logits[idx]
            logits[idx] = torch.where(vals > 0, vals / self.repetition_penalty,
                                      vals * self.repetition_penalty)
        if temperature <= 0:
            return int(logits.argmax())
        probs = torch.softmax(logits / temperature, dim=-1)
        if 0 < top_p < 1:
            sp, si = torch.sort(probs, descending=True)
            keep = torch.cumsum(sp, 0) - sp < top_p  # always keeps the most likely token
            probs = torch.zeros_like(probs).scatter_(0, si[keep], sp[keep])
        return int(torch.multinomial(probs, 1, generator=gen))

    def _generate_seq2seq(self, prompt: PromptLike, max_new_tokens: int, temperature: float,
                          top_p: float, seed: int | None) -> str:
        import torch

        enc = self.tokenizer(flatten_messages(prompt), return_tensors="pt")
        with torch.random.fork_rng(), torch.inference_mode():
            torch.manual_seed(0 if seed is None else int(seed))
            sample = temperature > 0
            kw: dict[str, Any] = {"temperature": temperature, "top_p": top_p} if sample else {}
            out = self.model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=sample,
                                      repetition_penalty=self.repetition_penalty, **kw)
        return self.tokenizer.decode(out[0], skip_special_tokens=True)


def apply_adapter(model: Any, adapter: str | Path) -> Any:
    """Merge a PEFT LoRA adapter into ``model`` (peft is imported here: it takes ~8 s)."""
    path = Path(adapter).expanduser()
    if not path.exists():
        raise SongwrightError(f"LoRA adapter path {path} does not exist")
    try:
        from peft import PeftModel
    except ImportError as e:
        raise SongwrightError("LoRA adapters need peft: pip install peft") from e
    log.info("merging LoRA adapter %s", path)
    return PeftModel.from_pretrained(model, str(path)).merge_and_unload()


def quantize_int8(model: Any, skip_lm_head: bool = False) -> Any:
    """Dynamic int8 quantization of the Linear layers, for faster CPU decoding.

    Args:
        model: a float32 model in eval mode (modified in place).
        skip_lm_head: keep the output projection in float32.
    """
    import torch

    targets: Any = {torch.nn.Linear}
    if skip_lm_head:
        targets = {name for name, mod in model.named_modules()
                   if isinstance(mod, torch.nn.Linear) and not name.endswith("lm_head")}
    with warnings.catch_warnings():
        # torch.ao.quantization is deprecated in favour of torchao, which is not installed;
        # quantize_dynamic still works and is the only int8 path without a new dependency.
        warnings.simplefilter("ignore")
        # in place: a copy would hold the float32 and int8 weights at once (+0.5 GB peak)
        return torch.ao.quantization.quantize_dynamic(model, targets, dtype=torch.qint8,
                                                      inplace=True)


def _bad_quant(q: str) -> Any:
    raise SongwrightError(f"unknown quantization {q!r}; known: int8")

