"""The sandbox's synthetic world: deterministic companies and people derived from their identifiers.

The same domain always yields the same company and the same staff, whichever provider is asked, so
waterfalls and merges behave like they do against real vendors that describe one real world. Which
provider *knows* an entity is decided per provider by a hash and that provider's hit rate."""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from dataclasses import dataclass
from typing import Any

FIRST_NAMES = (
    "Ava",
    "Ben",
    "Chloe",
    "Daniel",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Isla",
    "Jonas",
    "Kira",
    "Liam",
    "Maya",
    "Noah",
    "Olivia",
    "Priya",
    "Quinn",
    "Rafael",
    "Sofia",
    "Tariq",
    "Uma",
    "Victor",
    "Wen",
    "Yara",
)
LAST_NAMES = (
    "Anders",
    "Brooks",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Huang",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Larsen",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Patel",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Varga",
)
TITLES = (
    ("Chief Executive Officer", "C-Team", "Executive"),
    ("VP of Sales", "VP", "Sales"),
    ("Head of Marketing", "Director", "Marketing"),
    ("Director of Engineering", "Director", "Engineering"),
    ("Sales Manager", "Manager", "Sales"),
    ("Account Executive", "Staff", "Sales"),
    ("Software Engineer", "Staff", "Engineering"),
    ("Product Manager", "Manager", "Product"),
    ("Chief Financial Officer", "C-Team", "Finance"),
    ("Operations Manager", "Manager", "Operations"),
)
INDUSTRIES = (
    "Software Development",
    "Financial Services",
    "Retail",
    "Healthcare",
    "Manufacturing",
    "Logistics",
    "Marketing Services",
    "Education",
    "E-commerce",
    "Cybersecurity",
)
COUNTRIES = (
    ("US", "San Francisco"),
    ("US", "New York"),
    ("GB", "London"),
    ("DE", "Berlin"),
    ("FR", "Paris"),
    ("CA", "Toronto"),
    ("NL", "Amsterdam"),
    ("SE", "Stockholm"),
)
EMPLOYEE_RANGES = ((1, 10), (11, 50), (51, 200), (201, 500), (501, 1000), (1001, 5000))
EMAIL_STATUSES = ("ok", "ok", "ok", "ok", "catch_all", "invalid", "unknown", "ok")


def digest(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("\x1f".join(parts).encode()).digest()[:8], "big")


def pick(seq: tuple[Any, ...], *parts: str) -> Any:
    return seq[digest(*parts) % len(seq)]


def known_to(provider: str, key: str, hit_rate: float) -> bool:
    """Whether ``provider`` has data about ``key``: a stable per-provider coin flip weighted by hit rate."""
    return digest("known", provider, key) % 10_000 < int(hit_rate * 10_000)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def normalize_domain(value: str) -> str:
    text = value.strip().lower()
    text = re.sub(r"^[a-z]+://", "", text).split("/", 1)[0]
    return text[4:] if text.startswith("www.") else text


@dataclass(frozen=True)
class Company:
    domain: str
    name: str
    linkedin_url: str
    linkedin_id: str
    industry: str
    employee_count: int
    employee_range: str
    founded_year: int
    hq_city: str
    hq_country_code: str
    description: str
    revenue_range: str
    company_type: str
    specialties: tuple[str, ...]
    follower_count: int
    source_id: str

    @property
    def website(self) -> str:
        return f"https://{self.domain}"


@dataclass(frozen=True)
class Person:
    person_id: str
    first_name: str
    last_name: str
    title: str
    seniority: str
    department: str
    company: Company

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    index: int = 0

    @property
    def linkedin_url(self) -> str:
        # The handle encodes the company domain and the staff index, so any sandbox process can resolve it.
        return (
            f"https://www.linkedin.com/in/{slug(self.full_name)}-{_encode(self.company.domain)}-{self.index}"
        )

    @property
    def work_email(self) -> str:
        return f"{self.first_name.lower()}.{self.last_name.lower()}@{self.company.domain}"

    @property
    def mobile_phone(self) -> str:
        return f"+1415{digest('phone', self.person_id) % 10_000_000:07d}"

    @property
    def location(self) -> str:
        return f"{self.company.hq_city}, {self.company.hq_country_code}"


# The world is a pure function of its keys, and every request asks it again (a company's staff is a hundred
# hashes): remembering the recent answers takes most of the sandbox's own work off each request.
WORLD_CACHE_SIZE = 8192


@functools.lru_cache(maxsize=WORLD_CACHE_SIZE)
def company_for_domain(domain: str) -> Company:
    domain = normalize_domain(domain)
    stem = domain.split(".")[0] or domain
    name = " ".join(part.capitalize() for part in re.split(r"[-_]", stem) if part) or domain
    low, high = pick(EMPLOYEE_RANGES, "size", domain)
    country, city = pick(COUNTRIES, "hq", domain)
    industry = pick(INDUSTRIES, "industry", domain)
    return Company(
        domain=domain,
        name=name,
        linkedin_url=f"https://www.linkedin.com/company/{slug(name)}-{_encode(domain)}",
        linkedin_id=str(digest("liid", domain) % 90_000_000 + 10_000_000),
        industry=industry,
        employee_count=low + digest("headcount", domain) % (high - low + 1),
        employee_range=f"{low}-{high}",
        founded_year=1980 + digest("founded", domain) % 44,
        hq_city=city,
        hq_country_code=country,
        description=f"{name} is a {industry.lower()} company headquartered in {city}.",
        revenue_range=pick(("$1M-$10M", "$10M-$50M", "$50M-$100M", "$100M-$500M"), "revenue", domain),
        company_type=pick(("Privately Held", "Public Company", "Partnership"), "type", domain),
        specialties=(industry, pick(("B2B", "SaaS", "Analytics", "Payments", "AI"), "spec", domain)),
        follower_count=digest("followers", domain) % 50_000,
        source_id=f"cmp_{digest('id', domain) % 10**10:010d}",
    )


def company_for_linkedin(linkedin_url: str) -> Company | None:
    """The company behind a sandbox LinkedIn URL (``…/company/<name>-<encoded domain>``)."""
    match = re.search(r"linkedin\.com/company/[a-z0-9-]*?-([a-z2-7]+)/?$", linkedin_url.strip().lower())
    domain = _decode(match.group(1)) if match else None
    return company_for_domain(domain) if domain else None


def staff(company: Company, count: int | None = None) -> list[Person]:
    """The company's people, most senior first; the headcount shown is capped at 25 synthetic people."""
    return list(_staff(company, count))


@functools.lru_cache(maxsize=WORLD_CACHE_SIZE)
def _staff(company: Company, count: int | None) -> tuple[Person, ...]:
    total = count if count is not None else min(25, max(3, company.employee_count // 20))
    people = []
    for index in range(total):
        key = f"{company.domain}#{index}"
        title, seniority, department = (
            TITLES[index % len(TITLES)] if index < len(TITLES) else pick(TITLES, key)
        )
        people.append(
            Person(
                person_id=f"p_{digest('person', key) % 10**12:012d}",
                first_name=pick(FIRST_NAMES, "first", key),
                last_name=pick(LAST_NAMES, "last", key),
                title=title,
                seniority=seniority,
                department=department,
                company=company,
                index=index,
            )
        )
    return tuple(people)


def find_person(
    company: Company,
    *,
    first_name: str = "",
    last_name: str = "",
    full_name: str = "",
    linkedin_url: str = "",
) -> Person | None:
    wanted_full = (full_name or f"{first_name} {last_name}").strip().lower()
    for person in staff(company):
        if linkedin_url and person.linkedin_url.lower().rstrip("/") == linkedin_url.lower().rstrip("/"):
            return person
        if wanted_full and person.full_name.lower() == wanted_full:
            return person
        if (
            first_name
            and last_name
            and (person.first_name.lower(), person.last_name.lower())
            == (first_name.lower(), last_name.lower())
        ):
            return person
    return None


def _encode(domain: str) -> str:
    return base64.b32encode(domain.encode()).decode().rstrip("=").lower()


def _decode(token: str) -> str | None:
    try:
        return base64.b32decode(token.upper() + "=" * (-len(token) % 8)).decode()
    except (ValueError, UnicodeDecodeError):
        return None


def person_for_linkedin(linkedin_url: str) -> Person | None:
    """The person behind a sandbox LinkedIn URL (``…/in/<name>-<encoded domain>-<index>``)."""
    match = re.search(r"linkedin\.com/in/[a-z0-9-]*?-([a-z2-7]+)-(\d+)/?$", linkedin_url.strip().lower())
    if not match:
        return None
    domain = _decode(match.group(1))
    if not domain:
        return None
    people = staff(company_for_domain(domain))
    index = int(match.group(2))
    return people[index] if index < len(people) else None


def email_status(email: str) -> str:
    """Deterministic verification verdict of an address (MillionVerifier's vocabulary)."""
    if "@" not in email:
        return "invalid"
    return pick(EMAIL_STATUSES, "verify", email.lower())
