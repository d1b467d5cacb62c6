"""The lab's catalogue: one scenario per way a real stack gets CORS wrong, plus controls.

Families live in `analysis/lab/catalogue/`; this module puts them in run order and checks
them. Origin keys used by pages and calls (all loopback; see servers.py):

  app        http://127.0.0.1:P1   the page origin most scenarios use
  app_port2  http://127.0.0.1:P2   same site as `app` (shares its HTTP cache), other origin
  app_site2  http://127.0.0.3:P3   another site
  www / bare / evil   http://www.app.test:P4 / http://app.test:P4 / http://evilapp.test:P4
             names the lab proxy maps to 127.0.0.5
  api        http://127.0.0.2:P5   the API most scenarios call
  api2       http://127.0.0.4:P6   a second API origin (redirect targets)
  api_https  https://127.0.0.2:P7  the API again over TLS with a self-signed certificate
  dead       http://127.0.0.8:P8   nothing listens: the proxy answers 502 itself
"""

from __future__ import annotations

import re

from analysis.lab.catalogue import (
    app_setup,
    caches,
    contexts,
    elements,
    misc,
    origins,
    policies,
    preflight,
    redirects,
    workers,
)
from analysis.lab.spec import ROOT_CAUSES, Scenario

SCENARIOS: tuple[Scenario, ...] = (
    *misc.CONTROLS,
    *app_setup.SCENARIOS,
    *origins.SCENARIOS,
    *preflight.SCENARIOS,
    *redirects.SCENARIOS,
    *caches.SCENARIOS,
    *workers.SCENARIOS,
    *misc.EXPOSE,
    *misc.EVENT_SOURCE,
    *elements.SCENARIOS,
    *contexts.SCENARIOS,
    *misc.NO_CORS,
    *policies.CORP_SCENARIOS,
    *policies.MIME_SCENARIOS,
    *policies.FETCH_OPTION_SCENARIOS,
    *misc.PROXY_FAULTS,
)

_KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def by_id(scenario_id: str) -> Scenario:
    for scenario in SCENARIOS:
        if scenario.id == scenario_id:
            return scenario
    raise KeyError(scenario_id)


def check(scenarios: tuple[Scenario, ...]) -> None:
    """Fail at import rather than mid-run. A duplicate id would give two scenarios one URL,
    and Chromium's preflight cache would then decide one from the other."""
    ids = [s.id for s in scenarios]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate scenario ids: {duplicates}")
    bad = [i for i in ids if not _KEBAB.match(i)]
    if bad:
        raise ValueError(f"scenario ids must be kebab-case: {bad}")
    unknown = sorted({s.cause for s in scenarios} - ROOT_CAUSES)
    if unknown:
        raise ValueError(f"unknown root causes: {unknown}")


check(SCENARIOS)
