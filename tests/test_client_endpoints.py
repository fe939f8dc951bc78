"""The client's plan: one endpoint table, one id rule, one polling rule, old names kept.

The table is checked against the real server's OpenAPI document, both ways: every row is an
operation the server has, and every operation of the server's API is a row.
"""

from __future__ import annotations

import importlib
import inspect
import time

import pytest

from infinity_workflows import api, endpoints
from infinity_workflows.compat import core_api
from infinity_workflows.errors import JobTimeout, ProtocolError, ValidationError
from infinity_workflows.polling import poll
from infinity_workflows.transport import open_transport
from infinity_workflows.trust import parse_uuid

UUID = "0b6f1c2e-59a4-4c57-9d55-1f0e4a4b7c11"


def test_the_table_is_the_servers_api_both_ways(server) -> None:
    with open_transport(server.url, server.token) as t:
        document = api.get_api_schema(t)
    served = {(method.upper(), path.lstrip("/")) for path, operations in
              document["paths"].items() if path.startswith("/api/") for method in operations}
    table = {(e.method, e.path) for e in endpoints.ENDPOINTS}
    assert table - served == {("GET", "api/schema/")}  # the document does not list itself
    assert served <= table
    assert len(endpoints.ENDPOINTS) == len(table)  # each endpoint once


def test_a_path_value_is_one_quoted_segment() -> None:
    assert endpoints.GET_BATCH_SUMMARY.path_for("../x") == "api/batch/..%2Fx/summary/"
    assert endpoints.LIST_GENERATORS.path_for() == "api/jobs/"
    with pytest.raises(TypeError, match="batch_id"):
        endpoints.GET_BATCH.path_for()
    assert str(endpoints.CANCEL_JOB_RUN) == "POST api/job_runs/{job_id}/cancel/"


def test_infinity_cores_names_keep_their_signatures() -> None:
    assert list(inspect.signature(core_api.get_single_standard_job_data).parameters) == \
        ["token", "standard_job_id", "server"]
    assert inspect.signature(core_api.get_all_preview_job_data).parameters["token"].default \
        is None
    assert core_api.get_batch_data.__name__ == "get_batch_data"
    assert "GET api/batch/{batch_id}/" in core_api.get_batch_data.__doc__
    with pytest.raises(TypeError):
        core_api.get_batch_data("token", UUID, "http://127.0.0.1:1/", "one too many")
    with pytest.raises(TypeError):
        core_api.get_single_preview_job_data("token", job_id=UUID)  # infinity-core's keyword
    assert api.get_batch_data is core_api.get_batch_data


def test_an_id_is_refused_by_whose_mistake_it_is() -> None:
    assert parse_uuid(UUID.upper(), "batch id") == UUID  # a user's: any form, canonical
    assert parse_uuid("{" + UUID + "}", "job id") == UUID
    with pytest.raises(ValidationError, match="batch id '../etc' is not a UUID"):
        parse_uuid("../etc", "batch id")
    assert parse_uuid(UUID, "job id", sent_by="http://s/") == UUID  # the server's: as sent
    with pytest.raises(ProtocolError, match="http://s/ sent a job id '../etc'"):
        parse_uuid("../etc", "job id", sent_by="http://s/")
    with pytest.raises(ProtocolError):
        parse_uuid(None, "batch id", sent_by="http://s/")


def test_poll_returns_the_first_answer_and_gives_up_at_its_deadline() -> None:
    answers = iter([None, None, []])
    assert poll(lambda: next(answers), timeout=30, interval=0.001, what="x") == []
    looked = []
    with pytest.raises(JobTimeout, match="the thing: not done after 0 s"):
        poll(lambda: looked.append(1), timeout=0, interval=60, what="the thing")
    assert looked == [1]  # a zero timeout still looks once, and never sleeps its interval
    started = time.monotonic()
    with pytest.raises(KeyError):
        poll(lambda: None, timeout=0.05, interval=60, what="x",
             timed_out=lambda: KeyError("mine"))
    assert time.monotonic() - started < 30  # the deadline cuts the interval short
    with pytest.raises(ValidationError, match="polling_interval must be > 0"):
        poll(lambda: 1, timeout=1, interval=0, what="x")


@pytest.mark.parametrize(("old", "new"), [
    ("infinity_workflows.core_api", "infinity_workflows.compat.core_api"),
    ("infinity_workflows.interop", "infinity_workflows.compat.interop"),
    ("infinity_workflows.reruns", "infinity_workflows.seed_reruns"),
    ("infinity_workflows.home", "infinity_workflows.server_home"),
    ("infinity_workflows.paths", "infinity_workflows.user_folders"),
])
def test_a_moved_module_still_imports_under_its_old_name(old: str, new: str) -> None:
    assert importlib.import_module(old) is importlib.import_module(new)
