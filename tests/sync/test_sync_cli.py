"""``assetstore sync`` from the shell: a JSON summary, the CLI's exit codes, progress on
demand, and the options it refuses."""

from __future__ import annotations

import orjson
import pytest

from assetstore import open_store
from assetstore.cli import main


@pytest.fixture
def stores(tmp_path):
    source, destination = tmp_path / "src", tmp_path / "dst"
    with open_store(source) as store:
        store.upload(b"a", name="a", version="1", tag="t")
        store.upload(b"b", name="b", version="1", tag="t")
    return str(source), str(destination)


def run(capsys, *argv):
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_the_summary_and_a_second_run(capsys, stores):
    status, out, _ = run(capsys, "sync", *stores)
    summary = orjson.loads(out)
    assert status == 0
    assert {k: summary[k] for k in ("copied", "skipped", "conflicts", "failed", "bytes")} == {
        "copied": 2,
        "skipped": 0,
        "conflicts": 0,
        "failed": 0,
        "bytes": 2,
    }
    assert summary["seconds"] >= 0
    status, out, _ = run(capsys, "sync", *stores)
    assert (status, orjson.loads(out)["skipped"], orjson.loads(out)["bytes"]) == (0, 2, 0)


def test_conflicts_exit_4_and_fail_copies_nothing(capsys, stores):
    source, destination = stores
    with open_store(destination) as store:
        store.upload(b"other", name="a", version="1", tag="t")
    status, out, err = run(capsys, "sync", source, destination, "--on-conflict", "fail")
    assert status == 4
    assert "a:1-t" in err and "nothing was copied" in err
    status, out, _ = run(capsys, "sync", source, destination)
    summary = orjson.loads(out)
    assert (status, summary["copied"], summary["conflicts"]) == (4, 1, 1)
    assert summary["details"]["conflicts"][0]["asset_uri"] == "a:1-t"


def test_filter_dry_run_and_progress(capsys, stores):
    source, destination = stores
    status, out, err = run(
        capsys,
        "--progress",
        "sync",
        source,
        destination,
        "--filter",
        '{"asset_name": "a"}',
        "--dry-run",
    )
    assert status == 0
    assert orjson.loads(out)["copied"] == 1 and orjson.loads(out)["dry_run"] is True
    assert "sync" in err  # the progress bar
    with open_store(destination) as store:
        assert store.count() == 0


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--token", "t", "sync", "a", "b"], "--src-token"),
        (["sync", "a", "b", "--src-token", "t"], "http"),
        (["sync", "a", "b", "--filter", "[1]"], "filter"),
    ],
)
def test_refused_options_exit_2(capsys, tmp_path, argv, words):
    argv = [str(tmp_path / part) if part in ("a", "b") else part for part in argv]
    status, _, err = run(capsys, *argv)
    assert status == 2
    assert words in err
    assert "Traceback" not in err


def test_help_explains(capsys):
    with pytest.raises(SystemExit):
        main(["sync", "--help"])
    text = capsys.readouterr().out
    for words in ("asset_origin", "--on-conflict", "--delete", "--jobs", "sha256", "Exit status"):
        assert words in text
