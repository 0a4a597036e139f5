"""The `assetstore` command: JSON out, clear errors, meaningful exit codes."""

import json
import os
import subprocess
import sys

import pytest

from assetstore.cli import main


@pytest.fixture
def run(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ASSETSTORE_URL", str(tmp_path / "store"))

    def run(*argv):
        code = main([*argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(b"weights" * 1000)
    return path


def test_put_info_ls_get_roundtrip(run, model, tmp_path):
    code, out, _ = run(
        "put",
        str(model),
        "--name",
        "org/resnet",
        "--version",
        "1.0",
        "--tag",
        "stable",
        "--meta",
        '{"framework": "pytorch"}',
        "--tags",
        "image,cnn",
    )
    assert code == 0
    asset = json.loads(out)
    assert asset["asset_uri"] == "org/resnet:1.0-stable"
    assert asset["asset_file_info"]["filename"] == "model.pt"

    code, out, _ = run("info", "org/resnet:1.0-stable")
    assert json.loads(out)["asset_metadata"] == {"framework": "pytorch"}

    code, out, _ = run("ls", '{"asset_tags": "cnn"}', "--uris")
    assert out.splitlines() == ["org/resnet:1.0-stable"]
    code, out, _ = run("find", '{"asset_metadata.framework": "tensorflow"}')
    assert json.loads(out) == []

    dest = tmp_path / "out"
    dest.mkdir()
    code, out, _ = run("get", "org/resnet:1.0-stable", "-o", str(dest))
    assert code == 0
    assert json.loads(out)["verified"] is True
    assert (dest / "model.pt").read_bytes() == model.read_bytes()


def test_update_resolve_rm(run, model):
    for version in ("1.9", "1.10"):
        run("put", str(model), "--name", "m", "--version", version, "--tag", "a")
    code, out, _ = run("resolve", "m")
    assert json.loads(out)["asset_version"]["version"] == "1.10"
    code, out, _ = run("resolve", "m", "<1.10")
    assert json.loads(out)["asset_version"]["version"] == "1.9"

    code, out, _ = run("update", "m:1.9-a", "--tags", "old", "--if-revision", "1")
    assert code == 0 and json.loads(out)["revision"] == 2
    code, _, err = run("update", "m:1.9-a", "--tags", "older", "--if-revision", "1")
    assert code == 4 and "revision" in err

    assert run("rm", "m:1.9-a")[0] == 0
    code, _, err = run("info", "m:1.9-a")
    assert code == 3 and "no asset" in err


def test_errors_are_one_line_with_exit_codes(run, model):
    code, _, err = run("put", str(model), "--name", "../x", "--version", "1", "--tag", "a")
    assert code == 2 and err.startswith("assetstore: error:") and "Traceback" not in err
    run("put", str(model), "--name", "m", "--version", "1", "--tag", "a")
    code, _, err = run("put", str(model), "--name", "m", "--version", "1", "--tag", "a")
    assert code == 4 and "already exists" in err
    code, _, err = run("find", '{"$where": "1"}')
    assert code == 2 and "$where" in err
    code, _, err = run("put", "/no/such/file", "--name", "m", "--version", "2", "--tag", "a")
    assert code == 2 and "not a readable file" in err


def test_invalid_json_is_a_usage_error(run):
    with pytest.raises(SystemExit) as caught:
        run("find", "{not json")
    assert caught.value.code == 2


def test_fsck_and_gc(run, model):
    run("put", str(model), "--name", "m", "--version", "1", "--tag", "a")
    code, out, _ = run("fsck")
    assert code == 0 and json.loads(out)["ok"] is True
    code, out, _ = run("gc", "--older-than", "0")
    assert code == 0 and json.loads(out)["removed"] == []


def test_registry_commands(run, tmp_path):
    code, out, _ = run(
        "registry",
        "add",
        "--name",
        "ResNet",
        "--url",
        "https://example.com/models",
        "--tags",
        "pytorch",
        "--meta",
        '{"framework": "PyTorch"}',
    )
    assert code == 0
    entry = json.loads(out)
    code, out, _ = run("registry", "ls", '{"asset_registry_metadata.framework": "PyTorch"}')
    assert [e["asset_registry_id"] for e in json.loads(out)] == [entry["asset_registry_id"]]
    code, out, _ = run("registry", "update", entry["asset_registry_id"], "--tags", "tf")
    assert json.loads(out)["asset_registry_tags"] == ["tf"]
    assert run("registry", "get", entry["asset_registry_id"])[0] == 0
    assert run("registry", "rm", entry["asset_registry_id"])[0] == 0
    assert run("registry", "get", entry["asset_registry_id"])[0] == 3
    code, _, err = run("registry", "add", "--name", "x", "--url", "file:///etc")
    assert code == 2
    assert "asset_registry_public_url" in err


def test_console_script_help_and_stdout_download(tmp_path, model):
    env = {**os.environ, "ASSETSTORE_URL": str(tmp_path / "store")}
    script = os.path.join(os.path.dirname(sys.executable), "assetstore")
    helped = subprocess.run([script, "--help"], capture_output=True, text=True, env=env)
    assert helped.returncode == 0 and "Exit status" in helped.stdout
    subprocess.run(
        [script, "put", str(model), "--name", "m", "--version", "1", "--tag", "a"],
        check=True,
        capture_output=True,
        env=env,
    )
    got = subprocess.run([script, "get", "m:1-a", "-o", "-"], capture_output=True, env=env)
    assert got.stdout == model.read_bytes()
