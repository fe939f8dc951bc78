"""Deleting a batch and seeing what batches take on disk, over real HTTP and the real CLI:
``DELETE api/batch/<id>/``, ``GET api/storage/``, the portal's Delete, and the commands
``batch delete``, ``storage``, ``prune`` and ``token show``.

Disk is checked on the server's own results folder: a delete must free exactly its batch's
archives, byte for byte, and leave every other batch's untouched.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests

from infinity_workflows.cli.batches import human_bytes
from infinity_workflows.credentials import save_token
from tests.support.api import assert_error, finished_summary, job, login, submit
from tests.support.server import LiveServer, cli_env, run_cli
from tests.support.waiting import wait_for


def _archives(srv: LiveServer, batch: dict) -> dict[str, int]:
    """Size of each job's archive in the server's results folder (missing ones left out)."""
    sizes = {}
    for j in batch["job_runs"]:
        path = srv.home / "results" / f"{j['id']}.zip"
        if path.is_file():
            sizes[j["id"]] = path.stat().st_size
    return sizes


def _finished(srv: LiveServer, runs: list[dict], name: str) -> tuple[dict, dict]:
    batch = submit(srv, runs, name=name).json()
    return batch, finished_summary(srv, batch["id"])


def _workers_free(srv: LiveServer) -> None:
    """Wait until a new job runs to the end: the jobs ahead of it are stopped or done."""
    probe = submit(srv, [job(True)], name="probe").json()
    finished_summary(srv, probe["id"])


def test_delete_frees_exactly_its_batchs_results(server: LiveServer) -> None:
    srv = server
    gone, gone_summary = _finished(srv, [job(payload_kb=300) for _ in range(3)], "to delete")
    kept, _ = _finished(srv, [job(payload_kb=200) for _ in range(2)], "to keep")
    gone_files, kept_files = _archives(srv, gone), _archives(srv, kept)
    assert len(gone_files) == 3 and len(kept_files) == 2
    kept_bytes = {p: p.read_bytes() for p in (srv.home / "results").glob("*.zip")
                  if p.stem in kept_files}

    usage = srv.get("api/storage/").json()
    by_id = {b["id"]: b for b in usage["batches"]}
    assert by_id[gone["id"]]["bytes"] == sum(gone_files.values())
    assert by_id[gone["id"]]["results"] == 3 and by_id[gone["id"]]["num_jobs"] == 3
    assert by_id[kept["id"]]["bytes"] == sum(kept_files.values())
    assert usage["total_bytes"] == sum(b["bytes"] for b in usage["batches"])
    assert [b["id"] for b in usage["batches"]][:2] == [kept["id"], gone["id"]]  # newest first

    answer = requests.delete(srv.url + f"api/batch/{gone['id']}/", headers=srv.headers(),
                             timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"id": gone["id"], "cancelled": 0, "removed": 3,
                             "freed_bytes": sum(gone_files.values())}
    assert _archives(srv, gone) == {}
    assert {p: p.read_bytes() for p in (srv.home / "results").glob("*.zip")
            if p.stem in kept_files} == kept_bytes  # the other batch, byte for byte

    # The batch is gone everywhere: a second delete, its pages, its links, its jobs.
    assert_error(requests.delete(srv.url + f"api/batch/{gone['id']}/",
                                 headers=srv.headers(), timeout=30), 404)
    for path in (f"api/batch/{gone['id']}/", f"api/batch/{gone['id']}/summary/",
                 f"api/job_runs/{gone['job_runs'][0]['id']}/"):
        assert srv.get(path).status_code == 404, path
    assert gone["id"] not in {b["id"] for b in srv.get("api/batch/").json()}
    assert gone["id"] not in {b["id"] for b in srv.get("api/storage/").json()["batches"]}
    job_ids = {j["id"] for j in srv.get("api/job_runs/").json()}
    assert not job_ids & set(gone_files) and set(kept_files) <= job_ids
    link = gone_summary["job_runs"][0]["result_url"]
    assert requests.get(link, timeout=30).status_code == 404
    kept_link = finished_summary(srv, kept["id"])["job_runs"][0]["result_url"]
    assert requests.get(kept_link, timeout=30).status_code == 200


def test_another_token_cannot_delete_or_see_the_usage(server: LiveServer) -> None:
    srv = server
    batch, _ = _finished(srv, [job(payload_kb=50)], "not yours")
    files = _archives(srv, batch)
    other = srv.new_token("housekeeping other")
    refused = requests.delete(srv.url + f"api/batch/{batch['id']}/", headers=srv.headers(other),
                              timeout=30)
    assert_error(refused, 404)
    assert _archives(srv, batch) == files
    assert srv.get("api/storage/", token=other).json() == {"batches": [], "total_bytes": 0}
    assert requests.delete(srv.url + f"api/batch/{batch['id']}/", timeout=30
                           ).status_code == 401


def test_deleting_a_running_batch_cancels_it_and_leaves_no_files(server: LiveServer) -> None:
    srv = server
    batch = submit(srv, [job(sleep_s=20, payload_kb=10) for _ in range(3)],
                   name="running", headers={"Idempotency-Key": "housekeeping-key"}).json()
    wait_for(lambda: any(j["status"] == "running" for j in srv.get(
        f"api/batch/{batch['id']}/summary/").json()["job_runs"]), what="a job to run")
    answer = requests.delete(srv.url + f"api/batch/{batch['id']}/", headers=srv.headers(),
                             timeout=30).json()
    assert answer["cancelled"] == 3 and answer["removed"] == 0
    _workers_free(srv)  # the stopped jobs wrote nothing that stays
    assert _archives(srv, batch) == {}
    # The idempotency key is free again: the same key makes a new batch.
    again = submit(srv, [job()], name="running", headers={"Idempotency-Key": "housekeeping-key"})
    assert again.status_code == 201 and again.json()["id"] != batch["id"]


def test_delete_in_the_portal_asks_first(server: LiveServer) -> None:
    srv = server
    batch, _ = _finished(srv, [job(payload_kb=100) for _ in range(2)], "portal delete")
    files = _archives(srv, batch)
    browser = login(srv)
    page = browser.get(srv.url + f"portal/batch/{batch['id']}/", timeout=30).text
    assert f'href="/portal/batch/{batch["id"]}/delete/"' in page
    confirm = browser.get(srv.url + f"portal/batch/{batch['id']}/delete/", timeout=30).text
    assert "2 result archive(s)" in confirm and "cannot be undone" in confirm
    assert _archives(srv, batch) == files  # asking is not deleting
    value = re.search(r'name="csrf" value="([^"]+)"', confirm.split('action="/portal/batch/')[1]
                      ).group(1)
    action = srv.url + f"portal/batch/{batch['id']}/delete/"
    assert browser.post(action, timeout=30, allow_redirects=False).status_code == 403
    assert browser.post(action, data={"csrf": value}, timeout=30, allow_redirects=False,
                        headers={"Origin": "http://evil.example"}).status_code == 403
    assert _archives(srv, batch) == files
    done = browser.post(action, data={"csrf": value}, timeout=30, allow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == \
        f"/portal/?deleted={batch['id']}"
    assert _archives(srv, batch) == {}
    listing = browser.get(srv.url + done.headers["location"].lstrip("/"), timeout=30).text
    assert f"Deleted batch <span class=\"mono\">{batch['id']}</span>" in listing
    assert f"/portal/batch/{batch['id']}/" not in listing
    assert browser.get(srv.url + f"portal/batch/{batch['id']}/", timeout=30
                       ).status_code == 404


# -- the CLI ----------------------------------------------------------------------------------
@pytest.fixture
def cli(server: LiveServer, tmp_path: Path):
    """A user of their own on the shared server, and the environment their CLI runs in."""
    user = server.tenant("housekeeping cli")
    env = {**cli_env(tmp_path / "home", tmp_path / "config"),
           "INFINITY_API_TOKEN": user.token, "INFINITY_API_SERVER": user.url}
    yield user, env
    user.revoke_tokens_made()


def test_batch_delete_and_storage_commands(cli) -> None:
    user, env = cli
    empty = run_cli("storage", env=env)
    assert "No batches of this token" in empty.stdout
    batch, _ = _finished(user, [job(payload_kb=400) for _ in range(2)], "cli batch")
    size = sum(_archives(user, batch).values())
    listed = run_cli("storage", env=env).stdout
    row = next(line for line in listed.splitlines() if line.startswith(batch["id"]))
    assert "cli batch" in row and "2/2" in row and human_bytes(size) in row
    assert "In all:" in listed
    assert (human_bytes(1536), human_bytes(300), human_bytes(3 << 30)) == (
        "1.5 KiB", "300 B", "3.0 GiB")

    done = run_cli("batch", "delete", batch["id"], env=env)
    assert f"Deleted batch {batch['id']}" in done.stdout and "removed 2 result(s)" in done.stdout
    assert _archives(user, batch) == {}
    again = run_cli("batch", "delete", batch["id"], env=env, check=False)
    assert again.returncode == 1 and "no batch with id" in again.stderr
    assert "Traceback" not in again.stderr
    wrong = run_cli("batch", "delete", "not-an-id", env=env, check=False)
    assert wrong.returncode == 1 and "not a UUID" in wrong.stderr


def test_prune_lists_first_then_deletes_what_is_older(cli) -> None:
    user, env = cli
    old, _ = _finished(user, [job(payload_kb=20)], "old batch")
    # Everything so far is older than a second once a second has passed.
    wait_for(lambda: "old batch" in run_cli("prune", "--older-than", "0.01m", env=env).stdout,
             what="the batch to be older than 0.6 s")
    listed = run_cli("prune", "--older-than", "0.01m", env=env).stdout
    assert "would be deleted" in listed and "Nothing was deleted" in listed
    assert _archives(user, old)
    none = run_cli("prune", "--older-than", "30d", "--yes", env=env).stdout
    assert "No batch" in none and _archives(user, old)
    done = run_cli("prune", "--older-than", "0.01m", "--yes", env=env).stdout
    assert "Deleted 1 batch(es)" in done and _archives(user, old) == {}
    bad = run_cli("prune", "--older-than", "soon", env=env, check=False)
    assert bad.returncode == 2 and "90m, 12h, 30d or 2w" in bad.stderr


def test_token_show_prints_the_token_this_computer_has(server: LiveServer, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    env = cli_env(tmp_path / "home", tmp_path / "config")
    from_env = run_cli("token", "show", env={**env, "INFINITY_API_TOKEN": server.token,
                                             "INFINITY_API_SERVER": server.url})
    assert from_env.stdout == server.token + "\n"
    assert "$INFINITY_API_TOKEN" in from_env.stderr and "portal/login/" in from_env.stderr

    missing = run_cli("token", "show", "--server", server.url, env=env, check=False)
    assert missing.returncode == 1 and missing.stdout == ""
    assert "no token for" in missing.stderr and "token create" in missing.stderr

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    saved = save_token(server.url, server.token)
    shown = run_cli("token", "show", "--server", server.url.rstrip("/"), env=env)
    assert shown.stdout == server.token + "\n" and str(saved) in shown.stderr
    # The token it prints logs in to the portal.
    login(server, shown.stdout.strip())


def test_batch_delete_in_the_client(tiny_session) -> None:
    from infinity_workflows.errors import NotFoundError

    batch = tiny_session.submit([{"frames": 2}, {"frames": 3}], batch_name="client delete")
    wait_for(lambda: all(not j["in_progress"] for j in batch.job_summaries()),
             what="the batch to finish")
    done = batch.delete()
    assert done["id"] == batch.batch_id and done["removed"] == 2 and done["freed_bytes"] > 0
    with pytest.raises(NotFoundError):
        batch.job_summaries()
