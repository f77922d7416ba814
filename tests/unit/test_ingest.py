"""The ingest service over fake models: ids, hashes, added / unchanged / replaced, refusals."""

from __future__ import annotations

import pytest

from errors import DocumentNotFound, DocumentTooLarge, InvalidRequest, SpanqaError, UnsupportedFileType
from qa.ingest import NewDocument, content_hash, default_title, derive_id
from qa.pipeline import Pipeline

TEXT = "Kyiv is the capital of Ukraine.\nIts mayor is Vitali Klitschko, a former boxer.\n"


def test_ids_and_titles_are_derived_stably() -> None:
    from_source = NewDocument(text=TEXT, source="reports/Q3 Budget.PDF")
    assert derive_id(from_source) == derive_id(NewDocument(text="other", source="reports/Q3 Budget.PDF"))
    assert derive_id(from_source).startswith("q3-budget.pdf-")
    assert derive_id(NewDocument(text=TEXT)) != derive_id(NewDocument(text=TEXT + "!"))
    assert default_title(from_source) == "Q3 Budget"
    assert default_title(NewDocument(text="\n  First line here\nsecond")) == "First line here"
    assert content_hash(NewDocument(text=TEXT, metadata={"a": 1})) != content_hash(NewDocument(text=TEXT))


def test_added_unchanged_replaced_and_deleted(pipeline: Pipeline) -> None:
    added = pipeline.ingest(NewDocument(text=TEXT, id="kyiv", title="Kyiv"))
    assert (added.id, added.status) == ("kyiv", "added") and added.chunks >= 1
    assert pipeline.ingest(NewDocument(text=TEXT, id="kyiv", title="Kyiv")).status == "unchanged"
    replaced = pipeline.ingest(NewDocument(text=TEXT + "It lies on the Dnipro.", id="kyiv", title="Kyiv"))
    assert replaced.status == "replaced"
    stored = pipeline.get_document("kyiv")
    assert stored.text.endswith("Dnipro.") and pipeline.count_documents() == 1
    assert pipeline.get_info("kyiv").chunks == replaced.chunks
    pipeline.delete("kyiv")
    assert pipeline.count_documents() == 0
    with pytest.raises(DocumentNotFound):
        pipeline.delete("kyiv")
    with pytest.raises(DocumentNotFound):
        pipeline.get_document("kyiv")


def test_refused_documents_write_nothing(pipeline: Pipeline) -> None:
    with pytest.raises(InvalidRequest):
        pipeline.ingest(NewDocument(text="   \n "))
    with pytest.raises(UnsupportedFileType):
        pipeline.ingest_bytes(b"\x00\x01binary", "blob.exe")
    assert pipeline.count_documents() == 0


def test_too_large_is_refused_before_anything_is_read(tmp_path) -> None:
    from tests.fakes import fake_pipeline

    tiny = fake_pipeline(tmp_path / "tiny", max_document_chars=20, max_upload_bytes=100)
    try:
        with pytest.raises(DocumentTooLarge):
            tiny.ingest(NewDocument(text=TEXT))
        with pytest.raises(DocumentTooLarge):
            tiny.ingest_bytes(b"x" * 101, "big.txt")
        assert tiny.count_documents() == 0
    finally:
        tiny.close()


def test_ingest_many_hands_refusals_to_on_error(pipeline: Pipeline) -> None:
    refused: list[tuple[str | None, str]] = []

    def on_error(doc: NewDocument, error: SpanqaError) -> None:
        refused.append((doc.id, type(error).__name__))

    docs = [NewDocument(text=TEXT, id="one"), NewDocument(text=" ", id="blank"), NewDocument(text=TEXT * 2, id="two")]
    results = pipeline.ingest_many(docs, batch_size=2, on_error=on_error)
    assert [(r.id, r.status) for r in results] == [("one", "added"), ("two", "added")]
    assert refused == [("blank", "InvalidRequest")]


def test_files_load_through_the_loaders(pipeline: Pipeline) -> None:
    html = b"<html><head><title>Kyiv page</title></head><body><p>" + TEXT.encode() + b"</p></body></html>"
    result = pipeline.ingest_bytes(html, "kyiv.html", doc_id="page")
    document = pipeline.get_document("page")
    assert result.status == "added" and document.content_type == "text/html"
    assert "Klitschko" in document.text
