"""The admin console in a real browser: Playwright driving Debian's Chromium (headless) against
``parako-config serve``'s application on uvicorn, in a temporary project (SQLite store).

Screenshots of the history and diff pages are saved to ``$ADMIN_ARTIFACTS`` (default
``tests/artifacts/``, ignored by git) so a reviewer can look at what the tests saw.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pytest
from support.api_support import RunningApi
from support.browser import ensure_chromium

from adapters.service import ConfigService
from eventstore.secret import MASK
from eventstore.tokens import READ

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Dialog, Locator, Page

playwright_api = pytest.importorskip("playwright.sync_api")

CONFLICT = "Configuration was modified by another user. Please refresh the page and try again."
COMPANY_WARNING = "Company name changed. This will automatically update MFA issuer names"
T = TypeVar("T")
ARTIFACTS = Path(os.environ.get("ADMIN_ARTIFACTS") or Path(__file__).parent / "artifacts")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    executable = ensure_chromium()
    with playwright_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=executable, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()


def in_thread(work: Callable[[], T]) -> T:
    """Run ``work`` on another thread: Playwright's sync API keeps an event loop running on
    this one, and the test helpers that touch the store call ``asyncio.run``."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(work).result(timeout=60)


def token(api: RunningApi, name: str, *scopes: str) -> str:
    return in_thread(lambda: api.token(name, *scopes))


def sign_in(page: Page, api: RunningApi, token: str) -> None:
    page.goto(f"{api.base_url}/admin/settings")
    assert page.url.endswith("/admin/login")  # not signed in: sent to the sign-in form
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/admin/settings$"))


def editor(page: Page, api: RunningApi, section: str) -> None:
    page.goto(f"{api.base_url}/admin/settings/{section}")


def field(page: Page, path: str) -> Locator:
    return page.locator(f'.field[data-path="{path}"]')


def test_sign_in_sets_a_strict_httponly_cookie(page: Page, api: RunningApi) -> None:
    sign_in(page, api, token(api, "alice"))
    assert page.get_by_role("heading", name="Configuration").is_visible()
    assert "Signed in as" in page.inner_text("header")
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["parako_admin"]
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Strict"
    assert session["path"] == "/admin"
    # the script cannot read it
    assert "parako_admin" not in page.evaluate("document.cookie")


def test_signing_in_works_with_the_keyboard_alone(page: Page, api: RunningApi) -> None:
    alice = token(api, "alice")
    page.goto(f"{api.base_url}/admin/login")
    assert page.evaluate("document.activeElement.id") == "token"  # focused on arrival
    page.keyboard.type(alice)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/admin/settings$"))
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Branding").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/admin/settings/branding$"))
    assert page.locator('.sections a[aria-current="page"]').inner_text() == "Branding"


def test_an_unknown_token_is_refused(page: Page, api: RunningApi) -> None:
    page.goto(f"{api.base_url}/admin/login")
    page.get_by_label("API token").fill("pkc_not-a-real-token")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "Unknown or revoked token."


def test_edit_review_save_history_diff_restore(page: Page, api: RunningApi) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    sign_in(page, api, token(api, "alice"))
    editor(page, api, "branding")
    page.get_by_label("Company name", exact=True).fill("Acme Rebrand")
    page.get_by_role("button", name="Review changes…").click()

    # the impact summary of the pending change, before anything is saved
    assert page.get_by_role("heading", name="Review your change to Branding").is_visible()
    assert COMPANY_WARNING in page.inner_text(".impact")
    page.screenshot(path=str(ARTIFACTS / "admin-review.png"))
    changes = page.inner_text("ul.diff")
    assert "branding.companyName" in changes
    assert "Acme Rebrand" in changes
    page.get_by_label("Why (recorded with the version)").fill("rebrand for the launch")
    page.get_by_role("button", name="Confirm and save").click()
    assert page.locator("#saved").inner_text() == "Saved as version 1.0.1."
    assert page.get_by_label("Company name", exact=True).input_value() == "Acme Rebrand"

    # the new version heads the history, with who, why and its tags
    page.get_by_role("link", name="History").click()
    newest = page.locator("ol.timeline li").first
    assert newest.locator(".semver").inner_text() == "1.0.1"
    assert "alice" in newest.inner_text()
    assert "rebrand for the launch" in newest.inner_text()
    assert "main" in newest.inner_text()
    assert "configuration" in newest.inner_text()
    page.screenshot(path=str(ARTIFACTS / "admin-history.png"), full_page=True)

    # diff it against the version before, inline then side by side
    newest.get_by_role("link", name="Diff 1.0.1 against the version before").click()
    assert page.get_by_role("heading", name="Diff 1.0.0 → 1.0.1").is_visible()
    inline = page.inner_text("ul.diff")
    assert "branding.companyName" in inline
    assert "Acme Rebrand" in inline
    page.get_by_label("Side by side").check()
    page.get_by_role("button", name="Compare").click()
    row = page.locator("table.diff tbody tr", has_text="branding.companyName")
    assert row.locator("td.new").inner_text() == "Acme Rebrand"
    assert row.locator("td.old").inner_text() != ""
    page.screenshot(path=str(ARTIFACTS / "admin-diff.png"), full_page=True)

    # restore 1.0.0: a reason is required, then a new version 1.0.2 says where it came from
    page.goto(f"{api.base_url}/admin/settings/history")
    page.get_by_role("link", name="Restore version 1.0.0").click()
    assert "Acme Rebrand" in page.inner_text("ul.diff")
    page.get_by_role("button", name="Restore 1.0.0").click()
    assert (
        page.locator("#reason-error").inner_text() == "A reason is required to restore a version."
    )
    page.get_by_label("Why restore it (required)").fill("launch postponed")
    page.get_by_role("button", name="Restore 1.0.0").click()
    assert "version 1.0.2" in page.locator("#flash").inner_text()
    newest = page.locator("ol.timeline li").first
    assert "restored from 1.0.0" in newest.inner_text()
    editor(page, api, "branding")
    assert page.get_by_label("Company name", exact=True).input_value() != "Acme Rebrand"


def test_a_validation_error_is_shown_next_to_the_field(page: Page, api: RunningApi) -> None:
    sign_in(page, api, token(api, "alice"))
    editor(page, api, "branding")
    page.locator("summary", has_text="Light").first.click()
    page.locator("#f-branding-colors-light-primary").fill("blue")
    page.get_by_role("button", name="Review changes…").click()
    message = field(page, "branding.colors.light.primary").locator(".field-error")
    assert message.inner_text() == "Invalid hex color"
    assert page.locator("#f-branding-colors-light-primary").get_attribute("aria-invalid") == "true"
    assert "nothing was saved" in page.locator("#error-summary").inner_text()
    # what was typed is kept, so it can be corrected
    assert page.locator("#f-branding-colors-light-primary").input_value() == "blue"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-editor-error.png"))
    assert in_thread(lambda: api.run(_version)) == 1


async def _version(service: ConfigService) -> int:
    return service.version


def test_a_stale_form_shows_the_conflict_message(page: Page, api: RunningApi) -> None:
    alice = token(api, "alice")
    sign_in(page, api, alice)
    editor(page, api, "branding")
    page.get_by_label("Company name", exact=True).fill("Mine")
    # another writer saves in between, through the Management API
    other = api.client(alice).put("/config/branding", json={"companyName": "Theirs"})
    assert other.status_code == 200
    page.get_by_role("button", name="Review changes…").click()
    assert page.locator("#conflict-message").inner_text() == CONFLICT
    page.get_by_role("link", name="Reload the latest settings").click()
    assert page.get_by_label("Company name", exact=True).input_value() == "Theirs"


def test_a_secret_is_masked_until_revealed(page: Page, api: RunningApi) -> None:
    sign_in(page, api, token(api, "alice"))
    editor(page, api, "security")
    secret = page.locator("#f-security-secrets-jwt_secret")
    assert secret.input_value() == MASK
    assert secret.get_attribute("type") == "password"
    assert MASK in page.content()
    assert not re.search(r"[0-9a-f]{128}", page.content())
    field(page, "security.secrets.jwt_secret").get_by_role("button", name="Reveal").click()
    # a locator wait, not wait_for_function: the console's CSP (script-src 'self') forbids the
    # eval a string predicate needs whenever the first check does not already succeed
    page.locator("#f-security-secrets-jwt_secret[data-revealed='true']").wait_for()
    assert re.fullmatch(r"[0-9a-f]{128}", secret.input_value())
    assert secret.get_attribute("type") == "text"
    # the reveal is in the audit trail
    page.goto(f"{api.base_url}/admin/settings/audit?kind=reveal")
    row = page.locator("table.audit tbody tr").first
    assert "security.secrets.jwt_secret" in row.inner_text()
    assert "alice" in row.inner_text()


def test_a_read_only_token_gets_no_save_button(page: Page, api: RunningApi) -> None:
    sign_in(page, api, token(api, "reader", READ))
    editor(page, api, "branding")
    assert page.get_by_role("button", name="Review changes…").count() == 0
    assert "lacks parako:config:write" in page.inner_text("main")
    assert page.get_by_role("link", name="Import").count() == 0


# --- settings: search, changed badges and reset, unsaved edits, conflicts ----------------------


def test_search_finds_a_setting_and_opens_its_field(page: Page, api: RunningApi) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    sign_in(page, api, token(api, "alice"))
    page.get_by_role("searchbox", name="Find a setting").fill("idle timeout")
    page.get_by_role("searchbox", name="Find a setting").press("Enter")
    page.wait_for_url(re.compile(r"/admin/settings/search\?q=idle\+timeout$"))
    first = page.locator("ol.hits li").first
    assert first.get_by_role("link").inner_text() == "Idle timeout (minutes)"
    assert "Security › Authentication › Sessions" in first.inner_text()
    # as you type, the page's script filters the same index
    page.get_by_role("searchbox", name="Find a setting").fill("breached lookup")
    page.locator("ol.hits li", has_text="Lookup timeout (ms)").wait_for()
    assert page.locator("#results-title").inner_text() == "1 setting found"
    page.screenshot(path=str(ARTIFACTS / "admin-search.png"), full_page=True)
    page.get_by_role("link", name="Lookup timeout (ms)").click()
    page.wait_for_url(re.compile(r"/admin/settings/security\?focus="))
    target = page.locator("#f-security-authentication-password_breach_detection-api_timeout_ms")
    assert target.is_visible()
    assert page.evaluate("document.activeElement.id") == (
        "f-security-authentication-password_breach_detection-api_timeout_ms"
    )
    assert "Refuse passwords that appear in known data breaches" in page.inner_text("main")


async def _rename(service: ConfigService) -> None:
    from eventstore.commands import Author

    await service.save({"branding": {"companyName": "Acme"}}, Author("bob", "rename"))


def test_a_changed_setting_is_marked_filtered_and_reset(page: Page, api: RunningApi) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    in_thread(lambda: api.run(_rename))
    sign_in(page, api, token(api, "alice"))
    assert page.locator(".tiles a.badge-changed").inner_text() == "1 changed"
    editor(page, api, "branding")
    company = field(page, "branding.companyName")
    assert company.locator(".badge-changed").inner_text() == "Changed from default"
    assert "Default: Your Organization" in company.inner_text()
    assert field(page, "branding.logo").locator(".badge-changed").count() == 0
    page.get_by_role("link", name="Show only changed settings").click()
    assert page.locator(".field").count() == 1
    page.screenshot(path=str(ARTIFACTS / "admin-changed.png"), full_page=True)
    page.get_by_role("button", name="Reset Company name to its default").click()
    assert page.get_by_role("heading", name="Review your change to Branding").is_visible()
    assert "Your Organization" in page.inner_text("ul.diff")
    page.screenshot(path=str(ARTIFACTS / "admin-reset-review.png"), full_page=True)
    page.get_by_role("button", name="Confirm and save").click()
    assert page.locator("#saved").inner_text() == "Reset to the default: saved as version 1.0.2."
    assert page.get_by_label("Company name", exact=True).input_value() == "Your Organization"
    assert field(page, "branding.companyName").locator(".badge-changed").count() == 0
    assert "Every setting here has its default value." in page.inner_text("#changed-filter")


def test_leaving_a_page_with_unsaved_edits_asks_first(page: Page, api: RunningApi) -> None:
    sign_in(page, api, token(api, "alice"))
    editor(page, api, "branding")
    asked: list[str] = []
    answers = ["dismiss", "accept"]

    def answer(dialog: Dialog) -> None:
        asked.append(dialog.type)
        getattr(dialog, answers.pop(0))()

    page.on("dialog", answer)
    # an untouched page is left without a question
    page.get_by_role("link", name="Discard edits").click()
    page.wait_for_load_state()
    assert asked == []
    page.get_by_label("Company name", exact=True).fill("Half-typed")
    page.get_by_role("link", name="Discard edits").click()
    assert asked == ["beforeunload"]
    assert page.get_by_label("Company name", exact=True).input_value() == "Half-typed"
    page.get_by_role("link", name="Discard edits").click()
    page.wait_for_load_state()
    assert asked == ["beforeunload", "beforeunload"]
    assert page.get_by_label("Company name", exact=True).input_value() == "Your Organization"


def test_a_conflict_keeps_the_edits_and_reapplies_the_others(page: Page, api: RunningApi) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    alice = token(api, "alice")
    sign_in(page, api, alice)
    editor(page, api, "branding")
    page.get_by_label("Company name", exact=True).fill("Mine")
    page.get_by_label("Body font", exact=True).fill("Inter, sans-serif")
    other = api.client(alice).put("/config/branding", json={"companyName": "Theirs"})
    assert other.status_code == 200
    page.get_by_role("button", name="Review changes…").click()
    assert page.locator("#conflict-message").inner_text() == CONFLICT
    since = page.locator("#since tbody tr")
    assert since.count() == 1
    assert "1.0.1" in since.inner_text()
    assert "branding.companyName" in since.inner_text()
    mine = page.locator('#edits tr[data-path="branding.companyName"]')
    assert "Changed by someone else" in mine.inner_text()
    assert "Theirs" in mine.inner_text()
    assert (
        "Can be re-applied"
        in page.locator('#edits tr[data-path="branding.fonts.sans"]').inner_text()
    )
    page.screenshot(path=str(ARTIFACTS / "admin-conflict.png"), full_page=True)
    page.get_by_role("button", name="Review my 1 edit on 1.0.1…").click()
    assert page.get_by_role("heading", name="Review your change to Branding").is_visible()
    changes = page.inner_text("ul.diff")
    assert "branding.fonts.sans" in changes
    assert "branding.companyName" not in changes
    page.get_by_role("button", name="Confirm and save").click()
    assert page.locator("#saved").inner_text() == "Saved as version 1.0.2."
    assert page.get_by_label("Company name", exact=True).input_value() == "Theirs"
    assert page.get_by_label("Body font", exact=True).input_value() == "Inter, sans-serif"


# --- tenants, tokens, and how the pages look (width, dark scheme, icon) -------------------------

#: words (split at spaces and after hyphens) that the layout broke across lines, in table cells
BROKEN_WORDS = """() => {
  const broken = [];
  for (const cell of document.querySelectorAll("main table th, main table td")) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const pattern = /[^\\s-]+-?/g;
      for (let m = pattern.exec(node.textContent); m; m = pattern.exec(node.textContent)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const rects = Array.from(range.getClientRects()).filter((r) => r.width > 0);
        const lines = new Set(rects.map((r) => Math.round(r.top)));
        if (lines.size > 1) { broken.push(m[0]); }
      }
    }
  }
  return broken;
}"""
#: how far the page itself scrolls sideways (tables scroll inside their own container)
PAGE_OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


def contrast(foreground: str, background: str) -> float:
    """The WCAG contrast ratio of two ``rgb(…)`` colours."""

    def luminance(colour: str) -> float:
        channels = [int(c) / 255 for c in re.findall(r"\d+", colour)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def new_page(chromium: Browser, width: int, *, dark: bool = False) -> Page:
    context = chromium.new_context(
        viewport={"width": width, "height": 900}, color_scheme="dark" if dark else "light"
    )
    context.set_default_timeout(15_000)
    return context.new_page()


def sign_in_at(page: Page, api: RunningApi, token: str, landing: str = r"/admin/settings$") -> None:
    page.goto(f"{api.base_url}/admin/login")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(landing))


def check_layout(page: Page, where: str) -> None:
    assert page.evaluate(BROKEN_WORDS) == [], where
    assert page.evaluate(PAGE_OVERFLOW) <= 0, where


async def _long_audit_trail(service: ConfigService) -> None:
    from eventstore.commands import Author

    await service.save(
        {
            "security": {
                "authentication": {"multi_factor": {"email": {"code_ttl_seconds": 900}}},
            },
            "branding": {"companyName": "Globex Corporation International"},
            "application": {"locales": {"available": ["en", "de", "fr", "es", "pt-BR"]}},
        },
        Author("release-manager@example.com", "quarterly configuration review with the auditors"),
    )


def test_tables_stay_readable_at_1366_and_390_pixels(chromium: Browser, api: RunningApi) -> None:
    from eventstore.tokens import TOKENS_ADMIN

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    admin = token(api, "alice", READ, TOKENS_ADMIN)
    in_thread(lambda: api.run(_long_audit_trail))
    pages = {
        "audit": "/admin/settings/audit",
        "history": "/admin/settings/history",
        "diff": "/admin/settings/diff?from=1.0.0&to=1.0.1&view=side",
        "health": "/admin/settings/health",
        "tokens": "/admin/tokens",
        "overview": "/admin/settings",
    }
    for width in (1366, 390):
        tab = new_page(chromium, width)
        try:
            sign_in_at(tab, api, admin)
            for name, path in pages.items():
                tab.goto(f"{api.base_url}{path}")
                check_layout(tab, f"{name} at {width} px")
            tab.goto(f"{api.base_url}/admin/settings/audit")
            cell = tab.locator("table.audit tbody tr", has_text="code_ttl_seconds").locator("code")
            assert (
                cell.inner_text() == "security.authentication.multi_factor.email.code_ttl_seconds"
            )
            tab.screenshot(path=str(ARTIFACTS / f"admin-audit-{width}.png"), full_page=True)
            if width == 1366:  # wide enough: the audit table needs no sideways scroll
                scroll = tab.locator(".table-scroll").first
                assert scroll.evaluate("e => e.scrollWidth - e.clientWidth") <= 0
        finally:
            tab.context.close()


def test_the_dark_scheme_keeps_text_readable(chromium: Browser, api: RunningApi) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab = new_page(chromium, 1366, dark=True)
    try:
        sign_in_at(tab, api, token(api, "alice"))
        tab.goto(f"{api.base_url}/admin/settings/audit")
        style = "(e, p) => getComputedStyle(e)[p]"
        body = tab.locator("body")
        background = body.evaluate(style, "backgroundColor")
        assert contrast(background, "rgb(0, 0, 0)") < 1.5  # a dark page, not a white one
        checks = {
            "body text": (tab.locator("main h1"), background),
            "link": (tab.locator("main a").first, background),
            "table header": (
                tab.locator("table.audit thead th").first,
                tab.locator("table.audit thead th").first.evaluate(style, "backgroundColor"),
            ),
            "input": (
                tab.locator("#a-path"),
                tab.locator("#a-path").evaluate(style, "backgroundColor"),
            ),
        }
        for name, (element, behind) in checks.items():
            ratio = contrast(element.evaluate(style, "color"), behind)
            assert ratio >= 4.5, (name, ratio)
        tab.screenshot(path=str(ARTIFACTS / "admin-audit-dark.png"), full_page=True)
    finally:
        tab.context.close()


def test_no_page_asks_for_a_missing_file(page: Page, api: RunningApi) -> None:
    """The favicon used to 404 on every page."""
    failures: list[str] = []
    page.on("response", lambda r: failures.append(r.url) if r.status >= 400 else None)
    sign_in(page, api, token(api, "alice"))
    for path in ("/admin/settings/audit", "/admin/settings/history", "/admin/settings/health"):
        page.goto(f"{api.base_url}{path}")
    page.goto(f"{api.base_url}/")
    assert page.url.endswith("/admin/settings")  # the root sends people to the console
    icon = page.request.get(f"{api.base_url}/favicon.ico")
    assert icon.ok
    assert icon.headers["content-type"] == "image/vnd.microsoft.icon"
    assert failures == []


def test_audit_filters_page_and_export_in_the_browser(page: Page, api: RunningApi) -> None:
    async def saves(service: ConfigService) -> None:
        from eventstore.commands import Author

        for n in range(55):
            await service.save({"branding": {"companyName": f"N{n}"}}, Author("bob", "bulk"))

    in_thread(lambda: api.run(saves))
    sign_in(page, api, token(api, "alice"))
    page.goto(f"{api.base_url}/admin/settings/audit")
    page.get_by_label("Actor").fill("bob")
    page.get_by_label("Kind").select_option("change")
    page.get_by_role("button", name="Filter").click()
    assert "actor=bob" in page.url
    assert "kind=change" in page.url
    assert "55 entries match" in page.inner_text("#audit-count")
    page.get_by_role("link", name="Older entries »").click()
    assert "cursor=" in page.url
    assert "actor=bob" in page.url
    assert page.get_by_label("Actor").input_value() == "bob"  # the form shows the filters
    assert page.locator("table.audit tbody tr").count() == 5
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    saved = Path(download.value.path())
    lines = saved.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("when,who,kind")
    assert len(lines) == 56


def test_a_tenant_is_created_edited_with_a_preview_reset_and_rolled_back(
    chromium: Browser, tenant_api: RunningApi
) -> None:
    from eventstore.tokens import TENANT_READ, TENANT_WRITE

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ops = token(tenant_api, "ops", READ, TENANT_READ, TENANT_WRITE)
    tab = new_page(chromium, 1366)
    tab.on("dialog", lambda dialog: dialog.accept())
    try:
        sign_in_at(tab, tenant_api, ops)
        tab.get_by_role("link", name="Tenants").click()
        tab.get_by_label("Slug (required)").fill("globex")
        tab.get_by_label("Display name").fill("Globex")
        tab.get_by_role("button", name="Create tenant").click()
        assert "Tenant created" in tab.locator("#flash").inner_text()

        tab.get_by_role("link", name="Edit OIDC overrides").click()
        access = tab.get_by_label("Access token", exact=False).first
        assert access.input_value() == ""  # inherited
        hint = tab.locator('.field[data-path="oidc.token_ttl.access_token"] .hint')
        assert "Platform value: 3600" in hint.inner_text()
        tab.locator("#t-oidc-token_ttl-access_token").fill("999999")
        tab.get_by_role("button", name="Preview changes…").click()
        row = tab.locator("table.adjustments tbody tr", has_text="oidc.token_ttl.access_token")
        assert "999999" in row.inner_text()
        assert "3600" in row.inner_text()
        tab.screenshot(path=str(ARTIFACTS / "admin-tenant-preview.png"), full_page=True)
        tab.get_by_label("Why (recorded with the version)").fill("shorter sessions")
        tab.get_by_role("button", name="Confirm and save").click()
        assert "adjusted 1 value" in tab.locator("#flash").inner_text()

        tab.get_by_role("link", name="Edit Branding overrides").click()
        tab.get_by_label("Company name", exact=True).fill("Globex Inc")
        tab.get_by_role("button", name="Preview changes…").click()
        assert tab.locator("#no-adjustments").is_visible()
        tab.get_by_role("button", name="Confirm and save").click()
        tab.get_by_role("link", name="Edit Branding overrides").click()
        assert tab.get_by_label("Company name", exact=True).input_value() == "Globex Inc"
        tab.screenshot(path=str(ARTIFACTS / "admin-tenant-editor.png"))
        tab.get_by_role("button", name="Reset Branding").click()  # confirmed by the dialog
        assert "inherited again" in tab.locator("#flash").inner_text()

        tab.get_by_role("link", name="History of the overrides").click()
        tab.get_by_role("link", name="Roll back to version 1.0.1").click()
        assert "Globex Inc" in tab.inner_text("ul.diff")
        tab.get_by_role("button", name="Roll back to 1.0.1").click()
        assert tab.locator("#reason-error").inner_text() == "A reason is required to roll back."
        tab.get_by_label("Why roll back (required)").fill("branding came back")
        tab.get_by_role("button", name="Roll back to 1.0.1").click()
        assert "version 1.0.3" in tab.locator("#flash").inner_text()
        tab.screenshot(path=str(ARTIFACTS / "admin-tenant-history.png"), full_page=True)
        tab.goto(f"{tenant_api.base_url}/admin/tenants/globex/sections/branding")
        assert tab.get_by_label("Company name", exact=True).input_value() == "Globex Inc"
        check_layout(tab, "tenant editor at 1366 px")
    finally:
        tab.context.close()
    narrow = new_page(chromium, 390)
    try:
        sign_in_at(narrow, tenant_api, ops)
        for path in ("/admin/tenants/globex", "/admin/tenants/globex/sections/security"):
            narrow.goto(f"{tenant_api.base_url}{path}")
            check_layout(narrow, f"{path} at 390 px")
        narrow.screenshot(path=str(ARTIFACTS / "admin-tenant-390.png"), full_page=True)
    finally:
        narrow.context.close()


def test_a_token_is_issued_once_and_revoked_in_the_browser(
    chromium: Browser, api: RunningApi
) -> None:
    from eventstore.tokens import TOKENS_ADMIN, WRITE

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab = new_page(chromium, 1366)
    tab.on("dialog", lambda dialog: dialog.accept())
    try:
        sign_in_at(tab, api, token(api, "keys", READ, TOKENS_ADMIN))
        tab.get_by_role("link", name="Tokens").click()
        assert tab.locator(f'input[value="{WRITE}"]').is_disabled()  # keys lacks it
        tab.get_by_label("Name (required)").fill("ci-bot")
        tab.locator(f'input[value="{READ}"]').check()
        tab.get_by_role("button", name="Issue token").click()
        value = tab.locator("#new-token")
        plaintext = value.input_value()
        assert plaintext.startswith("pkc_")
        assert tab.evaluate("document.activeElement.id") == "new-token"  # selected to copy
        tab.screenshot(path=str(ARTIFACTS / "admin-token-issued.png"))
        assert in_thread(lambda: api.client(plaintext).get("/config").status_code) == 200

        tab.get_by_role("link", name="Back to the tokens").click()
        assert plaintext not in tab.content()
        tab.get_by_role("button", name="Revoke ci-bot").click()  # confirmed by the dialog
        assert "ci-bot revoked" in tab.locator("#flash").inner_text()
        assert in_thread(lambda: api.client(plaintext).get("/config").status_code) == 401
        tab.screenshot(path=str(ARTIFACTS / "admin-tokens.png"), full_page=True)

        tab.goto(f"{api.base_url}/admin/settings/audit?kind=token&actor=keys")
        rows = tab.locator("table.audit tbody tr")
        assert rows.count() == 2
        assert "API token revoked" in rows.nth(0).inner_text()
        assert "API token created" in rows.nth(1).inner_text()
        assert plaintext not in tab.content()
    finally:
        tab.context.close()
