"""What the API's routers share (this module is no router): JSON answers, the error answers
every route documents, and the refusal for ids a token does not own."""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import Response

from ..http_errors import ErrorBody, RequestRefused

__all__ = ["ERRORS", "ERRORS_404", "json_answer", "json_text_answer", "not_found"]

# The error answers every authenticated API route may give, for the OpenAPI document.
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "The request broke a rule; `errors` names which."},
    401: {"model": ErrorBody, "description": "Missing or unknown token."},
    413: {"model": ErrorBody, "description": "The body is larger than the server accepts."},
}
ERRORS_404 = {**ERRORS, 404: {"model": ErrorBody, "description": "No such id for this token."}}


def json_answer(data: Any, status: int = 200) -> Response:
    """``data`` as strict JSON (no NaN), written straight into the response for speed: the
    route's response model only describes it in the OpenAPI document."""
    return Response(json.dumps(data, allow_nan=False), status_code=status,
                    media_type="application/json")


def json_text_answer(text: str, status: int = 200) -> Response:
    """JSON already encoded (see job_json), sent as it is."""
    return Response(text, status_code=status, media_type="application/json")


def not_found(kind: str, ident: str) -> RequestRefused:
    """The same 404 for an id that does not exist and one another token owns."""
    return RequestRefused(404, f"no {kind} with id {ident} for this token; check the id (it "
                          "must be one of your own)")
