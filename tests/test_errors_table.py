"""One table of errors: each class carries its HTTP status and CLI exit code, and every
boundary (the docs, the service, the client's decoder, the CLI) derives from it."""

import re

import pytest

import assetstore
from assetstore import errors
from assetstore._outbound import error_for
from assetstore.errors import AssetStoreError, error_classes
from assetstore.http._errors import status_of

CLASSES = error_classes()
ROW = re.compile(r"^\s*(?:[│├└─ ]*)(\w+Error)(?: \((\w+)\))?\s+(\d{3})\s+(\d)\b", re.M)


def documented_rows():
    return {
        m.group(1): (int(m.group(3)), int(m.group(4)), m.group(2))
        for m in ROW.finditer(errors.__doc__)
    }


def test_every_error_class_is_in_the_documented_table():
    assert set(documented_rows()) == set(CLASSES)


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_documented_status_and_exit_code_are_the_class_attributes(name):
    status, exit_code, builtin = documented_rows()[name]
    error_class = CLASSES[name]
    assert (error_class.http_status, error_class.exit_code) == (status, exit_code)
    if builtin is not None:
        import builtins

        assert issubclass(error_class, getattr(builtins, builtin))


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_the_service_answers_each_class_with_its_status(name):
    error_class = CLASSES[name]
    assert status_of(error_class("x")) == error_class.http_status


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_the_client_raises_the_class_the_server_names(name):
    error_class = CLASSES[name]
    body = f'{{"success": false, "error": "x", "error_type": "{name}"}}'.encode()
    decoded = error_for(
        error_class.http_status, body, "GET", "http://h/x", None, assetstore.NotFoundError
    )
    assert type(decoded) is error_class


@pytest.mark.parametrize("name", sorted(n for n, c in CLASSES.items() if c.http_status != 500))
def test_without_a_class_name_the_status_gives_a_class_with_that_status(name):
    error_class = CLASSES[name]
    decoded = error_for(
        error_class.http_status, b"{}", "GET", "http://h/x", None, assetstore.NotFoundError
    )
    assert isinstance(decoded, AssetStoreError)
    assert decoded.http_status == error_class.http_status


def test_the_cli_exits_with_the_class_exit_code(tmp_path, capsys):
    from assetstore.cli import main

    assert (
        main(["--store", str(tmp_path), "info", "no/such:1.0-x"])
        == errors.AssetNotFoundError.exit_code
    )
