"""Départements and regions: every département in exactly one of the 18 regions."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from causerie.protocol.geo import REGIONS, REGIONS_BY_CODE, place_of

METROPOLITAN = [f"{n:02d}" for n in range(1, 96) if n != 20] + ["2A", "2B"]
OVERSEAS = ["971", "972", "973", "974", "976"]


def _department_of_every_postal_code() -> dict[str, set[str]]:
    """Every five-digit code that is a postal code, grouped by the region it lands in."""
    regions: dict[str, set[str]] = {}
    for number in range(100_000):
        place = place_of(f"{number:05d}")
        if place is not None:
            regions.setdefault(place.department, set()).add(place.region.code)
    return regions


def test_there_are_18_regions_13_in_metropolitan_france() -> None:
    assert len(REGIONS) == 18
    assert len({r.code for r in REGIONS}) == len({r.slug for r in REGIONS}) == 18
    assert len({r.name for r in REGIONS}) == 18
    assert len([r for r in REGIONS if int(r.code) > 10]) == 13
    assert set(REGIONS_BY_CODE) == {r.code for r in REGIONS}


def test_every_department_maps_to_exactly_one_region() -> None:
    found = _department_of_every_postal_code()
    assert set(found) == set(METROPOLITAN) | set(OVERSEAS)
    assert len(found) == 101
    assert all(len(regions) == 1 for regions in found.values())
    assert {code for regions in found.values() for code in regions} == set(REGIONS_BY_CODE)


def test_region_slugs_are_room_ids() -> None:
    for region in REGIONS:
        assert region.slug == region.slug.lower()
        assert all(c.isascii() and (c.isalnum() or c == "-") for c in region.slug)


@settings(deadline=None)  # a loaded CI machine must not turn slowness into failure
@given(st.text(max_size=12))
def test_place_of_never_raises(text: str) -> None:
    place = place_of(text)
    assert place is None or place.region in REGIONS
