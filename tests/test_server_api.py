"""The REST API of the local server, over real HTTP: every endpoint and every refusal."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import datetime, timedelta, timezone

import pytest
import requests

from tests.conftest import STRICT_MAX_JOBS
from tests.support.api import TINY, assert_error, finished_summary, job, submit
from tests.support.server import LiveServer


def parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    assert moment.utcoffset() == timedelta(0), text
    return moment


# -- schema, auth ----------------------------------------------------------------------
def test_openapi_document_is_served_without_auth(server: LiveServer) -> None:
    doc = requests.get(server.url + "api/schema/", timeout=10).json()
    assert doc["openapi"].startswith("3.")
    for path in ("/api/jobs/", "/api/jobs/{name}/", "/api/batch/", "/api/batch/estimate/",
                 "/api/batch/{batch_id}/", "/api/batch/{batch_id}/summary/", "/api/job_runs/",
                 "/api/job_runs/{job_id}/", "/api/job_previews/", "/api/job_previews/{job_id}/",
                 "/api/job_runs/counts/", "/api/results/{job_id}/"):
        assert path in doc["paths"], path
    job_run_in = doc["components"]["schemas"]["JobRunIn"]
    assert job_run_in.get("additionalProperties") is False
    assert "TokenAuth" in doc["components"]["securitySchemes"]


@pytest.mark.parametrize("header", [None, "Token", "Token not-a-real-token", "Bearer abc"])
def test_missing_or_unknown_token_is_401(server: LiveServer, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    resp = requests.get(server.url + "api/jobs/", headers=headers, timeout=10)
    body = assert_error(resp, 401)
    assert "token" in body["detail"].lower()


# -- generators ----------------------------------------------------------------------
def test_generators_list_and_detail(server: LiveServer) -> None:
    listed = server.get("api/jobs/").json()
    tiny = next(g for g in listed if g["name"] == TINY)
    assert tiny == {"name": TINY, "version": "1.0.0", "description": tiny["description"],
                    "options": {"preview": True}}
    detail = server.get(f"api/jobs/{TINY}/").json()
    params = {p["name"]: p for p in detail["params"]}
    assert params["frames"] == {"name": "frames", "type": "int", "default_value": 3,
                                "options": {"min": 1, "max": 1000},
                                "description": "Frames a video job renders."}
    assert params["color"]["options"] == {"choices": ["red", "green", "blue"]}
    assert params["flag"]["options"] is None
    assert params["state"]["type"] == "uuid"
    assert_error(server.get("api/jobs/no-such-generator/"), 404)


# -- submitting and reading batches ------------------------------------------------------
def test_submit_fills_defaults_and_runs_to_download(server: LiveServer) -> None:
    resp = submit(server, [job(frames=5, color="blue"), job(scale=2)], name="first")
    assert resp.status_code == 201, resp.text
    batch = resp.json()
    uuid.UUID(batch["id"], version=4)
    parse_time(batch["created"])
    assert batch["name"] == "first"
    first, second = batch["job_runs"]
    assert first["param_values"] == {"frames": 5, "color": "blue", "scale": 1.0, "flag": False,
                                     "sleep_s": 0.0, "payload_kb": 1, "fail": False,
                                     "crash": False, "state": None}
    assert second["param_values"]["scale"] == 2.0 and isinstance(
        second["param_values"]["scale"], float)
    assert first["in_progress"] is True and first["result_url"] is None
    assert first["name"] == TINY and first["is_preview"] is False

    summary = finished_summary(server, batch["id"])
    assert summary["id"] == batch["id"]
    assert [j["id"] for j in summary["job_runs"]] == [first["id"], second["id"]]
    for run in summary["job_runs"]:
        assert run["status"] == "succeeded" and run["error"] is None
        assert run["worker"].startswith("local-pid-")
        zipped = requests.get(run["result_url"], timeout=30)  # no auth header
        assert zipped.status_code == 200
        with zipfile.ZipFile(io.BytesIO(zipped.content)) as zf:
            names = zf.namelist()
            assert all(n.startswith(run["id"] + "/") for n in names)
            meta = json.loads(zf.read(f"{run['id']}/job.json"))
        assert meta["params"]["frames"] in (5, 3)

    detail = server.get(f"api/batch/{batch['id']}/").json()
    assert detail["id"] == batch["id"] and detail["name"] == "first"
    assert detail["created"] == batch["created"]
    assert [j["param_values"] for j in detail["job_runs"]] == [
        first["param_values"], second["param_values"]]
    assert all(set(j) >= {"id", "name", "is_preview", "param_values"}
               for j in detail["job_runs"])


def test_result_url_regenerated_and_seeds_are_per_job(server: LiveServer) -> None:
    batch = submit(server, [job(), job()]).json()
    summary = finished_summary(server, batch["id"])
    seeds = set()
    for run in summary["job_runs"]:
        with zipfile.ZipFile(io.BytesIO(requests.get(run["result_url"], timeout=30).content)) as z:
            seeds.add(json.loads(z.read(f"{run['id']}/job.json"))["seed"])
    assert len(seeds) == 2


def test_state_param_reuses_the_seed_of_an_earlier_job(server: LiveServer) -> None:
    source = submit(server, [job(frames=2)]).json()
    source_id = source["job_runs"][0]["id"]
    rerun = submit(server, [job(frames=4, state=source_id)]).json()
    assert rerun["job_runs"][0]["param_values"]["state"] == source_id
    seeds = []
    for batch in (source, rerun):
        run = finished_summary(server, batch["id"])["job_runs"][0]
        with zipfile.ZipFile(io.BytesIO(requests.get(run["result_url"], timeout=30).content)) as z:
            seeds.append(json.loads(z.read(f"{run['id']}/job.json"))["seed"])
    assert seeds[0] == seeds[1]

    unknown = str(uuid.uuid4())
    body = assert_error(submit(server, [job(), job(state=unknown)]), 400, "unknown_job")
    err = body["errors"][0]
    assert err["job_index"] == 1 and err["param"] == "state"


def test_estimate_returns_frames_per_job(server: LiveServer) -> None:
    resp = server.post("api/batch/estimate/", {"name": "e", "job_runs": [job(frames=7), job()]})
    assert resp.status_code == 200 and resp.json() == [7, 3]
    previews = server.post("api/batch/estimate/",
                           {"name": "e", "job_runs": [job(True, frames=7), job(True)]})
    assert previews.json() == [1, 1]
    assert_error(server.post("api/batch/estimate/", {"name": "e", "job_runs": [job(frames=0)]}),
                 400, "min")


def test_batch_list_with_time_window(server: LiveServer) -> None:
    before = datetime.now(timezone.utc)
    created = submit(server, [job()], name="windowed").json()
    listed = server.get("api/batch/").json()
    mine = [b for b in listed if b["id"] == created["id"]]
    assert mine == [{"id": created["id"], "name": "windowed", "created": created["created"],
                     "num_jobs": 1}]
    window = {"start_time": (before - timedelta(seconds=1)).isoformat(),
              "end_time": (datetime.now(timezone.utc) + timedelta(seconds=1)).isoformat()}
    assert created["id"] in {b["id"] for b in server.get("api/batch/", params=window).json()}
    past = {"start_time": "2000-01-01T00:00:00+00:00", "end_time": "2000-01-02T00:00:00Z"}
    assert server.get("api/batch/", params=past).json() == []
    for bad in ("yesterday", "0.5", "1700000000", "2026-11-25"):
        body = assert_error(server.get("api/batch/", params={"start_time": bad}), 400)
        assert body["errors"][0]["param"] == "start_time" and "ISO 8601" in body["detail"]


def test_job_runs_and_previews_lists_and_single(server: LiveServer) -> None:
    videos = submit(server, [job(frames=2)]).json()
    previews = submit(server, [job(True), job(True, color="green")]).json()
    finished_summary(server, videos["id"])
    finished_summary(server, previews["id"])
    video_id = videos["job_runs"][0]["id"]
    preview_id = previews["job_runs"][1]["id"]

    listed_videos = {j["id"]: j for j in server.get("api/job_runs/").json()}
    listed_previews = {j["id"]: j for j in server.get("api/job_previews/").json()}
    assert video_id in listed_videos and video_id not in listed_previews
    assert preview_id in listed_previews and preview_id not in listed_videos

    single = server.get(f"api/job_runs/{video_id}/").json()
    assert single["batch_id"] == videos["id"] and single["is_preview"] is False
    assert single["status"] == "succeeded" and single["result_url"].startswith(server.url)
    assert single["param_values"]["frames"] == 2
    for key in ("created", "start_time", "end_time"):
        parse_time(single[key])
    assert parse_time(single["start_time"]) <= parse_time(single["end_time"])
    preview = server.get(f"api/job_previews/{preview_id}/").json()
    assert preview["is_preview"] is True and preview["param_values"]["color"] == "green"
    # A preview is not a job run and vice versa.
    assert_error(server.get(f"api/job_runs/{preview_id}/"), 404)
    assert_error(server.get(f"api/job_previews/{video_id}/"), 404)
    assert_error(server.get(f"api/job_runs/{uuid.uuid4()}/"), 404)
    assert_error(server.get("api/job_runs/not-a-uuid/"), 400)


def test_job_lists_page_with_limit_and_offset(server: LiveServer) -> None:
    token = server.new_token("paging")  # a fresh token: the list holds only these five
    submitted = [j["id"] for j in submit(server, [job(True)] * 5, token=token).json()["job_runs"]]
    every = [j["id"] for j in server.get("api/job_previews/", token=token).json()]
    assert every == submitted  # oldest first, in submission order
    pages = [[j["id"] for j in server.get("api/job_previews/", token=token,
                                          params={"limit": 2, "offset": start}).json()]
             for start in (0, 2, 4, 6)]
    assert pages == [submitted[0:2], submitted[2:4], submitted[4:5], []]
    assert server.get("api/job_runs/", token=token, params={"limit": 3}).json() == []
    for bad in ({"limit": 0}, {"limit": 10_001}, {"offset": -1}, {"offset": 2**64},
                {"limit": "ten"}):
        body = assert_error(server.get("api/job_previews/", token=token, params=bad), 400)
        assert body["errors"][0]["param"] == next(iter(bad))


def test_usage_counts_sum_frames_of_succeeded_jobs(server: LiveServer) -> None:
    token = server.new_token("counts")  # a fresh token: counts are per token
    start = datetime.now(timezone.utc) - timedelta(seconds=1)
    videos = submit(server, [job(frames=4), job(frames=6), job(fail=True)], token=token)
    finished_summary(server, videos.json()["id"], token=token)
    previews = submit(server, [job(True), job(True)], token=token)
    finished_summary(server, previews.json()["id"], token=token)
    window = {"start_time": start.isoformat(),
              "end_time": (datetime.now(timezone.utc) + timedelta(seconds=1)).isoformat()}
    counts = server.get("api/job_runs/counts/", params=window, token=token).json()
    assert counts["counts_by_generator"] == [{"generator": TINY,
                                              "preview_samples_rendered": 2,
                                              "non_preview_samples_rendered": 10}]
    assert parse_time(counts["start_time"]) == start
    old = server.get("api/job_runs/counts/", token=token,
                     params={"start_time": "2001-01-01T00:00:00+00:00",
                             "end_time": "2001-02-01T00:00:00+00:00"})
    assert old.json()["counts_by_generator"] == []
    # Another token has rendered nothing.
    other = server.new_token("other")
    assert server.get("api/job_runs/counts/", token=other).json()["counts_by_generator"] == []


# -- refusals ----------------------------------------------------------------------
@pytest.mark.parametrize(("runs", "rule", "job_index", "param"), [
    ([], "empty_batch", None, None),
    ([job(), {"name": "other-gen", "is_preview": False, "param_values": {}}],
     "mixed_generators", 1, None),
    ([job(), job(True)], "mixed_job_types", 1, "is_preview"),
    ([{"name": "no-such-gen", "is_preview": False, "param_values": {}}], "unknown_generator", 0,
     None),
    ([job(), job(bogus=1)], "unknown_parameter", 1, "bogus"),
    ([job(frames="3")], "type", 0, "frames"),
    ([job(flag=1)], "type", 0, "flag"),
    ([job(frames=0)], "min", 0, "frames"),
    ([job(), job(), job(frames=1001)], "max", 2, "frames"),
    ([job(color="purple")], "choices", 0, "color"),
    ([job(state="not-a-uuid")], "type", 0, "state"),
])
def test_invalid_batches_are_refused_whole(server: LiveServer, runs, rule, job_index,
                                           param) -> None:
    before = len(server.get("api/batch/").json())
    body = assert_error(submit(server, runs), 400, rule)
    err = next(e for e in body["errors"] if e["rule"] == rule)
    assert err["job_index"] == job_index and err["param"] == param
    assert err["message"]
    assert len(server.get("api/batch/").json()) == before  # nothing was created


def test_every_problem_of_every_job_is_listed(server: LiveServer) -> None:
    body = assert_error(submit(server, [job(frames=0, color="x"), job(), job(scale=11)]), 400)
    found = {(e["job_index"], e["param"], e["rule"]) for e in body["errors"]}
    assert found == {(0, "frames", "min"), (0, "color", "choices"), (2, "scale", "max")}
    assert "2 of 3" in body["detail"]


def test_non_finite_numbers_are_400_not_500(server: LiveServer) -> None:
    headers = {**server.headers(), "Content-Type": "application/json"}
    cases = [
        ('{"name": "n", "job_runs": [{"name": "tiny-v1", "param_values": {"scale": NaN}}]}',
         "not_finite"),
        ('{"name": "n", "job_runs": [{"name": "tiny-v1", "param_values": {"scale": Infinity}}]}',
         "not_finite"),
        ('{"name": "n", "job_runs": [{"name": "tiny-v1", "param_values": {"frames": -Infinity}}]}',
         "type"),
        ('{"name": NaN, "job_runs": []}', None),
        ('{"name": "n", "job_runs": [{"name": "tiny-v1", "param_values": {"new": NaN}}]}',
         "unknown_parameter"),
        ('{"name": "n", "job_runs": [', "json_invalid"),
    ]
    for text, rule in cases:
        resp = requests.post(server.url + "api/batch/", data=text, headers=headers, timeout=30)
        assert_error(resp, 400, rule)


def test_unknown_request_fields_are_refused(server: LiveServer) -> None:
    body = assert_error(server.post("api/batch/", {"name": "x", "job_runs": [job()], "extra": 1}),
                        400, "extra_forbidden")
    assert body["errors"][0]["param"] == "extra"
    run = {**job(), "priority": 5}
    body = assert_error(submit(server, [job(), run]), 400, "extra_forbidden")
    assert body["errors"][0]["job_index"] == 1 and body["errors"][0]["param"] == "priority"
    assert_error(server.post("api/batch/", {"job_runs": [job()]}), 400, "missing")
    assert_error(server.post("api/batch/", [1, 2]), 400)


def test_size_and_count_limits(strict_server: LiveServer) -> None:
    """On the strict server: at most STRICT_MAX_JOBS jobs and 0.05 MB per request."""
    srv = strict_server
    assert submit(srv, [job()] * STRICT_MAX_JOBS).status_code == 201
    body = assert_error(submit(srv, [job()] * (STRICT_MAX_JOBS + 1)), 400, "too_many_jobs")
    assert str(STRICT_MAX_JOBS) in body["detail"]
    big = {"name": "x" * 100_000, "job_runs": [job()]}
    assert_error(srv.post("api/batch/", big), 413, "body_too_large")

    def chunks():  # no Content-Length: counted as it streams
        yield b'{"name": "'
        for _ in range(100):
            yield b"y" * 1000
        yield b'", "job_runs": []}'
    resp = requests.post(srv.url + "api/batch/", data=chunks(), timeout=30,
                         headers={**srv.headers(), "Content-Type": "application/json"})
    assert_error(resp, 413)
    assert submit(srv, [job()]).status_code == 201  # still serving


def test_preview_refused_for_generator_without_previews(strict_server: LiveServer) -> None:
    srv = strict_server  # it loads tiny-nopreview-v1
    listed = {g["name"]: g for g in srv.get("api/jobs/").json()}
    assert listed["tiny-nopreview-v1"]["options"] == {"preview": False}
    body = assert_error(srv.post("api/batch/", {"name": "p", "job_runs": [
        {"name": "tiny-nopreview-v1", "is_preview": True, "param_values": {}}]}), 400,
        "preview_not_supported")
    assert body["errors"][0]["job_index"] == 0
    ok = srv.post("api/batch/", {"name": "v", "job_runs": [
        {"name": "tiny-nopreview-v1", "is_preview": False, "param_values": {}}]})
    assert ok.status_code == 201


# -- idempotency and isolation -----------------------------------------------------------
def test_idempotency_key_returns_the_first_batch(server: LiveServer) -> None:
    key = str(uuid.uuid4())
    headers = {"Idempotency-Key": key}
    first = submit(server, [job(frames=2), job()], name="idem", headers=headers)
    again = submit(server, [job(frames=2), job()], name="idem", headers=headers)
    assert first.status_code == 201 and again.status_code == 201
    a, b = first.json(), again.json()
    assert a["id"] == b["id"] and [j["id"] for j in a["job_runs"]] == [j["id"] for j in
                                                                        b["job_runs"]]
    assert [j["param_values"] for j in a["job_runs"]] == [j["param_values"] for j in
                                                          b["job_runs"]]
    assert sum(1 for x in server.get("api/batch/").json() if x["id"] == a["id"]) == 1
    assert sum(1 for x in server.get("api/batch/").json() if x["name"] == "idem") == 1
    # The same key with another body is a mistake, not a retry.
    assert_error(submit(server, [job(frames=9)], name="idem", headers=headers), 409)
    # Keys are per token: another token's identical key makes its own batch.
    other = server.new_token("idem-other")
    theirs = submit(server, [job()], name="idem", token=other, headers=headers)
    assert theirs.status_code == 201 and theirs.json()["id"] != a["id"]


def test_tokens_never_see_each_others_work(server: LiveServer) -> None:
    other = server.new_token("someone-else")
    mine = submit(server, [job()], name="private").json()
    summary = finished_summary(server, mine["id"])
    job_id = mine["job_runs"][0]["id"]
    for path in (f"api/batch/{mine['id']}/", f"api/batch/{mine['id']}/summary/",
                 f"api/job_runs/{job_id}/"):
        assert_error(server.get(path, token=other), 404)
    assert mine["id"] not in {b["id"] for b in server.get("api/batch/", token=other).json()}
    assert job_id not in {j["id"] for j in server.get("api/job_runs/", token=other).json()}
    # A job of another token cannot be named as state either (and its existence stays hidden).
    assert_error(submit(server, [job(state=job_id)], token=other), 400, "unknown_job")
    # The signed link is the only way to a result, and it is not derived from the token.
    assert requests.get(summary["job_runs"][0]["result_url"], timeout=30).status_code == 200


def test_unknown_paths_answer_json(server: LiveServer) -> None:
    assert_error(server.get("api/nothing-here/"), 404)
    assert_error(server.get(f"api/batch/{uuid.uuid4()}/"), 404)
    assert_error(server.get(f"api/batch/{uuid.uuid4()}/summary/"), 404)
    resp = requests.delete(server.url + "api/batch/", headers=server.headers(), timeout=10)
    assert_error(resp, 405)
