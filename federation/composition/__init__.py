"""Composition: the subgraphs' SDLs become one supergraph, or every error found.

    result = compose([SubgraphSource(name="catalog", url="http://...", sdl=sdl), ...])
    if result.ok:
        print(result.supergraph_sdl)
    else:
        for error in result.errors:
            print(error.code, error.coordinate, error.message)

The stages: read each subgraph (`model`), upgrade Federation 1 subgraphs and read the "fake"
externals of type extensions (`upgrade`), check each subgraph's federation directives
(`validate`, `context` for `@context`/`@fromContext`, `definitions` for its own definitions of
federation directives) and the directives it asks to carry (`carried`: `@composeDirective`, `@cost`,
`@listSize`), merge (`merge`), check the merged schema and that every field can be reached by
some plan (`satisfiability`, worded by `explain`), print (`printer`, with `executable`'s
directives).
"""

from __future__ import annotations

from .compose import compose
from .errors import CompositionError, CompositionHint, CompositionResult
from .model import SubgraphSource

__all__ = [
    "CompositionError",
    "CompositionHint",
    "CompositionResult",
    "SubgraphSource",
    "compose",
]
