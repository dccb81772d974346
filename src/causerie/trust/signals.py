"""What the minors fence looks for in a text: age claims and the signals of grooming.

A focused detector, not a moderation engine: it knows French and English chat phrasing for the
few things the protection of minors acts on by itself, whatever the safety pipeline's tuning:

- an age claim that can re-band a chatter ("j'ai 14 ans", "I'm 14", "je suis en 3e");
- the signals of grooming: asking for age, location, school or photos, secrecy, a meeting in
  person, a move to another app, gifts or money;
- what must never reach a minor from an adult: links, images, contact details.

All patterns run on the normalised forms of :mod:`causerie.moderation.forms`, so "Sn@pch4t",
"s.n.a.p" or a Cyrillic "ѕnар" read as "snapchat". Patterns are plain alternations with bounded
repetition; on the longest message the protocol accepts the detector takes well under a
millisecond (tests/trust/test_signals.py holds it to a bound).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from causerie.moderation.forms import Forms, keyword
from causerie.moderation.stance import warns


class Signal(StrEnum):
    ASK_AGE = "ask_age"
    ASK_LOCATION = "ask_location"
    ASK_SCHOOL = "ask_school"
    ASK_PHOTO = "ask_photo"
    SECRECY = "secrecy"
    MEETING = "meeting"
    # A move to another app: asking someone to come to one, for their account or number there.
    OFF_PLATFORM = "off_platform"
    # An app named in passing ("my dog is called Snap", "the Discord outage"): a faint signal,
    # never a refusal by itself.
    APP_MENTION = "app_mention"
    # A concrete way to reach someone elsewhere: phone number, email, @account.
    CONTACT_HANDLE = "contact_handle"
    LINK = "link"
    IMAGE = "image"
    GIFTS_MONEY = "gifts_money"


@dataclass(frozen=True, slots=True)
class AgeClaim:
    """Someone wrote that they are ``age`` (an estimate for "je suis en 3e", "I'm a minor")."""

    age: int
    evidence: str


@dataclass(frozen=True, slots=True)
class Detection:
    signals: frozenset[Signal]
    age_claim: AgeClaim | None
    # "@name" tokens, which are contact handles unless they name someone in the chat.
    mentions: tuple[str, ...] = ()


def _any(patterns: Iterable[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


# -- age claims (on the ``numbers`` form: digits kept, ages in words turned into digits) --------

_FIRST_PERSON_FR = r"(?:j ai|jai|g|moi|perso|j aurai|jaurai)"
_AGE_UNIT = r"(?:ans?|ams|berges|piges)"
# "j'ai 14 ans de plus que toi", "j'ai 14 ans d'expérience": a duration, not an age.
_NOT_A_DURATION = r"(?! (?:de|d|que|qu|depuis|d experience|ensemble|avec)\b)"
_CLAIM_PATTERNS: tuple[tuple[str, re.Pattern[str], int], ...] = (
    # j'ai 14 ans / jai 14ans / moi 14 ans / j'ai que 14 ans
    (
        "age",
        re.compile(
            rf"\b{_FIRST_PERSON_FR} (?:(?:que|seulement|juste|presque|bientot|deja|meme pas) )?"
            rf"(\d{{1,2}}) ?{_AGE_UNIT}\b{_NOT_A_DURATION}"
        ),
        0,
    ),
    # j'ai 14, et toi ? / j'ai 14
    ("age", re.compile(r"\b(?:j ai|jai|g) (\d{1,2})(?: et (?:toi|vous)\b| ?$)"), 0),
    # je vais avoir 15 ans / bientôt 15 ans: a year younger today
    (
        "age",
        re.compile(
            rf"\b(?:je vais avoir|j vais avoir|jvais avoir|bientot) (\d{{1,2}}) ?{_AGE_UNIT}\b"
        ),
        -1,
    ),
    # "14 ans, f, Lyon" / "14 f" / "15ans et toi": an introduction at the start of a message
    (
        "age",
        re.compile(
            r"^(\d{1,2}) ?(?:ans?\b|yo\b|y o\b|yrs?\b|years? old\b"
            r"|(?:f|m|fille|garcon|gars|meuf|mec|girl|boy)\b)" + _NOT_A_DURATION
        ),
        0,
    ),
    # I'm 14 / im 14 years old / i am 14 yo / I'm only 14
    (
        "age",
        re.compile(
            r"\b(?:i m|im|i am|iam) (?:only |just |turning |almost )?(\d{1,2})"
            r"(?: ?(?:years? old|yrs? old|yrs?|yo|y o)\b| ?$| (?:and|btw|lol|u|you|wbu|hbu|too|but"
            r"|here|f|m|girl|boy)\b)"
        ),
        0,
    ),
    ("age", re.compile(r"\bmy age is (\d{1,2})\b|\bmon age (?:c est |est )?(\d{1,2})\b"), 0),
)

_SCHOOL_FR = re.compile(
    r"\b(?:je suis|jsuis|j suis|chui|chuis|suis|moi|je rentre|je vais|j vais|jvais|je passe) "
    r"(?:en (6 ?e(?:me)?|sixieme|5 ?e(?:me)?|cinquieme|4 ?e(?:me)?|quatrieme|3 ?e(?:me)?"
    r"|troisieme|seconde|2 ?nde|premiere|1 ?ere)|au (college)|(collegienne?))\b"
    # "je suis en première année" (of university) is not a school year of a minor.
    r"(?! (?:annee|an|a la fac|de fac|de licence|de master|d ecole|de medecine)\b)"
)
# A school year spans two ages (3e: 14 and 15, a year later for those who repeat); the claim is
# the older one, so that a 15-year-old in 3e is not re-banded as 13-14. "Collège" covers 11-15:
# it says a minor, and 13 puts them in the youngest band without calling them under 13.
_SCHOOL_FR_AGE = {
    "6": 12,
    "sixieme": 12,
    "5": 13,
    "cinquieme": 13,
    "4": 14,
    "quatrieme": 14,
    "3": 15,
    "troisieme": 15,
    "2": 16,
    "seconde": 16,
    "1": 17,
    "premiere": 17,
    "college": 13,
    "collegien": 13,
    "collegienne": 13,
}
_BREVET = re.compile(r"\b(?:je passe|jpasse|j passe) (?:le |mon )?brevet\b")
_SCHOOL_EN = re.compile(
    r"\b(?:i m|im|i am) (?:in |a )?(?:(?:the )?(6|7|8|9|10|11)(?:th|st|nd|rd)? grade"
    r"|grade (6|7|8|9|10|11)|year (7|8|9|10|11|12)|middle school|junior high|middle schooler"
    r"|freshman in high school|sophomore in high school)\b"
)
_MINOR_STATUS = re.compile(
    r"\b(?:je suis|jsuis|chui|chuis|suis) (?:encore )?mineure?\b"
    r"|\bj ai (?:pas encore|pas|moins de) 18 ans\b|\bpas encore 18 ans\b"
    r"|\b(?:i m|im|i am) (?:a minor|underage|under 18|not 18 yet|still a minor)\b"
)
# Claims outside this range are jokes ("j'ai 3 ans d'âge mental") or adults: not acted on.
YOUNGEST_CREDIBLE_CLAIM = 9


def age_claim(form: Forms) -> AgeClaim | None:
    """The youngest age the author says they have, if they say one under 18."""
    text = form.numbers
    found: list[AgeClaim] = []
    for evidence, pattern, offset in _CLAIM_PATTERNS:
        for match in pattern.finditer(text):
            number = next(g for g in match.groups() if g is not None)
            age = int(number) + offset
            if YOUNGEST_CREDIBLE_CLAIM <= age < 18:
                found.append(AgeClaim(age=age, evidence=evidence))
    for match in _SCHOOL_FR.finditer(text):
        level = next(g for g in match.groups() if g is not None)
        key = level[0] if level[0].isdigit() else level
        found.append(AgeClaim(age=_SCHOOL_FR_AGE[key], evidence="school"))
    if _BREVET.search(text):
        found.append(AgeClaim(age=15, evidence="school"))
    for match in _SCHOOL_EN.finditer(text):
        grade, grade_after, year = match.group(1), match.group(2), match.group(3)
        # The older age of the year, as for the French years: 9th grade is 14-15, year 9 13-14.
        if grade or grade_after:
            age = int(grade or grade_after) + 6
        elif year:
            age = int(year) + 5
        else:
            age = 13
        found.append(AgeClaim(age=min(age, 17), evidence="school"))
    if _MINOR_STATUS.search(text):
        found.append(AgeClaim(age=17, evidence="status"))
    return min(found, key=lambda claim: claim.age) if found else None


# -- grooming and contact signals (on the ``words`` form) ----------------------------------------

_YOU_FR = r"(?:t as|tu as|ta|tas|t a|vous avez|as tu)"
_APPS = (
    "snapchat",
    "snap",
    "snp",
    "sc",
    "insta",
    "instagram",
    "ig",
    "whatsapp",
    "watsap",
    "wtsp",
    "wsp",
    "whatsap",
    "wa",
    "telegram",
    "telegrame",
    "tg",
    "discord",
    "kik",
    "tiktok",
    "skype",
    "viber",
    "wechat",
    "messenger",
    "facebook",
    "fb",
    "threema",
    "wickr",
    "omegle",
)
_APP = "|".join(f"{a}+" if len(a) > 3 else a for a in _APPS)
# The names alone, for APP_MENTION (the short abbreviations are ordinary words too often).
_APP_NAMES = _any(keyword(a) for a in _APPS if len(a) > 3 or a in ("snp", "kik"))
_PATTERNS: dict[Signal, re.Pattern[str]] = {
    Signal.ASK_AGE: _any(
        (
            rf"\b{_YOU_FR} (?:quel|kel|quelle) age\b",
            r"\bquel age (?:tu as|t as|as tu|ta|tas|avez vous|t a)\b",
            r"\b(?:ton|votre) age\b",
            rf"\b{_YOU_FR} \d{{1,2}} ans\b",
            r"\b(?:t es|tu es|tes|es tu) (?:majeure?|mineure?)\b",
            r"\bhow old (?:are|r) (?:you|u|ya)\b",
            r"\bwhat s (?:your|ur|ya) age\b",
            r"\bwhats (?:your|ur) age\b",
            r"\b(?:your|ur) age\b",
            r"\basl\b",
            r"\b(?:are|r) (?:you|u) (?:over|under) 18\b",
        )
    ),
    Signal.ASK_LOCATION: _any(
        (
            r"\b(?:tu|t|vous) (?:habites?|habitez|vis|vivez|creches?) "
            r"(?:ou|dans quelle ville|dans quel coin|vers ou|ou exactement)\b",
            r"\bou (?:est ce que )?(?:tu habites|t habites|tu vis|habites tu|vis tu|vous habitez"
            r"|tu creches)\b",
            r"\b(?:t es|tu es|tes|vous etes) (?:d ou|de quelle ville|de quel coin|ou)\b",
            r"\bquelle ville\b",
            r"\b(?:ton|ta|votre) (?:adresse|ville|quartier)\b",
            r"\bwhere (?:do|d) (?:you|u|ya) live\b",
            r"\bwhere (?:are|r) (?:you|u) from\b",
            r"\b(?:what|which) (?:city|town)\b",
            r"\b(?:your|ur) (?:address|city|town)\b",
            r"\basl\b",
        )
    ),
    Signal.ASK_SCHOOL: _any(
        (
            r"\b(?:quel|quelle|kel) (?:college|lycee|ecole|bahut|classe)\b",
            r"\b(?:ton|ta|votre) (?:college|lycee|ecole|bahut|classe)\b",
            r"\b(?:tu vas|t vas|tu es|t es|tes) (?:a|au|en|dans) (?:quel|quelle|kel)\b",
            r"\b(?:what|which) (?:school|grade)\b",
            r"\b(?:your|ur) school\b",
            r"\bwhat year are (?:you|u) in\b",
        )
    ),
    Signal.ASK_PHOTO: _any(
        (
            r"\benvoi\w* (?:moi |nous )?(?:une |des |ta |tes |un |1 |d autres )?"
            r"(?:photos?|fotos?|pics?|images?|selfies?|videos?|snaps?)\b",
            r"\b(?:une|ta|des|tes) (?:photos?|fotos?|pics?|selfies?) (?:de toi|de ton|de ta|de tes"
            r"|stp|steuplait|s il te plait)\b",
            r"\bmontre (?:toi|moi ton|moi ta|moi tes)\b",
            r"\b(?:allume|mets|met|ouvre|active) (?:ta|la) (?:cam|webcam|camera)\b",
            r"\b(?:on|tu|t|vous)(?: se| s| me| m| nous)? (?:fait|fais|fai|appelle|parle|voit|voie)"
            r"(?: \w+){0,2} (?:en|par|sur) (?:cam|webcam|facetime)\b",
            r"\bfacetime (?:moi|me)\b",
            rf"\b{_YOU_FR} (?:une |des |d autres )?(?:photos?|pics?|selfies?)\b",
            r"\bsend (?:me |us )?(?:a |an |some |your |ur |more |another )?"
            r"(?:pics?|pictures?|photos?|selfies?|nudes?|videos?|snaps?)\b",
            r"\bshow me (?:your|ur|yourself|u)\b",
            r"\b(?:turn on|open|switch on) (?:your|ur|the) (?:cam|camera|webcam)\b",
            r"\b(?:cam|webcam|video) (?:chat|call)\b",
            r"\b(?:pic|pics|picture|photo) of (?:you|u|yourself)\b",
        )
    ),
    Signal.SECRECY: _any(
        (
            r"\b(?:dis|di|dit|raconte|montre)(?: le| l| lui| ca| surtout| jamais){0,3} "
            r"(?:pas|rien|jamais)(?: de ca| ca)? a (?:tes|ta|ton|personne)\b",
            r"\b(?:dis|di|dit|raconte)(?: le| l| ca| surtout| rien){0,3} a personne\b",
            r"\b(?:n en|en) parle (?:pas |jamais |surtout pas )?a (?:personne|tes|ta|ton)\b",
            r"\b(?:c est|ca reste|ca sera) (?:notre|un) (?:petit )?secret\b",
            r"\bnotre (?:petit )?secret\b",
            # "entre nous, ce film est nul" is a turn of phrase; "ça reste entre nous" is secrecy.
            r"\b(?:ca|ce|cela|c|que|qu|reste|rester|restera|garde|gardons|garder|juste|seulement)"
            r"(?: \w+){0,2} entre (?:nous|toi et moi|nous deux)\b",
            r"\bgarde (?:ca|le|la|les) pour toi\b",
            r"\b(?:efface|supprime|effaces|supprimes) (?:nos|les|tes|mes|ces|notre) "
            r"(?:messages?|conversations?|convs?|photos?|discussions?)\b",
            r"\b(?:tes|vos) parents (?:doivent|vont|peuvent) (?:pas|rien|jamais)\b",
            r"\b(?:sans que|faut pas que|il faut pas que) (?:tes|ta|ton) (?:parents|mere|pere)\b",
            r"\bdon t tell (?:your|ur|anyone|anybody|no one|ur)\b",
            r"\bdont tell (?:your|ur|anyone|anybody|no one)\b",
            r"\bour (?:little )?secret\b",
            r"\b(?:it s|its|this is|that s|thats|it ll be|keep it) (?:a|our) (?:little )?secret\b",
            r"\bkeep (?:it|this|that) (?:between us|a secret|secret|to yourself)\b",
            r"\bdelete (?:our|the|these|my|your) (?:messages?|chats?|convos?|conversations?|pics?"
            r"|photos?)\b",
            r"\b(?:your|ur) parents (?:don t|dont|won t|can t|shouldn t|must not|mustn t) "
            r"(?:know|find out|see)\b",
            r"\bdon t let (?:your|ur) parents\b",
        )
    ),
    Signal.MEETING: _any(
        (
            r"\bon (?:se|s) (?:voit|voie|voi|voir|verrait|verra|rejoint|rejoindre|retrouve"
            r"|retrouver|capte|capter|rencontre|rencontrer|croise|croiser)\b",
            r"\b(?:on|tu|vous) (?:peut|peux|pourrait|pourra|devrait|veux|voudrais|veut) "
            r"(?:se|s|me|m|te|t|nous) (?:voir|rencontrer|retrouver|capter|rejoindre|croiser)\b",
            r"\b(?:se|s|te|me) (?:voir|rencontrer|retrouver) (?:en vrai|irl|ce soir|demain|samedi"
            r"|dimanche|apres les cours|apres l ecole)\b",
            # "rdv chez le dentiste" is an appointment; "on se donne rdv", "rdv chez moi" a meeting.
            r"\b(?:on se|on s|se|nous|donne moi|donne nous|fixe|fixons|on prend|on se fixe)"
            r"(?: donne| fait| fixe)?(?: un)? (?:rdv|rendez vous)\b",
            r"\b(?:rdv|rendez vous) (?:avec moi|avec toi|chez moi|chez toi|tous les deux|toi et moi"
            r"|entre nous|en prive|en vrai|irl)\b",
            # "rdv à la gare", "rdv 14h", "rdv ce soir": a time or place set for someone, unless
            # it is one's own appointment ("j'ai rdv chez le dentiste", "mon rdv"). The lookahead
            # first: eleven lookbehinds tried at every position were most of the fence's time.
            r"\b(?=rdv|rendez vous)(?<!j ai )(?<!jai )(?<!\bg )(?<!mon )(?<!ton )(?<!son )"
            r"(?<!un )(?<!le )(?<!ai )(?<!avais )(?<!a )"
            r"(?:rdv|rendez vous) (?:a (?:la|l|\d)|au|devant|derriere|pres"
            r"|vers|ce soir|demain|samedi|dimanche|apres|\d)",
            r"\bviens? (?:chez moi|me voir|me rejoindre|dans ma voiture)\b",
            r"\b(?:venir|passer|viens|passe|vais) te "
            r"(?:chercher|prendre|recuperer|voir|rejoindre)\b",
            r"\bje (?:viens|passe) chez toi\b",
            r"\b(?:devant|a la sortie de|a la sortie du|apres) (?:ton|ta|ton) "
            r"(?:college|lycee|ecole|cours)\b",
            r"\b(?:let s|lets|wanna|want to|we could|we should|can we|could we|we can) "
            r"(?:meet|hang out|hangout|link up|see each other)\b",
            r"\bmeet (?:up|me|irl|in person|in real life)\b",
            r"\bcome (?:to|over to|over) my (?:place|house|flat|car)\b",
            r"\b(?:pick|picking) (?:you|u) up\b",
            r"\bi (?:ll|will|can|could) come (?:to you|to your|and get you|get you|see you)\b",
            r"\b(?:see|meet) (?:you|u)? ?(?:after|at|outside) school\b",
        )
    ),
    Signal.OFF_PLATFORM: _any(
        (
            # "ajoute moi sur snap", "viens sur insta", "on passe sur whatsapp", "add me on sc"
            rf"\b(?:ajout\w*|rajout\w*|add|viens|venez|vien|passe|passons|passez|on passe|rejoin\w*"
            rf"|retrouve|ecri\w*|parl\w*|contact\w*|follow|hmu|hit me up|text|message|dm|talk"
            rf"|chat|join|find|reach|go|move|switch|continue|discut\w*|on continue)"
            rf"(?: (?:me|moi|moa|nous|us|up|en prive|priv|plutot|direct|directement)){{0,2}}"
            rf" (?:sur|on|via|en|at|to|par) (?:mon |my |le |la |)(?:{_APP})\b",
            # "t'as snap ?", "ton snap", "your insta", "do u have whatsapp", "donne ton snap"
            rf"\b(?:ton|ta|tes|votre|vos|your|ur|yr|t as|tu as|ta|tas|as tu|avez vous|t aurais"
            rf"|do you have|do u have|you got|u got|got|have you got|you on|u on|are you on"
            rf"|r u on|t es sur|tu es sur|tes sur|t es pas sur) (?:un |une |le |la |)(?:{_APP})\b",
            # "mon snap c'est jules75", "my insta is", "snap moi", "insta me"
            rf"\b(?:mon|my) (?:{_APP}) (?:c est|cest|c|est|is|it s|its|here|ici|la)\b",
            rf"\b(?:{_APP}) (?:moi|me|nous)\b",
            r"\b(?:sur|on) signal\b",
            r"\bajout\w* (?:moi|moa|nous) (?:sur|en)\b",
            r"\badd (?:me|me up) (?:on|at)\b",
            r"\b(?:ton|ta|tes|votre) (?:num|numero|tel|telephone|portable|06|07|pseudo insta"
            r"|mail|email|e mail|adresse mail)\b",
            r"\b(?:your|ur) (?:number|phone|cell|socials|email|e mail|handle|@)\b",
            r"\b(?:text|call|dm|message) me (?:on|at)\b",
            r"\b(?:appelle|ecris|texte|sms|bipe) moi (?:sur|au|a)\b",
            r"\bon (?:parle|continue|discute|se parle) (?:ailleurs|en dehors|sur une autre)\b",
            r"\b(?:let s|lets) (?:talk|chat|move|continue) (?:on|somewhere else|elsewhere)\b",
        )
    ),
    Signal.GIFTS_MONEY: _any(
        (
            r"\bje (?:peux |vais |voudrais )?(?:t|te) (?:offr\w*|pay\w*|pai\w*|donn\w*|achet\w*"
            r"|envoi\w*|envoy\w*|rechar\w*)(?: \w+){0,3} (?:argent|euros?|balles|cadeaux?"
            r"|recharges?|forfaits?|cartes? cadeaux?|robux|vbucks|v bucks|skins?|iphone|airpods"
            r"|sous|thunes?"
            r"|fric|billets?|cash|\d+ ?e)\b",
            r"\b(?:paysafe ?card|psc|free robux|robux gratuits?"
            r"|free vbucks|vbucks gratuits?|argent facile|easy money)\b",
            r"\bi (?:ll|will|can|could) (?:buy|get|pay|send|give) (?:you|u)(?: \w+){0,3} "
            r"(?:money|cash|gifts?|presents?|robux|vbucks|skins?|phone|iphone|airpods"
            r"|\d+ (?:dollars|euros|bucks|quid))\b",
            r"\b(?:i ll|i will|ill) pay (?:you|u|for)\b",
        )
    ),
}

# Long app names found even when split anywhere ("what sapp", "tele gram").
_SQUASHED_APPS = re.compile(r"snapchat|whatsapp|instagram|telegram|facebook|messenger")

# "snap: jules_75", "insta = lea.09": an account on another app, not only its name.
_APP_ACCOUNT = re.compile(
    r"\b(?:snap(?:chat)?|sc|insta(?:gram)?|ig|discord|telegram|kik|tiktok|skype)\s*[:=]\s*@?"
    r"[a-z0-9_.]{3,}"
)

# "snap marc75", "insta lea_09": beside an app's name, a token that reads as an account on it
# (on the ``folded`` form, where digits are still digits).
_ACCOUNT_LIKE = re.compile(r"\b[a-z][a-z._]+\d{1,4}\b|\b[a-z]+_[a-z0-9_]+\b")

# -- contact details, links and images (on the ``folded`` form: digits and symbols kept) --------

_PHONE_CANDIDATE = re.compile(r"(?<![\do])(?:\+|00)?[\do](?:[\s.\-_/()]*[\do]){8,14}")
_EMAIL = re.compile(
    r"(?<![a-z0-9._%+\-])[a-z0-9._%+\-]++\s*(?:@|\(at\)|\[at\]|\{at\}| at | arobase )\s*[a-z0-9\-]+"
    r"\s*(?:\.|\(dot\)|\[dot\]|\{dot\}| dot | point )\s*(?:com|fr|net|org|io|me|eu|be|ch|ca|info)\b"
)
_MAIL_PROVIDER = re.compile(
    keyword("gmail")
    + "|"
    + keyword("hotmail")
    + "|"
    + keyword("outlook")
    + "|"
    + keyword("yahoo")
    + "|"
    + keyword("icloud")
    + "|"
    + keyword("protonmail")
)
_HANDLE = re.compile(r"(?<![a-z0-9@])@([a-z0-9_.]{3,30})")
_TLDS = (
    "com|fr|net|org|io|me|ly|gg|co|be|ch|ca|info|xyz|app|tv|link|onion|ru|uk|eu|cc|biz|site"
    "|online|club|live|shop|top|fun|gl|vip|sex|xxx|porn|cam|chat|dating"
)
_LINK = _any(
    (
        r"\b(?:h\s*t\s*t\s*p\s*s?|hxxps?)\s*:\s*/\s*/",
        r"\bw\s*w\s*w\s*(?:\.|\[\.\]|\(\.\))",
        rf"\b[a-z0-9][a-z0-9\-]{{0,62}}\s*(?:\.|\[\.\]|\(\.\)|\[dot\]|\(dot\)|\{{dot\}})\s*(?:{_TLDS})\b"
        r"(?![.\-]?[a-z0-9])",
    )
)
_LINK_WORDS = _any(
    (
        r"\b(?:https?|hxxps?)(?: |$)",
        r"\bwww [a-z0-9]",
        r"\b[a-z0-9]{2,} (?:dot|point) (?:com|fr|net|org)\b",
    )
)
_IMAGE = _any(
    (
        r"\.\s*(?:jpe?g|png|gif|webp|heic|heif|bmp|tiff?)\b",
        r"\bdata\s*:\s*image\s*/",
        r"\b(?:imgur|ibb\.co|postimg|tinypic|prnt\.sc|gyazo|imgbb)\b",
    )
)


def _phone_numbers(folded: str) -> bool:
    for match in _PHONE_CANDIDATE.finditer(folded):
        raw = match.group(0).replace("o", "0")
        digits = re.sub(r"\D", "", raw)
        real_digits = sum(c.isdigit() for c in match.group(0))
        if real_digits < 6:
            continue
        if raw.startswith(("+", "00")) and 9 <= len(digits) <= 15:
            return True
        if len(digits) == 10 and digits[0] == "0" and digits[1] != "0":
            return True
        if len(digits) == 11 and digits.startswith("33"):
            return True
    return False


# "never send pics to strangers", "ne dis jamais ton adresse", "don't meet people from here":
# prevention talk, not a request. A negation in the words just before a signal cancels it.
_NEGATION = re.compile(
    r"\b(?:never|dont|don t|do not|not|no|stop|nobody should|jamais|ne|n|pas|arrete|evite"
    r"|evitez|refuse|refusez|if (?:someone|anyone|an adult|a stranger|somebody|they)"
    r"|si (?:quelqu un|qqn|un adulte|un inconnu|on))(?: \w+)?\s*$"
)


# "tu veux pas qu'on se voie ?", "why don't we meet": a negative question is still a request.
_NEGATIVE_REQUEST = re.compile(
    r"\b(?:veux|veut|voulez|voudrais|peux|peut|pourrait|pourrais|pourquoi|aimerais|ca te dit"
    r"|wanna|want|why|would)\b"
)


# Signals that prevention talk can carry; "ne dis rien à personne" is itself secrecy.
_ADVICE_CANCELS = frozenset({Signal.ASK_PHOTO, Signal.MEETING, Signal.OFF_PLATFORM})
# What a warning (moderation/stance.py) cancels: the same, and money named to warn against it.
_WARNING_CANCELS = _ADVICE_CANCELS | {Signal.GIFTS_MONEY}


def _advice(words: str, start: int) -> bool:
    window = words[max(0, start - 40) : start]
    return bool(_NEGATION.search(window)) and not _NEGATIVE_REQUEST.search(window)


def _requested(signal: Signal, pattern: re.Pattern[str], words: str) -> bool:
    if signal not in _ADVICE_CANCELS:
        return pattern.search(words) is not None
    return any(not _advice(words, m.start()) for m in pattern.finditer(words))


# A meeting plan made with a group ("on se retrouve devant le cinéma avec les autres", "everyone
# meet at the trailhead") is not a request aimed at someone: only one that singles a person out
# ("toi et moi", "just us", "chez moi", "tu") is the fence's meeting signal.
_GROUP_ADDRESS = re.compile(
    r"\b(?:avec les autres|tout le monde|tous ensemble|toutes ensemble|venez|(?<!rendez )vous"
    r"|qui est partant|qui vient|qui est chaud|la bande|le groupe|l equipe|everyone|everybody"
    r"|anyone|anybody"
    r"|all of us|guys|y all|yall|the group|the team|the others|the rest of us|who s in|whos in"
    r"|who s coming|whos coming)\b"
)
_SINGLED_OUT = re.compile(
    r"\b(?:tu|te|t|toi|ton|ta|tes|tous les deux|toutes les deux|toi et moi|seule?s?|chez moi"
    r"|ma voiture|juste nous|rien que nous|just us|just you|you and me|u and me|alone|only you"
    r"|by yourself|my place|my house|my flat|my car|my room|me)\b"
)


def _group_plan(words: str) -> bool:
    return bool(_GROUP_ADDRESS.search(words)) and not _SINGLED_OUT.search(words)


# "ne dis rien à ta sœur, c'est une surprise pour ses 50 ans": a surprise kept from the one it
# is for. Not when the secret is kept from parents or the surprise is for the reader ("j'ai une
# surprise pour toi, dis-le à personne"), the grooming form.
_SURPRISE = re.compile(
    r"\b(?:surprise|surprises|surprendre|anniversaire|anniv|birthday|bday|cadeau|gift"
    r"|demande en mariage|proposal|surprise party)\b"
)
_SECRET_FROM_PARENTS_OR_FOR_YOU = re.compile(
    r"\b(?:tes|vos|ta|ton|your|ur|his|her|ses|sa|son) (?:parents|mere|pere|maman|papa|mum|mom"
    r"|dad|famille|family)\b|\b(?:pour toi|pour vous|for you|for u|rien que pour toi)\b"
)


def _surprise(words: str) -> bool:
    return bool(_SURPRISE.search(words)) and not _SECRET_FROM_PARENTS_OR_FOR_YOU.search(words)


def detect(form: Forms) -> Detection:
    """Every signal in a text and the youngest age its author claims, if any."""
    words = form.latin_words
    found: set[Signal] = {s for s, p in _PATTERNS.items() if _requested(s, p, words)}
    if Signal.MEETING in found and _group_plan(words):
        found.discard(Signal.MEETING)
    if Signal.SECRECY in found and _surprise(words):
        found.discard(Signal.SECRECY)
    # "Si on vous propose de l'argent sur insta c'est une arnaque, signalez le compte": the app
    # and the money are named to warn. A handle or a number given still counts. The stance is
    # read only when there is something it could cancel.
    if found & _WARNING_CANCELS and warns(form):
        found -= _WARNING_CANCELS
    if _APP_NAMES.search(words) or _SQUASHED_APPS.search(form.squashed):
        found.add(Signal.APP_MENTION)
    if (
        _phone_numbers(form.folded)
        or _EMAIL.search(form.folded)
        or _MAIL_PROVIDER.search(form.latin_words)
    ):
        found.add(Signal.CONTACT_HANDLE)
    mentions: list[str] = []
    for match in _HANDLE.finditer(form.folded):
        # Next to an app's name, "@jules_75" is an account there, whoever else it names.
        if found & {Signal.OFF_PLATFORM, Signal.APP_MENTION}:
            found.add(Signal.CONTACT_HANDLE)
        else:
            mentions.append(match.group(1).strip("._"))
    if _LINK.search(form.folded) or _LINK_WORDS.search(form.latin_words):
        found.add(Signal.LINK)
    if _IMAGE.search(form.folded):
        found.add(Signal.IMAGE)
        found.add(Signal.LINK)
    if Signal.APP_MENTION in found and (
        _APP_ACCOUNT.search(form.unleeted) or _ACCOUNT_LIKE.search(form.folded)
    ):
        found.update((Signal.CONTACT_HANDLE, Signal.OFF_PLATFORM))
    return Detection(signals=frozenset(found), age_claim=age_claim(form), mentions=tuple(mentions))
