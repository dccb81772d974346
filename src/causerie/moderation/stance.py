"""Whether a text warns against a harm or reports on one, rather than doing it.

"Watch out for fake parcel texts, it's phishing", "si on vous propose de l'argent facile sur
insta c'est une arnaque, signalez le compte", "au journal ils parlaient d'un guet-apens": the
words of a scam, a lure or a plate number, said to protect people. Both the minors fence (a
request to move apps is not one when the text tells people to report it) and the model stage
(which reads the topic, not the stance) ask this question.

Only phrasings that a scammer or a lurer has no use for count: naming the harm for what it is
("c'est une arnaque", "it's a scam"), telling people to report it or call the police, and
reporting the news. "Attention" alone is not one: "attention, votre compte sera suspendu" is
itself a scam. Nor is a warning whose author asks something for themselves ("c'est une arnaque,
ajoute moi plutôt sur snap"): prepending a warning is the first thing an attacker tries.
"""

from __future__ import annotations

import re

from causerie.moderation.forms import Forms

_HARM = (
    r"(?:une |un |de l |du |des |a |an |the )?(?:arnaque|arnaques|escroquerie|phishing"
    r"|hameconnage|piege|fraude|faux comptes|faux compte|grooming|guet apens|scam|scams|fraud"
    r"|trap|fake|fake account)"
)
_WARNING = re.compile(
    "|".join(
        (
            rf"\b(?:c est|c etait|ce sont|cest|it s|its|it was|that s|thats|this is) {_HARM}\b",
            rf"\b(?:attention|mefiez vous|mefie toi|mefiez vous des|beware of|watch out for"
            rf"|be careful of|careful with) (?:les |aux |the )?{_HARM}\b",
            r"\bscam alert\b|\balerte arnaque\b",
            # A kind of scam named as the subject: "les arnaques au faux conseiller".
            r"\b(?:les|des|ces) (?:arnaques|escroqueries) (?:au|aux|a la|du|de|par|sur)\b",
            r"\b(?:raccrochez|raccroche|hang up) (?:et|and)\b",
            r"\b(?:signalez|signale|signalez le|signalez la|signaler|report) (?:le|la|les|l|ce"
            r"|cette|ces|it|them|the|this|that|him|her|to)\b",
            r"\b(?:hit|use|press|click) the report\b|\bbouton signaler\b",
            r"\b(?:prevenez|previens|appelez|appelle|contactez|tell|call|contact) (?:la police"
            r"|le 17|les gendarmes|the police|the cops|911|999|112)\b",
            r"\b(?:portez|porte|porter|deposer) plainte\b",
            r"\b(?:au journal|aux infos|dans le journal|a la tele|reportage|un article|l article"
            r"|faits divers|on the news|in the news|news report|documentary|an article"
            r"|the article)\b",
            r"\b(?:ne|n) (?:repondez|reponds|cliquez|clique|donnez|donne|envoyez|envoie)"
            r" (?:jamais|pas|rien)\b",
            r"\bnever (?:click|reply to|answer|give|send|share|pay)\b",
            r"\b(?:don t|dont|do not) (?:click|reply to|answer|fall for|pay)\b",
        )
    )
)


# "C'est une arnaque lol, ajoute moi sur snap", "its a scam, on se voit samedi": a warning that
# asks something for its author (or for "us") is no warning. Possessives stay ("my uncle's bike
# was stolen, tell the police").
_AUTHOR_ASKS = re.compile(
    r"\b(?:je|j|moi|me|m|i|im|i m|ill|i ll|i d|id|i ve|ive|on se|on s|nous|we|us|let s|lets)\b"
)


# The first person of someone reporting what was done to them ("j'ai reçu un SMS", "they dmed
# me a fake link", "i reported it") asks nothing for the author: it is how most people report a
# scam. Taken out before the author's asks are looked for; what is left still has to ask nothing.
_REPORTING = re.compile(
    r"\b(?:j ai (?:recu|eu|signale|vu|trouve)|je viens de recevoir|on m a (?:envoye|ecrit"
    r"|propose|contacte|dit|appele)|il m a (?:envoye|ecrit|propose|dit)|elle m a (?:envoye|ecrit"
    r"|propose|dit)|qui (?:dit|disait) que (?:j ai|je)|m a (?:envoye|ecrit|propose|contacte)"
    r"|i (?:got|received|just got|reported|saw|found)|i ve (?:got|received|reported)"
    r"|i just (?:got|received)|someone (?:sent|dmed|messaged|texted|told) me|(?:dmed|dm d"
    r"|messaged|texted|sent|emailed|called) me|saying i|says i|said i|reported it|reported them"
    r"|pretty sure|i think|je pense|je crois)\b"
)


def warns(forms: Forms) -> bool:
    """True when the text names a harm to warn against it, points to reporting, or reports news,
    and asks nothing for its author."""
    words = forms.latin_words
    if _WARNING.search(words) is None:
        return False
    return _AUTHOR_ASKS.search(_REPORTING.sub(" ", words)) is None
