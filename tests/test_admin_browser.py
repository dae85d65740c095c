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
