"""The addon's analysis worker: what the proxy sees of it, and what happens when it is not
there or dies. (Every test in test_cors.py runs with and without it too.)"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from mitmproxy.addons.view import View
from mitmproxy.test import taddons

from addons.cors import CorsScope
from addons.worker import NICENESS, Worker, WorkerError

from .flows import T0, cors_get, metadata
from .test_cors import start


def entries(capture: Path) -> list[dict]:
    lines = [json.loads(line) for line in capture.read_text().splitlines()]
    return [obj for obj in lines if "_corscope" not in obj]


@contextmanager
def running(folder: Path, *others: object) -> Iterator[tuple[CorsScope, taddons.context]]:
    """The addon started as mitmproxy starts it (beside `others`, e.g. a View), capturing
    to `folder`/capture.jsonl; done at the end."""
    addon = CorsScope()
    with taddons.context(addon, *others) as tctx:
        tctx.configure(addon, cors_capture=str(folder / "capture.jsonl"))
        start(tctx, addon)
        yield addon, tctx
        addon.done()


@pytest.fixture
def mitmdump_like(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CorsScope]:
    """The addon as in mitmdump: a worker, and no view that shows flows."""
    monkeypatch.chdir(tmp_path)
    with running(tmp_path) as (addon, _):
        yield addon


def test_without_a_view_flows_get_their_id_and_hints_at_once_and_no_verdict(
    mitmdump_like: CorsScope, tmp_path: Path
) -> None:
    assert mitmdump_like.worker is not None
    f = cors_get()
    mitmdump_like.response(f)
    # What a `-w` flow file written in this hook holds: the capture id and the wire's
    # facts, as the capture line will have them.
    entry_id = f.metadata["corscope_id"]
    assert metadata(f) == {"mode": "cors", "resourceType": "fetch", "_corscope_id": entry_id}
    mitmdump_like.sync()
    assert "verdict" not in metadata(f) and not f.marked
    (entry,) = entries(tmp_path / "capture.jsonl")
    assert entry["_corscope_id"] == entry_id and entry["_cors"]["mode"] == "cors"


def test_the_worker_yields_the_cpu_to_the_proxy(mitmdump_like: CorsScope) -> None:
    assert mitmdump_like.worker is not None
    pid = mitmdump_like.worker.process.pid
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, ours + NICENESS)  # 19: the floor


def test_with_a_view_the_verdict_comes_back_to_the_flow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with running(tmp_path, View()) as (addon, _):
        f = cors_get()
        f.marked = ":star:"  # the user's own marker stays
        addon.response(f)
        addon.sync()
        assert metadata(f)["verdict"]["reason"] == "MissingAllowOriginHeader"
        assert f.marked == ":star:" and f.comment.startswith("CORS MissingAllowOriginHeader")


def test_a_dead_worker_hands_recording_back_to_the_proxy(
    mitmdump_like: CorsScope, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="corscope")
    mitmdump_like.response(cors_get())
    mitmdump_like.sync()
    worker = mitmdump_like.worker
    assert worker is not None
    worker.process.kill()
    worker.process.wait()
    for n in range(3):
        mitmdump_like.response(cors_get(at=T0 + 1 + n))
    assert mitmdump_like.worker is None
    assert len(entries(tmp_path / "capture.jsonl")) == 4
    lost = [r for r in caplog.records if "worker exited" in r.getMessage()]
    assert len(lost) == 1 and lost[0].levelno == logging.ERROR


def test_a_mitmproxy_without_python_decides_inside_the_proxy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    caplog.set_level(logging.INFO, logger="corscope")
    with running(tmp_path) as (addon, _):
        assert addon.worker is None
        f = cors_get()
        addon.response(f)
        assert metadata(f)["verdict"]["blocked"] is True
    assert "deciding inside the proxy: this mitmproxy is a frozen binary" in caplog.text


def test_the_worker_writes_what_it_was_sent_when_the_proxy_goes_away(tmp_path: Path) -> None:
    """The end of its input is all a worker sees of a `kill -9` of the proxy."""
    from addons.snapshot import snapshot

    capture = tmp_path / "capture.jsonl"
    worker = Worker()
    worker.call(print, "settings", True, True, False)
    worker.call(print, "capture", str(capture), {"_corscope": {"format": "capture"}})
    for n in range(50):
        worker.send(("flow", snapshot(cors_get(at=T0 + n), f"e{n}", n + 1)))
    worker.close()
    assert [e["_corscope_id"] for e in entries(capture)] == [f"e{n}" for n in range(50)]


def test_a_call_the_worker_refuses_is_an_error_with_its_reason(tmp_path: Path) -> None:
    worker = Worker()
    with pytest.raises(WorkerError, match="No such file or directory"):
        worker.call(print, "capture", str(tmp_path / "no" / "dir.jsonl"), {})
    with pytest.raises(WorkerError, match="unknown call"):
        worker.call(print, "reboot")
    worker.close()
    assert worker.process.returncode == 0


def test_switching_the_worker_off_and_on_keeps_one_capture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with running(tmp_path, View()) as (addon, tctx):
        addon.response(cors_get(at=T0))
        tctx.configure(addon, cors_worker=False)
        assert addon.worker is None
        f = cors_get(at=T0 + 1)
        addon.response(f)
        assert metadata(f)["verdict"]["blocked"] is True  # decided in the hook itself
        tctx.configure(addon, cors_worker=True)
        assert addon.worker is not None
        addon.response(cors_get(at=T0 + 2))
        addon.sync()
        ids = [e["_corscope_id"] for e in entries(tmp_path / "capture.jsonl")]
        assert ids == [f"{addon.token}-{n}" for n in (1, 2, 3)]


def test_in_a_running_event_loop_verdicts_arrive_without_being_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As in mitmweb: the loop reads the worker's answers when they come; nobody syncs."""
    monkeypatch.chdir(tmp_path)

    async def browse() -> dict:
        with running(tmp_path, View()) as (addon, _):
            f = cors_get()
            addon.response(f)
            deadline = asyncio.get_running_loop().time() + 30
            while "verdict" not in metadata(f):
                assert asyncio.get_running_loop().time() < deadline, "no verdict came back"
                await asyncio.sleep(0.01)
            return metadata(f)["verdict"]

    assert asyncio.run(browse())["reason"] == "MissingAllowOriginHeader"


def test_a_worker_that_cannot_start_leaves_the_proxy_deciding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "executable", "/bin/false")  # starts, and exits at once
    caplog.set_level(logging.INFO, logger="corscope")
    with running(tmp_path) as (addon, _):
        assert addon.worker is None
        addon.response(cors_get())
    (entry,) = entries(tmp_path / "capture.jsonl")
    assert entry["_cors"]["mode"] == "cors"
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "did not start" in errors[0]
