"""Draw VisionFit job parameters: the names VisionFit notebooks and Infinity users import.

The engine is generic (:mod:`infinity_workflows.sampling`); VisionFit's table and categories
live next to its schema (:mod:`visionfit.generator.distributions`). These functions use
VisionFit's declarations unless the session names another installed generator, so
``sample_input(sesh)`` keeps drawing sensible VisionFit jobs from any session or schema,
including a narrower server's. Reruns from seeds come from :mod:`infinity_workflows.seed_reruns`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from infinity_workflows import sampling as engine
from infinity_workflows.sampling import (
    Choice,
    ClippedNormal,
    Coin,
    Constant,
    Distribution,
    LogUniform,
    Tied,
    Uniform,
    sampler_for,
)
from infinity_workflows.sampling.sampler import RandomLike
from infinity_workflows.seed_reruns import (
    expand_overrides_across_each_preview_state,
    expand_overrides_across_each_video_state,
    submit_rerun_batch_with_overrides_previews,
    submit_rerun_batch_with_overrides_videos,
)
from visionfit.generator import VisionFitGenerator
from visionfit.generator.distributions import CATEGORIES, DISTRIBUTIONS

__all__ = [
    "CATEGORIES",
    "DISTRIBUTIONS",
    "Choice",
    "ClippedNormal",
    "Coin",
    "Constant",
    "Distribution",
    "LogUniform",
    "Tied",
    "Uniform",
    "distribution_table",
    "expand_overrides_across_each_preview_state",
    "expand_overrides_across_each_video_state",
    "sample_input",
    "sample_inputs",
    "submit_rerun_batch_with_overrides_previews",
    "submit_rerun_batch_with_overrides_videos",
]


def sample_input(sesh: Any, rng: RandomLike = None, **fixed: Any) -> dict[str, Any]:
    """One job (see :func:`infinity_workflows.sampling.sample_input`), VisionFit's table by
    default."""
    return sampler_for(sesh, VisionFitGenerator).sample(fixed, rng)


def sample_inputs(sesh: Any, n: int, rng: RandomLike | np.random.Generator = None,
                  **fixed: Any) -> list[dict[str, Any]]:
    """``n`` jobs drawn with NumPy (see :func:`infinity_workflows.sampling.sample_inputs`)."""
    return sampler_for(sesh, VisionFitGenerator).sample_many(n, fixed, rng)


def distribution_table(sesh: Any, **fixed: Any) -> Any:
    """How each parameter is drawn, as a pandas DataFrame (see
    :func:`infinity_workflows.sampling.distribution_table`)."""
    return engine.distribution_table(sampler_for(sesh, VisionFitGenerator), **fixed)
