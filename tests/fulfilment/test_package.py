"""The access package: a deterministic zip with data.json, one CSV per collection and an escaped index.html."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from collections.abc import Callable
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from privet.fulfilment.package import PackageError, build_access_package
from privet.manifest.model import Manifest
from privet.workspace.manifest_files import load_manifest

Edit = Callable[[dict[str, Any]], None]
MakeManifest = Callable[[Edit | None], Path]
AT = dt.datetime(2025, 6, 1, 12, 30, 15, tzinfo=dt.UTC)
XSS = '<script>alert("x")</script>'


def shop(data: dict[str, Any]) -> None:
    collections = data["datasets"]["shop_db"]["collections"]
    collections["customers"]["fields"] |= {
        "name": {"data_type": "string", "categories": ["user.name"], "description": "Name on the account"},
        "password_hash": {"data_type": "string", "categories": ["user.authorization.password"]},
        "created": {"data_type": "timestamp", "categories": ["system.operations"]},
        "profile": {
            "data_type": "object",
            "fields": {
                "city": {"data_type": "string", "categories": ["user.contact.address.city"]},
                "born": {"data_type": "date", "categories": ["user.demographic.date_of_birth"]},
            },
        },
    }
    collections["orders"]["fields"]["total"] = {"data_type": "decimal", "categories": ["user.commercial.order"]}
    data["activities"]["accounts"]["categories"] = ["user.contact", "user.name"]
    data["activities"]["accounts"]["description"] = "Running your account & <orders>."
    data["systems"]["crm"] = {"name": "CRM", "kind": "site", "countries": ["IE"]}
    data["activities"]["calls"] = {
        "name": "Sales calls",
        "purposes": ["essential.service"],
        "categories": ["user.contact.email"],
        "subjects": ["customer"],
        "systems": ["crm"],  # no dataset lives there: the package does not claim the email is used for it
        "bases": [{"basis": "contract"}],
        "retention": "relationship",
    }


ROWS: dict[str, list[dict[str, Any]]] = {
    "shop_db.customers": [
        {
            "id": 1,
            "email": "ann@example.test",
            "name": XSS,
            "password_hash": "$2b$12$secret",
            "created": dt.datetime(2024, 1, 2, 3, 4, 5),
            "profile": {"city": '=HYPERLINK("http://evil")', "born": dt.date(1990, 5, 17)},
            "internal_flag": True,  # a column the dataset does not declare
        }
    ],
    "shop_db.orders": [{"id": 7, "customer_id": 1, "total": Decimal("12.50")}],
}


@pytest.fixture
def manifest(make_manifest: MakeManifest) -> Manifest:
    return load_manifest(make_manifest(shop)).manifest


def unzip(blob: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        assert archive.testzip() is None
        return {info.filename: archive.read(info) for info in archive.infolist()}


def test_package_files(manifest: Manifest) -> None:
    files = unzip(build_access_package("r-1", manifest, ROWS, AT))
    assert sorted(files) == ["data.json", "index.html", "shop_db.customers.csv", "shop_db.orders.csv"]


def test_data_json_holds_personal_fields_with_their_categories(manifest: Manifest) -> None:
    data = json.loads(unzip(build_access_package("r-1", manifest, ROWS, AT))["data.json"])
    assert data["request_id"] == "r-1"
    assert data["generated_at"] == "2025-06-01T12:30:15+00:00"
    assert data["controller"] == "Example Devices"
    customers = data["collections"]["shop_db.customers"]
    # In: fields with a personal data category. Out: id (no category), created (system data), password_hash
    # (withheld, a log-in secret), internal_flag (not in the dataset), profile (an object: its leaves go in).
    assert list(customers["fields"]) == ["email", "name", "profile.city", "profile.born"]
    assert customers["fields"]["email"]["categories"] == ["user.contact.email"]
    assert customers["fields"]["email"]["category_names"] == [manifest.taxonomy.categories["user.contact.email"].name]
    assert customers["fields"]["name"]["description"] == "Name on the account"
    assert customers["records"] == [
        {
            "email": "ann@example.test",
            "name": XSS,
            "profile.city": '=HYPERLINK("http://evil")',
            "profile.born": "1990-05-17",
        }
    ]
    orders = data["collections"]["shop_db.orders"]
    assert orders["records"] == [{"total": "12.50"}]  # a decimal keeps its exact text
    assert data["withheld"] == [
        {
            "collection": "shop_db.customers",
            "field": "password_hash",
            "why": "a password or its hash would help anyone holding this file into your account",
        }
    ]


def test_one_csv_per_collection(manifest: Manifest) -> None:
    files = unzip(build_access_package("r-1", manifest, ROWS, AT))
    customers = list(csv.reader(io.StringIO(files["shop_db.customers.csv"].decode("utf-8-sig"))))
    assert customers == [
        ["email", "name", "profile.city", "profile.born"],
        # A cell a spreadsheet would run as a formula is prefixed with an apostrophe.
        ["ann@example.test", XSS, '\'=HYPERLINK("http://evil")', "1990-05-17"],
    ]
    assert files["shop_db.customers.csv"].startswith(b"\xef\xbb\xbf")  # so spreadsheets read UTF-8
    orders = list(csv.reader(io.StringIO(files["shop_db.orders.csv"].decode("utf-8-sig"))))
    assert orders == [["total"], ["12.50"]]


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_index_html_groups_by_category_and_purpose_and_escapes(manifest: Manifest) -> None:
    html = unzip(build_access_package("r-1", manifest, ROWS, AT))["index.html"].decode()
    assert XSS not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "Running your account &amp; &lt;orders&gt;." in html
    page = Page()
    page.feed(html)
    assert "script" not in page.tags
    text = "\n".join(page.text)
    assert XSS in text  # shown to the person as text
    email = manifest.taxonomy.categories["user.contact.email"]
    assert email.name in text and email.description in text
    assert "By kind of data" in text and "By purpose" in text
    assert "Customer accounts" in text and "Purposes: " in text
    assert "Used for: Customer accounts; Newsletter." in text
    assert "Sales calls" not in text
    assert "Not included" in text and "password_hash" in text
    assert "$2b$12$secret" not in html


def test_same_input_same_bytes(manifest: Manifest) -> None:
    first = build_access_package("r-1", manifest, ROWS, AT)
    assert build_access_package("r-1", manifest, ROWS, AT) == first
    later = build_access_package("r-1", manifest, ROWS, AT + dt.timedelta(days=1))
    assert later != first
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert {info.date_time for info in archive.infolist()} == {(2025, 6, 1, 12, 30, 14)}  # zip keeps even seconds


def test_rows_of_an_unknown_collection(manifest: Manifest) -> None:
    with pytest.raises(PackageError, match=r"rows were given for shop_db\.nowhere"):
        build_access_package("r-1", manifest, {"shop_db.nowhere": []}, AT)


def test_nothing_found(manifest: Manifest) -> None:
    files = unzip(build_access_package("r-1", manifest, {}, AT))
    assert sorted(files) == ["data.json", "index.html"]
    assert "We found no personal data about you." in files["index.html"].decode()
    with pytest.raises(PackageError, match="before 1980"):
        build_access_package("r-1", manifest, {}, dt.datetime(1970, 1, 1))
