"""Prometheus text exposition (format 0.0.4) of OpenTelemetry SDK metrics.

Written here rather than taken from `prometheus_client` or the OTel Prometheus exporter: the
gateway already aggregates with the OTel SDK, and turning its in-memory snapshot into text is
a page of code, where either package would add a dependency and a second registry.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from opentelemetry.sdk.metrics.export import (
    Gauge,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricsData,
    NumberDataPoint,
    Sum,
)
from opentelemetry.util.types import Attributes

__all__ = ["CONTENT_TYPE", "render_prometheus"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_INVALID = re.compile(r"[^a-zA-Z0-9_:]")
_UNITS = {"s": "seconds", "ms": "milliseconds", "By": "bytes", "1": "ratio"}


@dataclass(slots=True)
class _Family:
    name: str
    kind: str
    help: str
    lines: list[str] = field(default_factory=list)


def render_prometheus(data: MetricsData | None) -> str:
    """Every metric in `data` as Prometheus text; metrics with the same name merge."""
    families: dict[str, _Family] = {}
    for resource_metrics in data.resource_metrics if data else ():
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                _add(families, metric)
    out: list[str] = []
    for family in families.values():
        out.append(f"# HELP {family.name} {_escape_help(family.help)}")
        out.append(f"# TYPE {family.name} {family.kind}")
        out.extend(family.lines)
    return "\n".join(out) + "\n" if out else ""


def _add(families: dict[str, _Family], metric: Metric) -> None:
    base = _metric_name(metric.name, metric.unit)
    data = metric.data
    if isinstance(data, Sum) and data.is_monotonic:
        name, kind = base.removesuffix("_total") + "_total", "counter"
    elif isinstance(data, Sum | Gauge):
        name, kind = base, "gauge"
    elif isinstance(data, Histogram):
        name, kind = base, "histogram"
    else:  # exponential histograms: not produced by this code base
        return
    family = families.get(name)
    if family is None:
        family = families[name] = _Family(name, kind, metric.description or metric.name)
    if isinstance(data, Histogram):
        for histogram_point in data.data_points:
            family.lines.extend(_histogram_lines(name, histogram_point))
    else:
        for point in data.data_points:
            if isinstance(point, NumberDataPoint):
                family.lines.append(f"{name}{_labels(point.attributes)} {_number(point.value)}")


def _histogram_lines(name: str, point: HistogramDataPoint) -> Iterable[str]:
    cumulative = 0
    for bound, count in zip(point.explicit_bounds, point.bucket_counts, strict=False):
        cumulative += count
        labels = _labels(point.attributes, {"le": _number(bound)})
        yield f"{name}_bucket{labels} {cumulative}"
    yield f"{name}_bucket{_labels(point.attributes, {'le': '+Inf'})} {point.count}"
    yield f"{name}_sum{_labels(point.attributes)} {_number(point.sum)}"
    yield f"{name}_count{_labels(point.attributes)} {point.count}"


def _metric_name(name: str, unit: str | None) -> str:
    sanitized = _INVALID.sub("_", name)
    if sanitized[:1].isdigit():
        sanitized = "_" + sanitized
    suffix = _UNITS.get(unit or "")
    if suffix and not sanitized.endswith("_" + suffix):
        sanitized += "_" + suffix
    return sanitized


def _labels(attributes: Attributes, extra: Mapping[str, str] | None = None) -> str:
    pairs = {**{str(k): str(v) for k, v in (attributes or {}).items()}, **(extra or {})}
    if not pairs:
        return ""
    inner = ",".join(
        f'{_INVALID.sub("_", key)}="{_escape_value(value)}"' for key, value in sorted(pairs.items())
    )
    return "{" + inner + "}"


def _number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    return repr(float(value))


def _escape_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")
