"""The sandbox's construction market (Shovels): geographies (cities, counties, jurisdictions, zip codes,
addresses), the building permits filed in them, the contractors who pull those permits, contractors'
employees and addresses' residents, and monthly permit metrics.

Every id is built from what it names (``CA-city-fresno``, ``C-TX-0042``, ``addr-…``), so any record can be
derived again from its id alone; contractors' websites are world companies, so a contractor's employees are
that company's staff."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from dex.sandbox.market import DATA_AS_OF
from dex.sandbox.world import FIRST_NAMES, LAST_NAMES, company_for_domain, digest, pick, slug, staff

STATES: dict[str, tuple[tuple[str, str], ...]] = {
    # state → (city, county) pairs
    "CA": (
        ("Fresno", "Fresno County"),
        ("Sacramento", "Sacramento County"),
        ("San Jose", "Santa Clara County"),
    ),
    "TX": (("Austin", "Travis County"), ("Houston", "Harris County"), ("Dallas", "Dallas County")),
    "NY": (("Buffalo", "Erie County"), ("Albany", "Albany County"), ("Rochester", "Monroe County")),
    "FL": (("Tampa", "Hillsborough County"), ("Orlando", "Orange County"), ("Miami", "Miami-Dade County")),
    "WA": (("Seattle", "King County"), ("Spokane", "Spokane County"), ("Tacoma", "Pierce County")),
}
GEO_KINDS = ("city", "county", "jurisdiction", "zipcode", "address")
PERMIT_TAGS = ("solar", "roofing", "hvac", "electrical", "plumbing", "adu", "pool", "remodel")
PERMIT_STATUSES = ("issued", "approved", "completed", "expired")
PROPERTY_TYPES = ("residential", "commercial")
TRADE_STEMS = ("Summit", "Bright", "Golden", "Keystone", "Pacific", "Lone Star", "Empire", "Evergreen")
TRADES = ("Roofing", "Solar", "Electric", "Plumbing", "HVAC", "Builders", "Remodeling", "Pools")
STREETS = ("Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Pine St", "Elm St", "Lake Rd", "Hill St")
CONTRACTORS_PER_STATE = 60
LINKEDIN_PROFILES = "https://www.linkedin.com/in"
GEO_ID = re.compile(r"^([A-Z]{2})-(city|county|jurisdiction)-([a-z0-9-]+)$")
CONTRACTOR_ID = re.compile(r"^C-([A-Z]{2})-(\d{4})$")


@dataclass(frozen=True)
class Geo:
    kind: str
    state: str
    name: str

    @property
    def geo_id(self) -> str:
        if self.kind == "zipcode":
            return self.name
        return f"{self.state}-{self.kind}-{slug(self.name)}"

    def record(self) -> dict[str, Any]:
        return {"geo_id": self.geo_id, "name": self.name, "state": self.state}


def _zipcodes(state: str, city: str) -> list[str]:
    base = 10_000 + digest("zip", state, city) % 89_000
    return [f"{base + offset:05d}" for offset in range(3)]


def geos(kind: str) -> list[Geo]:
    found = []
    for state, places in STATES.items():
        for city, county in places:
            if kind == "city":
                found.append(Geo(kind, state, city))
            elif kind == "county":
                found.append(Geo(kind, state, county))
            elif kind == "jurisdiction":
                found.append(Geo(kind, state, f"City of {city}"))
            elif kind == "zipcode":
                found += [Geo(kind, state, code) for code in _zipcodes(state, city)]
    return found


def geo(geo_id: str) -> Geo | None:
    """The city, county or jurisdiction ``geo_id`` names (as :func:`geos` lists it)."""
    match = GEO_ID.match(geo_id)
    if not match:
        return None
    kind = match.group(2)
    return next((g for g in geos(kind) if g.geo_id == geo_id), None)


def geo_search(kind: str, query: str) -> list[Geo]:
    """Geographies whose name and state hold every word of ``query``."""
    words = [word.lower() for word in query.split() if word]
    return [g for g in geos(kind) if all(word in f"{g.name} {g.state}".lower() for word in words)]


def state_of(geo_id: str) -> str | None:
    """The state a geo id lies in: a state code itself, a zip code, or a city/county/jurisdiction id."""
    if re.fullmatch(r"[A-Z]{2}", geo_id):
        return geo_id if geo_id in STATES else None
    match = GEO_ID.match(geo_id)
    if match:
        return match.group(1)
    zipcode = next((g for g in geos("zipcode") if g.geo_id == geo_id), None)
    return zipcode.state if zipcode else None


# --- contractors -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Contractor:
    state: str
    index: int

    @property
    def contractor_id(self) -> str:
        return f"C-{self.state}-{self.index:04d}"

    @property
    def key(self) -> str:
        return self.contractor_id

    @property
    def trade(self) -> str:
        return pick(TRADES, "trade", self.key)

    @property
    def name(self) -> str:
        return f"{pick(TRADE_STEMS, 'stem', self.key)} {self.trade} {self.index}"

    @property
    def domain(self) -> str:
        return f"{slug(self.name).replace('-', '')}.com"

    def record(self) -> dict[str, Any]:
        city, county = STATES[self.state][self.index % len(STATES[self.state])]
        permits = 5 + digest("permits", self.key) % 400
        total = permits * (8_000 + digest("value", self.key) % 40_000)
        return {
            "id": self.contractor_id,
            "name": self.name.upper(),
            "business_name": f"{self.name} LLC",
            "business_type": "LLC",
            "classification": self.trade.lower(),
            "classification_derived": self.trade.lower(),
            "primary_email": f"office@{self.domain}",
            "primary_phone": f"+1555{digest('phone', self.key) % 10_000_000:07d}",
            "email": f"info@{self.domain}",
            "phone": f"+1555{digest('phone2', self.key) % 10_000_000:07d}",
            "website": f"https://www.{self.domain}",
            "linkedin_url": company_for_domain(self.domain).linkedin_url,
            "address": {
                "street_no": str(100 + digest("street-no", self.key) % 900),
                "street": pick(STREETS, "street", self.key),
                "city": city,
                "state": self.state,
                "zip_code": _zipcodes(self.state, city)[0],
            },
            "county": county,
            "license": f"{self.state}-{digest('license', self.key) % 10**7:07d}",
            "license_issue_date": f"{2005 + digest('lic', self.key) % 15}-03-01",
            "license_exp_date": f"{DATA_AS_OF.year + 1}-03-01",
            "employee_count": str(2 + digest("employees", self.key) % 80),
            "revenue": str(total * 2),
            "rating": round(3 + digest("rating", self.key) % 20 / 10, 1),
            "review_count": digest("reviews", self.key) % 300,
            "permit_count": permits,
            "total_job_value": total,
            "avg_job_value": total // permits,
            "avg_inspection_pass_rate": round(0.6 + digest("pass", self.key) % 40 / 100, 2),
            "naics": "238160",
            "sic": "1761",
            "primary_industry": "Construction",
        }

    def employees(self) -> list[dict[str, Any]]:
        people = staff(company_for_domain(self.domain))
        return [
            {
                "id": f"{self.contractor_id}-E{index}",
                "name": person.full_name,
                "email": f"{person.first_name.lower()}@gmail.invalid",
                "business_email": person.work_email,
                "phone": person.mobile_phone,
                "linkedin_url": person.linkedin_url,
                "city": self.record()["address"]["city"],
                "state": self.state,
                "zip_code": self.record()["address"]["zip_code"],
            }
            for index, person in enumerate(people)
        ]


def contractor(contractor_id: str) -> Contractor | None:
    match = CONTRACTOR_ID.match(contractor_id)
    if not match or match.group(1) not in STATES or int(match.group(2)) >= CONTRACTORS_PER_STATE:
        return None
    return Contractor(match.group(1), int(match.group(2)))


# --- permits ---------------------------------------------------------------------------------------------


def permits(geo_id: str, start: date, end: date) -> list[dict[str, Any]]:
    """The permits filed in ``geo_id`` between ``start`` and ``end`` (two a week, newest first)."""
    state = state_of(geo_id)
    if state is None or end < start:
        return []
    found: list[dict[str, Any]] = []
    day = end
    while day >= start and len(found) < 500:
        for slot in range(2):
            key = f"{geo_id}|{day.isoformat()}|{slot}"
            builder = Contractor(state, digest("builder", key) % CONTRACTORS_PER_STATE)
            city, _ = STATES[state][digest("city", key) % len(STATES[state])]
            value = 2_000 + digest("job", key) % 150_000
            tag, property_type = pick(PERMIT_TAGS, "tag", key), pick(PROPERTY_TYPES, "pt", key)
            found.append(
                {
                    "id": f"P-{digest('permit', key) % 10**10:010d}",
                    "number": f"B{day:%y}-{digest('number', key) % 100_000:05d}",
                    "description": f"{tag.upper()} work at a {property_type} property",
                    "status": pick(PERMIT_STATUSES, "status", key),
                    "file_date": day.isoformat(),
                    "issue_date": (day + timedelta(days=7)).isoformat(),
                    "final_date": (day + timedelta(days=60)).isoformat() if slot else None,
                    "job_value": value,
                    "fees": value // 50,
                    "tags": [tag],
                    "contractor_id": builder.contractor_id,
                    "contractor_name": builder.name.upper(),
                    "address": {
                        "street_no": str(1 + digest("no", key) % 9_999),
                        "street": pick(STREETS, "street", key),
                        "city": city,
                        "state": state,
                        "zip_code": _zipcodes(state, city)[0],
                    },
                    "property_type": property_type,
                }
            )
        day -= timedelta(days=3 + digest("gap", geo_id, day.isoformat()) % 4)
    return found


# --- addresses and residents -----------------------------------------------------------------------------


def addresses(query: str) -> list[dict[str, Any]]:
    """Addresses a free-text search finds: the street it names in the first cities of the state it names
    (any state without one)."""
    words = query.upper().split()
    states = [word for word in words if word in STATES] or list(STATES)
    number = next((word for word in words if word.isdigit()), str(1 + digest("no", query) % 999))
    street = " ".join(word for word in query.split() if not word.isdigit() and word.upper() not in STATES)
    found = []
    for state in states[:2]:
        for city, _ in STATES[state][:2]:
            zipcode = _zipcodes(state, city)[0]
            found.append(
                {
                    "geo_id": f"addr-{digest('address', number, street.lower(), city) % 16**12:012x}",
                    "name": f"{number} {street.title() or 'Main St'}, {city}, {state} {zipcode}",
                    "street_no": number,
                    "street": street.title() or "Main St",
                    "city": city,
                    "state": state,
                    "zip_code": zipcode,
                    "property_type": pick(PROPERTY_TYPES, "pt", number, street, city),
                }
            )
    return found


def residents(address_geo_id: str) -> list[dict[str, Any]]:
    if not address_geo_id.startswith("addr-"):
        return []
    state = pick(tuple(STATES), "state", address_geo_id)
    city, _ = pick(STATES[state], "city", address_geo_id)
    found = []
    for index in range(1 + digest("residents", address_geo_id) % 3):
        key = f"{address_geo_id}#{index}"
        first, last = pick(FIRST_NAMES, "first", key), pick(LAST_NAMES, "last", key)
        found.append(
            {
                "name": f"{first} {last}",
                "personal_emails": [f"{first.lower()}.{last.lower()}@mail.invalid"],
                "phone": f"+1555{digest('phone', key) % 10_000_000:07d}",
                "linkedin_url": f"{LINKEDIN_PROFILES}/{slug(first)}-{slug(last)}-{digest('li', key) % 1000}",
                "net_worth": pick(("$100K-$250K", "$250K-$500K", "$500K-$1M", "$1M+"), "worth", key),
                "income_range": pick(("$50K-$100K", "$100K-$150K", "$150K+"), "income", key),
                "is_homeowner": index == 0,
                "city": city,
                "state": state,
                "zip_code": _zipcodes(state, city)[0],
            }
        )
    return found


# --- metrics ---------------------------------------------------------------------------------------------


def monthly_metrics(geo_id: str, start: date, end: date) -> list[dict[str, Any]]:
    months: list[dict[str, Any]] = []
    month = date(start.year, start.month, 1)
    while month <= end and len(months) < 120:
        key = f"{geo_id}|{month.isoformat()}"
        count = 20 + digest("count", key) % 300
        months.append(
            {
                "date": month.isoformat(),
                "permit_count": count,
                "total_job_value": count * (10_000 + digest("avg", key) % 20_000),
                "solar": digest("solar", key) % 40,
                "roofing": digest("roofing", key) % 60,
            }
        )
        month = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    return months


def current_metrics(geo_id: str) -> dict[str, Any]:
    return {
        "geo_id": geo_id,
        "permit_count": 100 + digest("current", geo_id) % 5_000,
        "contractor_count": 10 + digest("contractors", geo_id) % 400,
        "avg_construction_duration": 30 + digest("duration", geo_id) % 90,
        "avg_approval_duration": 5 + digest("approval", geo_id) % 40,
        "total_job_value": 1_000_000 * (1 + digest("total", geo_id) % 500),
    }
