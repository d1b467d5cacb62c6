"""A real `mitmdump` in a subprocess, as a user would run it, writing a flow file."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from analysis.lab.offline_addon import OFFLINE_HEADER

REPO_ROOT = Path(__file__).resolve().parents[2]
OFFLINE_ADDON = Path(__file__).with_name("offline_addon.py")
_LISTENING = re.compile(r"proxy listening at .*?:(\d+)")
_RESEND_SIGINT_S = 3.0


class ProxyError(RuntimeError):
    pass


def mitmdump_path() -> str:
    """mitmdump from the running interpreter's environment: the lab must test the mitmproxy
    the project is installed with, not whichever one is first on PATH."""
    local = Path(sys.executable).parent / "mitmdump"
    if local.exists():
        return str(local)
    found = shutil.which("mitmdump")
    if found is None:
        raise ProxyError("mitmdump not found next to the interpreter nor on PATH")
    return found


def capture_addon_args(
    capture_path: Path, *, probe: bool = True, repo_root: Path = REPO_ROOT
) -> tuple[str, ...]:
    """`-s addons/cors.py --set cors_capture=… --set cors_probe=…` when the project's addon
    exists, else ().

    `probe` is the addon's in-page probe, which reports what the wire cannot show:
    service-worker answers, browser-cache hits, the browser's own errors. It is set either
    way, so the lab never depends on the addon's default.
    """
    addon = repo_root / "addons" / "cors.py"
    if not addon.exists():
        return ()
    return (
        "-s", str(addon),
        "--set", f"cors_capture={capture_path}",
        "--set", f"cors_probe={'true' if probe else 'false'}",
    )  # fmt: skip


@dataclass
class ProxyConfig:
    flow_path: Path
    confdir: Path
    log_path: Path
    host_map: dict[str, str] = field(default_factory=dict)
    extra_args: tuple[str, ...] = ()
    """Appended to the command line, e.g. `capture_addon_args(...)`."""
    start_timeout_s: float = 30.0
    stop_timeout_s: float = 15.0
    """How long mitmdump may take to exit after SIGINT before it is killed."""


class Proxy:
    """Context manager: starts mitmdump, waits until it listens, stops it with SIGINT."""

    def __init__(self, config: ProxyConfig) -> None:
        self.config = config
        self.port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        c = self.config
        hosts = ",".join(f"{name}={ip}" for name, ip in sorted(c.host_map.items()))
        return [
            mitmdump_path(),
            "--listen-host",
            "127.0.0.1",
            "-p",
            "0",  # the OS picks the port; it is read back from the log
            "--set",
            f"confdir={c.confdir}",
            "--set",
            "ssl_insecure=true",
            "--set",
            "termlog_verbosity=info",
            "--set",
            "flow_detail=0",
            "-w",
            str(c.flow_path),
            # Locally refused off-loopback calls are the lab's plumbing, not evidence.
            "--set",
            f"save_stream_filter=!~hs {OFFLINE_HEADER}",
            "-s",
            str(OFFLINE_ADDON),
            "--set",
            f"lab_hosts={hosts}",
            *c.extra_args,
        ]

    def __enter__(self) -> Proxy:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        c = self.config
        c.confdir.mkdir(parents=True, exist_ok=True)
        log = c.log_path.open("wb")
        self._process = subprocess.Popen(
            self.command(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # mitmdump must not inherit a terminal's Ctrl-C group: we stop it ourselves.
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + c.start_timeout_s
        while time.monotonic() < deadline:
            match = _LISTENING.search(self.log_text())
            if match:
                self.port = int(match.group(1))
                return
            if self._process.poll() is not None:
                raise ProxyError(
                    f"mitmdump exited with {self._process.returncode}:\n" + self.log_text()[-2000:]
                )
            time.sleep(0.05)
        self.stop()
        raise ProxyError("mitmdump did not start listening:\n" + self.log_text()[-2000:])

    def log_text(self) -> str:
        try:
            return self.config.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    @staticmethod
    def _interrupt(process: subprocess.Popen[bytes], limit: float) -> None:
        """SIGINT until it exits or `limit` passes. asyncio can lose a signal: when its
        wakeup pipe is full, the byte that names the signal is dropped ("Exception ignored
        when trying to write to the signal wakeup fd") and mitmdump never starts to shut
        down. A repeated SIGINT is harmless once it has."""
        deadline = time.monotonic() + limit
        while True:
            os.kill(process.pid, signal.SIGINT)
            left = deadline - time.monotonic()
            try:
                process.wait(timeout=max(0.0, min(_RESEND_SIGINT_S, left)))
                return
            except subprocess.TimeoutExpired:
                if time.monotonic() >= deadline:
                    raise

    def stop(self) -> str | None:
        """SIGINT, so mitmdump closes the flow file properly; kill only if it hangs.

        Returns a warning when it had to be killed: mitmdump buffers the flow file, so the
        last flows of the session are then missing from it."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return None
        limit = self.config.stop_timeout_s
        try:
            self._interrupt(process, limit)
        except subprocess.TimeoutExpired:
            # Where it hangs, into the log (see offline_addon.py), before it is gone.
            for dump in (signal.SIGUSR2, signal.SIGUSR1):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, dump)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=1)
            process.kill()
            process.wait(timeout=5)
            return (
                f"mitmdump ignored SIGINT for {limit:g} s and was killed; its threads and "
                f"tasks at that moment are at the end of {self.config.log_path}. The lab "
                "flushes the flow file as it goes, so that is complete."
            )
        if process.returncode not in (0, -signal.SIGINT, 130):
            return f"mitmdump exited with {process.returncode}: see {self.config.log_path}"
        return None
