"""The widget interfaces, driven without a kernel: ``button.click()`` runs the handlers,
which talk to a real server over HTTP (the tiny generator keeps jobs instant)."""

from __future__ import annotations

import json
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import ipywidgets as widgets
import nbformat
import pytest

from infinity_workflows import Session
from infinity_workflows.credentials import saved_token
from infinity_workflows.records import (
    SIDECAR,
    create_workflow_notebook,
    list_records,
    read_lineage,
    read_parameters,
)
from infinity_workflows.widgets._display import error_html
from infinity_workflows.widgets.create import CreateWorkflowInterface
from infinity_workflows.widgets.download import DownloadInterface
from infinity_workflows.widgets.submit import SubmitInterface
from infinity_workflows.workflow import batch_metadata_frame, download_folder, open_batch
from infinity_workflows.workflow.explain import explain_error
from tests.support.scripted import Scripted
from tests.support.server import free_port
from tests.support.waiting import wait_for
from tests.test_workflow import ACTIONS, _instance

TINY = "tiny-v1"


def all_widget_state(root: widgets.Widget) -> str:
    """Every trait of every widget under ``root``, as the frontend (and saved state) sees it."""
    seen, stack, states = set(), [root], []
    while stack:
        w = stack.pop()
        if id(w) in seen:
            continue
        seen.add(id(w))
        states.append(json.dumps(w.get_state(), default=str))
        stack.extend(getattr(w, "children", ()))
    return "\n".join(states)


def make_create_ui(tmp_path: Path, server_url: str) -> CreateWorkflowInterface:
    return CreateWorkflowInterface(records_dir=tmp_path / "records", notebook_dir=tmp_path,
                                   server=server_url)


# -- create --------------------------------------------------------------------------------
def test_saved_token_lists_generators_and_creates_a_submit_record(
        server, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFINITY_API_TOKEN", server.token)
    monkeypatch.setenv("INFINITY_API_SERVER", server.url)
    ui = make_create_ui(clean_env, server.url)
    assert ui.create_button.disabled
    ui.get_generators_button.click()
    names = [value for _label, value in ui.generator.options]
    assert TINY in names and names == sorted(names)
    assert "#2e7d32" in ui.message.value  # green
    ui.generator.value = TINY
    assert "knobs" in ui.generator_help.value  # the generator's description
    assert not ui.create_button.disabled

    ui.create_button.click()
    (path,) = ui.created
    assert path.parent.parent == clean_env / "records"
    lineage = read_lineage(path)
    assert (lineage["kind"], lineage["generator"], lineage["server"]) == ("submit", TINY,
                                                                          server.url)
    assert server.token not in path.read_text()
    assert "Created" in ui.message.value


def test_typed_token_is_cleared_kept_off_widgets_and_saved_only_when_asked(
        server, clean_env: Path) -> None:
    ui = make_create_ui(clean_env, server.url)
    ui.token.value = server.token
    ui.get_generators_button.click()
    assert ui.token.value == ""
    assert TINY in [v for _l, v in ui.generator.options]
    assert saved_token(server.url) is None  # not remembered
    assert "not saved" in ui.message.value
    assert server.token not in all_widget_state(ui.widget)

    ui.token.value = server.token
    ui.remember.value = True
    ui.get_generators_button.click()
    assert ui.token.value == ""
    assert saved_token(server.url) == server.token
    assert server.token not in all_widget_state(ui.widget)
    ui.create_button.click()
    assert server.token not in ui.created[0].read_text()


def test_bad_token_unreachable_server_and_missing_token_give_red_messages(
        server, clean_env: Path) -> None:
    ui = make_create_ui(clean_env, server.url)
    ui.token.value = "not-a-real-token"
    ui.get_generators_button.click()
    assert "#c62828" in ui.message.value and "refused the token" in ui.message.value
    assert "not-a-real-token" not in ui.message.value
    assert ui.create_button.disabled

    ui.get_generators_button.click()  # typed token still held: refused again, no crash
    ui._token = None
    ui.get_generators_button.click()  # nothing saved, nothing in env
    assert "INFINITY_API_TOKEN" in ui.message.value and "#c62828" in ui.message.value

    down = f"http://127.0.0.1:{free_port()}/"
    ui.server.value = down
    ui.token.value = server.token
    started = time.monotonic()
    ui.get_generators_button.click()
    assert time.monotonic() - started < 30
    assert "Cannot reach" in ui.message.value and "infinity-workflows serve" in ui.message.value
    assert "./run_notebooks.sh" in ui.message.value


def test_token_without_generators_is_explained(server, clean_env: Path) -> None:
    # A real token the server grants no generator (`token create --no-generators`).
    empty_handed = server.new_token("staging", [])
    ui = make_create_ui(clean_env, server.url)
    ui.token.value = empty_handed
    ui.get_generators_button.click()
    assert ui.generator.options == ()
    assert "may use no generators" in ui.message.value and "#c62828" in ui.message.value
    assert ui.create_button.disabled


def test_download_workflow_lists_recent_batches_and_checks_the_id(
        server, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFINITY_API_TOKEN", server.token)
    monkeypatch.setenv("INFINITY_API_SERVER", server.url)
    sesh = Session(generator=TINY, server=server.url)
    batch = sesh.submit([{"frames": 1}], is_preview=True, batch_name="listed-batch")
    ui = make_create_ui(clean_env, server.url)
    ui.workflow.value = "download"
    assert ui.batch_box.layout.display == ""
    ui.get_generators_button.click()
    labels = dict((v, label) for label, v in ui.batch.options)
    assert batch.batch_id in labels and "listed-batch" in labels[batch.batch_id]
    assert "1 jobs" in labels[batch.batch_id]

    ui.batch_id.value = "nonsense"
    ui.create_button.click()
    assert "is not a UUID" in ui.message.value and not ui.created

    ui.batch_id.value = ""
    ui.batch.value = batch.batch_id
    ui.create_button.click()
    (path,) = ui.created
    assert path.name.startswith("download_batch_")
    assert read_parameters(path)["BATCH_ID"] == batch.batch_id
    assert read_lineage(path)["batch_id"] == batch.batch_id


# -- submit --------------------------------------------------------------------------------
def test_submit_checks_then_confirms_once_and_writes_the_download_notebook(
        tiny_session: Session, clean_env: Path) -> None:
    submit_nb = create_workflow_notebook("submit", generator=TINY,
                                         server=tiny_session.server,
                                         records_dir=clean_env / "records")
    folder = submit_nb.parent
    jobs = [{"frames": 2}, {"frames": 5, "color": "blue"}]
    ui = SubmitInterface(tiny_session, jobs, record_folder=folder, batch_name="widget-batch",
                         is_preview=False)
    assert ui.confirm_button.disabled
    ui.confirm_button.click()  # disabled buttons still run handlers when clicked in Python
    assert ui.batch is None

    ui.submit_button.click()
    assert ui.check is not None and ui.check.ok
    assert ui.check.frames == 7 and "2 video job(s), 7 frame(s)" in ui.message.value
    assert not ui.confirm_button.disabled

    before = len(tiny_session.get_batches_last_n_days(1))
    ui.confirm_button.click()
    success = ui.message.value
    assert "#2e7d32" in success and "Submitted batch" in success
    ui.confirm_button.click()  # a second click cannot submit twice, and says so calmly, once
    ui.confirm_button.click()
    assert ui.message.value.startswith(success) and "#c62828" not in ui.message.value
    assert ui.message.value.count("already submitted") == 1
    ui.submit_button.click()
    assert len(tiny_session.get_batches_last_n_days(1)) == before + 1
    assert ui.batch is not None and ui.batch.name == "widget-batch"
    assert ui.batch.job_type == "video"
    assert ui.confirm_button.disabled and ui.submit_button.disabled

    download_nb = ui.download_notebook
    assert download_nb is not None and download_nb.parent == folder
    assert download_nb.name == submit_nb.name.replace("submit_batch_", "download_batch_")
    lineage = read_lineage(download_nb)
    assert lineage["batch_id"] == ui.batch.batch_id and lineage["parent"] == submit_nb.name
    assert read_parameters(download_nb)["GENERATOR"] == TINY
    sidecar = json.loads((folder / SIDECAR).read_text())["submissions"]
    assert sidecar == [{**sidecar[0], "notebook": submit_nb.name,
                        "batch_id": ui.batch.batch_id, "batch_name": "widget-batch",
                        "download_notebook": download_nb.name}]
    listed = {r.notebook: r.batch_id for r in list_records(clean_env / "records")}
    assert listed == {submit_nb.name: ui.batch.batch_id, download_nb.name: ui.batch.batch_id}


def test_submit_shows_validation_errors_and_never_enables_confirm(
        tiny_session: Session, clean_env: Path) -> None:
    jobs = [{"frames": 2}, {"frames": 0}, {"colour": "red"}]
    ui = SubmitInterface(tiny_session, jobs, record_folder=clean_env, batch_name="bad")
    ui.submit_button.click()
    assert "#c62828" in ui.message.value
    assert "2 of 3 job(s) are invalid" in ui.message.value
    assert "job 1: frames: 0 is below the minimum 1" in ui.message.value
    assert "job 2: &#x27;colour&#x27; is not a parameter" in ui.message.value
    assert ui.confirm_button.disabled
    ui.confirm_button.click()
    assert ui.batch is None


def test_changing_the_job_type_needs_a_new_check(tiny_session: Session,
                                                 clean_env: Path) -> None:
    ui = SubmitInterface(tiny_session, [{"frames": 4}], record_folder=clean_env,
                         batch_name="b", is_preview=True)
    ui.submit_button.click()
    assert ui.check.frames == 1  # a preview renders one frame
    ui.job_type.value = False
    assert ui.confirm_button.disabled and ui.check is None
    ui.submit_button.click()
    assert ui.check.frames == 4
    ui.batch_name.value = "   "
    ui.confirm_button.click()
    assert "batch name is empty" in ui.message.value and ui.batch is None
    assert not ui.confirm_button.disabled  # fixable: type a name and confirm again


# -- download ------------------------------------------------------------------------------
def test_download_then_wait_and_download_reports_progress_and_failures(
        tiny_session: Session, clean_env: Path) -> None:
    batch = tiny_session.submit(
        [{"frames": 2}, {"fail": True}, {"frames": 1, "sleep_s": 1.5}],
        is_preview=False, batch_name="dl/batch: one")
    folder = download_folder(batch, clean_env / "downloads")
    seen: list = []
    ui = DownloadInterface(open_batch(tiny_session, batch.batch_id), folder,
                           polling_interval=0.2, timeout=60, on_downloaded=seen.append)
    wait_for(lambda: batch.get_num_jobs_remaining() < 3, what="a job to finish")
    ui.download_button.click()
    first = ui.join(timeout=120)
    assert first is not None and first.total == 3 and first.finished >= 1
    assert first.finished + first.in_progress == 3
    ui.wait_button.click()
    report = ui.join(timeout=120)
    assert report.total == 3 and report.finished == 3 and report.in_progress == 0
    assert [p.name for p in report.downloaded] == [batch.job_ids[0], batch.job_ids[2]]
    assert (folder / batch.job_ids[0] / "labels.json").is_file()
    failed_id = batch.job_ids[1]
    assert list(report.failed) == [failed_id]
    assert "tiny generator asked to fail" in report.failed[failed_id]
    assert "3/3 jobs finished" in ui.message.value and failed_id in ui.message.value
    assert "Submitted 0h" in ui.message.value
    assert seen and seen[-1] is report
    assert not ui.download_button.disabled and not ui.wait_button.disabled
    assert ui.bar.bar_style == "danger" and "#c62828" in ui.message.value  # a failed job
    assert (ui.bar.value, ui.bar.max) == (3, 3)
    assert "3/3 finished: 2 downloaded, 1 failed, 0 cancelled, 0 in progress" in \
        ui.status.value


def test_an_interrupt_of_a_blocking_wait_ends_with_one_line(tiny_session: Session,
                                                             clean_env: Path) -> None:
    """The kernel's stop button during a blocking wait (``_run``, as Infinity's notebooks
    call it): said in the message, buttons back."""
    batch = tiny_session.submit([{"sleep_s": 60.0}], batch_name="interrupted")
    folder = clean_env / "dl"
    ui = DownloadInterface(batch, folder, polling_interval=0.1, timeout=120)
    main = threading.get_ident()

    def interrupt() -> None:
        # The download has claimed its folder: the wait is under way inside the handler.
        wait_for(lambda: (folder / "batch_id.txt").is_file(), what="the wait to start")
        signal.pthread_kill(main, signal.SIGINT)

    thread = threading.Thread(target=interrupt)
    thread.start()
    try:
        assert ui._run(wait=True) is None
    finally:
        thread.join(timeout=90)
        batch.cancel()
    assert "#c62828" in ui.message.value and "Interrupted before it finished" in \
        ui.message.value
    assert "Traceback" not in ui.message.value and ui.report is None
    assert not ui.download_button.disabled and not ui.wait_button.disabled
    assert ui.bar.bar_style == "danger"


def test_wait_and_download_runs_beside_the_caller_and_cancel_acts_at_once(
        tiny_session: Session, clean_env: Path) -> None:
    """Wait and Download returns at once (the kernel stays free); Cancel, clicked meanwhile,
    reaches the server at once, its message stays, and the counts say what happened."""
    batch = tiny_session.submit([{"frames": 1}] + [{"sleep_s": 60.0}] * 4,
                                batch_name="to cancel while waiting")
    ui = DownloadInterface(batch, clean_env / "dl", polling_interval=0.2, timeout=300)
    started = time.monotonic()
    ui.wait_button.click()
    returned = time.monotonic() - started
    assert ui.running and ui.download_button.disabled and ui.wait_button.disabled
    wait_for(lambda: "1 downloaded" in ui.status.value, timeout=120,
             what="the quick job downloaded while waiting")
    assert "in progress" in ui.status.value and ui.report is None  # still waiting

    clicked = time.monotonic()
    ui.cancel_button.click()
    cancel_latency = time.monotonic() - clicked
    assert "Cancelled 4 queued or running job(s)" in ui.message.value
    assert {j["status"] for j in batch.job_summaries()[1:]} == {"cancelled"}
    report = ui.join(timeout=120)
    settle_latency = time.monotonic() - clicked
    print(f"click returned in {returned:.3f} s; cancel said in {cancel_latency:.3f} s; "
          f"wait ended {settle_latency:.3f} s after Cancel")
    assert cancel_latency < 5  # the figure is ~0.05 s; generous for a loaded machine
    assert report is not None and not ui.running
    assert (report.total, report.finished, len(report.downloaded), len(report.cancelled),
            report.in_progress, len(report.failed)) == (5, 5, 1, 4, 0, 0)
    # Cancel's sentence is kept above the outcome, in the outcome's colour (not red).
    assert ui.message.value.index("Cancelled 4") < ui.message.value.index("5/5 jobs finished")
    assert "#c62828" not in ui.message.value and "#e65100" in ui.message.value
    assert ui.bar.bar_style == "warning" and (ui.bar.value, ui.bar.max) == (5, 5)
    assert "1 downloaded, 0 failed, 4 cancelled, 0 in progress" in ui.status.value


def test_the_cell_run_again_takes_over_the_folder(tiny_session: Session,
                                                  clean_env: Path) -> None:
    """Running the Download cell again makes a new interface: its wait stops the old one's
    (two downloads into one folder never run at once); nothing is cancelled."""
    batch = tiny_session.submit([{"frames": 1}, {"sleep_s": 60.0}], batch_name="again")
    old = DownloadInterface(batch, clean_env / "dl", polling_interval=0.2, timeout=300)
    new = DownloadInterface(batch, clean_env / "dl", polling_interval=0.2, timeout=300)
    try:
        old.wait_button.click()
        wait_for(lambda: "1 downloaded" in old.status.value, timeout=120, what="a round")
        new.wait_button.click()
        ended = old.join(timeout=60)
        assert ended is not None and not old.running and new.running
        assert "a newer download into this folder took over" in old.message.value
        assert batch.get_cancelled_jobs() == []
    finally:
        new.cancel()
        new.join(timeout=120)
    assert new.report is not None and len(new.report.cancelled) == 1


@pytest.mark.slow
def test_a_server_stopped_mid_session_is_one_sentence_for_every_button(
        make_server, clean_env: Path) -> None:
    srv = make_server("--workers", "1")
    sesh = Session(token=srv.token, generator=TINY, server=srv.url)
    batch = sesh.submit([{"frames": 1}], batch_name="server goes away")
    seen: list = []
    ui = DownloadInterface(batch, clean_env / "dl", polling_interval=0.2, timeout=60,
                           on_downloaded=seen.append)
    srv.stop()
    for button in (ui.download_button, ui.wait_button):
        button.click()
        assert ui.join(timeout=120) is None
        text = ui.message.value
        assert "#c62828" in text and f"Cannot reach the server at {srv.url}" in text
        assert "Traceback" not in text and text.count("<div") == 1
        assert ui.bar.bar_style == "danger" and not ui.download_button.disabled
    ui.cancel_button.click()
    assert "Cannot reach the server" in ui.message.value and "#c62828" in ui.message.value
    assert seen == [] and ui.output.outputs == ()


def test_create_starts_with_the_server_of_infinity_api_server(
        clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFINITY_SERVER_URL", "http://127.0.0.1:9001/")
    assert CreateWorkflowInterface(records_dir=clean_env).server.value == \
        "http://127.0.0.1:9001/"
    monkeypatch.setenv("INFINITY_API_SERVER", "http://127.0.0.1:9002")
    assert CreateWorkflowInterface(records_dir=clean_env).server.value == \
        "http://127.0.0.1:9002/"


def test_names_records_import_from_the_widget_modules_are_the_workflow_steps() -> None:
    """Records saved before the steps moved import them from the widget modules."""
    from infinity_workflows import workflow
    from infinity_workflows.widgets import create, download, submit

    provided_by = {
        submit: ("submit_headless", "check_submission", "submit_checked", "find_own_notebook",
                 "write_download_notebook", "SubmissionCheck"),
        download: ("batch_metadata_frame", "download_folder", "open_batch", "wait_and_download",
                   "download_available", "progress_report", "DownloadReport"),
        create: ("default_server", "explain_error"),
    }
    for module, names in provided_by.items():
        for name in names:
            assert getattr(module, name) is getattr(workflow, name), (module, name)
    # The import cells of the Submit and Download records made before the move.
    exec("from infinity_workflows.widgets import download_interface, submit_interface\n"
         "from infinity_workflows.widgets.submit import submit_headless\n"
         "from infinity_workflows.widgets.download import (\n"
         "    batch_metadata_frame, download_folder, open_batch, wait_and_download)\n", {})


# -- a token belongs to the server it was typed for ------------------------------------------
def test_a_typed_token_is_never_sent_to_another_server(
        server, strict_server, scripted: Scripted, clean_env: Path) -> None:
    """Type X's token, list X's generators, change Server: the box is empty, and neither a
    second real server nor a recording one receives X's token."""
    ui = make_create_ui(clean_env, server.url)
    ui.token.value = server.token
    ui.get_generators_button.click()
    assert TINY in [v for _l, v in ui.generator.options]

    ui.server.value = strict_server.url  # another real server
    assert ui.generator.options == () and ui.create_button.disabled
    ui.get_generators_button.click()
    assert f"No token for {strict_server.url}" in ui.message.value
    assert "refused the token" not in ui.message.value  # X's token was not tried there

    ui.server.value = scripted.url  # a server that records what it is sent
    ui.get_generators_button.click()
    assert scripted.seen == []  # not a request: no token of its own, so nothing is sent
    ui.server.value = server.url  # back to X: the typed token was forgotten, not kept
    ui.get_generators_button.click()
    assert f"No token for {server.url}" in ui.message.value
    sent = [r["headers"].get("Authorization", "") for r in scripted.seen]
    assert not any(server.token in h for h in sent)


def test_a_refused_token_removes_the_old_link(server, clean_env: Path) -> None:
    ui = make_create_ui(clean_env, server.url)
    ui.token.value = server.token
    ui.get_generators_button.click()
    ui.create_button.click()
    assert "Open it:" in json.dumps(ui.links.outputs)
    ui.token.value = "not-a-real-token"
    ui.get_generators_button.click()
    assert "refused the token" in ui.message.value and ui.links.outputs == ()


# -- what a server sends is text, never markup -----------------------------------------------
EVIL = '<img src=x onerror="alert(document.domain)">'
EVIL_MD = "[click](javascript:alert(1)) <script>alert(2)</script>"


def _hostile_answers(*, version: str, description: str, param_value: str
                     ) -> tuple[str, str, dict, dict]:
    """A hostile server's generator and one-job batch (markup in every string it may send):
    ``(batch_id, job_id, generator, batch)``."""
    batch_id, job_id = str(uuid.uuid4()), str(uuid.uuid4())
    generator = {"name": TINY, "version": version, "description": description,
                 "options": {"preview": True},
                 "params": [{"name": "frames", "type": "int", "default_value": 1,
                             "options": {"min": 1, "max": 10}, "description": EVIL}]}
    batch = {"id": batch_id, "name": EVIL + EVIL_MD, "created": "2026-01-01T00:00:00+00:00",
             "job_runs": [{"id": job_id, "name": TINY, "is_preview": True,
                           "param_values": {"frames": 1, EVIL: param_value}}]}
    return batch_id, job_id, generator, batch
SAFE_TAGS = {"div", "br", "b", "code", "p", "a"}


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.live: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in SAFE_TAGS:
            self.live.append(tag)
        for name, value in attrs:
            if name.startswith("on") or (value or "").strip().lower().startswith(
                    "javascript:"):
                self.live.append(f"{tag} {name}={value}")


def live_markup(root: widgets.Widget) -> list[str]:
    """Tags or handlers a browser would run in what the widgets under ``root`` render: the
    HTML widgets' values and the Output widgets' HTML and Markdown."""
    parser, stack, seen = _Markup(), [root], set()
    while stack:
        w = stack.pop()
        if id(w) in seen:
            continue
        seen.add(id(w))
        stack.extend(getattr(w, "children", ()))
        if isinstance(w, widgets.HTML):
            parser.feed(w.value)
        if isinstance(w, widgets.Output):
            for out in w.outputs:
                data = out.get("data", {})
                parser.feed(data.get("text/html", ""))
                parser.feed(data.get("text/markdown", ""))
    return parser.live


class Hostile:
    """A loopback server answering by route, every name and message a piece of markup."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], tuple[int, object]] = {}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                status, body = owner.routes.get((self.command, self.path.split("?")[0]),
                                                (404, {"detail": EVIL}))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    peer = Hostile()
    yield peer
    peer.close()


def test_strings_from_a_server_are_text_in_every_widget(hostile: Hostile,
                                                        clean_env: Path) -> None:
    batch_id, job_id, generator, batch = _hostile_answers(
        version=EVIL, description=EVIL + EVIL_MD, param_value=EVIL)
    hostile.routes = {
        ("GET", "/api/jobs/"): (200, [{**generator, "name": EVIL + EVIL_MD}, generator]),
        ("GET", f"/api/jobs/{TINY}/"): (200, generator),
        ("GET", "/api/batch/"): (200, [{"id": batch_id, "name": EVIL + EVIL_MD,
                                        "created": "2026-01-01T00:00:00+00:00",
                                        "num_jobs": 1}]),
        ("POST", "/api/batch/estimate/"): (400, {"detail": EVIL, "errors": [
            {"job_index": 0, "param": EVIL, "rule": EVIL, "message": EVIL + EVIL_MD}]}),
        ("POST", "/api/batch/"): (200, batch),
        ("GET", f"/api/batch/{batch_id}/"): (200, batch),
        ("GET", f"/api/batch/{batch_id}/summary/"): (200, {
            "id": batch_id, "name": EVIL, "job_runs": [
                {"id": job_id, "in_progress": False, "status": "failed", "error": EVIL_MD + EVIL,
                 "result_url": None}]}),
        ("POST", f"/api/batch/{batch_id}/cancel/"): (409, {"detail": EVIL + EVIL_MD}),
    }
    # The create interface: generators, descriptions, recent batches, a record from them.
    ui = make_create_ui(clean_env, hostile.url)
    ui.workflow.value = "download"
    ui.token.value = "a-token-for-this-server"
    ui.get_generators_button.click()
    assert len(ui.generator.options) == 2 and ui.batch.options
    for name in (EVIL + EVIL_MD, TINY):
        ui.generator.value = name
        assert "&lt;img" in ui.generator_help.value
        ui.batch.value = batch_id
        ui.create_button.click()
        assert not live_markup(ui.widget), live_markup(ui.widget)
    assert "Open it:" in json.dumps(ui.links.outputs)

    # The submit interface: the server's refusal, then its batch.
    sesh = Session(token="a-token-for-this-server", generator=TINY, server=hostile.url)
    submit = SubmitInterface(sesh, [{"frames": 1}], record_folder=clean_env,
                             batch_name="b", is_preview=True)
    submit.submit_button.click()
    assert "refused the request" in submit.message.value and "&lt;img" in submit.message.value
    assert not live_markup(submit.widget), live_markup(submit.widget)
    hostile.routes[("POST", "/api/batch/estimate/")] = (200, [1])
    submit.submit_button.click()
    submit.confirm_button.click()
    assert submit.batch is not None and submit.batch.name == EVIL + EVIL_MD
    shown = json.dumps(submit.links.outputs)
    assert "&lt;img" in shown and submit.download_notebook is not None
    assert not live_markup(submit.widget), live_markup(submit.widget)

    # The download interface: the server's reasons, its refusal to cancel, the batch table.
    download = DownloadInterface(open_batch(sesh, batch_id), clean_env / "dl")
    download.download_button.click()
    report = download.join(timeout=60)
    assert report is not None and list(report.failed) == [job_id]
    assert "&lt;img" in download.message.value
    assert not live_markup(download.widget), live_markup(download.widget)
    download.cancel_button.click()
    assert "#c62828" in download.message.value
    assert not live_markup(download.widget), live_markup(download.widget)
    table = _Markup()
    table.feed(batch_metadata_frame(open_batch(sesh, batch_id))._repr_html_())
    assert not set(table.live) - {"table", "thead", "tbody", "tr", "th", "td", "style"}, \
        table.live


# -- every action, every error class: the one sentence of explain_error ----------------------
@pytest.mark.parametrize("cls", list(ACTIONS), ids=lambda c: c.__name__)
def test_every_action_ends_in_explain_errors_sentence_for_every_error_class(
        cls: type[BaseException], tiny_session: Session, clean_env: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Each button's step fails with ``cls`` (raised where the real step would raise it):
    the message is explain_error's sentence, red, once, and the buttons are usable again.
    The real failures (a stopped server, a refused token, an interrupt) are tested above."""
    from infinity_workflows.widgets import create as create_mod
    from infinity_workflows.widgets import download as download_mod
    from infinity_workflows.widgets import submit as submit_mod

    exc = _instance(cls)

    def fail(*_args: object, **_kwargs: object) -> None:
        raise exc

    server = tiny_session.server
    said = error_html(explain_error(exc, server))
    assert "Traceback" not in said

    monkeypatch.setattr(create_mod, "list_choices", fail)
    monkeypatch.setattr(create_mod, "create_record", fail)
    ui = make_create_ui(clean_env, server)
    ui.get_generators_button.click()
    assert ui.message.value == said
    ui.create_button.click()
    assert ui.message.value == said

    checks = submit_mod.steps.check_submission
    monkeypatch.setattr(submit_mod.steps, "check_submission", fail)
    submit = SubmitInterface(tiny_session, [{"frames": 1}], record_folder=clean_env,
                             batch_name="b")
    submit.submit_button.click()
    assert submit.message.value == said
    monkeypatch.setattr(submit_mod.steps, "check_submission", checks)
    monkeypatch.setattr(submit_mod.steps, "submit_checked", fail)
    submit.submit_button.click()
    submit.confirm_button.click()
    assert submit.message.value == said and not submit.confirm_button.disabled

    batch = tiny_session.submit([{"frames": 1}], batch_name="errors")
    monkeypatch.setattr(download_mod.steps, "follow_download", fail)
    monkeypatch.setattr(download_mod.steps, "cancel_batch", fail)
    download = DownloadInterface(batch, clean_env / "dl")
    for button in (download.download_button, download.wait_button, download.cancel_button):
        button.click()
        download.join(timeout=60)
        assert download.message.value == said
        assert not download.download_button.disabled and not download.running


def test_strings_from_a_server_are_text_in_every_download_record_output(
        hostile: Hostile, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Download record run against the hostile server, top to bottom: nothing it shows
    (the batch's table, the previews, the interface) holds live markup."""
    from tests.support.notebooks import execute

    batch_id, job_id, generator, batch = _hostile_answers(
        version="1", description=EVIL, param_value=EVIL_MD)
    hostile.routes = {
        ("GET", f"/api/jobs/{TINY}/"): (200, generator),
        ("GET", f"/api/batch/{batch_id}/"): (200, batch),
        ("GET", f"/api/batch/{batch_id}/summary/"): (200, {
            "id": batch_id, "name": EVIL, "job_runs": [
                {"id": job_id, "in_progress": False, "status": "failed", "error": EVIL,
                 "result_url": None}]}),
    }
    monkeypatch.setenv("INFINITY_API_TOKEN", "a-token-for-this-server")
    monkeypatch.setenv("INFINITY_API_SERVER", hostile.url)
    path = create_workflow_notebook("download", generator=TINY, server=hostile.url,
                                    batch_id=batch_id, records_dir=clean_env / "records")
    nb = nbformat.read(str(path), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(
        "download_ui.download_button.click()\ndownload_ui.join()\n"
        "print(download_ui.message.value)"))
    execute(nb, path.parent)
    markup, shown = _Markup(), []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            markup.feed(data.get("text/html", ""))
            markup.feed(data.get("text/markdown", ""))
            shown.append(json.dumps(out))
    # A table (pandas escapes what it holds) is the only markup; no preview was downloaded.
    assert not set(markup.live) - {"table", "thead", "tbody", "tr", "th", "td", "style"}, \
        markup.live
    assert "&lt;img" in "".join(shown)  # the names are there, as text
    assert "1 failed" in nb.cells[-1].outputs[0]["text"]


def test_in_a_kernel_what_on_downloaded_shows_lands_under_the_buttons(
        kernel_env, tmp_path: Path) -> None:
    """In a real kernel, the thread's ``on_downloaded`` runs on the kernel's own thread and
    what it prints and displays goes to the interface's output, not to whatever cell runs."""
    from tests.support.notebooks import driver_cell, driver_output, execute, report

    nb = nbformat.v4.new_notebook()
    nb.cells = [driver_cell(f"""
        from IPython.display import HTML, display
        from infinity_workflows import Session
        from infinity_workflows.widgets.download import DownloadInterface

        sesh = Session(generator="{TINY}", server="{kernel_env.url}")
        batch = sesh.submit([{{"frames": 1}}], batch_name="shown in a kernel")
        batch.await_completion(polling_interval=0.1, timeout=120, progress=False)

        def shown(report):
            print("downloaded", len(report.downloaded))
            display(HTML("<b>the previews</b>"))

        ui = DownloadInterface(batch, "dl", on_downloaded=shown)
        ui.download_button.click()
        ui.join()
    """), driver_cell("print('a later cell')"), driver_cell(report(
        '{"outputs": list(ui.output.outputs), "message": ui.message.value}'))]
    nb = execute(nb, tmp_path)
    seen = driver_output(nb)
    assert seen["outputs"] == [
        {"output_type": "stream", "name": "stdout", "text": "downloaded 1\n"},
        {"output_type": "display_data", "data": {"text/html": "<b>the previews</b>",
                                                 "text/plain": "<IPython.core.display.HTML "
                                                               "object>"},
         "metadata": {}}], seen
    assert [o.get("text") for o in nb.cells[1].outputs] == ["a later cell\n"]
    assert "1/1 jobs finished" in seen["message"]
