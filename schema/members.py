"""The members subgraph: `Member` (key `id`), `me`, my list with its mutations, and continue
watching, which `@provides` each title's name.

The signed-in member comes from the gateway's passport (`x-edgegraph-passport`, checked with
the gateway's public key, edge/passport.py) and from nothing else: `me` and the my-list
mutations act as that member, and a member's list and continue-watching row are that member's
alone (`FORBIDDEN` for anyone else, through `member(id:)` or an entity fetch alike), so no
caller can read or change another member's list.
"""

from __future__ import annotations

from enum import Enum
from typing import TypeAlias

import httpx
import strawberry
from graphql import GraphQLError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet
from strawberry.types import Info

from edge.passport import PASSPORT_HEADER, PassportVerifier
from federation.telemetry.tracing import Telemetry
from resolvers.http import DEFAULT_TIMEOUT
from resolvers.members import MemberRecord, MembersLoaders, change_my_list
from schema.common import (
    FEDERATION_VERSION,
    Context,
    create_subgraph_app,
    field,
    operation_caches,
    serve,
)

__all__ = ["create_app", "main", "schema"]

MembersInfo: TypeAlias = Info[Context[MembersLoaders], None]


@strawberry.enum(description="Which titles a profile may watch.")
class MaturityLevel(Enum):
    KIDS = "KIDS"
    TEEN = "TEEN"
    ADULT = "ADULT"


# Members points at titles but cannot resolve them; catalog owns them.
@strawberry.federation.type(keys=[Key(fields=FieldSet("id"), resolvable=False)])
class Title:
    id: strawberry.ID
    # Owned by catalog; members knows it only where `@provides` says so (continue watching).
    name: str | None = strawberry.federation.field(external=True, graphql_type=str, default=None)


@strawberry.type(description="A title the member started, and where they stopped.")
class ContinueWatching:
    title: Title = strawberry.federation.field(provides=["name"])
    position_seconds: int


@strawberry.federation.type(keys=["id"], description="A member profile.")
class Member:
    id: strawberry.ID
    name: str
    maturity_level: MaturityLevel

    @classmethod
    def from_record(cls, record: MemberRecord) -> Member:
        """The GraphQL object for a backend record."""
        return cls(
            id=strawberry.ID(record.id),
            name=record.name,
            maturity_level=MaturityLevel(record.maturity_level),
        )

    @classmethod
    async def resolve_reference(cls, info: MembersInfo, id: str) -> Member | None:
        """A member by id; unknown ids give null."""
        record = await info.context.loaders.member_by_id.load(id)
        return None if record is None else cls.from_record(record)

    @field("The titles the member saved, in the order they added them (the member's own only).")
    async def my_list(self, info: MembersInfo) -> list[Title]:
        _check_own(info, self.id)
        title_ids = await info.context.loaders.my_list_by_member.load(self.id)
        return [Title(id=strawberry.ID(t)) for t in title_ids or ()]

    @field("Titles the member started, most recent first (the member's own only).")
    async def continue_watching(self, info: MembersInfo) -> list[ContinueWatching]:
        _check_own(info, self.id)
        loader = info.context.loaders.continue_watching_by_member
        return [
            ContinueWatching(
                title=Title(id=strawberry.ID(item.title_id), name=item.title_name),
                position_seconds=item.position_seconds,
            )
            for item in await loader.load(self.id) or ()
        ]


def _check_own(info: MembersInfo, member_id: str) -> None:
    if info.context.member_id != member_id:
        raise GraphQLError(
            "Only the signed-in member sees their own list", extensions={"code": "FORBIDDEN"}
        )


@strawberry.input(description="A title to add to or remove from the signed-in member's list.")
class MyListInput:
    title_id: strawberry.ID


@strawberry.type
class Query:
    @field("The signed-in member (from the gateway's verified token), or null.")
    async def me(self, info: MembersInfo) -> Member | None:
        member_id = info.context.member_id
        if member_id is None:
            return None
        return await Member.resolve_reference(info, id=member_id)

    # Domain rules the gateway enforces (federation/authorization.py): a signed-in caller only.
    @field("A member by id (signed-in callers only).", authenticated=True)
    async def member(self, info: MembersInfo, id: strawberry.ID) -> Member | None:
        return await Member.resolve_reference(info, id=id)


@strawberry.type
class Mutation:
    # The token must grant list:write: a read-only device token cannot change lists.
    @field(
        "Add a title to the signed-in member's list (adding twice is a no-op).",
        requires_scopes=[["list:write"]],
    )
    async def add_to_my_list(self, info: MembersInfo, input: MyListInput) -> Member:
        return await _change(info, input, add=True)

    @field("Remove a title from the signed-in member's list.", requires_scopes=[["list:write"]])
    async def remove_from_my_list(self, info: MembersInfo, input: MyListInput) -> Member:
        return await _change(info, input, add=False)


async def _change(info: MembersInfo, change: MyListInput, *, add: bool) -> Member:
    member_id = info.context.member_id
    if member_id is None:
        raise GraphQLError("Sign in to change your list", extensions={"code": "UNAUTHENTICATED"})
    loaders = info.context.loaders
    await change_my_list(loaders, member_id=member_id, title_id=change.title_id, add=add)
    member = await Member.resolve_reference(info, id=member_id)
    if member is None:
        # The backend just accepted this member; losing it in between is the backend's fault.
        raise RuntimeError(f"member {member_id!r} vanished after changing its list")
    return member


schema = strawberry.federation.Schema(
    query=Query,
    mutation=Mutation,
    federation_version=FEDERATION_VERSION,
    extensions=operation_caches(),
)


def create_app(
    *,
    backend_url: str,
    client: httpx.AsyncClient | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    telemetry: Telemetry | None = None,
    passport: PassportVerifier | None = None,
) -> Starlette:
    """The members subgraph over the members backend at `backend_url`.

    `passport` checks the gateway's passports; without it nobody is signed in.
    """

    def caller(request: Request | WebSocket) -> str | None:
        if passport is None:
            return None
        identity = passport.verify(request.headers.get(PASSPORT_HEADER))
        return identity.subject if identity is not None else None

    return create_subgraph_app(
        service="members",
        schema=schema,
        loaders=MembersLoaders.create,
        backend_url=backend_url,
        client=client,
        timeout=timeout,
        telemetry=telemetry,
        caller=caller,
    )


def main(argv: list[str] | None = None) -> None:
    """`python -m schema.members --port 4004 --backend http://127.0.0.1:4104`."""
    serve(create_app, name="members", port=4004, backend_port=4104, argv=argv)


if __name__ == "__main__":
    main()
