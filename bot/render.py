"""Render an answer-contract object (and the page's fixed texts) as safe Markdown for the web chat.

Pure functions, no Gradio: `render_reply` is the one place a reply becomes what the user reads.
Everything that comes from the user or from data (question, passage text, titles, publishers,
resource names) goes through `escape_text`, so typed HTML or JavaScript is shown as text and
Markdown in a question cannot fake a link, a citation or a heading. Only the reply's `message`
(written by the project in `messages.yaml`) keeps its emphasis; even there HTML, links and images
are neutralised. URLs become links only when they are plain http(s) addresses.
"""

from __future__ import annotations

import re
from typing import Iterable, Mapping, Sequence
from urllib.parse import quote, urlsplit

MAX_CARDS = 3
MAX_SHOWN_QUESTION_CHARS = 1000

EXAMPLE_QUESTIONS = (
    "Is kratom legal in Indiana?",
    "What does the research say about kratom for chronic pain?",
    "Can kratom damage the liver?",
    "What is 7-OH and why are regulators worried about it?",
    "What treatments are approved for opioid use disorder?",
    "Is kratom safe during pregnancy?",
)

COVERAGE = (
    "questions about **kratom** (Mitragyna speciosa) and 7-OH: what the research says on chronic "
    "pain and opioid withdrawal, safety risks, approved treatments for opioid use disorder, where "
    "to get help, and the law in the US and abroad"
)

# Under every answer and refusal. The emergency numbers are a safety net: a crisis the policy misreads as a
# question (issue 9: chest pain after kratom with a stimulant was answered) still shows them.
NOT_ADVICE = ("Information from cited sources, not medical advice. In an emergency call 911; Poison Help "
              "1-800-222-1222; call or text 988 in a crisis.")

# Shown in a crisis reply only if the reply carries no resources at all (defence in depth).
_EMERGENCY_FALLBACK = (
    {"name": "Emergency services (911)", "phone": "911", "url": None},
    {"name": "Poison Help", "phone": "1-800-222-1222", "url": "https://poisonhelp.hrsa.gov"},
    {"name": "988 Suicide & Crisis Lifeline", "phone": "988", "url": "https://988lifeline.org"},
)

# How the notice groups the corpus topics (topic id → label); unknown topics are listed as "other".
TOPIC_GROUPS = (
    ("basics", {"about": "what kratom is", "products": "products", "seven-oh-products": "7-OH products",
                "pharmacology": "how it acts in the body"}),
    ("safety", {"adverse-effects": "side effects", "liver": "liver", "seizures": "seizures",
                "deaths": "deaths", "contamination": "contamination", "interactions": "drug interactions",
                "pregnancy": "pregnancy", "dependence": "dependence and withdrawal",
                "poison-centers": "poison-centre data"}),
    ("research", {"chronic-pain": "chronic pain", "opioid-withdrawal": "opioid withdrawal",
                  "evidence-quality": "quality of the evidence", "myths": "common claims checked"}),
    ("treatment and help", {"approved-treatments": "approved treatments for opioid use disorder",
                            "help": "where to get help"}),
    ("the law", {"federal-law": "US federal", "seven-oh-federal": "7-OH rules", "state-law": "US states",
                 "international": "other countries"}),
)

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# Every ASCII punctuation character that can start Markdown syntax (CommonMark + GFM: emphasis,
# links, images, code, headings, lists, tables, strikethrough, autolinks, footnotes, maths).
_MD_SPECIAL_RE = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:@$=])")
_HTML_RE = re.compile(r"[&<>]")
_HTML_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


# --------------------------------------------------------------------------- escaping


def escape_text(value: object) -> str:
    """Return `value` as Markdown that displays exactly as typed: no HTML, no Markdown syntax.

    HTML's `& < >` become entities and every Markdown punctuation character is backslash-escaped;
    each line is escaped on its own and leading spaces are kept from forming code blocks.
    """
    text = "" if value is None else str(value)
    lines = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = _HTML_RE.sub(lambda m: _HTML_ENTITIES[m.group(0)], line)
        line = _MD_SPECIAL_RE.sub(r"\\\1", line)
        lines.append(line.strip())
    return "\n".join(lines)


def safe_message(message: object) -> str:
    """Return the reply's own Markdown message with HTML, links, images and code neutralised.

    Emphasis (`*`, `_`) is kept: the message is the project's text from `messages.yaml`.
    """
    text = "" if message is None else str(message)
    text = _HTML_RE.sub(lambda m: _HTML_ENTITIES[m.group(0)], text)
    return re.sub(r"([\\`\[\]()!|~$#])", r"\\\1", text).strip()


def safe_url(url: object) -> str | None:
    """Return a percent-encoded http(s) URL safe inside a Markdown link, or None."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or re.search(r"\s", url):
        return None
    return quote(url, safe=":/?#@!$&*+,;=%-._~")


def _link(label: str, url: object) -> str:
    """A Markdown link with an escaped label, or just the escaped label if the URL is unusable."""
    target = safe_url(url)
    return f"[{escape_text(label)}]({target})" if target else escape_text(label)


def _phone_link(phone: object) -> str:
    digits = re.sub(r"\D", "", str(phone or ""))
    if not digits:
        return ""
    if len(digits) == 10:
        target = f"+1{digits}"
    elif len(digits) == 11 and digits.startswith("1"):
        target = f"+{digits}"
    else:
        target = digits
    return f"[{escape_text(phone)}](tel:{target})"


def _host(url: object) -> str:
    try:
        host = urlsplit(str(url)).hostname or ""
    except ValueError:
        return ""
    return host[4:] if host.startswith("www.") else host


def format_date(value: object) -> str:
    """`2025-08` → `Aug 2025`, `2026-11-25` → `25 Nov 2026`, `2020` → `2020` (escaped)."""
    text = str(value or "").strip()
    match = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", text)
    if not match:
        return escape_text(text)
    year, month, day = match.groups()
    if month and 1 <= int(month) <= 12:
        name = _MONTHS[int(month) - 1]
        return f"{int(day)} {name} {year}" if day else f"{name} {year}"
    return year


# --------------------------------------------------------------------------- pieces


def render_user_turn(question: object) -> str:
    """The user's own message as shown in the chat: escaped, capped at the length that is read."""
    text = "" if question is None else str(question)
    if len(text) > MAX_SHOWN_QUESTION_CHARS:
        text = text[:MAX_SHOWN_QUESTION_CHARS] + " …"
    return escape_text(text) or "(empty message)"


def _passage_with_highlight(text: str, highlight: str) -> str:
    """The passage, escaped, with the highlight sentence in bold."""
    highlight = (highlight or "").strip()
    if highlight and highlight in text:
        start = text.index(highlight)
        before, after = text[:start], text[start + len(highlight):]
        parts = [escape_text(before).rstrip(), f"**{escape_text(highlight)}**", escape_text(after).lstrip()]
        return " ".join(p for p in parts if p)
    if highlight:
        return f"**{escape_text(highlight)}**\n>\n> {escape_text(text)}"
    return escape_text(text)


def render_citation(citation: Mapping, number: int) -> str:
    """One citation card: a blockquote with title, grade, as-of date, passage and sources."""
    title = escape_text(citation.get("title") or "Passage")
    meta = [f"Evidence: {escape_text(citation.get('evidence') or 'not graded')}"]
    if citation.get("as_of"):
        meta.append(f"as of {format_date(citation['as_of'])}")
    text = " ".join(str(citation.get("text") or "").split())
    body = _passage_with_highlight(text, str(citation.get("highlight") or ""))
    lines = [f"> #### {number}\\. {title}", f"> *{' · '.join(meta)}*", ">", f"> {body}", ">", "> Sources:"]
    for source in citation.get("sources") or []:
        published = source.get("published")
        when = format_date(published) if published else "no date"
        lines.append(f"> - {_link(source.get('title') or source.get('url') or 'source', source.get('url'))}"
                     f" — {escape_text(source.get('publisher') or '')}, {when}")
    return "\n".join(lines)


def render_resources(resources: Sequence[Mapping]) -> str:
    """A bullet list of help resources: name, phone (a tel: link) and web address."""
    lines = []
    for resource in resources:
        parts = [f"**{escape_text(resource.get('name') or '')}**"]
        phone = _phone_link(resource.get("phone"))
        if phone:
            parts.append(f"call {phone}")
        url = resource.get("url")
        if safe_url(url):
            parts.append(_link(_host(url) or str(url), url))
        lines.append("- " + " · ".join(parts))
    return "\n".join(lines)


def _examples_line() -> str:
    quoted = " · ".join(f"“{escape_text(q)}”" for q in EXAMPLE_QUESTIONS[:3])
    return f"Try, for example: {quoted}"


# --------------------------------------------------------------------------- the reply


def render_reply(reply: Mapping) -> str:
    """Render one answer-contract object as the Markdown of one bot turn.

    - crisis: the emergency block (911, Poison Help, 988 …) comes first, before anything else;
    - refusal: a banner with the reason and the professional resources, then the safe passages;
    - answer: up to three citation cards (highlight in bold, grade, as-of date, source links);
    - off_topic / no_answer: the short message and what the bot covers.

    The question is never echoed. The result contains no HTML.
    """
    kind = reply.get("kind")
    message = safe_message(reply.get("message"))
    citations = list(reply.get("citations") or [])[:MAX_CARDS]
    resources = list(reply.get("resources") or [])
    cards = "\n\n".join(render_citation(c, n) for n, c in enumerate(citations, start=1))
    blocks: list[str] = []

    if kind == "crisis":
        blocks.append("## Emergency? Call 911 now")
        blocks.append(message)
        blocks.append(render_resources(resources or _EMERGENCY_FALLBACK))
        if cards:
            blocks.append(cards)
    elif kind == "refusal":
        blocks.append("### I can't give personal dosing or treatment advice")
        blocks.append(message)
        if resources:
            blocks.append("**Who can help with your own situation:**\n\n" + render_resources(resources))
        if cards:
            blocks.append("#### What the research and regulators say\n\n" + cards)
    elif kind == "answer":
        if message:
            blocks.append(message)
        count = len(citations)
        blocks.append(f"**From the vetted sources** ({count} passage{'s' if count != 1 else ''}, quoted word "
                      "for word; the sentence closest to your question is in bold):")
        blocks.append(cards)
        if resources:
            blocks.append(render_resources(resources))
    else:  # off_topic, no_answer, or anything unknown: say what the bot covers
        blocks.append(message or "I don't have a vetted passage that answers this.")
        if resources:
            blocks.append(render_resources(resources))
        if kind != "off_topic" or "kratom" not in message.lower():
            blocks.append(f"**What I cover:** {COVERAGE}.")
        blocks.append(_examples_line())
    if kind in ("answer", "refusal"):
        blocks.append(f"*{NOT_ADVICE}*")
    return "\n\n".join(b for b in blocks if b and b.strip())


# --------------------------------------------------------------------------- page texts


def corpus_summary(passages: Iterable, sources: int | None = None) -> dict:
    """Passage count, topics (in order of first appearance) and the oldest `reviewed` date."""
    rows = list(passages)
    topics: list[str] = []
    for passage in rows:
        if passage.topic not in topics:
            topics.append(passage.topic)
    reviewed = sorted(str(p.reviewed) for p in rows if getattr(p, "reviewed", None))
    return {"passages": len(rows), "sources": sources, "topics": topics,
            "reviewed": reviewed[0] if reviewed else None}


def describe_topics(topics: Sequence[str]) -> str:
    """Group corpus topics for the notice: `basics (what kratom is, products); safety (…); …`."""
    present = set(topics)
    known: set[str] = set()
    parts = []
    for group, labels in TOPIC_GROUPS:
        known.update(labels)
        shown = [label for topic, label in labels.items() if topic in present]
        if shown:
            parts.append(f"**{group}** ({', '.join(shown)})")
    other = [t.replace("-", " ") for t in topics if t not in known]
    if other:
        parts.append(f"**other** ({escape_text(', '.join(other))})")
    return "; ".join(parts)


def render_notice(summary: Mapping) -> str:
    """The permanent notice: not medical advice; what the corpus covers and when it was reviewed."""
    covers = describe_topics(summary.get("topics") or [])
    sources = f" from {summary['sources']} sources" if summary.get("sources") else ""
    reviewed = format_date(summary["reviewed"]) if summary.get("reviewed") else "unknown"
    return (
        "**Information, not medical advice.** Each answer is a passage quoted word for word from a vetted "
        f"set of {summary.get('passages', 0)} passages{sources}, with its evidence grade and links to the "
        "original publications. It never says how much kratom to take: for your own health, ask a doctor "
        "or pharmacist.\n\n"
        f"**Covers:** {covers}.\n\n"
        f"**Sources last reviewed:** {reviewed}. Laws and evidence change: check the linked source."
    )


def render_welcome() -> str:
    """What the empty chat shows before the first question."""
    return (
        "### Ask a question about kratom\n\n"
        "The law in your state, safety risks, what research says about pain or opioid withdrawal, "
        "approved treatments, or where to get help.\n\n"
        "- Answers are quoted word for word from vetted sources, with links to the originals.\n"
        "- No dosing or personal medical advice: for your own situation, ask a doctor or pharmacist.\n"
        "- In an emergency call **911**. Poison Help: **1-800-222-1222**. Crisis line: call or text **988**."
    )


def render_resources_panel(resources: Iterable[Mapping]) -> str:
    """The side panel of help resources (from `resources.yaml`), with their descriptions."""
    blocks = []
    for resource in resources:
        head = [f"**{escape_text(resource.get('name') or '')}**"]
        phone = _phone_link(resource.get("phone"))
        if phone:
            head.append(phone)
        if safe_url(resource.get("url")):
            head.append(_link(_host(resource["url"]) or resource["url"], resource["url"]))
        blocks.append(" · ".join(head) + "  \n" + escape_text(" ".join(str(resource.get("description") or "").split())))
    return "\n\n".join(blocks)
