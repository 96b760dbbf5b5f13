"""A Federation 2 subgraph's own definitions of federation directives, checked as Apollo does.

A subgraph may print the definitions of the federation directives it uses (many libraries do).
A definition that disagrees with the federation version it links is `DIRECTIVE_DEFINITION_INVALID`:
an argument federation does not know or with another type (a custom scalar of the spec, such as
`FieldSet`, may be written as a built-in scalar), a required argument missing, another default
value, `repeatable` where federation says not, or a location federation does not allow. An import
the linked version does not have (`@context` before 2.8) is `INVALID_LINK_DIRECTIVE_USAGE`.
Federation 1 subgraphs are not checked: their definitions are replaced, not compared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from graphql import (
    DirectiveDefinitionNode,
    DocumentNode,
    ListTypeNode,
    NonNullTypeNode,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    StringValueNode,
    TypeNode,
    parse_type,
    print_ast,
)

from .errors import CompositionError
from .model import BUILTIN_SCALARS, FEDERATION_SPEC

__all__ = ["check_directive_definitions"]


_AUTH = "FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM"
_TAG = (
    "FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | "
    "ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION"
)


@dataclass(frozen=True, slots=True)
class _Spec:
    """One federation directive as a federation version defines it; `{X}` in an argument type
    is the spec's custom scalar `X`, named as the subgraph links it."""

    args: tuple[tuple[str, str, str | None], ...]  # name, type, default (printed)
    locations: str
    repeatable: bool = False


def _specs(minor: int) -> dict[str, _Spec]:
    """The federation directives of federation 2.`minor`."""
    specs = {
        "key": _Spec(
            (("fields", "{FieldSet}!", None), ("resolvable", "Boolean", "true")),
            "OBJECT | INTERFACE",
            repeatable=True,
        ),
        "extends": _Spec((), "OBJECT | INTERFACE"),
        "external": _Spec((("reason", "String", None),), "OBJECT | FIELD_DEFINITION"),
        "requires": _Spec((("fields", "{FieldSet}!", None),), "FIELD_DEFINITION"),
        "provides": _Spec((("fields", "{FieldSet}!", None),), "FIELD_DEFINITION"),
        "tag": _Spec(
            (("name", "String!", None),),
            _TAG + (" | SCHEMA" if minor >= 3 else ""),
            repeatable=True,
        ),
        "shareable": _Spec((), "OBJECT | FIELD_DEFINITION", repeatable=minor >= 2),
        "inaccessible": _Spec((), _TAG),
        "override": _Spec(
            (("from", "String!", None), *((("label", "String", None),) if minor >= 7 else ())),
            "FIELD_DEFINITION",
        ),
    }
    later = {
        1: {"composeDirective": _Spec((("name", "String", None),), "SCHEMA", repeatable=True)},
        3: {"interfaceObject": _Spec((), "OBJECT")},
        5: {
            "authenticated": _Spec((), _AUTH),
            "requiresScopes": _Spec((("scopes", "[[{Scope}!]!]!", None),), _AUTH),
        },
        6: {"policy": _Spec((("policies", "[[{Policy}!]!]!", None),), _AUTH)},
        8: {
            "context": _Spec((("name", "String!", None),), "INTERFACE | OBJECT | UNION", True),
            "fromContext": _Spec((("field", "{ContextFieldValue}", None),), "ARGUMENT_DEFINITION"),
        },
        9: {
            "cost": _Spec(
                (("weight", "Int!", None),),
                "ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION | "
                "OBJECT | SCALAR",
            ),
            "listSize": _Spec(
                (
                    ("assumedSize", "Int", None),
                    ("slicingArguments", "[String!]", None),
                    ("sizedFields", "[String!]", None),
                    ("requireOneSlicingArgument", "Boolean", "true"),
                ),
                "FIELD_DEFINITION",
            ),
        },
        12: {"cacheTag": _Spec((("format", "String!", None),), "OBJECT | FIELD_DEFINITION", True)},
    }
    for since, added in later.items():
        if minor >= since:
            specs.update(added)
    return specs


def _levenshtein(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ca != cb))
    return row[-1]


def _did_you_mean(name: str, known: list[str]) -> str:
    """Apollo's suggestion for a misspelt import (its distance threshold, order and words)."""
    if not name.startswith("@") and "@" + name in known:
        return f' Did you mean directive "@{name}"?'
    threshold = len(name) * 4 // 10 + 1
    near = {o: 1 if o.lower() == name.lower() else _levenshtein(name, o) for o in known}
    found = sorted((o for o, d in near.items() if d <= threshold), key=lambda o: (near[o], o))
    quoted = [f'"{o}"' for o in found[:5]]
    if not quoted:
        return ""
    if len(quoted) <= 2:
        return f" Did you mean {' or '.join(quoted)}?"
    return f" Did you mean {', '.join(quoted[:-1])}, or {quoted[-1]}?"


def _unknown_imports(minor: int, imports: dict[str, str], subgraph: str) -> list[CompositionError]:
    """`INVALID_LINK_DIRECTIVE_USAGE` for an import the linked federation version lacks (such
    as `@context` before 2.8)."""
    types = ["FieldSet", *(["Scope"] if minor >= 5 else []), *(["Policy"] if minor >= 6 else [])]
    types += ["ContextFieldValue"] if minor >= 8 else []
    known = [f"@{d}" for d in _specs(minor)] + types
    return [
        CompositionError(
            "INVALID_LINK_DIRECTIVE_USAGE",
            f'[{subgraph}] Cannot import unknown element "{name}".{_did_you_mean(name, known)}',
            (subgraph,),
        )
        for name in imports
        if name not in known
    ]


def _federation_link(document: DocumentNode) -> tuple[int, str, dict[str, str]] | None:
    """The linked federation 2 version's minor, its prefix and its imports (element -> local)."""
    for definition in document.definitions:
        if not isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
            continue
        for directive in definition.directives or ():
            args = {a.name.value: a.value for a in directive.arguments or ()}
            url = args.get("url")
            if directive.name.value != "link" or not isinstance(url, StringValueNode):
                continue
            found = re.fullmatch(re.escape(FEDERATION_SPEC) + r"v2\.(\d+)/?", url.value)
            if found is None:
                continue
            alias = args.get("as")
            prefix = alias.value if isinstance(alias, StringValueNode) else "federation"
            imports: dict[str, str] = {}
            for item in getattr(args.get("import"), "values", ()):
                if isinstance(item, StringValueNode):
                    imports[item.value] = item.value
                else:
                    fields = {f.name.value: f.value for f in getattr(item, "fields", ())}
                    name, local = fields.get("name"), fields.get("as")
                    if isinstance(name, StringValueNode):
                        as_name = local.value if isinstance(local, StringValueNode) else name.value
                        imports[name.value] = as_name
            return int(found.group(1)), prefix, imports
    return None


def _expected_type(text: str, prefix: str, imports: dict[str, str]) -> TypeNode:
    def scalar(found: re.Match[str]) -> str:
        return imports.get(found.group(1), f"{prefix}__{found.group(1)}")

    return parse_type(re.sub(r"\{(\w+)\}", scalar, text))


def _fits(expected: TypeNode, actual: TypeNode, spec_scalars: set[str]) -> bool:
    """Same type, or a spec scalar of `expected` written as a built-in scalar in `actual`."""
    if isinstance(expected, NonNullTypeNode | ListTypeNode):
        return type(actual) is type(expected) and _fits(expected.type, actual.type, spec_scalars)
    if isinstance(actual, NonNullTypeNode | ListTypeNode):
        return False
    wanted, written = print_ast(expected), print_ast(actual)
    return wanted == written or (wanted in spec_scalars and written in BUILTIN_SCALARS)


def _check(
    local: str, spec: _Spec, definition: DirectiveDefinitionNode, scalars: set[str], prefix: str,
    imports: dict[str, str],
) -> list[str]:  # fmt: skip
    what = f'"@{local}"'
    problems: list[str] = []
    actual_args = {a.name.value: a for a in definition.arguments or ()}
    for name, type_text, default in spec.args:
        expected = _expected_type(type_text, prefix, imports)
        arg = actual_args.get(name)
        if arg is None:
            if isinstance(expected, NonNullTypeNode) and default is None:
                problems.append(f'missing required argument "{name}"')
            continue
        actual = arg.type
        if isinstance(actual, NonNullTypeNode) and not isinstance(expected, NonNullTypeNode):
            actual = actual.type
        if not _fits(expected, actual, scalars):
            problems.append(
                f'argument "{name}" should have type "{print_ast(expected)}" but found type '
                f'"{print_ast(arg.type)}"'
            )
        elif not isinstance(arg.type, NonNullTypeNode):
            written = print_ast(arg.default_value) if arg.default_value is not None else None
            if written != default:
                problems.append(
                    f'argument "{name}" should have default value {default or "null"} but found '
                    f"default value {written or 'null'}"
                )
    known = {name for name, _t, _d in spec.args}
    problems += [f'unknown/unsupported argument "{a}"' for a in actual_args if a not in known]
    if definition.repeatable and not spec.repeatable:
        problems.append(f"{what} should not be repeatable")
    allowed = spec.locations.split(" | ")
    locations = [loc.value for loc in definition.locations]
    if not all(loc in allowed for loc in locations):
        problems.append(
            f"{what} should have locations {', '.join(allowed)}, but found (non-subset) "
            f"{', '.join(locations)}"
        )
    return problems


def check_directive_definitions(document: DocumentNode, subgraph: str) -> list[CompositionError]:
    """`DIRECTIVE_DEFINITION_INVALID` for each federation directive the subgraph defines
    otherwise than its linked federation version does (none for Federation 1 subgraphs)."""
    link = _federation_link(document)
    if link is None:
        return []
    minor, prefix, imports = link
    unknown = _unknown_imports(minor, imports, subgraph)
    if unknown:
        return unknown  # Apollo stops building the subgraph there
    scalars = {
        print_ast(_expected_type("{" + s + "}", prefix, imports))
        for s in ("FieldSet", "ContextFieldValue", "Scope", "Policy")
    }
    definitions = {
        d.name.value: d for d in document.definitions if isinstance(d, DirectiveDefinitionNode)
    }
    errors: list[CompositionError] = []
    for element, spec in _specs(minor).items():
        local = imports.get(f"@{element}")
        # A renamed import of a directive taking a FieldSet is not compared by Apollo either.
        renamed_field_set = local not in (None, f"@{element}") and "{FieldSet}" in str(spec.args)
        name = local.lstrip("@") if local else f"{prefix}__{element}"
        definition = definitions.get(name)
        if definition is None or renamed_field_set:
            continue
        for problem in _check(name, spec, definition, scalars, prefix, imports):
            errors.append(
                CompositionError(
                    "DIRECTIVE_DEFINITION_INVALID",
                    f'[{subgraph}] Invalid definition for directive "@{name}": {problem}',
                    (subgraph,),
                    f"@{name}",
                )
            )
    return errors
