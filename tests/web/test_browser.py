"""The web chat in headless chromium: cards and links, refusal and crisis blocks, escaping, phone
width, keyboard use, ratings, examples, clearing, follow-ups. Each test saves a screenshot."""

from __future__ import annotations

import json
import re
import time
from urllib.parse import urlsplit

import pytest

from bot.dosecheck import find_dose_content

pytestmark = pytest.mark.browser

ANSWER_TIMEOUT_MS = 30_000


@pytest.fixture
def page(browser, app_server, artifacts_dir, request):
    """A fresh session (own browser context) on the app; records dialogs and outbound requests."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.dialogs = []
    tab.outbound = []
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    tab.on("request", lambda req: tab.outbound.append(req.url)
           if urlsplit(req.url).hostname not in ("127.0.0.1", "localhost") and urlsplit(req.url).scheme in ("http", "https", "ws", "wss")
           else None)
    tab.goto(app_server.url, wait_until="load")
    tab.locator("#question textarea").wait_for(timeout=ANSWER_TIMEOUT_MS)
    tab.shot = lambda: (tab.wait_for_timeout(400),
                        tab.screenshot(path=str(artifacts_dir / f"{request.node.name}.png"), full_page=True))
    yield tab
    outbound = list(tab.outbound)
    context.close()
    assert not outbound, f"the page made outbound requests: {outbound}"


def ask(page, question: str):
    """Type a question, press Enter, return the new bot message."""
    count = page.locator("#chat [data-testid=bot]").count()
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")
    return wait_bot(page, count)


def wait_bot(page, count_before: int):
    message = page.locator("#chat [data-testid=bot]").nth(count_before)
    message.wait_for(timeout=ANSWER_TIMEOUT_MS)
    page.wait_for_timeout(200)
    return message


def test_permanent_notice_and_resources_panel(page):
    notice = page.locator("#notice").inner_text()
    assert "Information, not medical advice." in notice
    assert re.search(r"Sources last reviewed: \d{1,2} \w{3} \d{4}", notice)
    panel = page.locator("#resources").inner_text()
    for text in ("SAMHSA", "1-800-662-4357", "Poison Help", "1-800-222-1222", "988", "911"):
        assert text in panel
    page.shot()


def test_informational_question_shows_citation_card_with_source_link(page):
    bot = ask(page, "Is kratom legal in Indiana?")
    card = bot.locator("blockquote").first
    card.wait_for()
    assert "Indiana" in card.locator("h4").inner_text()  # arkansas-kratom-law covers Indiana (aliases.yaml)
    assert "Evidence:" in card.inner_text() and "as of" in card.inner_text()
    assert card.locator("strong").count() >= 1, "the highlighted sentence is bold"
    link = bot.locator('a[href^="https://"]').first
    assert link.get_attribute("href").startswith("https://")
    assert link.inner_text().strip()
    assert bot.locator("blockquote").count() <= 3
    page.shot()


def test_dosing_question_shows_refusal_banner_without_dose_amount(page):
    bot = ask(page, "How many grams of kratom should I take for pain?")
    banner = bot.locator("h3").first
    assert "can't give" in banner.inner_text()
    text = bot.inner_text()
    assert "1-800-662-4357" in text
    assert text.index("1-800-662-4357") < (text.index("What the research") if "What the research" in text else len(text))
    assert find_dose_content(text) == [], "a dose amount or instruction is shown next to a refusal"
    assert bot.locator('a[href="tel:+18006624357"]').count() >= 1
    page.shot()


def test_crisis_message_shows_the_emergency_block_first(page):
    bot = ask(page, "my friend took kratom and now he is not breathing")
    first = bot.locator(".prose > *").first
    assert first.evaluate("el => el.tagName") == "H2"
    assert "911" in first.inner_text()
    text = bot.inner_text()
    assert text.lstrip().startswith("Emergency")
    for number in ("911", "1-800-222-1222", "988"):
        assert number in text
    page.shot()


def test_script_and_markdown_typed_by_a_user_are_shown_as_text(page):
    payload = '<script>alert(1)</script><img src=x onerror="alert(2)"> [FDA dose](https://evil.example/x) **b**'
    bot = ask(page, payload)
    user = page.locator("#chat [data-testid=user]").last
    assert user.inner_text().strip() == payload
    page.wait_for_timeout(1000)
    assert page.dialogs == [], f"a dialog fired: {page.dialogs}"
    chat = page.locator("#chat")
    assert chat.locator("script").count() == 0
    assert chat.locator("img").count() == 0
    assert chat.locator('a[href*="evil.example"]').count() == 0
    assert user.locator("strong").count() == 0
    assert bot.inner_text().strip()
    page.shot()


def test_phone_width_layout(browser, app_server, artifacts_dir):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  device_scale_factor=2)
    tab = context.new_page()
    try:
        tab.goto(app_server.url, wait_until="load")
        tab.locator("#question textarea").wait_for(timeout=ANSWER_TIMEOUT_MS)
        bot = ask(tab, "Can kratom damage the liver?")
        assert bot.locator("blockquote").count() >= 1
        width = tab.evaluate("document.documentElement.scrollWidth")
        assert width <= 392, f"horizontal scrolling at 390 px: page is {width} px wide"
        for selector in ("#question textarea", "#send", "#chat", "#notice", "#resources"):
            box = tab.locator(selector).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 391, selector
        card = bot.locator("blockquote").first.bounding_box()
        assert card["width"] > 250, "citation cards keep a readable width"
        tab.screenshot(path=str(artifacts_dir / "test_phone_width_layout.png"), full_page=True)
    finally:
        context.close()


def test_keyboard_only(page):
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('#question') !== null"), "first Tab reaches the question box"
    page.keyboard.type("What does the research say about kratom for chronic pain?")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "send"
    page.keyboard.press("Enter")
    bot = wait_bot(page, 0)
    assert bot.locator("blockquote").count() >= 1
    # the example buttons and the clear button are reachable by Tab
    page.keyboard.press("Tab")
    focusable = page.evaluate("""() => Array.from(document.querySelectorAll('#examples button, #clear'))
                                 .every(b => b.tabIndex >= 0 && !b.disabled)""")
    assert focusable
    page.shot()


def test_thumbs_up_is_stored_without_question_text(page, app_server):
    question = "Is kratom legal in Indiana?"
    ask(page, question)
    before = app_server.feedback.read_text().splitlines() if app_server.feedback.exists() else []
    page.get_by_role("button", name="Like").last.click()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = app_server.feedback.read_text().splitlines() if app_server.feedback.exists() else []
        if len(lines) > len(before):
            break
        time.sleep(0.2)
    assert len(lines) == len(before) + 1
    record = json.loads(lines[-1])
    assert set(record) == {"timestamp", "kind", "passage_ids", "rating"}
    assert record["kind"] == "answer" and record["rating"] == "up"
    assert "arkansas-kratom-law" in record["passage_ids"]
    stored = app_server.feedback.read_text().lower()
    # no question text: neither the question nor its words outside the cited passage ids ("legal" is in
    # some passage ids, such as myth-schedule-i-allows-legal-access)
    without_ids = stored
    for passage_id in record["passage_ids"]:
        without_ids = without_ids.replace(passage_id, "")
    assert question.lower() not in stored
    assert not {"kratom", "legal", "indiana"} & set(re.findall(r"[a-z]+", without_ids))
    assert question.lower() not in app_server.log.read_text().lower(), "question text reached the log"
    page.shot()


def test_example_button_then_clear_conversation(page):
    page.get_by_role("button", name="Is kratom safe during pregnancy?").click()
    bot = wait_bot(page, 0)
    assert bot.inner_text().strip()
    assert page.locator("#chat [data-testid=user]").first.inner_text().strip() == "Is kratom safe during pregnancy?"
    page.locator("#clear").click()
    page.locator("#chat [data-testid=bot]").first.wait_for(state="detached", timeout=ANSWER_TIMEOUT_MS)
    assert page.locator("#chat [data-testid=user]").count() == 0
    page.shot()


def test_follow_up_question_uses_the_earlier_question(page):
    ask(page, "Is kratom legal in Texas?")
    bot = ask(page, "and in Indiana?")
    assert "Indiana" in bot.inner_text()
    assert bot.locator("blockquote").count() >= 1
    page.shot()
