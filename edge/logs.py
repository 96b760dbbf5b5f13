"""The gateway's own log (reloads, masked errors, start-up warnings) as JSON lines.

The access log writes one JSON line per request on stdout (`edge.observability`); every other
`edgegraph.*` logger goes through `configure_logging` to the same stream in the same shape, so
a log shipper reads one format and a failed reload is not a plain-text line between JSON ones.

Structured fields travel in `extra={"fields": {...}}` and become keys of the line.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

__all__ = ["MAX_LOGGED_CHARS", "JsonFormatter", "configure_logging", "fields", "truncated"]

#: The longest text one field of a log line keeps: a subgraph's error message or a stack trace
#: can be megabytes, and one huge line can stall a log pipeline.
MAX_LOGGED_CHARS = 4096


def truncated(text: str, limit: int = MAX_LOGGED_CHARS) -> str:
    """`text`, cut to `limit` characters with a note of how much was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


def fields(**values: Any) -> dict[str, Any]:
    """`extra=` for a log call whose line carries `values` as keys."""
    return {"fields": values}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, then the record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": truncated(record.getMessage()),
        }
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            line.update(extra)
        if record.exc_info:
            line["exception"] = truncated(self.formatException(record.exc_info))
        return orjson.dumps(line, default=str).decode()


def configure_logging(stream: TextIO | None = None, *, level: int = logging.INFO) -> None:
    """Write every `edgegraph.*` record at `level` or above as a JSON line to `stream` (stdout).

    Records still propagate, so test log capture and an application's own root handler see
    them too; the access log keeps its own handler (`configure_access_log`).
    """
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("edgegraph")
    root.handlers[:] = [handler]
    root.setLevel(level)
