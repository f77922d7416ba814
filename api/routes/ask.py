from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import PipelineDep
from api.schemas import AskRequest, AskResponse, ErrorOut

router = APIRouter(tags=["ask"])


@router.post("/ask", response_model=AskResponse, responses={422: {"model": ErrorOut}})
def ask(body: AskRequest, pipeline: PipelineDep, request: Request) -> AskResponse:
    """Answers a question with verbatim spans of the indexed documents, each with its citation."""
    result = pipeline.ask(
        body.question,
        top_k=body.top_k,
        max_answers=body.max_answers,
        retrieval=body.retrieval,
        rerank=body.rerank,
        doc_ids=body.filters.doc_ids if body.filters else None,
        metadata=body.filters.metadata if body.filters else None,
    )
    request.app.state.metrics.observe_ask(result.no_answer, result.timings_ms)
    return AskResponse.of(result)
