"""The registry pages in a real browser: live health (an unreachable store is marked down),
registering and removing a store with the token, and a federated search grouped by store."""

from __future__ import annotations

import re

import pytest
from ui_helpers import TOKEN, closed_port_url, expect, serve_sick_store, serve_store


@pytest.fixture
def peer(tmp_path):
    """Another store, served on 127.0.0.1, holding two resnet versions and a bert."""
    with serve_store(tmp_path) as (url, store):
        store.upload(b"a", name="eu/resnet", version="1.0", tag="stable", tags=["image"])
        store.upload(b"b", name="eu/resnet", version="2.0", tag="stable", tags=["image"])
        store.upload(b"c", name="eu/bert", version="1.0", tag="stable", tags=["text"])
        yield url, store


def register(ui, name, url, **extra):
    return ui.registry.register(
        {"asset_registry_name": name, "asset_registry_public_url": url, **extra},
        check_health=False,
    )


def test_registered_stores_show_live_health_and_an_unreachable_one_is_down(tab, ui, peer):
    peer_url, _ = peer
    register(ui, "EU models", peer_url, asset_registry_tags=["pytorch"])
    register(ui, "Gone store", closed_port_url())
    with serve_sick_store() as sick_url:
        register(ui, "Sick store", sick_url)
        page = tab.page
        tab.goto("/ui/registry")
        expect(page.locator("#health-summary")).to_have_text("1 of 3 stores on this page healthy.")
    up = page.locator("tr.store-row", has_text="EU models")
    down = page.locator("tr.store-row", has_text="Gone store")
    sick = page.locator("tr.store-row", has_text="Sick store")
    expect(up.locator(".health")).to_have_attribute("data-health", "up")
    expect(up.locator(".badge")).to_have_text("healthy")
    expect(up.locator(".latency")).to_have_text(re.compile(r"^\d+ ms$"))
    expect(down.locator(".health")).to_have_attribute("data-health", "down")
    expect(down.locator(".badge")).to_have_text("unreachable")
    expect(down.locator(".badge")).to_have_class("badge down")
    expect(down.locator(".health-detail")).to_contain_text("cannot reach")
    expect(sick.locator(".health")).to_have_attribute("data-health", "down")
    expect(sick.locator(".badge")).to_have_text("unhealthy")
    expect(sick.locator(".health-detail")).to_have_text("HTTP 503")
    tab.shoot("ui-registry")

    down.get_by_role("button", name="Check again").click()  # checked again, still down
    expect(down.locator(".badge")).to_have_text("unreachable")


def test_register_and_remove_a_store_with_the_token(tab, ui, peer):
    peer_url, _ = peer
    ui.set_settings(token=TOKEN)
    page = tab.page
    tab.goto("/ui/registry")
    expect(page.locator("#no-stores")).to_be_visible()
    page.get_by_label("Name").fill("EU models")
    page.get_by_label("Public URL").fill(peer_url)
    page.get_by_label("Tags (comma-separated, optional)").fill("pytorch, eu")
    page.get_by_role("button", name="Register").click()
    page.get_by_label("Token", exact=True).fill(TOKEN)
    page.get_by_role("button", name="Save for this session").click()
    expect(page.locator("#registered")).to_have_text("Registered EU models.")
    row = page.locator("tr.store-row", has_text="EU models")
    expect(row.locator(".badge")).to_have_text("healthy")
    [entry] = ui.registry.query()
    assert entry.asset_registry_tags == ["pytorch", "eu"]

    # The health check before registering refuses a store that does not answer.
    page.get_by_label("Name").fill("Nowhere")
    page.get_by_label("Public URL").fill(closed_port_url())
    page.get_by_role("button", name="Register").click()
    expect(page.locator("#register-message")).to_contain_text("Not registered")
    assert ui.registry.count() == 1

    row.get_by_role("button", name="Remove EU models").click()
    dialog = page.locator("#remove-dialog")
    expect(dialog).to_contain_text("EU models")
    dialog.get_by_role("button", name="Remove", exact=True).click()
    expect(page.locator("#stores-message")).to_have_text("Removed EU models from the registry.")
    expect(page.locator("tr.store-row")).to_have_count(0)
    assert ui.registry.count() == 0


def test_a_federated_search_groups_results_by_store(tab, ui, peer):
    peer_url, _ = peer
    register(ui, "EU models", peer_url)
    register(ui, "Gone store", closed_port_url())
    page = tab.page
    tab.goto("/ui/registry")
    page.get_by_label("Search every registered store").fill("resnet")
    page.get_by_role("button", name="Search all stores").click()
    expect(page.locator("#federated-summary")).to_contain_text(
        "1 of 2 stores answered; 2 results found"
    )
    groups = page.locator("section.store-results")
    expect(groups).to_have_count(2)
    answered = groups.nth(0)
    expect(answered.locator("h2")).to_contain_text("EU models")
    expect(answered).to_have_attribute("data-status", "ok")
    expect(answered.locator("tbody tr")).to_have_count(2)
    expect(answered.locator("tbody")).to_contain_text("eu/resnet:2.0-stable")
    expect(answered.locator("tbody")).not_to_contain_text("eu/bert")
    failed = groups.nth(1)
    expect(failed.locator("h2")).to_contain_text("Gone store")
    expect(failed).to_have_attribute("data-status", "error")
    expect(failed).to_contain_text("Not searched")
    tab.shoot("ui-federated")

    page.get_by_label("Search").fill("tag:text")
    page.get_by_label("Search").press("Enter")
    expect(groups.nth(0).locator("tbody tr")).to_have_count(1)
    expect(groups.nth(0).locator("tbody")).to_contain_text("eu/bert")
