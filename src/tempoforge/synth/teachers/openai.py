"""``openai`` teacher: any OpenAI-compatible chat-completions API with images (vLLM, SGLang, Ollama, OpenAI).

The video is shown as its time-marked frame grids (METHODS.md 2.1), JPEG data URLs in ``image_url``
parts. Requests go through ``httpx`` with:

- retries on 429, 5xx, timeouts and connection errors: delay ``Retry-After`` when the server sends one,
  else ``backoff * 2**attempt`` scaled by a random factor in [0.5, 1.5) (jitter), both capped at
  ``max_backoff``; other 4xx fail at once;
- a concurrency limit (a semaphore shared by the threads of the pipeline);
- an on-disk cache keyed by the hash of the request body (``cache.py``): a rerun sends nothing.

The API key comes only from the environment variable named by ``api_key_env``; it is sent as a header,
never logged, never written to the cache, and scrubbed from any error text that would echo it.
"""

from __future__ import annotations

import base64
import email.utils
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tempoforge.errors import UserError
from tempoforge.synth.teachers.base import TeacherError, TeacherSettings, TeacherVideo
from tempoforge.synth.teachers.cache import ReplyCache, request_key
from tempoforge.synth.teachers.chat import ChatTeacher

__all__ = ["OpenAIChatClient", "OpenAITeacher", "image_url", "retry_delay"]

log = logging.getLogger(__name__)

RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


def image_url(rgb: np.ndarray, quality: int = 90) -> str:
    """An RGB image as a ``data:image/jpeg;base64,...`` URL."""
    import cv2

    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(rgb[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise TeacherError("image", "could not encode a frame grid as JPEG")
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), None if absent/unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def retry_delay(attempt: int, backoff: float, max_backoff: float, retry_after: str | None,
                rng: random.Random) -> float:
    """Delay before retry ``attempt`` (0-based): Retry-After if given, else jittered exponential backoff."""
    given = _retry_after(retry_after)
    if given is not None:
        return min(given, max_backoff)
    return min(max_backoff, backoff * (2**attempt) * (0.5 + rng.random()))


class OpenAIChatClient:
    """``complete(messages) -> str`` against ``{base_url}/chat/completions``, cached, retried, bounded."""

    def __init__(self, settings: TeacherSettings, cache_dir: str | Path | None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        import httpx

        if not settings.model:
            raise UserError("the openai teacher needs a model name (--model)")
        self.settings = settings
        self._key: str | None = None
        if settings.api_key_env:
            key = os.environ.get(settings.api_key_env)
            if not key:
                raise UserError(f"environment variable {settings.api_key_env} (--api-key-env) is not set or empty")
            self._key = key
        headers = {"Content-Type": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        self._http = httpx.Client(base_url=settings.base_url.rstrip("/") + "/", headers=headers,
                                  timeout=settings.timeout)
        self.cache = ReplyCache(cache_dir) if cache_dir is not None else None
        self._sem = threading.BoundedSemaphore(settings.concurrency)
        self._rng = random.Random(0)
        self._rng_lock = threading.Lock()
        self.sleep = sleep
        self.requests = 0  # HTTP requests sent (for tests and logs)
        self.cache_hits = 0

    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text

    def body(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        s = self.settings
        return {"model": s.model, "messages": messages, "temperature": s.temperature, "max_tokens": s.max_tokens}

    def complete(self, messages: list[dict[str, Any]]) -> str:
        body = self.body(messages)
        key = request_key(body)
        if self.cache is not None and (hit := self.cache.get(key)) is not None:
            self.cache_hits += 1
            return str(hit["content"])
        data = self._post(body)
        content = self._content(data)
        if self.cache is not None:
            self.cache.put(key, {"model": self.settings.model, "content": content,
                                 "finish_reason": data["choices"][0].get("finish_reason")})
        return content

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        import httpx

        s = self.settings
        last = ""
        for attempt in range(s.max_retries + 1):
            retry_after = None
            try:
                with self._sem:
                    self.requests += 1
                    resp = self._http.post("chat/completions", json=body)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                last = f"{type(exc).__name__}: {self._scrub(str(exc))}"
            else:
                if resp.status_code == 200:
                    try:
                        data = resp.json()
                    except ValueError:
                        raise TeacherError("malformed", f"the API replied with invalid JSON: "
                                                        f"{self._scrub(resp.text[:200])!r}") from None
                    if not isinstance(data, dict):
                        raise TeacherError("malformed", f"the API replied with {type(data).__name__}, not an object")
                    return data
                last = f"HTTP {resp.status_code}: {self._scrub(resp.text[:200])}"
                if resp.status_code not in RETRY_STATUS:
                    raise TeacherError("http", f"{s.base_url}: {last}")
                retry_after = resp.headers.get("retry-after")
            if attempt == s.max_retries:
                break
            with self._rng_lock:
                delay = retry_delay(attempt, s.backoff, s.max_backoff, retry_after, self._rng)
            log.info("teacher request failed (%s); retry %d/%d in %.2f s", last, attempt + 1, s.max_retries, delay)
            self.sleep(delay)
        raise TeacherError("unavailable", f"{s.base_url}: gave up after {s.max_retries + 1} attempts ({last})")

    @staticmethod
    def _content(data: dict[str, Any]) -> str:
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise TeacherError("malformed", f"the API reply has no choices: {str(data)[:200]}")
        msg = choices[0].get("message")
        content = msg.get("content") if isinstance(msg, dict) else None
        if isinstance(content, list):  # some servers return content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        if not isinstance(content, str):
            raise TeacherError("malformed", f"the API reply's first choice has no message content: {str(data)[:200]}")
        return content

    def close(self) -> None:
        self._http.close()


class OpenAITeacher(ChatTeacher):
    """The VER requests over an OpenAI-compatible API; thread-safe (the pipeline runs videos concurrently)."""

    name = "openai"
    concurrent = True

    def __init__(self, client: OpenAIChatClient) -> None:
        self.client = client

    @classmethod
    def from_settings(cls, settings: TeacherSettings, *, cache_dir: str | Path | None = None,
                      **_: Any) -> OpenAITeacher:
        return cls(OpenAIChatClient(settings, settings.cache_dir or cache_dir))

    def ask(self, prompt: str, video: TeacherVideo | None) -> str:
        content: list[dict[str, Any]] = []
        if video is not None:
            detail = self.client.settings.image_detail
            content += [{"type": "image_url", "image_url": {"url": image_url(g), "detail": detail}}
                        for g in video.grids()]
        content.append({"type": "text", "text": prompt})
        return self.client.complete([{"role": "user", "content": content}])
