"""The sandbox's federal dockets (CourtListener): lawsuits naming a company, and bankruptcy petitions
filed day by day across the bankruptcy courts.

A docket is a function of what it was found by (a company name, or a filing day) and its position there;
its id is derived from the same, and every docket handed out is remembered by id so a later detail lookup
describes the very case a search listed. An id the sandbox never listed still answers, with a docket of
its own derived from the id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from dex.sandbox.market import DATA_AS_OF, STEMS, SUFFIXES
from dex.sandbox.world import FIRST_NAMES, LAST_NAMES, digest, pick

SITE = "https://www.courtlistener.com"
DISTRICT_COURTS = (
    ("nysd", "S.D.N.Y."),
    ("cand", "N.D. Cal."),
    ("ded", "D. Del."),
    ("txsd", "S.D. Tex."),
    ("ilnd", "N.D. Ill."),
)
BANKRUPTCY_COURTS: tuple[tuple[str, str], ...] = (
    ("deb", "Bankr. D. Del."),
    ("nysb", "Bankr. S.D.N.Y."),
    ("txsb", "Bankr. S.D. Tex."),
)
BANKRUPTCY_COURTS += (("njb", "Bankr. D.N.J."),)
COURT_NAMES = dict(DISTRICT_COURTS + BANKRUPTCY_COURTS)
CASE_KINDS = ("cv", "cv", "cv", "bk")
PETITIONS_PER_DAY = 3
FIRST_DOCKET_ID = 60_000_000


@dataclass(frozen=True)
class Docket:
    docket_id: int
    case_name: str
    court_id: str
    date_filed: date
    parties: tuple[str, ...]
    attorneys: tuple[str, ...]
    judge: str
    terminated: bool

    @property
    def docket_number(self) -> str:
        kind = "bk" if self.court_id.endswith("b") else "cv"
        return f"{self.date_filed.year % 100}-{kind}-{self.docket_id % 100_000:05d}"

    @property
    def absolute_url(self) -> str:
        short = "-".join(self.case_name.lower().replace(".", "").split()[:4])
        return f"/docket/{self.docket_id}/{short}/"

    def _dates(self) -> dict[str, str | None]:
        last = self.date_filed + timedelta(days=20 + self.docket_id % 200)
        return {
            "date_terminated": last.isoformat() if self.terminated else None,
            "date_last_filing": last.isoformat(),
        }

    def api_record(self) -> dict[str, Any]:
        """The docket as ``/dockets/`` spells it."""
        return {
            "id": self.docket_id,
            "case_name": self.case_name,
            "case_name_short": self.case_name.split(" v. ")[0],
            "court_id": self.court_id,
            "court_citation_string": COURT_NAMES[self.court_id],
            "docket_number": self.docket_number,
            "date_filed": self.date_filed.isoformat(),
            **self._dates(),
            "assigned_to_str": self.judge,
            "pacer_case_id": str(100_000 + self.docket_id % 900_000),
            "absolute_url": self.absolute_url,
        }

    def search_record(self, score: float) -> dict[str, Any]:
        """The docket as a RECAP search hit (``/search/?type=r``) spells it."""
        dates = self._dates()
        return {
            "docket_id": self.docket_id,
            "caseName": self.case_name,
            "court": COURT_NAMES[self.court_id],
            "court_id": self.court_id,
            "court_citation_string": COURT_NAMES[self.court_id],
            "docketNumber": self.docket_number,
            "dateFiled": self.date_filed.isoformat(),
            "dateTerminated": dates["date_terminated"],
            "assignedTo": self.judge,
            "party": list(self.parties),
            "attorney": list(self.attorneys),
            "pacer_case_id": str(100_000 + self.docket_id % 900_000),
            "docket_absolute_url": self.absolute_url,
            "meta": {"score": {"bm25": score}},
        }


_LISTED: dict[int, Docket] = {}


def _person(*key: str) -> str:
    return f"{pick(FIRST_NAMES, 'first', *key)} {pick(LAST_NAMES, 'last', *key)}"


def _company(*key: str) -> str:
    return f"{pick(STEMS, 's', *key).capitalize()}{pick(SUFFIXES, 'x', *key)} Inc."


def _docket(
    docket_id: int,
    case_name: str,
    court_id: str,
    filed: date,
    parties: tuple[str, ...],
    *,
    listing: bool = True,
) -> Docket:
    key = str(docket_id)
    docket = Docket(
        docket_id=docket_id,
        case_name=case_name,
        court_id=court_id,
        date_filed=filed,
        parties=parties,
        attorneys=tuple(f"{_person('attorney', key, str(i))}, Esq." for i in range(2)),
        judge=f"Hon. {_person('judge', key)}",
        terminated=digest("terminated", key) % 3 == 0,
    )
    if listing:
        _LISTED[docket_id] = docket
    return docket


def lawsuits(company_name: str) -> list[Docket]:
    """Dockets naming ``company_name`` as a party: none to five, in district courts or (now and then) as a
    bankruptcy debtor."""
    key = company_name.strip().lower()
    found = []
    for index in range(digest("lawsuits", key) % 6):
        docket_id = FIRST_DOCKET_ID + digest("docket", key, str(index)) % 30_000_000
        kind = pick(CASE_KINDS, "kind", key, str(index))
        filed = DATA_AS_OF - timedelta(days=30 + digest("filed", key, str(index)) % 2_000)
        if kind == "bk":
            court, _ = pick(BANKRUPTCY_COURTS, "court", key, str(index))
            found.append(_docket(docket_id, f"In re: {company_name}", court, filed, (company_name,)))
            continue
        court, _ = pick(DISTRICT_COURTS, "court", key, str(index))
        opponent = _company("opponent", key, str(index))
        plaintiff, defendant = (opponent, company_name) if index % 2 == 0 else (company_name, opponent)
        found.append(_docket(docket_id, f"{plaintiff} v. {defendant}", court, filed, (plaintiff, defendant)))
    return found


def petitions(day: date) -> list[Docket]:
    """The bankruptcy petitions filed on ``day``, one court after another."""
    found = []
    for index in range(PETITIONS_PER_DAY):
        key = (day.isoformat(), str(index))
        debtor = _company("debtor", *key)
        court, _ = pick(BANKRUPTCY_COURTS, "court", *key)
        docket_id = FIRST_DOCKET_ID + 30_000_000 + digest("petition", *key) % 30_000_000
        found.append(_docket(docket_id, f"In re: {debtor}", court, day, (debtor,)))
    return found


def listed(docket_id: int) -> bool:
    """Whether a search or scan handed out this docket (its detail is then always there)."""
    return docket_id in _LISTED


def docket(docket_id: int) -> Docket:
    """The docket listed under ``docket_id``, or one derived from the id alone."""
    if docket_id in _LISTED:
        return _LISTED[docket_id]
    key = str(docket_id)
    plaintiff, defendant = _company("plaintiff", key), _company("defendant", key)
    court, _ = pick(DISTRICT_COURTS, "court", key)
    filed = DATA_AS_OF - timedelta(days=digest("filed", key) % 2_000)
    return _docket(
        docket_id, f"{plaintiff} v. {defendant}", court, filed, (plaintiff, defendant), listing=False
    )
