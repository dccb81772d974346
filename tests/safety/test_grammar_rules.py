"""The rules that read the shape of a threat, a weapon carried, a lure or coercion, not one
phrase: each fires on phrasings that no phrase list names, and stays quiet on the look-alikes."""

from __future__ import annotations

import pytest

from causerie.moderation.forms import read
from causerie.moderation.stance import warns
from causerie.safety.packs import RuleBook, load_rulebook

BOOK: RuleBook = load_rulebook()


def rules(text: str) -> set[str]:
    return {hit.rule for hit in BOOK.match(read(text), "all", "message")}


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("on va te fracasser à la sortie du taf", "fr.violence.threat_grammar"),
        ("jvais vous buter un par un", "fr.violence.threat_grammar"),
        ("si je te croise je te pète les deux genoux", "fr.violence.threat_grammar"),
        ("je sais à quelle heure tu rentres, fais gaffe", "fr.violence.threat_grammar"),
        ("il faudrait cramer leur local une bonne fois", "fr.violence.threat_grammar"),
        ("on règle ça au 🔪 vendredi", "fr.violence.knife_emoji"),
        ("imma shank him after practice", "en.violence.threat_grammar"),
        ("we're rushing those guys at the bus stop", "en.violence.threat_grammar"),
        ("ur gonna get popped if u show up", "en.violence.threat_grammar"),
        ("i'll cave in your skull", "en.violence.threat_grammar"),
        ("j'amène un cran d'arrêt demain au collège", "fr.weapons.carry"),
        ("packing a blade to school on monday", "en.weapons.carry"),
        ("can u get me a strap by saturday", "en.weapons.carry"),
        ("des 🔫 qui tirent, prix en mp", "fr.weapons.emoji_real"),
        ("on fait un happy slapping sur le nouveau", "fr.ambush.setup"),
        ("fake meetup for that snitch, bring gloves", "en.ambush.setup"),
        ("send more pics or i post the ones i have", "en.non_consent.coercion"),
        ("si tu paies pas demain les photos partent chez ton mari", "fr.non_consent.coercion"),
        ("300 roses la nuit, sérieux seulement", "fr.solicitation.roses_rate"),
        ("new in town, incall only", "en.solicitation.terms"),
        ("h 41 ans cherche, je reçois ce soir", "fr.sexual.hookup_ad"),
        ("🔌 restock 🍃 hmu", "intl.drugs.emoji_stock"),
        ("je revends de la keta, remise en main propre", "fr.drugs.resale"),
        ("les moins de 15 ans, venez sur mon serveur, lien en mp", "fr.off_platform.young_group"),
        ("envoie le scan de ta carte d'identité", "fr.scam.identity_theft"),
        ("balancez vos adresses ici pour la carte", "fr.personal_data.asked_in_public"),
        ("dehors les [SLUR]", "intl.hate.slur_marker"),
        ("on le tabasse à plusieurs vendredi", "fr.violence.threat_grammar_more"),
        ("jsais où tu traînes après le taf", "fr.violence.threat_grammar_more"),
        ("glock dispo, livraison rapide", "fr.weapons.more"),
        ("t'as une lame à me prêter pour ce soir ?", "fr.weapons.more"),
        ("je ramène le truc de mon oncle au collège, ils vont comprendre", "fr.weapons.more"),
        ("bringing the thing to school monday, they'll all see", "en.weapons.more"),
        ("qqn a un plan pour de la beuh ce soir ?", "fr.drugs.asks_and_slang"),
        ("got what u need for finals, no prescription, dm", "en.drugs.no_prescription"),
        ("allez tous signaler son compte jusqu'à ce qu'il parte", "fr.harassment.mob_and_stalking"),
        ("everyone spam him till he quits", "en.harassment.mob_and_stalking"),
        ("you can't block me forever", "en.harassment.mob_and_stalking"),
        ("interdit aux renois ici", "fr.hate.exclusion"),
        ("maman c'est moi, j'ai changé de numéro, envoie 200€", "fr.scam.family_and_romance"),
        ("mum its me, lost my phone, this is my new number", "en.scam.family_and_romance"),
        ("c'est quoi le nom de jeune fille de ta mère ?", "fr.scam.identity_theft"),
        ("send a selfie of ur passport to verify", "en.scam.identity_theft"),
        ("viens là où les modos peuvent pas lire", "fr.off_platform.evading_moderators"),
        ("anyone under 15 wanna join, dm me for the invite", "en.off_platform.evading_moderators"),
        ("like4like, comment when done", "en.spam.follow_and_diet"),
        ("je reçois, petit cadeau exigé", "fr.solicitation.gift"),
        ("achète 10k followers pas cher", "fr.spam.advertising"),
        ("gagnez 500€ par jour depuis chez vous", "fr.spam.advertising"),
        ("check out my page for promos", "en.spam.advertising"),
        ("this memecoin is going 100x to the moon", "en.spam.advertising"),
        ("anyone got a plug round here tonight", "en.drugs.who_has_a_plug"),
        ("t'as un plug pour ce soir ?", "fr.drugs.who_has_a_plug"),
        ("cc qui a du hash", "fr.drugs.offer_grammar"),
        ("les pochons sont prêts, 20 le pochon", "fr.drugs.offer_grammar"),
        ("got xans and percs hmu", "en.drugs.offer_grammar"),
        ("j'ai un taser et une gazeuse à vendre", "fr.weapons.for_sale"),
        ("got knuckle dusters for sale dm", "en.weapons.for_sale"),
        ("fais le venir derrière le gymnase, on l'attend à 5", "fr.ambush.fetch_and_wait"),
        ("t'es qu'une grosse merde, personne t'aime", "fr.harassment.aimed"),
        ("shut up you ugly fat cow", "en.harassment.aimed"),
        ("everyone hates u, do us all a favour and disappear", "en.harassment.aimed"),
        ("les immigrés c'est tous des voleurs", "fr.hate.generalisation"),
        ("gays are disgusting and should be banned", "en.hate.generalisation"),
        ("massage avec finition, 80 la demi heure", "fr.solicitation.shapes"),
        ("t'es mort si je te croise", "fr.violence.threat_shapes"),
        ("si tu parles encore je te fume", "fr.violence.threat_shapes"),
        ("faut les exterminer tous", "fr.violence.threat_shapes"),
        ("i'm going to find you and hurt you bad", "en.violence.threat_shapes"),
        ("someone should shoot him", "en.violence.threat_shapes"),
        ("let's go beat up some gays tonight", "en.hate.group_attack"),
        ("je vais poster ses nudes partout", "fr.non_consent.sharing_shapes"),
        ("leak her pics to the whole school", "en.non_consent.sharing_shapes"),
        ("fausse annonce de vélo et on lui prend son tel", "fr.ambush.fake_meeting"),
        ("get her to meet me alone, i'll handle the rest", "en.ambush.fake_meeting"),
        ("envoie-moi ton mot de passe Discord, je monte ton rang", "fr.scam.credentials_request"),
        ("donne moi vite le code que tu viens de recevoir par sms", "fr.scam.credentials_request"),
        ("c quoi ton mdp steam ?", "fr.scam.credentials_request"),
        ("j'ai besoin de ton numéro de carte et du cryptogramme", "fr.scam.credentials_request"),
        ("tu peux me donner ton code de vérification stp", "fr.scam.credentials_request"),
        ("gimme ur discord login and i'll level ur acc", "en.scam.credentials_request"),
        ("need ur 2fa code real quick so i can add u", "en.scam.credentials_request"),
        ("whats ur SIN, its for the payroll", "en.scam.credentials_request"),
        ("send me the code you just got, wrong number sorry", "en.scam.credentials_request"),
        ("just text me ur card number and the cvv", "en.scam.credentials_request"),
        ("what's your seed phrase? i'll check the wallet for you", "en.scam.credentials_request"),
    ],
)
def test_grammar_rules_fire(text: str, rule: str) -> None:
    assert rule in rules(text)


LOOK_ALIKES = [
    "je vais te défoncer à brawl stars ce soir, prépare toi",
    "on va le défoncer ce gâteau, il a l'air trop bon",
    "je sais où t'habites, on est voisins depuis dix ans",
    "i'm gonna kill you for stealing my last life in smash",
    "if my brother eats my leftovers again i'm gonna kill him lol",
    "set him up with my cousin, they'd be perfect together",
    "🔪🍅 knife skills class tonight",
    "un plan à trois en pétanque, on cherche un troisième joueur",
    "12 roses pour la fête des mères, 25 euros chez le fleuriste",
    "cours de piano 25 euros l'heure, je me déplace",
    "j'ai ramené le couteau à pain à la cuisine",
    "bring ur water guns to the park, summer party 🔫",
    "someone called me a [SLUR] in game chat, reported them",
    "the dealer at the car place offered me 2k off",
    "mes potes m'appellent le dealer parce que je distribue les cartes au uno",
    "tu viens seule ou avec ton mari samedi ? pour les chaises",
    "someone told me to kys in the gaming room, how do i report them",
    "the sniper rifle in call of duty is overpowered",
    "qqn a le numéro de la mairie ?",
    "my mum says its me who left the door open lol",
    "the mods see everything you post, so be nice",
    "on me passe à 100 balles la place de concert",
    "ma fille a perdu 3 kilos pendant sa grippe",
    "je gagne 80 euros par jour au taf, c'est pas lourd",
    "anyone got a plug adapter for eu sockets",
    "check my profile pic, is it ok?",
    "got 15% off with a student discount code",
    "j'ai de la résine époxy pour la table",
    "qui a le crack du jeu ?",
    "need lean protein ideas for lunch",
    "selling my old lego pieces, dm for price",
    "fais le venir à 18h pour le gâteau",
    "t'es une crème, merci pour hier",
    "you're a legend, thanks mate",
    "ur such a loser lol, gg",
    "les femmes sont trop fortes au foot",
    "gays should be allowed to marry everywhere",
    "nobody likes you is a song by my fav band? no it's not lol",
    "je te crève au ping-pong quand tu veux",
    "on va mettre le feu au dancefloor samedi",
    "the villain deserves to be shot in the final episode",
    "post her pics from the wedding in the family chat",
    "rdv à la gare, on lui prend un bouquet en passant ?",
    "envoie-moi ton RIB, je te rembourse le resto",
    "send me ur iban and i'll transfer the deposit tonight",
    "c'est quoi le mot de passe du wifi ?",
    "drop me a pin when ur outside",
    "what's your friend code? i'll add you on switch",
    "envoie moi ton code postal pour les frais de port",
    "what's the door code for the flat?",
]


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_fire_no_refusing_rule(text: str) -> None:
    refusing = {hit.rule for hit in BOOK.match(read(text), "all", "message") if hit.score >= 0.6}
    assert not refusing


def test_a_scam_reported_in_the_first_person_is_a_warning() -> None:
    assert warns(read("j'ai reçu un SMS de colis à payer, c'est une arnaque hein ?"))


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("k i l l  y o u r s e l f", "en.harassment.self_harm"),
        ("f a k e  m e e t u p tonight", "en.ambush.setup"),
        ("j e  v a i s  t e  c r e v e r", "fr.violence.threat"),
    ],
)
def test_a_phrase_spelt_out_letter_by_letter_is_still_read(text: str, rule: str) -> None:
    # Spelt out, the words run together ("killyourself"): long phrases are looked for glued.
    assert rule in rules(text)


def test_short_phrases_are_not_looked_for_glued_inside_words() -> None:
    # "rob him" glued is "robhim": too short to be told from the inside of an ordinary word.
    assert "en.violence.ambush" not in rules("the robhimself account posted again")
