"""The merged schema: each supergraph type and field with where it lives (the `join__` facts).

The merge (`merge.py`) builds these records, the checks (`validate.py`, `satisfiability.py`)
read them, and the printer (`printer.py`) turns them into supergraph SDL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graphql import ConstValueNode, TypeNode

from .model import ArgDef, KeyDef

__all__ = [
    "ContextArgument",
    "JoinField",
    "JoinType",
    "MergedEnumValue",
    "MergedField",
    "MergedInputField",
    "MergedSchema",
    "MergedType",
]


@dataclass(frozen=True, slots=True)
class JoinType:
    """One `@join__type`: the type in `graph`, with one key (or none)."""

    graph: str
    key: KeyDef | None = None
    extension: bool = False
    is_interface_object: bool = False


@dataclass(frozen=True, slots=True)
class ContextArgument:
    """One `contextArguments` entry of a `@join__field`: argument `name` (of type `type`, as the
    subgraph prints it) is read with `selection` from an ancestor setting `context`, which is
    `<subgraph>__<name>` as in the supergraph's `@context(name:)`."""

    context: str
    name: str
    type: str
    selection: str


@dataclass(frozen=True, slots=True)
class JoinField:
    """One `@join__field`; `graph` None is the bare form that only says "no graph of its own"."""

    graph: str | None
    requires: str | None = None
    provides: str | None = None
    type: str | None = None
    external: bool = False
    override: str | None = None
    used_overridden: bool = False
    override_label: str | None = None
    context_arguments: tuple[ContextArgument, ...] = ()


@dataclass(frozen=True, slots=True)
class MergedField:
    """A field of an object or interface type in the supergraph.

    `resolved_in` are the graphs that resolve it (not external, not overridden); `external_in`
    the graphs that declare it `@external`; `joins` is None when no `@join__field` is needed
    (every graph of the type resolves it plainly)."""

    name: str
    type: TypeNode
    args: tuple[ArgDef, ...]
    description: str | None
    deprecated: str | None
    inaccessible: bool
    tags: tuple[str, ...]
    resolved_in: tuple[str, ...]
    external_in: tuple[str, ...]
    #: graphs that lost the field to `@override` but still give it for keys and requires
    used_overridden_in: tuple[str, ...] = ()
    requires: dict[str, str] = field(default_factory=dict)
    provides: dict[str, str] = field(default_factory=dict)
    joins: tuple[JoinField, ...] | None = None


@dataclass(frozen=True, slots=True)
class MergedInputField:
    """A field of an input object type in the supergraph (in every graph of the type)."""

    name: str
    type: TypeNode
    default: ConstValueNode | None
    description: str | None
    deprecated: str | None
    inaccessible: bool
    tags: tuple[str, ...]
    joins: tuple[JoinField, ...] | None = None


@dataclass(frozen=True, slots=True)
class MergedEnumValue:
    """An enum value and the graphs that define it (`@join__enumValue`)."""

    name: str
    graphs: tuple[str, ...]
    description: str | None
    deprecated: str | None
    inaccessible: bool
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MergedType:
    """A named type of the supergraph with its per-graph facts."""

    name: str
    kind: str
    description: str | None
    joins: tuple[JoinType, ...]
    fields: dict[str, MergedField] = field(default_factory=dict)
    input_fields: dict[str, MergedInputField] = field(default_factory=dict)
    #: (graph, interface) pairs, `@join__implements`
    implements: tuple[tuple[str, str], ...] = ()
    #: (graph, member) pairs, `@join__unionMember`
    members: tuple[tuple[str, str], ...] = ()
    values: dict[str, MergedEnumValue] = field(default_factory=dict)
    inaccessible: bool = False
    tags: tuple[str, ...] = ()
    specified_by: str | None = None
    #: the contexts the type sets, `<subgraph>__<name>` (`@context(name:)` in the supergraph)
    contexts: tuple[str, ...] = ()

    @property
    def graphs(self) -> tuple[str, ...]:
        """The graphs that have the type, in order."""
        return tuple(dict.fromkeys(j.graph for j in self.joins))

    @property
    def interfaces(self) -> tuple[str, ...]:
        """The interfaces the type implements in some graph."""
        return tuple(dict.fromkeys(i for _g, i in self.implements))

    @property
    def member_names(self) -> tuple[str, ...]:
        """The members of a union in some graph."""
        return tuple(dict.fromkeys(m for _g, m in self.members))


@dataclass(frozen=True, slots=True)
class MergedSchema:
    """Every merged type, the graphs (name -> url) and the root types present."""

    graphs: dict[str, str]
    types: dict[str, MergedType]
    roots: tuple[str, ...]
    #: the supergraph's name for `@context`: the one the subgraphs setting contexts use
    context_directive: str = "context"
