"""The analysis worker: a second process that records and decides, so that the proxy only
copies each recorded flow into a pipe.

Deciding an exchange costs the proxy's event loop several hundred microseconds a flow,
twice what mitmproxy itself spends calling an empty hook; a copy of the flow's headers
and timings costs a tenth of that. The worker runs the addon's own code (`CorsScope`,
with the capture file, the live verdicts and the probe's joins) on flows rebuilt from
`snapshot`s, in the order the proxy sent them, and sends back what changed on each flow
(the verdict in its metadata, the marker, the comment) and its log lines.

Messages are `marshal`led tuples, each framed by its length. Once the hook that sent a
flow returns, the flow is in the kernel's pipe buffer: a `kill -9` of the proxy loses
nothing the browser already saw answered, because the worker reads to the end of the pipe
and writes every line before it exits. The worker runs in its own session, so the
Ctrl-C meant for the proxy does not cut it short. It runs at a lower CPU priority
(`NICENESS`): where it competes for a core, the proxy and the browser go first, and the
worker catches up from its pipe in the next quiet moment.

    proxy -> worker: ("flow", snapshot) ("beacon", body, url, time) ("write", obj)
                     ("call", n, name, *args)  name: settings capture report har sync done
    worker -> proxy: ("shown", [(flow id, metadata, marker, comment), ...])
                     ("log", level, text) ("reply", n, ok, value)
"""

from __future__ import annotations

import contextlib
import logging
import marshal
import os
import select
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows, where the worker is not used
    fcntl = None  # type: ignore[assignment]

_FRAME = struct.Struct("<I")
_PIPE_BYTES = 1 << 20
"""How much the pipe to the worker holds (Linux): bursts of flows wait there instead of in
the proxy's event loop; past it the proxy slows to the worker's pace."""
CALL_TIMEOUT_S = 120.0
_POLL_S = 0.005
_POLL_FOR_S = 1.0
"""The worker looks for new flows every `_POLL_S` while they keep coming, and waits on the
pipe after `_POLL_FOR_S` without any (see `_Frames.next`)."""
NICENESS = 10
"""Added to the worker's nice value. The proxy's hook never waits for the worker unless
1 MiB of flows is queued, so a lagging worker costs live verdicts a moment, not traffic."""


class WorkerError(Exception):
    """The worker could not be started, or refused what a call asked."""


class WorkerGone(WorkerError):
    """The worker process has exited."""


def available() -> str | None:
    """Why a worker cannot run in this mitmproxy, or None when it can."""
    if sys.platform == "win32":
        return "the worker's pipes need a POSIX system"
    if getattr(sys, "frozen", False):
        return "this mitmproxy is a frozen binary with no Python to start a worker with"
    if not sys.executable:
        return "no Python executable is known"
    return None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _frame(message: tuple[Any, ...]) -> bytes:
    body = marshal.dumps(message)
    return _FRAME.pack(len(body)) + body


class _Frames:
    """Messages off a pipe, each framed by its length."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._buf = bytearray()

    def ready(self) -> bool:
        """A whole message is buffered: taking it will not wait."""
        if len(self._buf) < _FRAME.size:
            return False
        (size,) = _FRAME.unpack_from(self._buf)
        return len(self._buf) >= _FRAME.size + size

    def fill(self) -> bool:
        """Read what the pipe holds (waiting only on a blocking pipe); False at its end."""
        try:
            chunk = os.read(self.fd, 1 << 20)
        except BlockingIOError:
            return True
        self._buf += chunk
        return bool(chunk)

    def pop(self) -> tuple[Any, ...]:
        (size,) = _FRAME.unpack_from(self._buf)
        end = _FRAME.size + size
        message = marshal.loads(self._buf[_FRAME.size : end])
        del self._buf[:end]
        return message  # type: ignore[no-any-return]

    def next(self) -> tuple[Any, ...] | None:
        """The next message, waiting for it; None at the end. The pipe is non-blocking
        and, while messages keep coming, the wait is a short sleep rather than a read that
        blocks: a write to a pipe someone sleeps on must wake them, and on a busy machine
        the proxy pays for that wake-up on every flow. After a second of quiet, the wait
        blocks on the pipe again."""
        quiet_since = time.monotonic()
        while not self.ready():
            try:
                chunk = os.read(self.fd, 1 << 20)
            except BlockingIOError:
                if time.monotonic() - quiet_since < _POLL_FOR_S:
                    time.sleep(_POLL_S)
                else:
                    select.select([self.fd], [], [])
                continue
            if not chunk:
                return None
            self._buf += chunk
            quiet_since = time.monotonic()
        return self.pop()


# --- the proxy's end ---------------------------------------------------------------------


class Worker:
    """A running worker. Its answers are read without a thread: the owner watches `fd`
    in its event loop and calls `take` when it is readable; `call` waits on it itself."""

    def __init__(self) -> None:
        why = available()
        if why is not None:
            raise WorkerError(why)
        script = Path(__file__).with_name("worker.py")
        try:
            # -O: mitmproxy type-checks every field of every message and connection it is
            # given while __debug__ holds, which would double the cost of rebuilding flows
            # that mitmproxy itself made a moment ago.
            self.process = subprocess.Popen(
                [sys.executable, "-O", str(script)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as e:
            raise WorkerError(f"cannot start {sys.executable}: {e}") from None
        assert self.process.stdin is not None and self.process.stdout is not None
        self._in = self.process.stdin.fileno()
        with contextlib.suppress(OSError, AttributeError):
            fcntl.fcntl(self._in, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)  # Linux only
        self.fd = self.process.stdout.fileno()
        os.set_blocking(self.fd, False)
        self._answers = _Frames(self.fd)
        self.gone = False
        self._calls = 0

    def send(self, message: tuple[Any, ...]) -> None:
        if self.gone:
            raise WorkerGone("the worker has exited")
        try:
            _write_all(self._in, _frame(message))
        except OSError:
            self.gone = True
            raise WorkerGone("the worker has exited") from None

    def take(self) -> list[tuple[Any, ...]]:
        """The messages that arrived so far, without waiting; marks the worker gone at
        the end of its output."""
        if not self.gone:
            try:
                if not self._answers.fill():
                    self.gone = True
            except OSError:
                self.gone = True
        taken = []
        while self._answers.ready():
            taken.append(self._answers.pop())
        return taken

    def call(self, handle: Callable[[tuple[Any, ...]], None], name: str, *args: Any) -> Any:
        """Ask the worker to do `name` after everything sent before; every other message
        that arrives meanwhile goes to `handle`, in order. Raises WorkerError with the
        worker's message when it refused, WorkerGone when it exited first."""
        self._calls += 1
        number = self._calls
        self.send(("call", number, name, *args))
        deadline = time.monotonic() + CALL_TIMEOUT_S
        while True:
            for message in self.take():
                if message[0] == "reply" and message[1] == number:
                    _, _, ok, value = message
                    if not ok:
                        raise WorkerError(value)
                    return value
                handle(message)
            if self.gone:
                raise WorkerGone("the worker has exited")
            left = deadline - time.monotonic()
            if left <= 0:
                raise WorkerError(f"the worker did not answer {name} in time")
            # poll, not select: a busy proxy's descriptors may be past select's 1024.
            waiting = select.poll()
            waiting.register(self.fd, select.POLLIN)
            waiting.poll(left * 1000)

    def close(self, timeout: float = 30.0) -> None:
        """End of input: the worker finishes what it was sent and exits."""
        with contextlib.suppress(OSError):
            assert self.process.stdin is not None
            self.process.stdin.close()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.gone = True


# --- the worker's end --------------------------------------------------------------------


class _Forward(logging.Handler):
    """The worker's log lines, sent to the proxy to log there."""

    def __init__(self, send: Callable[[tuple[Any, ...]], None]) -> None:
        super().__init__()
        self._send = send

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
            self._send(("log", record.levelno, text))
        except Exception:
            self.handleError(record)


def serve(in_fd: int, out_fd: int) -> int:
    """Run the addon's recording on every message until the proxy closes the pipe. What
    changed on flows goes back once the worker has caught up with its input: one message
    for a burst of flows, not one per flow."""
    from addons.cors import CorsScope

    def send(message: tuple[Any, ...]) -> None:
        with contextlib.suppress(OSError):
            _write_all(out_fd, _frame(message))

    logger = logging.getLogger("corscope")
    logger.handlers[:] = [_Forward(send)]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False

    scope = CorsScope()
    shown: list[Any] = []
    scope.sink = shown

    def ship() -> None:
        """What changed on flows, to the proxy when it shows flows; forgotten otherwise."""
        if shown and scope.verdicts_back:
            changes = {f.id: (f.id, f.metadata.get("cors"), f.marked, f.comment) for f in shown}
            send(("shown", list(changes.values())))
        shown.clear()

    done = False
    os.set_blocking(in_fd, False)
    frames = _Frames(in_fd)
    while True:
        if not frames.ready():
            ship()
        try:
            message = frames.next()
        except (OSError, ValueError, EOFError):
            message = None
        if message is None:
            # The proxy exited, or was killed: settle and write what is still waiting.
            if not done:
                scope.done()
            return 0
        kind = message[0]
        if kind == "flow":
            scope.record_snapshot(message[1])
        elif kind == "beacon":
            scope.take_beacon_records(*message[1:])
        elif kind == "write":
            scope.write(message[1])
        elif kind == "call":
            _, number, name, *args = message
            try:
                value = scope.worker_call(name, *args)
            except WorkerError as e:
                send(("reply", number, False, str(e)))
            else:
                ship()
                send(("reply", number, True, value))
            done = done or name == "done"


def main() -> int:
    with contextlib.suppress(OSError, AttributeError):  # AttributeError: no os.nice
        os.nice(NICENESS)
    # Frames go out on a copy of stdout; stdout itself then points at stderr, so that a
    # stray print anywhere cannot corrupt them.
    out_fd = os.dup(1)
    os.dup2(2, 1)
    return serve(sys.stdin.fileno(), out_fd)


if __name__ == "__main__":
    # Run as a file by the proxy (`python addons/worker.py`): the checkout is the root,
    # and the module is imported under its package name so that its classes are the ones
    # the addon's modules see.
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    sys.path.insert(0, str(Path(here).parent))
    from addons import worker

    sys.exit(worker.main())
