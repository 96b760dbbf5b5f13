"""Internal fields: keys, requires and provides as planner selections and representations.

Internal fields dodge the client's response keys with `_eg_` aliases, and the representation
inputs read them back under those aliases.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from graphql import DirectiveNode, FieldNode, InlineFragmentNode, SelectionSetNode

from federation.planning.normalize import NField, NFragment, NSelection
from federation.planning.plan import InputField, InputFragment, InputSelection

__all__ = [
    "FRAGMENT_PREFIX",
    "Provided",
    "client_fields_by_key",
    "fields_from_selection_set",
    "input_fields",
    "internal_alias",
    "nested_user_keys",
    "provided_tree",
]

#: Provided fields under a `@provides` field path: field name -> nested provided fields.
Provided = Mapping[str, "Provided"]


def client_fields_by_key(fields: list[NField]) -> dict[str, NField]:
    return {f.response_key: f for f in fields if not f.internal}


def nested_user_keys(field: NField, level_keys: Mapping[str, NField]) -> dict[str, NField]:
    """The client's fields under the same response object, so internal fields can dodge them."""
    user = level_keys.get(field.response_key)
    if user is None or user.name != field.name:
        return {}
    return {f.response_key: f for f in user.selections if isinstance(f, NField)}


def internal_alias(field: NField, level_keys: Mapping[str, NField]) -> str | None:
    """An alias for an internal field whose name a client field already uses differently."""
    user = level_keys.get(field.name)
    if user is not None and user.name == field.name and user.arguments_text == field.arguments_text:
        return None
    if field.arguments:
        # Two requirements may need one field with different arguments: each gets its own
        # response key, derived from the arguments so every plan of the operation agrees.
        digest = hashlib.sha1(field.arguments_text.encode()).hexdigest()[:8]
        return f"_eg_{field.name}_{digest}"
    return None if user is None else f"_eg_{field.name}"


def fields_from_selection_set(
    selection_set: SelectionSetNode, directives: tuple[DirectiveNode, ...] = ()
) -> tuple[NSelection, ...]:
    """Internal fields for a key or requires FieldSet; `directives` go on the top level only."""
    out: list[NSelection] = []
    for node in selection_set.selections:
        if isinstance(node, FieldNode):
            children = fields_from_selection_set(node.selection_set) if node.selection_set else ()
            out.append(
                NField(
                    response_key=node.name.value,
                    name=node.name.value,
                    alias=None,
                    arguments=tuple(node.arguments or ()),
                    directives=directives,
                    conditions=(),
                    selections=children,
                    internal=True,
                )
            )
        elif isinstance(node, InlineFragmentNode):
            condition = node.type_condition.name.value if node.type_condition else None
            inner = fields_from_selection_set(node.selection_set, directives)
            out.append(NFragment(condition, inner))
    return tuple(out)


def input_fields(
    selections: tuple[NSelection, ...], level_keys: Mapping[str, NField]
) -> list[InputField]:
    out: list[InputField] = []
    for item in selections:
        if isinstance(item, NField):
            alias = internal_alias(item, level_keys) if item.internal else item.alias
            nested = nested_user_keys(item, level_keys)
            children: tuple[InputSelection, ...] = tuple(_input_selections(item.selections, nested))
            out.append(InputField(item.name, alias or item.name, children))
        else:
            out += input_fields(item.selections, level_keys)
    return out


def _input_selections(
    selections: tuple[NSelection, ...], level_keys: Mapping[str, NField]
) -> list[InputSelection]:
    out: list[InputSelection] = []
    if any(isinstance(item, NFragment) for item in selections):
        out.append(InputField("__typename", "__typename"))
    for item in selections:
        if isinstance(item, NField):
            out += input_fields((item,), level_keys)
        elif item.type_condition is not None:
            # Nested fragments keep their own conditions (`... on Bar { bar ... on Baz { baz } }`).
            inner = _input_selections(item.selections, {})
            out.append(InputFragment(item.type_condition, tuple(inner)))
        else:
            out += input_fields(item.selections, level_keys)
    return out


#: How a fragment of a `@provides` selection is keyed in its `Provided` tree.
FRAGMENT_PREFIX = "... on "


def provided_tree(selection_set: SelectionSetNode) -> dict[str, Provided]:
    """A `@provides` selection as a tree; a fragment keeps its type condition (`... on Book`
    provides `title` for books only), under `FRAGMENT_PREFIX + condition`."""
    tree: dict[str, Provided] = {}
    for node in selection_set.selections:
        if isinstance(node, FieldNode):
            nested = provided_tree(node.selection_set) if node.selection_set else {}
            tree[node.name.value] = nested
        elif isinstance(node, InlineFragmentNode):
            inner = provided_tree(node.selection_set)
            if node.type_condition is None:
                tree.update(inner)
            else:
                key = FRAGMENT_PREFIX + node.type_condition.name.value
                tree[key] = {**tree.get(key, {}), **inner}
    return tree
