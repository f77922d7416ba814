"""The route template a request matched (`/collections/{collection}/documents/{doc_id:path}`, not its
values), for metrics labels and audit rows. A router included twice (api.app: once plain, once under
`/collections/{collection}`) hands the same route object to both, so the prefix is put back here."""

from __future__ import annotations

from starlette.types import Scope

COLLECTION_PREFIX = "/collections/{collection}"


def route_template(scope: Scope) -> str | None:
    path = getattr(scope.get("route"), "path", None)
    if path is None:
        return None
    if scope.get("path", "").startswith("/collections/") and not path.startswith("/collections"):
        return COLLECTION_PREFIX + path
    return path
