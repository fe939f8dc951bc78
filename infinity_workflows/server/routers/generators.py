"""The generators a token may use (``api/jobs/``), and one generator's parameter schema."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from ..context import granted_names
from ..dependencies import Granted
from ..http_errors import RequestRefused
from ..models import GeneratorDetail, GeneratorSummary
from .common import ERRORS, ERRORS_404, json_answer

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["generators"], responses=ERRORS)


@router.get("/jobs/", response_model=list[GeneratorSummary])
def list_generators(generators: Granted) -> Response:
    """The generators this token may use."""
    return json_answer([g.summary() for g in generators])


@router.get("/jobs/{name}/", response_model=GeneratorDetail, responses=ERRORS_404)
def generator_detail(name: str, generators: Granted) -> Response:
    """One generator with its parameter schema."""
    generator = generators.get(name)
    if generator is None:
        raise RequestRefused(404, f"no generator named {name!r} for this token; GET api/jobs/ "
                             f"lists those it may use: {granted_names(generators)}")
    return json_answer(generator.detail())
