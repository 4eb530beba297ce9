"""The ``openai`` teacher against a scripted OpenAI-protocol server on loopback."""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tempoforge.errors import UserError
from tempoforge.synth.teachers.base import TeacherError, TeacherSettings, TeacherVideo
from tempoforge.synth.teachers.openai import OpenAIChatClient, OpenAITeacher, retry_delay

KEY = "sk-test-SECRET-0123456789"
EVENTS = json.dumps({"events": [{"start": 0, "end": 4, "description": "a circle appears"},
                                {"start": 4, "end": 8, "description": "it moves left"}]})


def _settings(url: str, **kw: object) -> TeacherSettings:
    base = dict(backend="openai", base_url=url, model="test-vlm", api_key_env="TF_TEST_KEY", timeout=5.0,
                max_retries=3, backoff=0.01, max_backoff=5.0, concurrency=4)
    base.update(kw)
    return TeacherSettings(**base)  # type: ignore[arg-type]


def _video() -> TeacherVideo:
    grid = np.full((32, 48, 3), 200, np.uint8)
    return TeacherVideo("v0", "v0.mp4", 8.0, grids_fn=lambda: [grid])


def _client(url: str, tmp: Path, sleeps: list[float] | None = None, **kw: object) -> OpenAIChatClient:
    rec = sleeps if sleeps is not None else []
    return OpenAIChatClient(_settings(url, **kw), tmp / "cache", sleep=rec.append)


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TF_TEST_KEY", KEY)


def test_request_shape_and_cache_hit_on_rerun(api, tmp_path):
    url, srv = api
    srv.default = EVENTS
    events = OpenAITeacher(_client(url, tmp_path)).segment(_video())
    assert [(e.start, e.end, e.description) for e in events] == [(0.0, 4.0, "a circle appears"), (4.0, 8.0, "it moves left")]
    (req,) = srv.requests
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["Authorization"] == f"Bearer {KEY}"
    body = req["body"]
    assert body["model"] == "test-vlm" and body["temperature"] == 0.0
    parts = body["messages"][0]["content"]
    assert parts[0]["type"] == "image_url" and parts[0]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert "8.0-second video" in parts[-1]["text"]
    # a new client with the same cache sends nothing
    client2 = _client(url, tmp_path)
    again = OpenAITeacher(client2).segment(_video())
    assert again == events and len(srv.requests) == 1 and client2.cache_hits == 1 and client2.requests == 0
    # a different image is a different request
    other = TeacherVideo("v0", "v0.mp4", 8.0, grids_fn=lambda: [np.zeros((32, 48, 3), np.uint8)])
    OpenAITeacher(client2).segment(other)
    assert len(srv.requests) == 2


def test_500_then_success_retries_with_jittered_backoff(api, tmp_path):
    url, srv = api
    srv.script = [("status", 500, {}, "boom"), ("status", 502, {}, "bad gateway"), ("ok", "hello")]
    sleeps: list[float] = []
    client = _client(url, tmp_path, sleeps, backoff=0.1)
    assert client.complete([{"role": "user", "content": "hi"}]) == "hello"
    assert len(srv.requests) == 3
    # attempt 0: 0.1 * 2^0 * [0.5, 1.5); attempt 1: 0.1 * 2^1 * [0.5, 1.5)
    assert 0.05 <= sleeps[0] < 0.15 and 0.1 <= sleeps[1] < 0.3


def test_429_respects_retry_after_and_caps_it(api, tmp_path):
    url, srv = api
    srv.script = [("status", 429, {"Retry-After": "2"}, "slow down"),
                  ("status", 429, {"Retry-After": "3600"}, "slow down"), ("ok", "fine")]
    sleeps: list[float] = []
    assert _client(url, tmp_path, sleeps, max_backoff=5.0).complete([{"role": "user", "content": "x"}]) == "fine"
    assert sleeps == [2.0, 5.0]  # as asked, then capped at max_backoff


def test_retry_after_really_waits(api, tmp_path):
    url, srv = api
    srv.script = [("status", 429, {"Retry-After": "1"}, "slow down"), ("ok", "done")]
    client = OpenAIChatClient(_settings(url), tmp_path / "c")  # real sleep
    t0 = time.monotonic()
    assert client.complete([{"role": "user", "content": "x"}]) == "done"
    assert 1.0 <= time.monotonic() - t0 < 4.0


def test_timeout_is_retried_and_bounded(api, tmp_path):
    url, srv = api
    srv.script = [("sleep", 1.5, "late"), ("ok", "on time")]
    t0 = time.monotonic()
    out = _client(url, tmp_path, timeout=0.3).complete([{"role": "user", "content": "x"}])
    assert out == "on time" and len(srv.requests) == 2
    assert time.monotonic() - t0 < 1.4  # the client did not wait for the slow reply


def test_gives_up_after_max_retries(api, tmp_path):
    url, srv = api
    srv.default = None
    srv.script = [("status", 503, {}, "down")] * 10
    with pytest.raises(TeacherError) as err:
        _client(url, tmp_path, max_retries=2).complete([{"role": "user", "content": "x"}])
    assert err.value.code == "unavailable" and len(srv.requests) == 3


def test_client_errors_are_not_retried_and_never_echo_the_key(api, tmp_path):
    url, srv = api
    srv.script = [("status", 401, {}, json.dumps({"error": f"invalid key {KEY}"}))]
    with pytest.raises(TeacherError) as err:
        _client(url, tmp_path).complete([{"role": "user", "content": "x"}])
    assert err.value.code == "http" and len(srv.requests) == 1
    assert KEY not in str(err.value) and "***" in str(err.value)


@pytest.mark.parametrize("raw", [b"not json at all", b'{"id": "x"}', b'{"choices": []}',
                                 b'{"choices": [{"message": {"role": "assistant"}}]}', b"[1, 2]"])
def test_malformed_replies_are_errors_and_not_cached(api, tmp_path, raw):
    url, srv = api
    srv.script = [("raw", raw)]
    srv.default = "good"
    client = _client(url, tmp_path)
    with pytest.raises(TeacherError) as err:
        client.complete([{"role": "user", "content": "x"}])
    assert err.value.code == "malformed" and len(srv.requests) == 1
    assert client.complete([{"role": "user", "content": "x"}]) == "good"  # asked again: nothing was cached
    assert len(srv.requests) == 2


def test_reply_without_json_object_is_malformed(api, tmp_path):
    url, srv = api
    srv.default = "I think the video shows a circle."
    with pytest.raises(TeacherError) as err:
        OpenAITeacher(_client(url, tmp_path)).segment(_video())
    assert err.value.code == "malformed"
    srv.default = '```json\n{"events": [{"start": 0, "end": "8s"}]}\n```'  # no description
    with pytest.raises(TeacherError, match="description"):
        OpenAITeacher(_client(url, tmp_path / "b")).segment(_video())


def test_concurrency_limit(api, tmp_path):
    url, srv = api
    srv.default = None
    srv.script = [("sleep", 0.3, f"r{i}") for i in range(6)]
    client = _client(url, tmp_path, concurrency=2)
    out: list[str] = []
    threads = [threading.Thread(target=lambda i=i: out.append(client.complete([{"role": "user", "content": str(i)}])))
               for i in range(6)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(out) == 6 and len(srv.requests) == 6
    assert srv.max_in_flight == 2
    assert time.monotonic() - t0 >= 0.85  # 6 requests of 0.3 s, 2 at a time: >= 3 rounds


def test_key_never_in_logs_or_cache(api, tmp_path, caplog):
    url, srv = api
    srv.script = [("status", 500, {}, "boom")]
    srv.default = EVENTS
    caplog.set_level(logging.DEBUG)
    OpenAITeacher(_client(url, tmp_path)).segment(_video())
    files = list((tmp_path / "cache").rglob("*.json"))
    assert len(files) == 1
    assert KEY not in files[0].read_text() and "Authorization" not in files[0].read_text()
    assert json.loads(files[0].read_text())["content"] == EVENTS
    assert caplog.records and KEY not in caplog.text


def test_missing_key_env_is_a_user_error(monkeypatch, tmp_path):
    monkeypatch.delenv("TF_TEST_KEY")
    with pytest.raises(UserError, match="TF_TEST_KEY"):
        _client("http://127.0.0.1:9/v1", tmp_path)


def test_retry_delay_formula():
    import random

    class Fixed(random.Random):
        def random(self) -> float:
            return 0.25

    # backoff 1 s, attempt 3: 1 * 2^3 * (0.5 + 0.25) = 6.0, under the 60 s cap
    assert retry_delay(3, 1.0, 60.0, None, Fixed()) == pytest.approx(6.0)
    assert retry_delay(10, 1.0, 60.0, None, Fixed()) == 60.0
    assert retry_delay(0, 1.0, 60.0, "7", Fixed()) == 7.0
    assert retry_delay(0, 1.0, 60.0, "garbage", Fixed()) == pytest.approx(0.75)
