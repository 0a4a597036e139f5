"""The assets pages in a real browser: search, open an asset, its versions, download, upload,
edit with a stale revision, delete, and hostile names shown as text."""

from __future__ import annotations

import hashlib
import os

import pytest
from ui_helpers import TOKEN, expect, seed_versions

from assetstore.errors import AssetNotFoundError


def test_search_open_an_asset_see_its_versions_and_download_it(tab, ui):
    files = seed_versions(ui.store)
    page = tab.page
    tab.goto("/")  # redirected to /ui
    expect(page).to_have_url(ui.url + "/ui")
    expect(page.locator("#assets-table tbody tr")).to_have_count(6)

    page.get_by_label("Search").fill("resnet")
    page.get_by_label("Search").press("Enter")
    expect(page.locator(".pager-count").first).to_have_text("Showing 1\N{EN DASH}4 of 4")
    page.get_by_label("Search").fill("tag:text")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#assets-table tbody tr")).to_have_count(1)
    expect(page.locator("#assets-table")).to_contain_text("org/bert")
    page.get_by_label("Search").fill("meta.epochs=12")
    page.get_by_label("Search").press("Enter")
    expect(page.locator("#assets-table tbody tr")).to_have_count(1)
    expect(page.locator("#assets-table")).to_contain_text("1.10")

    page.get_by_role("link", name="org/resnet").click()
    expect(page.locator("h1")).to_have_text("org/resnet 1.10-stable")
    tab.shoot("ui-asset")
    uri = "org/resnet:1.10-stable"
    asset = ui.store.get(uri)
    expect(page.locator("#sha256")).to_have_text(asset.sha256)
    metadata = page.locator("#metadata tbody tr")
    expect(metadata).to_have_count(2)
    expect(metadata.nth(0)).to_contain_text("epochs")
    expect(metadata.nth(1)).to_contain_text("framework")
    expect(metadata.nth(1)).to_contain_text("pytorch")

    # Versions in version order (1.10 above 1.9), the latest of each tag marked: a
    # prerelease is not the latest stable.
    rows = page.locator("#versions tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.locator("td:first-child")).to_have_text(
        ["2.0.0-rc.1", "1.10 (this one)", "1.9", "0.5"]
    )
    expect(rows.nth(1).locator(".badge.latest")).to_have_text("latest stable")
    expect(rows.nth(3).locator(".badge.latest")).to_have_text("latest dev")
    expect(rows.nth(0).locator(".badge.latest")).to_have_count(0)
    expect(rows.nth(2).locator(".badge.latest")).to_have_count(0)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download").click()
    download = download_info.value
    data = download.path().read_bytes()
    assert data == files[uri]
    assert hashlib.sha256(data).hexdigest() == asset.sha256
    assert download.suggested_filename == "resnet-1.10.pt"

    rows.nth(2).get_by_role("link", name="1.9").click()  # another version
    expect(page.locator("h1")).to_have_text("org/resnet 1.9-stable")


def test_copy_buttons_copy_the_uri_command_and_snippet(tab, ui):
    seed_versions(ui.store)
    tab.page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=ui.url)
    page = tab.page
    tab.goto("/ui/asset/org/resnet:1.9-stable")
    for button, expected in (
        ("Copy URI", "org/resnet:1.9-stable"),
        ("Copy command", f"assetstore --store {ui.url} get org/resnet:1.9-stable -o ."),
        ("Copy Python", f"store = assetstore.open_store('{ui.url}')"),
    ):
        page.get_by_role("button", name=button).click()
        expect(page.locator("#copy-status")).to_contain_text("Copied")
        assert expected in page.evaluate("navigator.clipboard.readText()")


def test_upload_a_file_with_the_token_and_see_it_listed(tab, ui):
    ui.set_settings(token=TOKEN)
    data = os.urandom(3 << 20)  # several progress events
    page = tab.page
    tab.goto("/ui/upload")
    expect(page.locator("#token-state")).to_have_text("Enter token")
    page.get_by_label("File").set_input_files(
        files=[{"name": "weights.bin", "mimeType": "application/octet-stream", "buffer": data}]
    )
    page.get_by_label("Name").fill("team/uploaded model")
    page.get_by_label("Version", exact=True).fill("3.1.0")
    page.get_by_label("Version tag").fill("candidate")
    page.get_by_label("Tags (comma-separated, optional)").fill("image, new")
    page.get_by_label("Metadata (a JSON object, optional)").fill('{"framework": "jax"}')
    page.get_by_role("button", name="Upload").click()

    # No token yet: the page asks for it once, then sends the upload.
    dialog = page.locator("#token-dialog")
    expect(dialog).to_be_visible()
    page.get_by_label("Token", exact=True).fill(TOKEN)
    page.get_by_role("button", name="Save for this session").click()
    message = page.locator("#upload-message")
    expect(message).to_contain_text("Uploaded as team/uploaded model:3.1.0-candidate")
    expect(page.locator("#upload-progress")).to_have_attribute("value", "100")
    asset = ui.store.get("team/uploaded model:3.1.0-candidate")
    assert ui.store.read_bytes(asset.asset_uri) == data
    assert asset.asset_tags == ["image", "new"]
    assert asset.asset_metadata == {"framework": "jax"}
    assert asset.asset_file_info["filename"] == "weights.bin"

    # The token stays in this tab's sessionStorage: not in the address, not in a cookie.
    assert page.evaluate("sessionStorage.getItem('assetstore.token')") == TOKEN
    assert page.evaluate("document.cookie") == ""
    assert page.context.cookies() == []
    assert TOKEN not in page.url
    expect(page.locator("#token-state")).to_have_text("Token set")

    [upload] = [w for w in tab.writes if w["url"].endswith("/upload_asset")]
    assert upload["authorization"] == f"Bearer {TOKEN}"
    assert upload["content-type"].startswith("multipart/form-data")
    assert upload["x-requested-with"] == "assetstore-ui"

    message.get_by_role("link", name="See the list").click()
    expect(page.locator("#assets-table")).to_contain_text("team/uploaded model")
    expect(page.locator("#assets-table")).to_contain_text("3.0 MiB")

    # A second upload in the same tab does not ask again; a taken URI is explained.
    tab.goto("/ui/upload")
    page.get_by_label("File").set_input_files(
        files=[{"name": "w.bin", "mimeType": "application/octet-stream", "buffer": b"x"}]
    )
    page.get_by_label("Name").fill("team/uploaded model")
    page.get_by_label("Version", exact=True).fill("3.1.0")
    page.get_by_label("Version tag").fill("candidate")
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#upload-message")).to_contain_text("are taken")
    expect(dialog).not_to_be_visible()


def test_a_stale_edit_shows_the_conflict_and_changes_nothing(tab, ui):
    seed_versions(ui.store)
    ui.set_settings(token=TOKEN)
    uri = "org/resnet:1.9-stable"
    page = tab.page
    tab.goto("/ui")
    page.evaluate(f"sessionStorage.setItem('assetstore.token', '{TOKEN}')")
    tab.goto(f"/ui/asset/{uri}")
    expect(page.locator("#revision")).to_have_text("1")

    ui.store.update(uri, {"asset_tags": ["changed-elsewhere"]})  # someone else, meanwhile
    page.get_by_label("Tags (comma-separated)").fill("mine, also-mine")
    page.get_by_role("button", name="Save changes").click()
    message = page.locator("#edit-message")
    expect(message).to_contain_text("Someone else changed this asset after you opened this page")
    expect(message).to_contain_text("Your changes were not saved")
    tab.shoot("ui-conflict", full_page=False)
    assert ui.store.get(uri).asset_tags == ["changed-elsewhere"]
    assert ui.store.get(uri).revision == 2

    message.get_by_role("link", name="Reload the page").click()
    expect(page.get_by_label("Tags (comma-separated)")).to_have_value("changed-elsewhere")
    page.get_by_label("Tags (comma-separated)").fill("mine")
    page.get_by_label("Metadata (a JSON object)").fill('{"owner": "me"}')
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#saved")).to_contain_text("now at revision 3")
    puts = [w for w in tab.writes if w["method"] == "PUT"]
    assert [w["if-match"] for w in puts] == ['"1"', '"2"']
    assert all(w["content-type"] == "application/json" for w in puts)
    assert ui.store.get(uri).asset_tags == ["mine"]
    assert ui.store.get(uri).asset_metadata == {"owner": "me"}
    expect(page.locator("#metadata")).to_contain_text("owner")


def test_invalid_metadata_is_refused_in_the_page(tab, ui):
    seed_versions(ui.store)
    page = tab.page
    tab.goto("/ui/asset/org/bert:1.0-stable")
    page.get_by_label("Metadata (a JSON object)").fill('["not", "an object"]')
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#edit-message")).to_contain_text("must be a JSON object")
    assert ui.store.get("org/bert:1.0-stable").revision == 1


def test_delete_asks_for_confirmation(tab, ui):
    seed_versions(ui.store)
    uri = "org/bert:1.0-stable"
    page = tab.page
    tab.goto(f"/ui/asset/{uri}")
    page.get_by_role("button", name=f"Delete {uri}…").click()
    dialog = page.locator("#delete-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).not_to_be_visible()
    assert ui.store.get(uri)

    page.get_by_role("button", name=f"Delete {uri}…").click()
    dialog.get_by_role("button", name="Delete", exact=True).click()
    expect(page).to_have_url(ui.url + "/ui?deleted=org%2Fbert%3A1.0-stable")
    expect(page.locator(".notice.success")).to_have_text(f"Deleted {uri}.")
    expect(page.locator("#assets-table")).not_to_contain_text("org/bert")
    with pytest.raises(AssetNotFoundError):
        ui.store.get(uri)


def test_without_a_token_on_loopback_writes_work_as_through_the_api(tab, ui):
    seed_versions(ui.store)
    page = tab.page
    tab.goto("/ui/asset/org/bert:1.0-stable")
    expect(page.locator("#token-state")).to_have_text("No token needed")
    page.get_by_label("Tags (comma-separated)").fill("text, nlp")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#saved")).to_be_visible()
    expect(page.locator("#token-dialog")).not_to_be_visible()
    assert ui.store.get("org/bert:1.0-stable").asset_tags == ["text", "nlp"]


HOSTILE = "<img src=x onerror=alert(1)>"


def test_hostile_names_metadata_and_filenames_render_as_text(tab, ui):
    ui.store.upload(
        b"payload",
        name=HOSTILE,
        version="1",
        tag="x",
        tags=["<script>alert(2)</script>"],
        metadata={"<b>key</b>": "<img src=y onerror=alert(3)>", "nested": {"a": "<i>v</i>"}},
        filename="<svg onload=alert(4)>.bin",
    )
    page = tab.page
    tab.goto("/ui")
    link = page.get_by_role("link", name=HOSTILE)
    expect(link).to_have_text(HOSTILE)
    expect(page.locator("#assets-table .chip")).to_have_text("<script>alert(2)</script>")
    link.click()
    expect(page.locator("h1 .asset-name")).to_have_text(HOSTILE)
    expect(page.locator("#metadata")).to_contain_text("<b>key</b>")
    expect(page.locator("#metadata")).to_contain_text("<img src=y onerror=alert(3)>")
    expect(page.locator("#file-info")).to_contain_text("<svg onload=alert(4)>.bin")
    # Nothing was parsed as markup: no such elements exist, no script ran.
    for selector in ("img", "svg", "b", "i", "script:not([src])"):
        expect(page.locator(f"main {selector}")).to_have_count(0)
    tab.goto("/ui?q=" + "%3Cimg")
    expect(page.get_by_role("link", name=HOSTILE)).to_be_visible()
    assert tab.alerts == []
