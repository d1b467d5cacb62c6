"""Markers for the addon tests that start real processes."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "integration: starts a real mitmdump with the addon and loopback servers"
    )
    config.addinivalue_line(
        "markers",
        "slow: builds a fresh venv holding only mitmproxy (about a minute; proves the addon "
        "needs nothing else)",
    )
