"""Staff sign-in: argon2id passwords, TOTP second factor, lockouts and expiring sessions.

A sign-in needs the account's password *and* a current TOTP code (RFC 6238, 30-second steps,
one step of clock drift either way, each step good once). Five failures in a row, of either
factor, lock the account for fifteen minutes; a locked account refuses even right answers, and
the refusal does not say which factor was wrong. Every outcome is in the staff audit log.

TOTP secrets are sealed at rest (AES-256-GCM, ``s1:`` + base64 in ``staff_accounts``) under a
key derived from the retention keyring's chain key (``legal.keys_file``), which the database
never holds: a copy of the database alone cannot mint codes. A secret written before sealing
existed (plain base32) is accepted and sealed at its next successful use.

Legal officers are staff accounts of role ``legal``: :class:`StaffOfficers` is the legal
service's authenticator (:class:`causerie.legal.officers.OfficerAuthenticator`), checking the
officer's password and TOTP code once per command.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from causerie.console.audit import StaffAudit
from causerie.store.staff import Role, StaffAccount, StaffSession, StaffStore

MAX_FAILURES = 5
LOCK_SECONDS = 15 * 60
SESSION_SECONDS = 8 * 3600
TOTP_STEP = 30
ISSUER = "causerie console"
MIN_PASSWORD = 12
# Command-line officer sessions (``causerie legal login``): 30 minutes, marked apart from the
# console's cookie sessions so that neither opens the other.
OFFICER_SESSION_SECONDS = 30 * 60
OFFICER_SESSION_MARK = "cli-officer:"
NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")

# argon2id with the library's defaults (RFC 9106 "second recommended" parameters).
_hasher = PasswordHasher()
# Checked against when the name is unknown, so that a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class AuthError(Exception):
    """A refused sign-in or account change, in words for the person at the keyboard."""


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AuthError(f"a staff password has at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def totp_step(code: str, secret: str, now: float) -> int | None:
    """The time step ``code`` is valid for at ``now`` (one step of drift allowed), or None."""
    code = code.strip().replace(" ", "")
    if not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=TOTP_STEP)
    current = int(now // TOTP_STEP)
    for step in (current, current - 1, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def totp_now(secret: str, now: float) -> str:
    """The code an authenticator shows at ``now`` (tests and the first sign-in check)."""
    return pyotp.TOTP(secret, interval=TOTP_STEP).generate_otp(int(now // TOTP_STEP))


def provisioning_uri(name: str, secret: str) -> str:
    return pyotp.TOTP(secret, interval=TOTP_STEP).provisioning_uri(name=name, issuer_name=ISSUER)


_SEALED = "s1:"


def staff_totp_key(chain_key: bytes) -> bytes:
    """The key that seals TOTP secrets, derived from the keyring's chain key (one purpose)."""
    return hmac.new(chain_key, b"causerie staff totp v1", hashlib.sha256).digest()


class TotpVault:
    """Seals and opens TOTP secrets; the staff name is the associated data (no swapping)."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, name: str, secret: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, secret.encode(), b"totp|" + name.encode())
        return _SEALED + base64.b64encode(nonce + sealed).decode()

    def open(self, name: str, stored: str) -> str:
        if not stored.startswith(_SEALED):
            return stored  # written before sealing: sealed at its next use
        raw = base64.b64decode(stored[len(_SEALED) :])
        try:
            return self._aead.decrypt(raw[:12], raw[12:], b"totp|" + name.encode()).decode()
        except InvalidTag:
            raise AuthError(
                "this staff account's TOTP secret does not open with this key file "
                "(legal.keys_file): is it the site's own?"
            ) from None

    @staticmethod
    def is_sealed(stored: str) -> bool:
        return stored.startswith(_SEALED)


@dataclass(frozen=True, slots=True)
class SignedIn:
    token: str
    session: StaffSession
    account: StaffAccount


@dataclass(frozen=True, slots=True)
class NewStaff:
    account: StaffAccount
    provisioning_uri: str


class StaffAuth:
    """Accounts and sessions, with every outcome in the audit log."""

    def __init__(
        self,
        store: StaffStore,
        audit: StaffAudit,
        *,
        totp_key: bytes,
        clock: Callable[[], float] = time.time,
        session_seconds: float = SESSION_SECONDS,
    ) -> None:
        self.store = store
        self.audit = audit
        self.vault = TotpVault(totp_key)
        self.clock = clock
        self.session_seconds = session_seconds

    async def add(self, name: str, role: Role, password: str, *, by: str) -> NewStaff:
        name = name.strip().lower()
        if not (2 <= len(name) <= 40) or not set(name) <= NAME_CHARS:
            raise AuthError("a staff name is 2 to 40 of a-z, 0-9, '.', '_' and '-'")
        secret = pyotp.random_base32()
        account = await self.store.add(
            name, role, hash_password(password), self.vault.seal(name, secret), now=self.clock()
        )
        await self.audit.record(by, "staff.add", name, role=role.value)
        # Shown once, at creation (as the provisioning URI is); stored sealed.
        return NewStaff(replace(account, totp_secret=secret), provisioning_uri(name, secret))

    async def reset_totp(self, name: str, *, by: str) -> str:
        secret = pyotp.random_base32()
        if not await self.store.set_totp(name, self.vault.seal(name, secret)):
            raise AuthError(f"no staff account named {name!r}")
        await self.audit.record(by, "staff.totp_reset", name)
        return provisioning_uri(name, secret)

    async def set_password(self, name: str, password: str, *, by: str) -> None:
        if not await self.store.set_password(name, hash_password(password)):
            raise AuthError(f"no staff account named {name!r}")
        await self.audit.record(by, "staff.password", name)

    async def set_role(self, name: str, role: Role, *, by: str) -> None:
        if not await self.store.set_role(name, role):
            raise AuthError(f"no staff account named {name!r}")
        await self.audit.record(by, "staff.role", name, role=role.value)

    async def disable(self, name: str, *, by: str) -> None:
        if not await self.store.disable(name, now=self.clock()):
            raise AuthError(f"no staff account named {name!r}")
        await self.audit.record(by, "staff.disable", name)

    async def enable(self, name: str, *, by: str) -> None:
        if not await self.store.enable(name):
            raise AuthError(f"no staff account named {name!r}")
        await self.audit.record(by, "staff.enable", name)

    async def _factors(
        self, name: str, password: str, code: str, action: str, role: Role | None = None
    ) -> StaffAccount:
        """The account whose password and code these are (and of ``role``, if given), or
        :class:`AuthError` without saying which factor failed; failures count to a lockout."""
        now = self.clock()
        account = await self.store.get(name)
        refused = AuthError("wrong name, password or code")
        if account is None:
            password_matches(_DUMMY_HASH, password)
            await self.audit.record(name or "(empty)", action, outcome="unknown")
            raise refused
        if account.disabled_at is not None:
            await self.audit.record(name, action, outcome="disabled")
            raise refused
        if account.locked(now):
            await self.audit.record(name, action, outcome="locked")
            raise AuthError("this account is locked after repeated failures: try again later")
        secret = self.vault.open(name, account.totp_secret)
        step = totp_step(code, secret, now)
        good = password_matches(account.password_hash, password) and step is not None
        if good and step is not None and not await self.store.accept_totp_step(name, step):
            good = False  # a code already used: a replay
        if not good:
            failures = await self.store.record_failure(
                name, now=now, limit=MAX_FAILURES, lock_seconds=LOCK_SECONDS
            )
            locked = failures >= MAX_FAILURES
            await self.audit.record(name, action, outcome="locked_now" if locked else "failed")
            if locked:
                raise AuthError("this account is locked after repeated failures: try again later")
            raise refused
        if role is not None and account.role is not role:
            await self.audit.record(name, action, outcome="wrong_role", role=account.role.value)
            raise AuthError(f"{name!r} is not a {role.value} staff account")
        if not self.vault.is_sealed(account.totp_secret):
            await self.store.set_totp_sealed(name, self.vault.seal(name, secret))
        return account

    async def verify_officer(self, name: str, password: str, code: str) -> StaffAccount:
        """A legal officer's password and TOTP code, checked as a sign-in is (audited)."""
        name = name.strip().lower()[:40]
        account = await self._factors(name, password, code, "officer.verify", Role.LEGAL)
        await self.store.record_login(name, now=self.clock())
        await self.audit.record(name, "officer.verify")
        return account

    async def officer_login(self, name: str, password: str, code: str) -> tuple[str, float]:
        """A short officer session for the command line (a token and its end): a script runs
        several ``causerie legal`` commands on one proof of both factors."""
        account = await self.verify_officer(name, password, code)
        # Hex, not URL-safe base64: a token given on a command line must not start with "-",
        # which argparse reads as an option (one token in 64 did).
        token = secrets.token_hex(32)
        session = await self.store.open_session(
            token,
            account.name,
            OFFICER_SESSION_MARK + secrets.token_urlsafe(16),
            now=self.clock(),
            ttl_seconds=OFFICER_SESSION_SECONDS,
        )
        await self.audit.record(account.name, "officer.login", expires_at=session.expires_at)
        return token, session.expires_at

    async def officer_of_session(self, token: str) -> StaffAccount | None:
        """The legal officer of an unexpired officer session (never a console cookie's)."""
        found = await self.store.session(token, now=self.clock()) if token else None
        if found is None:
            return None
        session, account = found
        if not session.csrf.startswith(OFFICER_SESSION_MARK) or account.role is not Role.LEGAL:
            return None
        return account

    async def sign_in(self, name: str, password: str, code: str) -> SignedIn:
        """Open a session, or raise :class:`AuthError` without saying which factor failed."""
        name = name.strip().lower()[:40]
        now = self.clock()
        await self._factors(name, password, code, "login")
        await self.store.record_login(name, now=now)
        token = secrets.token_urlsafe(32)
        session = await self.store.open_session(
            token, name, secrets.token_urlsafe(32), now=now, ttl_seconds=self.session_seconds
        )
        await self.audit.record(name, "login")
        refreshed = await self.store.get(name)
        assert refreshed is not None
        return SignedIn(token, session, refreshed)

    async def session(self, token: str) -> tuple[StaffSession, StaffAccount] | None:
        if not token:
            return None
        return await self.store.session(token, now=self.clock())

    async def sign_out(self, token: str, name: str) -> None:
        await self.store.close_session(token)
        await self.audit.record(name, "logout")


class StaffOfficers:
    """Legal officers as staff accounts of role ``legal`` with their second factor: the
    legal service's authenticator for one command, whose officer gave a password and a code.

    The factors are checked once, at the first operation (a TOTP code is good once); every
    operation after that, in the same command, is that officer's.
    """

    def __init__(
        self,
        auth: StaffAuth,
        name: str,
        password: str = "",
        code: str = "",
        *,
        session: str = "",
    ) -> None:
        self.auth = auth
        self.name = name.strip().lower()
        self._password = password
        self._code = code
        self._session = session
        self._verified: bool | None = None
        self.refusal = ""

    async def authenticate(self, officer: str, action: str) -> bool:
        if officer.strip().lower() != self.name or not self.name:
            return False
        if self._verified is None:
            self._verified = await self._verify()
            self._password = ""
        return self._verified

    async def _verify(self) -> bool:
        if self._session:
            account = await self.auth.officer_of_session(self._session)
            if account is None or account.name != self.name:
                self.refusal = "this officer session is unknown, expired or someone else's"
                return False
            return True
        try:
            await self.auth.verify_officer(self.name, self._password, self._code)
        except AuthError as exc:
            self.refusal = str(exc)
            return False
        return True

    def describe(self) -> str:
        why = self.refusal
        return (
            "legal officers are console staff accounts of role legal, with their password and "
            "TOTP code" + (f": {why}" if why else "")
        )
