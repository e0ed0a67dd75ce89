"""The privacy notice: complete, deterministic, traceable to the manifest, and safe to publish."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from privet.manifest.model import KEYED_SECTIONS, Manifest
from privet.reports.notice import notice_document, render_notice
from privet.reports.templating import Para, md_escape
from privet.workspace.manifest_files import load_manifest
from tests.conftest import MINIMAL, REPO

ANKER = REPO / "examples" / "anker"
MakeManifest = Callable[[Callable[[dict[str, Any]], None] | None], Path]
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


class Page(HTMLParser):
    """Checks well-formedness and collects what the tests look at: headings, rows and marks by data-source."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.headings: list[int] = []
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text_by_source: dict[str, str] = {}  # all text of the elements carrying each data-source
        self.rows: list[tuple[str, str, str]] = []  # (table caption, data-source, text) of each table row
        self._caption = ""
        self._open_sources: list[tuple[str, str, int]] = []  # (source, tag, depth) of open elements
        self._text: dict[int, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        self.tags.append((tag, attributes))
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag in VOID:
            return
        self.stack.append(tag)
        if "data-source" in attributes:
            self._open_sources.append((attributes["data-source"], tag, len(self.stack)))
            self._text[len(self.stack)] = []

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}>")
            return
        depth = len(self.stack)
        if self._open_sources and self._open_sources[-1][2] == depth:
            source, _, _ = self._open_sources.pop()
            text = " ".join("".join(self._text.pop(depth)).split())
            self.text_by_source[source] = self.text_by_source.get(source, "") + text
            if tag == "tr":
                self.rows.append((self._caption, source, text))
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] == "caption":
            self._caption = data
        for depth in self._text:
            self._text[depth].append(data)

    def close(self) -> None:
        super().close()
        if self.stack:
            self.problems.append(f"unclosed: {self.stack}")


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


@pytest.fixture(scope="module")
def minimal() -> Manifest:
    return load_manifest(MINIMAL).manifest


def manifests() -> list[Any]:
    anker = pytest.param(ANKER, id="anker", marks=pytest.mark.skipif(not ANKER.is_dir(), reason="no examples/anker"))
    return [pytest.param(MINIMAL, id="minimal"), anker]


@pytest.fixture(scope="module", params=manifests())
def manifest(request: pytest.FixtureRequest) -> Manifest:
    return load_manifest(request.param).manifest


ANNEX = "Details of processing (Annex I): activities, personal data, purposes and legal bases"


def annex_row(md: str, activity: str) -> str:
    """The Markdown row of the Annex I table for an activity."""
    table = md.split(f"**{md_escape(ANNEX)}**", 1)[1].split("\n\n", 2)[1]
    escaped = str(md_escape(f"activities.{activity}"))
    rows = [line for line in table.splitlines() if re.search(rf"\(source: {re.escape(escaped)}[;)]", line)]
    assert len(rows) == 1, f"expected one Annex I row for {activity}, got {len(rows)}"
    return rows[0]


def annex_html_row(page: Page, activity: str) -> str:
    rows = [text for caption, source, text in page.rows if caption == ANNEX and source == f"activities.{activity}"]
    assert len(rows) == 1, f"expected one Annex I row for {activity}, got {len(rows)}"
    return rows[0]


# --- on every manifest -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["html", "md"])
def test_rendering_is_deterministic(manifest: Manifest, fmt: Any) -> None:
    assert render_notice(manifest, fmt) == render_notice(manifest, fmt)


def test_rendering_does_not_depend_on_loading() -> None:
    first = render_notice(load_manifest(MINIMAL).manifest, "html")
    assert render_notice(load_manifest(MINIMAL).manifest, "html") == first


def test_html_is_a_well_formed_accessible_page(manifest: Manifest) -> None:
    html = render_notice(manifest, "html")
    page = parse(html)
    assert page.problems == []
    assert html.startswith('<!DOCTYPE html>\n<html lang="en">')
    assert page.headings[0] == 1 and page.headings.count(1) == 1
    assert all(b - a <= 1 for a, b in zip(page.headings, page.headings[1:], strict=False)), "a heading level skipped"
    assert all(attrs.get("scope") in {"col", "row"} for tag, attrs in page.tags if tag == "th")
    assert not [t for t, _ in page.tags if t in {"script", "link", "iframe", "img"}]
    assert not [a for _, a in page.tags if "src" in a or any(k.startswith("on") for k in a)]
    ids = [a["id"] for _, a in page.tags if "id" in a]
    assert len(ids) == len(set(ids))
    anchors = {a["href"][1:] for t, a in page.tags if t == "a" and a.get("href", "").startswith("#")}
    assert anchors <= set(ids)


def test_every_activity_appears_with_its_basis_and_citation(manifest: Manifest) -> None:
    html = parse(render_notice(manifest, "html"))
    md = render_notice(manifest, "md")
    bases = manifest.taxonomy.legal_bases
    assert manifest.activities
    for key, act in manifest.activities.items():
        row = annex_html_row(html, key)
        assert act.title in row
        for claim in act.bases:
            assert bases[claim.basis].name in row
            assert str(md_escape(bases[claim.basis].name)) in annex_row(md, key)
        if act.cite:
            assert f"[{act.cite}]" in row
            assert f"cite: {md_escape(act.cite)}" in annex_row(md, key)


def test_sections_come_in_the_order_of_a_notice(manifest: Manifest) -> None:
    order = [s.id for s in notice_document(manifest).sections]
    expected = ["controllers", "sources", "collection", "purposes", "recipients", "transfers", "retention",
                "security", "rights", "marketing", "cookies", "us_states", "sensitive", "minors", "deidentified",
                "automated", "incentives", "other", "changes"]  # fmt: skip
    assert order == [s for s in expected if s in order]
    assert {"controllers", "purposes", "recipients", "retention", "rights"} <= set(order)


# --- on the minimal manifest and edited copies of it ---------------------------------------------------------------


def test_annex_row_states_basis_per_jurisdiction_and_consent(minimal: Manifest) -> None:
    row = annex_html_row(parse(render_notice(minimal, "html")), "newsletter")
    # A legal basis is what the GDPR asks for: California (US) is not named as needing one.
    assert "European Union and EEA: Consent (GDPR Art. 6(1)(a))" in row
    assert "California" not in row
    assert "Email address" in row and "Marketing emails" in row


def test_citations_are_visible(make_manifest: MakeManifest) -> None:
    def cite(data: dict[str, Any]) -> None:
        data["activities"]["newsletter"]["cite"] = "Annex I, row 12"
        data["retention"]["relationship"]["cite"] = "Section 8"

    m = load_manifest(make_manifest(cite)).manifest
    html = render_notice(m, "html")
    assert (
        '<tr data-source="activities.newsletter"><th scope="row">Newsletter <small class="cite">[Annex I, row 12]'
        in html
    )
    assert "[Section 8]" in parse(html).text_by_source["retention.relationship"]
    md = render_notice(m, "md")
    assert "(source: activities.newsletter; cite: Annex I, row 12) |" in annex_row(md, "newsletter")


def test_inferred_entries_are_marked(make_manifest: MakeManifest, minimal: Manifest) -> None:
    def infer(data: dict[str, Any]) -> None:
        data["activities"]["newsletter"]["inferred"] = True
        data["recipients"]["mailer"]["inferred"] = True
        data["retention"]["relationship"]["limitation_periods"][0]["inferred"] = True

    m = load_manifest(make_manifest(infer)).manifest
    html = render_notice(m, "html")
    assert '<tr data-source="activities.newsletter" class="inferred" data-inferred="true">' in html
    assert '<tr data-source="activities.accounts">' in html  # not inferred, not marked
    assert '<li data-source="recipients.mailer" class="inferred" data-inferred="true">' in html
    page = parse(html)
    assert "inferred" in annex_html_row(page, "newsletter")
    assert "inferred" not in annex_html_row(page, "accounts")
    md = render_notice(m, "md")
    assert annex_row(md, "newsletter").endswith(
        "(source: activities.newsletter; **inferred**: not in the original notice) |"
    )
    assert "**inferred**" not in annex_row(md, "accounts")
    assert "- 3 years: where no other period applies (**inferred**: not in the original notice)" in md
    assert "**inferred**" not in render_notice(minimal, "md")


def test_manifest_text_is_escaped(make_manifest: MakeManifest) -> None:
    def hostile(data: dict[str, Any]) -> None:
        data["activities"]["newsletter"]["description"] = XSS
        data["recipients"]["mailer"]["name"] = "Mailer <b>bold</b> & co | *x*"
        data["statements"] = {"deid": {"name": "De-identified data", "text": XSS, "section": "de-identified data"}}

    m = load_manifest(make_manifest(hostile)).manifest
    html = render_notice(m, "html")
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "Mailer &lt;b&gt;bold&lt;/b&gt; &amp; co" in html
    assert parse(html).problems == []
    md = render_notice(m, "md")
    assert re.search(r"(?<!\\)<(script|img|b>)", md) is None
    assert '\\<script>alert("x")\\</script>' in md
    assert "Mailer \\<b>bold\\</b> & co \\| \\*x\\*" in md


def test_unsafe_links_are_not_linked(make_manifest: MakeManifest) -> None:
    def channels(data: dict[str, Any]) -> None:
        data["contact_channels"] = {
            "evil": {"kind": "web", "address": "javascript:alert(1)"},
            "form": {"kind": "web", "address": "https://example.test/privacy?a=1&b=2"},
        }

    html = render_notice(load_manifest(make_manifest(channels)).manifest, "html")
    assert 'href="javascript' not in html and "javascript:alert(1)" in html
    assert '<a href="https://example.test/privacy?a=1&amp;b=2">' in html


def test_retention_rule_is_spelled_out(make_manifest: MakeManifest) -> None:
    def rule(data: dict[str, Any]) -> None:
        data["retention"]["relationship"]["limitation_periods"] = [
            {"jurisdictions": ["eu"], "period": "P3Y", "cite": "§ 195 BGB"},
            {"period": "P6Y"},
        ]
        data["retention"]["relationship"]["final_action"] = "delete_or_anonymise"

    text = parse(render_notice(load_manifest(make_manifest(rule)).manifest, "html")).text_by_source[
        "retention.relationship"
    ]
    for words in (
        "for as long as we have an ongoing relationship with you",
        "3 years: European Union and EEA [§ 195 BGB]",
        "6 years: where no other period applies",
        "Then for an additional 2 months",
        "we only store the data and keep them secure",
        "If a legal claim is brought",
        "we either delete or destroy the data, or anonymise them",
        "This rule applies to: Customer accounts and Newsletter.",
    ):
        assert words in text


def test_statements_land_in_their_section(make_manifest: MakeManifest) -> None:
    def statements(data: dict[str, Any]) -> None:
        data["statements"] = {
            "deid": {"name": "Deidentified information", "section": "US — Deidentified Information", "text": "D."},
            "links": {"name": "Links to other websites", "section": "Section 12", "text": "L."},
        }

    doc = notice_document(load_manifest(make_manifest(statements)).manifest)
    sources = {
        s.id: [b.trace.source for b in s.blocks if isinstance(b, Para) and b.trace is not None] for s in doc.sections
    }
    assert "statements.deid" in sources["deidentified"]
    assert "statements.links" in sources["other"]


def test_marketing_channel_choices(make_manifest: MakeManifest) -> None:
    def marketing(data: dict[str, Any]) -> None:
        data["consents"]["newsletter"]["prompt"] = "Send me news"
        data["marketing_channels"] = {
            "sms": {"kind": "sms", "consent": "newsletter", "keywords": ["STOP", "END"]},
            "email": {"kind": "email", "global_unsubscribe": "https://example.test/unsub", "tracking": ["opens"]},
        }

    md = render_notice(load_manifest(make_manifest(marketing)).manifest, "md")
    assert "- Text messages: sms (source: marketing\\_channels.sms)" in md
    assert "Sent only with your consent: Newsletter (the choice reads “Send me news”)" in md
    assert "Reply STOP or END to stop these messages." in md
    assert "To leave all our campaigns at once: [https://example.test/unsub](<https://example.test/unsub>)" in md
    assert "We measure opens of these messages." in md


def test_us_summary_follows_the_disclosures(make_manifest: MakeManifest) -> None:
    def sell(data: dict[str, Any]) -> None:
        data["recipients"]["ads"] = {"kind": "ad_network", "sale": True}
        data["activities"]["newsletter"]["recipients"].append("ads")

    html = render_notice(load_manifest(make_manifest(sell)).manifest, "html", disclosures_href="disclosures.html")
    assert "<td>yes</td><td>yes</td><td>no</td>" in html  # identifiers: collected, sold, not shared
    assert '<a href="disclosures.html">US state disclosures</a>' in html


def test_unknown_format_is_refused(minimal: Manifest) -> None:
    with pytest.raises(ValueError, match="unknown format 'pdf'"):
        render_notice(minimal, "pdf")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain words", "plain words"),
        ("# not a heading", "\\# not a heading"),
        ("1. not a list", "1\\. not a list"),
        ("- not a list", "\\- not a list"),
        ("a_b *c* `d` [e](f) | g", "a\\_b \\*c\\* \\`d\\` \\[e\\](f) \\| g"),
        ("<script>", "\\<script>"),
        ("AT&T &amp;", "AT&T \\&amp;"),
        ("two\nlines  folded", "two lines folded"),
    ],
)
def test_markdown_escaping(text: str, expected: str) -> None:
    assert str(md_escape(text)) == expected


# --- editors' notes and manifest keys stay out of the notice --------------------------------------------------------


class _Words(HTMLParser):
    """The text a reader sees: character data only, no attributes (data-source carries keys on purpose)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def reader_text(html: str) -> str:
    words = _Words()
    words.feed(html)
    return " ".join(" ".join(words.parts).split())


def notes_of(value: Any) -> list[str]:
    """Every non-empty `note` anywhere in a manifest."""
    if isinstance(value, BaseModel):
        own = [value.note] if getattr(value, "note", "") else []
        return own + [n for name in type(value).model_fields for n in notes_of(getattr(value, name))]
    if isinstance(value, dict):
        return [n for v in value.values() for n in notes_of(v)]
    if isinstance(value, (tuple, list)):
        return [n for v in value for n in notes_of(v)]
    return []


NOTE = "EDITORS-ONLY the scrape lost this"


def test_notes_are_never_rendered(make_manifest: MakeManifest) -> None:
    def annotate(data: dict[str, Any]) -> None:
        news = data["activities"]["newsletter"]
        news["note"] = f"{NOTE} (activity)"
        news["bases"][0]["note"] = f"{NOTE} (basis)"
        data["recipients"]["mailer"]["note"] = f"{NOTE} (recipient)"
        data["retention"]["relationship"]["note"] = f"{NOTE} (retention)"
        data["retention"]["relationship"]["limitation_periods"][0]["note"] = f"{NOTE} (period)"
        data["systems"]["shop"]["note"] = f"{NOTE} (system)"
        data["minors"] = {"no_sale_under": 16, "note": f"{NOTE} (minors)", "inferred": True}
        data["automated_decisions"] = {"performed": False, "note": f"{NOTE} (automated)"}

    m = load_manifest(make_manifest(annotate)).manifest
    assert len(notes_of(m)) == 8  # the notes were read, so their absence below means something
    for fmt in ("html", "md"):
        assert "EDITORS-ONLY" not in render_notice(m, fmt)  # type: ignore[arg-type]
    # What the notes annotate is still there, and inferred is still marked.
    html = render_notice(m, "html")
    assert "people we know to be under 16" in reader_text(html)
    assert '<section id="minors" aria-labelledby="minors-h" data-source="minors" class="inferred"' in html


def test_the_anker_notice_shows_no_note_and_no_manifest_key() -> None:
    m = load_manifest(ANKER).manifest
    notes = notes_of(m)
    assert len(notes) >= 10
    text = reader_text(render_notice(m, "html"))
    assert [n for n in notes if " ".join(n.split())[:60] in text] == []
    assert "scrape" not in text and "Inferred:" not in text
    # Keys a reader could only know from the manifest: entry keys with an underscore, taxonomy paths with a dot.
    keys = {k for section in KEYED_SECTIONS for k in getattr(m, section)}
    keys |= set(m.taxonomy.categories) | set(m.taxonomy.purposes) | set(m.taxonomy.subjects)
    keys = {k for k in keys if "_" in k or "." in k}
    assert len(keys) > 300
    # A key is shown when it stands as a word of its own; a sentence's full stop may follow it.
    shown = sorted(k for k in keys if re.search(rf"(?<![\w.]){re.escape(k)}(?!\w|\.\w)", text))
    assert shown == []


def test_minor_subjects_are_named_as_groups(make_manifest: MakeManifest) -> None:
    anker = reader_text(render_notice(load_manifest(ANKER).manifest, "html"))
    assert "We process personal data about children." in anker

    def pupils(data: dict[str, Any]) -> None:
        data["subjects"] = {"pupil": {"name": "School pupil", "description": "A pupil.", "minor": True}}
        data["activities"]["accounts"]["subjects"] = ["customer", "pupil", "child"]

    text = reader_text(render_notice(load_manifest(make_manifest(pupils)).manifest, "html"))
    assert (
        "We process personal data about people under the age of majority in these groups: School pupil and Child."
        in text
    )
