"""Building blocks every loader shares: the loader base, key checks, grouping, record parsing."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from aiodataloader import DataLoader
from graphql import GraphQLError

from resolvers.http import JSON, MAX_BATCH_SIZE, BackendBadResponse, BackendClient
from resolvers.telemetry import traced_batch

__all__ = [
    "BackendLoader",
    "PageKey",
    "check_range",
    "expect",
    "is_id",
    "is_slug",
    "load_by_ids",
    "load_grouped",
    "parse_each",
]

K = TypeVar("K")
V = TypeVar("V")
G = TypeVar("G", bound=Hashable)

_ID = re.compile(r"[a-z][0-9]+")
_SLUG = re.compile(r"[a-z0-9-]+")


@dataclass(frozen=True, slots=True)
class PageKey:
    """A loader key for one page of a list owned by `owner_id` (a genre's titles, a title's
    reviews); pages with the same `first` and `after` share one backend call."""

    owner_id: str
    first: int
    after: str | None

    @property
    def window(self) -> tuple[int, str | None]:
        """The call parameters, which group keys into batches."""
        return (self.first, self.after)


def check_range(name: str, value: int, low: int, high: int) -> int:
    """`value` if in `[low, high]`, else a `BAD_USER_INPUT` error naming the argument."""
    if not low <= value <= high:
        raise GraphQLError(
            f"'{name}' must be from {low} to {high}, got {value}",
            extensions={"code": "BAD_USER_INPUT"},
        )
    return value


def expect(value: object, kind: type[V]) -> V:
    """`value` if it is a `kind`, else TypeError (a backend broke its contract)."""
    if not isinstance(value, kind):
        raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
    return value


def is_id(value: str) -> bool:
    """True for an id the backends accept (`t42`); others are unknown without asking."""
    return _ID.fullmatch(value) is not None


def is_slug(value: str) -> bool:
    """True for a slug the catalog backend accepts."""
    return _SLUG.fullmatch(value) is not None


class BackendLoader(DataLoader[K, V]):
    """A per-request loader over one backend; batches are capped at the backend's limit."""

    max_batch_size = MAX_BATCH_SIZE

    def __init__(self, backend: BackendClient) -> None:
        super().__init__()
        self.backend = backend
        if backend.telemetry is not None:
            # An instance attribute shadows the subclass's method: aiodataloader calls this one.
            self.batch_load_fn = traced_batch(
                backend.telemetry, type(self).__name__, self.batch_load_fn
            )


def parse_each(
    backend: BackendClient, path: str, raw: Sequence[JSON], parse: Callable[[JSON], V]
) -> list[V | None]:
    """Parse each non-null result with `parse`; a result of the wrong shape fails the batch."""
    try:
        return [None if item is None else parse(item) for item in raw]
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise BackendBadResponse(
            backend.service, f"POST {path}: malformed result ({error!r})"
        ) from None


async def load_by_ids(
    backend: BackendClient,
    path: str,
    keys: Sequence[str],
    parse: Callable[[JSON], V],
    *,
    params: dict[str, Any] | None = None,
    valid: Callable[[str], bool] = is_id,
) -> list[V | None]:
    """One batch call for `keys`; malformed keys answer None without reaching the backend,
    because one malformed id makes the backend reject the whole batch."""
    wanted = [key for key in keys if valid(key)]
    if not wanted:
        return [None] * len(keys)
    raw = await backend.batch(path, wanted, params)
    found = dict(zip(wanted, parse_each(backend, path, raw, parse), strict=True))
    return [found.get(key) for key in keys]


async def load_grouped(
    keys: Sequence[K],
    group_of: Callable[[K], G],
    fetch: Callable[[G, list[K]], Awaitable[list[V]]],
) -> list[V]:
    """Split `keys` by `group_of` (the call parameters), fetch the groups concurrently and
    answer in key order.

    A failed group puts its exception in place of each of its keys' values: aiodataloader
    rejects exactly those keys, so other groups keep their data. (The declared type leaves
    the exceptions out because no caller of `load` ever receives one as a value.)
    """
    groups: dict[G, list[int]] = {}
    for index, key in enumerate(keys):
        groups.setdefault(group_of(key), []).append(index)
    outcomes = await asyncio.gather(
        *(fetch(group, [keys[i] for i in indices]) for group, indices in groups.items()),
        return_exceptions=True,
    )
    answers: list[Any] = [None] * len(keys)
    for indices, outcome in zip(groups.values(), outcomes, strict=True):
        if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
            raise outcome
        for position, index in enumerate(indices):
            answers[index] = outcome if isinstance(outcome, Exception) else outcome[position]
    return answers
