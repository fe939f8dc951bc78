"""A client shaped like infinity-core's (Infinity's own Python client), for compatibility tests.

infinity-core is not on the package index here, so this is a small real client written from
its documented behaviour: it speaks HTTP to the server with ``requests`` exactly as that
client does (``Authorization: Token``, ``GET api/jobs/{name}/``, ``POST api/batch/``,
``api/batch/{id}/summary/``, ...), keeps the data it keeps (``token``, ``generator``,
``server``, ``parameter_info``; a Batch's ``batch_id``, ``jobs`` and ``job_type``) and
returns what it returns (raw responses from the module functions, dataclasses for completed
jobs, ``True`` from ``download``). None of our client code is used, so a test through it
shows what an Infinity user's own objects do against our server and our helpers.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum, auto
from pathlib import Path, PurePosixPath
from typing import Any

import requests

TIMEOUT = 60


class JobType(Enum):
    PREVIEW = auto()
    STANDARD = auto()


@dataclass(frozen=True)
class CompletedJob:
    job_id: str
    generator: str
    params: dict[str, Any]
    result_url: str | None = None


class ParameterValidationError(Exception):
    pass


def _get(token: str, server: str, path: str, **params: Any) -> requests.Response:
    return requests.get(server.rstrip("/") + "/" + path, params=params or None, timeout=TIMEOUT,
                        headers={"Authorization": f"Token {token}",
                                 "Accept": "application/json"})


def _post(token: str, server: str, path: str, body: Any) -> requests.Response:
    return requests.post(server.rstrip("/") + "/" + path, json=body, timeout=TIMEOUT,
                         headers={"Authorization": f"Token {token}",
                                  "Accept": "application/json"})


def _window(start_time: datetime | None, end_time: datetime | None) -> dict[str, str]:
    return {k: (v if v.tzinfo else v.astimezone()).isoformat()
            for k, v in (("start_time", start_time), ("end_time", end_time)) if v is not None}


def get_usage_datetime_range(token: str, start_time: datetime | None = None,
                             end_time: datetime | None = None,
                             server: str = "") -> requests.Response:
    return _get(token, server, "api/job_runs/counts/", **_window(start_time, end_time))


def _body(generator: str, name: str, job_params: list[dict], is_preview: bool) -> dict:
    return {"name": name, "job_runs": [{"name": generator, "is_preview": is_preview,
                                        "param_values": p} for p in job_params]}


@dataclass(frozen=True)
class Batch:
    token: str
    batch_id: str
    name: str
    jobs: dict[str, dict[str, Any]]
    server: str
    job_type: JobType

    @classmethod
    def from_api(cls, token: str, batch_id: str, server: str) -> Batch:
        r = _get(token, server, f"api/batch/{batch_id}/")
        r.raise_for_status()
        return cls._from_data(token, server, r.json())

    @classmethod
    def _from_data(cls, token: str, server: str, data: dict[str, Any]) -> Batch:
        runs = data["job_runs"]
        kind = JobType.PREVIEW if runs[0]["is_preview"] else JobType.STANDARD
        return cls(token, data["id"], data["name"], {j["id"]: j["param_values"] for j in runs},
                   server, kind)

    @property
    def job_ids(self) -> list[str]:
        return list(self.jobs)

    @property
    def job_params(self) -> list[dict[str, Any]]:
        return list(self.jobs.values())

    @property
    def num_jobs(self) -> int:
        return len(self.jobs)

    def get_batch_summary_data(self) -> dict[str, Any]:
        r = _get(self.token, self.server, f"api/batch/{self.batch_id}/summary/")
        r.raise_for_status()
        return r.json()

    def get_num_jobs_remaining(self) -> int:
        return sum(1 for j in self.get_batch_summary_data()["job_runs"] if j["in_progress"])

    def get_completed_jobs(self) -> list[CompletedJob]:
        return [CompletedJob(j["id"], j["name"], self.jobs[j["id"]], j["result_url"])
                for j in self.get_batch_summary_data()["job_runs"] if not j["in_progress"]]

    def get_valid_completed_jobs(self) -> list[CompletedJob]:
        return [j for j in self.get_completed_jobs() if j.result_url is not None]

    def download(self, path: str | Path, overwrite: bool = False, quiet: bool = False) -> bool:
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        have = set() if overwrite else {p.name for p in out.iterdir() if p.is_dir()}
        (out / "batch_id.txt").write_text(self.batch_id)
        for job in self.get_valid_completed_jobs():
            if job.job_id in have:
                continue
            r = requests.get(job.result_url, timeout=TIMEOUT)
            r.raise_for_status()
            with zipfile.ZipFile(io.BytesIO(r.content)) as z:
                for name in z.namelist():  # a job's archive holds only <job_id>/...
                    parts = PurePosixPath(name).parts
                    if not parts or parts[0] != job.job_id or ".." in parts:
                        raise ValueError(f"unexpected archive entry {name!r}")
                z.extractall(out)
        return True


@dataclass
class Session:
    token: str
    generator: str
    server: str
    _generator_info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        r = _get(self.token, self.server, f"api/jobs/{self.generator}/")
        r.raise_for_status()
        self._generator_info = r.json()

    @property
    def parameter_info(self) -> dict[str, dict[str, Any]]:
        return {p["name"]: {"type": p.get("type"), "default_value": p.get("default_value"),
                            "options": p.get("options")}
                for p in self._generator_info["params"]}

    @property
    def default_job(self) -> dict[str, Any]:
        return {k: v["default_value"] for k, v in self.parameter_info.items()}

    def _problems(self, job: dict[str, Any]) -> str | None:
        """Unknown names, wrong types and broken constraints; ints and floats are cast
        first, as infinity-core does since its fix for float-typed ints."""
        info, found = self.parameter_info, []
        for name, value in job.items():
            if name not in info:
                found.append(f"unsupported parameter {name}")
                continue
            kind, options = info[name]["type"], info[name].get("options") or {}
            if kind in ("int", "float"):
                try:
                    value = (int if kind == "int" else float)(value)
                except (TypeError, ValueError):
                    found.append(f"{name} cannot be cast to {kind}")
                    continue
            elif kind == "str" and not isinstance(value, str) or \
                    kind == "bool" and not isinstance(value, bool):
                found.append(f"{name} expected {kind}, got {type(value).__name__}")
                continue
            if "min" in options and options["min"] is not None and value < options["min"] \
                    or "max" in options and options["max"] is not None \
                    and value > options["max"] \
                    or "choices" in options and value not in options["choices"]:
                found.append(f"{name} violates {options} with {value!r}")
        return "; ".join(found) or None

    def validate_job_params(self, job_params: list[dict[str, Any]]) -> list[str | None]:
        return [self._problems(j) for j in job_params]

    def _complete(self, job_params: list[dict[str, Any]]) -> list[dict[str, Any]]:
        errors = [e for e in self.validate_job_params(job_params) if e]
        if errors:
            raise ParameterValidationError("; ".join(errors))
        return [{**self.default_job, **j} for j in job_params]

    def submit(self, job_params: list[dict[str, Any]], is_preview: bool = False,
               batch_name: str | None = None) -> Batch:
        body = _body(self.generator, batch_name or "", self._complete(job_params), is_preview)
        r = _post(self.token, self.server, "api/batch/", body)
        r.raise_for_status()
        return Batch._from_data(self.token, self.server, r.json())

    def estimate_samples(self, job_params: list[dict[str, Any]], is_preview: bool = False,
                         batch_name: str | None = None) -> list[int]:
        body = _body(self.generator, batch_name or "", self._complete(job_params), is_preview)
        r = _post(self.token, self.server, "api/batch/estimate/", body)
        r.raise_for_status()
        return r.json()

    def batch_from_api(self, batch_id: str) -> Batch:
        return Batch.from_api(token=self.token, batch_id=batch_id, server=self.server)

    def get_batches_last_n_days(self, n_days: int) -> list[dict[str, Any]]:
        end = datetime.now().astimezone()
        r = _get(self.token, self.server, "api/batch/",
                 **_window(end - timedelta(days=n_days), end))
        r.raise_for_status()
        batches = r.json()[::-1]
        for b in batches:
            b["batch_id"] = b.pop("id")
            b["created"] = datetime.fromisoformat(b["created"])
        return batches

    def get_usage_stats_last_n_days(self, n_days: int) -> dict[str, Any]:
        end = datetime.now().astimezone()
        r = get_usage_datetime_range(self.token, end - timedelta(days=n_days), end,
                                     self.server)
        r.raise_for_status()
        return r.json()
