"""Micro-batching: concurrent callers' items go through one model call together.

`/ask` runs in a thread pool, so under load many threads want the reader at once. Each one
calling the model on its own makes them fight over the CPU cores (every call wants all the
intra-op threads); `MicroBatcher` instead hands their items to one worker thread, which runs
them in a single batched call and gives every caller its own result.

A batch starts with the oldest waiting item and takes every item already queued. It waits
for more (up to `window_ms` from its first item, and `max_batch` items) only while a caller
has announced, with `expecting()`, that it will submit soon: so a lone request never waits,
while requests of a burst that are a few milliseconds behind (still embedding their
question) join the same batch. Items that arrive while a batch runs form the next batch.

If a batched call raises, each of its items is run again alone, so every caller gets its
own result or its own exception, never another caller's.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class BatcherClosed(RuntimeError):
    """Raised by `submit` once the batcher is closed."""


class MicroBatcher(Generic[T, R]):
    """Runs `run_batch(items) -> results` (same length, same order) over concurrent callers."""

    def __init__(
        self,
        run_batch: Callable[[list[T]], Sequence[R]],
        *,
        max_batch: int = 16,
        window_ms: float = 2.0,
        name: str = "micro-batcher",
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.run_batch = run_batch
        self.max_batch = max_batch
        self.window_s = max(0.0, window_ms) / 1000.0
        self._queue: deque[tuple[T, Future[R]]] = deque()
        self._cond = threading.Condition()
        self._expected = 0  # callers inside expecting() that have not submitted yet
        self._local = threading.local()
        self._closed = False
        self.batches = 0  # batched calls made (for tests and benchmarks)
        self.items = 0  # items run
        self._worker = threading.Thread(target=self._loop, name=name, daemon=True)
        self._worker.start()

    @contextmanager
    def expecting(self) -> Iterator[None]:
        """Announces that this thread will `submit` one item before the block ends, so a batch
        being formed waits (up to the window) for it instead of starting without it."""
        with self._cond:
            self._expected += 1
        self._local.announced = True
        try:
            yield
        finally:
            if getattr(self._local, "announced", False):  # left without submitting
                self._local.announced = False
                with self._cond:
                    self._expected -= 1
                    self._cond.notify_all()

    def submit(self, item: T) -> R:
        """Runs `item` in the next batch; blocks until its result (or raises its exception)."""
        future: Future[R] = Future()
        with self._cond:
            if self._closed:
                raise BatcherClosed("the micro-batcher is closed")
            if getattr(self._local, "announced", False):
                self._local.announced = False
                self._expected -= 1
            self._queue.append((item, future))
            self._cond.notify_all()
        return future.result()

    def close(self) -> None:
        """Stops the worker after the queued items have run; later submits raise BatcherClosed."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._worker is not threading.current_thread():
            self._worker.join(timeout=60)

    # ---- worker -----------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            self._run(batch)

    def _next_batch(self) -> list[tuple[T, Future[R]]] | None:
        with self._cond:
            while not self._queue:
                if self._closed:
                    return None
                self._cond.wait()
            deadline = time.monotonic() + self.window_s
            while len(self._queue) < self.max_batch and self._expected > 0 and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            n = min(self.max_batch, len(self._queue))
            return [self._queue.popleft() for _ in range(n)]

    def _run(self, batch: list[tuple[T, Future[R]]]) -> None:
        batch = [(item, f) for item, f in batch if f.set_running_or_notify_cancel()]
        if not batch:
            return
        self.batches += 1
        self.items += len(batch)
        try:
            results = list(self.run_batch([item for item, _ in batch]))
            if len(results) != len(batch):
                raise RuntimeError(f"run_batch returned {len(results)} results for {len(batch)} items")
        except BaseException as exc:
            if len(batch) == 1:
                batch[0][1].set_exception(exc)
                return
            for item, future in batch:  # find whose item failed: each caller gets its own outcome
                try:
                    future.set_result(self.run_batch([item])[0])
                except BaseException as one_exc:
                    future.set_exception(one_exc)
            return
        for (_, future), result in zip(batch, results):
            future.set_result(result)
