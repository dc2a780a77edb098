"""The sandbox's hiring market (TheirStack): each company's technologies as its job posts reveal them, and
its open job posts — hiring team from its own staff, locations (remote posts span several countries),
salaries and the technologies each post names.

Searches draw candidate companies from the query itself (named companies and domains first, then a stable
pool per filter set) and filter them by the facts below, so a filter always holds for what it returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from dex.sandbox.market import DATA_AS_OF, related_domains
from dex.sandbox.world import COUNTRIES, TITLES, Company, company_for_domain, digest, pick, slug, staff

TECHNOLOGIES = (
    ("Python", "python", "Programming Languages"),
    ("TypeScript", "typescript", "Programming Languages"),
    ("React", "react", "Frontend Frameworks"),
    ("PostgreSQL", "postgresql", "Databases"),
    ("Snowflake", "snowflake", "Data Warehouses"),
    ("Kubernetes", "kubernetes", "Container Orchestration"),
    ("Salesforce", "salesforce", "CRM"),
    ("HubSpot", "hubspot", "Marketing Automation"),
    ("AWS", "amazon-web-services", "Cloud Providers"),
    ("Terraform", "terraform", "Infrastructure as Code"),
    ("dbt", "dbt", "Data Transformation"),
    ("Stripe", "stripe", "Payments"),
)
COUNTRY_NAMES = {"US": "United States", "GB": "United Kingdom", "DE": "Germany", "FR": "France"}
COUNTRY_NAMES |= {"CA": "Canada", "NL": "Netherlands", "SE": "Sweden"}
FUNDING_STAGES = ("seed", "series_a", "series_b", "series_c", "ipo", None)
SEARCH_POOL = 40


def technologies(company: Company) -> list[dict[str, Any]]:
    """The technologies ``company``'s job posts mention, most mentioned first."""
    count = 3 + digest("tech-count", company.domain) % 6
    start = digest("tech-start", company.domain) % len(TECHNOLOGIES)
    found = []
    for rank in range(count):
        name, tech_slug, category = TECHNOLOGIES[(start + rank * 5) % len(TECHNOLOGIES)]
        jobs = 2 + digest("tech-jobs", company.domain, tech_slug) % 40
        found.append(
            {
                "technology": {"name": name, "slug": tech_slug, "category": category},
                "confidence": ("high", "medium", "low")[min(rank // 3, 2)],
                "jobs": jobs,
                "jobs_last_30_days": jobs // 4,
                "first_date_found": (DATA_AS_OF - timedelta(days=400 + rank * 30)).isoformat(),
                "last_date_found": (DATA_AS_OF - timedelta(days=rank * 3)).isoformat(),
                "rank_within_category": 1 + rank % 3,
            }
        )
    return found


def technology_slugs(company: Company) -> list[str]:
    return [tech["technology"]["slug"] for tech in technologies(company)]


@dataclass(frozen=True)
class JobPost:
    company: Company
    index: int

    @property
    def job_id(self) -> int:
        return 100_000_000 + digest("job", self.company.domain, str(self.index)) % 900_000_000

    @property
    def title(self) -> str:
        return TITLES[digest("job-title", self.company.domain, str(self.index)) % len(TITLES)][0]

    @property
    def seniority(self) -> str:
        return pick(("junior", "mid_level", "senior", "staff", "c_level"), "seniority", str(self.job_id))

    @property
    def remote(self) -> bool:
        return digest("remote", str(self.job_id)) % 3 == 0

    @property
    def posted(self) -> date:
        return DATA_AS_OF - timedelta(days=digest("posted", str(self.job_id)) % 60)

    @property
    def country_codes(self) -> list[str]:
        """Where the post hires: the company's home country, and for remote posts a second one."""
        home = self.company.hq_country_code
        if not self.remote:
            return [home]
        other = pick(COUNTRIES, "remote-country", str(self.job_id))[0]
        return [home] if other == home else [home, other]

    @property
    def technology_slugs(self) -> list[str]:
        slugs = technology_slugs(self.company)
        return slugs[self.index % len(slugs) :][:3]

    def _location(self, country: str) -> dict[str, Any]:
        city = self.company.hq_city if country == self.company.hq_country_code else None
        name = (
            f"{city}, {COUNTRY_NAMES.get(country, country)}" if city else COUNTRY_NAMES.get(country, country)
        )
        return {
            "name": city or COUNTRY_NAMES.get(country, country),
            "state": None,
            "state_code": None,
            "country_code": country,
            "country_name": COUNTRY_NAMES.get(country, country),
            "display_name": name,
            "latitude": None,
            "longitude": None,
            "type": "city" if city else "country",
        }

    def record(self) -> dict[str, Any]:
        """The post as TheirStack's job search spells it."""
        company, people = self.company, staff(self.company)
        salary = 60_000 + digest("salary", str(self.job_id)) % 120_000
        locations = [self._location(country) for country in self.country_codes]
        manager = people[min(1 + self.index % 3, len(people) - 1)]
        recruiter = people[-1]
        return {
            "id": self.job_id,
            "job_title": self.title,
            "normalized_title": self.title.lower(),
            "company": company.name,
            "company_domain": company.domain,
            "url": f"https://jobs.theirstack.invalid/{self.job_id}",
            "final_url": f"{company.website}/careers/{slug(self.title)}-{self.index}",
            "source_url": f"https://www.linkedin.com/jobs/view/{self.job_id}",
            "date_posted": self.posted.isoformat(),
            "discovered_at": f"{self.posted.isoformat()}T06:00:00Z",
            "reposted": False,
            "date_reposted": None,
            "location": locations[0]["display_name"],
            "short_location": locations[0]["name"],
            "long_location": locations[0]["display_name"],
            "state_code": None,
            "postal_code": None,
            "latitude": None,
            "longitude": None,
            "cities": [company.hq_city],
            "locations": locations,
            "country": COUNTRY_NAMES.get(company.hq_country_code, company.hq_country_code),
            "country_code": company.hq_country_code,
            "countries": [COUNTRY_NAMES.get(code, code) for code in self.country_codes],
            "country_codes": self.country_codes,
            "remote": self.remote,
            "hybrid": not self.remote and self.index % 2 == 0,
            "seniority": self.seniority,
            "employment_statuses": ["full_time"],
            "easy_apply": self.index % 4 == 0,
            "salary_string": f"${salary // 1000}K - ${(salary + 30_000) // 1000}K",
            "min_annual_salary_usd": salary,
            "max_annual_salary_usd": salary + 30_000,
            "avg_annual_salary_usd": salary + 15_000,
            "salary_currency": "USD",
            "description": f"{company.name} is hiring a {self.title}. {company.description}",
            "technology_slugs": self.technology_slugs,
            "hiring_team": [
                {
                    "full_name": person.full_name,
                    "first_name": person.first_name,
                    "linkedin_url": person.linkedin_url,
                    "role": person.title,
                    "image_url": None,
                }
                for person in (manager, recruiter)
            ],
            "company_object": company_record(company),
            "manager_roles": [manager.title],
        }


def company_record(company: Company) -> dict[str, Any]:
    """The company as TheirStack describes it (company search, and embedded in each job post)."""
    jobs = open_jobs(company)
    return {
        "id": f"ts_{digest('ts-company', company.domain) % 10**8:08d}",
        "name": company.name,
        "domain": company.domain,
        "industry": company.industry,
        "country": COUNTRY_NAMES.get(company.hq_country_code, company.hq_country_code),
        "country_code": company.hq_country_code,
        "employee_count": company.employee_count,
        "employee_count_range": company.employee_range,
        "logo": f"https://logo.theirstack.invalid/{company.domain}.png",
        "linkedin_url": company.linkedin_url,
        "num_jobs": len(jobs) * 3,
        "num_jobs_last_30_days": sum(1 for job in jobs if job.posted >= DATA_AS_OF - timedelta(days=30)),
        "founded_year": company.founded_year,
        "annual_revenue_usd": 1_000_000 * (1 + digest("revenue-usd", company.domain) % 400),
        "total_funding_usd": 500_000 * (digest("funding-usd", company.domain) % 300),
        "last_funding_round_date": f"{2018 + digest('round', company.domain) % 7}-06-01",
        "funding_stage": pick(FUNDING_STAGES, "stage", company.domain),
        "city": company.hq_city,
        "long_description": company.description,
        "publicly_traded_symbol": None,
        "publicly_traded_exchange": None,
        "technology_slugs": technology_slugs(company),
        "technology_names": [tech["technology"]["name"] for tech in technologies(company)],
        "jobs_found": [{"job_title": job.title} for job in jobs[:5]],
    }


def open_jobs(company: Company) -> list[JobPost]:
    return [JobPost(company, index) for index in range(2 + digest("job-count", company.domain) % 7)]


def candidates(filters: dict[str, Any], named: list[Company]) -> list[Company]:
    """The companies a search considers: the ones it names, else a stable pool for its filter set."""
    if named:
        return named
    key = repr(sorted((name, repr(value)) for name, value in filters.items()))
    return [company_for_domain(domain) for domain in related_domains(key, "theirstack", SEARCH_POOL)]
