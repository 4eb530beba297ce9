"""An on-disk JSON cache of teacher replies, keyed by a hash of the full request.

``request_key(body)`` is the SHA-256 of the canonical JSON of the request body (model, messages with the
base64 image bytes, sampling parameters), so any change to a prompt, an image or a parameter is a miss
and an identical rerun costs no request. Entries are JSON files written atomically
(``<dir>/<key[:2]>/<key>.json``), never pickles; they hold the request hash, the model and the reply,
never headers (the API key is a header and is not part of the body).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from tempoforge.io.jsonl import atomic_write_text

__all__ = ["ReplyCache", "request_key"]

log = logging.getLogger(__name__)


def request_key(body: dict[str, Any]) -> str:
    """SHA-256 hex digest of the canonical JSON of ``body``."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ReplyCache:
    """``get(key)`` / ``put(key, entry)``; a corrupt entry is a miss (with a warning), never an error."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        p = self.path(key)
        if not p.is_file():
            return None
        try:
            entry = json.loads(p.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            log.warning("%s: unreadable cache entry (%s); asking again", p, exc)
            return None
        if not isinstance(entry, dict) or entry.get("key") != key or not isinstance(entry.get("content"), str):
            log.warning("%s: cache entry does not match its key; asking again", p)
            return None
        return entry

    def put(self, key: str, entry: dict[str, Any]) -> None:
        atomic_write_text(self.path(key), json.dumps({"key": key, **entry}, ensure_ascii=False) + "\n")
