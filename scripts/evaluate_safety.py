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
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from causerie.chat.hooks import Peer
from causerie.chat.hub import LocalSession
from causerie.cli.trial import AGE_OF_BAND, TrialSite, live_outcome, trial_site
from causerie.errors import ChatError, ErrorCode
from causerie.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
HELDOUT = ROOT / "data" / "safety" / "heldout"
AUDIENCE_OF_CONTEXT = {"all_ages_room": "all", "teen_room": "teens", "adult_room": "adults"}
RECIPIENT_BAND = {
    "private_adult_adult": "18+",
    "private_teen_teen": "15-17",
    "private_adult_to_minor": "13-14",
}


def refusal_text(refused: ChatError | None) -> str | None:
    return None if refused is None else f"{refused.code.value}: {refused.message}"


async def evaluate_line(site: TrialSite, line: dict[str, Any]) -> str | None:
    """None when the line was delivered, else the refusal's code and message."""
    context = line["context"]
    private = context in RECIPIENT_BAND
    refused = await live_outcome(
        site,
        line["text"],
        kind="private" if private else "message",
        band=line["author_band"],
        audience=AUDIENCE_OF_CONTEXT.get(context, "all"),
        to_band=RECIPIENT_BAND.get(context),
    )
    if refused is not None and not private and refused.code is ErrorCode.ROOM_FORBIDDEN:
        return f"join {refused.code.value}"  # the room is closed to this author
    return refusal_text(refused)


def _cause_kind(cause: str | None) -> str:
    """``conversation_forbidden``, ``join room_forbidden``, ``content_blocked``, ``review``..."""
    text = cause or ""
    if text.startswith("review"):
        return "review"
    return text.split(":")[0]


async def evaluate_conversation(
    site: TrialSite, conversation: dict[str, Any]
) -> tuple[int | None, str | None]:
    """The first turn refused or escalated, and what did it; (None, None) when none was."""
    context = conversation["context"]
    people: dict[str, tuple[LocalSession, Peer]] = {}
    for name, who in conversation["participants"].items():
        people[name] = await site.chatter(AGE_OF_BAND[who["band"]])
    room = None
    try:
        if context in AUDIENCE_OF_CONTEXT:
            room = await site.room_for(AUDIENCE_OF_CONTEXT[context])
            for session, _ in people.values():
                try:
                    await site.node.chat.join(session, [room])
                except ChatError as refused:
                    return 0, f"join {refused.code.value}"
        for turn, message in enumerate(conversation["messages"]):
            session, peer = people[message["from"]]
            other = None
            if room is None:
                other = next(s for n, (s, _) in people.items() if n != message["from"])
            before = len(await site.jobs())
            refused = await site.send(session, peer, message["text"], room=room, recipient=other)
            if refused is not None:
                return turn, refusal_text(refused)
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
    settings = Settings(
        safety={
            "model": args.models in ("both", "ngram"),
            "semantic": args.models in ("both", "semantic"),
            "policy_file": args.policy,
        },
    )
    async with trial_site(settings) as site:
        started = time.perf_counter()
        outcomes = []
        refusals: list[str | None] = []
        refused_nicknames = [n for n in ORDINARY_NICKNAMES if await site.enter_as(n) is not None]
        for line in lines:
            refusal = await evaluate_line(site, line)
            refusals.append(refusal)
            outcomes.append((line, refusal is not None))
        turns = [(c, await evaluate_conversation(site, c)) for c in conversations]
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
    # An adult and a minor have no private channel at all (BRIEF: adults cannot open
    # conversations with minors, minors not either): a line there is refused by construction,
    # whatever it says. Counted above; apart here, for harmful and harmless lines alike.
    for label, key in (("harmful", "recall"), ("harmless", "false_blocks")):
        open_channel = [
            stopped
            for (line, stopped), refusal in zip(outcomes, refusals, strict=True)
            if line["label"] == label and not (refusal or "").startswith("conversation_forbidden")
        ]
        report[f"{key}_where_the_channel_is_open"] = rate(sum(open_channel), len(open_channel))
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
    # What flagged the harmless conversations, counted by kind (not listed): a channel the site
    # keeps closed or a fence it keeps up is the product's rule, a block or a review is a reading.
    report["harmless conversations flagged by"] = dict(
        Counter(
            _cause_kind(cause)
            for conversation, (turn, cause) in turns
            if conversation["label"] == "harmless" and turn is not None
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
