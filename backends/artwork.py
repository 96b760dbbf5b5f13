"""The artwork backend: image URLs for a title in a format and width a device can show."""

from __future__ import annotations

from fractions import Fraction

from starlette.applications import Starlette

from backends.common import (
    JSON,
    Backend,
    BadRequest,
    JSONObject,
    describe,
    int_param,
    known_ids,
    serve,
)

__all__ = ["ASPECT_RATIOS", "create_app", "main"]

#: Height over width for each format: box art is 2:3 portrait, billboards 16:9, logos 4:1.
ASPECT_RATIOS: dict[str, Fraction] = {
    "BOXART": Fraction(3, 2),
    "BILLBOARD": Fraction(9, 16),
    "LOGO": Fraction(1, 4),
}
MIN_WIDTH, MAX_WIDTH = 32, 3840


def create_app(
    *,
    seed: int = 7,
    latency_ms: float = 0.0,
    batch_limit: int = 500,
    titles: int = 5000,
    members: int = 500,
) -> Starlette:
    """The artwork service over the demo data for `seed`."""
    backend = Backend(
        seed=seed, titles=titles, members=members, latency_ms=latency_ms, batch_limit=batch_limit
    )

    def artwork(ids: list[str], body: JSONObject) -> list[JSON]:
        image_format = body.get("format")
        if not isinstance(image_format, str) or image_format not in ASPECT_RATIOS:
            allowed = ", ".join(ASPECT_RATIOS)
            raise BadRequest(f"'format' must be one of {allowed}, got {describe(image_format)}")
        width = int_param(body, "width", default=None, low=MIN_WIDTH, high=MAX_WIDTH)
        height = round(width * ASPECT_RATIOS[image_format])
        known = known_ids(backend.conn, "titles", ids)
        return [
            {
                "titleId": key,
                "format": image_format,
                "width": width,
                "height": height,
                "url": f"https://art.example/{image_format}/{key}/{width}.jpg",
            }
            if key in known
            else None
            for key in ids
        ]

    return backend.app([backend.batch("/artwork/batch", artwork)])


def main(argv: list[str] | None = None) -> None:
    """Run the artwork service: `python -m backends.artwork --port 4102`."""
    serve(create_app, name="artwork", port=4102, argv=argv)


if __name__ == "__main__":
    main()
