"""The exchange table: endpoints fold ids so one route is one endpoint."""

from __future__ import annotations

import pytest

from analysis.diagnosis.table import endpoint


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://api.test/users/123", "GET /users/{id}"),
        ("http://api.test/users/123/orders/9?x=1", "GET /users/{id}/orders/{id}"),
        ("http://api.test/u/550e8400-e29b-41d4-a716-446655440000", "GET /u/{id}"),
        ("http://api.test/blob/deadbeefcafe", "GET /blob/{id}"),
        ("http://api.test/t/eyJhbGciOiJIUzI1NiJ9abc", "GET /t/{id}"),
        ("http://api.test/user-preferences-settings-page", "GET /user-preferences-settings-page"),
        ("http://api.test/v2/items", "GET /v2/items"),
        ("http://api.test", "GET /"),
    ],
)
def test_endpoint_folds_ids_not_routes(url: str, expected: str) -> None:
    assert endpoint("GET", url) == expected
