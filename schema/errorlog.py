"""Demo subgraphs log one line per request, not a traceback per failed field.

strawberry logs every error of a response, with its traceback, on `strawberry.execution`.
When a backend is down, each of a page's two hundred tiles fails the same way, and an
overload minute wrote millions of lines (issue #15). The access log already writes one line
per request with its error count and codes, so here:

- an error the demo raises on purpose (a `GraphQLError` with an `extensions.code`: backend
  down, slow or garbled, a bad argument) is not logged again;
- any other error, a bug, keeps its traceback, at most `burst` of them per `window` seconds;
  the next one logged says how many were left out meanwhile.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from graphql import GraphQLError

__all__ = ["FieldErrorFilter", "install_field_error_filter"]

EXECUTION_LOGGER = "strawberry.execution"


class FieldErrorFilter(logging.Filter):
    """Drops expected field errors and rate-limits the tracebacks of unexpected ones."""

    def __init__(
        self, *, burst: int = 5, window: float = 10.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.burst = burst
        self.window = window
        self._clock = clock
        self._window_start = clock()
        self._logged = 0
        #: unexpected errors left out since the last one logged
        self.suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.msg
        if isinstance(error, GraphQLError) and _expected(error):
            return False
        now = self._clock()
        if now - self._window_start >= self.window:
            self._window_start, self._logged = now, 0
        if self._logged >= self.burst:
            self.suppressed += 1
            return False
        self._logged += 1
        if self.suppressed:
            record.msg = f"{record.getMessage()} ({self.suppressed} similar errors not logged)"
            record.args = ()
            self.suppressed = 0
        return True


def _expected(error: GraphQLError) -> bool:
    """Raised on purpose with a code, or wrapping such an error."""
    if isinstance(error.extensions, dict) and error.extensions.get("code"):
        return True
    original = error.original_error
    return isinstance(original, GraphQLError) and bool(
        isinstance(original.extensions, dict) and original.extensions.get("code")
    )


def install_field_error_filter() -> FieldErrorFilter:
    """The filter on strawberry's execution logger (installed once per process)."""
    logger = logging.getLogger(EXECUTION_LOGGER)
    for existing in logger.filters:
        if isinstance(existing, FieldErrorFilter):
            return existing
    installed = FieldErrorFilter()
    logger.addFilter(installed)
    return installed
