"""Fair claiming, on a real SQLite store: previews before videos, round-robin across tokens
and across a token's batches, so one tenant's huge batch cannot hold up a small one."""

from __future__ import annotations

import uuid
from pathlib import Path

from infinity_workflows.server.rows import NewJob, utc_now, utc_text
from infinity_workflows.server.store import Store


def _batch(store: Store, token_id: int, n: int, *, preview: bool) -> str:
    batch_id = str(uuid.uuid4())
    store.batches.insert(batch_id=batch_id, token_id=token_id, name="b", generator="g",
                       is_preview=preview, created=utc_text(utc_now()),
                       jobs=[NewJob(str(uuid.uuid4()), "{}", i, 1) for i in range(n)],
                       idempotency_key=None, request_hash=None)
    return batch_id


def _batch_of(store: Store, job_id: str) -> str:
    return store.db.conn.execute("SELECT batch_id FROM jobs WHERE id = ?",
                               (job_id,)).fetchone()[0]


def _run(store: Store, workers: int, steps: int) -> list[str]:
    """Play a pool of ``workers``: each step the oldest running job finishes and the
    freed worker claims one. Returns the batch of each job claimed, in order."""
    running = [job.id for job in store.queue.claim(workers)]
    order = [_batch_of(store, j) for j in running]
    for _ in range(steps):
        done = running.pop(0)
        store.queue.record([(done, "succeeded", None, "w")])
        claimed = store.queue.claim(1)
        if not claimed:
            break
        running.append(claimed[0].id)
        order.append(_batch_of(store, claimed[0].id))
    return order


def test_a_small_batch_is_not_held_up_by_another_tokens_big_one(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    a, b = store.tokens.create("a"), store.tokens.create("b")
    big = _batch(store, store.tokens.id_for(a), 2000, preview=True)
    first = store.queue.claim(2)  # A's batch has both workers when B arrives
    assert {_batch_of(store, j.id) for j in first} == {big}
    small = _batch(store, store.tokens.id_for(b), 5, preview=True)
    store.queue.record([(j.id, "succeeded", None, "w") for j in first])
    order = _run(store, workers=2, steps=20)
    # Round-robin: B's five take every other free worker, all within the first ten.
    assert order[:10].count(small) == 5, order[:10]
    assert order[10:].count(small) == 0


def test_previews_go_before_videos(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    a, b = store.tokens.create("a"), store.tokens.create("b")
    videos = _batch(store, store.tokens.id_for(a), 50, preview=False)
    previews = _batch(store, store.tokens.id_for(b), 3, preview=True)
    order = _run(store, workers=2, steps=6)
    assert order[:3] == [previews] * 3 and set(order[3:]) == {videos}


def test_a_tokens_batches_take_turns(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    token_id = store.tokens.id_for(store.tokens.create("a"))
    first = _batch(store, token_id, 100, preview=False)
    second = _batch(store, token_id, 3, preview=False)
    order = _run(store, workers=1, steps=10)
    assert order[:6] == [first, second] * 3, order[:6]


def test_cancelled_jobs_are_never_claimed(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    token_id = store.tokens.id_for(store.tokens.create("a"))
    batch = _batch(store, token_id, 4, preview=True)
    assert store.queue.cancel(token_id, batch_id=batch) == 4
    assert store.queue.claim(4) == [] and not store.queue.has_queued()
    assert store.queue.cancel(token_id, batch_id=batch) == 0
