"""The outbox writes at once when idle, batches under load and drops readers that fall behind."""

from __future__ import annotations

import asyncio
import json

from causerie.gateway import outbox as outbox_module
from causerie.gateway.outbox import TOO_SLOW, WebSocketOutbox


class Socket:
    def __init__(self, block: bool = False) -> None:
        self.sent: list[list[str] | str] = []
        self.closed: tuple[int, str] | None = None
        self.block = block
        self.sent_event = asyncio.Event()

    async def send(self, text: str) -> None:
        if self.block:
            await asyncio.Future()  # a socket the client never drains
        document = json.loads(text)
        self.sent.append(document)
        self.sent_event.set()

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


def frame(n: int) -> str:
    return json.dumps({"type": "pong", "ref": str(n)})


async def test_an_idle_outbox_writes_on_the_next_loop_turns() -> None:
    socket = Socket()
    box = WebSocketOutbox(socket.send, socket.close, max_frames=100)
    writer = asyncio.create_task(box.run())
    await asyncio.sleep(0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    box.push(frame(1))
    await asyncio.wait_for(socket.sent_event.wait(), 1)
    assert loop.time() - started < 0.005
    # A second reply right after the first is not held for a cycle either.
    socket.sent_event.clear()
    started = loop.time()
    box.push(frame(2))
    await asyncio.wait_for(socket.sent_event.wait(), 1)
    assert loop.time() - started < 0.005
    assert [json.loads(frame(1)), json.loads(frame(2))] == socket.sent
    writer.cancel()


async def test_frames_pushed_together_share_one_write() -> None:
    socket = Socket()
    box = WebSocketOutbox(socket.send, socket.close, max_frames=100)
    writer = asyncio.create_task(box.run())
    await asyncio.sleep(0)
    for n in range(5):
        box.push(frame(n))
    await asyncio.wait_for(socket.sent_event.wait(), 1)
    assert socket.sent == [[json.loads(frame(n)) for n in range(5)]]
    writer.cancel()


async def test_a_busy_cycle_is_followed_by_a_pause_three_times_as_long() -> None:
    flusher = outbox_module.Flusher(asyncio.get_running_loop(), interval=0.05)
    loop = asyncio.get_running_loop()
    flusher._started = loop.time() - 0.01  # a cycle of (at least) 10 ms
    flusher._cycle_pending = True
    flusher._cycle_done()
    # The pause is three cycles: the next one starts four cycle lengths after this one started.
    assert flusher._next_start - flusher._started >= 0.04
    assert flusher._next_start - loop.time() <= 0.05
    flusher._started = loop.time() - 1.0  # a very long one: the pause is capped
    flusher._cycle_done()
    assert flusher._next_start - loop.time() <= 0.05


async def test_a_reader_past_the_byte_bound_is_told_slow_consumer() -> None:
    socket = Socket()
    box = WebSocketOutbox(socket.send, socket.close, max_frames=1000, max_bytes=1000)
    big = json.dumps({"type": "pong", "ref": "x" * 400})
    for _ in range(3):  # 3 x ~420 bytes, never written: the writer is not running yet
        box.push(big)
    assert box.closing
    await asyncio.wait_for(box.run(), 1)
    assert socket.closed == (TOO_SLOW, "slow_consumer")
    [error] = socket.sent
    assert isinstance(error, dict)
    assert error["code"] == "slow_consumer"


async def test_a_single_large_frame_is_accepted_when_the_queue_is_empty() -> None:
    socket = Socket()
    box = WebSocketOutbox(socket.send, socket.close, max_frames=1000, max_bytes=100)
    box.push(json.dumps({"type": "pong", "ref": "x" * 500}))
    assert not box.closing


async def test_a_writer_stuck_on_an_undrained_socket_ends_the_connection() -> None:
    socket = Socket(block=True)
    box = WebSocketOutbox(socket.send, socket.close, max_frames=1000, max_bytes=1000)
    writer = asyncio.create_task(box.run())
    box.push(frame(0))
    await asyncio.sleep(0.01)  # the writer is now waiting on the socket
    for _ in range(100):
        box.push(frame(1))
    await asyncio.wait_for(writer, 1)
    assert not writer.cancelled()
    assert box.closing


class ReadySocket(Socket):
    """A socket whose transport takes writes at once until ``ready`` is cleared."""

    def __init__(self) -> None:
        super().__init__()
        self.ready = True
        self.written_now: list[list[str] | str] = []

    def send_now(self, text: str) -> bool:
        if not self.ready:
            return False
        self.written_now.append(json.loads(text))
        self.sent_event.set()
        return True


async def test_a_ready_socket_is_written_in_the_flush_without_waking_the_writer() -> None:
    socket = ReadySocket()
    box = WebSocketOutbox(socket.send, socket.close, max_frames=100, send_now=socket.send_now)
    writer = asyncio.create_task(box.run())
    await asyncio.sleep(0)
    box.push(frame(1))
    box.push(frame(2))
    await asyncio.wait_for(socket.sent_event.wait(), 1)
    assert socket.written_now == [[json.loads(frame(1)), json.loads(frame(2))]]
    assert socket.sent == []
    assert box.queued_bytes == 0
    assert not writer.done()
    writer.cancel()


async def test_a_socket_not_ready_goes_through_the_writer_and_the_order_holds() -> None:
    socket = ReadySocket()
    box = WebSocketOutbox(socket.send, socket.close, max_frames=100, send_now=socket.send_now)
    writer = asyncio.create_task(box.run())
    await asyncio.sleep(0)
    box.push(frame(1))
    await asyncio.wait_for(socket.sent_event.wait(), 1)
    socket.sent_event.clear()
    socket.ready = False  # the transport is paused: the writer waits for it
    box.push(frame(2))
    await asyncio.wait_for(socket.sent_event.wait(), 1)
    socket.sent_event.clear()
    socket.ready = True
    box.push(frame(3))
    await asyncio.wait_for(socket.sent_event.wait(), 1)
    assert socket.written_now == [json.loads(frame(1)), json.loads(frame(3))]
    assert socket.sent == [json.loads(frame(2))]
    writer.cancel()


async def test_a_failing_direct_write_ends_nothing_but_falls_back_to_the_writer() -> None:
    socket = Socket()

    def broken(text: str) -> bool:
        raise RuntimeError("transport gone wrong")

    box = WebSocketOutbox(socket.send, socket.close, max_frames=100, send_now=broken)
    writer = asyncio.create_task(box.run())
    await asyncio.sleep(0)
    box.push(frame(1))
    await asyncio.wait_for(socket.sent_event.wait(), 1)
    assert socket.sent == [json.loads(frame(1))]
    writer.cancel()


def test_a_frame_is_sized_in_utf8_bytes_once_per_string() -> None:
    accented = json.dumps({"type": "message", "text": "bonne soirée à tous 🌙"}, ensure_ascii=False)
    plain = json.dumps({"type": "message", "text": "good evening"})
    for _ in range(2):  # the second pass comes from the one-entry memory, same answers
        assert outbox_module._size(accented) == len(accented.encode())
        assert outbox_module._size(accented) == len(accented.encode())
        assert outbox_module._size(plain) == len(plain)
    # Another string with other contents is sized for itself, not taken for the last one.
    longer = accented.replace("🌙", "🌙🌙")
    assert outbox_module._size(longer) == len(longer.encode())
