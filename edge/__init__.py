"""The edge surface of the gateway: HTTP handling, GraphiQL, persisted operations, headers."""
