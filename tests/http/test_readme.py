"""The README's commands, run in order as a newcomer runs them, so the README cannot drift
from the code: in a fresh temporary directory, with the real ``assetstore`` command, a real
``assetstore serve`` subprocess where the README starts one, ``curl`` (or the same request
rebuilt with httpx) against it, and the in-process Python example.

A command that cannot run here (it installs packages, needs S3 or MongoDB, or takes minutes)
must be listed in ``NOT_RUN`` with the reason: a new command in the README fails this test
until it is run here or listed."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from live_server import run_cli_server
from test_spec_curl import run as run_curl

from assetstore import open_store

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()

#: Commands that do not run here, by their first words, and why.
NOT_RUN = {
    "python3 -m venv": "creates the virtualenv the tests already run in",
    ".venv/bin/pip install": "installs the package (the tests run on the installed package)",
    ".venv/bin/python -m pytest": "the test suite itself",
    "pip install": "installs extras",
    "python -m benchmarks": "takes minutes; benchmarks/ has its own smoke run",
    "assetstore --store s3://": "needs an S3 server and MongoDB",
    "ASSETSTORE_TOKEN=": "a production serve on S3 and MongoDB",
}


def shell_commands() -> list[str]:
    """Every command of the README's ``sh`` blocks, in order (continuations joined, ``&&``
    chains split)."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", README, flags=re.S):
        pending = ""
        for line in block.replace("\\\n", " ").splitlines():
            pending = f"{pending}\n{line}" if pending else line
            try:
                shlex.split(pending, comments=True)
            except ValueError:  # an open quote: the command goes on
                continue
            commands += [c.strip() for c in pending.split(" && ") if c.strip()]
            pending = ""
    return commands


def not_run_reason(command: str) -> str | None:
    return next((why for start, why in NOT_RUN.items() if command.startswith(start)), None)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.pt").write_bytes(b"pretend weights " * 100)  # what `put model.pt` names
    (tmp_path / "resnet.pt").write_bytes(b"pretend weights " * 100)
    return tmp_path


def cli(workdir: Path, argv: list[str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSETSTORE_")}
    return subprocess.run(
        [sys.executable, "-m", "assetstore.cli", *argv],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_every_readme_command_runs_in_order(workdir):
    commands = shell_commands()
    assert any(c.startswith("assetstore put") for c in commands)
    outputs: dict[str, str] = {}
    with run_cli_server(workdir) as server:
        for command in commands:
            if not_run_reason(command):
                continue
            argv = shlex.split(command, comments=True)
            if argv[0].endswith("assetstore") and argv[1] == "serve":
                continue  # the server above: the README's `assetstore serve` on ./assetstore-data
            if argv[0] == "curl":
                argv = [a.replace("http://127.0.0.1:8000", server.url) for a in argv]
                code, body = run_curl(argv, workdir)
                assert code == 200 and body["success"] is True, (command, body)
                continue
            assert argv[0] == "assetstore", f"{command!r}: run it here or list it in NOT_RUN"
            argv = [a.replace("http://127.0.0.1:8000", server.url) for a in argv]  # sync
            done = cli(workdir, argv[1:])
            expected = 1 if argv[1] == "registry" and argv[2] == "health" else 0
            assert done.returncode == expected, (command, done.stderr)
            assert "Traceback" not in done.stderr
            outputs[" ".join(argv[1:3])] = done.stdout
    # what the README's examples promise
    assert json.loads(outputs['ls {"asset_tags": "image"}'])[0]["asset_uri"] == (
        "org/resnet:1.2.0-stable"
    )
    assert outputs['find {"asset_metadata.framework": "pytorch"}'].split() == [
        "org/resnet:1.2.0-stable"
    ]
    assert (workdir / "models" / "model.pt").read_bytes() == (workdir / "model.pt").read_bytes()
    registered = json.loads(outputs["registry ls"])
    assert [e["asset_registry_name"] for e in registered] == ["ResNet models"]
    # work offline, publish back: the laptop's new version reached the served store
    published = json.loads(outputs["sync ./laptop"])
    assert published["copied"] == 1 and published["failed"] == 0
    with open_store(workdir / "assetstore-data") as served:
        origin = served.get("org/resnet:1.3.0-stable").asset_origin
    assert origin["copied_from"]["location"] == str(workdir.resolve() / "laptop")
    assert json.loads(outputs["--store ./airgapped"])["copied"] >= 1


def test_the_commands_not_run_here_are_the_listed_ones():
    skipped = {start for c in shell_commands() for start in NOT_RUN if c.startswith(start)}
    assert skipped == set(NOT_RUN), "NOT_RUN lists a command the README no longer has"


def test_the_in_process_example_runs(workdir):
    block = re.findall(r"```python\n(.*?)```", README, flags=re.S)[0]
    assert 'open_store("./assets")' in block
    namespace: dict[str, object] = {}
    exec(compile(block, "README.md (In-process use)", "exec"), namespace)
    store = namespace["store"]
    # the example deletes its upload and registers an external policy file
    assert [a.asset_uri for a in store.query()] == ["org/policy:3-prod"]
    assert (workdir / "models" / "resnet.pt").is_file()
    store.close()
    namespace["registry"].close()
