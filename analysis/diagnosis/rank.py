"""How findings are ordered: what breaks the most for users comes first.

    score = weight(severity) × (1 + log2(exchanges) + 2 × (endpoints − 1) + 3 × (origins − 1)
                                + 3 × (pages − 1))

Weights: blocked 100, security 60, warning 10; a warning that blocks only under a condition
(credentials) weighs 30. Many failed requests count, but breadth counts more: one broken
endpoint called 500 times ranks below a cause that breaks five endpoints on three pages.
Ties go to the earlier first sighting, then to the root-cause id, so the order is
deterministic for a given capture.
"""

from __future__ import annotations

import math

WEIGHTS = {"blocked": 100.0, "security": 60.0, "conditional": 30.0, "warning": 10.0}


def score(severity: str, exchanges: int, endpoints: int, origins: int, pages: int) -> float:
    breadth = (
        1
        + math.log2(max(exchanges, 1))
        + 2 * max(endpoints - 1, 0)
        + 3 * max(origins - 1, 0)
        + 3 * max(pages - 1, 0)
    )
    return round(WEIGHTS.get(severity, 10.0) * breadth, 1)


def order_key(score_value: float, first_seen: float | None, root_cause: str, api: str) -> tuple:
    return (-score_value, first_seen if first_seen is not None else math.inf, root_cause, api)
