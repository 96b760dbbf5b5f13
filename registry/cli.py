"""The registry's commands, added to `edgegraph`:

    edgegraph registry serve [--database URL] [--host H] [--port P]
    edgegraph registry token --database URL --name NAME [--admin] [--subgraph S]... [--client C]...
    edgegraph registry rollback --subgraph N --to VERSION [--reason R] [--force]
    edgegraph registry diff --from A --to B
    edgegraph subgraph publish --name N --url U [--schema FILE] [--force --reason R]
    edgegraph subgraph check --name N --schema FILE [--url U]
    edgegraph operations register --client C --version V FILE...
    edgegraph new subgraph NAME [--entity E] [--port P] [--dir D] [--graph-toml F]

The client commands take `--registry URL` (or EDGEGRAPH_REGISTRY) and `--token T` (or
EDGEGRAPH_TOKEN). A refused publish or a failed check prints the report and exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
from pathlib import Path
from typing import Any

import httpx
from graphql import GraphQLError, OperationDefinitionNode, parse

from federation.composition.config import ConfigError, fetch_service_sdl

from .scaffold import ScaffoldError, scaffold_subgraph

__all__ = ["add_registry_commands", "format_report"]

DEFAULT_DATABASE = "sqlite:///registry.db"
DEFAULT_PORT = 4400
#: the default largest request body of `registry serve` (a big SDL is a few hundred kB)
DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024


def _server(name: str) -> Any:
    # Only `registry serve` and `registry token` open the database: loaded by name, like
    # `edgegraph demo`, so that the client commands and `edgegraph serve` never load SQLAlchemy.
    return getattr(importlib.import_module("registry.server"), name)


def _fail(message: str) -> SystemExit:
    return SystemExit(f"edgegraph: {message}")


def _client_options(parser: argparse.ArgumentParser, *, token: bool = True) -> None:
    parser.add_argument(
        "--registry",
        default=os.environ.get("EDGEGRAPH_REGISTRY"),
        help="the registry's URL (or EDGEGRAPH_REGISTRY)",
    )
    if token:
        parser.add_argument(
            "--token",
            default=os.environ.get("EDGEGRAPH_TOKEN"),
            help="your team's token (or EDGEGRAPH_TOKEN)",
        )


def _request(args: argparse.Namespace, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    if not args.registry:
        raise _fail("no registry: pass --registry URL or set EDGEGRAPH_REGISTRY")
    headers = {}
    token = getattr(args, "token", None)
    if token:
        headers["authorization"] = f"Bearer {token}"
    url = f"{args.registry.rstrip('/')}{path}"
    try:
        response = httpx.request(method, url, json=body, headers=headers, timeout=120.0)
    except httpx.HTTPError as error:
        raise _fail(f"cannot reach the registry at {args.registry}: {error}") from None
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, {"error": response.text[:500]}


def format_report(report: dict[str, Any]) -> str:
    """A check report as a team reads it in CI."""
    lines: list[str] = []
    if report.get("compositionErrors"):
        lines.append("composition errors:")
        lines += [f"  {error}" for error in report["compositionErrors"]]
    affected = report.get("affectedOperations") or []
    if affected:
        lines.append("registered operations this change breaks:")
        for op in affected:
            lines.append(
                f"  client {op['client']}, operation {op['operation']} "
                f"(client version {op['clientVersion']}):"
            )
            lines += [f"    - {reason}" for reason in op["reasons"]]
    usage = report.get("affectedUsage") or []
    if usage:
        lines.append("fields requests read lately that this change breaks:")
        lines += [
            f"  {use['field']}: {use['requests']} requests from client {use['client']} "
            f"({use['change']})"
            for use in usage
        ]
    touched = {r for op in affected for r in op["reasons"]} | {u["change"] for u in usage}
    unused = [c for c in report.get("breakingChanges") or [] if c not in touched]
    if unused:
        lines.append("breaking changes no registered operation uses:")
        lines += [f"  - {change}" for change in unused]
    return "\n".join(lines)


def _read_schema(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as error:
        raise _fail(f"cannot read {path}: {error.strerror or error}") from None


async def _introspect(name: str, url: str) -> str:
    async with httpx.AsyncClient(timeout=30.0) as client:
        return await fetch_service_sdl(client, name, url)


def _publish(args: argparse.Namespace) -> None:
    if args.schema:
        sdl = _read_schema(args.schema)
    else:
        try:
            sdl = asyncio.run(_introspect(args.name, args.url))
        except ConfigError as error:
            raise _fail(str(error)) from None
    body = {
        "url": args.url,
        "sdl": sdl,
        "force": args.force,
        "reason": args.reason,
        "baseVersion": args.base_version,
    }
    status, answer = _request(args, "POST", f"/subgraphs/{args.name}/publish", body)
    report = format_report(answer.get("check") or {})
    if status != 200:
        print(f"edgegraph: publish refused ({status}): {answer.get('error')}", file=sys.stderr)
        if report:
            print(report, file=sys.stderr)
        raise SystemExit(1)
    if answer.get("unchanged"):
        print(f"{args.name} is unchanged at version {answer['version']}")
        return
    forced = " (forced past failed checks)" if answer.get("forced") else ""
    print(
        f"published {args.name} version {answer['version']}, "
        f"supergraph version {answer['supergraphVersion']}{forced}"
    )
    if report:
        print(report)


def _check(args: argparse.Namespace) -> None:
    body = {"sdl": _read_schema(args.schema), "url": args.url}
    status, answer = _request(args, "POST", f"/subgraphs/{args.name}/check", body)
    if status != 200:
        raise _fail(f"check refused ({status}): {answer.get('error')}")
    report = format_report(answer)
    if answer.get("ok"):
        print(f"check passed: {args.name} composes and breaks no registered operation")
        if report:
            print(report)
        return
    print(f"check failed: {args.name}", file=sys.stderr)
    print(report, file=sys.stderr)
    raise SystemExit(1)


def _operation_name(path: Path, body: str) -> str:
    try:
        document = parse(body)
    except GraphQLError as error:
        raise _fail(f"{path}: does not parse: {error.message}") from None
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and definition.name is not None:
            return definition.name.value
    return path.stem


def _register(args: argparse.Namespace) -> None:
    operations = []
    for file in args.files:
        text = _read_schema(file)
        operations.append({"name": _operation_name(Path(file), text), "body": text})
    payload = {"version": args.version, "operations": operations}
    status, answer = _request(args, "POST", f"/operations/{args.client}", payload)
    if status != 200:
        print(f"edgegraph: register refused ({status}): {answer.get('error')}", file=sys.stderr)
        raise SystemExit(1)
    added = answer["added"]
    print(
        f"registered {len(added)} new of {answer['count']} operations for client "
        f"{args.client} version {args.version}" + (f": {', '.join(added)}" if added else "")
    )


def _rollback(args: argparse.Namespace) -> None:
    body = {"to": args.to, "reason": args.reason, "force": args.force}
    status, answer = _request(args, "POST", f"/subgraphs/{args.subgraph}/rollback", body)
    if status != 200:
        print(f"edgegraph: rollback refused ({status}): {answer.get('error')}", file=sys.stderr)
        report = format_report(answer.get("check") or {})
        if report:
            print(report, file=sys.stderr)
        raise SystemExit(1)
    print(
        f"rolled {args.subgraph} back to version {args.to}: now version {answer['version']}, "
        f"supergraph version {answer['supergraphVersion']}"
    )


def _diff(args: argparse.Namespace) -> None:
    status, answer = _request(args, "GET", f"/supergraphs/diff?from={args.old}&to={args.new}")
    if status != 200:
        raise _fail(f"diff refused ({status}): {answer.get('error')}")
    print(answer["diff"] or "(no change in the API schema)")
    for kind in ("breaking", "dangerous"):
        if answer[kind]:
            print(f"\n{kind} changes:")
            print("\n".join(f"  - {change}" for change in answer[kind]))


def _new_subgraph(args: argparse.Namespace) -> None:
    graph_toml = Path(args.graph_toml) if args.graph_toml else None
    try:
        written = scaffold_subgraph(
            args.name,
            root=Path(args.dir),
            entity=args.entity,
            port=args.port,
            graph_toml=graph_toml,
        )
    except ScaffoldError as error:
        raise _fail(str(error)) from None
    print("wrote " + ", ".join(str(path) for path in written))
    print(f"run it:      python -m {args.name}_subgraph.schema")
    print(f"test it:     pytest {Path(args.dir) / f'{args.name}_subgraph'}")
    print(
        f"publish it:  edgegraph subgraph publish --name {args.name} "
        f"--url http://127.0.0.1:{args.port}/graphql"
    )


def add_registry_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `registry`, `subgraph` and `operations` to the `edgegraph` command."""
    registry = commands.add_parser("registry", help="the schema registry")
    actions = registry.add_subparsers(dest="registry_command", required=True)
    serve = actions.add_parser("serve", help="run the registry service")
    serve.add_argument(
        "--database",
        default=os.environ.get("EDGEGRAPH_REGISTRY_DATABASE", DEFAULT_DATABASE),
        help="sqlite:///FILE (default sqlite:///registry.db) or postgresql://… for a fleet",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES)
    serve.add_argument(
        "--usage-days",
        type=int,
        default=7,
        help="a check fails on a field requests read in these last days, as gateways report "
        "(default 7; 0: usage is not checked)",
    )
    serve.set_defaults(run=lambda args: _server("serve")(args))
    token = actions.add_parser("token", help="print a new token for a team (only a hash is kept)")
    token.add_argument("--database", required=True, help="the registry's database URL")
    token.add_argument("--name", required=True, help="the team's name, recorded in the audit log")
    token.add_argument("--admin", action="store_true", help="may write every subgraph and client")
    token.add_argument("--subgraph", action="append", default=[], help="a subgraph it publishes")
    token.add_argument("--client", action="append", default=[], help="a client it registers for")
    token.add_argument("--expires-days", type=float, help="the token expires after these days")
    token.set_defaults(run=lambda args: _server("create_token")(args))
    rollback = actions.add_parser("rollback", help="publish an earlier subgraph version again")
    rollback.add_argument("--subgraph", required=True)
    rollback.add_argument("--to", type=int, required=True, help="the version to go back to")
    rollback.add_argument("--reason", help="recorded in the audit log")
    rollback.add_argument("--force", action="store_true", help="past failed checks")
    _client_options(rollback)
    rollback.set_defaults(run=_rollback)
    diff = actions.add_parser("diff", help="the API-schema diff between two supergraphs")
    diff.add_argument("--from", dest="old", type=int, required=True)
    diff.add_argument("--to", dest="new", type=int, required=True)
    _client_options(diff, token=False)
    diff.set_defaults(run=_diff)

    subgraph = commands.add_parser("subgraph", help="publish or check a subgraph")
    subgraph_actions = subgraph.add_subparsers(dest="subgraph_command", required=True)
    publish = subgraph_actions.add_parser("publish", help="compose, check and publish")
    publish.add_argument("--name", required=True)
    publish.add_argument("--url", required=True, help="where the gateway calls the subgraph")
    publish.add_argument("--schema", help="SDL file (default: ask the url for `_service { sdl }`)")
    publish.add_argument("--force", action="store_true", help="publish past failed checks")
    publish.add_argument("--reason", help="why (required with --force; audited)")
    publish.add_argument(
        "--base-version",
        type=int,
        help="the version this change was built on: refused (409) if another publish landed",
    )
    _client_options(publish)
    publish.set_defaults(run=_publish)
    check = subgraph_actions.add_parser("check", help="run a publish's checks, store nothing")
    check.add_argument("--name", required=True)
    check.add_argument("--schema", required=True, help="the SDL file to check")
    check.add_argument("--url", help="the subgraph's URL (default: the published one)")
    _client_options(check)
    check.set_defaults(run=_check)

    new = commands.add_parser("new", help="scaffold a new part of the graph")
    new_actions = new.add_subparsers(dest="new_command", required=True)
    scaffold = new_actions.add_parser(
        "subgraph", help="a strawberry Federation v2 subgraph with a loader and a test"
    )
    scaffold.add_argument("name", help="the subgraph's name (lower case, '_' allowed)")
    scaffold.add_argument("--entity", help="its entity type (default: the name, capitalized)")
    scaffold.add_argument("--port", type=int, default=4010, help="where it serves (4010)")
    scaffold.add_argument("--dir", default=".", help="where NAME_subgraph/ is written (.)")
    scaffold.add_argument(
        "--graph-toml", default="graph.toml", help="where its [subgraphs.NAME] table goes"
    )
    scaffold.set_defaults(run=_new_subgraph)

    operations = commands.add_parser("operations", help="a device team's operations")
    operation_actions = operations.add_subparsers(dest="operations_command", required=True)
    register = operation_actions.add_parser("register", help="validate and register operations")
    register.add_argument("--client", required=True, help="tv, mobile, web, …")
    register.add_argument("--version", required=True, help="the client's release")
    register.add_argument("files", nargs="+", help=".graphql files, one operation document each")
    _client_options(register)
    register.set_defaults(run=_register)
