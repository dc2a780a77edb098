from __future__ import annotations

from dex.providers import shovels
from dex.providers.base import AdapterResult
from tests.providers.adapter_cases import AdapterCase

WINDOW = {"permit_from": "2025-01-01", "permit_to": "2025-02-28", "geo_id": "CA-city-fresno"}


def _permits(result: AdapterResult) -> None:
    permits = result.mapped["results"]
    assert permits and all(p["permit_id"] and p["contractor_id"] for p in permits)
    assert all(p["address"].count(", ") == 4 for p in permits)
    assert result.mapped["next_cursor"]


def _tagged_solar(result: AdapterResult) -> None:
    assert all("SOLAR" in p["description"] for p in result.mapped["results"])


def _contractor(result: AdapterResult) -> None:
    assert result.mapped["id"] == "C-CA-0001" and result.mapped["state"] == "CA"
    assert isinstance(result.mapped["employee_count"], str)


def _geos(result: AdapterResult) -> None:
    assert [g["geo_id"] for g in result.mapped["results"]] == ["CA-city-fresno"]


def _points(result: AdapterResult) -> None:
    assert [p["month"] for p in result.mapped["data_points"]] == ["2025-01-01", "2025-02-01", "2025-03-01"]


CASES = [
    AdapterCase(
        shovels.search_permits, {"params": {**WINDOW, "size": 5}}, {"params": WINDOW}, check_found=_permits
    ),
    AdapterCase(
        shovels.search_permits,
        {"params": {**WINDOW, "permit_tags": ["solar"]}},
        name="shovels.search_permits[tags]",
        check_found=_tagged_solar,
    ),
    AdapterCase(
        shovels.get_contractor,
        {"contractor_id": "C-CA-0001"},
        {"contractor_id": "C-CA-0001"},
        check_found=_contractor,
    ),
    AdapterCase(shovels.search_contractors, {"params": WINDOW}, {"params": WINDOW}),
    AdapterCase(
        shovels.contractor_employees,
        {"contractor_id": "C-CA-0001", "size": 10},
        {"contractor_id": "C-CA-0001", "size": 10},
    ),
    AdapterCase(
        shovels.address_residents,
        {"geo_id": "addr-02c1a13b0150", "size": 10},
        {"geo_id": "addr-02c1a13b0150", "size": 10},
    ),
    AdapterCase(
        shovels.search_geos,
        {"kind": "city", "state": "CA", "text_filter": "fres", "size": 10},
        {"kind": "city", "state": "CA", "text_filter": "fres", "size": 10},
        check_found=_geos,
    ),
    AdapterCase(
        shovels.metrics_monthly,
        {
            "geo_type": "city",
            "geo_id": "CA-city-fresno",
            "metric": "solar",
            "start_date": "2025-01-01",
            "end_date": "2025-03-31",
        },
        {
            "geo_type": "city",
            "geo_id": "CA-city-fresno",
            "metric": "solar",
            "start_date": "2025-01-01",
            "end_date": "2025-03-31",
        },
        check_found=_points,
    ),
    AdapterCase(
        shovels.metrics_current,
        {"geo_type": "county", "geo_id": "TX-county-travis-county"},
        {"geo_type": "county", "geo_id": "TX-county-travis-county"},
    ),
    AdapterCase(
        shovels.geo_detail,
        {"geo_type": "jurisdiction", "geo_id": "WA-jurisdiction-city-of-seattle"},
        {"geo_type": "jurisdiction", "geo_id": "WA-jurisdiction-city-of-seattle"},
    ),
    AdapterCase(
        shovels.search_addresses, {"params": {"q": "123 Main St TX"}}, {"params": {"q": "123 Main St TX"}}
    ),
]
