"""`/feedback`: verdicts on answers (with corrections), listed newest first, exported as SQuAD 2.0."""

from __future__ import annotations

import json
import time

from fastapi import APIRouter, Query, Response

from api.deps import PipelineDep
from api.feedback_schemas import FeedbackIn, FeedbackList, FeedbackOut, SquadExport
from api.schemas import ErrorOut

router = APIRouter(prefix="/feedback", tags=["feedback"])

_MAX_OFFSET = 1_000_000_000


@router.post("", status_code=201, response_model=FeedbackOut, responses={422: {"model": ErrorOut}})
def give_feedback(body: FeedbackIn, pipeline: PipelineDep) -> FeedbackOut:
    """Records whether an answer was right; with "wrong", optionally the right words (a span of a stored
    document) or `{"no_answer": true}`. Spans outside their document, or of unknown documents: 422."""
    answer = None if body.answer is None else body.answer.ref()
    stored = pipeline.feedback().give(body.question, answer, body.verdict, body.correction_ref())
    return FeedbackOut.of(stored)


@router.get("", response_model=FeedbackList)
def list_feedback(
    pipeline: PipelineDep,
    offset: int = Query(default=0, ge=0, le=_MAX_OFFSET),
    limit: int = Query(default=50, ge=1, le=500),
) -> FeedbackList:
    records, total = pipeline.feedback().page(offset, limit)
    return FeedbackList(feedback=[FeedbackOut.of(f) for f in records], total=total, offset=offset, limit=limit)


@router.get("/export", response_model=SquadExport)
def export_feedback(pipeline: PipelineDep) -> Response:
    """Every feedback as SQuAD 2.0 JSON (a download): train with `spanqa train-reader FILE`, score with
    `spanqa reader promote DIR --feedback FILE`."""
    export = SquadExport.model_validate(pipeline.feedback().export())
    name = time.strftime("spanqa-feedback-%Y%m%d-%H%M%S.json", time.gmtime())
    return Response(
        content=json.dumps(export.model_dump(), ensure_ascii=False),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
