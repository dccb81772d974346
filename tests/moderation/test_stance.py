"""Warnings and news name a harm without doing it; a warning that asks something is no warning."""

from __future__ import annotations

import pytest

from causerie.moderation.forms import read
from causerie.moderation.stance import warns

WARNINGS = [
    "si on vous propose de l'argent facile sur insta c'est une arnaque, signalez le compte",
    "watch out for fake parcel delivery texts, its phishing",
    "if someone online offers u money for easy work its a scam, report it",
    "au journal ils parlaient d'un guet-apens monté avec une fausse annonce",
    "my uncle's bike got stolen, plate AB-123-CD, tell the police if u see it",
    "méfiez-vous des faux comptes qui demandent des codes",
    "never click those links, they steal accounts",
    # Someone reporting what they received speaks in the first person and asks nothing.
    "j'ai reçu un SMS qui dit que mon colis est bloqué, payer 2€, c'est une arnaque hein ?",
    "got a text saying i won a voucher, pretty sure its a scam, reported it",
    "report this account pls, they dmed me a fake gift link, dont click it",
    "les arnaques au faux conseiller se multiplient, raccrochez et rappelez votre banque",
]

NOT_WARNINGS = [
    # Scams and lures use "attention" and urgency, not the name of the harm.
    "attention votre compte sera suspendu, cliquez ici",
    "envoie 50 euros par paypal et je te livre demain",
    "viens seul au parking ce soir",
    "send pics or i report you",
    # A warning put in front of a request for its author is the first thing an attacker tries.
    "c'est une arnaque ce site, ajoute moi plutôt sur snap",
    "its a scam lol, on se voit samedi",
    "thats fraud, let's talk somewhere else",
    "j'ai reçu le même, c'est une arnaque, moi je fais des vrais prix, écris moi",
    "i got that text too, its a scam, dm me for the real deal",
    # "con" is also French for an idiot.
    "c'est un con",
]


@pytest.mark.parametrize("text", WARNINGS)
def test_warnings_and_news_are_read_as_such(text: str) -> None:
    assert warns(read(text))


@pytest.mark.parametrize("text", NOT_WARNINGS)
def test_requests_and_lures_are_not_warnings(text: str) -> None:
    assert not warns(read(text))
