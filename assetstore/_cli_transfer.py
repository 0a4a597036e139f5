"""The commands that move assets between stores and machines: ``assetstore sync``,
``assetstore export`` and ``assetstore import`` (wired into :mod:`assetstore.cli`).

Each prints a JSON summary (for ``export -`` on stderr, as the bundle is on stdout), shows a
progress bar (bytes, and assets done of those found) when stderr is a terminal, and exits as
the rest of the CLI: 0 done, 1 an asset failed, 2 invalid input (a damaged bundle), 3 not
found, 4 conflicts (URIs that hold other content at the destination, left as they are).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from assetstore._bundle import export_bundle, import_bundle
from assetstore._sync import sync
from assetstore._sync_plan import ON_CONFLICT
from assetstore._sync_report import SyncReport, describe_location
from assetstore.contract import AssetStore
from assetstore.errors import InvalidInputError
from assetstore.schemes import scheme_of
from assetstore.settings import Settings

EXIT_OK, EXIT_FAILED, EXIT_CONFLICT = 0, 1, 4

SYNC_HELP = """\
Copy the assets of SRC that match --filter to DST, keeping their identity (URI, asset_id,
metadata, tags, file, sha256, created_at); each copy records where it came from in
asset_origin. SRC and DST are store locations: a directory, memory://name, s3://bucket/prefix
(with --src-metadata / --dst-metadata, or --metadata for the one that needs it) or
http(s)://host:port of `assetstore serve`.

An asset already at DST with the same content is skipped, so running it again copies only
what is new. The same URI with other content at DST is a conflict: its file is never
replaced (--on-conflict). Each transfer is all or nothing: an interrupted sync leaves only
whole assets, and running it again completes it (a large file continues where it stopped
when DST is a directory). Every file is checked against its sha256 on the way in.

Tokens: --src-token and --dst-token (or $ASSETSTORE_TOKEN for the store $ASSETSTORE_URL
names); a token is only ever sent to the store it is given for.

Exit status: 0 done, 1 some assets failed, 2 invalid input, 4 conflicts left."""

EXPORT_HELP = """\
Write the assets of the store (--store) that match --filter to one tar archive for a machine
no network reaches: a manifest (every record and sha256) and the files. It streams, in
constant memory; a file name ending in .gz is compressed; - writes to stdout. Import it there
with `assetstore import`."""

IMPORT_HELP = """\
Import a bundle written by `assetstore export` into the store (--store). Every member is
checked against the manifest (name, size, sha256) and, unless --per-asset, nothing becomes
visible before all of them are checked. A damaged bundle is reported precisely (which member,
expected against actual) and exits with 2. Conflicts are handled as by `sync`."""


class _Bar:
    """A tqdm bar in bytes whose total grows as the work is found, with assets done."""

    def __init__(self, label: str) -> None:
        from tqdm import tqdm

        self._bar = tqdm(
            total=0,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=label,
            file=sys.stderr,
            leave=False,
        )
        self._lock = threading.Lock()
        self._assets = 0
        self._done = 0

    def planned(self, assets: int, size: int) -> None:
        with self._lock:
            self._assets += assets
            self._bar.total = (self._bar.total or 0) + size
            self._bar.set_postfix_str(f"{self._done}/{self._assets} assets", refresh=False)
            self._bar.refresh()

    def advanced(self, assets: int, size: int) -> None:
        with self._lock:
            self._done += assets
            if assets:
                self._bar.set_postfix_str(f"{self._done}/{self._assets} assets", refresh=False)
            self._bar.update(size)

    def bytes(self, size: int) -> None:
        self.advanced(0, size)

    def close(self) -> None:
        self._bar.close()


@contextlib.contextmanager
def _bar(args: argparse.Namespace, label: str) -> Iterator[_Bar | None]:
    if args.quiet or not (args.progress or sys.stderr.isatty()):
        yield None
        return
    bar = _Bar(label)
    try:
        yield bar
    finally:
        bar.close()


def _emit(value: Any, *, stream: Any = None) -> None:
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    (stream or sys.stdout).write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


def report_status(report: SyncReport) -> int:
    """The exit status of a sync or an import: failures first, then conflicts."""
    if report.failed:
        return EXIT_FAILED
    if report.conflicts:
        return EXIT_CONFLICT
    return EXIT_OK


def _store_options(
    location: str, metadata: str | None, token: str | None, settings: Settings
) -> dict[str, Any]:
    options: dict[str, Any] = {"settings": settings}
    if metadata:
        options["metadata"] = metadata
    if token:
        if scheme_of(location) not in ("http", "https"):
            raise InvalidInputError(f"a token is for http(s):// stores, not {location}")
        options["token"] = token
    return options


def cmd_sync(args: argparse.Namespace) -> int:
    """``assetstore sync SRC DST``: run, print the report, exit by its outcome."""
    if getattr(args, "store_token", None):
        raise InvalidInputError(
            "sync talks to two stores: give --src-token and/or --dst-token, not --token"
        )
    settings = Settings.from_env()
    shared = args.metadata
    src_metadata = args.src_metadata or (shared if scheme_of(args.source) == "s3" else None)
    dst_metadata = args.dst_metadata or (shared if scheme_of(args.destination) == "s3" else None)
    label = f"sync {describe_location(args.source)}"
    with _bar(args, label) as bar:
        report = sync(
            args.source,
            args.destination,
            args.filter,
            dry_run=args.dry_run,
            jobs=args.jobs,
            on_conflict=args.on_conflict,
            delete=args.delete,
            progress=bar,
            source_options=_store_options(args.source, src_metadata, args.src_token, settings),
            destination_options=_store_options(
                args.destination, dst_metadata, args.dst_token, settings
            ),
        )
    _emit(report)
    return report_status(report)


def cmd_export(args: argparse.Namespace, store: AssetStore) -> int:
    """``assetstore export BUNDLE``: write the bundle, print its header."""
    to_stdout = args.bundle == "-"
    location = args.store_location
    source = {"assets_db_id": store.assets_db_id, "location": describe_location(location)}
    with _bar(args, "export") as bar:
        progress: Callable[[int], None] | None = bar.bytes if bar is not None else None
        target: Any = sys.stdout.buffer if to_stdout else args.bundle
        header = export_bundle(store, target, args.filter, source=source, progress=progress)
        if to_stdout:
            sys.stdout.buffer.flush()
    _emit({"bundle": args.bundle, **header}, stream=sys.stderr if to_stdout else None)
    return EXIT_OK


def cmd_import(args: argparse.Namespace, store: AssetStore) -> int:
    """``assetstore import BUNDLE``: import, print the report, exit by its outcome."""
    source: Any = sys.stdin.buffer if args.bundle == "-" else args.bundle
    with _bar(args, "import") as bar:
        report = import_bundle(
            store,
            source,
            on_conflict=args.on_conflict,
            per_asset=args.per_asset,
            dry_run=args.dry_run,
            progress=bar.bytes if bar is not None else None,
        )
    _emit(report)
    return report_status(report)


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError("jobs must be a number from 1 to 64")
    return value


def add_commands(
    commands: Any,
    json_arg: Callable[[str], Any],
    transfer_options: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Add ``sync``, ``export`` and ``import`` to the CLI's subcommands."""
    conflict_help = (
        "when a URI holds other content at the destination: skip (default: report it, "
        "exit 4), fail (stop before copying anything), overwrite-metadata (set its metadata "
        "and tags to the source's; its file is never replaced)"
    )
    run = commands.add_parser(
        "sync",
        help="copy assets between two stores (incremental, verified, resumable)",
        description=SYNC_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("source", metavar="SRC", help="the store to read")
    run.add_argument("destination", metavar="DST", help="the store to write")
    run.add_argument("--filter", type=json_arg, help="only assets matching this MongoDB filter")
    run.add_argument(
        "--dry-run", action="store_true", help="change nothing; report what would be done"
    )
    run.add_argument(
        "--jobs", type=_jobs, default=4, help="transfers in flight at once (default 4)"
    )
    run.add_argument("--on-conflict", choices=ON_CONFLICT, default="skip", help=conflict_help)
    run.add_argument(
        "--delete",
        action="store_true",
        help="also delete DST's assets matching --filter that SRC does not have",
    )
    run.add_argument("--src-metadata", help="where SRC's metadata lives (s3:// stores)")
    run.add_argument("--dst-metadata", help="where DST's metadata lives (s3:// stores)")
    run.add_argument("--src-token", help="bearer token of an http(s):// SRC")
    run.add_argument("--dst-token", help="bearer token of an http(s):// DST")
    transfer_options(run)
    run.set_defaults(handler=None, command_runner=cmd_sync)

    export = commands.add_parser(
        "export",
        help="write assets to an offline bundle (tar)",
        description=EXPORT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    export.add_argument("bundle", metavar="BUNDLE", help="the bundle to write (.tar, .tar.gz, -)")
    export.add_argument("--filter", type=json_arg, help="only assets matching this MongoDB filter")
    transfer_options(export)
    export.set_defaults(handler=cmd_export)

    load = commands.add_parser(
        "import",
        help="import an offline bundle, verified",
        description=IMPORT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    load.add_argument("bundle", metavar="BUNDLE", help="the bundle to read (- for stdin)")
    load.add_argument("--on-conflict", choices=ON_CONFLICT, default="skip", help=conflict_help)
    load.add_argument(
        "--per-asset",
        action="store_true",
        help="publish assets in batches as they are checked (default: nothing is published "
        "before the whole bundle is checked)",
    )
    load.add_argument(
        "--dry-run", action="store_true", help="check the whole bundle; publish nothing"
    )
    transfer_options(load)
    load.set_defaults(handler=cmd_import)


__all__ = ["add_commands", "cmd_export", "cmd_import", "cmd_sync", "report_status"]
