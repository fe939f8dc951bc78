"""The workflow's steps as plain functions, against a real server over HTTP (the tiny
generator keeps jobs instant), and ``explain_error`` over every error class the client
raises. The widgets built on these steps are tested in test_widgets.py."""

from __future__ import annotations

import inspect
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import nbformat
import pytest

from infinity_workflows import Session, api, errors
from infinity_workflows.credentials import LOCAL_SERVER
from infinity_workflows.records import read_lineage, read_parameters
from infinity_workflows.workflow import (
    StepFailed,
    batch_metadata_frame,
    cancel_batch,
    check_submission,
    checked_batch_id,
    create_record,
    default_server,
    download_available,
    download_folder,
    explain_error,
    explained,
    fetch_generators,
    list_choices,
    only_generator,
    open_batch,
    recent_batches,
    source_checkout,
    start_server_hint,
    submit_headless,
    wait_and_download,
)
from tests.support.scripted import Scripted
from tests.support.server import ROOT, LiveServer, free_port
from tests.support.waiting import wait_for

TINY = "tiny-v1"


def assert_one_actionable_line(text: str) -> None:
    assert text and "\n" not in text and "\x1b" not in text, text
    assert "Traceback" not in text and 'File "' not in text, text
    assert text.endswith("."), text


# -- default_server --------------------------------------------------------------------------
def test_default_server_honours_api_server_then_server_url_then_the_local_one(
        clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_server() == LOCAL_SERVER
    monkeypatch.setenv("INFINITY_SERVER_URL", "http://10.0.0.2:9000")
    assert default_server() == "http://10.0.0.2:9000/"
    monkeypatch.setenv("INFINITY_API_SERVER", " https://infinity.example.com ")
    assert default_server() == "https://infinity.example.com/"  # the token's server first
    monkeypatch.setenv("INFINITY_API_SERVER", "   ")
    assert default_server() == "http://10.0.0.2:9000/"  # blank counts as unset
    monkeypatch.setenv("INFINITY_API_SERVER", "infinity.example.com")
    assert default_server() == "infinity.example.com"  # shown as written, explained on use
    with pytest.raises(errors.ConfigurationError, match="must be an http"):
        fetch_generators(default_server())


# -- create ----------------------------------------------------------------------------------
def test_choices_list_generators_and_recent_batches_then_records_are_rendered(
        tiny_session: Session, server: LiveServer, clean_env: Path) -> None:
    batch = tiny_session.submit([{"frames": 1}], is_preview=True, batch_name="listed")
    found = fetch_generators(server.url)
    names = [g.name for g in found]
    assert TINY in names and names == sorted(names)
    tiny = next(g for g in found if g.name == TINY)
    assert tiny.supports_preview and "knobs" in tiny.description
    assert tiny.label == "tiny-v1 (1.0.0)"
    assert only_generator(found, TINY, server.url) == [tiny]
    with pytest.raises(errors.ConfigurationError, match=f"nope-v9 is not offered by {server.url}"):
        only_generator(found, "nope-v9", server.url)

    recent = recent_batches(server.url, days=1)
    assert recent[0].batch_id == batch.batch_id and "listed" in recent[0].label
    choices = list_choices(server.url, with_batches=True, days=1)
    assert batch.batch_id in [b.batch_id for b in choices.batches]
    assert choices.describe().startswith(f"{len(found)} generator(s) on {server.url}. ")
    assert "batch(es) in the last 1 days." in choices.describe()
    assert "not saved" in list_choices(server.url, server.token,
                                       token_unsaved=True).describe()

    submit_nb = create_record("submit", TINY, server.url, records_dir=clean_env / "records")
    assert read_lineage(submit_nb)["kind"] == "submit"
    nbformat.validate(nbformat.read(str(submit_nb), as_version=4))
    download_nb = create_record("download", TINY, server.url, batch_id=batch.batch_id.upper(),
                                records_dir=clean_env / "records")
    assert read_parameters(download_nb)["BATCH_ID"] == batch.batch_id  # canonical form
    assert server.token not in submit_nb.read_text() + download_nb.read_text()


def test_a_token_with_no_generators_and_a_bad_batch_id_are_explained(
        server: LiveServer, clean_env: Path) -> None:
    empty_handed = server.new_token("staging", [])
    with pytest.raises(errors.ConfigurationError, match="may use no generators") as info:
        list_choices(server.url, empty_handed)
    assert explain_error(info.value, server.url).startswith("The token is valid on")
    with pytest.raises(errors.ConfigurationError, match="choose a batch"):
        checked_batch_id("  ")
    with pytest.raises(errors.ConfigurationError, match="is not a UUID"):
        create_record("download", TINY, server.url, batch_id="nonsense",
                      records_dir=clean_env / "records")
    with pytest.raises(errors.ConfigurationError, match="choose a generator"):
        create_record("submit", "", server.url, records_dir=clean_env / "records")
    assert not (clean_env / "records").exists()


# -- submit ----------------------------------------------------------------------------------
def test_check_submission_refuses_an_empty_batch(tiny_session: Session) -> None:
    check = check_submission(tiny_session, [], is_preview=True)
    assert not check.ok and "empty" in check.describe()


def test_submit_headless_submits_once_and_writes_the_download_notebook(
        tiny_session: Session, server: LiveServer, clean_env: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)  # the folder tells the notebook
    submit_nb = create_record("submit", TINY, server.url, records_dir=clean_env / "records")
    folder = submit_nb.parent
    with pytest.raises(errors.ValidationError, match="1 of 2 job\\(s\\) are invalid") as info:
        submit_headless(tiny_session, [{"frames": 2}, {"frames": 0}], False, "bad", folder)
    assert "job 1: frames: 0 is below the minimum 1" in str(info.value)
    assert list(folder.glob("download_batch_*")) == []

    batch = submit_headless(tiny_session, [{"frames": 2}, {"frames": 5}], False, "headless",
                            folder)
    said = capsys.readouterr().out
    assert "2 video job(s), 7 frame(s) estimated" in said and batch.batch_id in said
    assert "Click Confirm Submission" not in said  # no button in a headless run
    (download_nb,) = folder.glob("download_batch_*.ipynb")
    assert read_lineage(download_nb)["parent"] == submit_nb.name
    assert read_parameters(download_nb)["BATCH_ID"] == batch.batch_id


# -- download --------------------------------------------------------------------------------
def test_download_folder_and_the_batch_table(tiny_session: Session, clean_env: Path) -> None:
    batch = tiny_session.submit(
        [{"frames": 2}, {"fail": True}, {"frames": 1, "sleep_s": 1.5}],
        is_preview=False, batch_name="dl/batch: one")
    root = clean_env / "downloads"
    folder = download_folder(batch, root)
    assert folder == root / "dl_batch_ one" / f"batch_ID_{batch.batch_id}"
    frame = batch_metadata_frame(batch)
    assert list(frame.index) == batch.job_ids
    assert {"is_preview", "frames", "fail", "sleep_s"} <= set(frame.columns)


def test_progress_counts_finished_downloaded_failed_cancelled_and_in_progress(
        tiny_session: Session, clean_env: Path) -> None:
    batch = tiny_session.submit([{"frames": 1}, {"fail": True}, {"sleep_s": 60.0},
                                 {"sleep_s": 60.0}], is_preview=False, batch_name="counts")
    folder = download_folder(batch, clean_env / "downloads")
    quick = set(batch.job_ids[:2])
    wait_for(lambda: quick <= {j["id"] for j in batch.get_completed_jobs()}, timeout=60,
             what="the two quick jobs")
    now = download_available(batch, folder)
    assert (now.total, now.finished, now.in_progress) == (4, 2, 2)
    assert [p.name for p in now.downloaded] == [batch.job_ids[0]]
    assert list(now.failed) == [batch.job_ids[1]] and now.cancelled == []

    stopped = cancel_batch(batch)
    assert stopped.cancelled == 2 and "Cancelled 2 queued or running job(s)" in \
        stopped.describe()
    done = wait_and_download(batch, folder, polling_interval=0.2, timeout=60, progress=False)
    assert (done.total, done.finished, done.in_progress) == (4, 4, 0)
    assert sorted(done.cancelled) == sorted(batch.job_ids[2:])
    assert done.describe().startswith(
        "4/4 jobs finished, 1 downloaded, 1 failed, 2 cancelled, 0 in progress.")
    assert cancel_batch(batch).describe().startswith("Nothing to cancel")


def test_open_batch_explains_a_missing_or_malformed_id(tiny_session: Session) -> None:
    with pytest.raises(errors.ConfigurationError, match="does not exist on"):
        open_batch(tiny_session, "7d1f0d0e-0000-4000-8000-000000000000")
    with pytest.raises(errors.ConfigurationError, match="is not a batch id"):
        open_batch(tiny_session, "last tuesday's batch")


def test_records_written_by_widgets_are_valid_notebooks(tiny_session: Session,
                                                        clean_env: Path) -> None:
    from infinity_workflows.records import create_workflow_notebook

    path = create_workflow_notebook("submit", generator=TINY, server=tiny_session.server,
                                    records_dir=clean_env / "records")
    nbformat.validate(nbformat.read(str(path), as_version=4))


# -- explain_error ---------------------------------------------------------------------------
NOISY = ("what went wrong\nTraceback (most recent call last):\n  File \"<cell>\", line 3, in "
         "<module>\n\x1b[0;31mValueError\x1b[0m: the deep cause")
FAILED_JOB = "7d1f0d0e-0000-4000-8000-000000000001"


def _instance(cls: type[BaseException]) -> BaseException:
    """An instance of ``cls`` whose message holds a traceback, colour codes and lines."""
    if issubclass(cls, errors.APIError):
        status = {errors.BadRequestError: 400, errors.AuthenticationError: 401,
                  errors.NotFoundError: 404, errors.ConflictError: 409,
                  errors.ServerError: 500}.get(cls, 418)
        return cls(NOISY, status, {"detail": NOISY})
    if cls is errors.DownloadError:
        return cls(NOISY, {FAILED_JOB: "failed on the server: out of memory\nat frame 3"})
    if cls is errors.ValidationError:
        return cls(NOISY, [None, "frames: 0 is below the minimum 1"])
    if cls is errors.RerunError:
        return cls(NOISY, Path("workflow_records/workflow_x/submit_batch_x.ipynb"))
    return cls(NOISY)


# What each sentence tells a person to do (the action), per class.
ACTIONS: dict[type[BaseException], str] = {
    errors.InfinityError: "report it",
    errors.ConfigurationError: "ValueError: the deep cause.",
    errors.ValidationError: "1 job(s) broke the generator's rules (first, job 1:",
    errors.ServerUnreachable: "then try again",
    errors.APIError: "HTTP 418",
    errors.BadRequestError: "fix the job parameters",
    errors.AuthenticationError: "refused the token",
    errors.NotFoundError: "check the id",
    errors.ConflictError: "try again",
    errors.ServerError: "try again in a minute",
    errors.ProtocolError: "Infinity API server",
    errors.JobTimeout: "wait and download again",
    errors.DownloadError: f"first, job {FAILED_JOB}: failed on the server: out of memory",
    errors.SchemaError: "maintains the generator",
    errors.DataError: "download the batch again",
    errors.MissingDataError: "download the batch into that folder",
    errors.OutputExistsError: "overwrite=True",
    errors.RecordError: "infinity-workflows records",
    errors.RerunError: "open workflow_records/workflow_x/submit_batch_x.ipynb",
    KeyboardInterrupt: "run it again",
}


def test_every_error_class_has_a_sentence() -> None:
    tree = {cls for cls in vars(errors).values()
            if inspect.isclass(cls) and issubclass(cls, errors.InfinityError)}
    assert tree | {KeyboardInterrupt} == set(ACTIONS)


@pytest.mark.parametrize("cls", list(ACTIONS), ids=lambda c: c.__name__)
def test_explain_error_says_one_actionable_line(cls: type[BaseException]) -> None:
    text = explain_error(_instance(cls), "http://127.0.0.1:8765/")
    assert_one_actionable_line(text)
    assert ACTIONS[cls] in text, text
    says_no_detail = (errors.AuthenticationError, errors.ServerError, errors.DownloadError,
                      errors.ServerUnreachable, KeyboardInterrupt, errors.ValidationError)
    assert "deep cause" in text or cls in says_no_detail


def test_anything_else_is_named_as_unexpected_or_a_file_problem() -> None:
    text = explain_error(RuntimeError(NOISY), "http://127.0.0.1:8765/")
    assert_one_actionable_line(text)
    assert text.startswith("Unexpected RuntimeError (ValueError: the deep cause)")
    text = explain_error(PermissionError(13, "Permission denied", "/records"), "x")
    assert_one_actionable_line(text)
    assert "writable" in text and "/records" in text
    long = explain_error(errors.ConfigurationError("x" * 5000), "x")
    assert len(long) < 1000 and long.endswith("….")


def test_explain_error_on_errors_raised_for_real(
        server: LiveServer, tiny_session: Session, scripted: Scripted,
        clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    down = f"http://127.0.0.1:{free_port()}/"
    raised: dict[str, BaseException] = {}

    def catch(name: str, call) -> None:
        with pytest.raises(Exception) as info:  # noqa: PT011 - each is checked below
            call()
        raised[name] = info.value

    catch("unreachable", lambda: fetch_generators(down, server.token))
    catch("refused", lambda: fetch_generators(server.url, "not-a-real-token"))
    catch("not found", lambda: api.get_batch(tiny_session.transport, str(uuid.uuid4())))
    catch("bad request", lambda: api.submit_batch(
        tiny_session.transport, name="b", generator=TINY, job_params=[{"frames": 0}],
        is_preview=False, idempotency_key=str(uuid.uuid4())))
    catch("invalid", lambda: tiny_session.submit([{"frames": 0}]))
    slow = tiny_session.submit([{"sleep_s": 60.0}], batch_name="slow")
    catch("timeout", lambda: wait_and_download(slow, clean_env / "slow", polling_interval=0.1,
                                               timeout=0.3, progress=False))
    cancel_batch(slow)
    failing = tiny_session.submit([{"fail": True}], batch_name="failing")
    failing.await_completion(polling_interval=0.1, timeout=60, progress=False)
    catch("download", lambda: failing.download(clean_env / "failing", progress=False))
    catch("record", lambda: create_record("neither", TINY, server.url))
    scripted.plan = [(409, {"detail": "the Idempotency-Key was already used"}, 0.0),
                     (500, {"detail": "the database is locked"}, 0.0)]
    plain = api.Transport(scripted.url, "t0ken", retries=0)
    catch("conflict", lambda: api.list_generators(plain))
    catch("server error", lambda: api.list_generators(plain))
    monkeypatch.delenv("INFINITY_API_TOKEN")
    catch("no token", lambda: fetch_generators(server.url))

    expected = {
        "unreachable": (errors.ServerUnreachable, f"Cannot reach the server at {down}:"),
        "refused": (errors.AuthenticationError, f"The server at {server.url} refused the token"),
        "not found": (errors.NotFoundError, "has no such item for this token"),
        "bad request": (errors.BadRequestError, "(job 0: "),
        "invalid": (errors.ValidationError, "1 job(s) broke the generator's rules (first, job 0: "
                                     "frames: 0 is below the minimum 1"),
        "timeout": (errors.JobTimeout, "Stopped waiting (batch "),
        "download": (errors.DownloadError, "tiny generator asked to fail"),
        "record": (errors.RecordError, "The record cannot be used as asked"),
        "conflict": (errors.ConflictError, "clashes with what it holds"),
        "server error": (errors.ServerError, "failed (HTTP 500)"),
        "no token": (errors.ConfigurationError, "INFINITY_API_TOKEN"),
    }
    for name, (cls, fragment) in expected.items():
        exc = raised[name]
        assert type(exc) is cls, (name, exc)
        text = explain_error(exc, scripted.url if cls in (errors.ConflictError, errors.ServerError)
                             else server.url if name != "unreachable" else down)
        assert_one_actionable_line(text)
        assert fragment in text, (name, text)
        assert "not-a-real-token" not in text and server.token not in text
    assert "./run_notebooks.sh" in explain_error(raised["unreachable"], down)


# -- the start-the-server hint: a checkout or an installed package ---------------------------
def test_the_hint_names_the_command_of_a_checkout_or_of_an_installed_package(
        tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    (checkout / "infinity_workflows").mkdir(parents=True)
    (checkout / "run_notebooks.sh").write_text("#!/bin/sh\n")
    installed = tmp_path / "site-packages" / "infinity_workflows"
    installed.mkdir(parents=True)

    assert source_checkout(checkout / "infinity_workflows") == checkout
    assert f"./run_notebooks.sh in {checkout}" in start_server_hint(checkout /
                                                                     "infinity_workflows")
    assert source_checkout(installed) is None
    hint = start_server_hint(installed)
    assert "infinity-workflows serve" in hint and "infinity-workflows lab" in hint
    assert "run_notebooks" not in hint

    # This test runs from the project's checkout.
    assert source_checkout() == ROOT
    here = explain_error(errors.ServerUnreachable("refused"), "http://localhost:8765/")
    assert f"./run_notebooks.sh in {ROOT}" in here
    remote = explain_error(errors.ServerUnreachable("refused"), "https://infinity.example.com/")
    assert "administrator" in remote and "run_notebooks" not in remote
    assert "infinity-workflows serve" not in remote  # starting a local one would not help


def test_an_installed_copy_of_the_package_names_infinity_workflows_serve(
        tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    shutil.copytree(ROOT / "infinity_workflows", site / "infinity_workflows",
                    ignore=shutil.ignore_patterns("__pycache__"))
    code = ("import infinity_workflows\n"
            "from infinity_workflows.errors import ServerUnreachable\n"
            "from infinity_workflows.workflow import explain_error\n"
            "print(infinity_workflows.__file__)\n"
            "print(explain_error(ServerUnreachable('refused'), 'http://127.0.0.1:8765/'))\n")
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, cwd=tmp_path, timeout=120, check=True).stdout.splitlines()
    assert Path(out[0]).is_relative_to(site)  # really the installed copy
    assert "`infinity-workflows serve`" in out[1] and "infinity-workflows lab" in out[1]
    assert "run_notebooks" not in out[1]


# -- explained: a notebook cell's one line ---------------------------------------------------
def test_explained_turns_any_failure_and_an_interrupt_into_one_line() -> None:
    down = f"http://127.0.0.1:{free_port()}/"
    with pytest.raises(StepFailed) as info, explained(down):
        fetch_generators(down, "a-token")
    sentence = info.value.sentence
    assert_one_actionable_line(sentence)
    assert sentence.startswith(f"Cannot reach the server at {down}")
    assert info.value._render_traceback_() == [sentence]  # what IPython shows: nothing else
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert explain_error(info.value, "elsewhere") == sentence  # said once, not re-worded
    with pytest.raises(StepFailed, match="Interrupted before it finished"), explained(down):
        raise KeyboardInterrupt
    with pytest.raises(StepFailed) as again, explained("x"):
        raise info.value
    assert again.value is info.value


@pytest.mark.slow
def test_the_submit_notebook_stops_at_one_sentence_when_the_server_is_down(
        clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run All of a Submit record whose server does not answer: the Session cell fails with
    the sentence alone (the run stops there, as papermill and Run All expect)."""
    from nbclient.exceptions import CellExecutionError

    from tests.support.notebooks import execute

    down = f"http://127.0.0.1:{free_port()}/"
    monkeypatch.setenv("INFINITY_API_TOKEN", "a-token-for-the-down-server")
    monkeypatch.setenv("INFINITY_API_SERVER", down)
    path = create_record("submit", TINY, down, records_dir=clean_env / "records")
    nb = nbformat.read(str(path), as_version=4)
    with pytest.raises(CellExecutionError):
        execute(nb, path.parent)
    failed = [(cell, out) for cell in nb.cells for out in cell.get("outputs", [])
              if out.get("output_type") == "error"]
    assert len(failed) == 1
    cell, out = failed[0]
    assert "Session(generator=GENERATOR, server=SERVER)" in cell.source
    (line,) = out["traceback"]
    assert_one_actionable_line(line)
    assert line.startswith(f"Cannot reach the server at {down}"), line


def test_the_submit_template_names_the_command_that_writes_the_credentials_file() -> None:
    """`token create` only prints a token; `serve` writes the credentials file on its first
    start (cli/serve.py), so that is the command the Submit notebook names."""
    template = nbformat.read(
        str(ROOT / "infinity_workflows" / "notebooks" / "submit_batch.ipynb"), as_version=4)
    intro = " ".join(template.cells[0].source.split())
    assert "credentials file (written by `infinity-workflows serve`" in intro
    assert "`infinity-workflows token`" not in intro
    serve = (ROOT / "infinity_workflows" / "cli" / "serve.py").read_text()
    assert "save_token(" in serve
