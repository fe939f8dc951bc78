"""Fair claiming, on a real SQLite store and on a real server: round-robin across tokens and
across a token's batches, previews before videos only within a token, so one tenant's huge
batch or stream of previews cannot hold up another's work."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from infinity_workflows.server.rows import NewJob, utc_now, utc_text
from infinity_workflows.server.store import Store
from tests.support.jobs import submit, summary, wait_finished
from tests.support.waiting import wait_for


def _batch(store: Store, token_id: int, n: int, *, preview: bool, frames: int = 1) -> str:
    batch_id = str(uuid.uuid4())
    store.batches.insert(batch_id=batch_id, token_id=token_id, name="b", generator="g",
                       is_preview=preview, created=utc_text(utc_now()),
                       jobs=[NewJob(str(uuid.uuid4()), "{}", i, frames) for i in range(n)],
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


def _store_with_token(tmp_path: Path) -> tuple[Store, int]:
    """A fresh database with one token, ``a``."""
    store = Store(tmp_path / "db.sqlite3")
    return store, store.tokens.id_for(store.tokens.create("a"))


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


def test_a_tokens_own_previews_go_before_its_videos(tmp_path: Path) -> None:
    store, token_id = _store_with_token(tmp_path)
    videos = _batch(store, token_id, 50, preview=False)
    previews = _batch(store, token_id, 3, preview=True)
    order = _run(store, workers=1, steps=6)
    assert order[:3] == [previews] * 3 and set(order[3:]) == {videos}


def test_another_tokens_videos_are_not_held_behind_previews(tmp_path: Path) -> None:
    """Previews first only within a token: B's videos take every other free worker while
    A's 600 previews wait, as B's previews would."""
    store = Store(tmp_path / "db.sqlite3")
    a, b = store.tokens.create("a"), store.tokens.create("b")
    previews = _batch(store, store.tokens.id_for(a), 600, preview=True)
    first = store.queue.claim(2)
    videos = _batch(store, store.tokens.id_for(b), 3, preview=False)
    store.queue.record([(j.id, "succeeded", None, "w") for j in first])
    order = _run(store, workers=2, steps=10)
    assert order[0] == videos and order[:6].count(videos) == 3, order[:6]
    assert set(order[6:]) == {previews}


def test_short_jobs_are_not_held_behind_another_tokens_long_ones(tmp_path: Path) -> None:
    """Shares are of worker time (frames), not of jobs: while A's long videos hold both
    workers, B's short previews take every worker that frees until B has had its share."""
    store = Store(tmp_path / "db.sqlite3")
    a, b = store.tokens.create("a"), store.tokens.create("b")
    videos = _batch(store, store.tokens.id_for(a), 400, preview=False, frames=40)
    first = store.queue.claim(2)
    previews = _batch(store, store.tokens.id_for(b), 5, preview=True)
    store.queue.record([(first[0].id, "succeeded", None, "w")])
    # One of A's videos (40 frames) still runs; B's previews run too as they are claimed,
    # and still come first: 1 to 4 frames of work against A's 40.
    order = [_batch_of(store, store.queue.claim(1)[0].id) for _ in range(5)]
    assert order == [previews] * 5, order
    assert _batch_of(store, store.queue.claim(1)[0].id) == videos


def test_a_tokens_batches_take_turns(tmp_path: Path) -> None:
    store, token_id = _store_with_token(tmp_path)
    first = _batch(store, token_id, 100, preview=False)
    second = _batch(store, token_id, 3, preview=False)
    order = _run(store, workers=1, steps=10)
    assert order[:6] == [first, second] * 3, order[:6]


def test_cancelled_jobs_are_never_claimed(tmp_path: Path) -> None:
    store, token_id = _store_with_token(tmp_path)
    batch = _batch(store, token_id, 4, preview=True)
    assert store.queue.cancel(token_id, batch_id=batch) == 4
    assert store.queue.claim(4) == [] and not store.queue.has_queued()
    assert store.queue.cancel(token_id, batch_id=batch) == 0


def _finish_time(srv, token: str, params: list[dict], preview: bool) -> float:
    started = time.perf_counter()
    batch = submit(srv, params, preview=preview, token=token)
    wait_finished(srv, batch["id"], token=token)
    return time.perf_counter() - started


@pytest.mark.slow
def test_a_video_behind_another_tokens_previews_takes_its_turn(make_server) -> None:
    """On a real server with two workers: B's one video while A's 600 previews keep both
    workers busy finishes within 3x its time on the idle server (after a warm-up; idle and
    loaded runs alternate, so both see the same machine)."""
    srv = make_server("--workers", "2", "--log-level", "warning")
    b = srv.new_token("B")
    video = [{"sleep_s": 0.4, "frames": 8}]
    _finish_time(srv, b, [{"sleep_s": 0.05}] * 4, True)  # warm-up: both workers started
    ratios = []
    for _ in range(2):
        idle = _finish_time(srv, b, video, False)
        flood = submit(srv, [{"sleep_s": 0.05}] * 600, preview=True)
        # Claimed ahead while jobs are short, so up to two per worker count as running.
        wait_for(lambda: sum(r["status"] == "running"  # noqa: B023
                             for r in summary(srv, flood["id"])) >= 2,  # noqa: B023
                 timeout=60, what="A's previews on both workers")
        loaded = _finish_time(srv, b, video, False)
        assert any(r["in_progress"] for r in summary(srv, flood["id"])), "A's flood ran out"
        srv.post(f"api/batch/{flood['id']}/cancel/")
        wait_finished(srv, flood["id"])
        ratios.append(loaded / idle)
    assert min(ratios) <= 3.0, ratios
