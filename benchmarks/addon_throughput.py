"""How much the addon costs mitmdump: throughput on loopback with and without it.

    .venv/bin/python benchmarks/addon_throughput.py [--requests 1500] [--rounds 15]

Starts one upstream server (127.0.0.2) and four mitmdumps side by side: without the
addon, with it and the probe off, with it and the probe on (both deciding in the addon's
worker process, as it does by default), and with the probe off deciding inside the proxy
(`cors_worker=false`). A load generator in a second
process (stdlib threads, one keep-alive connection each) sends the same request mix
through each proxy in turn, round after round, so that drift in the machine's speed hits
all of them alike. Prints requests per second per configuration and its ratio to the
proxy without the addon, twice: median over median, and the median of each round's own
ratio (the configurations of one round run back to back, so the machine's drift from round
to round cancels out of it), and mitmdump's own CPU time per request with the ratio it implies
(plain CPU / CPU with the addon: the throughput ratio a CPU-bound proxy would reach, and
the steadier figure on a shared machine), and the CPU time the addon's worker used per
request on top, on the machine's other cores. Bounded in requests and in time; never asserted
by tests.

The mix is what a browser session sends a proxy: mostly cross-origin API calls (the
addon records and decides each), some preflights, some same-origin requests (which the
addon skips after a header lookup), and some HTML page loads (which the probe rewrites).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ADDON = REPO / "addons" / "cors.py"
PAGE = "http://127.0.0.1:5173"
_LISTENING = re.compile(rb"proxy listening at .*?:(\d+)")

HTML = (
    b"<!doctype html><html><head><title>app</title></head><body>" + b"x" * 4000 + b"</body></html>"
)


class Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes: without this, Nagle's algorithm and the
    # proxy's delayed ACK add 40 ms to every response and hide any cost of the addon.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        origin = self.headers.get("origin")
        if self.path.startswith("/page"):
            body, headers = HTML, [("Content-Type", "text/html; charset=utf-8")]
        else:
            body, headers = b'{"ok": true}', [("Content-Type", "application/json")]
            if origin:
                headers += [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
            if self.command == "OPTIONS":
                body = b""
                headers += [("Access-Control-Allow-Methods", "PUT"),
                            ("Access-Control-Allow-Headers", "content-type"),
                            ("Access-Control-Max-Age", "600")]  # fmt: skip
        self.send_response(204 if self.command == "OPTIONS" else 200)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_OPTIONS = _serve


def request_mix(api: str) -> list[tuple[str, str, list[tuple[str, str]]]]:
    cors = [("Origin", PAGE), ("Sec-Fetch-Mode", "cors"), ("Sec-Fetch-Site", "cross-site"),
            ("Sec-Fetch-Dest", "empty")]  # fmt: skip
    same = [("Sec-Fetch-Mode", "no-cors"), ("Sec-Fetch-Site", "same-origin"),
            ("Sec-Fetch-Dest", "image")]  # fmt: skip
    nav = [("Accept", "text/html"), ("Sec-Fetch-Mode", "navigate"),
           ("Sec-Fetch-Site", "none"), ("Sec-Fetch-Dest", "document")]  # fmt: skip
    preflight = [("Access-Control-Request-Method", "PUT"),
                 ("Access-Control-Request-Headers", "content-type"), *cors]  # fmt: skip
    mix = []
    for n in range(10):
        if n < 6:
            mix.append(("GET", f"{api}/api/items/{n}", cors))
        elif n == 6:
            mix.append(("OPTIONS", f"{api}/api/items/{n}", preflight))
        elif n == 7:
            mix.append(
                ("PUT", f"{api}/api/items/{n}", [*cors, ("Content-Type", "application/json")])
            )
        elif n == 8:
            mix.append(("GET", f"{api}/static/{n}.png", same))
        else:
            mix.append(("GET", f"{api}/page/{n}", nav))
    return mix


# --- the load generator (runs in its own process) ------------------------------------------


def generate(port: int, api: str, requests: int, threads: int, limit_s: float) -> dict:
    import http.client

    mix = request_mix(api)
    counter = iter(range(requests))
    lock = threading.Lock()
    done = [0]
    errors = [0]
    deadline = time.monotonic() + limit_s

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < deadline:
            with lock:
                n = next(counter, None)
            if n is None:
                break
            method, url, headers = mix[n % len(mix)]
            try:
                conn.putrequest(method, url, skip_host=True, skip_accept_encoding=True)
                conn.putheader("Host", url.split("/")[2])
                for name, value in headers:
                    conn.putheader(name, value)
                body = b"{}" if method == "PUT" else None
                if body is not None:
                    conn.putheader("Content-Length", "2")
                conn.endheaders(body)
                resp = conn.getresponse()
                resp.read()
                ok = resp.status < 500
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            with lock:
                done[0] += ok
                errors[0] += not ok
        conn.close()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    start = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return {"requests": done[0], "errors": errors[0], "seconds": time.perf_counter() - start}


# --- the proxies ------------------------------------------------------------------------------


class Proxy:
    def __init__(self, name: str, workdir: Path, args: list[str]) -> None:
        self.name = name
        self.log = workdir / f"{name}.log"
        mitmdump = str(Path(sys.executable).parent / "mitmdump")
        command = [mitmdump, "--listen-host", "127.0.0.1", "--listen-port", "0",
                   "--set", f"confdir={workdir / 'confdir'}",
                   "--set", "flow_detail=0", *args]  # fmt: skip
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, cwd=workdir
            )
        deadline = time.monotonic() + 60
        while True:
            match = _LISTENING.search(self.log.read_bytes())
            if match:
                self.port = int(match.group(1))
                return
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name}: mitmdump did not start:\n{self.log.read_text()}")
            time.sleep(0.05)

    def cpu_seconds(self) -> float | None:
        """User + system CPU time mitmdump used so far (Linux /proc), None elsewhere."""
        return _cpu_seconds(self.process.pid)

    def helper_cpu_seconds(self) -> float:
        """The same for the processes mitmdump started (the addon's worker)."""
        total = 0.0
        for task in Path(f"/proc/{self.process.pid}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            total += sum(_cpu_seconds(int(pid)) or 0.0 for pid in children)
        return total

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_load(proxy: Proxy, api: str, requests: int, threads: int, limit_s: float) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--generate", str(proxy.port), api, str(requests),
         str(threads), str(limit_s)],
        capture_output=True, text=True, check=True, timeout=limit_s + 60,
    )  # fmt: skip
    return json.loads(out.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1500, help="requests per round and proxy")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--threads", type=int, default=4, help="client connections")
    parser.add_argument("--limit", type=float, default=60.0, help="seconds per round at most")
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.2", 0), Upstream)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    api = f"http://127.0.0.2:{server.server_address[1]}"

    with tempfile.TemporaryDirectory(prefix="corscope-bench-") as tmp:
        work = Path(tmp)
        configs = [
            ("without addon", []),
            ("addon, probe off", ["-s", str(ADDON), "--set", f"cors_capture={work / 'off.jsonl'}",
                                  "--set", "cors_probe=false"]),
            ("addon, probe on", ["-s", str(ADDON), "--set", f"cors_capture={work / 'on.jsonl'}",
                                 "--set", "cors_probe=true"]),
            ("in-proxy, probe off", ["-s", str(ADDON), "--set", f"cors_capture={work / 'in.jsonl'}",
                                     "--set", "cors_probe=false", "--set", "cors_worker=false"]),
        ]  # fmt: skip
        proxies = [Proxy(f"p{i}", work, extra) for i, (_, extra) in enumerate(configs)]
        rates: dict[str, list[float]] = {name: [] for name, _ in configs}
        cpu_us: dict[str, list[float]] = {name: [] for name, _ in configs}
        helper_us: dict[str, list[float]] = {name: [] for name, _ in configs}
        try:
            # Warm-up: imports, TLS-free connection setup, the addon's first allocations.
            for proxy in proxies:
                run_load(proxy, api, 200, args.threads, args.limit)
            for r in range(args.rounds):
                order = list(range(len(proxies)))
                order = order[r % len(order) :] + order[: r % len(order)]
                for i in order:
                    before = proxies[i].cpu_seconds()
                    helper_before = proxies[i].helper_cpu_seconds()
                    result = run_load(proxies[i], api, args.requests, args.threads, args.limit)
                    after = proxies[i].cpu_seconds()
                    helper_after = proxies[i].helper_cpu_seconds()
                    if before is not None and after is not None and result["requests"]:
                        cpu_us[configs[i][0]].append((after - before) * 1e6 / result["requests"])
                        helper_us[configs[i][0]].append(
                            (helper_after - helper_before) * 1e6 / result["requests"]
                        )
                    if result["errors"]:
                        print(
                            f"  {configs[i][0]}: {result['errors']} failed requests",
                            file=sys.stderr,
                        )
                    rates[configs[i][0]].append(result["requests"] / result["seconds"])
        finally:
            for proxy in proxies:
                proxy.stop()
            server.shutdown()
        recorded = sum(1 for _ in open(work / "on.jsonl"))

    base = statistics.median(rates["without addon"])
    print(f"mitmdump throughput, {args.rounds} rounds x {args.requests} requests, "
          f"{args.threads} client connections, Python {sys.version.split()[0]}, "
          f"cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"{'configuration':<20}{'req/s (median)':>15}{'ratio':>7}{'per round':>10}"
          f"{'mitmdump CPU us/req':>21}{'ratio':>7}{'worker us/req':>15}"
          "   req/s per round")  # fmt: skip
    cpu_base = statistics.median(cpu_us["without addon"]) if cpu_us["without addon"] else None
    for name, values in rates.items():
        median = statistics.median(values)
        rounds = " ".join(f"{v:.0f}" for v in values)
        cpu = statistics.median(cpu_us[name]) if cpu_us[name] else None
        cpu_text = f"{cpu:>21.0f}{cpu_base / cpu:>7.2f}" if cpu and cpu_base else f"{'n/a':>28}"
        helper = statistics.median(helper_us[name]) if helper_us[name] else 0.0
        # Each round runs every configuration back to back, so a round's ratio is free of
        # the machine's drift from round to round; their median is the steadier figure.
        plain = rates["without addon"]
        paired = statistics.median(v / b for v, b in zip(values, plain, strict=True))
        print(f"{name:<20}{median:>15.0f}{median / base:>7.2f}{paired:>10.3f}{cpu_text}"
              f"{helper:>15.0f}   {rounds}")  # fmt: skip
    print(f"(capture lines written with the probe on: {recorded}. The CPU ratio is plain")
    print(" mitmdump's CPU per request over this one's: the steadier measure on a busy machine,")
    print(" as it does not count time spent waiting for a CPU. The worker's CPU is on top of")
    print(" mitmdump's, spent on another core while the proxy goes on)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--generate":
        port, api, requests, threads, limit = sys.argv[2:7]
        print(json.dumps(generate(int(port), api, int(requests), int(threads), float(limit))))
        sys.exit(0)
    sys.exit(main())
