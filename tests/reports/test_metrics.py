"""CCPA § 7102 request metrics, checked against figures worked out by hand."""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest

from privet.law.vocabulary import Right
from privet.reports.metrics import ALL, UNSPECIFIED, Figures, MetricsError, render_metrics, request_metrics
from privet.requests.model import Dates, Request, Requester, State

D = Right.DELETION
A = Right.ACCESS
O = Right.OPT_OUT_SALE  # noqa: E741


def at(day: str, hour: int = 12) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=dt.UTC)


def req(rid: str, kind: Right, state: State, received: dt.datetime, closed: dt.datetime | None = None,
        jurisdiction: str | None = "us-ca") -> Request:  # fmt: skip
    dates = Dates(due=received.date() + dt.timedelta(days=45))
    return Request(rid, kind, jurisdiction, received, state, Requester(email=f"{rid}@example.test"), dates,
                   closed_at=closed)  # fmt: skip


REQUESTS = [
    req("d1", D, State.FULFILLED, at("2024-01-10"), at("2024-01-20")),  # 10 days
    req("d2", D, State.PARTIALLY_FULFILLED, at("2024-02-01"), at("2024-03-02")),  # 30 days (2024 is a leap year)
    req("d3", D, State.DENIED, at("2024-03-01"), at("2024-03-05")),  # 4 days
    req("d4", D, State.VERIFICATION_FAILED, at("2024-04-01"), at("2024-05-16")),  # 45 days
    req("d5", D, State.IN_PROGRESS, at("2024-12-20")),  # still open
    req("d6", D, State.FULFILLED, at("2024-06-01"), at("2024-06-08"), "us-co"),  # 7 days
    req("d7", D, State.APPEAL_DECIDED, at("2024-07-01"), at("2024-08-30"), "us-co"),  # closed_at is the appeal's
    req("d8", D, State.APPEALED, at("2024-08-01"), None, "us-co"),
    req("d9", D, State.FULFILLED, at("2023-12-31", 23), at("2024-01-05")),  # received the year before
    req("d10", D, State.FULFILLED, at("2025-01-01", 0), at("2025-01-02")),  # received the year after
    req("d11", D, State.FULFILLED, at("2024-05-01"), at("2024-05-02"), None),  # 1 day, jurisdiction unknown
    req("a1", A, State.FULFILLED, at("2024-03-10", 9), at("2024-03-10", 17)),  # 0 days
    req("a2", A, State.FULFILLED, at("2024-09-01"), at("2024-09-04"), "eu"),  # 3 days
    req("a3", A, State.DENIED, at("2024-10-01"), at("2024-10-31"), "eu"),  # 30 days
    req("o1", O, State.RECEIVED, at("2024-11-01")),
]


def test_figures_per_request_type_over_all_jurisdictions() -> None:
    metrics = request_metrics(REQUESTS, 2024)
    deletion = metrics.figures(D)
    # received d1-d8 and d11; complied d1 d6 d11 in whole, d2 in part; denied d3 d4 (d4 unverified); d5 pending;
    # d7 d8 appealed, d7 decided. Days 1, 4, 7, 10, 30, 45: median (7 + 10) / 2, mean 97 / 6.
    assert deletion == Figures(received=9, complied_in_whole=3, complied_in_part=1, denied=2, denied_unverified=1,
                               pending=1, appeals_received=2, appeals_decided=1, median_days=8.5,
                               mean_days=97 / 6)  # fmt: skip
    assert deletion.complied == 4
    # Days 0, 3, 30: median 3, mean 11.
    assert metrics.figures(A) == Figures(received=3, complied_in_whole=2, denied=1, median_days=3.0, mean_days=11.0)
    assert metrics.figures(O) == Figures(received=1, pending=1)  # open: not responded, no days


def test_figures_per_jurisdiction() -> None:
    metrics = request_metrics(REQUESTS, 2024)
    assert metrics.jurisdictions() == [ALL, "eu", "us-ca", "us-co", UNSPECIFIED]
    # d1-d5; days 4, 10, 30, 45: median 20, mean 89 / 4.
    assert metrics.figures(D, "us-ca") == Figures(received=5, complied_in_whole=1, complied_in_part=1, denied=2,
                                                  denied_unverified=1, pending=1, median_days=20.0,
                                                  mean_days=22.25)  # fmt: skip
    assert metrics.figures(D, "us-co") == Figures(received=3, complied_in_whole=1, appeals_received=2,
                                                  appeals_decided=1, median_days=7.0, mean_days=7.0)  # fmt: skip
    assert metrics.figures(D, UNSPECIFIED) == Figures(received=1, complied_in_whole=1, median_days=1.0, mean_days=1.0)
    assert metrics.figures(A, "eu") == Figures(received=2, complied_in_whole=1, denied=1, median_days=16.5,
                                               mean_days=16.5)  # fmt: skip
    assert metrics.figures(A, "us-co") == Figures()  # nothing of that kind there


def test_every_request_received_is_complied_denied_pending_or_appealed() -> None:
    for row in request_metrics(REQUESTS, 2024).rows:
        f = row.figures
        assert f.received == f.complied + f.denied + f.pending + f.appeals_received, row


def test_only_requests_received_in_the_year_count() -> None:
    assert [(r.jurisdiction, r.kind) for r in request_metrics(REQUESTS, 2023).rows] == [(ALL, D), ("us-ca", D)]
    assert request_metrics(REQUESTS, 2023).figures(D) == Figures(received=1, complied_in_whole=1, median_days=5.0,
                                                                 mean_days=5.0)  # fmt: skip
    assert request_metrics(REQUESTS, 2025).figures(D).received == 1


def test_the_time_zone_decides_the_calendar_year_and_days() -> None:
    pacific = dt.timezone(dt.timedelta(hours=-8))
    late = req("x", D, State.FULFILLED, at("2024-01-01", 6), at("2024-01-01", 20))  # 31 Dec 22:00 to 1 Jan 12:00
    assert request_metrics([late], 2024).figures(D).median_days == 0.0
    assert request_metrics([late], 2024, tz=pacific).rows == ()
    assert request_metrics([late], 2023, tz=pacific).figures(D).median_days == 1.0


def test_an_empty_year() -> None:
    metrics = request_metrics(REQUESTS, 2019)
    assert metrics.rows == ()
    assert render_metrics(metrics, "md") == "# Request metrics for 2019\n\nNo requests were received in 2019.\n"
    assert render_metrics(metrics, "csv").count("\n") == 1  # the header alone
    assert json.loads(render_metrics(metrics, "json")) == {"year": 2019, "rows": []}


def test_listed_types_appear_even_with_no_requests() -> None:
    metrics = request_metrics([], 2024, kinds=[Right.CORRECTION, D])
    assert [(r.jurisdiction, r.kind) for r in metrics.rows] == [(ALL, Right.CORRECTION), (ALL, D)]  # in `Right` order
    assert all(r.figures == Figures() for r in metrics.rows)
    with_data = request_metrics(REQUESTS, 2024, kinds=[Right.CORRECTION])
    assert with_data.figures(Right.CORRECTION, "eu") == Figures()
    assert any(r.jurisdiction == "eu" and r.kind is Right.CORRECTION for r in with_data.rows)


def test_a_request_closed_before_it_was_received_is_refused() -> None:
    bad = req("bad", D, State.FULFILLED, at("2024-03-10"), at("2024-03-01"))
    with pytest.raises(MetricsError, match=r"request bad was answered .* before it was received"):
        request_metrics([bad], 2024)


SMALL = [
    req("a1", A, State.FULFILLED, at("2024-03-10"), at("2024-03-13")),
    req("a2", A, State.DENIED, at("2024-03-10"), at("2024-03-20"), "eu"),
    req("d1", D, State.VERIFICATION_FAILED, at("2024-04-01"), at("2024-04-11")),
    req("d2", D, State.IN_PROGRESS, at("2024-04-02")),
]


EXPECTED_MD = """\
# Request metrics for 2024

Requests received from 1 January to 31 December 2024 (11 CCR § 7102(a)). Requests that failed identity verification are counted as denied and also shown on their own. Days are calendar days from receipt to the response. Appealed requests count by their first response and under appeals.

## All jurisdictions

| Request type | Received | Complied with (whole or part) | Complied in whole | Complied in part | Denied | of which not verified | Pending | Appeals received | Appeals decided | Median days to respond | Mean days to respond |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| access | 2 | 1 | 1 | 0 | 1 | 0 | 0 | 0 | 0 | 6.5 | 6.5 |
| deletion | 2 | 0 | 0 | 0 | 1 | 1 | 1 | 0 | 0 | 10.0 | 10.0 |

## eu

| Request type | Received | Complied with (whole or part) | Complied in whole | Complied in part | Denied | of which not verified | Pending | Appeals received | Appeals decided | Median days to respond | Mean days to respond |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| access | 1 | 0 | 0 | 0 | 1 | 0 | 0 | 0 | 0 | 10.0 | 10.0 |

## us-ca

| Request type | Received | Complied with (whole or part) | Complied in whole | Complied in part | Denied | of which not verified | Pending | Appeals received | Appeals decided | Median days to respond | Mean days to respond |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| access | 1 | 1 | 1 | 0 | 0 | 0 | 0 | 0 | 0 | 3.0 | 3.0 |
| deletion | 2 | 0 | 0 | 0 | 1 | 1 | 1 | 0 | 0 | 10.0 | 10.0 |
"""

EXPECTED_CSV = """\
year,jurisdiction,request_type,received,complied,complied_in_whole,complied_in_part,denied,denied_unverified,pending,appeals_received,appeals_decided,median_days,mean_days
2024,all,access,2,1,1,0,1,0,0,0,0,6.5,6.5
2024,all,deletion,2,0,0,0,1,1,1,0,0,10.0,10.0
2024,eu,access,1,0,0,0,1,0,0,0,0,10.0,10.0
2024,us-ca,access,1,1,1,0,0,0,0,0,0,3.0,3.0
2024,us-ca,deletion,2,0,0,0,1,1,1,0,0,10.0,10.0
"""


def test_markdown() -> None:
    assert render_metrics(request_metrics(SMALL, 2024), "md") == EXPECTED_MD


def test_csv() -> None:
    assert render_metrics(request_metrics(SMALL, 2024), "csv") == EXPECTED_CSV
    pending_only = render_metrics(request_metrics([SMALL[3]], 2024), "csv").splitlines()
    assert pending_only[1] == "2024,all,deletion,1,0,0,0,0,0,1,0,0,,"


def test_json() -> None:
    data = json.loads(render_metrics(request_metrics(REQUESTS, 2024), "json"))
    assert data["year"] == 2024
    assert data["rows"][0] == {"jurisdiction": "all", "request_type": "access", "received": 3, "complied": 2,
                               "complied_in_whole": 2, "complied_in_part": 0, "denied": 1, "denied_unverified": 0,
                               "pending": 0, "appeals_received": 0, "appeals_decided": 0, "median_days": 3.0,
                               "mean_days": 11.0}  # fmt: skip
    deletion = next(r for r in data["rows"] if r["jurisdiction"] == "all" and r["request_type"] == "deletion")
    assert (deletion["median_days"], deletion["mean_days"]) == (8.5, 16.2)
    opt_out = next(r for r in data["rows"] if r["request_type"] == "opt_out_sale")
    assert opt_out["median_days"] is None


@pytest.mark.parametrize("fmt", ["md", "csv", "json"])
def test_rendering_does_not_depend_on_input_order(fmt: str) -> None:
    shuffled = REQUESTS[:]
    random.Random(7).shuffle(shuffled)
    first = render_metrics(request_metrics(REQUESTS, 2024), fmt)  # type: ignore[arg-type]
    assert render_metrics(request_metrics(shuffled, 2024), fmt) == first  # type: ignore[arg-type]


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(MetricsError, match="unknown format 'pdf'; choose one of md, csv, json"):
        render_metrics(request_metrics(SMALL, 2024), "pdf")  # type: ignore[arg-type]


def test_an_appealed_request_counts_by_its_first_answer() -> None:
    import dataclasses

    r = req("a1", Right.DELETION, State.APPEAL_DECIDED, at("2024-03-01"), at("2024-05-01"), "us-va")
    r = dataclasses.replace(r, responded_at=at("2024-03-11"), response_state=State.DENIED)
    f = request_metrics([r], 2024).figures(Right.DELETION)
    assert (f.denied, f.appeals_received, f.appeals_decided, f.median_days) == (1, 1, 1, 10.0)


@pytest.mark.parametrize("now", [State.IN_PROGRESS, State.FULFILLED])
def test_a_reversed_appeal_counts_by_the_first_answer_and_as_a_decided_appeal(now: State) -> None:
    import dataclasses

    r = req("a1", Right.DELETION, now, at("2024-03-01"), at("2024-05-01") if now is State.FULFILLED else None, "us-va")
    r = dataclasses.replace(r, responded_at=at("2024-03-11"), response_state=State.DENIED, appeal_outcome="reversed")
    f = request_metrics([r], 2024).figures(Right.DELETION)
    assert (f.denied, f.complied_in_whole, f.pending, f.appeals_received, f.appeals_decided, f.median_days) == (
        1,
        0,
        0,
        1,
        1,
        10.0,
    )
