"""The Art. 30 record: one row per activity, as rows, CSV and an Excel workbook."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from privet.manifest.entities import EntityRole, LegalEntity
from privet.manifest.model import Manifest
from privet.manifest.period import Period
from privet.manifest.processing import FinalAction, LimitationPeriod, RetentionRule, RetentionTrigger
from privet.reports.ropa import HEADERS, RopaRow, retention_terms, ropa_csv, ropa_rows, ropa_xlsx
from privet.workspace.manifest_files import load_manifest
from tests.conftest import MINIMAL, REPO

MakeManifest = Callable[[Callable[[dict[str, Any]], None] | None], Path]


@pytest.fixture(scope="module")
def minimal() -> Manifest:
    return load_manifest(MINIMAL).manifest


def with_transfer(data: dict[str, Any]) -> None:
    data["recipients"]["mailer"]["countries"] = ["US"]
    data["transfers"] = {"us": {"to": "US", "exporters": ["eu"], "recipients": ["mailer"], "mechanisms": ["scc"]}}
    data["activities"]["accounts"]["categories"].append("user.health_and_medical")


def by_key(manifest: Manifest) -> dict[str, RopaRow]:
    return {row.activity: row for row in ropa_rows(manifest)}


def test_headers_cover_every_field_in_order() -> None:
    assert list(HEADERS) == [f.name for f in fields(RopaRow)]


def test_one_row_per_activity_in_manifest_order(minimal: Manifest) -> None:
    assert [r.activity for r in ropa_rows(minimal)] == list(minimal.activities) == ["accounts", "newsletter"]


def test_row_states_controller_basis_recipients_and_retention(minimal: Manifest) -> None:
    rows = by_key(minimal)
    news = rows["newsletter"]
    assert news.controller == "Example Devices Ltd (1 High Street, Dublin, IE, privacy@example.test)"
    assert news.dpo == "dpo@example.test"
    # us-ca asks for no legal basis, so a claim for every jurisdiction names eu only.
    assert news.legal_bases == ("eu: Consent (GDPR Art. 6(1)(a)); consent: Newsletter",)
    assert rows["accounts"].legal_bases == ("eu: Contract (GDPR Art. 6(1)(b))",)
    assert news.purposes == ("Marketing emails",)
    assert news.data_categories == ("Email address",)
    assert news.recipients == ("Email service provider (processor; IE)",)
    assert rows["accounts"].recipients == ()
    assert news.transfers == ()
    assert news.retention == (
        "While the relationship lasts, then the limitation period plus two months. Kept until the relationship "
        "ends, then for the limitation period (default 3 years), restricted to storage and security, plus 2 months; "
        "then deleted. Kept longer while a legal claim needs it."
    )


def test_transfers_match_the_activity_recipients_and_special_categories_are_flagged(
    make_manifest: MakeManifest,
) -> None:
    rows = by_key(load_manifest(make_manifest(with_transfer)).manifest)
    news, accounts = rows["newsletter"], rows["accounts"]
    assert news.transfers == ("To US from eu (Email service provider): standard contractual clauses",)
    assert news.recipients == ("Email service provider (processor; US) - third-country transfer",)
    assert accounts.transfers == ()
    assert accounts.special_categories and not news.special_categories
    assert any("special category, GDPR Art. 9" in c for c in accounts.data_categories)


def with_ad_tag(data: dict[str, Any]) -> None:
    """The shop is hosted by a processor and carries an ad network's tag; only the newsletter sends the ads data."""
    data["recipients"]["host"] = {"name": "Host", "kind": "processor", "countries": ["IE"]}
    data["recipients"]["ads"] = {"name": "Ads", "kind": "ad_network", "countries": ["US"], "sale": True}
    data["systems"]["shop"]["recipients"] = ["host", "ads"]
    data["activities"]["newsletter"]["recipients"] = ["mailer", "ads"]
    data["recipients"]["mailer"]["countries"] = ["US"]
    data["transfers"] = {
        "us": {"to": "US", "exporters": ["eu"], "recipients": ["mailer", "ads"], "mechanisms": ["scc"]},
    }


def test_a_system_passes_on_its_host_but_not_the_recipients_of_other_activities(make_manifest: MakeManifest) -> None:
    rows = by_key(load_manifest(make_manifest(with_ad_tag)).manifest)
    # accounts runs on the shop, so the processor hosting the shop holds its data; the ad network does not.
    assert rows["accounts"].recipients == ("Host (processor; IE)",)
    assert rows["newsletter"].recipients == (
        "Email service provider (processor; US) - third-country transfer",
        "Ads (ad network; US; sale) - third-country transfer",
        "Host (processor; IE)",
    )


def test_a_transfer_names_only_the_activity_recipients_it_carries(make_manifest: MakeManifest) -> None:
    def mailer_only(data: dict[str, Any]) -> None:
        with_ad_tag(data)
        data["activities"]["accounts"]["recipients"] = ["mailer"]

    rows = by_key(load_manifest(make_manifest(mailer_only)).manifest)
    assert rows["accounts"].transfers == ("To US from eu (Email service provider): standard contractual clauses",)
    assert rows["newsletter"].transfers == (
        "To US from eu (Email service provider, Ads): standard contractual clauses",
    )


def test_anker_rows_name_ad_networks_only_where_the_notice_does() -> None:
    anker = load_manifest(REPO / "examples" / "anker").manifest
    rows = by_key(anker)
    ads = anker.recipients["ad_networks"].title
    naming_ads = {key for key, row in rows.items() if any(r.startswith(ads) for r in row.recipients)}
    assert naming_ads == {key for key, a in anker.activities.items() if "ad_networks" in a.recipients}
    assert not any(ads in t for t in rows["user_accounts"].transfers)
    # The store's host still holds the account data that lives on it.
    assert any(r.startswith(anker.recipients["cloud_hosting"].title) for r in rows["user_accounts"].recipients)


def test_an_inferred_basis_says_so(make_manifest: MakeManifest) -> None:
    def inferred(data: dict[str, Any]) -> None:
        data["activities"]["accounts"]["bases"][0].update(inferred=True, note="The column is cut off.")

    rows = by_key(load_manifest(make_manifest(inferred)).manifest)
    assert rows["accounts"].legal_bases == ("eu: Contract (GDPR Art. 6(1)(b)) (inferred)",)


def test_joint_controllers_and_representatives_are_listed(minimal: Manifest) -> None:
    org = minimal.organisation
    partner = LegalEntity(key="partner", name="Partner GmbH", country="DE", roles=(EntityRole.JOINT_CONTROLLER,))
    rep = LegalEntity(key="rep", name="UK Rep Ltd", country="GB", roles=(EntityRole.REPRESENTATIVE,))
    changed = org.model_copy(
        update={
            "legal_entities": {**org.legal_entities, "partner": partner.model_copy(update={"lead": True})},
            "representatives": {"rep": rep},
            "joint_control": "Each answers requests.",
        }
    )
    row = ropa_rows(minimal.model_copy(update={"organisation": changed}))[0]
    assert row.joint_controllers == "Partner GmbH (DE) [lead]\nArrangement: Each answers requests."
    assert row.representative == "UK Rep Ltd (GB)"


def test_retention_terms_read_every_period_in_order() -> None:
    rule = RetentionRule(
        key="r",
        triggers=(RetentionTrigger.PURPOSE_FULFILLED, RetentionTrigger.CONSENT_WITHDRAWN),
        after_trigger=Period(months=1),
        limitation_periods=(
            LimitationPeriod(jurisdictions=("uk",), period=Period(years=6)),
            LimitationPeriod(period=Period(years=3)),
        ),
        grace=Period(months=2),
        restrict_during_limitation=False,
        legal_claims_extend=False,
        final_action=FinalAction.ANONYMISE,
    )
    assert retention_terms(rule) == (
        "Kept until the purpose is fulfilled or consent is withdrawn, then for 1 month, "
        "then for the limitation period (default 3 years; uk: 6 years), plus 2 months; then anonymised."
    )


def test_csv_parses_back_with_art30_columns(minimal: Manifest) -> None:
    table = list(csv.reader(io.StringIO(ropa_csv(minimal))))
    header, *rows = table
    assert header == list(HEADERS.values())
    for point in "abcdefg":
        assert any(f"Art. 30(1)({point})" in h for h in header), point
    assert len(rows) == 2 and all(len(r) == len(header) for r in rows)
    record = dict(zip(header, rows[1], strict=True))
    assert record["Purposes of processing (Art. 30(1)(b))"] == "Marketing emails"
    assert record["Jurisdictions"] == "eu\nus-ca"
    assert record["Special or sensitive categories"] == "no"


def test_xlsx_reads_back_with_the_same_cells(minimal: Manifest) -> None:
    data = ropa_xlsx(minimal)
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["Processing activities", "Controller"]
    sheet = wb["Processing activities"]
    values = [[c if c is not None else "" for c in row] for row in sheet.iter_rows(values_only=True)]
    assert values == list(csv.reader(io.StringIO(ropa_csv(minimal))))
    assert sheet["A1"].font.bold and not sheet["A2"].font.bold
    assert sheet["H2"].alignment.wrap_text
    assert sheet.freeze_panes == "C2"
    assert sheet.column_dimensions["P"].width == 60
    details = {str(k): v for k, v in wb["Controller"].iter_rows(min_row=2, values_only=True)}
    assert details["Organisation"] == "Example Devices"
    assert details["Data protection officer"] == "dpo@example.test"
    assert details["Notice last updated"] == "2025-01-31"
    assert wb.properties.created == wb.properties.modified == dt.datetime(2025, 1, 31)


def test_xlsx_bytes_are_the_same_for_the_same_manifest(minimal: Manifest) -> None:
    again = load_manifest(MINIMAL).manifest
    data = ropa_xlsx(minimal)
    assert data == ropa_xlsx(again)
    # Every member is dated from the notice, not the clock, so a later run gives the same bytes too.
    assert {i.date_time for i in zipfile.ZipFile(io.BytesIO(data)).infolist()} == {(2025, 1, 31, 0, 0, 0)}
