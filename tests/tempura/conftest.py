"""A scripted OpenAI-protocol server on loopback, and a tiny TempoWorld, for the TEMPURA tests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest


def chat_reply(content: str) -> dict[str, Any]:
    return {"id": "x", "object": "chat.completion", "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]}


@dataclass
class Scripted:
    """Replies in order from ``script``; then ``default``. Each entry: ``("ok", content)``,
    ``("status", code, headers, body)``, ``("sleep", seconds, content)`` or ``("raw", bytes)``."""

    script: list[tuple[Any, ...]] = field(default_factory=list)
    default: Any = None  # callable(body) -> content, or a string
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: int = 0
    max_in_flight: int = 0


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        st: Scripted = self.server.scripted
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with st.lock:
            st.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            step = st.script.pop(0) if st.script else None
            st.in_flight += 1
            st.max_in_flight = max(st.max_in_flight, st.in_flight)
        try:
            if step is None:
                content = st.default(body) if callable(st.default) else st.default
                step = ("ok", content)
            kind = step[0]
            if kind == "sleep":
                time.sleep(step[1])
                step = ("ok", step[2])
                kind = "ok"
            if kind == "ok":
                self._send(200, json.dumps(chat_reply(step[1])).encode(), {})
            elif kind == "status":
                self._send(step[1], step[3].encode(), step[2])
            elif kind == "raw":
                self._send(200, step[1], {})
        finally:
            with st.lock:
                st.in_flight -= 1

    def _send(self, code: int, data: bytes, headers: dict[str, str]) -> None:
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture
def api() -> Iterator[tuple[str, Scripted]]:
    """``(base_url, scripted)`` of a fresh loopback server (ephemeral port)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.scripted = Scripted()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", server.scripted  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six tiny TempoWorld videos (8-16 s, 56x56), half of them causal."""
    from tempoforge.world import generate_world, preset_config

    root = tmp_path_factory.mktemp("tw")
    generate_world(root, videos=6, seed=0, config=preset_config("tiny", workers=1), progress=False)
    return root
