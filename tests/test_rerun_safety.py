"""``rerun``: parameters are data, never code; a rerun that fails leaves no record listed."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from infinity_workflows import records
from infinity_workflows.errors import RecordError, ValidationError
from infinity_workflows.records import list_records, read_parameters, rerun_record
from tests.support.records import probe_record
from tests.support.server import cli_env, run_cli

# A tuple holding one string: papermill would write it as "('"+str(...)+"',)", i.e. code.
INJECTION = """('"+str(__import__("os").system("touch pwned"))+"',)"""


def one_line_error(stderr: str) -> bool:
    """The CLI's own report is one line, with no traceback (the kernel may log its own)."""
    ours = [line for line in stderr.splitlines() if line.startswith("infinity-workflows")]
    return len(ours) == 1 and "Traceback" not in stderr


def test_a_tuple_parameter_is_refused_and_runs_nothing(tmp_path: Path) -> None:
    record = probe_record(tmp_path)
    env = cli_env(tmp_path / "home", tmp_path / "config")
    result = run_cli("rerun", str(record), "-p", "LABEL", INJECTION, env=env, check=False)
    assert result.returncode == 1, result.stderr
    assert "tuple" in result.stderr and "not allowed" in result.stderr
    assert one_line_error(result.stderr)
    assert not list(tmp_path.rglob("pwned"))
    assert [r.notebook for r in list_records(record.parent.parent)] == [record.name]


def test_a_tuple_saved_in_a_record_is_refused_too(tmp_path: Path) -> None:
    """A mailed record's own parameters cell is as untrusted as the command line."""
    record = probe_record(tmp_path)
    nb = nbformat.read(str(record), as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    injected.source += "\nLABEL = " + INJECTION
    nbformat.write(nb, str(record))
    with pytest.raises(ValidationError, match="LABEL: tuple"):
        rerun_record(record)
    assert not list(tmp_path.rglob("pwned"))


def test_values_reach_the_notebook_as_the_same_values(tmp_path: Path) -> None:
    record = probe_record(tmp_path)
    tricky = 'a "quoted" \\" + str(1) + \\" line\nnext \u202e end\\'
    new = rerun_record(record, {"LABEL": tricky, "NUM_JOBS": {"k": [1, 2.5, None, True]}})
    probe = json.loads((new.parent / "probe.json").read_text())
    assert probe["LABEL"] == tricky and probe["NUM_JOBS"] == {"k": [1, 2.5, None, True]}
    assert read_parameters(new)["LABEL"] == tricky


@pytest.mark.parametrize("how", ["missing kernel", "killed kernel"])
def test_a_rerun_that_dies_leaves_nothing_listed(tmp_path: Path, how: str) -> None:
    record = probe_record(tmp_path)
    args = ["rerun", str(record)]
    if how == "missing kernel":
        args += ["--kernel", "no-such-kernel-here"]
    else:
        nb = nbformat.read(str(record), as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell("import os, signal\n"
                                                  "os.kill(os.getpid(), signal.SIGKILL)"))
        nbformat.write(nb, str(record))
        args.append("--trust")  # the added cell is accepted: the kernel really dies
    result = run_cli(*args, env=cli_env(tmp_path / "home", tmp_path / "config"),
                     check=False, timeout=300)
    assert result.returncode == 1, result.stderr
    assert one_line_error(result.stderr), result.stderr
    assert [r.notebook for r in list_records(record.parent.parent)] == [record.name]
    visible = [p for p in record.parent.parent.rglob("*.ipynb") if not p.name.startswith(".")]
    assert visible == [record]
    assert not any(p.name == ".rerun-output.ipynb" for p in tmp_path.rglob("*"))


def test_records_skip_hidden_notebooks(tmp_path: Path) -> None:
    record = probe_record(tmp_path)
    (record.parent / ".rerun-output.ipynb").write_text(record.read_text())
    assert [r.notebook for r in list_records(record.parent.parent)] == [record.name]
    assert records.SIDECAR  # the sidecar is unaffected


def test_a_number_too_long_to_read_is_refused_not_passed_as_text(tmp_path: Path) -> None:
    record = probe_record(tmp_path)
    env = cli_env(tmp_path / "home", tmp_path / "config")
    result = run_cli("rerun", str(record), "-p", "LABEL", "9" * 5000, env=env, check=False)
    assert result.returncode == 1, result.stderr
    assert "LABEL" in result.stderr and "4,300 digits" in result.stderr
    assert one_line_error(result.stderr)
    assert [r.notebook for r in list_records(record.parent.parent)] == [record.name]


# -- only code the user wrote or accepted runs (issue 19, item 4) ---------------------------
GENERATOR = "visionfit-flagship-v0.1.0"
BATCH = "0b0c3f5e-8d3a-4c61-9a53-2f1d6f7f2a10"
PLANTED = ("import pathlib\n"
           "pathlib.Path('planted-ran').write_text(open(pathlib.Path.home() / "
           "'.config' / 'infinity' / 'credentials.json').read() if False else 'ran')")


def _insert_after_parameters(record: Path, source: str) -> None:
    """Plant a code cell right after the parameters cells, saved as a file edit would be
    (nbformat writes no signature)."""
    nb = nbformat.read(str(record), as_version=4)
    at = max(i for i, c in enumerate(nb.cells) if {"parameters", "injected-parameters"}
             & set(c.metadata.get("tags", []))) + 1
    nb.cells.insert(at, nbformat.v4.new_code_cell(source))
    nbformat.write(nb, str(record))


def _sign_as_jupyterlab_does(record: Path) -> None:
    from nbformat.sign import NotebookNotary

    nb = nbformat.read(str(record), as_version=4)
    NotebookNotary().sign(nb)


def test_a_planted_cell_is_refused_naming_it_and_how_to_accept_it(tmp_path: Path) -> None:
    submit = records.create_workflow_notebook("submit", generator=GENERATOR,
                                              server="http://127.0.0.1:9/",
                                              records_dir=tmp_path / "records")
    _insert_after_parameters(submit, PLANTED)
    env = cli_env(tmp_path / "home", tmp_path / "config")
    result = run_cli("rerun", str(submit), env=env, check=False, timeout=300)
    assert result.returncode == 1, result.stderr
    assert one_line_error(result.stderr), result.stderr
    planted_at = next(i for i, c in enumerate(nbformat.read(str(submit), as_version=4).cells)
                      if c.source == PLANTED) + 1
    assert f"cell {planted_at} (`import pathlib" in result.stderr
    assert f"jupyter trust {submit}" in result.stderr and "rerun --trust" in result.stderr
    assert not list(tmp_path.rglob("planted-ran"))
    assert [r.notebook for r in list_records(submit.parent.parent)] == [submit.name]


def test_a_planted_cell_in_a_record_of_a_template_file_runs_once_accepted(
        tmp_path: Path) -> None:
    record = probe_record(tmp_path)  # its template is a file: only a signature vouches
    _insert_after_parameters(record, PLANTED)
    env = cli_env(tmp_path / "home", tmp_path / "config")
    refused = run_cli("rerun", str(record), env=env, check=False, timeout=300)
    assert refused.returncode == 1 and one_line_error(refused.stderr), refused.stderr
    assert "not signed as yours" in refused.stderr
    assert not list(tmp_path.rglob("planted-ran"))
    accepted = run_cli("rerun", str(record), "--trust", env=env, timeout=300)
    new = Path(accepted.stdout.strip().splitlines()[-1])
    assert (new.parent / "planted-ran").read_text() == "ran"


def test_an_edit_the_user_saved_in_jupyterlab_runs(tmp_path: Path) -> None:
    """JupyterLab signs a notebook on save with the user's secret: that edit is theirs."""
    record = probe_record(tmp_path)
    _insert_after_parameters(record, "import pathlib\npathlib.Path('edited').write_text('x')")
    _sign_as_jupyterlab_does(record)
    new = rerun_record(record)
    assert (new.parent / "edited").is_file()


def test_a_signature_made_with_another_secret_is_not_trusted(tmp_path: Path) -> None:
    from nbformat.sign import NotebookNotary

    record = probe_record(tmp_path)
    _insert_after_parameters(record, PLANTED)
    nb = nbformat.read(str(record), as_version=4)
    NotebookNotary(secret=b"someone else's secret").sign(nb)
    with pytest.raises(RecordError, match="not code you wrote or accepted"):
        rerun_record(record)
    assert not list(tmp_path.rglob("planted-ran"))


def test_a_record_whose_code_is_its_templates_runs_unsigned(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lineage's packaged template vouches for the code: no signature needed (here a
    fresh Jupyter data folder, so nothing is signed), and a planted cell is still found."""
    from infinity_workflows.records.consent import check_runnable, signed
    from infinity_workflows.records.rerun import _template_of

    submit = records.create_workflow_notebook("submit", generator=GENERATOR,
                                              server="http://127.0.0.1:9/",
                                              records_dir=tmp_path / "records")
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "fresh-jupyter"))
    nb = nbformat.read(str(submit), as_version=4)
    assert not signed(nb)
    assert check_runnable(submit, nb, _template_of(records.record_lineage(submit))) == "template"
    nb.cells = [c for c in nb.cells if "record-summary" not in c.metadata.get("tags", [])]
    assert check_runnable(submit, nb, _template_of(records.record_lineage(submit))) == "template"
    _insert_after_parameters(submit, PLANTED)
    with pytest.raises(RecordError, match=r"cell \d+ \(`import pathlib"):
        check_runnable(submit, nbformat.read(str(submit), as_version=4),
                       _template_of(records.record_lineage(submit)))


@pytest.mark.parametrize(("tag", "line"), [
    ("parameters", "JOB = (__import__('pathlib').Path('pwned').touch(), 0)[1]"),
    ("parameters", "LABEL = f'{__import__(\"pathlib\").Path(\"pwned\").touch()}'"),
    ("injected-parameters", "JOB = (__import__('pathlib').Path('pwned').touch(), 0)[1]"),
    ("injected-parameters", "LABEL = f'{__import__(\"pathlib\").Path(\"pwned\").touch()}'"),
    ("injected-parameters", "import pathlib; pathlib.Path('pwned').touch()"),
])
def test_a_parameter_that_is_not_a_literal_is_refused_never_skipped(
        tmp_path: Path, line: str, tag: str) -> None:
    record = probe_record(tmp_path)
    nb = nbformat.read(str(record), as_version=4)
    cell = next(c for c in nb.cells if tag in c.metadata.get("tags", []))
    cell.source += "\n" + line
    nbformat.write(nb, str(record))
    _sign_as_jupyterlab_does(record)  # even the user's own signature does not make it data
    result = run_cli("rerun", str(record), env=cli_env(tmp_path / "home", tmp_path / "config"),
                     check=False, timeout=300)
    assert result.returncode == 1, result.stderr
    assert one_line_error(result.stderr), result.stderr
    assert f"({tag})" in result.stderr
    assert "not a plain value" in result.stderr or "is not `NAME = value`" in result.stderr
    assert not list(tmp_path.rglob("pwned"))


# -- a failed Submit rerun leaves nothing listed (issue 19, item 5) -------------------------
def test_a_submit_rerun_that_dies_after_submitting_leaves_nothing_listed(
        tmp_path: Path) -> None:
    record = probe_record(tmp_path)  # a Submit record
    _insert_after_parameters(record, (
        "from pathlib import Path\n"
        "from infinity_workflows.records import render_download_notebook\n"
        f"render_download_notebook(batch_id={BATCH!r}, batch_name='went out', "
        "generator='g', server='http://127.0.0.1:9/', folder=Path.cwd())\n"
        "import os, signal\n"
        "os.kill(os.getpid(), signal.SIGKILL)"))
    with pytest.raises(records.RerunError) as info:
        rerun_record(record, trust=True)
    assert BATCH in str(info.value)  # the user can still follow the batch that went out
    assert [r.notebook for r in list_records(record.parent.parent)] == [record.name]
    visible = [p for p in record.parent.parent.rglob("*")
               if p.is_file() and not p.name.startswith(".")]
    assert sorted(p.name for p in visible) == sorted([record.name, "probe.json"]) or \
        sorted(p.name for p in visible) == [record.name]


# -- junk in a record or a sidecar is "unreadable record", never a traceback (item 9) -------
@pytest.mark.parametrize("junk", ["[]", '{"submissions": 5}', '{"submissions": [5, "x"]}',
                                  '"text"', "{broken", '{"submissions": [{"batch_id": [1]}]}'])
def test_records_says_a_junk_sidecar_is_unreadable(tmp_path: Path, junk: str) -> None:
    record = probe_record(tmp_path)
    (record.parent / records.SIDECAR).write_text(junk)
    env = cli_env(tmp_path / "home", tmp_path / "config")
    result = run_cli("records", "--dir", str(record.parent.parent), env=env, check=False)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    lines = result.stdout.splitlines()
    assert any(record.name in line for line in lines)
    unreadable = [line for line in lines if "unreadable record" in line]
    if junk.startswith('{"submissions": ['):  # a list: its junk entries are dropped
        assert unreadable == []
    else:
        assert len(unreadable) == 1 and records.SIDECAR in unreadable[0]
    # A rerun reads the sidecar too: no traceback either.
    rerun = run_cli("rerun", str(record), env=env, check=False, timeout=300)
    assert rerun.returncode == 0 and "Traceback" not in rerun.stderr, rerun.stderr


@pytest.mark.parametrize("content", [
    "[]", "5", '{"nbformat": 4, "cells": 5}',
    json.dumps({"nbformat": 4, "nbformat_minor": 5, "cells": [],
                "metadata": {"infinity_workflows": {"kind": "download", "batch_id": [1]}}}),
    json.dumps({"nbformat": 4, "nbformat_minor": 5, "cells": [],
                "metadata": {"infinity_workflows": ["not", "a", "mapping"]}}),
])
def test_records_says_a_junk_record_is_unreadable(tmp_path: Path, content: str) -> None:
    record = probe_record(tmp_path)
    junk = record.parent / "download_batch_2026_01_01_T_00_00_00.ipynb"
    junk.write_text(content)
    found = {r.notebook: r for r in list_records(record.parent.parent)}
    assert found[record.name].kind == "submit"
    assert junk.name not in found or found[junk.name].kind in ("unreadable record",
                                                               "download")
    result = run_cli("records", "--dir", str(record.parent.parent),
                     env=cli_env(tmp_path / "home", tmp_path / "config"), check=False)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr


def test_a_server_answering_junk_for_a_summary_is_said_in_one_line(
        tmp_path: Path, scripted, monkeypatch: pytest.MonkeyPatch) -> None:
    from infinity_workflows.records import batch_statuses
    from infinity_workflows.records.index import RecordInfo

    monkeypatch.setenv("INFINITY_API_TOKEN", "t" * 40)
    monkeypatch.setenv("INFINITY_API_SERVER", scripted.url)
    scripted.plan = [(200, ["a", "list"], 0.0), (200, {"job_runs": [1, 2]}, 0.0)]
    other = "1b0c3f5e-8d3a-4c61-9a53-2f1d6f7f2a10"
    found = [RecordInfo("f", n, "download", "", "g", scripted.url, b)
             for n, b in (("a.ipynb", BATCH), ("b.ipynb", other), ("c.ipynb", "../../x"))]
    statuses = batch_statuses(found, timeout=5)
    assert statuses == {BATCH: "unreadable summary", other: "unreadable summary",
                        "../../x": "not a batch id"}
    assert all("../" not in s["path"] for s in scripted.seen)


def test_code_added_to_a_parameters_cell_is_a_foreign_cell(tmp_path: Path) -> None:
    """Code beside the values (an import, a call) is not a parameter: it runs only once the
    record is accepted, like any other added code."""
    submit = records.create_workflow_notebook("submit", generator=GENERATOR,
                                              server="http://127.0.0.1:9/",
                                              records_dir=tmp_path / "records")
    nb = nbformat.read(str(submit), as_version=4)
    at, cell = next((i, c) for i, c in enumerate(nb.cells)
                    if "parameters" in c.metadata.get("tags", []))
    cell.source += "\nimport pathlib; pathlib.Path('pwned').touch()"
    nbformat.write(nb, str(submit))
    with pytest.raises(RecordError, match=rf"cell {at + 1} \(`GENERATOR = "):
        rerun_record(submit)
    assert not list(tmp_path.rglob("pwned"))


def test_a_fresh_user_gets_a_private_secret_and_signed_records(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No Jupyter data folder yet (a new pip user): the first record makes it, 0700, with
    the notary's secret 0600, and is signed."""
    import stat

    from infinity_workflows.records.consent import signed

    data = tmp_path / "never-ran-jupyter"
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(data))
    record = probe_record(tmp_path)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "notebook_secret").stat().st_mode) == 0o600
    assert signed(nbformat.read(str(record), as_version=4))
