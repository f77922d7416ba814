from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from api.deps import PipelineDep
from api.forms import form_metadata
from api.schemas import DocumentIn, DocumentList, DocumentOut, DocumentSummary, ErrorOut, IngestOut
from errors import DocumentTooLarge, InvalidRequest
from index.ids import check_doc_id
from index.validation import check_text
from qa.pipeline import NewDocument

router = APIRouter(prefix="/documents", tags=["documents"])

_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorOut} for code in (404, 413, 415, 422)}
_FORM_LIMITS = {"max_files": 1, "max_fields": 8, "max_part_size": 64 * 1024}  # the file, then title, id, metadata
_MAX_OFFSET = 1_000_000_000


@router.post(
    "",
    status_code=201,
    response_model=IngestOut,
    responses=_ERRORS,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": DocumentIn.model_json_schema()},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "title": {"type": "string"},
                            "id": {"type": "string"},
                            "metadata": {"type": "string", "description": "JSON object"},
                        },
                        "required": ["file"],
                    }
                },
            },
            "required": True,
        }
    },
)
async def add_document(request: Request, pipeline: PipelineDep) -> IngestOut:
    """Adds (or replaces, by id) a document: JSON `{text, title?, id?, metadata?}` or a file upload in field `file`."""
    limit = pipeline.settings.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise DocumentTooLarge(f"the upload is {int(declared):,} bytes, over the limit of {limit:,}")
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        return await _add_upload(request, pipeline, limit)
    body = await request.body()
    if len(body) > limit:
        raise DocumentTooLarge(f"the request is {len(body):,} bytes, over the limit of {limit:,}")
    try:
        doc = DocumentIn.model_validate_json(body)
    except ValidationError as exc:
        raise InvalidRequest(_describe(exc)) from None
    result = await run_in_threadpool(
        pipeline.ingest,
        NewDocument(text=doc.text, title=doc.title, id=doc.id, metadata=doc.metadata),
    )
    return IngestOut.of(result)


async def _add_upload(request: Request, pipeline: PipelineDep, limit: int) -> IngestOut:
    form = await request.form(**_FORM_LIMITS)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) and not hasattr(upload, "read"):
        raise InvalidRequest("the multipart upload has no file in field 'file'")
    data = await upload.read(limit + 1)  # type: ignore[union-attr]
    if len(data) > limit:
        raise DocumentTooLarge(f"{upload.filename!r} is over the upload limit of {limit:,} bytes")  # type: ignore[union-attr]
    metadata = form_metadata(form.get("metadata"))
    title_field, id_field = form.get("title"), form.get("id")
    title = check_text(title_field, "the title") if isinstance(title_field, str) else None
    doc_id = check_doc_id(id_field) if isinstance(id_field, str) and id_field else None
    result = await run_in_threadpool(
        pipeline.ingest_bytes,
        data,
        upload.filename or "upload.txt",  # type: ignore[union-attr]
        title=title or None,
        doc_id=doc_id or None,
        metadata=metadata,
    )
    return IngestOut.of(result)


def _describe(exc: ValidationError) -> str:
    for err in exc.errors():
        if err["type"] == "json_invalid":
            return "malformed JSON in the request body"
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors())


@router.get("", response_model=DocumentList)
def list_documents(
    pipeline: PipelineDep,
    offset: int = Query(default=0, ge=0, le=_MAX_OFFSET),
    limit: int = Query(default=50, ge=1, le=500),
) -> DocumentList:
    docs = pipeline.list_documents(offset=offset, limit=limit)
    return DocumentList(
        documents=[DocumentSummary.of(d) for d in docs],
        total=pipeline.count_documents(),
        offset=offset,
        limit=limit,
    )


# `:path`: ids stored before ids were restricted (index.ids) may hold "/"; they are reached URL-encoded.
@router.get("/{doc_id:path}", response_model=DocumentOut, responses={404: {"model": ErrorOut}})
def get_document(doc_id: str, pipeline: PipelineDep) -> DocumentOut:
    document = pipeline.get_document(doc_id)
    return DocumentOut.of(document, pipeline.get_info(doc_id).chunks)


@router.delete("/{doc_id:path}", status_code=204, responses={404: {"model": ErrorOut}})
def delete_document(doc_id: str, pipeline: PipelineDep) -> Response:
    pipeline.delete(doc_id)
    return Response(status_code=204)
