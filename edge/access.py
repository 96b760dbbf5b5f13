"""The auth directives at the edge: each request's operation is restricted to what its caller
may see (`federation.authorization`) before it is planned, and its answer gets the denied
fields' nulls and errors.

`@policy` names are decided by a Python hook named in the config, `[auth] policy_hook =
"package.module:function"`. It is called once per request of a supergraph that uses
`@policy`, as `function(identity, policies)`: `identity` is the verified caller
(`edge.passport.Identity`, or None for an anonymous one) and `policies` every policy name the
supergraph mentions; it returns (or, if async, resolves to) the names the caller satisfies.
A hook that raises grants nothing, and without a hook no policy is granted: a protected field
is never served because a rule could not be checked.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeAlias

from graphql import print_ast

from edge.auth import AuthSetupError
from edge.passport import Identity
from federation.authorization import AccessRules, Caller, Denied, Restriction, restrict
from federation.engine import Engine
from federation.operation import PreparedOperation
from federation.supergraph.model import Supergraph

__all__ = ["AccessControl", "PolicyHook", "load_policy_hook"]

logger = logging.getLogger("edgegraph.auth")

PolicyHook: TypeAlias = Callable[
    [Identity | None, frozenset[str]], Iterable[str] | Awaitable[Iterable[str]]
]


def load_policy_hook(spec: str) -> PolicyHook:
    """The function `spec` ("package.module:function") names; raises AuthSetupError."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise AuthSetupError(f"policy_hook must be 'module:function', not {spec!r}")
    try:
        hook = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise AuthSetupError(f"policy_hook {spec!r}: {error}") from error
    if not callable(hook):
        raise AuthSetupError(f"policy_hook {spec!r} is not callable")
    checked: PolicyHook = hook
    return checked


class AccessControl:
    """Restricts operations to their callers under the served supergraph's rules."""

    def __init__(self, *, policy_hook: PolicyHook | None = None, cache_size: int = 1000) -> None:
        self.policy_hook = policy_hook
        self.cache_size = cache_size
        self._served: tuple[Supergraph, AccessRules] | None = None
        self._cache: OrderedDict[tuple[Any, ...], Restriction | None] = OrderedDict()

    def rules(self, supergraph: Supergraph) -> AccessRules:
        """The rules of `supergraph`, read once per supergraph (a reload brings new ones)."""
        if self._served is None or self._served[0] is not supergraph:
            self._served = (supergraph, AccessRules.from_supergraph(supergraph))
            self._cache.clear()
        return self._served[1]

    async def restrict(
        self, engine: Engine, prepared: PreparedOperation, identity: Identity | None
    ) -> tuple[PreparedOperation, tuple[Denied, ...]]:
        """The operation to run for this caller, and the fields denied to them."""
        rules = self.rules(engine.supergraph)
        if rules.empty:
            return prepared, ()
        caller = Caller(
            authenticated=identity is not None,
            scopes=identity.scopes if identity is not None else frozenset(),
            policies=await self._granted(identity, rules.policies),
        )
        key = (prepared.key, caller)
        if key in self._cache:
            self._cache.move_to_end(key)
            restriction = self._cache[key]
        else:
            restriction = restrict(
                prepared.document, prepared.operation, engine.supergraph.api_schema, rules, caller
            )
            self._cache[key] = restriction
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        if restriction is None:
            return prepared, ()
        # The rewritten text is prepared (and planned) like any operation, and cached the same.
        return engine.prepare(print_ast(restriction.document), prepared.name), restriction.denied

    async def _granted(self, identity: Identity | None, policies: frozenset[str]) -> frozenset[str]:
        if not policies or self.policy_hook is None:
            return frozenset()
        try:
            answer = self.policy_hook(identity, policies)
            granted = await answer if inspect.isawaitable(answer) else answer
            return frozenset(name for name in granted if name in policies)
        except Exception:
            logger.exception("policy hook failed; no policy granted")
            return frozenset()
