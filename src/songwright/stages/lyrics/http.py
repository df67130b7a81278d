"""Any OpenAI-compatible chat endpoint (Ollama, vLLM, llama.cpp server, LM Studio, ...).

Uses only the standard library (``urllib``), so it adds no dependency. Endpoints differ in
whether they continue a trailing assistant message, so this backend does not claim to
(``supports_prefill = False``) and the writer asks it for whole sections instead.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

from ...errors import SongwrightError
from .lm import BaseLM, PromptLike, messages_of

log = logging.getLogger(__name__)


class OpenAICompatibleLM(BaseLM):
    """POST ``{base_url}/v1/chat/completions`` (``/v1`` is added when the URL lacks it).

    Args:
        base_url: e.g. ``http://127.0.0.1:11434`` (Ollama) or ``http://host:8000/v1`` (vLLM).
        model: the model name the server knows.
        api_key: sent as a bearer token when given.
        timeout: seconds for connecting and for the whole answer.
    """

    supports_prefill = False

    def __init__(self, base_url: str, model: str, api_key: str | None = None,
                 timeout: float = 60.0) -> None:
        base = base_url.rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise SongwrightError(f"lyrics endpoint {base_url!r} must start with http:// or https://")
        self.url = (base if base.endswith("/v1") else base + "/v1") + "/chat/completions"
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.name = f"openai:{base}#{model}"

    def generate(self, prompt: PromptLike, *, max_new_tokens: int = 64,
                 temperature: float = 0.8, top_p: float = 0.95, seed: int | None = None,
                 stop: Sequence[str] = ()) -> str:
        body: dict[str, Any] = {"model": self.model, "messages": messages_of(prompt),
                                "max_tokens": max_new_tokens, "temperature": temperature,
                                "top_p": top_p, "stream": False}
        if seed is not None:
            body["seed"] = int(seed) % (2**31)  # some servers reject 64-bit seeds
        if stop:
            body["stop"] = list(stop)[:4]  # the OpenAI API allows at most 4
        data = self._post(body)
        try:
            text = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as e:
            raise SongwrightError(
                f"malformed response from {self.url}: no choices[0].message.content "
                f"in {json.dumps(data)[:200]}") from e
        if not isinstance(text, str):
            raise SongwrightError(f"malformed response from {self.url}: content is not text")
        for s in stop:  # servers that ignore "stop" still get cut here
            if s and s in text:
                text = text[: text.index(s)]
        return text

    def _generate(self, prompt: PromptLike, *, max_new_tokens: int, temperature: float,
                  top_p: float, seed: int | None) -> str:
        return self.generate(prompt, max_new_tokens=max_new_tokens, temperature=temperature,
                             top_p=top_p, seed=seed)

    def _post(self, body: dict[str, Any]) -> Any:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(self.url, data=json.dumps(body).encode(), headers=headers,
                                     method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            detail = e.read()[:200].decode("utf-8", "replace")
            raise SongwrightError(f"{self.url} answered HTTP {e.code}: {detail}") from e
        except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise SongwrightError(f"cannot reach lyrics endpoint {self.url}: {reason}") from e
        try:
            return json.loads(raw)
        except json.JSONDecodeError as e:
            raise SongwrightError(
                f"malformed response from {self.url}: not JSON ({raw[:120]!r})") from e
