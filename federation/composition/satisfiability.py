from __future__ import annotations

from .errors import CompositionError
from .merged import MergedSchema

__all__ = ["check_satisfiability"]


def check_satisfiability(merged: MergedSchema) -> list[CompositionError]:
    return []
