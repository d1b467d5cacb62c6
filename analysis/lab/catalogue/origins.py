"""Access-Control-Allow-Origin and -Credentials: wildcards, allow-list near-misses, the
`null` origin and the header sent twice."""

from __future__ import annotations

from dataclasses import replace

from analysis.lab.catalogue.build import (
    ACAC,
    ACAO,
    CREDS,
    EXPRESS,
    JSON_PUT,
    NGINX,
    REFLECT,
    VARY,
    at,
    blocked,
    call,
    ok,
    preflight,
)
from analysis.lab.spec import ALLOWED, Route, Scenario

CREDENTIALED = call(credentials="include")
CREDENTIALED_PUT = replace(JSON_PUT, credentials="include")

WILDCARD = (
    Scenario(
        id="wildcard-with-credentials",
        title="ACAO * on a request sent with credentials: 'include'",
        cause="wildcard-with-credentials",
        visit=at(CREDENTIALED),
        routes=(Route("GET", ok((ACAO, "*"), CREDS)),),
        expected=blocked("WildcardOriginNotAllowed"),
        key_row=True,
    ),
    Scenario(
        id="wildcard-with-credentials-preflight",
        title="Preflight answers ACAO * (with ACAC true) for a credentialed PUT",
        cause="wildcard-with-credentials",
        visit=at(CREDENTIALED_PUT),
        routes=(
            Route("OPTIONS", preflight(CREDS, origin="*")),
            Route("PUT", ok(REFLECT, CREDS, VARY)),
        ),
        expected=blocked("PreflightWildcardOriginNotAllowed"),
        key_row=True,
    ),
    Scenario(
        id="wildcard-with-credentials-xhr",
        title="XHR withCredentials = true against ACAO *",
        cause="wildcard-with-credentials",
        visit=at(call(client="xhr", credentials="include")),
        routes=(Route("GET", ok((ACAO, "*"))),),
        expected=blocked("WildcardOriginNotAllowed"),
    ),
    Scenario(
        id="control-wildcard-without-credentials",
        title="ACAO * without credentials",
        cause="none",
        visit=at(),
        routes=(Route("GET", ok((ACAO, "*"))),),
        expected=ALLOWED,
    ),
)

CREDENTIALS = (
    Scenario(
        id="credentials-without-acac",
        title="Credentialed GET, origin echoed, Access-Control-Allow-Credentials missing",
        cause="credentials-not-allowed",
        visit=at(CREDENTIALED),
        routes=(Route("GET", ok(REFLECT, VARY)),),
        expected=blocked("InvalidAllowCredentials"),
        key_row=True,
    ),
    Scenario(
        id="credentials-acac-capitalised",
        title="Access-Control-Allow-Credentials: True (capital T)",
        cause="credentials-not-allowed",
        visit=at(CREDENTIALED),
        routes=(Route("GET", ok(REFLECT, VARY, (ACAC, "True"))),),
        expected=blocked("InvalidAllowCredentials", "True"),
    ),
    Scenario(
        id="credentials-preflight-without-acac",
        title="Credentialed PUT: the preflight answer lacks Access-Control-Allow-Credentials",
        cause="credentials-not-allowed",
        visit=at(CREDENTIALED_PUT),
        routes=(Route("OPTIONS", preflight()), Route("PUT", ok(REFLECT, CREDS, VARY))),
        expected=blocked("PreflightInvalidAllowCredentials"),
        key_row=True,
    ),
    Scenario(
        id="control-credentials-echoed-origin",
        title="Credentialed GET, origin echoed with ACAC true",
        cause="none",
        visit=at(CREDENTIALED),
        routes=(Route("GET", ok(REFLECT, CREDS, VARY)),),
        expected=ALLOWED,
    ),
    Scenario(
        id="control-credentials-preflight",
        title="Credentialed PUT with a complete credentialed preflight answer",
        cause="none",
        visit=at(CREDENTIALED_PUT),
        routes=(Route("OPTIONS", preflight(CREDS)), Route("PUT", ok(REFLECT, CREDS, VARY))),
        expected=ALLOWED,
    ),
)

ALLOWLIST = (
    Scenario(
        id="allowlist-trailing-slash",
        title="Configured origin has a trailing slash",
        cause="origin-allowlist-mismatch",
        visit=at(),
        routes=(Route("GET", ok((ACAO, "{app}/"))),),
        expected=blocked("AllowOriginMismatch", "{app}/"),
        key_row=True,
    ),
    Scenario(
        id="allowlist-wrong-port",
        title="Configured origin is the dev server's other port",
        cause="origin-allowlist-mismatch",
        visit=at(),
        routes=(Route("GET", ok((ACAO, "{app_port2}"))),),
        expected=blocked("AllowOriginMismatch", "{app_port2}"),
        key_row=True,
    ),
    Scenario(
        id="allowlist-https-for-http",
        title="Configured origin says https, the page is served over http",
        cause="origin-allowlist-mismatch",
        visit=at(),
        routes=(Route("GET", ok((ACAO, "https://127.0.0.1:{app_port}"))),),
        expected=blocked("AllowOriginMismatch", "https://127.0.0.1:{app_port}"),
        key_row=True,
    ),
    Scenario(
        id="allowlist-bare-for-www",
        title="Configured origin is the bare domain, the page is on www.",
        cause="origin-allowlist-mismatch",
        visit=at(page="www"),
        routes=(Route("GET", ok((ACAO, "{bare}"))),),
        expected=blocked("AllowOriginMismatch", "{bare}"),
    ),
    Scenario(
        id="allowlist-www-only-bare-page",
        title="Allow-list holds only www.; the page on the bare domain gets no header",
        cause="origin-allowlist-mismatch",
        visit=at(page="bare"),
        routes=(Route("GET", ok(REFLECT, VARY), allow_origins=("{www}",)),),
        expected=blocked("MissingAllowOriginHeader"),
    ),
    Scenario(
        id="allowlist-wrong-case",
        title="Configured origin spelled with capitals (WWW.app.test)",
        cause="origin-allowlist-mismatch",
        visit=at(page="www"),
        routes=(Route("GET", ok((ACAO, "http://WWW.app.test:{www_port}"))),),
        expected=blocked("AllowOriginMismatch", "http://WWW.app.test:{www_port}"),
    ),
    Scenario(
        id="allowlist-origin-without-scheme",
        title="Configured origin without a scheme (host:port only)",
        cause="origin-allowlist-mismatch",
        visit=at(page="www"),
        routes=(Route("GET", ok((ACAO, "www.app.test:{www_port}"))),),
        expected=blocked("AllowOriginMismatch", "www.app.test:{www_port}"),
        notes="`host:port` parses as a URL with scheme `www.app.test`: a mismatch, "
        "not an invalid value.",
    ),
    Scenario(
        id="allowlist-bare-hostname",
        title="Configured origin is a bare host name (no scheme, no port)",
        cause="origin-allowlist-mismatch",
        visit=at(page="www"),
        routes=(Route("GET", ok((ACAO, "www.app.test"))),),
        expected=blocked("InvalidAllowOriginValue", "www.app.test"),
    ),
    Scenario(
        id="allowlist-other-port-not-listed",
        title="Allow-list holds one dev port; the page runs on another",
        cause="origin-allowlist-mismatch",
        visit=at(page="app_port2"),
        routes=(Route("GET", ok(REFLECT, VARY), allow_origins=("{app}",)),),
        expected=blocked("MissingAllowOriginHeader"),
    ),
    Scenario(
        id="allowlist-regex-without-port",
        title="Origin regex forgets the port: ^http://127\\.0\\.0\\.1$ refuses the real page",
        cause="origin-allowlist-mismatch",
        visit=at(),
        routes=(Route("GET", ok(REFLECT, VARY), allow_origin_regex=r"^http://127\.0\.0\.1$"),),
        expected=blocked("MissingAllowOriginHeader"),
    ),
    Scenario(
        id="allowlist-regex-accepts-attacker",
        title="Unanchored regex app\\.test also accepts http://evilapp.test (allowed!)",
        cause="origin-allowlist-mismatch",
        visit=at(page="evil"),
        routes=(Route("GET", ok(REFLECT, CREDS, VARY), allow_origin_regex=r"app\.test"),),
        expected=ALLOWED,
        notes="The browser allows it; the finding is that the allow-list is too wide.",
    ),
    Scenario(
        id="control-allowlist-listed",
        title="Allow-list holds both dev ports; the page's origin is echoed",
        cause="none",
        visit=at(page="app_port2"),
        routes=(Route("GET", ok(REFLECT, VARY), allow_origins=("{app}", "{app_port2}")),),
        expected=ALLOWED,
    ),
)

NULL_ORIGIN = (
    Scenario(
        id="null-origin-sandboxed-refused",
        title="Sandboxed page sends Origin: null; the allow-list does not echo it",
        cause="null-origin",
        visit=at(kind="sandboxed"),
        routes=(Route("GET", ok(REFLECT, VARY), allow_origins=("{app}",)),),
        expected=blocked("MissingAllowOriginHeader"),
    ),
    Scenario(
        id="null-origin-sandboxed-allowed",
        title="Sandboxed page, server answers ACAO: null (any sandboxed document gets in)",
        cause="null-origin",
        visit=at(kind="sandboxed"),
        routes=(Route("GET", ok((ACAO, "null"))),),
        expected=ALLOWED,
        notes="The browser allows it; the finding is that `null` admits every opaque origin.",
    ),
    Scenario(
        id="null-origin-for-regular-page",
        title="ACAO: null sent to a regular page",
        cause="null-origin",
        visit=at(),
        routes=(Route("GET", ok((ACAO, "null"))),),
        expected=blocked("AllowOriginMismatch", "null"),
        key_row=True,
    ),
)

DUPLICATES = (
    Scenario(
        id="duplicate-acao-two-lines",
        title="nginx add_header and the app both send ACAO: two header lines",
        cause="duplicate-allow-origin",
        visit=at(),
        routes=(Route("GET", ok(NGINX, REFLECT, EXPRESS, REFLECT, VARY)),),
        expected=blocked("MultipleAllowOriginValues", "{app}, {app}"),
        key_row=True,
    ),
    Scenario(
        id="duplicate-acao-one-line",
        title="A proxy merged both values into one line 'o, o'",
        cause="duplicate-allow-origin",
        visit=at(),
        routes=(Route("GET", ok(NGINX, (ACAO, "{origin}, {origin}"), VARY)),),
        expected=blocked("MultipleAllowOriginValues", "{app}, {app}"),
        key_row=True,
    ),
    Scenario(
        id="duplicate-acao-wildcard-and-origin",
        title="The proxy adds ACAO *, the app echoes the origin",
        cause="duplicate-allow-origin",
        visit=at(),
        routes=(Route("GET", ok(NGINX, (ACAO, "*"), REFLECT, VARY)),),
        expected=blocked("MultipleAllowOriginValues", "*, {app}"),
    ),
    Scenario(
        id="duplicate-acao-preflight",
        title="Both layers answer the preflight's ACAO",
        cause="duplicate-allow-origin",
        visit=at(JSON_PUT),
        routes=(
            Route("OPTIONS", preflight(NGINX, REFLECT)),
            Route("PUT", ok(REFLECT, VARY)),
        ),
        expected=blocked("PreflightMultipleAllowOriginValues", "{app}, {app}"),
    ),
)

SCENARIOS = (*WILDCARD, *CREDENTIALS, *ALLOWLIST, *NULL_ORIGIN, *DUPLICATES)
