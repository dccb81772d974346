"""``causerie moderation ...``: the console's queue and decisions, for scripts.

``causerie moderation queue --staff NAME --json`` lists what that staff member's role sees;
``causerie moderation decide JOB ACTION --staff NAME [--minutes N] [--note TEXT]`` takes the
decision through :class:`~causerie.moderation.actions.ModerationActions`, the console's own
path (role checks, claim, statement, audit). Frames (``removed``, disconnects, statements) reach
the nodes over the configured bus; with the ``memory`` bus nothing reaches a running node.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from causerie.chat import envelopes
from causerie.settings import Settings


class BusChat(envelopes.BusPublishing):
    """The chat core's publish and disconnect over the bus, for a command without a node."""

    def __init__(self, settings: Settings) -> None:
        from causerie.bus import create_bus

        self.bus = create_bus(settings.bus)

    async def start(self) -> None:
        async def ignore(_envelope: bytes) -> None:
            return None

        await self.bus.start(ignore)

    async def close(self) -> None:
        await self.bus.close()


async def _actor(parts: Any, name: str) -> Any:
    from causerie.moderation.actions import Actor, ModerationError

    account = await parts.staff.get(name)
    if account is None or account.disabled_at is not None:
        raise ModerationError("forbidden", f"no active staff account named {name!r}")
    return Actor(account.name, account.role)


def _job_json(job: Any) -> dict[str, Any]:
    return {
        "id": job.id,
        "queue": job.queue.value,
        "priority": job.priority,
        "status": job.status.value,
        "category": job.category.value if job.category else None,
        "source": job.source.value,
        "kind": job.kind,
        "reason": job.reason,
        "signals": job.signals,
        "created_at": job.created_at,
        "claimed_by": job.claimed_by,
        "claim_expires_at": job.claim_expires_at,
        "item": {
            "kind": job.item.kind.value,
            "author": job.item.author_nickname,
            "room": job.item.room_id,
            "content_id": job.item.content_id,
            "text": job.item.text,
        },
    }


async def _queue(parts: Any, args: argparse.Namespace) -> int:
    from causerie.domain import JobStatus, ReviewQueue

    actor = await _actor(parts, args.staff)
    wanted = ReviewQueue(args.queue) if args.queue else None
    queues = parts.actions.queues(actor, wanted)
    jobs = (
        await parts.review.jobs(
            queue=queues, status=(JobStatus.OPEN, JobStatus.CLAIMED), limit=args.limit
        )
        if queues
        else []
    )
    counts = await parts.review.counts()
    await parts.audit.record(actor.name, "queue.view", args.queue or "", jobs=len(jobs), via="cli")
    if args.json:
        print(
            json.dumps(
                {
                    "jobs": [_job_json(j) for j in jobs],
                    "counts": {q.value: {s.value: n for s, n in counts[q].items()} for q in queues},
                },
                ensure_ascii=False,
                indent=1,
            )
        )
        return 0
    for job in jobs:
        category = job.category.value if job.category else "-"
        print(f"#{job.id}\t{job.queue.value}\tp{job.priority}\t{category}\t{job.reason}")
    return 0


async def _decide(parts: Any, args: argparse.Namespace) -> int:
    actor = await _actor(parts, args.staff)
    outcome = await parts.actions.decide(
        actor, args.job, args.action, minutes=args.minutes, note=args.note, address=args.address
    )
    print(
        json.dumps(
            {
                "job": outcome.job_id,
                "decision": outcome.decision.value,
                "statements": [s.id for s in outcome.statements],
                "removed": outcome.removed,
                "released": outcome.released,
                "override": outcome.override,
            }
        )
    )
    return 0


async def _appeal(parts: Any, args: argparse.Namespace) -> int:
    actor = await _actor(parts, args.staff)
    statement = await parts.actions.decide_appeal(
        actor, args.statement, args.outcome, note=args.note
    )
    print(json.dumps({"statement": statement.id, "outcome": args.outcome}))
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from causerie.cli.staff import run_async
    from causerie.domain import ReviewQueue
    from causerie.moderation.actions import Decision

    moderation = sub.add_parser("moderation", help="the console's queue and decisions, scripted")
    commands = moderation.add_subparsers(dest="moderation_command", required=True)

    queue = commands.add_parser("queue", help="the jobs a staff member's role sees")
    queue.add_argument("--staff", required=True)
    queue.add_argument("--queue", choices=[q.value for q in ReviewQueue])
    queue.add_argument("--limit", type=int, default=100)
    queue.add_argument("--json", action="store_true")
    queue.set_defaults(run=run_async(_queue))

    decide = commands.add_parser("decide", help="decide a job, as in the console")
    decide.add_argument("job", type=int)
    decide.add_argument("action", choices=[d.value for d in Decision])
    decide.add_argument("--staff", required=True)
    decide.add_argument("--minutes", type=float)
    decide.add_argument(
        "--address",
        action="store_true",
        help="suspend/ban: hold the address too (shared by families and carriers; 24 h at most)",
    )
    decide.add_argument("--note", default="")
    decide.set_defaults(run=run_async(_decide), bus=True)

    appeal = commands.add_parser("appeal", help="decide a pending appeal (senior staff)")
    appeal.add_argument("statement")
    appeal.add_argument("outcome", choices=["upheld", "reversed"])
    appeal.add_argument("--staff", required=True)
    appeal.add_argument("--note", default="")
    appeal.set_defaults(run=run_async(_appeal), bus=True)
