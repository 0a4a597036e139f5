"""The pages as HTTP answers (no browser): redirects and the switch, security headers and no
inline code, escaping, paging, empty and error states, and what ships in the wheel."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatch
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from live_server import run_cli_server, serve_app
from ui_helpers import TOKEN, seed_versions

from assetstore import open_registry, open_store
from assetstore.errors import BackendUnavailableError
from assetstore.http.app import create_app
from assetstore.http.ui import _asset_pages
from assetstore.http.ui._render import CONTENT_SECURITY_POLICY
from assetstore.http.ui._versions import versions_of
from assetstore.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
UI_PACKAGE = ROOT / "assetstore" / "http" / "ui"


def get(ui, path, **kwargs):
    return httpx.get(ui.url + path, timeout=30, **kwargs)


def text_of(html: str) -> str:
    """The page's text, with its en dashes ("1\N{EN DASH}50") as hyphens."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split()).replace("\N{EN DASH}", "-")


class Markup(HTMLParser):
    """Collects what a Content-Security-Policy without 'unsafe-inline' would block, and
    every resource a page loads."""

    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []
        self.resources: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.inline.append(f"<{tag} {name}=...>")
            if name in ("href", "src", "action") and (value or "").lower().startswith(
                "javascript:"
            ):
                self.inline.append(f"<{tag} {name}={value}>")
        if tag == "style":
            self.inline.append("<style>")
        if tag == "script":
            self._in_script = "src" not in attributes
            if "src" in attributes:
                self.resources.append(attributes["src"])
        if tag == "link" and attributes.get("rel") == "stylesheet":
            self.resources.append(attributes["href"])

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline.append("<script>inline code</script>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False


PAGES = [
    "/ui",
    "/ui?q=resnet",
    "/ui?q=colour:red",
    "/ui/asset/org/resnet:1.9-stable",
    "/ui/asset/no/such:1-x",
    "/ui/upload",
    "/ui/registry",
    "/ui/registry/search?q=resnet",
]


def test_every_page_sends_the_security_headers_and_has_no_inline_code(ui):
    seed_versions(ui.store)
    for path in PAGES:
        response = get(ui, path)
        assert response.headers["content-type"].startswith("text/html"), path
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "script-src 'self';" in CONTENT_SECURITY_POLICY
        assert "unsafe" not in CONTENT_SECURITY_POLICY
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        markup = Markup()
        markup.feed(response.text)
        assert markup.inline == [], path
        assert markup.resources, path
        for resource in markup.resources:  # files of this origin, no CDN
            assert resource.startswith("/ui/static/"), resource
            served = get(ui, resource)
            assert served.status_code == 200
            assert served.headers["x-content-type-options"] == "nosniff"
            kind = "text/css" if resource.endswith(".css") else "javascript"
            assert kind in served.headers["content-type"]


def test_the_scripts_import_only_files_of_this_origin():
    for script in (UI_PACKAGE / "static").glob("*.js"):
        source = script.read_text()
        for target in re.findall(r"""from\s+["']([^"']+)["']""", source):
            assert target.startswith("./") and (UI_PACKAGE / "static" / target[2:]).is_file()
        assert "innerHTML" not in source and "eval(" not in source, script.name
        assert "http://" not in source and "https://" not in source, script.name


def test_every_template_and_static_file_ships_in_the_wheel():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "assetstore.http.ui" in config["tool"]["setuptools"]["packages"]
    patterns = config["tool"]["setuptools"]["package-data"]["assetstore.http.ui"]
    files = [
        p.relative_to(UI_PACKAGE).as_posix()
        for folder in ("templates", "static")
        for p in (UI_PACKAGE / folder).rglob("*")
        if p.is_file()
    ]
    assert files
    assert [f for f in files if not any(fnmatch(f, pattern) for pattern in patterns)] == []
    extra = config["project"]["optional-dependencies"]["http"]
    assert any(requirement.startswith("jinja2") for requirement in extra)


def test_hostile_text_is_escaped_in_the_html(ui):
    hostile = "<img src=x onerror=alert(1)>"
    ui.store.upload(b"x", name=hostile, version="1", tag="t", metadata={hostile: hostile})
    for path in ("/ui", "/ui/asset/" + hostile + ":1-t", "/ui?q=" + hostile):
        body = get(ui, path).text
        assert "<img" not in body
        assert "&lt;img src=x onerror=alert(1)&gt;" in body


def test_the_root_redirects_to_the_ui(ui):
    response = get(ui, "/")
    assert response.status_code == 307
    assert response.headers["location"] == "/ui"


def test_with_the_ui_off_there_are_no_pages_and_no_redirect(tmp_path):
    with open_store(tmp_path / "s") as store, open_registry(tmp_path / "r") as registry:
        app = create_app(store, registry, ServiceSettings(ui=False))
        with serve_app(app) as url:
            assert httpx.get(url + "/").status_code == 404
            assert httpx.get(url + "/ui").status_code == 404
            assert httpx.get(url + "/ui/static/ui.css").status_code == 404
            assert httpx.get(url + "/health").status_code == 200


def test_serve_has_the_ui_unless_no_ui(tmp_path):
    (tmp_path / "on").mkdir()
    (tmp_path / "off").mkdir()
    with run_cli_server(tmp_path / "on") as server:
        page = httpx.get(server.url + "/", follow_redirects=True)
        assert page.status_code == 200
        assert "No assets yet" in page.text
    with run_cli_server(tmp_path / "off", "--no-ui") as server:
        assert httpx.get(server.url + "/ui").status_code == 404
    with run_cli_server(tmp_path / "off", env={"ASSETSTORE_UI": "false"}) as server:
        assert httpx.get(server.url + "/ui").status_code == 404


def test_a_registry_only_service_opens_on_the_registry(tmp_path):
    with (
        open_registry(tmp_path / "r") as registry,
        serve_app(create_app(None, registry, ServiceSettings())) as url,
    ):
        page = httpx.get(url + "/", follow_redirects=True)
        assert page.url.path == "/ui/registry"
        assert ">Assets<" not in page.text and ">Upload<" not in page.text
    with (
        open_store(tmp_path / "s") as store,
        serve_app(create_app(store, None, ServiceSettings())) as url,
    ):
        assert httpx.get(url + "/ui/registry").status_code == 404
        assert ">Registry<" not in httpx.get(url + "/ui").text


def test_paging_says_what_it_shows_and_never_stops_silently(ui):
    ui.store.register_many(
        {"asset_name": f"bulk/{i:03d}", "asset_version": {"version": "1", "tag": "t"}}
        for i in range(120)
    )
    first = text_of(get(ui, "/ui?sort=name").text)
    assert "Showing 1-50 of 120" in first
    assert first.count("bulk/") == 50
    page = get(ui, "/ui?sort=name&skip=100").text
    assert "Showing 101-120 of 120" in text_of(page)
    assert "bulk/100" in page and "bulk/119" in page and "bulk/099" not in page
    assert 'rel="next"' not in page and 'rel="prev"' in page
    middle = get(ui, "/ui?sort=name&skip=50").text
    assert "skip=100" in middle and "skip=0" in middle  # next and first
    beyond = get(ui, "/ui?skip=500").text
    assert "past the last result (120 in all)" in text_of(beyond)
    assert "Showing 1-100 of 120" in text_of(get(ui, "/ui?limit=100").text)
    assert "Showing 1-50 of 120" in text_of(get(ui, "/ui?limit=7").text)  # not a page size
    ui.set_settings(max_results=20)  # never more than the API would return at once
    assert "Showing 1-20 of 120" in text_of(get(ui, "/ui?limit=100").text)
    filtered = text_of(get(ui, "/ui?q=name:bulk/11").text)
    assert "Showing 1-10 of 10" in filtered


def test_the_versions_list_says_when_it_is_cut(ui, monkeypatch):
    for version in ("1", "2", "3", "4", "5"):
        ui.store.register({"asset_name": "m", "asset_version": {"version": version, "tag": "t"}})
    versions = versions_of(ui.store, "m", most=3)
    assert versions.truncated and versions.total == 5
    assert [row.asset.version for row in versions.rows] == ["5", "4", "3"]  # the newest three
    monkeypatch.setattr(
        _asset_pages, "versions_of", lambda store, name: versions_of(store, name, most=3)
    )
    page = text_of(get(ui, "/ui/asset/m:5-t").text)
    assert "Showing the 3 newest of 5 versions" in page


def test_empty_states_say_what_to_do(ui):
    assert "No assets yet" in get(ui, "/ui").text
    assert "assetstore put" in get(ui, "/ui").text
    seed_versions(ui.store)
    nothing = get(ui, "/ui?q=zebra")
    assert nothing.status_code == 200
    assert "No asset matches" in nothing.text and "see every asset" in nothing.text
    assert "No store is registered yet" in get(ui, "/ui/registry").text
    assert "Register a store" in get(ui, "/ui/registry/search?q=x").text


def test_errors_are_pages_that_say_what_to_do(ui):
    seed_versions(ui.store)
    missing = get(ui, "/ui/asset/org/resnet:9.9-stable")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "It may have been deleted" in missing.text
    bad = get(ui, "/ui?q=colour:red")
    assert bad.status_code == 400
    assert "unknown search field" in bad.text and "meta.framework=pytorch" in bad.text
    refused = get(ui, "/ui?q=" + httpx.QueryParams({"q": '{"$where": "1"}'})["q"])
    assert refused.status_code == 400 and "This search could not run" in refused.text
    invalid = get(ui, "/ui?skip=-1")
    assert invalid.status_code == 422 and "skip" in invalid.text


class DownStore:
    """A store whose database is unreachable."""

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise BackendUnavailableError("mongodb://secret-host:27017 is down")

        return fail


def test_an_unreachable_backend_is_a_page_without_its_details(ui):
    real, ui.app.state.store = ui.app.state.store, DownStore()
    try:
        for path in ("/ui", "/ui/asset/a:1-b"):
            page = get(ui, path)
            assert page.status_code == 503
            assert "storage backend is unavailable" in page.text
            assert "secret-host" not in page.text
    finally:
        ui.app.state.store = real


def test_with_auth_reads_the_pages_show_nothing(ui):
    seed_versions(ui.store)
    [entry_id] = [
        ui.registry.register(
            {"asset_registry_name": "x", "asset_registry_public_url": "http://127.0.0.1:9"}
        ).asset_registry_id
    ]
    ui.set_settings(token=TOKEN, auth_reads=True)
    for path in (
        "/ui",
        "/ui/asset/org/resnet:1.9-stable",
        "/ui/registry",
        f"/ui/registry/health/{entry_id}",
    ):
        page = get(ui, path)
        assert page.status_code == 401, path
        assert "requires its token for reads" in page.text
        assert "org/resnet" not in page.text and "127.0.0.1:9" not in page.text
    # Even with the token: the pages never take it (it is not sent with a page load).
    assert get(ui, "/ui", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 401


def test_pages_report_where_their_server_time_went(ui):
    seed_versions(ui.store)
    assert re.fullmatch(
        r"query;dur=[\d.]+, render;dur=[\d.]+", get(ui, "/ui").headers["server-timing"]
    )
    timing = get(ui, "/ui/asset/org/resnet:1.9-stable").headers["server-timing"]
    assert re.fullmatch(r"get;dur=[\d.]+, versions;dur=[\d.]+, render;dur=[\d.]+", timing)


@pytest.mark.parametrize("uri", ["Sample Asset:1.0-initial", "org/a b/c:2-x"])
def test_names_with_spaces_and_slashes_link_to_their_pages(ui, uri):
    name, _, rest = uri.partition(":")
    version, _, tag = rest.rpartition("-")
    ui.store.register({"asset_name": name, "asset_version": {"version": version, "tag": tag}})
    listing = get(ui, "/ui").text
    [href] = re.findall(r'class="asset-link" href="([^"]+)"', listing)
    assert " " not in href
    page = get(ui, href)
    assert page.status_code == 200 and f"<code>{uri}</code>" in page.text


def test_notices_from_the_address_are_shown_only_when_true(ui):
    seed_versions(ui.store)
    assert "Deleted" not in get(ui, "/ui?deleted=org/bert:1.0-stable").text  # it still exists
    assert "Deleted <code>gone:1-x</code>" in get(ui, "/ui?deleted=gone:1-x").text
    assert 'id="saved"' not in get(ui, "/ui/asset/org/bert:1.0-stable?saved=7").text
    assert 'id="registered"' not in get(ui, "/ui/registry?registered=Nobody").text
