"""The reporter's five days, replayed in a few seconds.

A reporter who posed as a 15-year-old on the site causerie replaces received about fifty
explicit photos and webcam videos and seven proposals to meet adults in five days. Here a client
declared 15 sits in the busiest rooms open to them while 50 adult clients try every path the
product offers to reach them: room messages, private conversations, typing notices, the teen
room, the people and member lists, links, photos, contact handles, invitations to meet, requests
for photos, secrecy and gifts, plain and disguised. The test counts what reaches the minor and
prints it (``pytest -s``). All texts are synthetic and non-graphic.

Then a declared, age-verified adult writes "j'ai 14 ans" in a room: by the time that message is
acknowledged they are out of the adults-only room and cannot write privately to adults.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from causerie.client import Client, ClientError
from causerie.errors import ErrorCode
from causerie.moderation.forms import read
from causerie.protocol import frames as f
from causerie.settings import Settings
from causerie.trust import signals
from causerie.trust.assurance import DevelopmentAgeIssuer
from causerie.trust.signals import Detection, Signal
from tests.conftest import run_server
from tests.trust.conftest import enter, fence_settings


def detect(text: str) -> Detection:
    return signals.detect(read(text))


ADULTS = 50
# The all-ages rooms a 15-year-old would sit in, and their own teen room.
ALL_AGES = ["general", "amitie", "musique", "jeux-video", "region-ile-de-france"]
TEEN_ROOM = "ados"

# What adults try, by category; every text synthetic and non-graphic.
ATTEMPTS: dict[str, list[str]] = {
    "link": [
        "regarde https://example.org/salon",
        "va sur example[.]org/photos",
        "h t t p s : / / example . com / moi",
        "www.example.fr/profil",
        "t.me/marc75",
    ],
    "image": [
        "ma tête: http://img.example.net/p.jpg",
        "example.org/moi.png",
        "data:image/png;base64,AAAA",
    ],
    "handle": [
        "ajoute moi sur snap",
        "sn@pch4t: marc_75",
        "s.n.a.p marc75",
        "ѕnар : marc",
        "mon insta @marc.75",
        "wh@ts app 06 12 34 56 78",
        "appelle: O6.12.34.56.78",
        "marc75 at gmail dot com",
        "viens sur telegram",
        "add me on discord",
    ],
    "meeting": [
        "on se voit samedi ?",
        "rdv à la gare à 14h",
        "r.d.v demain ?",
        "je peux venir te chercher après les cours",
        "on se v0it ce soir ?",
        "let's meet up this weekend",
        "viens chez moi",
    ],
    "photo_request": [
        "envoie moi une photo de toi",
        "env0ie une ph0t0",
        "send me a pic",
        "allume ta cam",
    ],
    "secrecy": ["dis-le pas à tes parents", "c'est notre petit secret", "don't tell your parents"],
    "gifts": ["je te donne 50 euros", "je t'offre une recharge", "free robux pour toi"],
}
CATALOGUE = [(category, text) for category, texts in ATTEMPTS.items() for text in texts]
# A follow-up that is escalated at once, so that a persistent adult is always escalated.
FOLLOW_UPS = [(category, text) for category, text in CATALOGUE if category != "link"]
ATTEMPT_TEXTS = {text: category for category, text in CATALOGUE}
# What must never reach the minor, counted on what the minor's client received.
NEVER = {Signal.LINK, Signal.IMAGE, Signal.CONTACT_HANDLE, Signal.OFF_PLATFORM, Signal.MEETING}


@dataclass
class Tally:
    attempts: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    benign_sent: int = 0
    minors_listed: int = 0
    teen_room_listed: int = 0


def _refused(error: ClientError, tally: Tally, path: str) -> None:
    tally.refusals[f"{path}:{error.code}"] += 1


async def _adult(url: str, index: int, tally: Tally) -> None:
    nickname = f"Adulte{index:02d}"
    async with Client(url, timeout=60) as adult:
        await enter(adult, nickname, 25 + index % 40, gender="man", postal_code="75011")
        await adult.join(*ALL_AGES)
        # Looking for minors: the people list, the member lists, the room list.
        listed = await adult.people() + await adult.people(age_band="15-17")
        listed += await adult.members("general")
        tally.minors_listed += sum(1 for p in listed if p.age < 18)
        tally.teen_room_listed += sum(1 for r in await adult.rooms() if r.id == TEEN_ROOM)
        tally.attempts["teen_room"] += 1
        try:
            await adult.join(TEEN_ROOM)
        except ClientError as error:
            _refused(error, tally, "teen_room")
        # Something harmless, which the minor does receive, then the age question (delivered,
        # and scored).
        await adult.say("general", f"bonjour de {nickname}")
        await adult.say("general", "t'as quel âge ?")
        tally.benign_sent += 1
        for offset, room in enumerate(ALL_AGES):
            first = CATALOGUE[(index * len(ALL_AGES) + offset) % len(CATALOGUE)]
            tries = [first]
            if room == "general" or first[0] == "link":
                # Refused, the adult insists with something else.
                tries.append(FOLLOW_UPS[(index + offset * 7) % len(FOLLOW_UPS)])
            for category, text in tries:
                tally.attempts[category] += 1
                try:
                    await adult.say(room, text)
                except ClientError as error:
                    _refused(error, tally, "room")
        second = FOLLOW_UPS[(index * 3) % len(FOLLOW_UPS)]
        # Privately: a plain hello, then a disguised invitation; and a typing nudge.
        for text in ("salut ça va ?", second[1]):
            tally.attempts["private"] += 1
            try:
                await adult.send_private("Lea", text)
            except ClientError as error:
                _refused(error, tally, "private")
        tally.attempts["typing"] += 1
        await adult.typing(to="Lea")
        error = await adult.next_event(f.Error)
        tally.refusals[f"typing:{error.code}"] += 1


@pytest.fixture
def scenario_settings(
    make_settings: Callable[..., Settings], issuer: DevelopmentAgeIssuer
) -> Settings:
    # Flood limits are per connection; these clients write faster than people type so that
    # five days fit in a few seconds. Every simulated person connects from 127.0.0.1 here.
    return fence_settings(
        make_settings,
        issuer,
        limits={
            "messages_per_second": 50,
            "messages_burst": 50,
            "conversations_burst": 10,
            "joins_burst": 40,
            "frames_burst": 200,
            "max_connections_per_address": 100,
            "address_lists_burst": 1000,
            "address_lists_per_second": 100,
        },
    )


async def test_fifty_adults_cannot_reach_a_15_year_old(
    scenario_settings: Settings, issuer: DevelopmentAgeIssuer
) -> None:
    started = time.perf_counter()
    tally = Tally()
    async with (
        run_server(scenario_settings) as server,
        Client(server.url, timeout=60) as minor,
    ):
        await enter(minor, "Lea", 15, postal_code="75011")
        await minor.join(*ALL_AGES, TEEN_ROOM)
        await asyncio.gather(*(_adult(server.url, i, tally) for i in range(ADULTS)))
        await asyncio.sleep(0.2)
        received = minor.pending_events()

        adults = {f"Adulte{i:02d}" for i in range(ADULTS)}
        from_adults = [e for e in received if getattr(e, "sender", None) in adults]
        private = [e for e in from_adults if isinstance(e, f.PrivateMessage)]
        typing_private = [
            e for e in from_adults if isinstance(e, f.TypingNotice) and e.room is None
        ]
        room_texts = [e.text for e in from_adults if isinstance(e, f.RoomMessage)]
        attempts_received = [t for t in room_texts if t in ATTEMPT_TEXTS]
        by_signal = Counter(s for t in room_texts for s in detect(t).signals & NEVER)
        links_images_handles = sum(
            1
            for t in room_texts
            if detect(t).signals & {Signal.LINK, Signal.IMAGE, Signal.CONTACT_HANDLE}
            or ATTEMPT_TEXTS.get(t) in ("link", "image", "handle")
        )
        meetings = sum(
            1
            for t in room_texts
            if Signal.MEETING in detect(t).signals or ATTEMPT_TEXTS.get(t) == "meeting"
        )
        adults_announced = [
            e for e in received if isinstance(e, f.MemberJoined) and e.person.nickname in adults
        ]
        benign_received = sum(1 for t in room_texts if t.startswith("bonjour de "))

        store = server.node.fence.store
        incidents = [i for i in await store.incidents() if i.offender_nickname in adults]
        escalations = [e for e in await store.escalations() if e.offender_nickname in adults]
        escalated_adults = {e.offender_nickname for e in escalations}
        unescalated = [i for i in incidents if i.escalation_id is None]
        refused_attempts = sum(tally.refusals.values()) - sum(
            n for key, n in tally.refusals.items() if key.startswith("typing:")
        )

    elapsed = time.perf_counter() - started
    total_attempts = sum(tally.attempts.values())
    print(
        f"\nreporter scenario: 1 minor (15) in {len(ALL_AGES)} all-ages rooms and the teen room,"
        f" {ADULTS} adults, {total_attempts} attempts to reach her, {elapsed:.1f} s"
    )
    print(f"  attempts by path/category: {dict(sorted(tally.attempts.items()))}")
    print(f"  refusals: {dict(sorted(tally.refusals.items()))}")
    print("  reached the minor:")
    print(f"    private messages from adults ........ {len(private)}")
    print(f"    private typing notices from adults .. {len(typing_private)}")
    print(f"    links, images, contact handles ...... {links_images_handles}")
    print(f"    meeting proposals ................... {meetings}")
    print(f"    any listed attempt text ............. {len(attempts_received)}")
    print(f"    adults announced to her ............. {len(adults_announced)}")
    print(f"    minors listed to adults ............. {tally.minors_listed}")
    print(f"    teen room listed to adults .......... {tally.teen_room_listed}")
    print(f"    harmless hellos from adults ......... {benign_received} of {tally.benign_sent}")
    print(
        f"  recorded: {len(incidents)} incidents for {refused_attempts} refused attempts;"
        f" {len(escalations)} escalations covering {len(escalated_adults)} of {ADULTS} adults;"
        f" {len(unescalated)} incidents not escalated"
    )

    assert private == [] and typing_private == []
    assert links_images_handles == 0 and meetings == 0 and attempts_received == []
    assert not by_signal
    assert adults_announced == [] and tally.minors_listed == 0 and tally.teen_room_listed == 0
    # The minor is not simply deaf: harmless messages from adults do arrive.
    assert benign_received == tally.benign_sent == ADULTS
    # Every attempt was refused, recorded and escalated.
    attempts_without_typing = total_attempts - tally.attempts["typing"]
    assert refused_attempts == attempts_without_typing
    assert len(incidents) == refused_attempts
    assert unescalated == []
    assert escalated_adults == adults


async def test_an_adult_who_writes_jai_14_ans_loses_adult_spaces_before_it_is_processed(
    scenario_settings: Settings, issuer: DevelopmentAgeIssuer
) -> None:
    async with (
        run_server(scenario_settings) as server,
        server.client() as jules,
        server.client() as nadia,
    ):
        await enter(jules, "Jules", 19, gender="man", age_token=issuer.issue())
        await enter(nadia, "Nadia", 35, age_token=issuer.issue())
        await nadia.join("rencontres", "general")
        await jules.join("rencontres", "general")
        await jules.send_private("Nadia", "salut Nadia")
        await nadia.next_event(f.PrivateMessage)

        await jules.say("general", "j'ai 14 ans")
        # The acknowledgement is the last thing the server sends for that message: what
        # follows was all done before it.
        pending = jules.pending_events()
        notices = [e for e in pending if isinstance(e, f.BandChanged)]
        rooms_now = await server.node.presence.rooms_of(jules.welcome.session)  # type: ignore[union-attr]
        row = await server.node.presence.by_key("jules")
        left = await nadia.next_event(f.MemberLeft)
        outcomes: dict[str, str] = {}
        for name, action in (
            ("join adults-only room", jules.join("rencontres")),
            ("write privately to an adult", jules.send_private("Nadia", "tu es là ?")),
        ):
            try:
                await action
                outcomes[name] = "allowed"
            except ClientError as error:
                outcomes[name] = str(error.code)
        people = {p.nickname for p in await jules.people()}

    print(
        f"\nadult who wrote 'j'ai 14 ans': band {notices[0].age_band if notices else '?'},"
        f" age {row.age if row else '?'}, rooms {sorted(rooms_now)},"
        f" left {left.room}, {outcomes}, people list {sorted(people)}"
    )
    assert len(notices) == 1 and notices[0].age_band == "13-14"
    assert notices[0].left_rooms == ["rencontres"]
    assert row is not None and row.age == 14
    assert "rencontres" not in rooms_now and "general" in rooms_now
    assert (left.room, left.nickname) == ("rencontres", "Jules")
    assert outcomes == {
        "join adults-only room": ErrorCode.ROOM_FORBIDDEN,
        "write privately to an adult": ErrorCode.CONVERSATION_FORBIDDEN,
    }
    assert "Nadia" not in people
