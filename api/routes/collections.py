"""`/collections`: list (any key: the collections it may use), create and delete (admin keys)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.auth import Principal, require
from api.deps import NAME_PATTERN, CollectionName, RegistryDep
from api.schemas import ErrorOut
from errors import CollectionNotFound
from qa.collections import CollectionInfo

router = APIRouter(prefix="/collections", tags=["collections"])
AnyKey = Annotated[Principal, Depends(require(scoped=False))]
AdminKey = Annotated[Principal, Depends(require(read="admin", write="admin", scoped=False))]


class CollectionIn(BaseModel):
    name: str = Field(
        pattern=NAME_PATTERN, description="1 to 40 of a-z, 0-9, '_' and '-', starting with a letter or digit"
    )


class CollectionOut(BaseModel):
    name: str
    documents: int
    chunks: int

    @classmethod
    def of(cls, info: CollectionInfo) -> CollectionOut:
        return cls(name=info.name, documents=info.documents, chunks=info.chunks)


class CollectionList(BaseModel):
    collections: list[CollectionOut]


class Deleted(BaseModel):
    deleted: str


@router.get("", response_model=CollectionList)
def list_collections(registry: RegistryDep, caller: AnyKey) -> CollectionList:
    """The collections this key may use, sorted by name, with their document and chunk counts."""
    infos = []
    for name in registry.names():
        if not caller.may_use(name):
            continue
        try:
            infos.append(CollectionOut.of(registry.info(name)))
        except CollectionNotFound:  # deleted meanwhile
            continue
    return CollectionList(collections=infos)


@router.post("", status_code=201, response_model=CollectionOut, responses={409: {"model": ErrorOut}})
async def create_collection(
    body: CollectionIn, request: Request, registry: RegistryDep, admin: AdminKey
) -> CollectionOut:
    """Creates an empty collection (409 when it exists)."""
    request.state.collection = body.name  # the audit row names it
    return CollectionOut.of(await run_in_threadpool(registry.create, body.name))


@router.delete("/{name}", response_model=Deleted, responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}})
async def delete_collection(name: CollectionName, request: Request, registry: RegistryDep, admin: AdminKey) -> Deleted:
    """Deletes a collection with all its documents, jobs and feedback, and takes it out of every key's
    list (404 unknown; 409 for `default`)."""
    request.state.collection = name
    await run_in_threadpool(registry.delete, name)
    return Deleted(deleted=name)
