"""`corscope`: a thin command line over `analysis.api`.

Exit status: 0 nothing blocked, 1 something blocked, 2 bad input or usage.
"""

from __future__ import annotations

import contextlib
import gc
import json
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TextIO

import click
from rich.console import Console
from rich.markup import escape

from analysis.api import Analysis, Decided, analyze_files, write_document
from analysis.parallel import default_jobs
from analysis.progress import Progress
from analysis.readers.errors import InputError

if TYPE_CHECKING:
    from analysis.diagnosis.findings import Finding

EXIT_OK, EXIT_BLOCKED, EXIT_BAD_INPUT = 0, 1, 2
UNENCODABLE = "backslashreplace"
"""For lone surrogates, all UTF-8 cannot encode: in JSON, "\\ud800" is the escape a HAR
carried them as, so the document reads back the same."""
SHOWN_BLOCKED = 50
SHOWN_FINDINGS = 50


def _fail(message: str) -> None:
    click.echo(f"corscope: error: {message}", err=True)
    sys.exit(EXIT_BAD_INPUT)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="corscope")
def main() -> None:
    """Find out which cross-origin requests the browser blocked, why, and what to change."""
    for stream in (sys.stdout, sys.stderr):
        # A HAR's "\ud800" escapes make strings no encoding can write; printed as escapes
        # they cannot end the run in a traceback.
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors=UNENCODABLE)


@main.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the corscope/1 JSON document here ('-' for standard output).",
)
@click.option(
    "-o",
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the self-contained HTML report here.",
)
@click.option(
    "--no-redact",
    is_flag=True,
    help="Keep tokens and keys in the report and JSON (the report then says so in red).",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=0),
    default=None,
    help=(
        "Read flow files and HARs, decide verdicts and tabulate them for diagnosis on this many"
        " processes (0: every core). Default: every core where processes can fork, for"
        " inputs large enough to pay off (past ~10k exchanges); 1 for one process."
    ),
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
def analyze(
    inputs: tuple[str, ...],
    json_path: str | None,
    report_path: str | None,
    no_redact: bool,
    jobs: int | None,
    quiet: bool,
) -> None:
    """Decide every cross-origin exchange in INPUTS the way the browser did.

    INPUTS are HAR files (any browser), mitmproxy flow files, or corscope captures; the
    format is read from the content, not the file name.
    """
    if jobs is None:
        jobs = default_jobs()
    with _kept_to_the_end():
        try:
            with Progress(enabled=None if not quiet else False) as progress:
                analysis = analyze_files(list(inputs), jobs=jobs, progress=progress)
        except InputError as err:
            _fail(str(err))
            return
        # Imported here: pandas and jinja2 take a good part of a second to load, which is
        # most of the run on a small capture, and nothing before this point needs them.
        findings: list[Finding] = []
        if analysis.decided:
            from analysis.diagnosis.findings import diagnose

            findings = diagnose(analysis.decided, jobs=jobs)
    if json_path:
        _write_document(analysis, findings, json_path, redact=not no_redact)
    if report_path:
        from reports.render import write_report

        try:
            write_report(report_path, analysis, findings, redact=not no_redact)
        except OSError as err:
            _fail(f"{report_path}: cannot write: {err.strerror or err}")
    if not quiet and json_path != "-":
        console = Console(highlight=False, soft_wrap=True)
        print_summary(analysis, console)
        print_findings(findings, console)
        if report_path:
            console.print(f"\nreport: {escape(report_path)}")
    sys.exit(EXIT_BLOCKED if analysis.blocked else EXIT_OK)


@contextlib.contextmanager
def _kept_to_the_end() -> Iterator[None]:
    """Reading, deciding and diagnosing build millions of objects with no reference cycles
    among them, all kept to the end of the run: the cyclic collector would only walk them
    again and again (a tenth of the run's time). It is off meanwhile, and comes back with
    them frozen out of its sight, for the writers, whose JSON encoder leaves cycles behind."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


@main.command(
    "lab",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def lab(args: tuple[str, ...]) -> None:
    """Run the real-browser lab: Chromium judges every scenario, corscope must agree.

    Needs Debian's chromium. `corscope lab --help` lists the lab's own options
    (--scenario, --list, --workdir, --report, …).
    """
    from analysis.lab import main as lab_main

    sys.exit(lab_main(list(args)))


@main.command("har")
@click.argument("capture", type=click.Path(dir_okay=False))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    required=True,
    help="Where to write the HAR 1.2 file.",
)
def to_har(capture: str, output: str) -> None:
    """Turn a corscope capture (JSON lines) into a standard .har file other tools import."""
    from analysis.readers.capture import capture_to_har

    try:
        har = capture_to_har(capture)
    except InputError as err:
        _fail(str(err))
        return
    _write_json(har, output)
    click.echo(f"wrote {output} ({len(har['log']['entries'])} entries)")


def _write_document(
    analysis: Analysis, findings: list[Finding], path: str, *, redact: bool
) -> None:
    _write(path, lambda out: write_document(analysis, out, findings, redact=redact))


def _write_json(data: dict, path: str) -> None:
    _write(path, lambda out: out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n"))


def _write(path: str, write: Callable[[TextIO], object]) -> None:
    """`write` to standard output for "-", else to the file; one line and exit 2 if it
    cannot be written."""
    if path == "-":
        write(sys.stdout)
        return
    try:
        with open(path, "w", encoding="utf-8", errors=UNENCODABLE) as out:
            write(out)
    except OSError as err:
        _fail(f"{path}: cannot write: {err.strerror or err}")


def print_summary(analysis: Analysis, console: Console) -> None:
    for warning in analysis.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    decided = analysis.decided
    blocked, conditional = analysis.blocked, analysis.conditional
    warned = sum(bool(d.verdict.warnings) for d in decided)
    console.print(
        f"[bold]{len(decided)}[/] cross-origin exchanges: "
        f"[red]{len(blocked)} blocked[/], {len(conditional)} conditional, "
        f"{len(decided) - len(blocked) - len(conditional)} allowed, {warned} with warnings"
        f" ({analysis.not_cross_origin} same-origin or navigation requests not counted)"
    )
    if blocked:
        _print_table(console, "Blocked", blocked[:SHOWN_BLOCKED])
        if len(blocked) > SHOWN_BLOCKED:
            console.print(f"… and {len(blocked) - SHOWN_BLOCKED} more (see --json)")
    if conditional:
        _print_table(console, "Depends on what the wire does not show", conditional[:20])


def _print_table(console: Console, title: str, rows: list[Decided]) -> None:
    console.print(f"\n[bold]{title}[/]")
    for d in rows:
        v = d.verdict
        if v.fault:
            why = f"not a CORS failure: {v.fault}"
        elif v.blocked is None:
            # A redirect mode's failure is a network error of its own, never a CORS check.
            fallback = "not a CORS failure" if v.condition == "redirect-error" else "unknown"
            why = f"blocked if {_condition_text(v.condition)}: {v.reason or fallback}"
        else:
            why = v.reason or "blocked by the browser; the capture does not say at which check"
            if v.failed_parameter:
                why += f" ({v.failed_parameter})"
        where = f" at {v.stage}" if v.stage and not v.fault else ""
        if v.with_credentials is not None:
            where += f"; if sent with credentials: {v.with_credentials.reason}"
        console.print(
            f"  [dim]{escape(d.exchange.id)}[/] {escape(d.exchange.method)}"
            f" {escape(d.exchange.url)}\n      [red]{escape(why)}[/]{escape(where)}"
        )


def print_findings(findings: list[Finding], console: Console) -> None:
    if not findings:
        return
    console.print("\n[bold]Root causes, most damaging first[/]")
    colors = {"blocked": "red", "security": "magenta", "warning": "yellow"}
    for f in findings[:SHOWN_FINDINGS]:
        color = colors.get(f.severity, "white")
        impact = f"{len(f.exchanges)} requests, {len(f.endpoints)} endpoints"
        console.print(
            f"  {f.rank:>2}. [{color}]{f.severity:<8}[/] {escape(f.title)} [dim]({impact};"
            f" {escape(f.root_cause)})[/]"
        )
        console.print(f"      fix on {escape(f.fix.layer)}: {escape(_first_sentence(f.fix.text))}")
    if len(findings) > SHOWN_FINDINGS:
        console.print(f"… and {len(findings) - SHOWN_FINDINGS} more (see the report or --json)")


def _first_sentence(text: str) -> str:
    head = text.strip().split("\n", 1)[0]
    return head if len(head) <= 160 else head[:157] + "…"


def _condition_text(condition: str | None) -> str:
    return {
        "credentials-include": "sent with credentials",
        "cors-mode": "a CORS request (fetch, XHR), not a beacon or a no-cors fetch",
        "cors-mode-credentials-include": "a CORS request (fetch, XHR) sent with credentials",
        "response-not-captured": "(response not in the capture)",
        "redirect-target-not-captured": "(redirect target not in the capture)",
        "redirect-error": "the fetch used redirect: 'error' (it did not follow the redirect)",
        "preflight-response-not-captured": "(preflight response not in the capture)",
    }.get(condition or "", condition or "unknown")


if __name__ == "__main__":  # pragma: no cover
    main()
