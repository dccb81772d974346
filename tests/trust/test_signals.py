"""The minors fence's detector, pure: age claims, grooming signals, contact details, disguises."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causerie.moderation.forms import read
from causerie.trust import signals
from causerie.trust.signals import Detection, Signal

S = Signal


def detect(text: str) -> Detection:
    return signals.detect(read(text))


CLAIMS = [
    ("j'ai 14 ans", 14),
    ("J'ai 15ans et toi ?", 15),
    ("jai 13 ans", 13),
    ("moi 16 ans", 16),
    ("j'ai quatorze ans", 14),
    ("je vais avoir 15 ans", 14),
    ("15 ans, f, Lyon", 15),
    ("14 f", 14),
    ("I'm 14", 14),
    ("im 15 and u", 15),
    ("i am 16 years old", 16),
    ("je suis en 3e", 15),
    ("je suis en 3ème", 15),
    ("jsuis en quatrieme", 14),
    ("je suis au collège", 13),
    ("je suis collégienne", 13),
    ("je passe le brevet", 15),
    ("je suis en seconde", 16),
    ("I'm in 9th grade", 15),
    ("I'm in year 9", 14),
    ("je suis en 6e", 12),
    ("im in middle school", 13),
    ("je suis mineure", 17),
    ("I'm underage", 17),
    ("j'ai 12 ans", 12),
]

NOT_CLAIMS = [
    "j'ai 14 ans d'expérience",
    "j'ai 15 ans de plus que toi",
    "mon fils a 14 ans",
    "ma fille est en 3e",
    "je suis en première année de droit",
    "I'm 14 minutes away",
    "j'avais 14 ans quand j'ai vu ce film",
    "j'ai 34 ans",
    "I'm 25",
    "10 ans que je viens ici",
    "je suis première du classement",
]


@pytest.mark.parametrize(("text", "age"), CLAIMS)
def test_age_claims_are_read(text: str, age: int) -> None:
    claim = detect(text).age_claim
    assert claim is not None and claim.age == age


@pytest.mark.parametrize("text", NOT_CLAIMS)
def test_ages_that_are_not_a_claim_to_be_a_minor(text: str) -> None:
    assert detect(text).age_claim is None


SIGNALS = [
    ("t'as quel âge ?", S.ASK_AGE),
    ("how old r u", S.ASK_AGE),
    ("asl", S.ASK_LOCATION),
    ("tu habites où ?", S.ASK_LOCATION),
    ("where do u live", S.ASK_LOCATION),
    ("t'es dans quel collège ?", S.ASK_SCHOOL),
    ("what school do you go to", S.ASK_SCHOOL),
    ("envoie moi une photo de toi", S.ASK_PHOTO),
    ("send me a pic", S.ASK_PHOTO),
    ("allume ta cam", S.ASK_PHOTO),
    ("dis-le pas à tes parents", S.SECRECY),
    ("ne dis rien à personne", S.SECRECY),
    ("c'est notre petit secret", S.SECRECY),
    ("don't tell your parents", S.SECRECY),
    # A surprise for the reader, or kept from parents, is the grooming form of a secret.
    ("j'ai une surprise pour toi, dis le à personne", S.SECRECY),
    ("c'est pour ton anniversaire, dis rien à tes parents", S.SECRECY),
    ("on se voit samedi ?", S.MEETING),
    ("rdv à la gare", S.MEETING),
    ("je peux venir te chercher après les cours", S.MEETING),
    ("let's meet up", S.MEETING),
    # A group plan that singles someone out is still aimed at them.
    ("on se retrouve avec les autres, et après je te ramène chez moi", S.MEETING),
    ("everyone meet up at the park, then just us at my place", S.MEETING),
    ("rendez-vous à la gare demain", S.MEETING),
    ("ajoute moi sur snap", S.OFF_PLATFORM),
    ("t'as insta ?", S.OFF_PLATFORM),
    ("viens sur whatsapp", S.OFF_PLATFORM),
    ("donne moi ton num", S.OFF_PLATFORM),
    ("snap: jules_75", S.CONTACT_HANDLE),
    ("mon 06 12 34 56 78", S.CONTACT_HANDLE),
    ("+33 6 12 34 56 78", S.CONTACT_HANDLE),
    ("jules75 at gmail dot com", S.CONTACT_HANDLE),
    ("écris à jules@example.fr", S.CONTACT_HANDLE),
    ("https://example.org/x", S.LINK),
    ("regarde example[.]org", S.LINK),
    ("www.site.fr", S.LINK),
    ("t.me/jules", S.LINK),
    ("http://img.example/p.jpg", S.IMAGE),
    ("je te donne 50 euros", S.GIFTS_MONEY),
    ("je t'offre une recharge", S.GIFTS_MONEY),
    ("free robux", S.GIFTS_MONEY),
    ("I'll buy you a new phone", S.GIFTS_MONEY),
]


@pytest.mark.parametrize(("text", "signal"), SIGNALS)
def test_each_signal_is_found(text: str, signal: Signal) -> None:
    assert signal in detect(text).signals


BENIGN = [
    "salut tout le monde !",
    "le film était top, l'assassin se cache dans la police",
    "on est au point mort sur ce projet",
    "dis à ta mère que le gâteau était bon",
    "on voit bien que c'est faux",
    "tu peux voir le match ce soir ?",
    "j'adore cette chanson",
    "bonne nuit, à demain",
    "il fait beau à Scunthorpe",
    "les naps de l'après-midi, c'est sacré",
    "I like this song a lot",
    "what a great game yesterday",
    "ok.merci",
    "le train de 10h12 était en retard",
    # Meeting plans made with a group, aimed at nobody in particular.
    "on se retrouve devant le cinéma vers 20h avec les autres",
    "on se retrouve tous ensemble samedi sur la place",
    "everyone meet up at the trailhead at 7",
    # A surprise kept from the one it is for.
    "ne dis rien à ta sœur surtout, c'est une surprise pour ses 50 ans samedi",
    "don't tell anyone but im learning piano to surprise my wife on our anniversary",
]


@pytest.mark.parametrize("text", BENIGN)
def test_benign_text_carries_no_signal(text: str) -> None:
    detection = detect(text)
    assert detection.signals == frozenset()
    assert detection.age_claim is None


def test_a_mention_is_reported_apart_to_be_checked_against_who_is_online() -> None:
    detection = detect("@Bob_92 tu as vu le match ?")
    assert detection.mentions == ("bob_92",)
    assert S.CONTACT_HANDLE not in detection.signals
    # Next to another app's name, the same token is an account there.
    assert S.CONTACT_HANDLE in detect("@bob_92 sur insta").signals


# -- disguises --------------------------------------------------------------------------------

LEET = {"a": "4@", "e": "3€", "i": "1", "o": "0", "s": "5$", "t": "7"}
CYRILLIC = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у"}
SEPARATORS = [".", " ", "-", "_", "*", "\u200b"]

# An app's name alone is a mention (a faint signal, never a refusal); a disguised one is still
# read as that name.
TARGETS = [
    ("snapchat", S.APP_MENTION),
    ("whatsapp", S.APP_MENTION),
    ("telegram", S.APP_MENTION),
    ("instagram", S.APP_MENTION),
]


@st.composite
def disguised(draw: st.DrawFn) -> tuple[str, Signal]:
    word, signal = draw(st.sampled_from(TARGETS))
    letters = []
    for char in word:
        style = draw(st.sampled_from(["plain", "upper", "leet", "cyrillic", "double"]))
        if style == "upper":
            char = char.upper()
        elif style == "leet" and char in LEET:
            char = draw(st.sampled_from(list(LEET[char])))
        elif style == "cyrillic" and char in CYRILLIC:
            char = CYRILLIC[char]
        elif style == "double":
            char = char * 2
        letters.append(char)
    if draw(st.booleans()):
        separator = draw(st.sampled_from(SEPARATORS))
        text = separator.join(letters)
    else:
        text = "".join(letters)
    prefix = draw(st.sampled_from(["", "viens sur ", "ok ", "", "alors "]))
    return prefix + text, signal


@settings(max_examples=300, deadline=None)
@given(disguised())
def test_disguised_terms_are_still_found(case: tuple[str, Signal]) -> None:
    text, signal = case
    assert signal in detect(text).signals, text


@pytest.mark.parametrize(
    ("text", "signal"),
    [
        ("Sn@pch4t", S.APP_MENTION),
        ("s.n.a.p", S.APP_MENTION),
        ("ѕnар moi", S.OFF_PLATFORM),
        ("sn\u200bap", S.APP_MENTION),
        ("what sapp", S.APP_MENTION),
        ("r.d.v 14h", S.MEETING),
        ("on se v0it ?", S.MEETING),
        ("ＲＤＶ ce soir", S.MEETING),
        ("O6.12.34.56.78", S.CONTACT_HANDLE),
        ("0 6 1 2 3 4 5 6 7 8", S.CONTACT_HANDLE),
        ("h t t p s : / / x . com", S.LINK),
        ("example (.) com", S.LINK),
        ("env0ie une ph0t0", S.ASK_PHOTO),
        ("d1s le p4s à tes p4rents", S.SECRECY),
    ],
)
def test_known_disguises(text: str, signal: Signal) -> None:
    assert signal in detect(text).signals


def test_disguised_age_claims() -> None:
    for text in ("J'AI 14 ANS", "j'ai 1４ ans", "jai  14   ans", "j\u200bai 14 ans"):
        claim = detect(text).age_claim
        assert claim is not None and claim.age == 14, text


def test_detection_time_is_bounded_on_long_and_hostile_input() -> None:
    hostile = [
        "a " * 500,
        "s.n.a.p " * 120,
        "1" * 1000,
        "@" * 1000,
        "j'ai " * 200,
        ("tu " * 300) + "habites",
        "0 6 " * 250,
        "\u200b".join("x" * 500),
    ]
    detect("warm up the lazily built tables")
    for text in hostile:
        start = time.perf_counter()
        detect(text)
        assert time.perf_counter() - start < 0.05, text[:20]
