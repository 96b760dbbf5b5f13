"""Checks of the federation directives, per subgraph and on the merged schema."""

from __future__ import annotations

from collections.abc import Sequence

from .errors import CompositionError
from .merged import MergedSchema
from .model import Subgraph

__all__ = ["validate_merged", "validate_subgraphs"]


def validate_subgraphs(subgraphs: Sequence[Subgraph]) -> list[CompositionError]:
    return []


def validate_merged(merged: MergedSchema, subgraphs: Sequence[Subgraph]) -> list[CompositionError]:
    return []
