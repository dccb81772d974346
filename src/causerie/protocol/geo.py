"""French postal codes to département and region (2016 regions, INSEE codes)."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    name: str
    slug: str


@dataclass(frozen=True, slots=True)
class Place:
    department: str
    region: Region


_REGION_DEPARTMENTS: dict[tuple[str, str, str], tuple[str, ...]] = {
    ("84", "Auvergne-Rhône-Alpes", "auvergne-rhone-alpes"): (
        "01", "03", "07", "15", "26", "38", "42", "43", "63", "69", "73", "74",
    ),
    ("27", "Bourgogne-Franche-Comté", "bourgogne-franche-comte"): (
        "21", "25", "39", "58", "70", "71", "89", "90",
    ),
    ("53", "Bretagne", "bretagne"): ("22", "29", "35", "56"),
    ("24", "Centre-Val de Loire", "centre-val-de-loire"): ("18", "28", "36", "37", "41", "45"),
    ("94", "Corse", "corse"): ("2A", "2B"),
    ("44", "Grand Est", "grand-est"): (
        "08", "10", "51", "52", "54", "55", "57", "67", "68", "88",
    ),
    ("32", "Hauts-de-France", "hauts-de-france"): ("02", "59", "60", "62", "80"),
    ("11", "Île-de-France", "ile-de-france"): ("75", "77", "78", "91", "92", "93", "94", "95"),
    ("28", "Normandie", "normandie"): ("14", "27", "50", "61", "76"),
    ("75", "Nouvelle-Aquitaine", "nouvelle-aquitaine"): (
        "16", "17", "19", "23", "24", "33", "40", "47", "64", "79", "86", "87",
    ),
    ("76", "Occitanie", "occitanie"): (
        "09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82",
    ),
    ("52", "Pays de la Loire", "pays-de-la-loire"): ("44", "49", "53", "72", "85"),
    ("93", "Provence-Alpes-Côte d'Azur", "provence-alpes-cote-d-azur"): (
        "04", "05", "06", "13", "83", "84",
    ),
    ("01", "Guadeloupe", "guadeloupe"): ("971",),
    ("02", "Martinique", "martinique"): ("972",),
    ("03", "Guyane", "guyane"): ("973",),
    ("04", "La Réunion", "la-reunion"): ("974",),
    ("06", "Mayotte", "mayotte"): ("976",),
}  # fmt: skip

REGIONS: tuple[Region, ...] = tuple(Region(*key) for key in _REGION_DEPARTMENTS)
_DEPARTMENT_REGION: dict[str, Region] = {
    department: Region(*key)
    for key, departments in _REGION_DEPARTMENTS.items()
    for department in departments
}
REGIONS_BY_CODE: dict[str, Region] = {region.code: region for region in REGIONS}
_POSTAL = re.compile(r"[0-9]{5}")


def place_of(postal_code: str) -> Place | None:
    """The département and region of a French postal code, or None if it is not one."""
    code = postal_code.strip().replace(" ", "")
    if not _POSTAL.fullmatch(code):
        return None
    if code.startswith("97"):
        department = code[:3]
    elif code.startswith("20"):
        # Corsica shares the prefix 20: Corse-du-Sud below 20200, Haute-Corse from it.
        department = "2A" if int(code) < 20200 else "2B"
    else:
        department = code[:2]
    region = _DEPARTMENT_REGION.get(department)
    if region is None:
        return None
    return Place(department=department, region=region)
