"""Differential check against the Rust reference planner, over every fixture set.

For each fixture set, seeded random queries valid against the API schema (hypothesis-graphql,
then a seeded pass that adds aliases, `@skip`/`@include` on variables and argument variables;
and a second draw, `differential_queries.py`, that also writes named fragments, conditions on
fragments and selections moved under fragments on the abstract types their parent belongs to)
run through edgegraph and through `@graphql-hive/gateway` with `@graphql-hive/router-runtime`
(pinned in `peers/`), both in front of the same running strawberry subgraphs. The answers must
agree: `data` deep-equal, and errors on both sides or on neither.

Cases where the reference is wrong by the spec are recognised and reported, not failed: it sent
a subgraph an invalid operation, answered null at a non-null position, answered `data: null`
with no error, or failed whole with an internal error and no data. The disagreements that
remain are listed with their reasons in `differential_known.json` (by a hash of the query and
its variables; an entry that starts to agree fails the test until it is dropped). Two classes of
disagreement are allowed by rule, with their reasons:
- the same `data`, where edgegraph also reports an error that the reference leaves out, for a
  null the spec requires an error for (a null at a non-null position, an enum value or object
  type the API schema does not have, a field no subgraph answered); see `_REFERENCE_SILENT`;
- every root field skipped by `@skip`/`@include`: edgegraph answers `{"data": {}}` as the spec
  says, the reference answers `{}`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hashlib
import json
import random
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import (
    ArgumentNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    NameNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    VariableDefinitionNode,
    VariableNode,
    Visitor,
    get_named_type,
    is_list_type,
    is_non_null_type,
    parse,
    print_ast,
    print_schema,
    validate,
    value_from_ast,
    visit,
)
from graphql.utilities import ast_from_value, value_from_ast_untyped
from hypothesis import HealthCheck, given, settings
from hypothesis_graphql import from_schema

from federation.engine import Engine
from federation.limits import Limits
from federation.subgraphs.fetcher import HttpFetcher
from federation.supergraph.model import load_supergraph
from tests.federation.differential_queries import generate_queries
from tests.fixtures.federation import cases as fixture_cases
from tests.peers_support import run_hive_router_gateway, serve_subgraphs, with_subgraph_urls

QUERIES_PER_SET = 24
#: fixture sets run at once (see `_answers`)
_SETS_AT_ONCE = 3
STRUCTURED_PER_SET = 12
_NO_COST_LIMIT = Limits(max_cost=None)

#: Fixture sets the reference cannot answer, and why. Their answers are checked against the
#: subgraphs' data (test_fixture_cases.py) and their plans against Apollo's planner.
REFERENCE_CANNOT = {
    # @graphql-hive/router-query-planner 0.0.38 (the newest on npm) has no notion of the join
    # `contextArguments`: it sends the field without its argument (checked by hand: the
    # subgraph fails every `price`, "missing 1 required positional argument: 'currency'").
    # test_context_plans.py compares the plans with Apollo's planner instead.
    feature: "the Rust planner does not implement @context/@fromContext"
    for feature in fixture_cases.features()
    if fixture_cases.uses_context(feature)
}
#: the sets compared with the reference
FEATURES = [f for f in fixture_cases.features() if f not in REFERENCE_CANNOT]

#: Messages of the errors edgegraph gives for a null the reference answers without any error.
_REFERENCE_SILENT = (
    "Cannot return null for non-nullable field",
    "cannot represent value",
    "must resolve to an Object type at runtime",
    "No subgraph returned a value for field",
)


@functools.cache
def generated_queries(feature: str) -> tuple[tuple[str, dict[str, Any]], ...]:
    """Seeded queries (text, variables) for a fixture set; the same on every run."""
    supergraph = load_supergraph(fixture_cases.supergraph_sdl(feature))
    api = supergraph.api_schema
    generated: list[str] = []

    @settings(
        max_examples=QUERIES_PER_SET,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(from_schema(print_schema(api), allow_x00=False, allow_null=False))
    def collect(query: str) -> None:
        generated.append(query)

    collect()
    out: list[tuple[str, dict[str, Any]]] = []
    for index, query in enumerate(dict.fromkeys(generated)):
        rng = random.Random(f"{feature}:{index}")
        document, variables = _vary(parse(query), api, rng)
        if not validate(api, document):
            out.append((print_ast(document), variables))
    # A second, differently shaped draw: named fragments, selections moved under fragments on
    # the abstract types their parent belongs to, conditions on fragments.
    for request in generate_queries(api, seed=f"{feature}:structured", count=STRUCTURED_PER_SET):
        out.append((request.query, dict(request.variables)))
    unique = {_case_id(query, variables): (query, variables) for query, variables in out}
    return tuple(unique.values())


def _vary(
    document: DocumentNode, schema: GraphQLSchema, rng: random.Random
) -> tuple[DocumentNode, dict[str, Any]]:
    """Aliases, variable `@skip`/`@include` and argument variables, chosen by `rng`."""
    variables: dict[str, Any] = {}
    definitions: list[VariableDefinitionNode] = []
    type_info = TypeInfo(schema)

    class Vary(Visitor):
        def enter_field(self, node: FieldNode, *_args: Any) -> FieldNode | None:
            if node.name.value.startswith("__") or rng.random() > 0.3:
                return None
            directives = tuple(node.directives or ())
            if rng.random() < 0.5:
                name = f"cond{len(definitions)}"
                directive = rng.choice(("include", "skip"))
                variables[name] = rng.random() < 0.5
                definitions.append(_boolean_variable(name))
                directives += (
                    DirectiveNode(
                        name=NameNode(value=directive),
                        arguments=(ArgumentNode(name=NameNode(value="if"), value=_variable(name)),),
                    ),
                )
            changed = FieldNode(
                alias=node.alias or NameNode(value=f"{node.name.value}_{len(variables)}a"),
                name=node.name,
                arguments=node.arguments,
                directives=directives,
                selection_set=node.selection_set,
            )
            return changed

        def enter_argument(self, node: ArgumentNode, *_args: Any) -> ArgumentNode | None:
            argument = type_info.get_argument()
            if argument is None or rng.random() > 0.4:
                return None
            value = value_from_ast(node.value, argument.type)
            literal = ast_from_value(value, argument.type)
            if literal is None:
                return None
            name = f"arg{len(definitions)}"
            variables[name] = value_from_ast_untyped(literal)
            definitions.append(
                VariableDefinitionNode(
                    variable=_variable(name), type=_type_node(str(argument.type)), directives=()
                )
            )
            return ArgumentNode(name=node.name, value=_variable(name))

    varied = visit(document, TypeInfoVisitor(type_info, Vary()))
    operation = varied.definitions[0]
    if isinstance(operation, OperationDefinitionNode) and definitions:
        operation = dataclasses.replace(
            operation,
            variable_definitions=(*(operation.variable_definitions or ()), *definitions),
        )
        varied = dataclasses.replace(varied, definitions=(operation, *varied.definitions[1:]))
    return varied, variables


def _variable(name: str) -> VariableNode:
    return VariableNode(name=NameNode(value=name))


def _boolean_variable(name: str) -> VariableDefinitionNode:
    boolean = parse("query($v: Boolean!) { a }").definitions[0]
    assert isinstance(boolean, OperationDefinitionNode) and boolean.variable_definitions
    kind = boolean.variable_definitions[0].type
    assert isinstance(kind, NonNullTypeNode)
    return VariableDefinitionNode(variable=_variable(name), type=kind, directives=())


def _type_node(type_text: str) -> Any:
    operation = parse(f"query($v: {type_text}) {{ a }}").definitions[0]
    assert isinstance(operation, OperationDefinitionNode) and operation.variable_definitions
    return operation.variable_definitions[0].type


def _reference_wrong(reference: dict[str, Any], query: str, schema: GraphQLSchema) -> str | None:
    """Why the reference's answer is wrong by the spec, if it is, else None."""
    errors = reference.get("errors") or ()
    if (
        "data" not in reference
        and errors
        and all(error.get("message") == "Unexpected error." for error in errors)
    ):
        # A valid query over a supergraph that composes (the fixture cases plan it, checked
        # against @apollo/gateway) must not fail whole with an internal error.
        return "the reference failed with an internal error and no data"
    if "data" in reference and reference["data"] is None and not errors:
        return "the reference answers data: null with no error"
    for error in reference.get("errors") or ():
        message = str(error.get("message", ""))
        if "conflict because" in message or "Cannot query field" in message:
            return "the reference sent a subgraph an operation that fails its validation"
    data = reference.get("data")
    operation = _spreads_inlined(parse(query)).definitions[0]
    if isinstance(data, dict) and isinstance(operation, OperationDefinitionNode):
        root = schema.query_type
        if root is not None and _null_at_non_null(data, operation.selection_set, root, schema):
            return "the reference answers null at a non-null position (e.g. an item of [T!]!)"
    return None


def _spreads_inlined(document: DocumentNode) -> DocumentNode:
    """The document with each named fragment spread replaced by an inline fragment."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }

    class Inline(Visitor):
        def enter_fragment_spread(self, node: FragmentSpreadNode, *_args: Any) -> Any:
            definition = fragments[node.name.value]
            return InlineFragmentNode(
                type_condition=definition.type_condition,
                directives=node.directives,
                selection_set=definition.selection_set,
            )

    inlined: DocumentNode = visit(document, Inline())
    return inlined


def _null_at_non_null(value: Any, selection_set: Any, parent: Any, schema: GraphQLSchema) -> bool:
    if not isinstance(value, dict) or selection_set is None:
        return False
    typename = value.get("__typename")
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            fields = getattr(parent, "fields", {})
            definition = fields.get(selection.name.value)
            key = (selection.alias or selection.name).value
            if definition is None or key not in value:
                continue
            if _null_in(value[key], definition.type, selection.selection_set, schema):
                return True
        else:  # an inline fragment
            condition = selection.type_condition
            inner: Any = schema.get_type(condition.name.value) if condition is not None else parent
            if isinstance(typename, str) and condition is not None and typename != inner.name:
                named = schema.get_type(typename)
                abstract = isinstance(inner, GraphQLInterfaceType | GraphQLUnionType)
                if named is None or not abstract or not schema.is_sub_type(inner, named):
                    continue
            target = schema.get_type(typename) if isinstance(typename, str) else inner
            if _null_at_non_null(value, selection.selection_set, target or inner, schema):
                return True
    return False


def _null_in(value: Any, type_: Any, selection_set: Any, schema: GraphQLSchema) -> bool:
    if is_non_null_type(type_):
        return value is None or _null_in(value, type_.of_type, selection_set, schema)
    if value is None:
        return False
    if is_list_type(type_):
        items = value if isinstance(value, list) else []
        return any(_null_in(item, type_.of_type, selection_set, schema) for item in items)
    named = get_named_type(type_)
    if isinstance(value, dict) and isinstance(value.get("__typename"), str):
        named = schema.get_type(value["__typename"]) or named
    return _null_at_non_null(value, selection_set, named, schema)


@functools.cache
def _known_cases() -> dict[str, dict[str, str]]:
    path = Path(__file__).with_name("differential_known.json")
    known: dict[str, dict[str, str]] = json.loads(path.read_text())
    return known


def _case_id(query: str, variables: dict[str, Any]) -> str:
    text = query + json.dumps(variables, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _known(feature: str, query: str, variables: dict[str, Any]) -> str | None:
    """The recorded reason for a known disagreement (see differential_known.json)."""
    return _known_cases().get(feature, {}).get(_case_id(query, variables))


def _agree(ours: dict[str, Any], reference: dict[str, Any]) -> bool:
    if ours == {"data": {}} and reference == {}:
        # Every root field skipped: the spec's answer is empty data, the reference omits it.
        return True
    if ours.get("data") != reference.get("data"):
        return False
    if bool(ours.get("errors")) == bool(reference.get("errors")):
        return True
    # The reference's known silence: edgegraph explains a null it leaves unexplained.
    return not reference.get("errors") and all(
        any(marker in error.get("message", "") for marker in _REFERENCE_SILENT)
        for error in ours.get("errors", [])
    )


#: (query, variables, edgegraph's answer, the reference's answer) for each query of one set
Answers = list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]]
_ANSWERS: dict[str, Answers] = {}


async def _answers(feature: str) -> Answers:
    """Both answers to every query of ``feature``.

    The first call for a set runs it beside the next few sets that have not run yet: most of
    a set's time is a reference gateway starting and requests waiting on loopback, which
    overlap well on two cores.
    """
    if feature not in _ANSWERS:
        later = FEATURES[FEATURES.index(feature) :]
        batch = [name for name in later if name not in _ANSWERS][:_SETS_AT_ONCE]
        async with asyncio.TaskGroup() as group:
            runs = {name: group.create_task(_ask_both(name)) for name in batch}
        _ANSWERS.update({name: run.result() for name, run in runs.items()})
    return _ANSWERS.pop(feature)


async def _ask_both(feature: str) -> Answers:
    """One set's subgraphs, one reference gateway and one engine answer its queries."""
    module = fixture_cases.subgraph_module(feature)
    reset = fixture_cases.reset_hook(feature)
    answers: Answers = []
    async with serve_subgraphs(module.SUBGRAPHS) as urls:
        sdl = with_subgraph_urls(fixture_cases.supergraph_sdl(feature), urls)
        async with (
            run_hive_router_gateway(sdl) as reference,
            httpx.AsyncClient(timeout=30) as client,
        ):
            # Generated arguments ask for huge lists: the cost limit, a production guard that
            # the reference does not have, is off here.
            engine = Engine(
                load_supergraph(sdl), HttpFetcher(urls, client=client), limits=_NO_COST_LIMIT
            )
            for query, variables in generated_queries(feature):
                if reset is not None:
                    reset()  # stateful subgraphs (mutations) start each query afresh
                ours = (await engine.run(query, None, variables)).body
                if reset is not None:
                    reset()
                answer = await client.post(
                    reference.url, json={"query": query, "variables": variables}
                )
                answers.append((query, variables, ours, answer.json()))
    return answers


@pytest.mark.parametrize("feature", FEATURES)
async def test_differential_agrees_with_the_reference_planner(feature: str) -> None:
    queries = generated_queries(feature)
    assert queries, f"no queries generated for {feature}"
    api_schema = load_supergraph(fixture_cases.supergraph_sdl(feature)).api_schema
    disagreements: list[str] = []
    reference_wrong: list[str] = []
    still_known: list[str] = []
    for query, variables, ours, theirs in await _answers(feature):
        if _agree(ours, theirs):
            continue
        wrong = _reference_wrong(theirs, query, api_schema)
        if wrong is not None:
            reference_wrong.append(f"{wrong}: {query}")
        elif _known(feature, query, variables) is not None:
            still_known.append(_case_id(query, variables))
        else:
            disagreements.append(
                f"[{_case_id(query, variables)}] {query}\nvariables {variables}\n"
                f"edgegraph {ours}\nreference {theirs}"
            )
    ids = {_case_id(query, variables) for query, variables in queries}
    stale = set(_known_cases().get(feature, {})) - ids - set(still_known)
    assert not stale or not ids, f"known disagreements no longer generated: {sorted(stale)}"
    fixed = set(_known_cases().get(feature, {})) & ids - set(still_known)
    assert not fixed, f"known disagreements that now agree, drop them: {sorted(fixed)}"
    # The cases where the reference is wrong are reported, not failed (pytest -rA shows them).
    print(f"{feature}: reference wrong in {len(reference_wrong)} case(s)", *reference_wrong)
    assert not disagreements, f"{len(disagreements)} of {len(queries)} disagree:\n\n" + (
        "\n\n".join(disagreements)
    )
