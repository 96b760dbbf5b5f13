"""The schema registry: domain teams publish subgraphs, device teams register operations.

Every publish composes the new subgraph with the latest version of every other one
(`federation.composition`), checks the result against the operations the device teams
registered, and stores the new subgraph version and supergraph, or refuses with a report.
Gateways poll `GET /supergraph` with an ETag and hot-reload what it serves.

`db` holds the tables and migrations, `store` the reads and writes, `checks` (with `fields`)
the composition, breaking-change and usage checks, `service` the publish, check, register and
rollback flows, `app` the HTTP service with its `page` and `manifest`s, `server` and `cli` the
commands. `edgegraph serve` loads only `cli` (the parsers), `source` (its supergraph from the
registry, kept on disk) and `usage` (its sampled field usage, reported back): no SQLAlchemy.
"""
