"""Artwork behaviour: the artwork record and its loader, keyed by title, format and width."""

from __future__ import annotations

from dataclasses import dataclass

from resolvers.batching import BackendLoader, check_range, expect, load_by_ids, load_grouped
from resolvers.http import JSON, BackendClient

__all__ = [
    "MAX_WIDTH",
    "MIN_WIDTH",
    "ArtworkByTitleLoader",
    "ArtworkKey",
    "ArtworkLoaders",
    "ArtworkRecord",
]

#: The widths the artwork backend can render.
MIN_WIDTH, MAX_WIDTH = 32, 3840


@dataclass(frozen=True, slots=True)
class ArtworkKey:
    """One image: a title's art in one format at one width (also the entity's compound key)."""

    title_id: str
    format: str
    width: int

    def __post_init__(self) -> None:
        # A bad width would make the backend reject the whole group; fail just this field.
        check_range("width", self.width, MIN_WIDTH, MAX_WIDTH)


@dataclass(frozen=True, slots=True)
class ArtworkRecord:
    """An image URL with its exact size."""

    title_id: str
    format: str
    width: int
    height: int
    url: str

    @classmethod
    def from_json(cls, raw: JSON) -> ArtworkRecord:
        """Parse one `/artwork/batch` result."""
        return cls(
            title_id=expect(raw["titleId"], str),
            format=expect(raw["format"], str),
            width=expect(raw["width"], int),
            height=expect(raw["height"], int),
            url=expect(raw["url"], str),
        )


class ArtworkByTitleLoader(BackendLoader[ArtworkKey, ArtworkRecord | None]):
    """Artwork: one `POST /artwork/batch` per distinct (format, width) in the batch."""

    async def batch_load_fn(self, keys: list[ArtworkKey]) -> list[ArtworkRecord | None]:
        async def fetch(
            size: tuple[str, int], group: list[ArtworkKey]
        ) -> list[ArtworkRecord | None]:
            image_format, width = size
            return await load_by_ids(
                self.backend,
                "/artwork/batch",
                [key.title_id for key in group],
                ArtworkRecord.from_json,
                params={"format": image_format, "width": width},
            )

        return await load_grouped(keys, lambda key: (key.format, key.width), fetch)


@dataclass(frozen=True, slots=True)
class ArtworkLoaders:
    """Every artwork loader, built fresh for each GraphQL request."""

    artwork_by_title: ArtworkByTitleLoader

    @classmethod
    def create(cls, backend: BackendClient) -> ArtworkLoaders:
        """Fresh loaders over `backend`."""
        return cls(artwork_by_title=ArtworkByTitleLoader(backend))
