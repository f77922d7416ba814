"""The embedding model an index records, checked the same way by every backend."""

from __future__ import annotations

from errors import IndexModelMismatch


def recorded_model(
    meta: dict[str, str], model_name: str, dimension: int, check_model: bool, where: str
) -> tuple[str, int]:
    """The model and dimension the index in `where` holds; IndexModelMismatch (when `check_model`) where
    they are not the configured ones."""
    stored_model, stored_dimension = meta["model_name"], int(meta["dimension"])
    if check_model and (stored_model != model_name or stored_dimension != dimension):
        raise IndexModelMismatch(
            f"the index in {where} was built with embedding model {stored_model!r} "
            f"(dimension {stored_dimension}), but the configured model is {model_name!r} "
            f"(dimension {dimension}); run `spanqa index rebuild` to re-embed every chunk with the "
            f"configured model, or configure {stored_model!r} again"
        )
    return stored_model, stored_dimension
