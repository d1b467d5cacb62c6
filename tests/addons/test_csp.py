"""Would a page's CSP refuse the probe? When unsure: yes."""

from __future__ import annotations

import pytest

from addons import csp

URL = "https://app.test/__corscope__/probe.js"


def refused(*values: str, url: str = URL, directives=csp.SCRIPT_DIRECTIVES) -> str | None:
    found = csp.refusal(csp.policies(list(values)), url, directives)
    return found.directive if found else None


@pytest.mark.parametrize(
    "policy",
    [
        "default-src 'self'",
        "script-src 'self' https://cdn.test",
        "script-src *",
        "script-src https:",
        "script-src https://app.test",
        "script-src http://app.test",  # CSP 3: an http source also matches https
        "script-src app.test",
        "script-src *.test",
        "script-src https://app.test:443/__corscope__/",
        "script-src 'nonce-abc' 'self'",
        "img-src 'none'",
        "default-src 'none'; script-src 'self'",
        "script-src 'self'; script-src 'none'",  # the first occurrence wins
    ],
)
def test_allows(policy: str) -> None:
    assert refused(policy) is None


@pytest.mark.parametrize(
    ("policy", "directive"),
    [
        ("default-src 'none'", "default-src"),
        ("script-src 'none'", "script-src"),
        ("script-src 'nonce-abc'", "script-src"),
        ("script-src 'sha256-abc='", "script-src"),
        ("script-src 'self' 'strict-dynamic' 'nonce-abc'", "script-src"),
        ("script-src https://cdn.test", "script-src"),
        ("script-src https://app.test:8443", "script-src"),
        ("script-src https://app.test/js/app.js", "script-src"),
        ("script-src-elem 'none'; script-src 'self'", "script-src-elem"),
        ("script-src", "script-src"),
    ],
)
def test_refuses(policy: str, directive: str) -> None:
    assert refused(policy) == directive


@pytest.mark.parametrize(
    "policy",
    ["sandbox", "sandbox allow-forms", "sandbox allow-scripts; script-src 'self'"],
)
def test_sandboxed_documents_get_no_probe(policy: str) -> None:
    assert refused(policy) == "sandbox"


@pytest.mark.parametrize("policy", ["sandbox allow-scripts", "sandbox Allow-Scripts allow-forms"])
def test_sandboxed_document_that_runs_scripts_under_no_source_list_gets_the_probe(
    policy: str,
) -> None:
    # An opaque origin: its calls carry `Origin: null`, and only the probe can tell
    # their credentials mode; its text/plain beacon reaches the proxy without CORS.
    assert refused(policy) is None
    assert refused(policy, directives=csp.CONNECT_DIRECTIVES) is None


def test_every_policy_must_allow() -> None:
    assert refused("script-src 'self'", "script-src 'none'") == "script-src"
    assert refused("script-src 'self', default-src 'none'") == "default-src"


def test_connect_src_for_beacons() -> None:
    beacon = "https://app.test/__corscope__/report"
    assert (
        refused(
            "connect-src 'none'; script-src 'self'", url=beacon, directives=csp.CONNECT_DIRECTIVES
        )
        == "connect-src"
    )
    assert refused("script-src 'self'", url=beacon, directives=csp.CONNECT_DIRECTIVES) is None


def test_meta_policies() -> None:
    head = (
        '<html><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="script-src &#39;self&#39;">'
        "<META HTTP-EQUIV=content-security-policy CONTENT='default-src none'>"
        '<meta http-equiv="refresh" content="5">'
    )
    assert csp.meta_policies(head) == ["script-src 'self'", "default-src none"]
