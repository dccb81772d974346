"""Refer to the legal officer (DSA Art. 18): a package with the content, times with zones,
reasons and locating data, through the legal workflow; the legal officer's only; audited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from causerie.console.auth import StaffOfficers
from causerie.legal.crypto import generate_signing_key, load_public_key
from causerie.legal.errors import NotAnOfficer
from causerie.legal.package import verify_package
from causerie.legal.service import LegalService
from causerie.store.review import Source
from causerie.store.staff import Role
from tests.console.conftest import PASSWORD, Console


async def test_a_referral_reaches_the_legal_officer_only(console: Console, tmp_path: Path) -> None:
    h = console.harness
    alice = await h.enter("Alice", 30)
    bob = await h.enter("Bob", 31, ip="203.0.113.61")
    await alice.join("general")
    await bob.join("general")
    ack = await bob.say("general", "tu es vraiment nul, va-t'en")
    await h.node.chat.report(alice.session, f"message:{ack.id}", "violence", "a threat", None)
    (job,) = await console.parts.review.jobs(sources=[Source.REPORT])
    h.clock.advance(300)
    mia = console.actor("mia", Role.MODERATOR)
    await console.parts.actions.decide(mia, job.id, "refer", note="threat with a place and time")
    reference = f"referral-job{job.id}"

    legal = h.node.legal
    signing = tmp_path / "signing" / "referral.pem"
    signing.parent.mkdir(mode=0o700)
    public = generate_signing_key(signing)

    def service(officers: StaffOfficers) -> LegalService:
        return LegalService(
            h.node.settings,
            legal.stores,
            legal.service.keyring,
            messages=h.node.messages,
            signing_key_file=signing,
            officers=officers,
            clock=h.clock,
        )

    # A moderator, even with the right password and code, is not an officer.
    mia_secret = await console.add_staff("mia", Role.MODERATOR)
    as_mia = StaffOfficers(console.parts.auth, "mia", PASSWORD, console.code(mia_secret))
    with pytest.raises(NotAnOfficer):
        await service(as_mia).referrals("mia")

    secret = await console.add_staff("durand", Role.LEGAL)
    officer = service(StaffOfficers(console.parts.auth, "durand", PASSWORD, console.code(secret)))
    (item,) = await officer.referrals("durand")
    package = item.content
    assert item.reference == reference and item.subject == f"m{ack.id}"
    assert package["content"]["text"] == "tu es vraiment nul, va-t'en"
    assert package["content"]["author"]["nickname"] == "Bob"
    written = package["times"]["written"]
    assert written["utc"].endswith("Z") and written["europe_paris"].endswith("+02:00")  # June
    assert package["times"]["referred"]["epoch"] - written["epoch"] == 300
    assert package["reasons"]["category"] == "violence"
    assert package["reasons"]["moderator_note"] == "threat with a place and time"
    assert package["reasons"]["reports"] == 1
    # Locating data: the address, port and times of Bob's message and of his connection.
    kinds = {(r["kind"], r["ip"], r["port"]) for r in package["locating_data"]}
    assert ("content", "203.0.113.61", bob.peer.port) in kinds
    assert ("open", "203.0.113.61", bob.peer.port) in kinds
    assert all(r["at_paris"].endswith("+02:00") for r in package["locating_data"])

    # The package for the authority: signed, verifiable with the public key alone.
    target = tmp_path / "out" / reference
    target.parent.mkdir()
    await officer.export_referral("durand", reference, target)
    assert verify_package(target, load_public_key(public)).ok
    exported = json.loads((target / "referral.json").read_text())
    assert exported[0]["reference"] == reference

    # What a moderator sees of it: the reference, not the address.
    http, _csrf = await console.signed_in("sam", Role.SENIOR)
    page = await http.get(f"/jobs/{job.id}")
    await http.aclose()
    assert page.status_code == 200 and "203.0.113.61" not in page.text

    # Every step in the legal audit log, refusals included.
    entries = [(e.actor, e.action, e.outcome) for e in await legal.service.audit.entries(50)]
    assert ("mia", "referral.received", "ok") in entries
    assert ("mia", "referrals.list", "denied") in entries
    assert ("durand", "referrals.list", "ok") in entries
    assert ("durand", "referral.export", "ok") in entries
