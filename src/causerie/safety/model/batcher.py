"""Collects concurrent ``score`` calls into one ``score_batch`` call.

A model pays a fixed cost per call (Python dispatch, numpy set-up) that a batch shares, so when
many messages arrive at once they are scored together. The batcher's task belongs to whoever
starts it: the application lifespan uses ``async with MicroBatcher(model) as batcher`` (or
``start()`` and ``close()``), and closing scores what is already queued before it returns.

Measured on the shipped linear model (docs/safety-model.md): scoring inline on the event loop is
faster than handing each batch to a thread, and a wait of 0 ms (batch only what is already
queued) gives the lowest latency; ``max_wait_ms`` pays off only for a slow model whose cost per
call dwarfs the wait.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Sequence
from types import TracebackType

from causerie.safety.categories import Category
from causerie.safety.model import TextModel

Scores = dict[Category, float]


class BatcherClosedError(RuntimeError):
    """``score`` was called on a batcher that is not running."""


class MicroBatcher:
    def __init__(
        self,
        model: TextModel,
        max_batch: int = 64,
        max_wait_ms: float = 2.0,
        *,
        in_thread: bool = False,
    ) -> None:
        if max_batch < 1 or max_wait_ms < 0:
            raise ValueError("max_batch must be at least 1 and max_wait_ms not negative")
        self.model = model
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000
        self.in_thread = in_thread
        self._pending: deque[tuple[str, asyncio.Future[Scores]]] = deque()
        self._wake = asyncio.Event()
        self._full = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        # Sizes of the latest batches: what tests and benchmarks look at to see batching.
        self.batch_sizes: deque[int] = deque(maxlen=1024)

    async def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("batcher already started")
        self._task = asyncio.create_task(self._run(), name=f"micro-batcher:{self.model.name}")

    async def close(self) -> None:
        """Score everything already queued, then stop the task."""
        if self._task is None or self._closing:
            return
        self._closing = True
        self._wake.set()
        self._full.set()
        await self._task

    async def __aenter__(self) -> MicroBatcher:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def score(self, text: str) -> Scores:
        """The model's scores for ``text``, computed in a batch with concurrent callers."""
        if self._task is None or self._closing or self._task.done():
            raise BatcherClosedError("the batcher is not running")
        future: asyncio.Future[Scores] = asyncio.get_running_loop().create_future()
        self._pending.append((text, future))
        self._wake.set()
        if len(self._pending) >= self.max_batch:
            self._full.set()
        return await future

    async def _run(self) -> None:
        try:
            await self._loop()
        finally:
            # If the task is cancelled rather than closed, nobody may be left waiting forever.
            while self._pending:
                _, future = self._pending.popleft()
                if not future.done():
                    future.set_exception(BatcherClosedError("the batcher stopped"))

    async def _loop(self) -> None:
        while True:
            await self._wake.wait()
            if not self._pending:
                if self._closing:
                    return
                self._wake.clear()
                continue
            if self.max_wait > 0 and len(self._pending) < self.max_batch and not self._closing:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), self.max_wait)
            batch = [
                self._pending.popleft() for _ in range(min(self.max_batch, len(self._pending)))
            ]
            if len(self._pending) < self.max_batch and not self._closing:
                self._full.clear()
            await self._score(batch)

    async def _score(self, batch: Sequence[tuple[str, asyncio.Future[Scores]]]) -> None:
        texts = [text for text, _ in batch]
        self.batch_sizes.append(len(texts))
        try:
            if self.in_thread:
                results = await asyncio.to_thread(self.model.score_batch, texts)
            else:
                results = self.model.score_batch(texts)
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            # A caller that gave up (cancelled) no longer waits for its result.
            if not future.done():
                future.set_result(result)
