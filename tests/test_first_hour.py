"""What a newcomer meets in the first hour, following the README literally (issue 12):
downloads into ``dir/``, ``--progress`` after the subcommand, the umask, long file names,
errors about the path given and media types. (``serve``: tests/http/test_serve_command.py.)"""

from __future__ import annotations

import json
import os

import pytest

from assetstore import open_store
from assetstore._media_types import media_type
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
def uploaded(run, tmp_path):
    model = tmp_path / "model.pt"
    model.write_bytes(b"weights" * 1000)
    code, out, err = run("put", str(model), "--name", "m", "--version", "1", "--tag", "a")
    assert code == 0, err
    return json.loads(out)


def test_get_into_a_directory_that_does_not_exist_yet(run, uploaded, tmp_path, monkeypatch):
    """`get URI -o models/` wrote a file named `models`; a trailing slash means a directory."""
    monkeypatch.chdir(tmp_path)
    code, out, err = run("get", "m:1-a", "-o", "models/")
    assert code == 0, err
    assert (tmp_path / "models").is_dir()
    assert (tmp_path / "models" / "model.pt").read_bytes() == b"weights" * 1000
    assert json.loads(out)["path"] == "models/model.pt"
    code, _, err = run("get", "m:1-a", "-o", "deeper/still/")  # parents too
    assert code == 0, err
    assert (tmp_path / "deeper" / "still" / "model.pt").is_file()


@pytest.mark.parametrize("flags", [["--progress"], ["-q"], ["--progress", "-q"]])
def test_progress_flags_after_the_subcommand(run, uploaded, tmp_path, flags):
    """`assetstore get URI --progress` was 'unrecognized arguments'."""
    code, _, err = run("get", "m:1-a", "-o", str(tmp_path / "out.pt"), *flags)
    assert code == 0, err
    model = tmp_path / "model.pt"
    code, _, err = run("put", str(model), "--name", "m", "--version", "2", "--tag", "a", *flags)
    assert code == 0, err


def test_progress_bar_is_shown_when_asked(run, uploaded, tmp_path):
    code, _, err = run("get", "m:1-a", "-o", str(tmp_path / "x.pt"), "--progress")
    assert code == 0
    assert "get m:" in err and "6.84k" in err  # tqdm's bar: the label and the size (KiB)


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_downloads_follow_the_umask(run, uploaded, tmp_path, umask):
    """Downloaded files were 0600 whatever the umask; cp gives 0666 less the umask."""
    old = os.umask(umask)
    try:
        code, _, err = run("get", "m:1-a", "-o", str(tmp_path / f"m{umask:o}.pt"))
    finally:
        os.umask(old)
    assert code == 0, err
    assert (tmp_path / f"m{umask:o}.pt").stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_255_byte_file_name_downloads_into_a_directory(tmp_path):
    """Finding 12 of issue 10: the temporary name `.{name}.XXXX.part` was too long."""
    name = "n" * 252 + ".pt"
    with open_store(tmp_path / "store") as store:
        store.upload(b"x" * 10, name="long", version="1", tag="a", filename=name)
        path = store.download("long:1-a", f"{tmp_path}/dir/")
    assert path == tmp_path / "dir" / name
    assert path.read_bytes() == b"x" * 10
    assert [p.name for p in (tmp_path / "dir").iterdir()] == [name]  # no temporary left


def test_errors_name_the_path_the_user_gave(run, uploaded):
    """`get -o /nonexistent/dir/x` reported the temporary file's name."""
    code, _, err = run("get", "m:1-a", "-o", "/nonexistent/dir/x")
    assert code == 1
    assert "/nonexistent/dir/x: No such file or directory" in err
    assert ".part" not in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("resnet.pt", "application/octet-stream"),
        ("resnet.PTH", "application/octet-stream"),
        ("model.onnx", "application/octet-stream"),
        ("model.safetensors", "application/octet-stream"),
        ("llama.gguf", "application/octet-stream"),
        ("model.pkl", "application/octet-stream"),
        ("model.h5", "application/x-hdf5"),
        ("model.tflite", "application/octet-stream"),
        ("policy.rego", "text/plain"),
        ("policy.zip", "application/zip"),
        ("bundle.tar.gz", "application/gzip"),
        ("data.json", "application/json"),
        ("notes", "application/octet-stream"),
        ("weird.snesdev", "application/octet-stream"),
    ],
)
def test_media_types_come_from_the_built_in_table(filename, expected):
    """`.pt` got application/vnd.snesdev-page-table from the system's table."""
    assert media_type(filename) == expected


def test_an_upload_records_the_built_in_media_type(tmp_path):
    with open_store(tmp_path / "s") as store:
        asset = store.upload(b"x", name="m", version="1", tag="a", filename="resnet.pt")
    assert asset.asset_file_info["file_type"] == "application/octet-stream"
