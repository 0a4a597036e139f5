"""The ``assetstore`` command: the library's API from a shell, JSON out."""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import socket
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from assetstore.contract import AssetStore, Registry
from assetstore.errors import (
    AssetStoreError,
    InvalidInputError,
)
from assetstore.open import (
    DEFAULT_LOCATION,
    open_registry,
    open_store,
    registry_location,
    store_location,
)
from assetstore.schemes import scheme_of
from assetstore.settings import Settings

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_NOT_FOUND, EXIT_CONFLICT = 0, 1, 2, 3, 4

EPILOG = f"""\
The store is --store, else $ASSETSTORE_URL, else {DEFAULT_LOCATION}: a directory, memory://,
s3://bucket/prefix (with --metadata mongodb://...), or http://host:port of `assetstore serve`.

Filters are MongoDB find filters in JSON, e.g.
  assetstore find '{{"asset_tags": {{"$in": ["image"]}}, "asset_metadata.framework": "pytorch"}}'

Move assets between stores and machines: `assetstore sync SRC DST` (any two stores),
`assetstore export BUNDLE` and `assetstore import BUNDLE` (offline bundles).

Exit status: 0 ok, 1 failure, 2 invalid input, 3 not found, 4 conflict (URI taken or the
asset changed since --if-revision)."""


def _json_arg(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON: {exc}") from None


def _json_file_arg(path: str) -> Any:
    try:
        return _json_arg(Path(path).read_text())
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"cannot read {path}: {exc.strerror}") from None


def _list_arg(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _sort_arg(text: str) -> list[tuple[str, int]]:
    """``field`` or ``field:desc``, comma-separated."""
    result = []
    for part in _list_arg(text):
        field, _, direction = part.partition(":")
        if direction not in ("", "asc", "desc"):
            raise argparse.ArgumentTypeError(f"sort direction must be asc or desc, not {direction}")
        result.append((field, -1 if direction == "desc" else 1))
    return result


def _describe_os_error(error: OSError) -> str:
    if error.filename is not None and error.strerror:
        return f"{error.filename}: {error.strerror}"
    return str(error)


def _emit(value: Any) -> None:
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    elif isinstance(value, list):
        value = [v.model_dump(mode="json") if hasattr(v, "model_dump") else v for v in value]
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


@contextlib.contextmanager
def _progress(
    args: argparse.Namespace, total: int | None, label: str
) -> Iterator[Callable[[int], None] | None]:
    if args.quiet or not (args.progress or sys.stderr.isatty()):
        yield None
        return
    from tqdm import tqdm

    with tqdm(
        total=total,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=label,
        file=sys.stderr,
        leave=False,
    ) as bar:
        yield bar.update


# ----------------------------------------------------------------- commands
def cmd_put(args: argparse.Namespace, store: AssetStore) -> Any:
    path = Path(args.file)
    if not path.is_file():
        raise InvalidInputError(f"{args.file} is not a readable file")
    metadata = args.meta_file if args.meta_file is not None else args.meta
    with _progress(args, path.stat().st_size, f"put {path.name}") as progress:
        return store.upload(
            path,
            name=args.name,
            version=args.version,
            tag=args.tag,
            metadata=metadata,
            tags=args.tags,
            filename=args.filename,
            content_type=args.content_type,
            progress=progress,
        )


def cmd_get(args: argparse.Namespace, store: AssetStore) -> Any:
    asset = store.get(args.uri)
    if args.output == "-":
        with store.open_asset(asset) as reader:
            while chunk := reader.read(1 << 20):
                sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
        return None
    with _progress(args, asset.file_size, f"get {asset.asset_name}") as progress:
        path = store.download(args.uri, args.output or ".", progress=progress)
    return {
        "asset_uri": asset.asset_uri,
        "path": str(path),
        "sha256": asset.sha256,
        "verified": True,
    }


def cmd_info(args: argparse.Namespace, store: AssetStore) -> Any:
    return store.get(args.uri)


def cmd_ls(args: argparse.Namespace, store: AssetStore) -> Any:
    assets = store.query(args.filter, sort=args.sort, skip=args.skip, limit=args.limit)
    if args.uris:
        sys.stdout.write("".join(f"{a.asset_uri}\n" for a in assets))
        return None
    return assets


def cmd_update(args: argparse.Namespace, store: AssetStore) -> Any:
    changes = dict(args.set or {})
    if args.meta is not None:
        changes["asset_metadata"] = args.meta
    if args.tags is not None:
        changes["asset_tags"] = args.tags
    if not changes:
        raise InvalidInputError("nothing to update: give --meta, --tags or --set")
    return store.update(args.uri, changes, expected_revision=args.if_revision)


def cmd_rm(args: argparse.Namespace, store: AssetStore) -> Any:
    store.delete(args.uri, expected_revision=args.if_revision)
    return {"deleted": args.uri}


def cmd_resolve(args: argparse.Namespace, store: AssetStore) -> Any:
    return store.resolve(args.name, args.spec, tag=args.tag)


def cmd_fsck(args: argparse.Namespace, store: AssetStore) -> Any:
    report = store.fsck(verify_checksums=not args.no_checksums)
    _emit({**report.model_dump(), "ok": report.ok})
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_gc(args: argparse.Namespace, store: AssetStore) -> Any:
    return store.gc(older_than=args.older_than, quarantine=args.quarantine)


def cmd_registry_add(args: argparse.Namespace, registry: Registry) -> Any:
    entry = {
        "asset_registry_name": args.name,
        "asset_registry_public_url": args.url,
        "asset_registry_metadata": args.meta or {},
        "asset_registry_tags": args.tags or [],
    }
    if args.id:
        entry["asset_registry_id"] = args.id
    return registry.register(entry, check_health=args.check_health)


def cmd_registry_get(args: argparse.Namespace, registry: Registry) -> Any:
    return registry.get(args.id)


def cmd_registry_ls(args: argparse.Namespace, registry: Registry) -> Any:
    return registry.query(args.filter, sort=args.sort, skip=args.skip, limit=args.limit)


def cmd_registry_update(args: argparse.Namespace, registry: Registry) -> Any:
    changes = dict(args.set or {})
    for field, value in (
        ("asset_registry_name", args.name),
        ("asset_registry_public_url", args.url),
        ("asset_registry_metadata", args.meta),
        ("asset_registry_tags", args.tags),
    ):
        if value is not None:
            changes[field] = value
    if not changes:
        raise InvalidInputError("nothing to update: give --name, --url, --meta, --tags or --set")
    return registry.update(args.id, changes, expected_revision=args.if_revision)


def cmd_registry_rm(args: argparse.Namespace, registry: Registry) -> Any:
    registry.delete(args.id)
    return {"deleted": args.id}


def cmd_registry_health(args: argparse.Namespace, registry: Registry) -> Any:
    report = registry.check_health(args.id)
    _emit(report)
    return EXIT_OK if report.status == "healthy" else EXIT_FAILED


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the HTTP service (store and registry, or one of them) until interrupted."""
    try:
        import uvicorn

        from assetstore.http._strict_http import StrictH11Protocol
        from assetstore.http.app import create_app
        from assetstore.settings import ServiceSettings
    except ImportError as exc:
        from assetstore.errors import MissingDependencyError

        raise MissingDependencyError(
            f"`assetstore serve` needs the 'http' extra: pip install 'assetstore[http]' ({exc})"
        ) from exc
    host = args.host
    settings = ServiceSettings.from_env(
        token=args.token,
        public_url=args.public_url,
        max_upload_bytes=None if args.max_upload_mb is None else int(args.max_upload_mb * 2**20),
        allow_private_health_checks=True if args.allow_private_health_checks else None,
        health_allowed_networks=args.allow_network or None,
        register_health_check=False if args.no_register_health_check else None,
        cors_origins=args.cors_origin or None,
        ui=False if args.no_ui else None,
    )
    address = f"{f'[{host}]' if ':' in host else host}:{args.port}"
    if settings.public_url is None and host not in ("0.0.0.0", "::", ""):
        settings = settings.model_copy(update={"public_url": f"http://{address}"})
    listener = _listen(host, args.port)  # before anything is opened: a taken port fails first
    environment = Settings.from_env()
    store = registry = None
    lines = [f"serving http://{address} (API description: http://{address}/docs)"]
    with contextlib.ExitStack() as resources:
        resources.callback(listener.close)
        if args.only != "registry":
            location = store_location(args.store, environment)
            store = resources.enter_context(
                open_store(location, metadata=args.metadata, public_url=settings.public_url)
            )
            lines.append(f"store: {_shown_location(location)} (assets_db_id {store.assets_db_id})")
        if args.only != "assets":
            location = registry_location(args.registry or args.store, environment)
            options: dict[str, Any] = {}
            if scheme_of(location) not in ("http", "https"):
                options = {
                    "address_policy": settings.address_policy(),
                    "health_limits": settings.health_limits(),
                    "federation_limits": settings.federation_limits(),
                }
            registry = resources.enter_context(open_registry(location, **options))
            lines.append(f"registry: {_shown_location(location)}")
            lines.append(
                "health checks and federated searches may reach "
                f"{settings.address_policy().describe()} (more: --allow-network CIDR, or "
                "ASSETSTORE_HEALTH_ALLOWED_NETWORKS=private for the private ranges)"
            )
        shown_url = settings.public_url or "the address each request was sent to"
        lines.append(f"download URLs (asset_public_url) start with {shown_url}")
        if settings.token is None and host not in ("127.0.0.1", "::1", "localhost"):
            lines.append(
                f"warning: serving on {host} without a token: anyone who can reach it can "
                "write (set ASSETSTORE_TOKEN or --token)"
            )
        sys.stderr.write("".join(f"assetstore: {line}\n" for line in lines))
        sys.stderr.flush()
        app = create_app(store, registry, settings)
        # h11, not httptools: uvicorn limits request heads (16 KiB) only with h11; read
        # strictly, so a proxy in front cannot disagree about where a request ends.
        config = uvicorn.Config(
            app,
            log_level=args.log_level,
            server_header=False,
            proxy_headers=False,
            http=StrictH11Protocol,
        )
        uvicorn.Server(config).run(sockets=[listener])
    return EXIT_OK


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; a clear error if it cannot be had (the port is
    taken, the address is not this machine's)."""
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise InvalidInputError(f"cannot serve on {host!r}: {exc.strerror}") from None
    family, kind, proto, _, sockaddr = infos[0]
    listener = socket.socket(family, kind, proto)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        listener.bind(sockaddr)
        listener.listen(2048)
    except OSError as exc:
        listener.close()
        hint = (
            "; another process listens there (another `assetstore serve`?): stop it or "
            "choose another --port"
            if exc.errno == errno.EADDRINUSE
            else ""
        )
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror}{hint}") from None
    listener.set_inheritable(True)
    return listener


def _shown_location(location: str) -> str:
    if scheme_of(location) in ("", "file"):
        return str(Path(location.removeprefix("file://")).resolve())
    return location


# ------------------------------------------------------------------- parser
def _query_options(parser: argparse.ArgumentParser, *, filter_required: bool) -> None:
    parser.add_argument(
        "filter",
        type=_json_arg,
        nargs=None if filter_required else "?",
        help="MongoDB-style filter as JSON" + ("" if filter_required else " (default: everything)"),
    )
    parser.add_argument("--sort", type=_sort_arg, help="fields to sort by: name,version:desc")
    parser.add_argument("--skip", type=int, default=0, help="results to skip (paging)")
    parser.add_argument("--limit", type=int, help="at most this many results")


def _transfer_options(parser: argparse.ArgumentParser) -> None:
    """``--progress`` / ``--quiet`` after the subcommand too (SUPPRESS: the same options
    given before it are kept)."""
    parser.add_argument(
        "--progress",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show a progress bar even when stderr is not a terminal (it is shown by default "
        "on a terminal)",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress bar"
    )


def _metadata_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--meta", type=_json_arg, help="metadata as a JSON object")
    parser.add_argument("--tags", type=_list_arg, help="comma-separated tags")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``assetstore`` command."""
    parser = argparse.ArgumentParser(
        prog="assetstore",
        description="Store, find and fetch versioned assets.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--store", help=f"asset store location (default $ASSETSTORE_URL or {DEFAULT_LOCATION})"
    )
    parser.add_argument(
        "--metadata",
        help="where metadata lives if not beside the store: a "
        "TinyDB .json file, memory://name or mongodb://host/db",
    )
    parser.add_argument("--registry", help="registry location (default: the store's)")
    parser.add_argument(
        "--token",
        dest="store_token",
        help="bearer token of an http(s):// store or registry (prefer $ASSETSTORE_TOKEN: "
        "command lines are visible to other users)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    parser.add_argument(
        "--progress",
        action="store_true",
        help="progress bars on transfers even when stderr is not a terminal (shown by default "
        "on a terminal)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    put = commands.add_parser("put", help="upload a file as a new asset version")
    put.add_argument("file", help="the file to upload")
    put.add_argument("--name", required=True, help="asset name, e.g. org/resnet")
    put.add_argument("--version", required=True, help="version, e.g. 1.2.0")
    put.add_argument("--tag", required=True, help="tag, e.g. stable")
    _metadata_options(put)
    put.add_argument("--meta-file", type=_json_file_arg, help="metadata from a JSON file")
    put.add_argument("--filename", help="file name to record (default: the file's)")
    put.add_argument(
        "--content-type", help="media type (default: from the file name's suffix, a built-in table)"
    )
    _transfer_options(put)
    put.set_defaults(handler=cmd_put)

    get = commands.add_parser("get", help="download an asset's file, verified")
    get.add_argument("uri", help="name:version-tag")
    get.add_argument(
        "-o",
        "--output",
        help="a file, or a directory (an existing one, or any path ending in /, created) to "
        "put the original file name in (default: ./<original name>); - for stdout",
    )
    _transfer_options(get)
    get.set_defaults(handler=cmd_get)

    info = commands.add_parser("info", help="show an asset's record")
    info.add_argument("uri")
    info.set_defaults(handler=cmd_info)

    for name, required, description in (
        ("ls", False, "list assets (optionally filtered)"),
        ("find", True, "find assets with a filter"),
    ):
        listing = commands.add_parser(name, help=description)
        _query_options(listing, filter_required=required)
        listing.add_argument("--uris", action="store_true", help="print URIs only")
        listing.set_defaults(handler=cmd_ls)

    update = commands.add_parser("update", help="change an asset's metadata or tags")
    update.add_argument("uri")
    _metadata_options(update)
    update.add_argument("--set", type=_json_arg, help="fields to set, as a JSON object")
    update.add_argument("--if-revision", type=int, help="only if still at this revision")
    update.set_defaults(handler=cmd_update)

    rm = commands.add_parser("rm", help="delete an asset and its file")
    rm.add_argument("uri")
    rm.add_argument("--if-revision", type=int, help="only if still at this revision")
    rm.set_defaults(handler=cmd_rm)

    resolve = commands.add_parser("resolve", help="pick the version matching a spec")
    resolve.add_argument("name")
    resolve.add_argument(
        "spec",
        nargs="?",
        default="latest",
        help="latest (default), 1.2.0, '>=1.2,<2', '^1.2', '~1.2', '1.*'",
    )
    resolve.add_argument("--tag", help="only this tag")
    resolve.set_defaults(handler=cmd_resolve)

    fsck = commands.add_parser("fsck", help="verify every stored file (exit 1 on problems)")
    fsck.add_argument("--no-checksums", action="store_true", help="check sizes only (fast)")
    fsck.set_defaults(handler=cmd_fsck)

    gc = commands.add_parser("gc", help="remove files no asset refers to")
    gc.add_argument(
        "--older-than",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="grace period protecting uploads in flight (default 3600)",
    )
    gc.add_argument(
        "--quarantine",
        action="store_true",
        help="move unreferenced files to quarantine/ instead of deleting them (works when "
        "gc refuses because the store shows damage)",
    )
    gc.set_defaults(handler=cmd_gc)

    from assetstore._cli_transfer import add_commands as add_transfer_commands

    add_transfer_commands(commands, _json_arg, _transfer_options)

    registry = commands.add_parser("registry", help="the registry of asset stores")
    sub = registry.add_subparsers(dest="registry_command", required=True, metavar="COMMAND")
    add = sub.add_parser("add", help="register an asset store")
    add.add_argument("--name", required=True)
    add.add_argument("--url", required=True, help="the store's public http(s) URL")
    add.add_argument("--id", help="its id (default: a new UUID)")
    _metadata_options(add)
    add.add_argument(
        "--check-health", action="store_true", help="refuse unless {url}/health answers"
    )
    add.set_defaults(handler=cmd_registry_add)
    rget = sub.add_parser("get", help="show an entry")
    rget.add_argument("id")
    rget.set_defaults(handler=cmd_registry_get)
    rls = sub.add_parser("ls", help="list or query entries")
    _query_options(rls, filter_required=False)
    rls.set_defaults(handler=cmd_registry_ls)
    rupdate = sub.add_parser("update", help="change an entry")
    rupdate.add_argument("id")
    rupdate.add_argument("--name")
    rupdate.add_argument("--url")
    _metadata_options(rupdate)
    rupdate.add_argument("--set", type=_json_arg, help="fields to set, as a JSON object")
    rupdate.add_argument("--if-revision", type=int)
    rupdate.set_defaults(handler=cmd_registry_update)
    rrm = sub.add_parser("rm", help="remove an entry")
    rrm.add_argument("id")
    rrm.set_defaults(handler=cmd_registry_rm)
    health = sub.add_parser("health", help="check an entry's /health (exit 1 unless healthy)")
    health.add_argument("id")
    health.set_defaults(handler=cmd_registry_health)

    serve = commands.add_parser(
        "serve",
        help="run the HTTP service (assets and registry)",
        description="Serve the store and the registry over HTTP (the specification's API). "
        "Settings not given here come from ASSETSTORE_* variables (ASSETSTORE_TOKEN...).",
    )
    # SUPPRESS: do not overwrite the same options given before the subcommand.
    serve.add_argument(
        "--store",
        default=argparse.SUPPRESS,
        help=f"asset store location (default $ASSETSTORE_URL or {DEFAULT_LOCATION})",
    )
    serve.add_argument(
        "--metadata",
        default=argparse.SUPPRESS,
        help="where the store's metadata lives, if not beside it",
    )
    serve.add_argument(
        "--registry", default=argparse.SUPPRESS, help="registry location (default: the store's)"
    )
    serve.add_argument(
        "--only",
        choices=("assets", "registry"),
        help="serve one of the two services (default: both)",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument(
        "--token",
        help="bearer token required for writes (prefer "
        "$ASSETSTORE_TOKEN: command lines are visible to other users)",
    )
    serve.add_argument(
        "--public-url",
        help="the URL clients use to reach this service "
        "(default http://HOST:PORT), used in asset_public_url",
    )
    serve.add_argument("--max-upload-mb", type=float, help="largest upload (default 10240)")
    serve.add_argument(
        "--allow-private-health-checks",
        action="store_true",
        help="let health checks and federated searches reach loopback and private addresses",
    )
    serve.add_argument(
        "--allow-network",
        action="append",
        metavar="CIDR",
        help="a network health checks and federated searches may reach although it is not "
        "public, e.g. 192.168.0.0/16, or 'private' for 10/8, 172.16/12, 192.168/16 and "
        "fc00::/7 (repeatable; loopback and link-local need --allow-private-health-checks)",
    )
    serve.add_argument(
        "--no-register-health-check",
        action="store_true",
        help="register stores without checking their /health first",
    )
    serve.add_argument(
        "--cors-origin",
        action="append",
        metavar="ORIGIN",
        help="a browser origin allowed by CORS (repeatable; default: no CORS)",
    )
    serve.add_argument("--no-ui", action="store_true", help="do not serve the web interface at /ui")
    serve.add_argument(
        "--log-level", default="info", choices=("critical", "error", "warning", "info", "debug")
    )
    serve.set_defaults(handler=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "serve":
            return cmd_serve(args)
        if args.command == "sync":  # two stores, each opened with its own options
            runner: Callable[[argparse.Namespace], int] = args.command_runner
            return runner(args)
        settings = Settings.from_env()
        # The token of this command's store: --token, else ASSETSTORE_TOKEN, which the user
        # set for this command (open_store alone would send it to ASSETSTORE_URL only).
        token = args.store_token or (
            settings.token.get_secret_value() if settings.token is not None else None
        )
        if args.command == "registry":
            location = registry_location(args.registry or args.store, settings)
            remote = scheme_of(location) in ("http", "https")
            target: Any = open_registry(
                location, token=token if remote else None, settings=settings
            )
        else:
            location = store_location(args.store, settings)
            args.store_location = location
            remote = scheme_of(location) in ("http", "https")
            target = open_store(
                location,
                metadata=args.metadata,
                token=token if remote else None,
                settings=settings,
            )
        with target:
            result = args.handler(args, target)
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except AssetStoreError as error:
        sys.stderr.write(f"assetstore: error: {error}\n")
        return error.exit_code
    except OSError as error:
        sys.stderr.write(f"assetstore: error: {_describe_os_error(error)}\n")
        return EXIT_FAILED
    except KeyboardInterrupt:
        sys.stderr.write("assetstore: interrupted; nothing partial was published\n")
        return 130
    if isinstance(result, int):
        return result
    if result is not None:
        _emit(result)
    return EXIT_OK


__all__ = ["build_parser", "main"]


if __name__ == "__main__":
    sys.exit(main())
