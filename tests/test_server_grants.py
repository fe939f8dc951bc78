"""Per-token generator grants, over real HTTP: what a token may use is all it can see.

The session's server loads tiny-v1 and tiny-gallery-v1 (and VisionFit). Tokens granted some
of them (as ``token create --generator NAME`` makes them), none (``--no-generators``) or all
must find the generators outside their grant absent everywhere: the API's list and detail,
submission and estimate, and the portal's list, pages and gallery images; with refusals
identical to those for a generator that does not exist.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

import pytest
import requests

from infinity_workflows.home import resolve_home
from infinity_workflows.server.rows import hash_token
from infinity_workflows.server.store import SCHEMA_VERSION, Store
from tests.support.api import assert_error, finished_summary, login, submit
from tests.support.server import LiveServer, portal_login, run_cli
from tests.support.tiny import TinyGenerator

TINY = "tiny-v1"
GALLERY = "tiny-gallery-v1"


def runs_of(generator: str, n: int = 1) -> list[dict]:
    return [{"name": generator, "is_preview": True, "param_values": {}} for _ in range(n)]


def estimate(srv: LiveServer, generator: str, token: str):
    return srv.post("api/batch/estimate/", {"name": "e", "job_runs": runs_of(generator)},
                    token=token)


def test_unrestricted_token_sees_every_generator(server: LiveServer) -> None:
    srv = server
    names = [g["name"] for g in srv.get("api/jobs/").json()]
    assert {TINY, GALLERY} <= set(names)
    for name in (TINY, GALLERY):
        assert srv.get(f"api/jobs/{name}/").status_code == 200
        assert estimate(srv, name, srv.token).status_code == 200
    browser = login(srv)
    index = browser.get(srv.url + "portal/generators/", timeout=30).text
    assert f"/portal/generators/{TINY}/" in index and f"/portal/generators/{GALLERY}/" in index


def test_restricted_token_sees_only_its_generator_everywhere(server: LiveServer
                                                            ) -> None:
    srv = server
    # A granted name that no loaded generator has is simply not there (yet).
    token = srv.new_token("restricted", [TINY, "later-v1"])
    assert [g["name"] for g in srv.get("api/jobs/", token=token).json()] == [TINY]
    detail = srv.get(f"api/jobs/{TINY}/", token=token).json()
    assert [p["name"] for p in detail["params"]] == [p.name for p in TinyGenerator.schema]

    missing = assert_error(srv.get(f"api/jobs/{GALLERY}/", token=token), 404)
    assert TINY in missing["detail"]
    for resp in (submit(srv, runs_of(GALLERY), token=token), estimate(srv, GALLERY, token)):
        body = assert_error(resp, 400, "unknown_generator")
        assert f"this token may use: {TINY}" in body["detail"]
    assert srv.get("api/batch/", token=token).json() == []  # nothing was created

    # Its own generator works end to end.
    assert estimate(srv, TINY, token).json() == [1]
    created = submit(srv, runs_of(TINY, 2), token=token)
    assert created.status_code == 201, created.text
    summary = finished_summary(srv, created.json()["id"], token=token)
    assert {j["status"] for j in summary["job_runs"]} == {"succeeded"}

    browser = login(srv, token)
    index = browser.get(srv.url + "portal/generators/", timeout=30).text
    assert f"/portal/generators/{TINY}/" in index and GALLERY not in index
    assert browser.get(srv.url + f"portal/generators/{TINY}/", timeout=30).status_code == 200
    assert browser.get(srv.url + f"portal/generators/{GALLERY}/", timeout=30
                       ).status_code == 404
    assert browser.get(srv.url + f"portal/generators/{GALLERY}/gallery/0/", timeout=30
                       ).status_code == 404
    batch_page = browser.get(srv.url + f"portal/batch/{created.json()['id']}/", timeout=30)
    assert batch_page.status_code == 200 and GALLERY not in batch_page.text


def test_gallery_token_gets_its_gallery_and_nothing_else(server: LiveServer) -> None:
    srv = server
    token = srv.new_token("gallery only", [GALLERY])
    assert [g["name"] for g in srv.get("api/jobs/", token=token).json()] == [GALLERY]
    browser = login(srv, token)
    image = browser.get(srv.url + f"portal/generators/{GALLERY}/gallery/0/", timeout=60)
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert browser.get(srv.url + f"portal/generators/{TINY}/", timeout=30).status_code == 404


def test_refusals_for_a_withheld_generator_match_those_for_a_missing_one(
        server: LiveServer) -> None:
    srv = server
    token = srv.new_token("restricted", [TINY])

    def bodies(name: str) -> list[tuple[int, str]]:
        answers = [srv.get(f"api/jobs/{name}/", token=token),
                   submit(srv, runs_of(name), token=token), estimate(srv, name, token)]
        return [(r.status_code, r.text.replace(name, "<name>")) for r in answers]

    assert bodies(GALLERY) == bodies("no-such-generator")


def test_token_without_generators_gets_an_empty_list_and_refusals(server: LiveServer
                                                                  ) -> None:
    srv = server
    token = srv.new_token("staging", [])
    assert srv.get("api/jobs/", token=token).json() == []
    for name in (TINY, GALLERY):
        body = assert_error(srv.get(f"api/jobs/{name}/", token=token), 404)
        assert "none (this token has no generators" in body["detail"]
        for resp in (submit(srv, runs_of(name), token=token), estimate(srv, name, token)):
            body = assert_error(resp, 400, "unknown_generator")
            assert "this token may use: none" in body["detail"]
            assert TINY not in body["detail"].replace(repr(name), "")
    # The rest of the API still answers: the token is valid, it just has nothing to run.
    assert srv.get("api/batch/", token=token).json() == []
    browser = login(srv, token)
    page = browser.get(srv.url + "portal/generators/", timeout=30).text
    assert "This token may use none of this server" in page
    assert f"/portal/generators/{TINY}/" not in page


def test_token_create_flags_are_checked_and_reported(server: LiveServer) -> None:
    srv = server
    both = run_cli("token", "create", "--home", str(srv.home), "--generator", TINY,
                   "--no-generators", env=srv.env, check=False)
    assert both.returncode == 2 and both.stdout == ""
    assert "--generator and --no-generators contradict each other" in both.stderr
    blank = run_cli("token", "create", "--home", str(srv.home), "--generator", " ",
                    env=srv.env, check=False)
    assert blank.returncode == 2 and "needs a generator name" in blank.stderr
    made = run_cli("token", "create", "--home", str(srv.home), "--generator", GALLERY,
                   "--generator", TINY, "--generator", TINY, env=srv.env)
    *text, token = made.stdout.strip().splitlines()
    assert f"only {GALLERY}, {TINY}" in " ".join(text)
    assert sorted(g["name"] for g in srv.get("api/jobs/", token=token).json()) == [GALLERY,
                                                                                  TINY]


# -- databases made before grants existed ---------------------------------------------------
# The schema as version 1 wrote it: tokens had no grant column.
_VERSION_1_SCHEMA = """
CREATE TABLE tokens (id INTEGER PRIMARY KEY, name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE, created TEXT NOT NULL);
CREATE TABLE batches (id TEXT PRIMARY KEY, token_id INTEGER NOT NULL REFERENCES tokens(id),
    name TEXT NOT NULL, generator TEXT NOT NULL, is_preview INTEGER NOT NULL,
    num_jobs INTEGER NOT NULL, created TEXT NOT NULL, idempotency_key TEXT,
    request_hash TEXT);
CREATE TABLE jobs (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,
    batch_id TEXT NOT NULL REFERENCES batches(id), token_id INTEGER NOT NULL,
    generator TEXT NOT NULL, is_preview INTEGER NOT NULL, params TEXT NOT NULL,
    seed INTEGER NOT NULL, frames INTEGER NOT NULL, status TEXT NOT NULL DEFAULT 'queued',
    attempts INTEGER NOT NULL DEFAULT 0, deaths INTEGER NOT NULL DEFAULT 0, error TEXT,
    worker TEXT, created TEXT NOT NULL, start_time TEXT, end_time TEXT);
PRAGMA user_version = 1;
"""
_CREATED = "2026-01-02T03:04:05.000000+00:00"


def make_version_1_database(path: Path, token: str) -> tuple[str, str]:
    """A database as version 1 left it: one token, one batch with one job still queued."""
    batch_id, job_id = str(uuid.uuid4()), str(uuid.uuid4())
    params = json.dumps(TinyGenerator.schema.complete({"frames": 2}))
    with sqlite3.connect(path) as conn:
        conn.executescript(_VERSION_1_SCHEMA)
        conn.execute("INSERT INTO tokens (name, token_hash, created) VALUES (?, ?, ?)",
                     ("old user", hash_token(token), _CREATED))
        conn.execute("INSERT INTO batches (id, token_id, name, generator, is_preview, "
                     "num_jobs, created) VALUES (?, 1, 'old batch', ?, 0, 1, ?)",
                     (batch_id, TINY, _CREATED))
        conn.execute("INSERT INTO jobs (id, batch_id, token_id, generator, is_preview, params,"
                     " seed, frames, created) VALUES (?, ?, 1, ?, 0, ?, 7, 2, ?)",
                     (job_id, batch_id, TINY, params, _CREATED))
    conn.close()
    return batch_id, job_id


def test_a_version_1_database_gains_grants_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    make_version_1_database(path, "old-token")
    for _ in range(2):  # the second open finds the column and changes nothing
        store = Store(path)
        token_id = store.tokens.id_for("old-token")
        assert token_id is not None and store.tokens.generators(token_id) is None
        store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        columns = {r[1] for r in conn.execute("PRAGMA table_info(tokens)")}
        assert {"generators", "revoked"} <= columns
    conn.close()


@pytest.mark.slow
def test_a_server_on_a_version_1_home_keeps_its_tokens_and_queue(tmp_path: Path) -> None:
    srv = LiveServer(home=tmp_path / "home", config=tmp_path / "config",
                     extra_args=["--workers", "1"])
    srv.home.mkdir(parents=True)
    old_token = "a-token-from-before-grants"
    batch_id, job_id = make_version_1_database(resolve_home(srv.home).ensure().database,
                                               old_token)
    # The CLI migrates too: a restricted token can be added to the old database.
    restricted = run_cli("token", "create", "--home", str(srv.home), "--name", "new user",
                         "--no-generators", env=srv.env).stdout.strip().splitlines()[-1]
    srv.token = old_token
    srv.start()
    try:
        assert TINY in [g["name"] for g in srv.get("api/jobs/").json()]
        summary = finished_summary(srv, batch_id)  # the old queued job ran
        assert [(j["id"], j["status"]) for j in summary["job_runs"]] == [(job_id, "succeeded")]
        assert srv.get("api/jobs/", token=restricted).json() == []
    finally:
        srv.stop()


# -- changing a grant, listing and revoking tokens --------------------------------------------
def token_cli(srv: LiveServer, *args: str, check: bool = True):
    return run_cli("token", *args, "--home", str(srv.home), env=srv.env, check=check)


def listed(srv: LiveServer, name: str) -> tuple[int, str]:
    """``(id, line)`` of the ``token list`` line for the token called ``name``."""
    (line,) = [ln for ln in token_cli(srv, "list").stdout.splitlines() if f"'{name}'" in ln]
    return int(line.split()[0]), line


def test_token_grant_takes_effect_on_the_next_request(server: LiveServer) -> None:
    srv = server
    token = srv.new_token("grants-regranted", [])
    token_id, line = listed(srv, "grants-regranted")
    assert "live" in line and "may use no generators" in line and token not in line
    assert srv.get("api/jobs/", token=token).json() == []

    out = token_cli(srv, "grant", str(token_id), "--generator", TINY, "--generator", "typo-v1")
    assert f"only {TINY}, typo-v1" in out.stdout
    assert "no installed generator is named" in out.stderr and "typo-v1" in out.stderr
    assert [g["name"] for g in srv.get("api/jobs/", token=token).json()] == [TINY]
    token_cli(srv, "grant", str(token_id))  # neither flag: every generator
    every = {g["name"] for g in srv.get("api/jobs/", token=token).json()}
    assert every == {g["name"] for g in srv.get("api/jobs/").json()} and TINY in every
    refused = token_cli(srv, "grant", "99999", "--no-generators", check=False)
    assert refused.returncode == 2 and "no live token has id 99999" in refused.stderr


def test_a_revoked_token_loses_the_api_the_portal_and_its_result_links(
        server: LiveServer) -> None:
    srv = server
    token = srv.new_token("grants-leaked")
    created = submit(srv, runs_of(TINY), token=token).json()
    (run,) = finished_summary(srv, created["id"], token=token)["job_runs"]
    assert requests.get(run["result_url"], timeout=30).status_code == 200
    browser = login(srv, token)
    assert browser.get(srv.url + "portal/", timeout=30, allow_redirects=False).status_code == 200

    token_id, _ = listed(srv, "grants-leaked")
    out = token_cli(srv, "revoke", str(token_id))
    assert "revoked" in out.stdout
    assert_error(srv.get("api/batch/", token=token), 401)
    assert requests.get(run["result_url"], timeout=30).status_code == 404
    page = browser.get(srv.url + "portal/", timeout=30, allow_redirects=False)
    assert page.status_code in (303, 307) and "login" in page.headers["location"]
    _, refused = portal_login(srv.url, token)
    assert refused.status_code == 401
    assert "revoked" in listed(srv, "grants-leaked")[1]
    again = token_cli(srv, "revoke", str(token_id), check=False)
    assert again.returncode == 2 and "no live token" in again.stderr
    assert srv.get("api/batch/").status_code == 200  # other tokens are untouched
