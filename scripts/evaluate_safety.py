"""Score the live decision path (minors fence + policy + models) on the held-out set.

Every line of data/safety/heldout/lines.jsonl is sent through a real node's chat actions
(``say`` in a room of its context, ``send_private`` to a person of its context) by a fresh
chatter on a fresh device and address, exactly as the server does it; a line is *stopped* when
it is not delivered (refused, held, frozen). Harmful lines should be stopped (recall), harmless
ones delivered (false blocks). Conversations (conversations.jsonl) are played message by
message; the detection turn is the first message that was refused or opened a review job.

The held-out set was written apart from every rule and training line (data/safety/heldout/
README.md): nothing here tunes on it.

    .venv/bin/python scripts/evaluate_safety.py [--models both|ngram|semantic|none] [--json OUT]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from causerie.chat.hooks import Peer
from causerie.chat.hub import LocalSession
from causerie.errors import ChatError
from causerie.node import Node
from causerie.protocol import frames as f
from causerie.settings import Settings
from causerie.store.review import Job, ReviewStore

ROOT = Path(__file__).resolve().parent.parent
HELDOUT = ROOT / "data" / "safety" / "heldout"
AGE_OF_BAND = {"13-14": 14, "15-17": 16, "18+": 30}
ROOM_OF_CONTEXT = {"all_ages_room": "general", "teen_room": "ados", "adult_room": "18-25-ans"}
RECIPIENT_AGE = {"private_adult_adult": 34, "private_teen_teen": 15, "private_adult_to_minor": 14}


class Sink:
    """An outbox that keeps nothing: the evaluation reads the actions' outcomes."""

    def push(self, frame: str) -> None:
        return None

    def close(self, frame: str, reason: str) -> None:
        return None


@dataclass
class Site:
    node: Node
    counter: int = 0

    def _peer(self) -> Peer:
        self.counter += 1
        n = self.counter
        return Peer(ip=f"10.{n // 62500 % 250}.{n // 250 % 250}.{n % 250 + 1}", port=40000)

    async def chatter(self, age: int) -> tuple[LocalSession, Peer]:
        peer = self._peer()
        frame = f.Enter(
            nickname=f"Eval{self.counter}",
            age=age,
            gender="other",
            postal_code="75011",
            device=secrets.token_urlsafe(24),
        )
        session, _ = await self.node.chat.enter(frame, Sink(), peer)
        return session, peer

    async def may_enter_as(self, nickname: str) -> bool:
        frame = f.Enter(
            nickname=nickname,
            age=30,
            gender="other",
            postal_code="75011",
            device=secrets.token_urlsafe(24),
        )
        try:
            session, _ = await self.node.chat.enter(frame, Sink(), self._peer())
        except ChatError:
            return False
        await self.node.chat.exit(session)
        return True

    async def jobs(self) -> list[Job]:
        return await ReviewStore(self.node.engine).jobs(limit=100_000, by_id=True)


async def send(
    site: Site,
    context: str,
    session: LocalSession,
    peer: Peer,
    text: str,
    recipient: LocalSession | None,
) -> str | None:
    """None when ``text`` was delivered, else the refusal's code."""
    chat = site.node.chat
    try:
        if recipient is not None:
            await chat.send_private(session, recipient.nickname, text, None, peer)
        else:
            await chat.say(session, ROOM_OF_CONTEXT[context], text, None, peer)
    except ChatError as refused:
        return f"{refused.code.value}: {refused.message}"
    return None


async def evaluate_line(site: Site, line: dict[str, Any]) -> str | None:
    context = line["context"]
    session, peer = await site.chatter(AGE_OF_BAND[line["author_band"]])
    recipient = None
    try:
        if context in RECIPIENT_AGE:
            recipient, _ = await site.chatter(RECIPIENT_AGE[context])
        else:
            try:
                await site.node.chat.join(session, [ROOM_OF_CONTEXT[context]])
            except ChatError as refused:
                return f"join {refused.code.value}"  # the room is closed to this author
        return await send(site, context, session, peer, line["text"], recipient)
    finally:
        await site.node.chat.exit(session)
        if recipient is not None:
            await site.node.chat.exit(recipient)


async def evaluate_conversation(
    site: Site, conversation: dict[str, Any]
) -> tuple[int | None, str | None]:
    """The first turn refused or escalated, and what did it; (None, None) when none was."""
    context = conversation["context"]
    people: dict[str, tuple[LocalSession, Peer]] = {}
    for name, who in conversation["participants"].items():
        people[name] = await site.chatter(AGE_OF_BAND[who["band"]])
    try:
        if context in ROOM_OF_CONTEXT:
            for session, _ in people.values():
                try:
                    await site.node.chat.join(session, [ROOM_OF_CONTEXT[context]])
                except ChatError as refused:
                    return 0, f"join {refused.code.value}"
        for turn, message in enumerate(conversation["messages"]):
            session, peer = people[message["from"]]
            other = None
            if context in RECIPIENT_AGE:
                other = next(s for n, (s, _) in people.items() if n != message["from"])
            before = len(await site.jobs())
            refused = await send(site, context, session, peer, message["text"], other)
            if refused is not None:
                return turn, refused
            opened = (await site.jobs())[before:]
            if opened:
                return turn, "; ".join(
                    f"review {j.kind} {j.category.value if j.category else ''} {j.score or 0:.2f}"
                    f" ({j.reason})"
                    for j in opened
                )
        return None, None
    finally:
        for session, _ in people.values():
            await site.node.chat.exit(session)


# Nicknames as people choose them (names with digits, years, postcodes), none of them in the
# training data's nickname lists: the entry path must let every one in.
ORDINARY_NICKNAMES = [
    name + suffix
    for name in (
        "Baptiste",
        "Oceane",
        "Mathis",
        "Clara",
        "Theo",
        "Lou",
        "Adam",
        "Louise",
        "Gabriel",
        "Alice",
        "Jules",
        "Ambre",
        "Nathan",
        "Rose",
        "Ethan",
        "Anna",
        "Jack",
        "Mia",
        "Harry",
        "Grace",
    )
    for suffix in ("", "92", "_13", "2008", "xX", "_du_59", "77", "_off", "1", "4ever")
]


def rate(hits: int, total: int) -> str:
    return f"{hits / total:.3f} ({hits}/{total})" if total else "n/a"


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", choices=["both", "ngram", "semantic", "none"], default="both")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument(
        "--set",
        type=Path,
        default=HELDOUT,
        dest="directory",
        help="a directory with lines.jsonl and conversations.jsonl (default: the held-out set)",
    )
    parser.add_argument(
        "--policy",
        type=Path,
        help="an operator's policy file (safety.policy_file) instead of the shipped one",
    )
    parser.add_argument(
        "--errors",
        action="store_true",
        help="list every mistake with its refusal (refused on the held-out set: reading its"
        " mistakes line by line is how a held-out set becomes a training set)",
    )
    args = parser.parse_args()
    if args.errors and args.directory.resolve() == HELDOUT.resolve():
        parser.error("--errors lists lines: use it on a tuning set (--set data/safety/dev)")
    lines = [
        json.loads(x) for x in (args.directory / "lines.jsonl").read_text("utf-8").splitlines() if x
    ]
    conversation_file = args.directory / "conversations.jsonl"
    conversations = [
        json.loads(x)
        for x in (
            conversation_file.read_text("utf-8") if conversation_file.exists() else ""
        ).splitlines()
        if x
    ]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database={"url": f"sqlite+aiosqlite:///{tmp}/chat.db"},
            legal={"keys_file": f"{tmp}/keys/retention.keys"},
            safety={
                "model": args.models in ("both", "ngram"),
                "semantic": args.models in ("both", "semantic"),
                # Inline scoring: the evaluation sends one line at a time.
                "model_timeout_ms": 10_000,
                "policy_file": args.policy,
            },
            # Adults-only rooms would need an age token; the evaluation is about the text.
            minors={"adults_only_requires_verification": False},
            photos={"nudity_model": False},
        )
        node = Node(settings)
        await node.start()
        site = Site(node)
        started = time.perf_counter()
        outcomes = []
        refusals: list[str | None] = []
        try:
            refused_nicknames = [n for n in ORDINARY_NICKNAMES if not await site.may_enter_as(n)]
            for line in lines:
                refusal = await evaluate_line(site, line)
                refusals.append(refusal)
                outcomes.append((line, refusal is not None))
            turns = [(c, await evaluate_conversation(site, c)) for c in conversations]
        finally:
            await node.stop()
        elapsed = time.perf_counter() - started
    report: dict[str, Any] = {
        "set": str(args.directory),
        "models": args.models,
        "lines": len(lines),
        "seconds": elapsed,
    }
    harmful = [(x, s) for x, s in outcomes if x["label"] == "harmful"]
    harmless = [(x, s) for x, s in outcomes if x["label"] == "harmless"]
    report["ordinary nicknames refused"] = rate(len(refused_nicknames), len(ORDINARY_NICKNAMES))
    report["refused nicknames"] = refused_nicknames
    report["recall"] = rate(sum(s for _, s in harmful), len(harmful))
    report["false_blocks"] = rate(sum(s for _, s in harmless), len(harmless))
    groups: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for line, stopped in outcomes:
        key = line["label"]
        groups[f"{key} by category"][str(line["category"])].append(stopped)
        groups[f"{key} by context"][line["context"]].append(stopped)
        groups[f"{key} by form"][line["form"]].append(stopped)
        groups[f"{key} by language"][line["lang"]].append(stopped)
    for name, table in sorted(groups.items()):
        report[name] = {k: rate(sum(v), len(v)) for k, v in sorted(table.items())}
    flagged: Counter[str] = Counter()
    for conversation, (turn, _) in turns:
        kind = conversation["label"]
        request = conversation.get("request_turn")
        flagged[f"{kind} total"] += 1
        if turn is not None:
            flagged[f"{kind} flagged"] += 1
            if request is not None and turn < request:
                flagged[f"{kind} flagged before the request"] += 1
            if request is not None and turn <= request:
                flagged[f"{kind} flagged at or before the request"] += 1
    report["conversations"] = dict(flagged)
    # Which refusal stopped harmless lines, counted (not listed): where false blocks come from.
    report["false blocks by refusal"] = dict(
        Counter(
            (r or "").split(":")[0]
            for (line, _), r in zip(outcomes, refusals, strict=True)
            if line["label"] == "harmless" and r is not None
        ).most_common()
    )
    report["conversation turns"] = {
        c["id"]: {
            "label": c["label"],
            "kind": c["kind"],
            "flagged": t,
            "request": c.get("request_turn"),
        }
        for c, (t, _) in turns
    }
    text = json.dumps(report, indent=2, ensure_ascii=False)
    print(text)
    if args.errors:
        for (line, stopped), refusal in zip(outcomes, refusals, strict=True):
            if stopped != (line["label"] == "harmful"):
                kind = "FALSE BLOCK" if stopped else "MISSED"
                print(
                    f"{kind} [{line['context']} {line['author_band']} {line.get('category')}]"
                    f" {line['text']!r} -> {refusal}"
                )
        for conversation, (turn, cause) in turns:
            print(
                f"CONVERSATION {conversation['id']} {conversation['label']} flagged={turn}"
                f" request={conversation.get('request_turn')} by {cause}"
            )
    if args.json:
        args.json.write_text(text + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
