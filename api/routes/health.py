from __future__ import annotations

import os

from fastapi import APIRouter

from api.deps import PipelineDep
from api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health(pipeline: PipelineDep) -> Health:
    return Health(**pipeline.health(), pid=os.getpid())
