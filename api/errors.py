"""The one place that turns domain errors into 4xx JSON responses."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from errors import (
    CollectionConflict,
    CollectionNotFound,
    DocumentNotFound,
    DocumentTooLarge,
    IndexCorrupt,
    IndexLocked,
    IndexModelMismatch,
    InvalidRequest,
    SpanqaError,
    UnreadableDocument,
    UnsupportedFileType,
)

STATUS_OF: dict[type[SpanqaError], int] = {
    DocumentNotFound: 404,
    CollectionNotFound: 404,
    CollectionConflict: 409,
    UnsupportedFileType: 415,
    DocumentTooLarge: 413,
    UnreadableDocument: 422,
    InvalidRequest: 422,
    IndexLocked: 409,
    IndexModelMismatch: 409,
    IndexCorrupt: 503,
}


def status_of(error: SpanqaError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return 400


def _describe_validation(error: RequestValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
        if item.get("type") == "json_invalid":
            return "malformed JSON in the request body"
        parts.append(f"{where}: {item.get('msg')}" if where else str(item.get("msg")))
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SpanqaError)
    async def _domain_error(request: Request, exc: SpanqaError) -> JSONResponse:
        return JSONResponse(status_code=status_of(exc), content={"detail": str(exc)})

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": _describe_validation(exc), "errors": _jsonable(exc)})


def _jsonable(exc: RequestValidationError) -> list[dict]:
    return [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg")), "type": str(e.get("type"))} for e in exc.errors()]
