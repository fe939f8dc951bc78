"""``rerun``: parameters are data, never code; a rerun that fails leaves no record listed."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from infinity_workflows import records
from infinity_workflows.errors import ValidationError
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
