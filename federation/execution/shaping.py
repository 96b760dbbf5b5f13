"""The final pass: walk the client's operation over the merged data and emit exactly its shape.

Fetches over-fetch (keys, `__typename`, requires, internal aliases) and subgraphs may return values
the API schema hides; this pass drops what was not asked, orders keys as the query does, checks
`__typename` and enum values against the API schema, and propagates nulls as the spec says.
"""

from __future__ import annotations

import builtins
import weakref
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

import orjson
from graphql import (
    BooleanValueNode,
    DirectiveNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SchemaMetaFieldDef,
    SelectionSetNode,
    TypeMetaFieldDef,
    TypeNameMetaFieldDef,
    VariableNode,
)

from federation.execution.merge import NULL_ENTITY
from federation.types import JSONObject, ResponsePath

__all__ = ["shape_response"]

_Composite: TypeAlias = GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType
_COMPOSITE_TYPES = (GraphQLObjectType, GraphQLInterfaceType, GraphQLUnionType)
_SelectionSets: TypeAlias = tuple[SelectionSetNode, ...]
#: errors for fields no fetch answered, per response: one per path up to this many
_MAX_UNANSWERED_ERRORS = 100


def shape_response(
    *,
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    data: dict[str, Any] | None,
    errors: list[dict[str, Any]],
    observe_list: Callable[[str, int], None] | None = None,
) -> dict[str, Any]:
    """Return `{"data": ..., "errors": [...]}` shaped for the client (`errors` only if any).

    `observe_list`, if given, hears the length of each list answered, with its field's
    coordinate ("Type.field"): the cost estimate learns real list sizes from it.

    `schema` is the API schema and `data` the merged data, keyed by the client's response keys.
    `@skip`/`@include` are evaluated with `variables`. Existing `errors` keep their order; errors
    found while shaping (invalid `__typename` or enum values, nulls at non-null positions) follow.
    A null that bubbles up to the root makes `data` null.
    """
    root_type = schema.get_root_type(operation.operation)
    result: dict[str, Any]
    if data is None or root_type is None:
        result = {"data": None}
        if errors:
            result["errors"] = list(errors)
        return result
    plans = _plans_for(schema, operation, fragments, variables)
    shaper = _Shaper(schema, fragments, variables, errors, plans, observe_list)
    result = {"data": shaper.complete_object(data, root_type, plans.root, [])}
    if shaper.errors:
        result["errors"] = shaper.errors
    return result


class _Plans:
    """Field plans of one operation for one set of `@skip`/`@include` outcomes, kept across
    requests: the walk over the client's selections happens once, not per request."""

    __slots__ = ("by_sets", "root")

    def __init__(self, operation: OperationDefinitionNode) -> None:
        self.root: _SelectionSets = (operation.selection_set,)
        # Keyed by id() of a selection-set tuple: the root above, or one held by a plan here.
        self.by_sets: dict[tuple[int, str | None], list[_FieldPlan]] = {}


class _Compiled:
    __slots__ = ("fragments", "plans", "schema", "switches")

    def __init__(
        self,
        schema: GraphQLSchema,
        operation: OperationDefinitionNode,
        fragments: Mapping[str, FragmentDefinitionNode],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        #: the variables that `@skip`/`@include` read: their values pick the plans
        self.switches = tuple(sorted(_switch_variables(operation, fragments)))
        self.plans: dict[tuple[Any, ...], _Plans] = {}


_COMPILED: weakref.WeakKeyDictionary[OperationDefinitionNode, _Compiled] = (
    weakref.WeakKeyDictionary()
)
#: Distinct `@skip`/`@include` outcomes kept per operation.
_MAX_SWITCH_SETS = 64


def _plans_for(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> _Plans:
    compiled = _COMPILED.get(operation)
    if compiled is None or compiled.schema is not schema or compiled.fragments is not fragments:
        compiled = _COMPILED[operation] = _Compiled(schema, operation, fragments)
    switches = tuple(variables.get(name) is True for name in compiled.switches)
    plans = compiled.plans.get(switches)
    if plans is None:
        if len(compiled.plans) >= _MAX_SWITCH_SETS:
            compiled.plans.clear()
        plans = compiled.plans[switches] = _Plans(operation)
    return plans


def _switch_variables(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> set[str]:
    names: set[str] = set()
    pending: list[SelectionSetNode] = [operation.selection_set]
    pending += [fragment.selection_set for fragment in fragments.values()]
    while pending:
        for selection in pending.pop().selections:
            for directive in selection.directives or ():
                if directive.name.value in ("skip", "include"):
                    for argument in directive.arguments or ():
                        if isinstance(argument.value, VariableNode):
                            names.add(argument.value.name.value)
            inner = getattr(selection, "selection_set", None)
            if inner is not None:
                pending.append(inner)
    return names


@dataclass(frozen=True, slots=True)
class _FieldPlan:
    """One output key of an object, resolved once per (selection sets, runtime type)."""

    key: str
    is_typename: bool
    type: GraphQLOutputType
    non_null: bool
    scalar: bool  # a (non-null) scalar: copied as is, the common case worth a fast path
    selection_sets: _SelectionSets
    label: str  # "Type.field", for null errors
    #: a scalar's check of its serialized value (None: anything passes, a custom scalar)...
    valid: Callable[[Any], bool] | None
    #: ...skipped for values of this Python type, which always pass
    fast: builtins.type | None


def _is_int(value: Any) -> bool:
    return type(value) is int and -(2**31) <= value < 2**31


#: What a built-in scalar's serialized value may be; a subgraph answering anything else (a
#: string for an Int, an object for a String) is answered as an invalid value, not passed on.
#: Custom scalars pass as the subgraph serialized them.
_BUILTIN_SCALARS: dict[str, Any] = {
    "Int": _is_int,
    "Float": lambda value: type(value) in (int, float),
    "String": lambda value: type(value) is str,
    "Boolean": lambda value: type(value) is bool,
    "ID": lambda value: type(value) is str or _is_int(value),
}


#: Python types that are always valid for a built-in scalar (Int needs its range checked).
_ALWAYS_VALID: dict[str, type] = {"Float": float, "String": str, "Boolean": bool, "ID": str}


def _is_valid_scalar(type_: GraphQLOutputType, value: Any) -> bool:
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    check = _BUILTIN_SCALARS.get(type_.name) if isinstance(type_, GraphQLScalarType) else None
    return check is None or bool(check(value))


class _Shaper:
    """Per-call state: the error list and a cache of field plans (the query repeats per item)."""

    __slots__ = (
        "_error_paths",
        "_error_prefixes",
        "_fragments",
        "_observe_list",
        "_plans",
        "_runtimes",
        "_schema",
        "_unexplained_nulls",
        "_variables",
        "errors",
    )

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        errors: list[JSONObject],
        plans: _Plans,
        observe_list: Callable[[str, int], None] | None = None,
    ) -> None:
        self._observe_list = observe_list
        self._schema = schema
        self._fragments = fragments
        self._variables = variables
        self.errors = list(errors)
        # Every prefix of every error path, so "is there an error at or below P" is one lookup.
        self._error_prefixes: set[tuple[str | int, ...]] = set()
        #: the exact paths of errors, so "is there an error at or above P" is |P|+1 lookups
        self._error_paths: set[tuple[str | int, ...]] = set()
        #: an error without a path (a failed fetch, a bad subgraph answer) explains every field
        #: that was never answered
        self._unexplained_nulls = 0 if all(isinstance(e.get("path"), list) for e in errors) else -1
        for error in errors:
            path = error.get("path")
            if isinstance(path, list):
                self._add_prefixes(path)
                self._error_paths.add(tuple(path))
        self._plans = plans.by_sets
        self._runtimes: dict[tuple[str, str], GraphQLObjectType | None] = {}

    def complete_object(
        self,
        value: JSONObject,
        type_: _Composite,
        sets: _SelectionSets,
        path: ResponsePath,
        label: str = "",
    ) -> JSONObject | None:
        """Shape one object; None when a non-null field of it is null (the null bubbles)."""
        runtime: GraphQLObjectType | None
        if isinstance(type_, GraphQLObjectType):
            runtime = type_  # statically known: root types and object fields use the API name
        else:
            typename = value.get("__typename")
            runtime = None
            # An @interfaceObject subgraph answers with the interface's own name: the concrete
            # type is unknown, which matters only if the client asks for it (see _plan).
            if typename is not None and typename != type_.name:
                runtime = self._runtime(type_, typename)
                if runtime is None:
                    self._error(
                        f'Abstract type "{type_.name}" must resolve to an Object type at runtime'
                        f' for field "{label}". Received "{typename}".',
                        path,
                    )
                    return None
        out: JSONObject = {}
        nulled = False
        for plan in self._plan(sets, runtime, type_):
            key = plan.key
            if plan.scalar:
                # The common case, without touching `path` unless something is wrong.
                result: Any = value.get(key)
                if result is None:
                    if key not in value and not plan.non_null and NULL_ENTITY not in value:
                        # a non-null field's own null error says it
                        self._unanswered([*path, key], plan.label)
                    if plan.non_null:
                        self._null_error([*path, key], plan.label)
                        nulled = True  # keep going: siblings may report their own errors
                elif (
                    plan.valid is not None
                    and type(result) is not plan.fast
                    and not plan.valid(result)
                ):
                    self._invalid(plan.label, [*path, key])
                    result = None
                    if plan.non_null:
                        self._null_error([*path, key], plan.label)
                        nulled = True
                out[key] = result
                continue
            path.append(key)
            if plan.is_typename:
                result = runtime.name if runtime is not None else None
                if result is None:
                    self._null_error(path, plan.label)
            else:
                field_value = value.get(key)
                if (
                    field_value is None
                    and key not in value
                    and not plan.non_null
                    and NULL_ENTITY not in value
                ):
                    self._unanswered(path, plan.label)
                result = self._complete(
                    field_value, plan.type, plan.selection_sets, path, plan.label
                )
            path.pop()
            if result is None and plan.non_null:
                nulled = True
            out[key] = result
        return None if nulled else out

    def _runtime(
        self, type_: GraphQLInterfaceType | GraphQLUnionType, typename: Any
    ) -> GraphQLObjectType | None:
        """The object type an abstract-typed value names, if it is one of `type_`'s."""
        if not isinstance(typename, str):
            return None
        cache_key = (type_.name, typename)
        if cache_key in self._runtimes:
            return self._runtimes[cache_key]
        found = self._schema.type_map.get(typename)
        runtime = (
            found
            if isinstance(found, GraphQLObjectType) and self._schema.is_sub_type(type_, found)
            else None
        )
        self._runtimes[cache_key] = runtime
        return runtime

    def _complete(
        self,
        value: Any,
        type_: GraphQLOutputType,
        sets: _SelectionSets,
        path: ResponsePath,
        label: str,
    ) -> Any:
        if isinstance(type_, GraphQLNonNull):
            result = self._complete(value, type_.of_type, sets, path, label)
            if result is None:
                self._null_error(path, label)
            return result
        if value is None:
            return None
        if isinstance(type_, GraphQLList):
            if not isinstance(value, list):
                return self._invalid(label, path)
            if self._observe_list is not None:
                self._observe_list(label, len(value))
            item_type = type_.of_type
            item_non_null = isinstance(item_type, GraphQLNonNull)
            inner = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
            composite = isinstance(inner, _COMPOSITE_TYPES)
            items: list[Any] = []
            nulled = False
            for index, item in enumerate(value):
                path.append(index)
                if composite and type(item) is dict:
                    completed = self.complete_object(item, inner, sets, path, label)
                    if completed is None and item_non_null:
                        self._null_error(path, label)
                else:
                    completed = self._complete(item, item_type, sets, path, label)
                path.pop()
                nulled = nulled or (item_non_null and completed is None)
                items.append(completed)
            return None if nulled else items
        if isinstance(type_, GraphQLEnumType):
            if isinstance(value, str) and value in type_.values:
                return value
            shown = orjson.dumps(value).decode()
            self._error(f'Enum "{type_.name}" cannot represent value: {shown}', path)
            return None
        if isinstance(type_, _COMPOSITE_TYPES):
            if not isinstance(value, dict):
                return self._invalid(label, path)
            return self.complete_object(value, type_, sets, path, label)
        if isinstance(type_, GraphQLScalarType) and not _is_valid_scalar(type_, value):
            return self._invalid(label, path)
        return value  # scalars pass through as the subgraph serialized them

    def _plan(
        self, sets: _SelectionSets, runtime: GraphQLObjectType | None, static: _Composite
    ) -> list[_FieldPlan]:
        cache_key = (id(sets), runtime.name if runtime is not None else None)
        plans = self._plans.get(cache_key)
        if plans is not None:
            return plans
        groups: dict[str, list[FieldNode]] = {}
        for selection_set in sets:
            self._collect(selection_set, runtime, static, groups, set())
        parent = runtime or static
        plans = []
        for key, nodes in groups.items():
            name = nodes[0].name.value
            field_def = self._field_def(parent, name)
            if field_def is None:
                continue  # not in the API schema: validation rejected it, or it is a helper
            sub_sets = tuple(node.selection_set for node in nodes if node.selection_set)
            named = field_def.type
            if isinstance(named, GraphQLNonNull):
                named = named.of_type
            scalar_name = named.name if isinstance(named, GraphQLScalarType) else ""
            plans.append(
                _FieldPlan(
                    key=key,
                    is_typename=name == "__typename",
                    type=field_def.type,
                    non_null=isinstance(field_def.type, GraphQLNonNull),
                    scalar=isinstance(named, GraphQLScalarType) and name != "__typename",
                    selection_sets=sub_sets,
                    label=f"{parent.name}.{name}",
                    valid=_BUILTIN_SCALARS.get(scalar_name),
                    fast=_ALWAYS_VALID.get(scalar_name),
                )
            )
        self._plans[cache_key] = plans
        return plans

    def _field_def(self, parent: _Composite, name: str) -> GraphQLField | None:
        if name == "__typename":
            return TypeNameMetaFieldDef
        if parent is self._schema.query_type:
            if name == "__schema":
                return SchemaMetaFieldDef
            if name == "__type":
                return TypeMetaFieldDef
        if isinstance(parent, GraphQLUnionType):
            return None
        field: GraphQLField | None = parent.fields.get(name)
        return field

    def _collect(
        self,
        selection_set: SelectionSetNode,
        runtime: GraphQLObjectType | None,
        static: _Composite,
        groups: dict[str, list[FieldNode]],
        visited: set[str],
    ) -> None:
        for selection in selection_set.selections:
            if selection.directives and not self._included(selection.directives):
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                groups.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is None or self._applies(condition.name.value, runtime, static):
                    self._collect(selection.selection_set, runtime, static, groups, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self._fragments.get(name)
                if name in visited or fragment is None:
                    continue
                visited.add(name)
                if self._applies(fragment.type_condition.name.value, runtime, static):
                    self._collect(fragment.selection_set, runtime, static, groups, visited)

    def _applies(
        self, condition: str, runtime: GraphQLObjectType | None, static: _Composite
    ) -> bool:
        if runtime is None:
            return condition == static.name  # no `__typename` to go by
        if condition == runtime.name:
            return True
        condition_type = self._schema.type_map.get(condition)
        return isinstance(
            condition_type, GraphQLInterfaceType | GraphQLUnionType
        ) and self._schema.is_sub_type(condition_type, runtime)

    def _included(self, directives: Collection[DirectiveNode]) -> bool:
        for directive in directives:
            name = directive.name.value
            if name != "skip" and name != "include":
                continue
            value: Any = None
            for argument in directive.arguments or ():
                if argument.name.value == "if":
                    node = argument.value
                    if isinstance(node, BooleanValueNode):
                        value = node.value
                    elif isinstance(node, VariableNode):
                        value = self._variables.get(node.name.value)
            if (value is True) == (name == "skip"):
                return False
        return True

    def _null_error(self, path: ResponsePath, label: str) -> None:
        if tuple(path) in self._error_prefixes:
            return  # the cause was already reported at or below this path
        self._error(f"Cannot return null for non-nullable field {label}.", path)

    def _unanswered(self, path: ResponsePath, label: str) -> None:
        """A field no fetch answered becomes null only with an error at or above it: a null
        in an answer either came from a subgraph or says why it is there."""
        if self._unexplained_nulls < 0:
            return  # an error without a path already says that part of the answer is missing
        if label.endswith((".__schema", ".__type")):
            return  # introspection is answered by the gateway itself, after shaping
        if any(tuple(path[:end]) in self._error_paths for end in range(len(path) + 1)):
            return
        self._unexplained_nulls += 1
        if self._unexplained_nulls > _MAX_UNANSWERED_ERRORS:
            return
        message = f"No subgraph returned a value for field {label}."
        if self._unexplained_nulls == _MAX_UNANSWERED_ERRORS:
            message += " Further fields without a value were not reported."
        self.errors.append(
            {"message": message, "path": list(path), "extensions": {"code": "FIELD_NOT_RESOLVED"}}
        )
        self._add_prefixes(path)
        self._error_paths.add(tuple(path))

    def _invalid(self, label: str, path: ResponsePath) -> None:
        self._error(f'Subgraph returned an invalid value for field "{label}".', path)

    def _error(self, message: str, path: ResponsePath) -> None:
        self.errors.append({"message": message, "path": list(path)})
        self._add_prefixes(path)
        self._error_paths.add(tuple(path))

    def _add_prefixes(self, path: list[Any]) -> None:
        for end in range(len(path) + 1):
            self._error_prefixes.add(tuple(path[:end]))
