"""Micro-batching: each concurrent caller gets its own result or its own exception."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from qa.batching import BatcherClosed, MicroBatcher
from tests.api.test_ask import SEED_QUESTIONS
from tests.conftest import SEED_FILE


class Recorder:
    """A batch function that squares numbers, remembers its batch sizes, and refuses negatives."""

    def __init__(self, delay: float = 0.02) -> None:
        self.delay = delay
        self.sizes: list[int] = []

    def __call__(self, items: list[int]) -> list[int]:
        self.sizes.append(len(items))
        time.sleep(self.delay)  # a model call takes time: items arriving meanwhile form the next batch
        if any(i < 0 for i in items):
            raise ValueError(f"negative item in {items}")
        return [i * i for i in items]


def test_concurrent_callers_each_get_their_own_result_in_shared_batches():
    run = Recorder()
    batcher = MicroBatcher(run, max_batch=8, window_ms=5)
    try:
        with ThreadPoolExecutor(max_workers=32) as pool:
            results = list(pool.map(batcher.submit, range(200)))
    finally:
        batcher.close()
    assert results == [i * i for i in range(200)]
    assert sum(run.sizes) == 200
    assert max(run.sizes) <= 8
    assert len(run.sizes) < 100, "callers waiting together must share batches"
    assert batcher.batches == len(run.sizes) and batcher.items == 200


def test_an_exception_reaches_only_the_caller_whose_item_caused_it():
    run = Recorder()
    batcher = MicroBatcher(run, max_batch=16, window_ms=5)
    items = [i if i % 7 else -i - 1 for i in range(60)]  # every 7th item is negative
    outcomes: dict[int, object] = {}

    def call(item: int) -> None:
        try:
            outcomes[item] = batcher.submit(item)
        except ValueError as exc:
            outcomes[item] = exc

    try:
        with ThreadPoolExecutor(max_workers=20) as pool:
            list(pool.map(call, items))
    finally:
        batcher.close()
    for item in items:
        if item < 0:
            assert isinstance(outcomes[item], ValueError) and f"[{item}]" in str(outcomes[item])
        else:
            assert outcomes[item] == item * item
    assert max(run.sizes) > 1


def test_a_lone_request_does_not_wait_for_the_window():
    batcher = MicroBatcher(Recorder(delay=0), max_batch=8, window_ms=2000)
    try:
        t0 = time.perf_counter()
        with batcher.expecting():
            assert batcher.submit(3) == 9
        assert time.perf_counter() - t0 < 1.0
    finally:
        batcher.close()


def test_an_announced_caller_joins_the_batch_being_formed():
    run = Recorder(delay=0)
    batcher = MicroBatcher(run, max_batch=8, window_ms=2000)
    announced = threading.Event()

    def late_caller() -> int:
        with batcher.expecting():
            announced.set()
            time.sleep(0.2)  # still retrieving when the first item is queued
            return batcher.submit(5)

    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            late = pool.submit(late_caller)
            announced.wait(5)
            assert batcher.submit(4) == 16
            assert late.result() == 25
    finally:
        batcher.close()
    assert run.sizes == [2]


def test_a_caller_that_never_submits_releases_the_batch():
    run = Recorder(delay=0)
    batcher = MicroBatcher(run, max_batch=8, window_ms=2000)
    try:
        with batcher.expecting():
            pass  # e.g. the question had no passages to read
        t0 = time.perf_counter()
        assert batcher.submit(2) == 4
        assert time.perf_counter() - t0 < 1.0
    finally:
        batcher.close()


def test_submit_after_close_raises():
    batcher = MicroBatcher(Recorder(delay=0))
    batcher.close()
    with pytest.raises(BatcherClosed):
        batcher.submit(1)


def test_concurrent_asks_through_the_real_reader_match_sequential_answers(make_pipeline):
    """16 threads asking at once through the batcher get the answers a lone caller gets."""
    from qa.pipeline import NewDocument

    sequential = make_pipeline(batch_max_questions=1)
    batched = make_pipeline(batch_max_questions=16, batch_window_ms=5)
    for pipeline in (sequential, batched):
        pipeline.ingest(NewDocument(text=SEED_FILE.read_text(encoding="utf-8"), id="seed"))
    questions = [q for q, _ in SEED_QUESTIONS] * 2
    want = {q: [(a.text, a.citation.start) for a in sequential.ask(q).answers] for q in set(questions)}
    assert batched.batch_stats() is not None
    with ThreadPoolExecutor(max_workers=16) as pool:
        got = list(pool.map(lambda q: (q, batched.ask(q)), questions))
    for question, result in got:
        assert [(a.text, a.citation.start) for a in result.answers] == want[question], question
    stats = batched.batch_stats()
    assert stats is not None and stats["batches"] < len(questions), "concurrent questions must share reader calls"
