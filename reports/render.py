"""The HTML report: one self-contained file people can forward to the team that owns the API.

    from reports.render import write_report
    write_report("cors-report.html", analysis, diagnose(analysis.decided))

The renderer decides nothing: it reads the verdicts and findings handed to it and lays them
out. Every captured value is treated as hostile: Jinja autoescapes all output, captured
values never reach an `href` or a script (the table's rows travel in an escaped JSON block
read with `textContent`), and a Content-Security-Policy forbids every network request.
Secrets are redacted by default (`analysis.redact`).
"""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from reports import cards, charts, glance, origins, rows
from reports.scrub import Scrubber

if TYPE_CHECKING:
    from analysis.api import Analysis
    from analysis.diagnosis.findings import Finding

TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["thousands"] = lambda n: f"{int(n):,}"
    return env


@lru_cache(maxsize=1)
def _assets() -> tuple[Markup, Markup, str]:
    """Stylesheet, script and the CSP hash that lets exactly that script run."""
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    script = (TEMPLATES / "report.js").read_text(encoding="utf-8")
    for name, text in (("report.css", css), ("report.js", script)):
        # Our own files, inlined verbatim: they must not be able to end their element.
        if "</" in text:
            raise ValueError(f"{name} must not contain '</'")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return Markup(css), Markup(script), f"'sha256-{digest}'"  # trusted: our own files


def content_security_policy(script_hash: str) -> str:
    # default-src 'none' covers fetch, images, fonts, frames and forms; only inline style,
    # one hashed script and data: images (none today) may load.
    return (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src {script_hash}; base-uri 'none'; form-action 'none'"
    )


CARD_LIMIT = 100
"""Findings shown as full cards (samples, evidence, fix, curl); those ranked below get one
line each. A capture that reaches thousands of failing APIs would otherwise make a report
of tens of megabytes that no one reads to the end; the JSON document has them all."""


def render_report(
    analysis: Analysis,
    findings: Sequence[Finding],
    *,
    redact: bool = True,
    title: str | None = None,
) -> str:
    scrub = Scrubber(redact)
    ranked = sorted(findings, key=lambda f: f.rank)
    by_id = {d.exchange.id: d for d in analysis.decided}
    finding_cards = [
        cards.card(f, position, by_id, scrub) for position, f in enumerate(ranked[:CARD_LIMIT], 1)
    ]
    briefs = [
        cards.brief(f, position, scrub)
        for position, f in enumerate(ranked[CARD_LIMIT:], CARD_LIMIT + 1)
    ]
    owner: dict[str, int] = {}
    for position, finding in enumerate(ranked, 1):
        for exchange_id in finding.exchanges:
            owner.setdefault(exchange_id, position)
    every = [*finding_cards, *briefs]
    titles = [(c.title, c.severity) for c in every]
    css, script, script_hash = _assets()
    bars = charts.by_finding(
        [charts.FindingCount(c.title, c.severity, c.exchanges, c.anchor, c.rank) for c in every]
    )
    context = {
        "title": title or _default_title(analysis, scrub),
        "redacted": redact,
        "csp": content_security_policy(script_hash),
        "css": css,
        "script": script,
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "glance": glance.glance(analysis, ranked, scrub),
        "bars": bars,
        "timeline": charts.over_time(analysis.decided, charts.plot_height_beside(bars)),
        "cards": finding_cards,
        "briefs": briefs,
        "finding_titles": titles,
        "table": rows.build(analysis.decided, owner, titles, scrub),
    }
    return _environment().get_template("report.html.j2").render(context)


def write_report(
    path: str | os.PathLike[str],
    analysis: Analysis,
    findings: Sequence[Finding],
    *,
    redact: bool = True,
    title: str | None = None,
) -> Path:
    """Render and write the report; a reader never sees a half-written file."""
    target = Path(path)
    html = render_report(analysis, findings, redact=redact, title=title)
    fd, temporary = tempfile.mkstemp(prefix=".corscope-", suffix=".html", dir=target.parent or ".")
    try:
        # A HAR can carry lone surrogates ("\ud800" escapes), which UTF-8 cannot encode.
        with os.fdopen(fd, "w", encoding="utf-8", errors="replace", newline="\n") as out:
            out.write(html)
        # mkstemp makes the file private; a report is made to be shared, like any new file.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def _default_title(analysis: Analysis, scrub: Scrubber) -> str:
    """Named after the API that fails most, since that is the team the report goes to."""
    apis: dict[str, int] = {}
    seen: dict[str, str | None] = {}  # final URL → origin: URLs repeat in a session
    for d in analysis.blocked or analysis.decided:
        url = d.exchange.final_url
        origin = seen[url] if url in seen else seen.setdefault(url, origins.origin(url))
        if origin:
            apis[origin] = apis.get(origin, 0) + 1
    if not apis:
        return "CORS report"
    top = sorted(apis, key=lambda o: -apis[o])
    more = f" and {len(top) - 1} more" if len(top) > 1 else ""
    return f"CORS report for {scrub.url(top[0])}{more}"
