"""What a server (or a record naming one) sends is data: a hostile server on a real loopback
socket cannot turn its ids into paths, nor collect a token meant for another server."""

from __future__ import annotations

import io
import uuid
import zipfile
from pathlib import Path

import pytest

from infinity_workflows import Session
from infinity_workflows.credentials import SERVER_ENVS, TOKEN_ENV, save_token
from infinity_workflows.errors import ConfigurationError, ProtocolError
from infinity_workflows.records import batch_statuses, create_workflow_notebook, list_records
from infinity_workflows.trust import checked_id, folder_name
from infinity_workflows.workflow import download_folder
from tests.support.scripted import Scripted

SECRET = "tok-meant-for-my-own-server-0123456789"
GENERATOR = {"name": "tiny-v1", "version": "1", "description": "", "options": {"preview": True},
             "params": [{"name": "frames", "type": "int", "default_value": 1,
                         "options": {"min": 1, "max": 10}, "description": ""}]}


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in (TOKEN_ENV, *SERVER_ENVS):
        monkeypatch.delenv(name, raising=False)


def _zip_of(root_name: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr(f"{root_name}/job.json", b"{}")
    return out.getvalue()


@pytest.mark.parametrize("evil", ["../../../victim", "/ABSOLUTE/victim", "victim"])
def test_job_ids_that_are_paths_never_become_files(scripted: Scripted, tmp_path: Path,
                                                   evil: str) -> None:
    victim = tmp_path / "victim.zip"
    victim.write_bytes(b"precious")
    evil = evil.replace("/ABSOLUTE", str(tmp_path))
    root = tmp_path / "a" / "b" / "c" / "downloads"
    batch_id = str(uuid.uuid4())
    scripted.plan = [
        (200, GENERATOR, 0.0),
        (200, {"id": batch_id, "name": "b", "created": "2026-01-01T00:00:00+00:00",
               "job_runs": [{"id": evil, "name": "tiny-v1", "is_preview": False,
                             "param_values": {}}]}, 0.0),
        (200, {"id": batch_id, "job_runs": [{"id": evil, "in_progress": False,
                                             "status": "succeeded", "error": None,
                                             "result_url": scripted.url + "r"}]}, 0.0),
        (200, _zip_of(evil), 0.0),
    ]
    sesh = Session(token=SECRET, generator="tiny-v1", server=scripted.url)
    with pytest.raises(ProtocolError, match="not a UUID") as info:
        sesh.batch_from_api(batch_id).download(root, progress=False)
    assert "nothing was written" in str(info.value)
    assert victim.read_bytes() == b"precious"
    assert not (tmp_path / "a").exists()
    assert [r["path"] for r in scripted.seen] == ["/api/jobs/tiny-v1/",
                                                  f"/api/batch/{batch_id}/"]


def test_a_batch_id_that_is_a_path_is_refused(scripted: Scripted) -> None:
    scripted.plan = [(200, GENERATOR, 0.0),
                     (200, {"id": "../..", "name": "x", "job_runs": []}, 0.0)]
    sesh = Session(token=SECRET, generator="tiny-v1", server=scripted.url)
    with pytest.raises(ProtocolError, match="batch id '../..'"):
        sesh.submit([{}])


def test_batch_names_become_one_harmless_folder(tmp_path: Path) -> None:
    for name in ("../../etc", "..", "/abs/path", "a/../../b", "x" * 300, "\u202e\x00evil"):
        folder = folder_name(name)
        assert folder not in ("", ".", "..") and "/" not in folder and "\\" not in folder
        assert len(folder) <= 100 and not folder.startswith(".")

    class Named:  # what download_folder reads of a batch
        name = "../../../outside"
        batch_id = str(uuid.uuid4())

    path = download_folder(Named(), tmp_path / "downloads")  # type: ignore[arg-type]
    assert path.resolve().is_relative_to((tmp_path / "downloads").resolve())
    with pytest.raises(ProtocolError):
        checked_id("abc", "a job id")


def test_the_environment_token_goes_only_to_its_own_server(
        scripted: Scripted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A record someone mailed you names their server: `records` must not send it your
    token (nor may a Session made from that record)."""
    monkeypatch.setenv(TOKEN_ENV, SECRET)  # meant for the default local server
    create_workflow_notebook("download", generator="tiny-v1", server=scripted.url,
                             batch_id=str(uuid.uuid4()), records_dir=tmp_path / "records")
    found = list_records(tmp_path / "records")
    assert [r.server for r in found] == [scripted.url]
    statuses = batch_statuses(found, timeout=2)
    assert list(statuses.values()) == ["no token"]
    with pytest.raises(ConfigurationError, match=f"no token for {scripted.url}"):
        Session(generator="tiny-v1", server=scripted.url)
    assert scripted.seen == []  # not one request, so no token left the machine

    # Tied to it by INFINITY_API_SERVER, or saved for it, the server gets its own token.
    scripted.plan = [(200, GENERATOR, 0.0)]
    monkeypatch.setenv("INFINITY_API_SERVER", scripted.url)
    Session(generator="tiny-v1", server=scripted.url)
    monkeypatch.delenv("INFINITY_API_SERVER")
    save_token(scripted.url, "its-own-token")
    scripted.plan = [(200, GENERATOR, 0.0)]
    Session(generator="tiny-v1", server=scripted.url)
    sent = [r["headers"].get("Authorization") for r in scripted.seen]
    assert sent == [f"Token {SECRET}", "Token its-own-token"]
