"""The one small interface every lyrics backend implements, and helpers they share.

A backend turns a prompt (plain text, or chat messages) into text. The writer only ever calls
:meth:`LanguageModel.generate` (and :meth:`LanguageModel.stream` when it wants pieces as they
come), so a local transformers model, a GGUF file through llama.cpp and an HTTP endpoint are
interchangeable.

Chat messages are ``{"role": "system"|"user"|"assistant", "content": str}`` dicts. When the
last message is an ``assistant`` message, backends that can (``supports_prefill``) *continue*
it rather than start a new answer: the writer uses that to make the model complete the next
lyric line after the lines already accepted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

Message = dict[str, str]
PromptLike = str | Sequence[Message]


@runtime_checkable
class LanguageModel(Protocol):
    """A text generator. ``name`` is recorded in ``Song.meta["lyrics_model"]``."""

    name: str
    supports_prefill: bool

    def generate(self, prompt: PromptLike, *, max_new_tokens: int = 64,
                 temperature: float = 0.8, top_p: float = 0.95, seed: int | None = None,
                 stop: Sequence[str] = ()) -> str:
        """Return the continuation of ``prompt`` (without the prompt), cut before any stop."""
        ...

    def stream(self, prompt: PromptLike, *, max_new_tokens: int = 64,
               temperature: float = 0.8, top_p: float = 0.95, seed: int | None = None,
               stop: Sequence[str] = ()) -> Iterator[str]:
        """Yield the continuation in pieces; closing the iterator stops generation."""
        ...


class BaseLM:
    """Shared behaviour: ``generate`` is ``stream`` joined; ``stream`` defaults to one piece.

    Subclasses implement at least one of :meth:`_stream` or :meth:`_generate`.
    """

    name: str = "lm"
    supports_prefill: bool = False
    tokens_generated: int = 0  # running count, for benchmarks (backends that know it add up)

    def generate(self, prompt: PromptLike, *, max_new_tokens: int = 64,
                 temperature: float = 0.8, top_p: float = 0.95, seed: int | None = None,
                 stop: Sequence[str] = ()) -> str:
        return "".join(self.stream(prompt, max_new_tokens=max_new_tokens,
                                   temperature=temperature, top_p=top_p, seed=seed, stop=stop))

    def stream(self, prompt: PromptLike, *, max_new_tokens: int = 64,
               temperature: float = 0.8, top_p: float = 0.95, seed: int | None = None,
               stop: Sequence[str] = ()) -> Iterator[str]:
        yield from StopFilter(stop).feed_all(self._stream(
            prompt, max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p,
            seed=seed))

    def _stream(self, prompt: PromptLike, *, max_new_tokens: int, temperature: float,
                top_p: float, seed: int | None) -> Iterator[str]:
        yield self._generate(prompt, max_new_tokens=max_new_tokens, temperature=temperature,
                             top_p=top_p, seed=seed)

    def _generate(self, prompt: PromptLike, *, max_new_tokens: int, temperature: float,
                  top_p: float, seed: int | None) -> str:
        raise NotImplementedError

    def reset(self) -> None:
        """Forget any cached state, so a song's output does not depend on earlier songs."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class StopFilter:
    """Cut a stream of text pieces before the first stop string.

    Text that might be the start of a stop string is held back until it is known not to be,
    so no piece of a stop string is ever yielded.
    """

    def __init__(self, stop: Sequence[str]) -> None:
        self.stop = [s for s in stop if s]
        self.keep = max((len(s) for s in self.stop), default=1) - 1

    def feed_all(self, pieces: Iterator[str]) -> Iterator[str]:
        buf = ""
        try:
            for piece in pieces:
                buf += piece
                cut = self._find(buf)
                if cut is not None:
                    if buf[:cut]:
                        yield buf[:cut]
                    return
                if self.keep and len(buf) > self.keep:
                    yield buf[:-self.keep]
                    buf = buf[-self.keep:]
                elif not self.keep:
                    yield buf
                    buf = ""
            if buf:
                yield buf
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()

    def _find(self, text: str) -> int | None:
        hits = [i for i in (text.find(s) for s in self.stop) if i >= 0]
        return min(hits) if hits else None


def messages_of(prompt: PromptLike) -> list[Message]:
    """The prompt as chat messages (a string becomes one user message)."""
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return [dict(m) for m in prompt]


def flatten_messages(prompt: PromptLike) -> str:
    """The prompt as plain text, for models without a chat template (e.g. FlanT5).

    A trailing assistant message is left open at the end so a causal model continues it.
    """
    if isinstance(prompt, str):
        return prompt
    parts = [m["content"].strip() for m in prompt if m["role"] != "assistant"]
    text = "\n\n".join(p for p in parts if p)
    if prompt and prompt[-1]["role"] == "assistant":
        text += "\n\n" + prompt[-1]["content"]
    return text


def chatml(messages: Sequence[Message]) -> str:
    """Render messages in ChatML (SmolLM2's template), leaving a final assistant turn open."""
    out = []
    for i, m in enumerate(messages):
        last_open = i == len(messages) - 1 and m["role"] == "assistant"
        out.append(f"<|im_start|>{m['role']}\n{m['content']}" + ("" if last_open else "<|im_end|>\n"))
    if not messages or messages[-1]["role"] != "assistant":
        out.append("<|im_start|>assistant\n")
    return "".join(out)


def derive_seed(*parts: object) -> int:
    """A stable 63-bit seed from any parts (Python's ``hash`` is salted per process)."""
    h = hashlib.sha256(repr(parts).encode()).digest()
    return int.from_bytes(h[:8], "big") >> 1
