"""Progressive `@override`: a field moves to its new subgraph for a share of the requests.

A domain team moving a field writes `@override(from: "legacy", label: "percent(10)")`; the
supergraph records the label on the `@join__field`s (join v0.4+). As Apollo Router does, the
gateway draws each `percent(N)` label per request, enabled with probability N%, and plans the
request with the overrides of its enabled labels applied; any other label names a flag that
only Apollo's coprocessors set: here it is on when the config names it
(`[graphql] override_labels`), else off. A set of enabled labels gives the supergraph a
view with those fields' resolving graphs recomputed; the engine keeps a planner (and plans) per
view it has met.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from federation.supergraph.model import Supergraph, TypeMeta, key_facts, resolvable_graphs

__all__ = ["LabelDraw", "override_labels", "percent_of", "with_override_labels"]

_PERCENT = re.compile(r"^percent\((\d+(?:\.\d+)?)\)$")


def override_labels(supergraph: Supergraph) -> frozenset[str]:
    """Every progressive-override label the supergraph uses."""
    return frozenset(
        entry.override_label
        for meta in supergraph.types.values()
        for field in meta.fields.values()
        for entry in field.in_graphs.values()
        if entry.override_label is not None
    )


def percent_of(label: str) -> float | None:
    """The share of requests a `percent(N)` label is enabled for, in percent; None for any
    other label."""
    match = _PERCENT.match(label)
    return float(match.group(1)) if match else None


class LabelDraw:
    """Draws the enabled labels of one request: each `percent(N)` label with probability N%,
    and the labels `always` on (the gateway's config), when the supergraph uses them."""

    def __init__(
        self,
        labels: frozenset[str],
        random: Callable[[], float],
        always: frozenset[str] = frozenset(),
    ) -> None:
        self.shares = {label: share for label in sorted(labels) if (share := percent_of(label))}
        self.always = always & labels
        self.random = random

    def __call__(self) -> frozenset[str]:
        if not self.shares:
            return self.always
        drawn = (label for label, share in self.shares.items() if self.random() * 100 < share)
        return self.always.union(drawn)


def with_override_labels(supergraph: Supergraph, enabled: frozenset[str]) -> Supergraph:
    """The supergraph as a request with `enabled` labels sees it: the labelled overrides of
    those labels applied, every other fact the same."""
    if not enabled:
        return supergraph
    types: dict[str, TypeMeta] = dict(supergraph.types)
    graphs = set(supergraph.graphs)
    for name, meta in supergraph.types.items():
        labelled = [
            (field_name, field)
            for field_name, field in meta.fields.items()
            if any(entry.override_label in enabled for entry in field.in_graphs.values())
        ]
        if not labelled:
            continue
        key_fields, extensions = key_facts(meta.in_graphs)
        changed = {
            field_name: replace(
                field,
                resolvable_in=resolvable_graphs(
                    field.in_graphs, key_fields, extensions, field_name, graphs, enabled
                ),
            )
            for field_name, field in labelled
        }
        types[name] = replace(meta, fields={**meta.fields, **changed})
    return replace(supergraph, types=types)
