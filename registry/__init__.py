"""The schema registry: domain teams publish subgraphs, device teams register operations.

Every publish composes the new subgraph with the latest version of every other one
(`federation.composition`), checks the result against the operations the device teams
registered, and stores the new subgraph version and supergraph, or refuses with a report.
Gateways poll `GET /supergraph` with an ETag and hot-reload what it serves.

`db` holds the tables and migrations, `store` the reads and writes, `checks` the composition
and breaking-change checks, `service` the publish, check, register and rollback flows, `app`
the HTTP service, `source` the gateway's side and `cli` the commands. Only `source` is loaded
by `edgegraph serve`: it needs neither SQLAlchemy nor Starlette's registry app.
"""
