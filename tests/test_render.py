"""bot.render: every kind renders; highlights are bold; user and data text can never become HTML,
a link or a fake citation; the crisis block comes first; the refusal banner names SAMHSA and holds no
dose amount.

Markdown is checked by rendering it with markdown-it-py with raw HTML *enabled* (stricter than the
browser, where Gradio also sanitises): anything not escaped would show up as a tag here.
"""

from __future__ import annotations

import html
import re
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from bot import render
from bot.contract import make_reply, validate_reply
from bot.dosecheck import find_dose_content
from bot.normalize import MAX_QUESTION_CHARS
from bot.policy import default_config, load_resources

MD = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
MESSAGES = default_config().messages.model_dump()  # plain dicts: message, resources (refusal: reasons, topics)
RESOURCES = load_resources()

XSS = '<script>alert(1)</script><img src=x onerror="alert(2)">'
FAKE_LINK = "[official FDA dose](https://evil.example/x) ![i](https://evil.example/i.png) <https://evil.example>"


def to_html(markdown: str) -> str:
    return MD.render(markdown)


def visible(markdown: str) -> str:
    """The text a reader sees: rendered, tags dropped, entities decoded, whitespace collapsed."""
    text = re.sub(r"<[^>]+>", " ", to_html(markdown))
    return " ".join(html.unescape(text).split())


def resources(*ids: str) -> list[dict]:
    return [{"name": RESOURCES[i]["name"], "phone": RESOURCES[i].get("phone"), "url": RESOURCES[i].get("url")}
            for i in ids]


def canned(kind: str, key: str, **fields: str) -> dict:
    entry = MESSAGES[key]
    message = entry["message"].format(**fields) if fields else entry["message"]
    return make_reply("q", kind, message.strip(), resources=resources(*entry.get("resources", [])))


def citation(pid: str = "indiana-kratom-law", text: str | None = None, highlight: str | None = None,
             title: str = "Is kratom legal in Indiana?", as_of: str | None = "2025-08", **source) -> dict:
    text = text or ("No, according to the most recent report found. Indiana was one of seven U.S. states "
                    "prohibiting kratom. Laws change, so check Indiana's current law.")
    return {
        "passage_id": pid, "text": text,
        "highlight": highlight if highlight is not None else "Indiana was one of seven U.S. states prohibiting kratom.",
        "title": title, "evidence": "news report", "as_of": as_of, "score": 0.93,
        "sources": [{"publisher": source.get("publisher", "Stateline (States Newsroom)"),
                     "title": source.get("stitle", "Kratom faces increasing scrutiny"),
                     "url": source.get("url", "https://stateline.org/"),
                     "published": source.get("published", "2025-08")}],
    }


def answer(*citations: dict) -> dict:
    return make_reply("is kratom legal in indiana", "answer", "", list(citations or [citation()]))


SAFE_PASSAGE = citation(
    "why-no-standard-kratom-dose", title="Why is there no standard kratom dose?", as_of="2026-11",
    text="No kratom product is approved by the U.S. Food and Drug Administration, so there is no approved "
         "dose. Kratom products differ widely in strength.",
    highlight="Kratom products differ widely in strength.")


def refusal(reason: str = "amount") -> dict:
    reply = canned("refusal", "refusal", reason=MESSAGES["refusal"]["reasons"][reason])
    reply["citations"] = [SAFE_PASSAGE]
    return reply


ALL_REPLIES = {
    "answer": answer(),
    "refusal": refusal(),
    "crisis": canned("crisis", "crisis"),
    "off_topic": canned("off_topic", "off_topic"),
    "no_answer": canned("no_answer", "no_answer"),
    "empty": canned("no_answer", "empty"),
    "non_english": canned("no_answer", "non_english"),
    "no_answer_place": canned("no_answer", "no_answer_place", place="Indiana"),
    "too_long": canned("no_answer", "too_long", limit=f"{MAX_QUESTION_CHARS:,}"),
}


# --------------------------------------------------------------------------- every kind


@pytest.mark.parametrize("name", sorted(ALL_REPLIES))
def test_every_kind_renders_valid_reply_to_markdown_without_html(name):
    reply = ALL_REPLIES[name]
    validate_reply(reply)
    out = render.render_reply(reply)
    assert out.strip()
    rendered = to_html(out)
    assert not re.search(r"<(script|img|iframe|div|span|style|svg|form|input)\b", rendered)
    assert "\\" not in visible(out), "a Markdown escape leaked into the visible text"


def test_question_is_not_echoed():
    reply = answer()
    reply["question"] = "UNIQUE-QUESTION-TEXT-42"
    assert "UNIQUE" not in render.render_reply(reply)


def test_answer_card_has_title_grade_as_of_passage_and_source_link():
    out = render.render_reply(answer())
    rendered = to_html(out)
    text = visible(out)
    assert "Is kratom legal in Indiana?" in text
    assert "Evidence: news report" in text
    assert "as of Aug 2025" in text
    assert "Laws change, so check Indiana's current law." in text
    assert '<a href="https://stateline.org/">Kratom faces increasing scrutiny</a>' in rendered
    assert "Stateline (States Newsroom)" in text
    assert rendered.count("<blockquote>") == 1
    assert "not medical advice" in text
    assert "911" in text and "1-800-222-1222" in text and "988" in text  # the safety net under every answer


def test_highlight_sentence_is_bold_inside_the_passage():
    rendered = to_html(render.render_reply(answer()))
    assert "<strong>Indiana was one of seven U.S. states prohibiting kratom.</strong>" in rendered
    # the rest of the passage is there, not bold, in order
    assert re.search(r"report found\. <strong>Indiana.*kratom\.</strong> Laws change", rendered)


def test_highlight_with_punctuation_and_quotes_stays_bold():
    text = 'Intro here. "Kratom (Mitragyna speciosa)" is a tree_leaf* [sic]. Outro.'
    reply = answer(citation(text=text, highlight='"Kratom (Mitragyna speciosa)" is a tree_leaf* [sic].'))
    rendered = to_html(render.render_reply(reply))
    assert "<strong>&quot;Kratom (Mitragyna speciosa)&quot; is a tree_leaf* [sic].</strong>" in rendered


def test_highlight_missing_from_text_is_still_shown_and_whole_passage_kept():
    reply = answer(citation(highlight="A sentence that is not in the passage."))
    out = render.render_reply(reply)
    assert "<strong>A sentence that is not in the passage.</strong>" in to_html(out)
    assert "Laws change, so check Indiana's current law." in visible(out)


def test_at_most_three_cards_and_null_as_of_and_date_formats():
    cards = [citation(pid=f"p{i}", title=f"Title {i}", as_of=None, published=None) for i in range(5)]
    reply = make_reply("q", "answer", "", cards)
    validate_reply(reply)
    out = render.render_reply(reply)
    assert to_html(out).count("<blockquote>") == 3
    assert "Title 3" not in out and "as of" not in visible(out)
    assert "no date" in visible(out)
    assert render.format_date("2026-11-25") == "25 Nov 2026"
    assert render.format_date("2020") == "2020"
    assert render.format_date("2025-08") == "Aug 2025"


def test_answer_message_is_shown_first():
    reply = answer()
    reply["message"] = "A note shown before the passages."
    text = visible(render.render_reply(reply))
    assert text.startswith("A note shown before the passages.")
    assert text.index("A note") < text.index("Is kratom legal in Indiana?")


def test_too_long_notice_is_shown_first_with_911_poison_help_and_988():
    out = render.render_reply(ALL_REPLIES["too_long"])
    text = visible(out)
    assert text.startswith("Your message is longer than 20,000 characters")
    for number in ("911", "1-800-222-1222", "988"):
        assert number in text
    rendered = to_html(out)
    assert 'href="tel:911"' in rendered and 'href="tel:+18002221222"' in rendered and 'href="tel:988"' in rendered


# --------------------------------------------------------------------------- crisis and refusal


def test_crisis_block_comes_first_with_911_poison_help_and_988():
    out = render.render_reply(ALL_REPLIES["crisis"])
    rendered = to_html(out)
    assert rendered.startswith("<h2>"), "the emergency block must open the bot turn"
    first_block = rendered.split("<h2>")[1]
    assert "911" in first_block.split("</h2>")[0]
    text = visible(out)
    for number in ("911", "1-800-222-1222", "988"):
        assert number in text
        assert text.index(number) < text.index("SAMHSA") if number != "911" else True
    assert 'href="tel:911"' in rendered and 'href="tel:+18002221222"' in rendered and 'href="tel:988"' in rendered
    assert "not medical advice" not in text


def test_crisis_without_resources_still_lists_emergency_numbers():
    reply = ALL_REPLIES["crisis"] | {"resources": []}
    text = visible(render.render_reply(reply))
    assert "911" in text and "1-800-222-1222" in text and "988" in text


@pytest.mark.parametrize("reason", sorted(MESSAGES["refusal"]["reasons"]))
def test_refusal_banner_has_reason_samhsa_and_no_dose_amount(reason):
    out = render.render_reply(refusal(reason))
    rendered = to_html(out)
    assert rendered.startswith("<h3>"), "the refusal banner opens the bot turn"
    banner = out.split("#### What the research")[0]
    text = visible(banner)
    assert MESSAGES["refusal"]["reasons"][reason] in text
    assert "1-800-662-4357" in text
    assert 'href="tel:+18006624357"' in to_html(banner)
    assert "FindTreatment.gov" in text
    assert find_dose_content(text) == []
    assert find_dose_content(visible(out)) == [], "no dose amount anywhere in the refusal turn"
    # the safe passages come after the banner
    assert visible(out).index("1-800-662-4357") < visible(out).index("Why is there no standard kratom dose?")


@pytest.mark.parametrize("name", ["off_topic", "no_answer", "empty"])
def test_off_topic_and_no_answer_say_what_the_bot_covers(name):
    text = visible(render.render_reply(ALL_REPLIES[name]))
    assert "kratom" in text.lower()
    assert "opioid withdrawal" in text
    assert "Is kratom legal in Indiana?" in text
    assert len(text) < 1200


# --------------------------------------------------------------------------- escaping


@pytest.mark.parametrize("field", ["text", "title", "highlight", "publisher", "stitle", "evidence"])
def test_html_and_markdown_in_data_are_shown_as_text(field):
    payload = f"{XSS} {FAKE_LINK} **x** # h"
    if field in ("publisher", "stitle"):
        cite = citation(**{field: payload})
    elif field == "highlight":
        cite = citation(text=f"Before. {payload} After.", highlight=payload)
    elif field == "evidence":
        cite = citation() | {"evidence": payload}
    else:
        cite = citation(**{field: payload}) if field != "text" else citation(text=f"Before. {payload}", highlight="Before.")
    out = render.render_reply(answer(cite))
    rendered = to_html(out)
    assert "<script" not in rendered and "<img" not in rendered
    assert 'href="https://evil.example' not in rendered
    assert "<script>alert(1)</script>" in visible(out)
    assert "[official FDA dose](https://evil.example/x)" in visible(out)


def test_user_turn_is_escaped_and_capped():
    payload = f"{XSS}\n{FAKE_LINK}\n# Heading\n> quote\n1. list\n---\n| a | b |\n|---|---|\nwww.evil.example a@b.example"
    out = render.render_user_turn(payload)
    rendered = to_html(out)
    assert not re.search(r"<(script|img|a|h1|blockquote|ol|ul|hr|table|strong|em)\b", rendered)
    assert "<script>alert(1)</script>" in visible(out)
    long = render.render_user_turn("k" * 5000)
    assert len(long) < 1100 and long.endswith("…")
    assert render.render_user_turn("   ") == "(empty message)"


def test_message_keeps_emphasis_but_not_html_or_links():
    reply = canned("off_topic", "off_topic") | {"resources": []}  # the message alone, without resource links
    reply["message"] = f"**bold** {XSS} [link](https://evil.example) ![img](https://evil.example/i.png)"
    rendered = to_html(render.render_reply(reply))
    assert "<strong>bold</strong>" in rendered
    assert "<script" not in rendered and "<a " not in rendered.split("Try, for example")[0] and "<img" not in rendered


def test_only_http_urls_become_links():
    bad = citation(url="javascript:alert(1)")
    rendered = to_html(render.render_reply(answer(bad)))
    assert "javascript:" not in re.findall(r'href="([^"]*)"', rendered).__str__()
    assert render.safe_url("https://example.org/a b") is None
    assert render.safe_url("https://example.org/x_(y)") == "https://example.org/x_%28y%29"
    assert render.safe_url("ftp://example.org") is None and render.safe_url(None) is None


_CHUNKS = st.sampled_from(list("<>&\\`*_[](){}#+-.!|~:@$=\n \"'") + ["http://", "www.", "&lt;", "<script>", "**", "    ", "1. ", "- "])
_PIECES = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=6) | _CHUNKS


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=20).map("".join))
def test_escaped_text_renders_exactly_as_typed_and_never_as_markup(text):
    rendered = to_html(render.escape_text(text))
    assert not re.search(r"<(?!/?p>|br ?/?>)[a-z]", rendered), rendered
    expected = " ".join(text.split())
    assert " ".join(html.unescape(re.sub(r"<[^>]+>", " ", rendered)).split()) == expected


# --------------------------------------------------------------------------- page texts


def test_notice_says_not_medical_advice_and_oldest_review_date():
    passages = [SimpleNamespace(topic="state-law", reviewed="2026-11-25"),
                SimpleNamespace(topic="liver", reviewed="2026-10-02"),
                SimpleNamespace(topic="new-topic", reviewed="2026-11-01")]
    summary = render.corpus_summary(passages, sources=7)
    assert summary["reviewed"] == "2026-10-02" and summary["passages"] == 3
    text = visible(render.render_notice(summary))
    assert "Information, not medical advice." in text
    assert "2 Oct 2026" in text and "3 passages from 7 sources" in text
    assert "US states" in text and "liver" in text and "new topic" in text


def test_resources_panel_lists_every_resource_with_phone_links():
    out = render.render_resources_panel(RESOURCES.values())
    rendered, text = to_html(out), visible(out)
    for resource in RESOURCES.values():
        assert resource["name"] in text
        if resource.get("phone"):
            assert resource["phone"] in text
    assert 'href="tel:+18006624357"' in rendered and 'href="https://findtreatment.gov"' in rendered


def test_welcome_mentions_no_dosing_advice_and_emergency_numbers():
    text = visible(render.render_welcome())
    assert "No dosing" in text and "911" in text and "1-800-222-1222" in text and "988" in text
