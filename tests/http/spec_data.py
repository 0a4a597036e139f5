"""The specification's cURL commands, read from the project's own test data
(``data/spec_commands.txt``): no test reads anything outside the repository."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "spec_commands.txt"


@dataclass(frozen=True)
class SpecCommand:
    """One command: the endpoint it calls, what it does, and the command line itself."""

    method: str
    path: str
    what: str
    command: str


def spec_commands() -> list[SpecCommand]:
    """The commands, in the specification's order."""
    commands: list[SpecCommand] = []
    header: tuple[str, str, str] | None = None
    lines: list[str] = []

    def flush() -> None:
        if header is not None:
            commands.append(SpecCommand(*header, "\n".join(lines).strip()))

    for line in DATA.read_text().splitlines():
        if line.startswith("### "):
            flush()
            endpoint, _, what = line[4:].partition(": ")
            method, _, path = endpoint.partition(" ")
            header, lines = (method, path, what), []
        elif header is not None:
            lines.append(line)
    flush()
    return commands
