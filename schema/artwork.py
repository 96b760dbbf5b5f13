"""The artwork subgraph: `Title.artwork(format, width)` and the `Artwork` entity, whose
compound key is the title, format and width of one image."""

from __future__ import annotations

from enum import Enum
from typing import TypeAlias

import httpx
import strawberry
from starlette.applications import Starlette
from strawberry.types import Info

from federation.telemetry.tracing import Telemetry
from resolvers.artwork import MAX_WIDTH, MIN_WIDTH, ArtworkKey, ArtworkLoaders, ArtworkRecord
from resolvers.http import DEFAULT_TIMEOUT
from schema.common import (
    FEDERATION_VERSION,
    Context,
    create_subgraph_app,
    field,
    operation_caches,
    serve,
)

__all__ = ["create_app", "main", "schema"]

ArtworkInfo: TypeAlias = Info[Context[ArtworkLoaders], None]


@strawberry.enum(description="The kind of image: each device shows the ones its layout has.")
class ArtworkFormat(Enum):
    BOXART = "BOXART"
    BILLBOARD = "BILLBOARD"
    LOGO = "LOGO"


@strawberry.federation.type(
    keys=["titleId format width"], description="One image of a title, at one width."
)
class Artwork:
    title_id: strawberry.ID
    format: ArtworkFormat
    width: int
    height: int
    url: str

    @classmethod
    def from_record(cls, record: ArtworkRecord) -> Artwork:
        """The GraphQL object for a backend record."""
        return cls(
            title_id=strawberry.ID(record.title_id),
            format=ArtworkFormat(record.format),
            width=record.width,
            height=record.height,
            url=record.url,
        )

    @classmethod
    async def resolve_reference(
        cls, info: ArtworkInfo, titleId: str, format: str, width: int
    ) -> Artwork | None:
        """An image by its compound key (representations carry the enum as its name)."""
        key = ArtworkKey(title_id=titleId, format=ArtworkFormat(format).value, width=width)
        record = await info.context.loaders.artwork_by_title.load(key)
        return None if record is None else cls.from_record(record)


@strawberry.federation.type(keys=["id"])
class Title:
    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: str) -> Title:
        """Any title id: artwork answers null for titles the backend does not know."""
        return cls(id=strawberry.ID(id))

    @field(
        f"The title's image in `format`, `width` pixels wide ({MIN_WIDTH} to "
        f"{MAX_WIDTH}); null if there is none."
    )
    async def artwork(self, info: ArtworkInfo, format: ArtworkFormat, width: int) -> Artwork | None:
        key = ArtworkKey(title_id=self.id, format=format.value, width=width)
        record = await info.context.loaders.artwork_by_title.load(key)
        return None if record is None else Artwork.from_record(record)


schema = strawberry.federation.Schema(
    types=[Title, Artwork], federation_version=FEDERATION_VERSION, extensions=operation_caches()
)


def create_app(
    *,
    backend_url: str,
    client: httpx.AsyncClient | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    telemetry: Telemetry | None = None,
) -> Starlette:
    """The artwork subgraph over the artwork backend at `backend_url`."""
    return create_subgraph_app(
        service="artwork",
        schema=schema,
        loaders=ArtworkLoaders.create,
        backend_url=backend_url,
        client=client,
        timeout=timeout,
        telemetry=telemetry,
    )


def main(argv: list[str] | None = None) -> None:
    """`python -m schema.artwork --port 4002 --backend http://127.0.0.1:4102`."""
    serve(create_app, name="artwork", port=4002, backend_port=4102, argv=argv)


if __name__ == "__main__":
    main()
