"""Errors as answers: one clear sentence, as JSON for the API and as a page for people.

The case library raises ``NotFound``, ``Forbidden``, ``Conflict`` and ``Invalid`` (404, 403,
409, 422); any other :class:`CustodesError` is a request the user can correct (400). FastAPI's
validation errors (a missing field, a word where a number belongs) become 422 with the field
named. Nothing here ever shows a traceback.
"""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException

from custodes.errors import CustodesError
from custodes.web.rules import is_api

TITLES = {
    400: "That request cannot be done",
    401: "Sign in first",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed here",
    409: "Changed by someone else",
    413: "Too large",
    422: "Please correct the request",
    503: "Busy",
}


class WebError(Exception):
    """An answer with a status and a one-line message, raised anywhere in a request."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def status_for(error: CustodesError) -> int:
    """The HTTP status of a library error: case-work errors carry theirs; any other user
    mistake is 400."""
    status = getattr(error, "status_code", 400)
    return status if isinstance(status, int) and 400 <= status < 500 else 400


def error_response(request: Request, error: WebError) -> Response:
    if is_api(request.url.path):
        return JSONResponse({"detail": error.message}, status_code=error.status)
    if request.headers.get("HX-Request") == "true":
        # An HTMX action (triage): the message goes into the page's message area, and the
        # rest of the page stays as it was.
        return HTMLResponse(
            f'<p class="message error" role="alert" tabindex="-1" data-focus-after-swap>'
            f"{escape(error.message)}</p>",
            status_code=error.status,
            headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"},
        )
    from custodes.web.pages.render import render_error

    return render_error(request, error.status, TITLES.get(error.status, "Error"), error.message)


def validation_message(errors: list[Any]) -> str:
    """FastAPI's validation errors in one sentence: which field, what is wrong."""
    parts = []
    for item in errors[:3]:
        if item.get("type") == "json_invalid":
            where = item.get("loc", ("body", "?"))[-1]
            parts.append(f"the request body is not valid JSON (at character {where})")
            continue
        where = [str(p) for p in item.get("loc", ()) if p not in ("body", "query", "path", "form")]
        field = ".".join(where) or "the request body"
        parts.append(f"{field}: {str(item.get('msg', 'invalid')).lower()}")
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return "; ".join(parts) + more


async def on_custodes_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, CustodesError)
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    return error_response(request, WebError(status_for(error), message))


async def on_web_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, WebError)
    return error_response(request, error)


async def on_validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    return error_response(request, WebError(422, validation_message(list(error.errors()))))


async def on_http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    message = str(error.detail) if error.detail else TITLES.get(error.status_code, "error")
    if error.status_code == 404 and message == "Not Found":
        message = f"there is no page at {request.url.path}"
    if error.status_code == 400 and message == "There was an error parsing the body":
        message = "the request body could not be read: send UTF-8 JSON (or a form from the page)"
    if error.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    response = error_response(request, WebError(error.status_code, message))
    if isinstance(response, HTMLResponse | JSONResponse) and error.headers:
        response.headers.update(error.headers)
    return response
