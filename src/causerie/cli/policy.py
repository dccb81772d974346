"""``causerie policy``: check a text against the policy, validate packs, lift sanctions, list the
review queue.

``causerie policy check "some text"`` shows what the pipeline sees and scores, and what the live
server decides (minors fence, policy, minors guard: the text goes through the chat action on a
throwaway node, cli/trial.py), so that an operator can tune their packs and policy without
running a server. ``causerie policy queue``
lists the one review queue (the pipeline's escalations and holds, the minors fence's frozen
conversations and age claims), most urgent first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from causerie.domain import Category, JobStatus, ReviewQueue
from causerie.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    policy = sub.add_parser("policy", help="the safety policy: check texts, validate packs")
    commands = policy.add_subparsers(dest="policy_command", required=True)

    check = commands.add_parser("check", help="show how a text is normalised, scored and decided")
    check.add_argument("text")
    check.add_argument("--audience", choices=["all", "adults", "teens"], default="all")
    check.add_argument("--band", choices=["18+", "15-17", "13-14"], default="18+")
    check.add_argument(
        "--to-band",
        choices=["18+", "15-17", "13-14"],
        default=None,
        help="the recipient's band, for --kind private (default: the author's)",
    )
    check.add_argument(
        "--kind",
        choices=["message", "private", "nickname", "room_name", "topic"],
        default="message",
    )
    check.add_argument("--no-model", action="store_true", help="rules only")
    check.add_argument("--json", action="store_true", help="print the decision as JSON")
    check.set_defaults(run=_check)

    validate = commands.add_parser("validate", help="load the policy and every pack, or fail")
    validate.set_defaults(run=_validate)

    lift = commands.add_parser("lift", help="lift a nickname's mute or ban on every node")
    lift.add_argument("nickname")
    lift.add_argument("--kind", choices=["ban", "mute"], default="ban")
    lift.set_defaults(run=_lift)

    queue = commands.add_parser(
        "queue", help="list the review queue's jobs, most urgent first (child safety first)"
    )
    queue.add_argument("--limit", type=int, default=20)
    queue.add_argument("--queue", choices=[q.value for q in ReviewQueue], default=None)
    queue.add_argument(
        "--status",
        choices=["undecided", *(s.value for s in JobStatus)],
        default="undecided",
        help="undecided (open or claimed, the default), open, claimed or decided",
    )
    queue.add_argument("--category", choices=[c.value for c in Category], default=None)
    queue.add_argument("--json", action="store_true", help="print the jobs and counts as JSON")
    queue.set_defaults(run=_queue)


def _check(args: argparse.Namespace, settings: Settings) -> int:
    if args.no_model:
        safety = settings.safety.model_copy(update={"model": False, "semantic": False})
        settings = settings.model_copy(update={"safety": safety})
    try:
        return asyncio.run(_checked(args, settings))
    except ValueError as exc:
        print(f"causerie: {exc}", file=sys.stderr)
        return 2


async def _checked(args: argparse.Namespace, settings: Settings) -> int:
    from causerie.cli.trial import live_outcome, trial_site
    from causerie.safety.pipeline import Context

    # The same context the server derives from the author's band (see pipeline.context_of).
    minor = args.band != "18+"
    to_band = args.to_band or args.band
    audience = args.audience
    if args.kind == "private":
        audience = "teens" if minor or to_band != "18+" else "adults"
    elif args.kind == "room_name":
        audience = "teens" if minor else "adults"
    elif args.kind == "nickname":
        audience = "teens" if minor else "all"
    context = Context(kind=args.kind, audience=audience, author_key="cli", author_band=args.band)
    async with trial_site(settings) as site:
        pipeline = site.node.safety
        if pipeline is None:
            print("causerie: safety.enabled is off: nothing is screened", file=sys.stderr)
            return 2
        decision = await pipeline.evaluate(args.text, context)
        # The policy's stages alone do not decide: the minors fence before them and the minors
        # guard after them do too. The text goes through the chat action a connection calls.
        refused = await live_outcome(
            site, args.text, kind=args.kind, band=args.band, audience=args.audience, to_band=to_band
        )
    live = (
        {"delivered": True, "refusal": None, "message": None}
        if refused is None
        else {"delivered": False, "refusal": refused.code.value, "message": refused.message}
    )
    if args.json:
        print(
            json.dumps(
                {
                    "normalised": decision.normalised,
                    "rules": [
                        {
                            "rule": h.rule,
                            "category": h.category.value,
                            "score": h.score,
                            "matched": h.matched,
                        }
                        for h in decision.hits
                    ],
                    "scores": {c.value: s for c, s in decision.scores.items()},
                    "stages": {s.name: round(s.elapsed_ms, 3) for s in decision.stages},
                    "action": decision.action.label,
                    "category": decision.category.value if decision.category else None,
                    "escalate": decision.escalate,
                    "policy_version": decision.policy_version,
                    **live,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    print(f"policy      {decision.policy_version}")
    where = f"to {to_band}" if args.kind == "private" else f"audience {audience}"
    print(f"context     {args.kind}, {where}, author {args.band}")
    print(f"normalised  {decision.normalised!r}")
    if decision.hits:
        print("rules")
        for hit in decision.hits:
            print(f"  {hit.rule:<40} {hit.category.value:<14} {hit.score:.2f}  {hit.matched!r}")
    else:
        print("rules       none fired")
    if decision.scores:
        print("scores")
        for scored, score in sorted(decision.scores.items(), key=lambda kv: -kv[1]):
            print(f"  {scored.value:<14} {score:.3f}")
    else:
        print("scores      none")
    for stage in decision.stages:
        reasons = ", ".join(stage.reasons)
        print(f"stage       {stage.name:<12} {stage.elapsed_ms:8.3f} ms  {reasons}")
    escalate = " + escalate" if decision.escalate else ""
    category = f" ({decision.category.value})" if decision.category else ""
    print(f"pipeline    {decision.action.label}{category}{escalate}")
    if refused is None:
        print("decision    delivered")
    else:
        print(f"decision    refused ({refused.code.value}): {refused.message}")
    return 0


def _validate(args: argparse.Namespace, settings: Settings) -> int:
    from causerie.safety.pipeline import SafetyPipeline

    try:
        pipeline = SafetyPipeline.from_settings(settings.safety, with_model=False)
    except ValueError as exc:
        print(f"causerie: {exc}", file=sys.stderr)
        return 2
    print(f"policy {pipeline.policy.version} ({pipeline.policy.source})")
    for pack in pipeline.rules.packs:
        print(f"pack {pack.name:<10} {len(pack.rules):>3} rules  {pack.source}")
    print(f"version {pipeline.policy_version}: valid")
    return 0


def _lift(args: argparse.Namespace, settings: Settings) -> int:
    from causerie.protocol.identity import nickname_key
    from causerie.store.database import create_engine
    from causerie.store.safety import SafetyStore

    async def run() -> int:
        engine = create_engine(settings.database.url)
        try:
            return await SafetyStore(engine).lift_sanctions(
                nickname_key(args.nickname), args.kind, time.time()
            )
        finally:
            await engine.dispose()

    lifted = asyncio.run(run())
    print(f"{lifted} {args.kind}(s) lifted for {args.nickname!r}; nodes apply it within seconds")
    return 0


def _queue(args: argparse.Namespace, settings: Settings) -> int:
    import dataclasses

    from causerie.store.database import create_engine
    from causerie.store.review import Job, ReviewStore

    statuses = (
        (JobStatus.OPEN, JobStatus.CLAIMED)
        if args.status == "undecided"
        else (JobStatus(args.status),)
    )

    async def run() -> tuple[list[Job], dict[ReviewQueue, dict[JobStatus, int]]]:
        engine = create_engine(settings.database.url)
        try:
            store = ReviewStore(engine)
            jobs = await store.jobs(
                queue=ReviewQueue(args.queue) if args.queue else None,
                status=statuses,
                category=Category(args.category) if args.category else None,
                limit=args.limit,
            )
            return jobs, await store.counts()
        finally:
            await engine.dispose()

    jobs, counts = asyncio.run(run())
    if args.json:
        print(
            json.dumps(
                {
                    "jobs": [dataclasses.asdict(job) for job in jobs],
                    "counts": {
                        queue.value: {status.value: n for status, n in by_status.items()}
                        for queue, by_status in counts.items()
                    },
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    for job in jobs:
        item = job.item
        at = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(job.created_at))
        where = item.room_id or item.place
        if where is None:
            where = f"@{item.recipient_key}" if item.recipient_key else "-"
        what = item.text or job.reason
        claimed = f" [{job.claimed_by}]" if job.status is JobStatus.CLAIMED else ""
        print(
            f"#{job.id} p{job.priority} {job.queue.value:<12} {at} {job.status.value}{claimed}"
            f" {job.source.value}/{job.kind} {job.category or '-'} x{job.signals}"
            f" {item.author_nickname} in {where}: {what[:80]!r}"
        )
    return 0
