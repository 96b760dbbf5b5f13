"""Every shell command in README.md runs as written, so the README cannot drift from the code.

The commands are parsed from the README's ```sh blocks, in order. `make` targets are checked
with `make -n` (a dry run: `make test` would run this suite, and a stale `.venv` stamp would
reinstall); the command `make demo` runs is then started for real, as the rest of the README
assumes. Commands that start a server (`edgegraph serve`) must print their URL, answer
`/readiness` there, and are stopped; every other command must exit 0.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: Every port `edgegraph demo` listens on: gateway, subgraphs, issuer, backends.
DEMO_PORTS = (4000, 4001, 4002, 4003, 4004, 4005, 4101, 4102, 4103, 4104)
_SERVER = re.compile(r"(^|\s)(\S*edgegraph (serve|demo)\b)")
_URL = re.compile(r"http://[\w.]+:\d+")


@dataclass(frozen=True, slots=True)
class Command:
    """One command of a ```sh block (continuation lines joined, trailing comment cut)."""

    block: int
    text: str

    @property
    def starts_server(self) -> bool:
        return bool(_SERVER.search(self.text)) or self.text == "make demo"


def readme_commands(text: str) -> list[Command]:
    """The commands of every ```sh block of `text`, in order."""
    commands = []
    for block, body in enumerate(re.findall(r"^```sh\n(.*?)^```", text, re.M | re.S)):
        joined = re.sub(r"\\\n\s*", " ", body)
        for line in joined.splitlines():
            line = line.split("  # ", 1)[0].strip()  # the README's comments follow two spaces
            if line and not line.startswith("#"):
                commands.append(Command(block, line))
    return commands


def _port_busy(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _bash(script: str, *, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


class Server:
    """A README command that serves until stopped; its own process group, so stop() ends it
    and every child."""

    def __init__(self, command: str) -> None:
        self.command = command
        self.process = subprocess.Popen(
            ["bash", "-c", f"exec {command}"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )  # fmt: skip
        self.output: list[str] = []
        self.lines: queue.Queue[str] = queue.Queue()
        # A thread drains the pipe for the server's whole life, so its logs never block it.
        self.drain = threading.Thread(target=self._drain, daemon=True)
        self.drain.start()

    def _drain(self) -> None:
        if self.process.stdout is not None:
            for line in self.process.stdout:
                self.lines.put(line)

    def wait_for_url(self, timeout: float = 60) -> str:
        """The gateway's URL, once the command prints it (it does once its ports are bound)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                continue
            self.output.append(line)
            found = _URL.search(line)
            if found and re.search(r"\bgateway\b", line):
                return found.group(0)
        self.drain.join(timeout=1)
        while not self.lines.empty():
            self.output.append(self.lines.get())
        raise AssertionError(f"{self.command!r} printed no gateway URL:\n{''.join(self.output)}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.drain.join(timeout=10)  # the pipe's end: the process and its children are gone
        if self.process.stdout is not None:
            self.process.stdout.close()


def _ready(base: str) -> int:
    """The status of the server's readiness check, once it answers at all."""
    for _ in range(200):
        try:
            return httpx.get(f"{base}/readiness", timeout=5).status_code
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError(f"{base} never answered")


@pytest.fixture
def no_stray_supergraph() -> Iterator[None]:
    """`compose -o supergraph.graphql` writes into the checkout: remove what the test made."""
    path = ROOT / "supergraph.graphql"
    existed = path.exists()
    yield
    if not existed:
        path.unlink(missing_ok=True)


def test_readme_commands_parse_into_the_blocks_as_written() -> None:
    commands = readme_commands(README.read_text())
    texts = [c.text for c in commands]
    assert texts[:2] == ["make demo", "make test"]
    assert ".venv/bin/edgegraph serve --config edgegraph.toml --dev" in texts
    assert all("\\" not in text.split("'")[0] for text in texts)  # continuations were joined


@pytest.mark.usefixtures("no_stray_supergraph")
def test_readme_commands_run_as_written() -> None:
    busy = [port for port in DEMO_PORTS if _port_busy(port)]
    if busy:
        pytest.skip(f"the demo's ports are in use by something else: {busy}")
    servers: list[Server] = []
    try:
        block_script: list[str] = []
        commands = readme_commands(README.read_text())
        for index, command in enumerate(commands):
            if not command.starts_server and not command.text.startswith("make "):
                block_script.append(command.text)
                ends_block = index + 1 == len(commands) or commands[index + 1].block != (
                    command.block
                )
                if ends_block or commands[index + 1].starts_server:
                    done = _bash("\n".join(block_script))
                    assert done.returncode == 0, (block_script, done.stdout, done.stderr)
                    if "/graphql" in block_script[-1]:  # a query's answer, not an error page
                        assert '"data":{' in done.stdout, (block_script, done.stdout)
                    block_script = []
                continue
            if command.text.startswith("make "):
                # Under `make test` this is a sub-make, which would add "Entering directory".
                target = command.text.removeprefix("make ")
                dry = _bash(f"make -n --no-print-directory {target}")
                assert dry.returncode == 0, (command.text, dry.stderr)
                if command.text != "make demo":
                    continue
                # what `make demo` runs, once the venv is installed
                last = dry.stdout.strip().splitlines()[-1]
                assert last == ".venv/bin/edgegraph demo", dry.stdout
                server = Server(last)
                servers.append(server)  # the demo runs for the rest of the README
            else:
                server = Server(command.text)
            base = server.wait_for_url()
            assert _ready(base) == 200, (command.text, "".join(server.output))
            if server.command != ".venv/bin/edgegraph demo":
                server.stop()
    finally:
        for server in servers:
            server.stop()
