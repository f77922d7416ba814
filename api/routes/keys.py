"""Admin-only: API keys (`GET/POST /keys`, `DELETE /keys/{id}`) and the audit log (`GET /audit`)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field

from api.auth import Access, Principal, require
from api.schemas import ErrorOut
from index.store import AuditEntry, KeyRecord

router = APIRouter(tags=["access"])
AdminDep = Annotated[Principal, Depends(require(read="admin", write="admin", always=True, scoped=False))]


class KeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    role: Literal["reader", "writer", "admin"]
    collections: list[str] | None = Field(
        default=None,
        max_length=100,
        description="collections the key may use (* = every one); default: default, for admins *",
    )


class KeyOut(BaseModel):
    id: str
    name: str
    role: str
    collections: list[str]
    created_at: float
    revoked_at: float | None

    @classmethod
    def of(cls, r: KeyRecord) -> KeyOut:
        return cls(
            id=r.id,
            name=r.name,
            role=r.role,
            collections=list(r.collections),
            created_at=r.created_at,
            revoked_at=r.revoked_at,
        )


class NewKeyOut(KeyOut):
    key: str = Field(description="The key itself: shown this once, stored only as a keyed hash")


class AuditOut(BaseModel):
    at: float
    actor: str
    action: str
    target: str
    collection: str = Field(description='the collection written to; "" for key changes')

    @classmethod
    def of(cls, e: AuditEntry) -> AuditOut:
        return cls(at=e.at, actor=e.actor, action=e.action, target=e.target, collection=e.collection)


def _access(request: Request) -> Access:
    return request.app.state.access


@router.get("/keys", response_model=list[KeyOut])
def list_keys(request: Request, admin: AdminDep) -> list[KeyOut]:
    return [KeyOut.of(k) for k in _access(request).keys.list()]


@router.post("/keys", status_code=201, response_model=NewKeyOut, responses={422: {"model": ErrorOut}})
def create_key(body: KeyIn, request: Request, admin: AdminDep) -> NewKeyOut:
    access = _access(request)
    new = access.keys.create(body.name, body.role, body.collections)
    access.audit.record(admin.actor, "key.create", f"{new.record.id} ({new.record.role})")
    return NewKeyOut(**KeyOut.of(new.record).model_dump(), key=new.key)


@router.delete("/keys/{key_id}", status_code=204, responses={404: {"model": ErrorOut}})
def revoke_key(key_id: str, request: Request, admin: AdminDep) -> Response:
    access = _access(request)
    if not access.keys.revoke(key_id):
        raise HTTPException(404, f"no active key {key_id!r}")
    access.audit.record(admin.actor, "key.revoke", key_id)
    return Response(status_code=204)


@router.get("/audit", response_model=list[AuditOut])
def audit_log(
    request: Request,
    admin: AdminDep,
    offset: int = Query(default=0, ge=0, le=1_000_000_000),
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[AuditOut]:
    return [AuditOut.of(e) for e in _access(request).audit.entries(offset=offset, limit=limit)]
