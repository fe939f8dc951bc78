"""``Session``: one token, one server, one generator; crafts, checks and submits jobs.

Everything the session knows about the generator's parameters comes from the server's
``GET api/jobs/{name}/`` document, rebuilt into a :class:`~infinity_workflows.schema.Schema`,
so the same code works against the local server and any other server speaking this API.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from . import api
from .batch import Batch, parse_time
from .credentials import LOCAL_SERVER, normalise_server
from .errors import ConfigurationError, NotFoundError, ValidationError
from .sampling.categories import category_note
from .sampling.source import cached_sampler, sampler_for
from .schema import Schema
from .transport import open_transport
from .trust import parse_uuid

__all__ = ["DEFAULT_GENERATOR", "DEFAULT_SERVER", "Session"]

DEFAULT_GENERATOR = "visionfit-flagship-v0.1.0"
DEFAULT_SERVER = LOCAL_SERVER


class Session:
    """A connection to an Infinity server for one generator.

    ``token`` defaults to ``INFINITY_API_TOKEN``, then to the credentials file entry for
    ``server``. Creating a session fetches the generator's parameter schema, so an unknown
    generator or an unreachable server is reported at once.
    """

    def __init__(self, token: str | None = None, generator: str = DEFAULT_GENERATOR,
                 server: str = DEFAULT_SERVER, *,
                 timeout: tuple[float, float] = api.DEFAULT_TIMEOUT,
                 retries: int = api.DEFAULT_RETRIES) -> None:
        self.server = normalise_server(server)
        self.generator = generator
        self.transport = open_transport(self.server, token, timeout=timeout, retries=retries)
        try:
            self.generator_info: dict[str, Any] = api.get_generator(self.transport, generator)
        except NotFoundError:
            names = [g["name"] for g in api.list_generators(self.transport)]
            raise ConfigurationError(
                f"generator {generator!r} is not offered by {self.server}; available: "
                + (", ".join(sorted(names)) or "none")
            ) from None
        self.schema = Schema.from_api(self.generator_info["params"])
        self.supports_preview = bool((self.generator_info.get("options") or {}).get("preview"))

    def __repr__(self) -> str:
        return f"Session(generator={self.generator!r}, server={self.server!r})"

    # -- the generator ------------------------------------------------------------------
    @staticmethod
    def list_generators(server: str = DEFAULT_SERVER, token: str | None = None, *,
                        timeout: tuple[float, float] = api.DEFAULT_TIMEOUT,
                        ) -> list[dict[str, Any]]:
        """The generators ``server`` offers, sorted by name; usable before choosing one."""
        with open_transport(server, token, timeout=timeout) as t:
            return sorted(api.list_generators(t), key=lambda g: g["name"])

    @property
    def parameter_info(self) -> dict[str, dict[str, Any]]:
        """Name -> ``{type, default_value, options, description}``, in schema order."""
        return {p["name"]: {k: v for k, v in p.items() if k != "name"}
                for p in self.schema.to_api()}

    @property
    def default_job(self) -> dict[str, Any]:
        return self.schema.defaults()

    def random_job(self, rng: random.Random | int | None = None) -> dict[str, Any]:
        """A job with every parameter drawn uniformly from its range, choices or bool (the
        schema alone: :func:`infinity_workflows.sampling.sample_input` adds the generator's
        own distributions)."""
        if not isinstance(rng, random.Random):
            rng = random.Random(rng)
        return cached_sampler(self.schema).sample({}, rng)

    def sample_input(self, rng: random.Random | int | None = None, **fixed: Any
                     ) -> dict[str, Any]:
        """One job drawn with the generator's own distributions when it is installed here
        (:func:`infinity_workflows.sampling.sample_input`; the method Infinity's later
        ``VisionFitSession`` had)."""
        return sampler_for(self).sample(fixed, rng)

    def randomize_unspecified_params(self, params: Mapping[str, Any],
                                     rng: random.Random | int | None = None,
                                     ) -> dict[str, Any]:
        """``params`` with every parameter it leaves out drawn as :meth:`random_job` does."""
        return {**self.random_job(rng), **params}

    def validate_job_params(self, job_params: Sequence[Mapping[str, Any]]
                            ) -> list[str | None]:
        """One message per job (None when valid) naming the parameter, rule and value."""
        if isinstance(job_params, Mapping) or not isinstance(job_params, Sequence):
            raise TypeError("job_params must be a list of dicts, one per job "
                            f"(got {type(job_params).__name__})")
        categories = self.generator_info.get("categories") or {}
        return ["; ".join(v.message + category_note(v, job, categories) for v in found) or None
                for job in job_params for found in [self.schema.violations(job)]]

    def _check(self, job_params: Sequence[Mapping[str, Any]], is_preview: bool
               ) -> list[dict[str, Any]]:
        """The jobs in plain Python form (what JSON can carry), or ValidationError."""
        if is_preview and not self.supports_preview:
            raise ValidationError(f"generator {self.generator!r} does not render previews; "
                                  "submit with is_preview=False")
        errors = self.validate_job_params(job_params)
        if not errors:
            raise ValidationError("a batch needs at least one job; job_params is empty")
        bad = [(i, e) for i, e in enumerate(errors) if e is not None]
        if bad:
            lines = [f"job {i}: {e}" for i, e in bad[:20]]
            if len(bad) > 20:
                lines.append(f"... and {len(bad) - 20} more invalid jobs")
            raise ValidationError(
                f"{len(bad)} of {len(errors)} jobs are invalid; nothing was submitted:\n"
                + "\n".join(lines), errors)
        return [self.schema.cast(job) for job in job_params]

    # -- submitting ----------------------------------------------------------------------
    def submit(self, job_params: Sequence[Mapping[str, Any]], is_preview: bool = False,
               batch_name: str | None = None) -> Batch:
        """Check the jobs here, then submit them as one batch; returns the :class:`Batch`."""
        job_params = self._check(job_params, is_preview)
        if batch_name is None:
            stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
            batch_name = f"{self.generator} {'preview' if is_preview else 'video'} {stamp}"
        # One key per call: a retry after a lost answer gets the first batch back.
        data = api.submit_batch(self.transport, name=batch_name, generator=self.generator,
                                job_params=job_params, is_preview=is_preview,
                                idempotency_key=str(uuid.uuid4()))
        return Batch(self, data)

    def estimate_samples(self, job_params: Sequence[Mapping[str, Any]],
                         is_preview: bool = False, batch_name: str | None = None,
                         ) -> list[int]:
        """Frames each job would render, as the server counts them (one number per job).
        ``batch_name`` is accepted for infinity-core's signature; an estimate needs none."""
        job_params = self._check(job_params, is_preview)
        return [int(n) for n in api.estimate_batch(
            self.transport, generator=self.generator, job_params=job_params,
            is_preview=is_preview, name=batch_name or "estimate")]

    def estimate_total_samples(self, job_params: Sequence[Mapping[str, Any]],
                               is_preview: bool = False) -> int:
        """Frames the jobs would render in total."""
        return sum(self.estimate_samples(job_params, is_preview))

    # -- batches and usage ----------------------------------------------------------------
    def batch_from_api(self, batch_id: str) -> Batch:
        """The batch ``batch_id`` of this token, fetched from the server."""
        return Batch(self, api.get_batch(self.transport, parse_uuid(batch_id, "batch id")))

    @classmethod
    def for_batch(cls, batch_id: str, token: str | None = None,
                  server: str = DEFAULT_SERVER) -> Batch:
        """The batch ``batch_id``, with a session for the generator its jobs name (for
        when only the batch id is known, as in infinity-core's ``Batch.from_api``)."""
        with open_transport(server, token) as t:
            data = api.get_batch(t, parse_uuid(batch_id, "batch id"))
        names = {job.get("name") for job in data.get("job_runs") or []}
        if len(names) != 1 or not isinstance(next(iter(names)), str):
            raise ConfigurationError(f"batch {batch_id} names no single generator "
                                     f"({sorted(map(str, names))}); open it with "
                                     "Session(generator=...).batch_from_api")
        return Batch(cls(token, next(iter(names)), server), data)

    @staticmethod
    def _window(n_days: int) -> tuple[datetime, datetime]:
        if not isinstance(n_days, int) or isinstance(n_days, bool) or n_days < 0:
            raise ValidationError(f"n_days must be a whole number of days >= 0, not "
                                  f"{n_days!r}")
        end = datetime.now(timezone.utc)
        return end - timedelta(days=n_days), end

    def get_batches_last_n_days(self, n_days: int = 30) -> list[dict[str, Any]]:
        """This token's batches created in the last ``n_days`` days, oldest first; each
        ``{id, batch_id, name, created, num_jobs}`` (``batch_id``, infinity-core's key, is
        ``id``)."""
        start, end = self._window(n_days)
        batches = api.list_batches(self.transport, start, end)
        for b in batches:
            b["created"] = parse_time(b["created"])
            b["batch_id"] = b["id"]
        return sorted(batches, key=lambda b: b["created"])

    def get_usage_stats_last_n_days(self, n_days: int = 30) -> dict[str, Any]:
        """Samples rendered per generator in the last ``n_days`` days."""
        start, end = self._window(n_days)
        stats = api.get_job_counts(self.transport, start, end)
        for key in ("start_time", "end_time"):
            if isinstance(stats.get(key), str):
                stats[key] = parse_time(stats[key])
        return stats

    def portal_url(self, batch_id: str) -> str:
        """The portal page showing every job of the batch."""
        return f"{self.server}portal/batch/{batch_id}/"
