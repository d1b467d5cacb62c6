"""`corscope analyze` in stages, timed: what the benchmarks run where the CLI has no flag
for it, and how they split the time between reading, assembling, deciding, diagnosing.

    python -m benchmarks.pipeline FILE [--jobs N] [--stop-after read|assemble|decide]

Prints one JSON object: wall and CPU seconds and the resident memory after each stage
(Linux), the counts, and this process's peak RSS. Mirrors `analysis.cli.analyze` (read,
decide, diagnose, summary) without printing the summary.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

STAGES = ("read", "assemble", "decide", "diagnose")


class _Clock:
    def __init__(self) -> None:
        self.stages: dict[str, dict[str, float]] = {}
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self, stage: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.stages[stage] = {"wall_s": wall - self.wall, "cpu_s": cpu - self.cpu}
        rss = _resident_bytes()
        if rss is not None:
            self.stages[stage]["rss_bytes"] = rss
        self.wall, self.cpu = wall, cpu


def _resident_bytes() -> int | None:
    """This process's resident memory now (Linux), to see which stage sets the peak."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def run(path: str, jobs: int, stop_after: str) -> dict[str, Any]:
    from analysis.readers import PROXY_FORMATS, _load, collector_paused, sniff
    from analysis.readers.assemble import assemble_consuming

    clock = _Clock()
    fmt = sniff(path)
    # As `analysis.readers.read` does it, one stage at a time.
    with collector_paused():
        loaded = _load(fmt, path, None, jobs)
    clock.lap("read")
    out: dict[str, Any] = {"format": fmt, "transactions": len(loaded.captured)}
    if stop_after != "read":
        with collector_paused():
            exchanges = assemble_consuming(
                loaded.captured, origin_file=path, via_proxy=fmt in PROXY_FORMATS
            ).exchanges
        del loaded
        clock.lap("assemble")
        out["exchanges"] = len(exchanges)
        if stop_after != "assemble":
            from analysis.parallel import decide_all_parallel

            decided, skipped = decide_all_parallel(exchanges, jobs)
            del exchanges
            clock.lap("decide")
            out["decided"], out["not_cross_origin"] = len(decided), skipped
            if stop_after != "decide":
                from analysis.diagnosis.findings import diagnose

                out["findings"] = len(diagnose(decided, jobs=jobs))
                clock.lap("diagnose")
    out["stages"] = clock.stages
    # ru_maxrss is in KiB on Linux, bytes on macOS.
    scale = 1 if sys.platform == "darwin" else 1024
    out["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pipeline")
    parser.add_argument("path")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--stop-after", choices=STAGES, default="diagnose")
    args = parser.parse_args(argv)
    os.environ.setdefault("PYTHONHASHSEED", "0")
    print(json.dumps(run(args.path, args.jobs, args.stop_after)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
