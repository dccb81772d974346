"""The public notice form, ``/report`` (EU DSA Art. 16): for people who are not chatting.

Server-rendered HTML that needs no JavaScript, in French or English from ``Accept-Language``.
It asks what Art. 16(2) lists: where the content is (a URL, a room, a nickname, a message id),
what it is and why it is illegal or against the rules, a category, a name and an email (both
optional, and said to be so for child sexual abuse material, Art. 16(2)(c)), and a statement of
good faith. A notice becomes a review job (source ``notice``) through the chat service; the
answer is a receipt with the notice's id.

CSRF: a signed double-submit token. The GET sets a random cookie; the form carries
HMAC-SHA256(secret, cookie); a POST must bring both and they must match. The secret is drawn
with :func:`secrets.token_bytes` when the process starts unless one is given, so with
``causerie serve --workers N`` a form fetched from one worker and posted to another is refused
(403): give every worker the same ``secret`` once settings carry one.

Each address may send :data:`NOTICE_BURST` notices at once, then one every
:data:`NOTICE_INTERVAL` seconds (a token bucket per address, in memory): 429 beyond. Every
value written into the page is escaped, and the page has its own strict CSP (no script at all;
the form may post only to this site).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from html import escape
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from causerie.chat.reports import NOTICE_CATEGORIES
from causerie.protocol.ratelimit import TokenBucket

COOKIE = "causerie_notice"
NOTICE_BURST = 5
NOTICE_INTERVAL = 600.0
# Addresses whose bucket is remembered; the least recently seen are forgotten first.
MAX_ADDRESSES = 10_000
MAX_BODY_BYTES = 16 * 1024
MAX_LOCATION = 2000
MAX_EXPLANATION = 4000
MAX_NAME = 200

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
_HEADERS = {"content-security-policy": CSP, "cache-control": "no-store"}

Notify = Callable[..., Awaitable[object]]

_TEXT: dict[str, dict[str, str]] = {
    "fr": {
        "title": "Signaler un contenu",
        "intro": (
            "Vous n'avez pas besoin d'un compte. Un modérateur lit chaque signalement. "
            "Nous vous répondons si vous laissez une adresse e-mail."
        ),
        "location": "Où se trouve le contenu ? (adresse, salon, pseudo ou numéro du message)",
        "explanation": "Qu'est-ce qui pose problème, et pourquoi ?",
        "category": "Catégorie",
        "name": "Votre nom (facultatif)",
        "email": "Votre e-mail (facultatif)",
        "optional": (
            "Le nom et l'e-mail sont facultatifs. Pour des images d'abus sexuels sur "
            "des enfants, vous pouvez les laisser vides : nous n'en avons pas besoin pour agir."
        ),
        "good_faith": (
            "Je déclare de bonne foi que les informations de ce signalement sont exactes "
            "et complètes."
        ),
        "send": "Envoyer le signalement",
        "received": "Signalement reçu",
        "receipt": "Votre signalement a été reçu. Son numéro :",
        "missing": "Remplissez les champs demandés et cochez la déclaration de bonne foi.",
        "too_long": "Un champ est trop long.",
        "forbidden": "Ce formulaire a expiré. Rechargez la page et recommencez.",
        "slow": "Trop de signalements depuis votre adresse. Réessayez plus tard.",
    },
    "en": {
        "title": "Report content",
        "intro": (
            "You do not need an account. A moderator reads every report. "
            "We answer if you leave an email address."
        ),
        "location": "Where is the content? (address, room, nickname or message number)",
        "explanation": "What is wrong with it, and why?",
        "category": "Category",
        "name": "Your name (optional)",
        "email": "Your email (optional)",
        "optional": (
            "Name and email are optional. For child sexual abuse material you may leave them "
            "empty: we do not need them to act."
        ),
        "good_faith": (
            "I declare in good faith that the information in this report is accurate and complete."
        ),
        "send": "Send the report",
        "received": "Report received",
        "receipt": "Your report was received. Its number:",
        "missing": "Fill in the fields asked for and tick the statement of good faith.",
        "too_long": "A field is too long.",
        "forbidden": "This form has expired. Reload the page and try again.",
        "slow": "Too many reports from your address. Try again later.",
    },
}
_CATEGORY_NAMES: dict[str, tuple[str, str]] = {
    "child_safety": ("Abus sexuel sur mineur, pédopiégeage", "Child sexual abuse, grooming"),
    "sexual": ("Contenu sexuel", "Sexual content"),
    "solicitation": ("Prostitution, racolage", "Prostitution, solicitation"),
    "drugs": ("Drogues", "Drugs"),
    "weapons": ("Armes", "Weapons"),
    "violence": ("Menaces, violence", "Threats, violence"),
    "harassment": ("Harcèlement", "Harassment"),
    "personal_data": ("Données personnelles", "Personal data"),
    "off_platform": ("Incitation à quitter le site", "Moving people to other apps"),
    "spam": ("Spam, publicité", "Spam, advertising"),
    "hate": ("Haine, discrimination", "Hate, discrimination"),
    "non_consent": ("Absence de consentement, soumission chimique", "Non-consent, drugging"),
    "ambush": ("Guet-apens", "Ambush, luring someone"),
    "scam": ("Arnaque, escroquerie", "Scam, fraud"),
    "doxxing": ("Divulgation d'informations sur un tiers", "Doxxing a third party"),
    "other": ("Autre", "Other"),
}


def language(accept: str) -> str:
    """``fr`` or ``en``: the first of the two the browser prefers; French when it names none."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate(accept.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().lower()[:2]
        if primary in ("fr", "en") and (best is None or (-quality, position) < best[:2]):
            best = (-quality, position, primary)
    return best[2] if best is not None else "fr"


class NoticeForm:
    """The ``/report`` endpoint: GET renders the form, POST receives a notice."""

    def __init__(
        self,
        notify: Notify,
        address_of: Callable[[Request], str],
        *,
        secret: bytes | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.notify = notify
        self.address_of = address_of
        self.secret = secret if secret is not None else secrets.token_bytes(32)
        self.clock = clock
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def token(self, cookie: str) -> str:
        return hmac.new(self.secret, cookie.encode(), hashlib.sha256).hexdigest()

    def _bucket(self, address: str) -> TokenBucket:
        bucket = self._buckets.get(address)
        if bucket is None:
            bucket = TokenBucket(1 / NOTICE_INTERVAL, NOTICE_BURST, self.clock)
            self._buckets[address] = bucket
            while len(self._buckets) > MAX_ADDRESSES:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(address)
        return bucket

    async def endpoint(self, request: Request) -> Response:
        """The Starlette endpoint of ``/report``."""
        lang = language(request.headers.get("accept-language", ""))
        if request.method == "POST":
            return await self._post(request, lang)
        cookie = request.cookies.get(COOKIE, "")
        fresh = len(cookie) < 32 or len(cookie) > 64 or not cookie.isalnum()
        if fresh:
            cookie = secrets.token_hex(24)
        response = self._page(lang, self._form(lang, cookie, {}, ""), 200)
        if fresh:
            self._set_cookie(request, response, cookie)
        return response

    def _set_cookie(self, request: Request, response: Response, cookie: str) -> None:
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=2 * 3600,
            path="/report",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )

    async def _post(self, request: Request, lang: str) -> Response:
        words = _TEXT[lang]
        wait = self._bucket(self.address_of(request)).take()
        if wait:
            response = self._page(lang, f"<p role='alert'>{escape(words['slow'])}</p>", 429)
            response.headers["retry-after"] = str(max(1, int(wait)))
            return response
        body = await _read(request, MAX_BODY_BYTES)
        if body is None:
            return self._page(lang, f"<p role='alert'>{escape(words['too_long'])}</p>", 413)
        fields = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        cookie = request.cookies.get(COOKIE, "")
        sent = fields.get("csrf", "")
        if not cookie or not hmac.compare_digest(sent.encode(), self.token(cookie).encode()):
            return self._page(lang, f"<p role='alert'>{escape(words['forbidden'])}</p>", 403)
        location = fields.get("location", "").strip()
        explanation = fields.get("explanation", "").strip()
        category = fields.get("category", "")
        name = fields.get("name", "").strip()
        email = fields.get("email", "").strip()
        good_faith = fields.get("good_faith") == "yes"
        error = ""
        if not location or not explanation or not good_faith or category not in _CATEGORY_NAMES:
            error = words["missing"]
        elif (
            len(location) > MAX_LOCATION
            or len(explanation) > MAX_EXPLANATION
            or len(name) > MAX_NAME
            or len(email) > MAX_NAME
        ):
            error = words["too_long"]
        if error:
            return self._page(lang, self._form(lang, cookie, fields, error), 400)
        notice = await self.notify(
            location=location,
            explanation=explanation,
            category=category,
            name=name,
            email=email,
            good_faith=good_faith,
        )
        notice_id = str(getattr(notice, "id", notice))
        receipt = (
            f"<h1>{escape(words['received'])}</h1>"
            f"<p>{escape(words['receipt'])} <strong id='notice-id'>{escape(notice_id)}</strong></p>"
        )
        return self._page(lang, receipt, 200)

    def _form(self, lang: str, cookie: str, values: dict[str, str], error: str) -> str:
        words = _TEXT[lang]
        index = 0 if lang == "fr" else 1
        picked = values.get("category", "")
        options = "".join(
            f"<option value='{escape(c)}'{' selected' if c == picked else ''}>"
            f"{escape(_CATEGORY_NAMES[c][index])}</option>"
            for c in NOTICE_CATEGORIES
        )
        alert = f"<p role='alert'>{escape(error)}</p>" if error else ""

        def value(name: str) -> str:
            return escape(values.get(name, ""))

        return (
            f"<h1>{escape(words['title'])}</h1><p>{escape(words['intro'])}</p>{alert}"
            "<form method='post' action='/report'>"
            f"<input type='hidden' name='csrf' value='{escape(self.token(cookie))}'>"
            f"<p><label for='location'>{escape(words['location'])}</label><br>"
            f"<input id='location' name='location' required maxlength='{MAX_LOCATION}' "
            f"value='{value('location')}'></p>"
            f"<p><label for='explanation'>{escape(words['explanation'])}</label><br>"
            f"<textarea id='explanation' name='explanation' required rows='6' "
            f"maxlength='{MAX_EXPLANATION}'>{value('explanation')}</textarea></p>"
            f"<p><label for='category'>{escape(words['category'])}</label><br>"
            f"<select id='category' name='category' required>{options}</select></p>"
            f"<p>{escape(words['optional'])}</p>"
            f"<p><label for='name'>{escape(words['name'])}</label><br>"
            f"<input id='name' name='name' maxlength='{MAX_NAME}' value='{value('name')}'></p>"
            f"<p><label for='email'>{escape(words['email'])}</label><br>"
            f"<input id='email' name='email' type='email' maxlength='{MAX_NAME}' "
            f"value='{value('email')}'></p>"
            "<p><input id='good_faith' name='good_faith' type='checkbox' value='yes' required> "
            f"<label for='good_faith'>{escape(words['good_faith'])}</label></p>"
            f"<p><button type='submit'>{escape(words['send'])}</button></p></form>"
        )

    def _page(self, lang: str, body: str, status: int) -> HTMLResponse:
        title = escape(_TEXT[lang]["title"])
        html = (
            f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{title} · causerie</title></head><body><main>{body}</main></body></html>"
        )
        return HTMLResponse(html, status_code=status, headers=_HEADERS)


async def _read(request: Request, limit: int) -> bytes | None:
    """The body, or None past ``limit`` bytes (read no further than that)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


__all__ = ["COOKIE", "NOTICE_BURST", "NOTICE_INTERVAL", "NoticeForm", "language"]
