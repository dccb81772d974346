"""The rules of the protection of minors as pure functions, and the settings that hold them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from causerie.domain import AgeBand, Audience, Category
from causerie.errors import ErrorCode
from causerie.settings import MinorsSettings, Settings
from causerie.trust.policy import (
    RoomAccess,
    decayed,
    room_access,
    rule_private,
    rule_room_message,
)
from causerie.trust.signals import Signal

S = Signal
ADULT, TEEN, YOUNG = AgeBand.ADULT, AgeBand.TEEN, AgeBand.YOUNG_TEEN


def test_bands_sides_and_the_stricter_band() -> None:
    adult, teen, young = AgeBand.ADULT, AgeBand.TEEN, AgeBand.YOUNG_TEEN
    assert adult.stricter(teen) == teen
    assert young.stricter(teen) == young
    assert young.same_side(teen) and adult.same_side(adult)
    assert not teen.same_side(adult)
    assert teen.visible_ages == (13, 17)
    assert adult.visible_ages[0] == 18


@pytest.mark.parametrize(
    ("band", "audience", "verified", "expected"),
    [
        ("15-17", "adults", True, RoomAccess.ADULTS_ONLY),
        ("13-14", "teens", False, RoomAccess.ALLOWED),
        ("18+", "teens", True, RoomAccess.TEENS_ONLY),
        ("18+", "adults", False, RoomAccess.VERIFICATION_REQUIRED),
        ("18+", "adults", True, RoomAccess.ALLOWED),
        ("18+", "all", False, RoomAccess.ALLOWED),
        ("13-14", "all", False, RoomAccess.ALLOWED),
    ],
)
def test_room_access(band: str, audience: str, verified: bool, expected: RoomAccess) -> None:
    got = room_access(
        AgeBand(band), Audience(audience), verified=verified, verification_required=True
    )
    assert got is expected


def test_an_adults_link_handle_or_invitation_never_goes_where_minors_read() -> None:
    for signal in (S.LINK, S.IMAGE, S.CONTACT_HANDLE, S.OFF_PLATFORM, S.MEETING, S.ASK_PHOTO):
        ruling = rule_room_message(ADULT, "all", frozenset({signal}), adult_factor=2.0)
        assert ruling.refuse is ErrorCode.MINORS_PROTECTED
    # Escalated at once, except a plain link, which only counts towards the score.
    assert rule_room_message(ADULT, "all", frozenset({S.MEETING}), adult_factor=2.0).escalate
    assert not rule_room_message(ADULT, "all", frozenset({S.LINK}), adult_factor=2.0).escalate
    # Asking an age is delivered, and scored.
    asking = rule_room_message(ADULT, "all", frozenset({S.ASK_AGE}), adult_factor=2.0)
    assert asking.refuse is None and asking.weight == 3.0
    # Between adults, in their own rooms, the fence has nothing to say.
    assert not rule_room_message(
        ADULT, "adults", frozenset({S.LINK}), adult_factor=2.0
    ).involves_minor


def test_a_minors_own_contact_details_stay_out_of_all_ages_rooms_only() -> None:
    details = frozenset({S.CONTACT_HANDLE})
    assert (
        rule_room_message(TEEN, "all", details, adult_factor=2.0).refuse
        is ErrorCode.CONTACT_DETAILS_REFUSED
    )
    teen_room = rule_room_message(TEEN, "teens", details, adult_factor=2.0)
    assert teen_room.refuse is None and teen_room.weight > 0


def test_private_conversations_never_cross_the_adult_line() -> None:
    for author, recipient in (("18+", "13-14"), ("18+", "15-17"), ("15-17", "18+")):
        ruling = rule_private(AgeBand(author), AgeBand(recipient), frozenset(), adult_factor=2.0)
        assert ruling.refuse is ErrorCode.CONVERSATION_FORBIDDEN
    assert rule_private(ADULT, TEEN, frozenset(), adult_factor=2.0).weight > 0
    # The minor who tries is protected, not suspected.
    assert rule_private(TEEN, ADULT, frozenset(), adult_factor=2.0).weight == 0
    assert rule_private(TEEN, YOUNG, frozenset(), adult_factor=2.0).refuse is None


def test_risk_decays_with_a_half_life() -> None:
    assert decayed(8.0, 3600.0, 3600.0) == pytest.approx(4.0)
    assert decayed(8.0, 0.0, 3600.0) == 8.0


def test_categories_no_minor_receives() -> None:
    assert Category.SEXUAL.minor_floor == 0.35 and Category.CHILD_SAFETY.minor_floor == 0.5
    assert Category.SPAM.minor_floor is None and Category.DRUGS.minor_floor is None


@pytest.mark.parametrize(
    "looser",
    [
        {"risk_threshold": 20},
        {"adult_signal_factor": 1},
        {"risk_half_life_seconds": 60},
        {"device_memory_seconds": 60},
        {"address_memory_seconds": 60},
        {"age_token_max_seconds": 86_400},
        {"escalation_history": 5},
    ],
)
def test_operators_cannot_loosen_the_rules_in_settings(looser: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        MinorsSettings(**looser)  # type: ignore[arg-type]


def test_operators_can_make_the_rules_stricter() -> None:
    stricter_settings = Settings(minors={"risk_threshold": 5, "adult_signal_factor": 3})  # type: ignore[arg-type]
    assert stricter_settings.minors.risk_threshold == 5
    assert "memory_key" not in repr(Settings(minors={"memory_key": "secret"}).minors)  # type: ignore[arg-type]
