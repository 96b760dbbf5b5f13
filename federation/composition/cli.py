"""`edgegraph compose --config graph.toml -o supergraph.graphql`, and composing at start-up.

On failure every error is printed with its code, subgraphs, coordinate and what to do, and the
command exits with status 1 (2 when `graph.toml` itself or a subgraph's SDL is the problem).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from .compose import compose
from .config import ConfigError, load_sources, read_config
from .errors import CompositionError, CompositionResult
from .model import SubgraphSource

__all__ = [
    "add_compose_command",
    "compose_config",
    "compose_or_exit",
    "format_errors",
    "is_graph_config",
    "service_sdl",
]

#: what a team can do about each kind of error
ADVICE: dict[str, str] = {
    "INVALID_GRAPHQL": "fix the subgraph's SDL so that it parses and every type it uses exists",
    "TYPE_KIND_MISMATCH": "define the type with the same kind (object, interface, ...) everywhere",
    "FIELD_TYPE_MISMATCH": "give the field compatible types in every subgraph (they may differ "
    "only in nullability or by an implemented interface)",
    "FIELD_ARGUMENT_TYPE_MISMATCH": "give the argument compatible types in every subgraph",
    "INVALID_FIELD_SHARING": "mark the field @shareable in every subgraph that resolves it, or "
    "resolve it in one subgraph only (others may declare it @external)",
    "KEY_INVALID_FIELDS": "make @key(fields:) select fields that exist on the type",
    "KEY_FIELDS_HAS_ARGS": "select only fields without arguments in @key",
    "KEY_FIELDS_SELECT_INVALID_TYPE": "do not select interface or union fields in @key",
    "EXTERNAL_MISSING_ON_BASE": "resolve the field (without @external) in at least one subgraph",
    "EXTERNAL_TYPE_MISMATCH": "declare the @external field with the type of its owner",
    "EXTERNAL_UNUSED": "remove the @external field, or use it in a @key, @requires or @provides",
    "REQUIRES_INVALID_FIELDS": "make @requires(fields:) select fields that exist on the type",
    "REQUIRES_FIELDS_MISSING_EXTERNAL": "mark the required fields @external in this subgraph",
    "PROVIDES_INVALID_FIELDS": "make @provides(fields:) select fields of the field's type",
    "PROVIDES_FIELDS_MISSING_EXTERNAL": "mark the provided fields @external in this subgraph",
    "PROVIDES_ON_NON_OBJECT_FIELD": "put @provides only on fields of object, interface or "
    "union type",
    "OVERRIDE_FROM_SELF_ERROR": "@override(from:) must name another subgraph",
    "OVERRIDE_SOURCE_HAS_OVERRIDE": "keep one @override per field",
    "ENUM_VALUE_MISMATCH": "an enum used for input and output needs the same values in every "
    "subgraph",
    "EMPTY_MERGED_ENUM_TYPE": "define at least one value in every subgraph using the enum",
    "EMPTY_MERGED_INPUT_TYPE": "define at least one field in every subgraph using the input type",
    "REQUIRED_INPUT_FIELD_MISSING_IN_SOME_SUBGRAPH": "add the field to the input type in every "
    "subgraph, or make it optional",
    "REQUIRED_ARGUMENT_MISSING_IN_SOME_SUBGRAPH": "add the argument in every subgraph, or make "
    "it optional",
    "INPUT_FIELD_DEFAULT_MISMATCH": "use the same default value in every subgraph",
    "FIELD_ARGUMENT_DEFAULT_MISMATCH": "use the same default value in every subgraph",
    "REFERENCED_INACCESSIBLE": "mark the referencing element @inaccessible too, or expose the type",
    "ONLY_INACCESSIBLE_CHILDREN": "expose one member, or mark the type @inaccessible",
    "REQUIRED_INACCESSIBLE": "make the hidden argument or input field optional",
    "INTERFACE_FIELD_NO_IMPLEM": "add the interface's field to the implementing type",
    "SATISFIABILITY_ERROR": "add a resolvable @key where the field is resolved, or resolve the "
    "field where the query reaches it",
    "INVALID_SUBGRAPH_NAME": "give every subgraph a distinct name",
}


def format_errors(errors: Sequence[CompositionError]) -> str:
    """Errors as a team reads them: code, coordinate and subgraphs, message, what to do."""
    blocks = []
    for error in errors:
        head = f"error[{error.code}]"
        if error.coordinate:
            head += f" {error.coordinate}"
        if error.subgraphs:
            head += f" (subgraphs: {', '.join(error.subgraphs)})"
        lines = [head, *("  " + line for line in error.message.splitlines())]
        advice = ADVICE.get(error.code)
        if advice:
            lines.append(f"  what to do: {advice}")
        blocks.append("\n".join(lines))
    noun = "error" if len(errors) == 1 else "errors"
    return "\n\n".join(blocks) + f"\n\ncomposition failed with {len(errors)} {noun}\n"


def service_sdl(schema: Any) -> str:
    """A subgraph schema's SDL, asked in-process through `{ _service { sdl } }`."""
    result = schema.execute_sync("{ _service { sdl } }")
    if result.errors:
        raise ConfigError(f"_service query failed: {result.errors}")
    return str(result.data["_service"]["sdl"])


def compose_config(path: str | Path, *, timeout: float = 10.0) -> CompositionResult:
    """Compose the subgraphs of a `graph.toml`; raises `ConfigError` for config/SDL problems."""
    sources = asyncio.run(load_sources(read_config(path), timeout=timeout))
    return compose(sources)


def compose_or_exit(
    sources: Sequence[SubgraphSource] | None = None, *, config: str | Path | None = None
) -> str:
    """The supergraph SDL, or exit with every error printed (for commands that compose at start)."""
    try:
        result = compose(sources) if sources is not None else compose_config(config or "")
    except ConfigError as error:
        raise SystemExit(f"edgegraph: {error}") from error
    if result.supergraph_sdl is None:
        sys.stderr.write(format_errors(result.errors))
        raise SystemExit(1)
    return result.supergraph_sdl


def _run(args: argparse.Namespace, out: TextIO | None = None) -> None:
    err = sys.stderr
    try:
        result = compose_config(args.config, timeout=args.timeout)
    except ConfigError as error:
        err.write(f"edgegraph compose: {error}\n")
        raise SystemExit(2) from error
    if result.supergraph_sdl is None:
        err.write(format_errors(result.errors))
        raise SystemExit(1)
    for hint in result.hints:
        err.write(f"hint[{hint.code}] {hint.message}\n")
    if args.output in (None, "-"):
        (out or sys.stdout).write(result.supergraph_sdl)
    else:
        Path(args.output).write_text(result.supergraph_sdl)
        err.write(f"wrote {args.output}\n")


def add_compose_command(subparsers: Any) -> None:
    """Register `compose` on the `edgegraph` command's subparsers."""
    parser = subparsers.add_parser(
        "compose", help="compose the subgraphs of graph.toml into a supergraph"
    )
    parser.add_argument("--config", default="graph.toml", help="graph.toml listing subgraphs")
    parser.add_argument("-o", "--output", help="supergraph file to write (default: stdout)")
    parser.add_argument("--timeout", type=float, default=10.0, help="introspection timeout (s)")
    parser.set_defaults(run=_run)


def is_graph_config(path: str | Path) -> bool:
    """Whether a TOML file lists subgraphs to compose (`[subgraphs.NAME]` tables with a `url`).

    `edgegraph serve --config` accepts both a gateway config and a `graph.toml`; this tells
    them apart without guessing from the file name.
    """
    try:
        tables = tomllib.loads(Path(path).read_text()).get("subgraphs")
    except (OSError, tomllib.TOMLDecodeError):
        return False
    return isinstance(tables, dict) and any(
        isinstance(t, dict) and "url" in t for t in tables.values()
    )
