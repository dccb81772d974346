"""The rules of the protection of minors as pure functions, and the settings that hold them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from causerie.errors import ErrorCode
from causerie.settings import MinorsSettings, Settings
from causerie.trust.policy import (
    RoomAccess,
    decayed,
    never_to_minor,
    people_age_range,
    room_access,
    rule_private,
    rule_room_message,
    same_side,
    stricter,
)
from causerie.trust.signals import Signal

S = Signal


def test_bands_sides_and_the_stricter_band() -> None:
    assert stricter("18+", "15-17") == "15-17"
    assert stricter("13-14", "15-17") == "13-14"
    assert same_side("13-14", "15-17") and same_side("18+", "18+")
    assert not same_side("15-17", "18+")
    assert people_age_range("15-17") == (13, 17)
    assert people_age_range("18+")[0] == 18


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
    got = room_access(band, audience, verified=verified, verification_required=True)  # type: ignore[arg-type]
    assert got is expected


def test_an_adults_link_handle_or_invitation_never_goes_where_minors_read() -> None:
    for signal in (S.LINK, S.IMAGE, S.CONTACT_HANDLE, S.OFF_PLATFORM, S.MEETING, S.ASK_PHOTO):
        ruling = rule_room_message("18+", "all", frozenset({signal}), adult_factor=2.0)
        assert ruling.refuse is ErrorCode.MINORS_PROTECTED
    # Escalated at once, except a plain link, which only counts towards the score.
    assert rule_room_message("18+", "all", frozenset({S.MEETING}), adult_factor=2.0).escalate
    assert not rule_room_message("18+", "all", frozenset({S.LINK}), adult_factor=2.0).escalate
    # Asking an age is delivered, and scored.
    asking = rule_room_message("18+", "all", frozenset({S.ASK_AGE}), adult_factor=2.0)
    assert asking.refuse is None and asking.weight == 3.0
    # Between adults, in their own rooms, the fence has nothing to say.
    assert not rule_room_message(
        "18+", "adults", frozenset({S.LINK}), adult_factor=2.0
    ).involves_minor


def test_a_minors_own_contact_details_stay_out_of_all_ages_rooms_only() -> None:
    details = frozenset({S.CONTACT_HANDLE})
    assert (
        rule_room_message("15-17", "all", details, adult_factor=2.0).refuse
        is ErrorCode.CONTACT_DETAILS_REFUSED
    )
    teen_room = rule_room_message("15-17", "teens", details, adult_factor=2.0)
    assert teen_room.refuse is None and teen_room.weight > 0


def test_private_conversations_never_cross_the_adult_line() -> None:
    for author, recipient in (("18+", "13-14"), ("18+", "15-17"), ("15-17", "18+")):
        ruling = rule_private(author, recipient, frozenset(), adult_factor=2.0)  # type: ignore[arg-type]
        assert ruling.refuse is ErrorCode.CONVERSATION_FORBIDDEN
    assert rule_private("18+", "15-17", frozenset(), adult_factor=2.0).weight > 0
    # The minor who tries is protected, not suspected.
    assert rule_private("15-17", "18+", frozenset(), adult_factor=2.0).weight == 0
    assert rule_private("15-17", "13-14", frozenset(), adult_factor=2.0).refuse is None


def test_risk_decays_with_a_half_life() -> None:
    assert decayed(8.0, 3600.0, 3600.0) == pytest.approx(4.0)
    assert decayed(8.0, 0.0, 3600.0) == 8.0


def test_labels_no_minor_receives() -> None:
    assert never_to_minor(("sexual",))
    assert never_to_minor(("child_safety:grooming",))
    assert not never_to_minor(("spam", "drugs"))


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
