"""Internal failures of the engine. Client-visible errors are GraphQLErrors instead."""

from __future__ import annotations

__all__ = ["FederationError", "PlanningError", "SupergraphError"]


class FederationError(Exception):
    """Base class of every internal engine failure."""


class SupergraphError(FederationError):
    """The supergraph SDL is malformed; raised at load time, never half-loaded."""


class PlanningError(FederationError):
    """An operation cannot be planned against the supergraph (no path to a field)."""

    def __init__(self, message: str, path: list[str] | None = None) -> None:
        super().__init__(message)
        self.path = path or []
