"""What composition returns: a supergraph and hints, or every error found."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["CompositionError", "CompositionHint", "CompositionResult"]


@dataclass(frozen=True, slots=True)
class CompositionError:
    """One problem that stops composition.

    `code` follows the codes of Apollo's composition (`FIELD_TYPE_MISMATCH`, ...), `subgraphs`
    names the subgraphs involved and `coordinate` the schema element (`Title.name`).
    """

    code: str
    message: str
    subgraphs: tuple[str, ...] = ()
    coordinate: str | None = None


@dataclass(frozen=True, slots=True)
class CompositionHint:
    """Something worth knowing that does not stop composition (an inconsistency that merges)."""

    code: str
    message: str
    coordinate: str | None = None


@dataclass(frozen=True, slots=True)
class CompositionResult:
    """`supergraph_sdl` and `hints` on success; `errors` (never empty) on failure."""

    supergraph_sdl: str | None = None
    hints: tuple[CompositionHint, ...] = ()
    errors: tuple[CompositionError, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """Whether composition succeeded."""
        return self.supergraph_sdl is not None and not self.errors
