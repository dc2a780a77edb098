"""The sandbox's motor carriers (FMCSA): a fixed registry of USDOT numbers, each carrier derived from its
number alone, so a name search and a later lookup by number describe the same carrier."""

from __future__ import annotations

from dataclasses import dataclass

from dex.sandbox.market import DATA_AS_OF
from dex.sandbox.world import digest, pick

FIRST_DOT = 1_000_003
REGISTRY_SIZE = 2_000
NAME_STEMS: tuple[str, ...] = (
    "Apex",
    "Cobalt",
    "Summit",
    "Harbor",
    "Prairie",
    "Granite",
    "Redline",
    "Bluewater",
)
NAME_STEMS += ("Ironhorse", "Eagle", "Frontier", "Lakeshore", "Pioneer", "Silverline", "Keystone", "Cedar")
NAME_KINDS = ("Trucking", "Freight", "Logistics", "Transport", "Hauling", "Express", "Carriers", "Lines")
NAME_FORMS = ("LLC", "Inc", "Co", "Corp")
CITIES = (
    ("Dallas", "TX", "752"),
    ("Memphis", "TN", "381"),
    ("Columbus", "OH", "432"),
    ("Atlanta", "GA", "303"),
    ("Reno", "NV", "895"),
    ("Joliet", "IL", "604"),
    ("Fresno", "CA", "937"),
    ("Omaha", "NE", "681"),
)
BASICS = (
    "Unsafe Driving",
    "Hours-of-Service Compliance",
    "Driver Fitness",
    "Controlled Substances/Alcohol",
    "Vehicle Maintenance",
    "Crash Indicator",
)


@dataclass(frozen=True)
class Carrier:
    dot_number: int

    def _pick(self, seq: tuple[str, ...], part: str) -> str:
        return pick(seq, "carrier", part, str(self.dot_number))

    def _number(self, part: str, modulo: int) -> int:
        return digest("carrier", part, str(self.dot_number)) % modulo

    @property
    def legal_name(self) -> str:
        stem, kind = self._pick(NAME_STEMS, "stem"), self._pick(NAME_KINDS, "kind")
        return f"{stem} {kind} {self._pick(NAME_FORMS, 'form')}".upper()

    @property
    def dba_name(self) -> str | None:
        return (
            f"{self._pick(NAME_STEMS, 'stem')} {self._pick(NAME_KINDS, 'dba')}".upper()
            if self._number("has_dba", 3) == 0
            else None
        )

    @property
    def out_of_service(self) -> bool:
        return self._number("oos", 12) == 0

    def record(self) -> dict[str, object]:
        """The registration record as QCMobile spells it."""
        city, state, zip_prefix = pick(CITIES, "carrier", "city", str(self.dot_number))
        buses, vans = self._number("bus", 3), self._number("van", 5)
        return {
            "dotNumber": self.dot_number,
            "legalName": self.legal_name,
            "dbaName": self.dba_name,
            "allowToOperate": "N" if self.out_of_service else "Y",
            "outOfService": "Y" if self.out_of_service else "N",
            "outOfServiceDate": f"{DATA_AS_OF.year - 1}-0{1 + self._number('oosm', 9)}-15"
            if self.out_of_service
            else None,
            "totalDrivers": 2 + self._number("drivers", 400),
            "totalPowerUnits": 1 + self._number("units", 300),
            "busVehicle": buses,
            "vanVehicle": vans,
            "passengerVehicle": buses + vans,
            "phyStreet": f"{100 + self._number('street', 9000)} Industrial Pkwy",
            "phyCity": city,
            "phyState": state,
            "phyZipcode": f"{zip_prefix}{self._number('zip', 100):02d}",
            "phyCountry": "US",
            "telephone": f"({200 + self._number('area', 700)}) 555-{self._number('line', 10000):04d}",
            "complaintCount": self._number("complaints", 6),
        }

    def basics(self) -> list[dict[str, object]]:
        scores = []
        for basic in BASICS:
            score = self._number(f"pct:{basic}", 101)
            scores.append(
                {
                    "basicShortDesc": basic,
                    "percentile": str(score) if self._number(f"measured:{basic}", 5) else "inconclusive",
                    "violationCount": self._number(f"viol:{basic}", 20),
                    "seriousViolationCount": self._number(f"serious:{basic}", 3),
                    "rdDeficient": "Y" if score >= 80 else "N",
                }
            )
        return scores

    def authority(self) -> dict[str, object]:
        active = not self.out_of_service
        return {
            "authorityStatus": "A" if active else "I",
            "authorityGrantDate": f"{2000 + self._number('granted', 25)}-0{1 + self._number('gm', 9)}-01",
            "commonAuthorityStatus": "A" if active else "N",
        }


def carrier(dot_number: int) -> Carrier:
    return Carrier(dot_number)


def registry() -> list[Carrier]:
    return [Carrier(FIRST_DOT + 7 * index) for index in range(REGISTRY_SIZE)]


def carriers_named(name: str) -> list[Carrier]:
    """Registry carriers whose legal or DBA name holds every word of ``name``, as QCMobile's name search."""
    words = [word for word in name.upper().replace(",", " ").split() if word]
    if not words:
        return []

    def matches(c: Carrier) -> bool:
        names = f"{c.legal_name} {c.dba_name or ''}"
        return all(word in names.split() for word in words)

    return [c for c in registry() if matches(c)]
