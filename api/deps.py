"""Dependencies handed to route handlers: the pipeline of the request's collection.

Routes under `/collections/{collection}/...` carry `collection_scope` as their router's first
dependency: it puts the (well-formed) name on `request.state.collection`, where the auth dependency
checks the key may use it and `get_pipeline` finds its pipeline (404 when there is no such collection).
The un-prefixed routes act on `default`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request

from qa.collections import COLLECTION_NAME, DEFAULT_COLLECTION, CollectionRegistry
from qa.pipeline import Pipeline

NAME_PATTERN = COLLECTION_NAME.pattern
CollectionName = Annotated[
    str,
    Path(
        pattern=NAME_PATTERN,
        description="A collection's name: 1 to 40 of a-z, 0-9, '_' and '-', starting with a letter or digit",
    ),
]


def collection_scope(request: Request, collection: CollectionName) -> str:
    request.state.collection = collection
    return collection


def request_collection(request: Request) -> str:
    """The collection the request acts on (`default` for the un-prefixed routes)."""
    return getattr(request.state, "collection", DEFAULT_COLLECTION)


def get_registry(request: Request) -> CollectionRegistry:
    return request.app.state.collections


def get_pipeline(request: Request) -> Iterator[Pipeline]:
    """The request's collection's pipeline, kept open until the response is done."""
    with get_registry(request).using(request_collection(request)) as pipeline:
        yield pipeline


PipelineDep = Annotated[Pipeline, Depends(get_pipeline)]
RegistryDep = Annotated[CollectionRegistry, Depends(get_registry)]
