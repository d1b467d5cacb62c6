"""Keep the addon out of the way: an exception inside a hook must never break a flow.

mitmproxy logs an addon's exception and carries on, but it logs every occurrence with a
traceback, and a bug that fires on every flow would bury the proxy's own output. Here
each kind of failure (where + exception type) is logged once with its traceback and then
only counted.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

logger = logging.getLogger("corscope")

F = TypeVar("F", bound=Callable[..., Any])


class Failures:
    """Counts the exceptions swallowed per kind, logging the first of each."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()

    def record(self, where: str, error: BaseException) -> None:
        kind = (where, type(error).__name__)
        self.counts[kind] += 1
        if self.counts[kind] > 1:
            return
        try:
            logger.error(
                "corscope: internal error in %s (%s: %s); the flow goes on untouched, "
                "further errors of this kind are only counted",
                where,
                type(error).__name__,
                error,
                exc_info=error,
            )
        except Exception:
            pass  # a broken log handler must not turn a swallowed error into a raised one

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def guarded(where: str) -> Callable[[F], F]:
    """Decorate a method of an object that has a `failures: Failures` attribute."""

    def wrap(method: F) -> F:
        @functools.wraps(method)
        def run(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except Exception as e:
                self.failures.record(where, e)
                return None

        return run  # type: ignore[return-value]

    return wrap
