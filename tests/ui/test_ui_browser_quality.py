"""Quality in a real browser: every control has a label, the keyboard alone gets through,
a phone-sized screen needs no sideways scrolling, and the Content-Security-Policy blocks
inline scripts (while the pages' own files run)."""

from __future__ import annotations

import pytest
from ui_helpers import closed_port_url, expect, seed_versions

PAGES = [
    "/ui",
    "/ui?q=colour:red",
    "/ui/asset/org/resnet:1.10-stable",
    "/ui/upload",
    "/ui/registry",
    "/ui/registry/search?q=resnet",
]

#: Every form control and button on the page whose accessible name is empty.
UNLABELLED = """
() => [...document.querySelectorAll("input, select, textarea, button")]
  .filter((el) => el.type !== "hidden")
  .filter((el) => {
    const labelled = el.labels && [...el.labels].some((l) => l.textContent.trim());
    const aria = (el.getAttribute("aria-label") || "").trim();
    const named = aria || (el.tagName === "BUTTON" && el.textContent.trim());
    return !labelled && !named;
  })
  .map((el) => el.outerHTML.slice(0, 120))
"""


@pytest.fixture
def seeded(ui):
    seed_versions(ui.store)
    ui.registry.register(
        {"asset_registry_name": "Gone", "asset_registry_public_url": closed_port_url()},
        check_health=False,
    )
    return ui


def test_every_control_has_a_label(tab, seeded):
    for path in PAGES:
        tab.goto(path)
        assert tab.page.evaluate(UNLABELLED) == [], path
        # Dialogs count too: their controls are in the page, closed.
        assert tab.page.locator("dialog[aria-labelledby]").count() >= 1


def test_the_keyboard_alone_searches_and_opens_an_asset(tab, seeded):
    page = tab.page
    tab.goto("/ui")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    for _ in range(5):  # from the main content, the search box is a few Tabs away
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "q":
            break
    expect(page.get_by_label("Search")).to_be_focused()
    page.keyboard.type("tag:stable resnet")
    page.keyboard.press("Enter")
    expect(page.locator("#assets-table tbody tr")).to_have_count(3)
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('asset-link')"):
            break
    page.keyboard.press("Enter")
    expect(page.locator("h1 .asset-name")).to_have_text("org/resnet")

    # The delete confirmation is a modal dialog: Escape closes it and nothing is deleted.
    page.get_by_role("button", name="Delete org/resnet").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#delete-dialog")).to_be_visible()
    expect(page.locator("#delete-dialog").get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#delete-dialog")).not_to_be_visible()
    assert seeded.store.count({"asset_name": "org/resnet"}) == 4


@pytest.mark.parametrize("path", PAGES)
def test_a_phone_screen_needs_no_sideways_scrolling(browser, seeded, path, screenshots):
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(seeded.url + path)
        page.wait_for_load_state("networkidle")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{path} is {width}px wide on a 375px screen"
        assert page.locator("h1").first.is_visible()
        if path == "/ui":
            page.screenshot(path=str(screenshots / "ui-phone.png"), full_page=True)
    finally:
        context.close()


def test_the_policy_blocks_inline_scripts(tab, seeded):
    page = tab.page
    tab.goto("/ui")
    # Scripts of the page's own origin ran: the token button says what it knows.
    expect(page.locator("#token-state")).to_have_text("No token needed")
    page.evaluate(
        """() => {
        const s = document.createElement("script");
        s.textContent = "window.injected = true";
        document.body.append(s);
        const img = document.createElement("img");
        img.setAttribute("onerror", "window.handler = true");
        img.src = "data:,";
        document.body.append(img);
        }"""
    )
    page.wait_for_timeout(200)
    assert page.evaluate("window.injected") is None
    assert page.evaluate("window.handler") is None
    assert any(v.startswith("script-src-elem") for v in tab.violations), tab.violations
    assert any(v.startswith("script-src-attr") for v in tab.violations), tab.violations
    tab.violations.clear()  # the ones this test caused on purpose


def test_screenshot_of_the_list(tab, seeded):
    page = tab.page
    tab.goto("/ui")
    expect(page.locator("#assets-table tbody tr")).to_have_count(6)
    tab.shoot("ui-assets", full_page=False)
