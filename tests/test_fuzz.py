"""Bad input: the API fuzzed from its own OpenAPI document, then hand-written hostile requests.

Every answer must be below 500, and every refusal JSON with a ``detail`` that says what was
wrong. Schemathesis builds the requests from ``api/schema/`` (positive cases that follow the
schema and negative ones that break it), authenticated with a real token, against ids that
exist as well as random ones.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections import Counter
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.api import refused_once_expired
from tests.support.jobs import submit, wait_finished
from tests.support.server import portal_login

pytestmark = pytest.mark.timeout(400)

EXAMPLES_PER_MODE = 60  # x 2 modes x 13 operations, plus 10 runs against real ids: ~1,900
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, negative_data_rejection]
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_MODE, deadline=None, database=None, derandomize=True,
    suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])


# Value classes found wanting before (each answered 500 once): numbers a float cannot hold,
# and times whose offset moves them out of years 1 to 9999 in UTC.
OVERFLOWING_NUMBERS = ["1" + "0" * 400, "-1" + "0" * 400, str(2**1024), "1" + "0" * 4000,
                       "179769313486231580793728971405303415079934132710037826936173778980444"
                       "968292764750946649017977587207096330286416692887910946555547851940402"
                       "630657488671505820681908902000708383676273854845817711531764475730270"
                       "069855571366959622842914819860834936475292719074168444365510704342711"
                       "559699508093042880177904174497792"]
EDGE_TIMES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
              "0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59.999999-00:01",
              "0001-01-01T00:00:00-23:59", "9999-12-31T23:59:59+23:59",
              "0001-01-01T00:00:00", "9999-12-31T23:59:59.999999Z", "0001-01-01 00:00:00Z"]


def _iso_offsets() -> st.SearchStrategy[str]:
    """Date-times anywhere in years 1 to 9999 with any offset up to +-23:59, and the edges."""
    def text(moment, minutes: int) -> str:
        sign, minutes = ("+" if minutes >= 0 else "-"), abs(minutes)
        return f"{moment.isoformat()}{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    return st.one_of(st.sampled_from(EDGE_TIMES),
                     st.builds(text, st.datetimes(), st.integers(-1439, 1439)))


# The fuzzer's date-times include the edges, so it would have found them on its own.
schemathesis.openapi.format("date-time", _iso_offsets())


def assert_error_body(response: Any, where: str) -> dict[str, Any]:
    """A refusal: JSON with a non-empty human ``detail``."""
    assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:300]}"
    content_type = response.headers.get("content-type") or ""
    if isinstance(content_type, list):  # schemathesis keeps every value of a header
        content_type = content_type[0]
    assert content_type.startswith("application/json"), \
        f"{where}: error is not JSON: {response.text[:300]}"
    body = response.json()
    assert isinstance(body.get("detail"), str) and len(body["detail"]) > 10, \
        f"{where}: no detail: {body}"
    return body


@pytest.fixture(scope="module")
def real_ids(server) -> dict[str, str]:
    """A finished video job and a finished preview job, so fuzzing reaches real records."""
    video = submit(server, [{"frames": 2}])
    preview = submit(server, [{}], preview=True)
    # DELETE api/batch/<id>/ fuzzed with a real id deletes that batch: it gets one of its own,
    # so the batches the later tests read stay.
    doomed = submit(server, [{"frames": 1}])
    runs = wait_finished(server, video["id"]) + wait_finished(server, preview["id"])
    assert all(r["status"] == "succeeded" for r in runs)
    return {"video_batch": video["id"], "video_job": runs[0]["id"],
            "preview_job": runs[1]["id"], "doomed_batch": doomed["id"]}


def _real_path_parameters(method: str, path: str, ids: dict[str, str]
                          ) -> dict[str, str] | None:
    if "{batch_id}" in path:
        return {"batch_id": ids["doomed_batch" if method.upper() == "DELETE" else "video_batch"]}
    if path.startswith("/api/job_previews/{"):
        return {"job_id": ids["preview_job"]}
    if "{job_id}" in path:
        return {"job_id": ids["video_job"]}
    if "{name}" in path:
        return {"name": "tiny-v1"}
    return None


@pytest.mark.slow
def test_fuzzed_requests_from_the_openapi_document(server, real_ids) -> None:
    schema = schemathesis.openapi.from_url(server.url + "api/schema/", wait_for_schema=30)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 13, [op.label for op in operations]
    http = requests.Session()
    base_url = server.url.rstrip("/")
    sent: Counter[str] = Counter()
    statuses: Counter[int] = Counter()

    def exercise(strategy, label: str) -> None:
        @FUZZ_SETTINGS
        @given(case=strategy)
        def run(case) -> None:
            # A real token, so requests get past authentication into the routes.
            case.headers = {**(case.headers or {}), "Authorization": f"Token {server.token}"}
            response = case.call(base_url=base_url, session=http, timeout=30)
            sent[label] += 1
            statuses[response.status_code] += 1
            case.validate_response(response, checks=CHECKS)
            if response.status_code >= 400:
                assert_error_body(response, f"{case.method} {case.formatted_path}")

        # No negative case exists for an operation that takes no input.
        with contextlib.suppress(Unsatisfiable):
            run()

    for op in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            exercise(op.as_strategy(generation_mode=mode), op.label)
        real = _real_path_parameters(op.method, op.path, real_ids)
        if real:
            exercise(op.as_strategy(path_parameters=real), op.label)

    total = sum(sent.values())
    print(f"\nfuzzed {total} requests over {len(sent)} operations; statuses {dict(statuses)}")
    assert total >= 1000
    assert set(sent) == {op.label for op in operations}, "every operation was exercised"
    assert all(status < 500 for status in statuses)
    assert server.get("api/jobs/").status_code == 200  # and the server still answers


# -- hand-written hostile requests ------------------------------------------------------------
def _raw_post(server, path: str, text: str | bytes) -> requests.Response:
    data = text.encode() if isinstance(text, str) else text
    return requests.post(server.url + path, data=data, timeout=60,
                         headers={**server.headers(), "Content-Type": "application/json"})


def _job(**params: Any) -> dict[str, Any]:
    return {"name": "tiny-v1", "is_preview": False, "param_values": params}


@pytest.mark.parametrize(("text", "says"), [
    ('{"name": "x", "job_runs": [', "not valid JSON"),
    ("{'name': 'x'}", "not valid JSON"),
    ('{"name": "x", "job_runs": [{"name": "tiny-v1", "param_values": {"scale": NaN}}]}',
     "finite"),
    ('{"name": "x", "job_runs": [{"name": "tiny-v1", "param_values": {"scale": Infinity}}]}',
     "finite"),
    ('{"name": "x", "job_runs": [{"name": "tiny-v1", "param_values": {"scale": -Infinity}}]}',
     "finite"),
    ("[]", "object"),
    ("null", "body"),
    ('"a string"', "body"),
    ("\xff\xfe not utf-8", "not valid JSON"),
])
def test_malformed_json_is_refused_with_a_reason(server, text: str, says: str) -> None:
    for path in ("api/batch/", "api/batch/estimate/"):
        body = assert_error_body(_raw_post(server, path, text.encode("latin-1")), text)
        assert body["detail"] and says.lower() in json.dumps(body).lower(), body


@pytest.mark.parametrize(("job", "param", "rule_words"), [
    (_job(frames="3"), "frames", "int"),
    (_job(frames=3.5), "frames", "int"),
    (_job(frames=True), "frames", "int"),
    (_job(scale="big"), "scale", "float"),
    (_job(flag="yes"), "flag", "bool"),
    (_job(color=["red"]), "color", "list"),
    (_job(color="purple"), "color", "choices"),
    (_job(frames=0), "frames", "1"),
    (_job(frames=10**400), "frames", "1000"),
    (_job(scale=-1e308), "scale", "0"),
    (_job(state="not-a-uuid"), "state", "uuid"),
    (_job(unknown_knob=1), "unknown_knob", "unknown"),
])
def test_wrong_types_and_huge_numbers_name_the_parameter(server, job, param, rule_words):
    text = json.dumps({"name": "typed", "job_runs": [_job(), job]})
    response = _raw_post(server, "api/batch/", text)
    assert response.status_code == 400, response.text
    body = assert_error_body(response, text[:100])
    error = body["errors"][0]
    assert error["job_index"] == 1 and error["param"] == param, body
    assert rule_words.lower() in (error["message"] + error["rule"]).lower(), body


def test_wrong_shapes_of_the_batch_itself(server) -> None:
    cases = [
        ({"name": "x", "job_runs": "all of them"}, "job_runs"),
        ({"name": 5, "job_runs": [_job()]}, "name"),
        ({"job_runs": [_job()]}, "name"),
        ({"name": "x", "job_runs": [_job()], "priority": "high"}, "unknown field"),
        ({"name": "x", "job_runs": [{"name": "tiny-v1", "param_values": [1, 2]}]},
         "param_values"),
        ({"name": "x", "job_runs": [{"name": "nope-v9"}]}, "unknown generator"),
        ({"name": "x", "job_runs": []}, "no jobs"),
        ({"name": "x", "job_runs": [_job(), {**_job(), "is_preview": True}]}, "previews"),
    ]
    for body, says in cases:
        response = server.post("api/batch/", body)
        assert response.status_code == 400, (body, response.text)
        assert says.lower() in json.dumps(assert_error_body(response, str(body))).lower(), \
            (body, response.text)


def test_unicode_names_are_kept_and_overlong_names_refused(server) -> None:
    name = "Ünïcödé ✓ 名前 🚀 \u200b\u202e rtl " + "é" * 400  # 430 characters
    created = submit(server, [{}], name=name)
    assert created["name"] == name
    assert server.get(f"api/batch/{created['id']}/").json()["name"] == name
    listed = {b["id"]: b["name"] for b in server.get("api/batch/").json()}
    assert listed[created["id"]] == name
    portal, _ = portal_login(server.url, server.token)
    page = portal.get(server.url + f"portal/batch/{created['id']}/", timeout=30)
    assert page.status_code == 200 and "名前 🚀" in page.text

    for long_name in ("n" * 501, "名" * 5000):
        response = server.post("api/batch/", {"name": long_name, "job_runs": [_job()]})
        body = assert_error_body(response, "long name")
        assert response.status_code == 400 and "name" in json.dumps(body), body
        assert "500" in json.dumps(body), body  # the limit is named
    nul = server.post("api/batch/", {"name": "a\x00b", "job_runs": [_job()]})
    assert nul.status_code in (201, 400), nul.text


def test_ten_thousand_and_one_jobs_are_refused_whole(server) -> None:
    before = len(server.get("api/batch/").json())
    response = server.post("api/batch/", {"name": "too many", "job_runs": [_job()] * 10_001})
    body = assert_error_body(response, "10,001 jobs")
    assert response.status_code == 400 and "10000" in body["detail"].replace(",", ""), body
    assert len(server.get("api/batch/").json()) == before, "nothing was stored"
    estimate = server.post("api/batch/estimate/", {"name": "x", "job_runs": [_job()] * 10_001})
    assert estimate.status_code == 400


def test_a_50_mb_body_is_refused_with_413(server) -> None:
    padding = "x" * (50 * 1024 * 1024)
    text = json.dumps({"name": "huge", "job_runs": [_job(color=padding)]})
    response = _raw_post(server, "api/batch/", text)
    assert response.status_code == 413
    assert "--max-body-mb" in assert_error_body(response, "50 MB")["detail"]

    def chunks():  # no Content-Length: the server must count as the bytes arrive
        yield b'{"name": "huge", "job_runs": [{"name": "tiny-v1", "param_values": {"color": "'
        for _ in range(50):
            yield b"y" * (1024 * 1024)
        yield b'"}}]}'
    chunked = requests.post(server.url + "api/batch/", data=chunks(), timeout=120,
                            headers={**server.headers(), "Content-Type": "application/json"})
    assert chunked.status_code == 413, chunked.text[:300]
    assert server.get("api/jobs/").status_code == 200


@pytest.mark.parametrize("ident", [
    "..%2F..%2Fetc%2Fpasswd", "../../etc/passwd", "..%2F..", "%2e%2e%2f%2e%2e%2fsecret.key",
    "..\\..\\secret.key", "00000000-0000-0000-0000-000000000000/../..", "%00", "' OR 1=1 --",
    "12345678123456781234567812345678" + "0" * 1000,
])
def test_path_traversal_and_junk_ids_reveal_nothing(server, real_ids, ident: str) -> None:
    secret = (server.home / "secret.key").read_bytes()
    for template in ("api/batch/{}/", "api/batch/{}/summary/", "api/job_runs/{}/",
                     "api/job_previews/{}/", "api/jobs/{}/"):
        response = server.get(template.format(ident))
        assert response.status_code in (400, 404), (template, ident, response.text[:200])
        assert_error_body(response, template.format(ident))
        assert secret not in response.content and b"root:" not in response.content
    result = requests.get(server.url + f"api/results/{ident}/?expires=9999999999&signature="
                          + "0" * 64, timeout=30)
    assert result.status_code in (400, 403, 404)
    assert_error_body(result, "result " + ident)
    for page in (f"portal/batch/{ident}/", f"portal/thumbnail/{ident}/"):
        response = requests.get(server.url + page, timeout=30,
                                cookies={"infinity_portal_session": "1.forged"},
                                allow_redirects=False)
        assert response.status_code in (303, 404), (page, response.status_code)


def test_tampered_and_expired_result_links_are_refused(server, real_ids, strict_server) -> None:
    runs = wait_finished(server, real_ids["video_batch"])
    url = runs[0]["result_url"]
    assert requests.get(url, timeout=30).status_code == 200
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    base = f"{parts.scheme}://{parts.netloc}{parts.path}"
    other_job = real_ids["preview_job"]

    def fetch(path: str, **q: Any) -> requests.Response:
        return requests.get(path, params=q, timeout=30)

    flipped = ("1" if query["signature"][0] != "1" else "2") + query["signature"][1:]
    tampered = [
        fetch(base, expires=query["expires"], signature=flipped),
        fetch(base, expires=int(query["expires"]) + 1, signature=query["signature"]),
        fetch(base, expires=10**12, signature=query["signature"]),
        fetch(base.replace(real_ids["video_job"], other_job), **query),
        fetch(base, expires=query["expires"], signature=query["signature"].upper() + "0"),
        fetch(base, expires=query["expires"], signature="é" * 64),
        fetch(base, expires=query["expires"], signature=""),
        fetch(base, expires=-(10**30), signature=query["signature"]),
        fetch(base, expires="soon", signature=query["signature"]),
        fetch(base, expires=query["expires"]),
        fetch(base),
    ]
    for response in tampered:
        assert response.status_code in (400, 403), (response.url, response.text[:200])
        assert_error_body(response, response.url)
        assert not response.content.startswith(b"PK")
    assert "altered" in tampered[0].json()["detail"]

    short = strict_server  # links that live STRICT_URL_TTL_S seconds
    batch_id = submit(short, [{}])["id"]
    link = wait_finished(short, batch_id)[0]["result_url"]
    assert requests.get(link, timeout=30).status_code == 200  # valid for at least 1 s
    expired = refused_once_expired(link)
    assert expired.status_code == 403
    assert "expired" in assert_error_body(expired, "expired")["detail"]
    fresh = wait_finished(short, batch_id)[0]["result_url"]
    assert requests.get(fresh, timeout=30).status_code == 200


def test_a_token_cannot_reach_another_tokens_ids(server, real_ids) -> None:
    other = server.new_token("intruder")
    for path in (f"api/batch/{real_ids['video_batch']}/",
                 f"api/batch/{real_ids['video_batch']}/summary/",
                 f"api/job_runs/{real_ids['video_job']}/",
                 f"api/job_previews/{real_ids['preview_job']}/"):
        mine = server.get(path)
        theirs = server.get(path, token=other)
        assert mine.status_code == 200 and theirs.status_code == 404, path
    reuse = server.post("api/batch/", {"name": "steal", "job_runs": [
        _job(state=real_ids["video_job"])]}, token=other)
    assert reuse.status_code == 400 and "state" in reuse.text
    for bad in ("", "Token", "Token ", "Bearer " + server.token, "Token " + server.token[:-1],
                "token " + server.token + "x", "Token " + "é" * 10):
        response = requests.get(server.url + "api/batch/", timeout=30,
                                headers={"Authorization": bad.encode("utf-8")})
        assert response.status_code == 401, (bad, response.text)
        assert_error_body(response, "auth " + bad)
    assert requests.get(server.url + "api/batch/", timeout=30).status_code == 401


@pytest.mark.parametrize("number", OVERFLOWING_NUMBERS)
def test_numbers_past_float_range_are_400_naming_the_parameter(server, number: str) -> None:
    for param in ("scale", "sleep_s", "frames", "payload_kb"):  # every float and int knob
        text = ('{"name": "x", "job_runs": [{"name": "tiny-v1", "param_values": {"'
                + param + '": ' + number + "}}]}")
        for path in ("api/batch/", "api/batch/estimate/"):
            response = _raw_post(server, path, text)
            assert response.status_code == 400, (param, path, response.text[:300])
            body = assert_error_body(response, f"{param}={number[:20]}")
            assert param in json.dumps(body), body
            assert len(response.content) < 10_000  # the refused number is not echoed whole


@pytest.mark.parametrize("moment", EDGE_TIMES)
def test_times_at_the_edges_of_the_range_are_answered_or_400(server, moment: str) -> None:
    for path in ("api/batch/", "api/job_runs/counts/"):
        for field in ("start_time", "end_time"):
            response = server.get(path, params={field: moment})
            assert response.status_code in (200, 400), (path, field, moment, response.text)
            if response.status_code == 400:
                body = assert_error_body(response, f"{path}?{field}={moment}")
                assert field in json.dumps(body), body


def test_non_finite_numbers_never_reach_the_store(server) -> None:
    for value in ("1e999", "-1e999"):
        text = ('{"name": "x", "job_runs": [{"name": "tiny-v1", "param_values": {"scale": '
                + value + "}}]}")
        response = _raw_post(server, "api/batch/", text)
        assert response.status_code == 400, response.text
        assert_error_body(response, value)
    assert all(math.isfinite(b["num_jobs"]) for b in server.get("api/batch/").json())
