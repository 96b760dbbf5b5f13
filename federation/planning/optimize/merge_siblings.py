"""Passes over planned fetch groups that cut the number of subgraph requests."""

from __future__ import annotations

from federation.planning.fetch_group import FetchGroup, SubField, SubSelectionSet

__all__ = ["merge_selection", "merge_siblings"]


def merge_siblings(groups: list[FetchGroup]) -> list[FetchGroup]:
    """Merge entity groups to the same subgraph at the same path when one can wait for the other.

    Group A folds into group B when A's parents are a subset of B's and neither depends on the
    other: A's fields then wait for B's extra parents, and the subgraph gets one request instead
    of two. This is how a plain field and a `@requires` field of one subgraph share a fetch.
    """
    kept = list(groups)
    merged = True
    while merged:
        merged = False
        by_id = {group.id: group for group in kept}
        buckets: dict[tuple[object, ...], list[FetchGroup]] = {}
        for group in kept:
            if group.is_entity:
                key = (group.graph, group.merge_at, group.conditions)
                buckets.setdefault(key, []).append(group)
        for bucket in buckets.values():
            pair = _mergeable_pair(bucket, by_id)
            if pair is not None:
                source, target = pair
                _absorb(target, source)
                kept.remove(source)
                for group in kept:
                    if source.id in group.parents:
                        group.parents = (group.parents - {source.id}) | {target.id}
                merged = True
                break
    return kept


def _mergeable_pair(
    bucket: list[FetchGroup], by_id: dict[int, FetchGroup]
) -> tuple[FetchGroup, FetchGroup] | None:
    for source in bucket:
        for target in bucket:
            if source is target or not source.parents <= target.parents:
                continue
            if _inputs_conflict(source, target):
                continue
            if source.id in _ancestors(target, by_id) or target.id in _ancestors(source, by_id):
                continue
            return source, target
    return None


def _inputs_conflict(first: FetchGroup, second: FetchGroup) -> bool:
    """Whether one representation cannot carry both groups' inputs: the same field is read from
    different response keys (one field required with different arguments)."""
    for type_name, fields in first.inputs.items():
        others = second.inputs.get(type_name, {})
        names = {f.name: f.response_key for f in others.values()}
        for input_field in fields.values():
            if names.get(input_field.name, input_field.response_key) != input_field.response_key:
                return True
    return False


def _ancestors(group: FetchGroup, by_id: dict[int, FetchGroup]) -> set[int]:
    found: set[int] = set()
    stack = list(group.parents)
    while stack:
        parent = stack.pop()
        if parent in found or parent not in by_id:
            continue
        found.add(parent)
        stack += by_id[parent].parents
    return found


def _absorb(target: FetchGroup, source: FetchGroup) -> None:
    if source.id < target.id:
        # Keep the client's order: the earlier group's fields come first.
        combined = SubSelectionSet()
        merge_selection(combined, source.selection)
        merge_selection(combined, target.selection)
        target.selection = combined
    else:
        merge_selection(target.selection, source.selection)
    for type_name, fields in source.inputs.items():
        target.add_input(type_name, list(fields.values()))
    target.input_rewrites.update(source.input_rewrites)
    for variable, type_text in source.context_variables.items():
        rewrites = [r for r in source.context_rewrites if r.variable == variable]
        target.add_context(variable, type_text, rewrites)


def merge_selection(into: SubSelectionSet, source: SubSelectionSet) -> None:
    """Add every selection of `source` to `into`, merging fields with the same key."""
    for key, item in source.items.items():
        existing = into.items.get(key)
        if existing is None:
            into.items[key] = item
        elif isinstance(existing, SubField) == isinstance(item, SubField):
            # Keys embed the kind ("... on T" for fragments), so equal keys have equal kinds.
            merge_selection(existing.children, item.children)
