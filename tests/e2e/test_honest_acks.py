"""Acks that tell the truth (issue 12, finding 5), with real nodes, a real kill -9 and real
brokers that the tests start and stop themselves (never the shared ones).

- kill -9 under load: nothing is in a history without its traffic record, and what a history
  shows that the client was not told (the last instants before the kill) is exactly what a
  retry with the same request id, after a resume on a fresh node, is acknowledged as: no second
  message, nothing the chatter does not know about.
- Redis down: the message is answered ``internal_error``, is in no history, and the retry after
  Redis is back stores it once.
- NATS down: no message is acknowledged while the client library could only buffer it; after
  NATS is back the retry is delivered once to the other node's chatter.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import sqlite3
import sys
import textwrap
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from causerie.bus.nats import NatsBus
from causerie.chat.hooks import Peer
from causerie.client import Client, ClientError, RoomMessage
from causerie.errors import ErrorCode
from causerie.legal.runtime import load_keyring
from causerie.node import Node
from causerie.protocol import frames as f
from causerie.settings import Settings
from tests.conftest import free_port, run_server
from tests.harness import ListOutbox

CHILD = textwrap.dedent(
    """
    import asyncio, json, secrets, sys
    from causerie.chat.hooks import Peer
    from causerie.node import Node
    from causerie.protocol import frames as f
    from causerie.settings import Settings

    class Outbox:
        def push(self, frame): pass
        def close(self, frame, reason): pass

    def say(*words):
        sys.stdout.write(" ".join(str(w) for w in words) + "\\n")
        sys.stdout.flush()

    async def main():
        node = Node(Settings(**json.loads(sys.argv[1])))
        await node.start()
        room = next(r.id for r in await node.rooms.all() if r.audience == "all")

        async def chatter(i):
            peer = Peer(ip=f"10.9.0.{i + 1}", port=40000)
            device = secrets.token_urlsafe(24)
            enter = f.Enter(nickname=f"Honest{i}", age=30 + i, gender="woman",
                            postal_code="75011", device=device)
            session, welcome = await node.chat.enter(enter, Outbox(), peer)
            await node.chat.join(session, [room])
            say("token", i, welcome.resume_token, device)
            n = 0
            while True:
                request = f"c{i}-{n}"
                say("send", i, request)
                ack = await node.chat.say(session, room, f"honest {request}", None, peer,
                                          request=request)
                say("ack", i, request, ack.id)
                n += 1

        await asyncio.gather(*(chatter(i) for i in range(20)))

    asyncio.run(main())
    """
)


def node_settings(directory: Path) -> dict[str, Any]:
    return {
        "database": {"url": f"sqlite+aiosqlite:///{directory / 'chat.db'}"},
        "safety": {"enabled": False},
        "legal": {"keys_file": str(directory / "keys" / "retention.keys")},
        # Shared by the node that dies and the one after it, so that resume tokens still work.
        "minors": {"memory_key": "honest-acks-test-memory-key-0123456789"},
    }


async def test_after_kill_9_history_holds_only_what_was_or_is_acknowledged(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        json.dumps(node_settings(tmp_path)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
    )
    assert child.stdout is not None
    lines: list[list[str]] = []
    try:
        async with asyncio.timeout(60):
            while sum(1 for line in lines if line[0] == "ack") < 400:
                line = await child.stdout.readline()
                assert line, "the node stopped by itself"
                lines.append(line.decode().split())
    finally:
        child.send_signal(signal.SIGKILL)
        rest, _ = await child.communicate()
    lines.extend(line.split() for line in rest.decode().splitlines())
    assert child.returncode == -signal.SIGKILL

    tokens = {int(w[1]): (w[2], w[3]) for w in lines if w[0] == "token"}
    acked = {w[2]: int(w[3]) for w in lines if w[0] == "ack" and len(w) == 4}
    # Sent, and no ack printed: each chatter's last request, if the kill came before its ack.
    unanswered = {int(w[1]): w[2] for w in lines if w[0] == "send" and w[2] not in acked}

    node = Node(Settings(**node_settings(tmp_path)))
    await node.start()
    try:
        room = next(r.id for r in await node.rooms.all() if r.audience == "all")
        before = {m.id: m.text for m in await node.messages.recent_in_room(room, 0.0, 100_000)}
        # Every acknowledged message is there.
        assert set(acked.values()) <= set(before)
        # Nothing in history was never acknowledged, unless its request is among the
        # unanswered ones (the ack was on its way when the kill landed).
        unacked_visible = {i: t for i, t in before.items() if i not in set(acked.values())}
        assert {t.removeprefix("honest ") for t in unacked_visible.values()} <= set(
            unanswered.values()
        )
        # The client retries each unanswered request after resuming on the fresh node.
        retried: dict[str, int] = {}
        for i, request in unanswered.items():
            token, device = tokens[i]
            peer = Peer(ip=f"10.9.0.{i + 1}", port=40001)
            session, _, _ = await node.chat.resume(
                f.Resume(token=token, device=device), ListOutbox(), peer
            )
            await node.chat.join(session, [room])
            ack = await node.chat.say(
                session, room, f"honest {request}", None, peer, request=request
            )
            retried[request] = ack.id
        after = {m.id: m.text for m in await node.messages.recent_in_room(room, 0.0, 100_000)}
        keyring = load_keyring(node.legal.paths.keys_file, create=False)
        retention_db = node.legal.paths.database_url.split("///", 1)[1]
    finally:
        await node.stop()

    # A retry of a message already in history got its first id, not a second message.
    for message_id, text in unacked_visible.items():
        assert retried[text.removeprefix("honest ")] == message_id
    # Each request once; everything visible was acknowledged, at first or on the retry.
    assert len(set(after.values())) == len(after)
    assert set(after) == set(acked.values()) | set(retried.values())
    # And every visible message has its lawful traffic record.
    with sqlite3.connect(retention_db) as connection:
        recorded = {
            row[0]
            for row in connection.execute(
                "SELECT content_idx FROM traffic_records WHERE content_idx IS NOT NULL"
            )
        }
    without_record = [i for i in after if not set(keyring.indexes(f"m{i}").values()) & recorded]
    assert without_record == []
    print(
        f"kill -9: {len(acked)} acked, {len(unacked_visible)} visible before their ack "
        f"(found by retry), {len(unanswered) - len(unacked_visible)} retried as new"
    )


# -- brokers of our own ------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def broker(argv: Callable[[int], list[str]], port: int) -> AsyncIterator[Callable[[], Any]]:
    """A broker process on ``port``; yields a function that stops it (for an outage) and
    another start with the same port comes from calling this again."""
    process = await asyncio.create_subprocess_exec(
        *argv(port), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )

    async def stop() -> None:
        if process.returncode is None:
            process.kill()
            await process.wait()

    try:
        for _ in range(100):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            await writer.wait_closed()
            break
        else:
            pytest.fail(f"{argv(port)[0]} did not start on port {port}")
        yield stop
    finally:
        await stop()


def redis_argv(port: int) -> list[str]:
    return ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"]


def nats_argv(port: int) -> list[str]:
    return ["nats-server", "-a", "127.0.0.1", "-p", str(port)]


def need(program: str) -> None:
    if shutil.which(program) is None:
        pytest.fail(f"{program} is required for this test and is not installed")


async def history_texts(node: Node, room: str) -> list[str]:
    """What a chatter joining ``room`` is shown (read from the store: the bus may be down)."""
    return [m.text for m in await node.messages.recent_in_room(room, 0.0, 1_000)]


async def until_acknowledged(client: Client, frame: f.Say, within: float = 30.0) -> f.Ack:
    """Resend ``frame`` until the node is back on its bus (each failure is ``internal_error``,
    and leaves nothing stored)."""
    async with asyncio.timeout(within):
        while True:
            try:
                return await client.resend(frame)
            except ClientError as refused:
                assert refused.code == ErrorCode.INTERNAL_ERROR
                await asyncio.sleep(0.2)


async def test_redis_outage_answers_internal_error_stores_nothing_and_the_retry_counts_once(
    make_settings: Callable[..., Settings],
) -> None:
    need("redis-server")
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    settings = make_settings(bus={"backend": "redis", "url": url, "channel": "acks.test"})
    async with contextlib.AsyncExitStack() as stack:
        stop_redis = await stack.enter_async_context(broker(redis_argv, port))
        server = await stack.enter_async_context(run_server(settings))
        alice = await stack.enter_async_context(server.client())
        await alice.enter("Alice", 30, "woman", "75011")
        await alice.join("general")
        await alice.say("general", "avant la panne")

        await stop_redis()
        with pytest.raises(ClientError) as refused:
            await alice.say("general", "pendant la panne")
        assert refused.value.code == ErrorCode.INTERNAL_ERROR
        (frame,) = alice.unacknowledged
        assert isinstance(frame, f.Say)
        # Nothing stored: no history shows it.
        assert await history_texts(server.node, "general") == ["avant la panne"]

        await stack.enter_async_context(broker(redis_argv, port))
        ack = await until_acknowledged(alice, frame)
        # The same request again: the first ack, not a second message.
        again = await alice.resend(frame)
        assert again.id == ack.id
        assert await history_texts(server.node, "general") == [
            "avant la panne",
            "pendant la panne",
        ]
        async with server.client() as reader:
            await reader.enter("Lecteur", 30, "man", "69003")
            (joined,) = await reader.join("general")
            assert [m.id for m in joined.history][-1] == ack.id


async def test_nats_outage_acknowledges_nothing_it_cannot_deliver(
    make_settings: Callable[..., Settings],
) -> None:
    need("nats-server")
    port = free_port()
    url = f"nats://127.0.0.1:{port}"

    def node(node_id: str) -> Settings:
        return make_settings(
            server={"node_id": node_id},
            bus={"backend": "nats", "url": url, "channel": "acks.test"},
        )

    async with contextlib.AsyncExitStack() as stack:
        stop_nats = await stack.enter_async_context(broker(nats_argv, port))
        node_a = await stack.enter_async_context(run_server(node("node-a")))
        node_b = await stack.enter_async_context(run_server(node("node-b")))
        alice = await stack.enter_async_context(node_a.client(timeout=20.0))
        bob = await stack.enter_async_context(node_b.client())
        await alice.enter("Alice", 30, "woman", "75011")
        await bob.enter("Bob", 41, "man", "69003")
        await alice.join("general")
        await bob.join("general")
        await alice.say("general", "avant la panne")
        assert (await bob.next_event(RoomMessage)).text == "avant la panne"

        await stop_nats()
        # Before: acknowledged at once, the envelope only in the client library's buffer.
        with pytest.raises(ClientError) as refused:
            await alice.say("general", "pendant la panne")
        assert refused.value.code == ErrorCode.INTERNAL_ERROR
        (frame,) = alice.unacknowledged
        assert isinstance(frame, f.Say)

        await stack.enter_async_context(broker(nats_argv, port))
        # Retried once both nodes are back on NATS (retrying the same text many times over
        # would look like spam to the policy).
        for _ in range(200):
            if all(
                isinstance(n.node.bus, NatsBus) and n.node.bus.connected for n in (node_a, node_b)
            ):
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail("the nodes did not get back to NATS within 20 s")
        ack = await until_acknowledged(alice, frame)
        await alice.say("general", "après la panne")
        # Bob, on the other node, gets it once, and nothing buffered during the outage later.
        heard: list[tuple[int, str]] = []
        while not heard or heard[-1][1] != "après la panne":
            message = await bob.next_event(RoomMessage, within=10)
            heard.append((message.id, message.text))
        assert heard[:-1] == [(ack.id, "pendant la panne")]
        assert await history_texts(node_a.node, "general") == [
            "avant la panne",
            "pendant la panne",
            "après la panne",
        ]
