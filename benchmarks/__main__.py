"""`python -m benchmarks`: how fast corscope reads and analyzes a day of traffic, and in
how much memory. Figures only; nothing here is asserted by the tests.

    .venv/bin/python -m benchmarks                   # all three, full sizes (~40 min here)
    .venv/bin/python -m benchmarks --quick           # small sizes, a few minutes
    .venv/bin/python -m benchmarks --only flows,har  # some of them
    .venv/bin/python -m benchmarks --all             # and the other scripts in benchmarks/

1. flows: `corscope analyze` end to end on mitmproxy flow files of 10k and 100k flows,
   against the time mitmproxy's FlowReader takes just to read the same file.
   Target: corscope at least 10x faster.
2. har: the same for HAR files of 10k and 100k entries, against `json.load` of the file.
   Target: corscope within 1.5x of json.load.
3. memory: peak memory analyzing 1M exchanges. Target: under 1 GB.

Every measurement is a fresh process, timed from outside, its own peak RSS from
`os.wait4`; the files are generated first (`benchmarks/traffic.py`) and read from a warm
page cache, so that the disk is not what is compared. The baseline and corscope run
back to back in the same run and are reported side by side, with the load average:
on a shared machine the ratios are what carries over, not the seconds.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import measure, traffic

FLOWREADER = (
    "import sys\n"
    "from mitmproxy.io import FlowReader\n"
    "with open(sys.argv[1], 'rb') as f:\n"
    "    print(sum(1 for _ in FlowReader(f).stream()))\n"
)
JSON_LOAD = (
    "import json, sys\n"
    "with open(sys.argv[1], encoding='utf-8') as f:\n"
    "    print(len(json.load(f)['log']['entries']))\n"
)
HAR_BODY_SCALE = 0.5
"""HAR bodies at half the flow files' sizes: json.load of a 100k-entry HAR holds the whole
file several times over in memory, and the machine is shared."""
MEMORY_BODY_SCALE = 0.01
"""Bodies barely matter to memory (the readers keep none); small ones keep the 1M file
and its generation short."""
FLOWS_PER_EXCHANGE = 1.23
"""In the generated traffic, preflights join their requests: about 0.81 exchanges a flow."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--only", default="flows,har,memory", help="comma-separated")
    parser.add_argument("--all", action="store_true", help="also run the other scripts here")
    parser.add_argument("--quick", action="store_true", help="sizes for a few minutes")
    parser.add_argument("--jobs", type=int, default=2, help="for the --jobs runs (default 2)")
    parser.add_argument("--workdir", type=Path, help="keep generated files here and reuse them")
    args = parser.parse_args(argv)

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="corscope-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    results: dict[str, Any] = {"machine": measure.machine(), "load_before": measure.load()}
    _print_machine(results["machine"], results["load_before"])
    try:
        if "flows" in chosen:
            sizes = (2_000, 10_000) if args.quick else (10_000, 100_000)
            results["flows"] = [flows(n, workdir, args.jobs) for n in sizes]
        if "har" in chosen:
            sizes = (2_000, 10_000) if args.quick else (10_000, 100_000)
            results["har"] = [har(n, workdir, args.jobs) for n in sizes]
        if "memory" in chosen:
            results["memory"] = memory(100_000 if args.quick else 1_000_000, workdir)
        if args.all:
            results["others"] = others()
    finally:
        results["load_after"] = measure.load()
        print(f"\nload average after: {results['load_after']}")
        (workdir / "results.json").write_text(json.dumps(results, indent=2))
        print(f"results: {workdir / 'results.json'}")
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _print_machine(machine: dict[str, str], load: str) -> None:
    print("corscope benchmarks")
    print(
        f"machine: {machine['nproc']} cores usable, {machine['cpu']}, {machine['memory']}; "
        f"{machine['implementation']} {machine['python']}, mitmproxy {machine['mitmproxy']}, "
        f"{machine['os']}"
    )
    print(f"load average before: {load}")


def _generate(path: Path, kind: str, count: int, body_scale: float) -> Path:
    if path.exists():
        return path
    started = time.perf_counter()
    partial = path.with_suffix(path.suffix + ".partial")
    if kind == "flows":
        traffic.write_flows(str(partial), count, body_scale=body_scale)
    else:
        traffic.write_har(str(partial), count, body_scale=body_scale)
    partial.rename(path)
    print(
        f"  generated {path.name}: {measure.size(path.stat().st_size)} "
        f"in {time.perf_counter() - started:.0f} s"
    )
    return path


def _pipeline(path: Path, jobs: int, stop_after: str = "diagnose") -> tuple[measure.Run, dict]:
    result = measure.run(
        [
            measure.python(),
            "-m",
            "benchmarks.pipeline",
            str(path),
            "--jobs",
            str(jobs),
            "--stop-after",
            stop_after,
        ]
    ).check()
    return result, json.loads(result.stdout.strip().splitlines()[-1])


def _cli(path: Path, jobs: int, *extra: str) -> measure.Run:
    # Always a --jobs: unless told, `corscope analyze` takes every core that forks.
    cmd = [measure.corscope(), "analyze", str(path), "-q", "--jobs", str(jobs), *extra]
    return measure.run(cmd).check(ok=(0, 1))


def _stages(detail: dict) -> str:
    stages = detail["stages"]
    return ", ".join(f"{name} {stages[name]['wall_s']:.1f} s" for name in stages)


# --- 1. flow files --------------------------------------------------------------------------


def flows(count: int, workdir: Path, jobs: int) -> dict[str, Any]:
    print(f"\n[flows] {count:,} flows")
    path = _generate(workdir / f"flows-{count}.mitm", "flows", count, 1.0)
    baseline = measure.run([measure.python(), "-c", FLOWREADER, str(path)]).check()
    cli = _cli(path, 1)
    out: dict[str, Any] = {
        "flows": count,
        "file_bytes": path.stat().st_size,
        "flowreader_s": baseline.wall_s,
        "flowreader_peak_rss": baseline.peak_rss_bytes,
        "corscope_analyze_s": cli.wall_s,
        "corscope_peak_rss": cli.peak_rss_bytes,
        "ratio": baseline.wall_s / cli.wall_s,
    }
    print(
        f"  FlowReader, reading only:        {baseline.wall_s:7.1f} s   "
        f"peak {measure.size(baseline.peak_rss_bytes)}"
    )
    print(
        f"  corscope analyze --jobs 1:       {cli.wall_s:7.1f} s   "
        f"peak {measure.size(cli.peak_rss_bytes)}   {out['ratio']:.1f}x faster (target >= 10x)"
    )
    parallel = _cli(path, jobs)
    out["corscope_jobs_s"] = parallel.wall_s
    out["ratio_jobs"] = baseline.wall_s / parallel.wall_s
    print(
        f"  {f'corscope analyze --jobs {jobs}:':32} {parallel.wall_s:7.1f} s   "
        f"peak {measure.size(parallel.peak_rss_bytes)}   {out['ratio_jobs']:.1f}x faster"
    )
    _, detail = _pipeline(path, 1)
    out["stages"] = detail["stages"]
    out["exchanges"] = detail.get("exchanges")
    read = detail["stages"]["read"]["wall_s"]
    out["read_ratio"] = baseline.wall_s / read
    print(f"  stages (serial): {_stages(detail)}")
    print(
        f"  reading alone: {read:.1f} s, {out['read_ratio']:.1f}x faster than FlowReader "
        f"({count / read:,.0f} flows/s, {path.stat().st_size / read / 1e6:,.0f} MB/s)"
    )
    return out


# --- 2. HAR files ---------------------------------------------------------------------------


def har(count: int, workdir: Path, jobs: int) -> dict[str, Any]:
    print(f"\n[har] {count:,} entries")
    path = _generate(workdir / f"har-{count}.har", "har", count, HAR_BODY_SCALE)
    baseline = measure.run([measure.python(), "-c", JSON_LOAD, str(path)]).check()
    cli = _cli(path, 1)
    out: dict[str, Any] = {
        "entries": count,
        "file_bytes": path.stat().st_size,
        "json_load_s": baseline.wall_s,
        "json_load_peak_rss": baseline.peak_rss_bytes,
        "corscope_analyze_s": cli.wall_s,
        "corscope_peak_rss": cli.peak_rss_bytes,
        "ratio": cli.wall_s / baseline.wall_s,
    }
    print(
        f"  json.load of the file:           {baseline.wall_s:7.1f} s   "
        f"peak {measure.size(baseline.peak_rss_bytes)}"
    )
    print(
        f"  corscope analyze --jobs 1:       {cli.wall_s:7.1f} s   "
        f"peak {measure.size(cli.peak_rss_bytes)}   {out['ratio']:.2f}x json.load (target <= 1.5x)"
    )
    parallel = _cli(path, jobs)
    out["corscope_jobs_s"] = parallel.wall_s
    out["ratio_jobs"] = parallel.wall_s / baseline.wall_s
    print(
        f"  {f'corscope analyze --jobs {jobs}:':32} {parallel.wall_s:7.1f} s   "
        f"peak {measure.size(parallel.peak_rss_bytes)}   {out['ratio_jobs']:.2f}x json.load"
    )
    _, detail = _pipeline(path, 1)
    out["stages"] = detail["stages"]
    read = detail["stages"]["read"]["wall_s"]
    out["read_ratio"] = read / baseline.wall_s
    print(f"  stages (serial): {_stages(detail)}")
    print(f"  reading alone: {read:.1f} s, {out['read_ratio']:.2f}x json.load")
    return out


# --- 3. memory ------------------------------------------------------------------------------


def memory(exchanges: int, workdir: Path) -> dict[str, Any]:
    count = int(exchanges * FLOWS_PER_EXCHANGE)
    print(f"\n[memory] about {exchanges:,} exchanges ({count:,} flows)")
    path = _generate(workdir / f"memory-{count}.mitm", "flows", count, MEMORY_BODY_SCALE)
    decided_run, detail = _pipeline(path, 1, stop_after="decide")
    out: dict[str, Any] = {
        "flows": count,
        "file_bytes": path.stat().st_size,
        "exchanges": detail["exchanges"],
        "decided": detail["decided"],
        "read_decide_peak_rss": decided_run.peak_rss_bytes,
        "read_decide_s": decided_run.wall_s,
    }
    print(
        f"  read + assemble + decide:  peak {measure.size(decided_run.peak_rss_bytes)} "
        f"for {detail['exchanges']:,} exchanges "
        f"({decided_run.peak_rss_bytes / detail['exchanges']:,.0f} B each; target < 1 GB), "
        f"{decided_run.wall_s:.0f} s"
    )
    cli = _cli(path, 1)
    out["corscope_analyze_peak_rss"] = cli.peak_rss_bytes
    out["corscope_analyze_s"] = cli.wall_s
    print(
        f"  corscope analyze (with diagnosis): peak {measure.size(cli.peak_rss_bytes)}, "
        f"{cli.wall_s:.0f} s"
    )
    with tempfile.TemporaryDirectory(prefix="corscope-bench-") as tmp:
        document = Path(tmp) / "analysis.json"
        written = _cli(path, 1, "--json", str(document))
        out["json_bytes"] = document.stat().st_size
    out["corscope_analyze_json_peak_rss"] = written.peak_rss_bytes
    out["corscope_analyze_json_s"] = written.wall_s
    print(
        f"  corscope analyze --json (writing {measure.size(out['json_bytes'])}): "
        f"peak {measure.size(written.peak_rss_bytes)}, {written.wall_s:.0f} s"
    )
    return out


# --- the others' scripts ----------------------------------------------------------------------


def others() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for script in ("report_size.py", "addon_throughput.py"):
        path = measure.REPO / "benchmarks" / script
        if not path.exists():
            continue
        print(f"\n[{script}]")
        result = measure.run([measure.python(), str(path)])
        print(result.stdout.rstrip() or result.stderr[-2000:])
        out[script] = {"wall_s": result.wall_s, "returncode": result.returncode}
    return out


if __name__ == "__main__":
    sys.exit(main())
