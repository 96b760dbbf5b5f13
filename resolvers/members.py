"""Members behaviour: profiles, my list, continue watching, and my-list changes."""

from __future__ import annotations

from dataclasses import dataclass

from graphql import GraphQLError

from resolvers.batching import BackendLoader, expect, load_by_ids
from resolvers.http import JSON, BackendBadResponse, BackendClient, BackendError

__all__ = [
    "ContinueWatchingByMemberLoader",
    "ContinueWatchingRecord",
    "MemberByIdLoader",
    "MemberRecord",
    "MembersLoaders",
    "MyListByMemberLoader",
    "change_my_list",
]


@dataclass(frozen=True, slots=True)
class MemberRecord:
    """A member profile."""

    id: str
    name: str
    maturity_level: str

    @classmethod
    def from_json(cls, raw: JSON) -> MemberRecord:
        """Parse one `/members/batch` result."""
        return cls(
            id=expect(raw["id"], str),
            name=expect(raw["name"], str),
            maturity_level=expect(raw["maturityLevel"], str),
        )


@dataclass(frozen=True, slots=True)
class ContinueWatchingRecord:
    """A title the member started: the catalog name travels with it (for `@provides`)."""

    title_id: str
    title_name: str
    position_seconds: int

    @classmethod
    def from_json(cls, raw: JSON) -> ContinueWatchingRecord:
        """Parse one entry of a `/continue-watching/batch` result."""
        return cls(
            title_id=expect(raw["titleId"], str),
            title_name=expect(raw["titleName"], str),
            position_seconds=expect(raw["positionSeconds"], int),
        )


def _title_ids(raw: JSON) -> tuple[str, ...]:
    return tuple(expect(t, str) for t in expect(raw["titleIds"], list))


def _continue_watching(raw: JSON) -> tuple[ContinueWatchingRecord, ...]:
    return tuple(ContinueWatchingRecord.from_json(item) for item in expect(raw, list))


class MemberByIdLoader(BackendLoader[str, MemberRecord | None]):
    """Members by id: one `POST /members/batch` per batch."""

    async def batch_load_fn(self, keys: list[str]) -> list[MemberRecord | None]:
        return await load_by_ids(self.backend, "/members/batch", keys, MemberRecord.from_json)


class MyListByMemberLoader(BackendLoader[str, tuple[str, ...] | None]):
    """Each member's list of title ids: one `POST /mylist/batch` per batch."""

    async def batch_load_fn(self, keys: list[str]) -> list[tuple[str, ...] | None]:
        return await load_by_ids(self.backend, "/mylist/batch", keys, _title_ids)


class ContinueWatchingByMemberLoader(BackendLoader[str, tuple[ContinueWatchingRecord, ...] | None]):
    """Each member's started titles: one `POST /continue-watching/batch` per batch."""

    async def batch_load_fn(
        self, keys: list[str]
    ) -> list[tuple[ContinueWatchingRecord, ...] | None]:
        return await load_by_ids(self.backend, "/continue-watching/batch", keys, _continue_watching)


@dataclass(frozen=True, slots=True)
class MembersLoaders:
    """Every members loader, built fresh for each GraphQL request."""

    member_by_id: MemberByIdLoader
    my_list_by_member: MyListByMemberLoader
    continue_watching_by_member: ContinueWatchingByMemberLoader

    @classmethod
    def create(cls, backend: BackendClient) -> MembersLoaders:
        """Fresh loaders over `backend`."""
        return cls(
            member_by_id=MemberByIdLoader(backend),
            my_list_by_member=MyListByMemberLoader(backend),
            continue_watching_by_member=ContinueWatchingByMemberLoader(backend),
        )


async def change_my_list(
    loaders: MembersLoaders, *, member_id: str, title_id: str, add: bool
) -> tuple[str, ...]:
    """Add `title_id` to (or remove it from) the member's list and return the new list.

    Writes are not batched. The answer replaces the request's cached list, so fields
    read after the mutation see the change without another call.
    """
    backend = loaders.my_list_by_member.backend
    path = "/mylist/add" if add else "/mylist/remove"
    try:
        body = await backend.request(
            "POST", path, json={"memberId": member_id, "titleId": title_id}
        )
    except BackendError as error:
        status = (error.extensions or {}).get("status")
        if status is not None and 400 <= status < 500:
            # The backend names the unknown member or title; that is the caller's input.
            raise GraphQLError(error.message, extensions={"code": "BAD_USER_INPUT"}) from None
        raise
    try:
        title_ids = _title_ids(body)
    except (KeyError, TypeError) as error:
        raise BackendBadResponse(
            backend.service, f"POST {path}: malformed answer ({error!r})"
        ) from None
    loaders.my_list_by_member.clear(member_id).prime(member_id, title_ids)
    return title_ids
