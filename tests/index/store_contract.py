"""The store contract: what every backend must do, as pytest mixin classes (in the style of
Haystack's document-store test mixins).

A backend's test module subclasses `StoreContractTests` (or single mixins) and provides fixtures:
- `store`: a fresh, empty, writable store of dimension `DIM` (closed by the fixture afterwards);
- `open_read_only`: a callable opening a second, read-only store on `store`'s data, or `None` where
  the backend has no such thing (those tests are then skipped).
Texts are real sentences; vectors are deterministic unit vectors per chunk text (storage, not semantics).
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest

from errors import IndexError_
from index.store.protocol import NO_ANSWER, Feedback, FeedbackSpan
from index.types import Chunk, Document, Page
from tests.index.job_store_contract import JobStoreTests, StoredValuesTests

DIM = 8


def unit_vector(text: str) -> np.ndarray:
    seed = int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")
    vector = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return vector / np.linalg.norm(vector)


def item(doc_id: str, text: str, **fields) -> tuple[Document, list[Chunk], np.ndarray]:
    """A document chunked at sentence ends (". "), pages taken from `fields["pages"]` if given."""
    document = Document(id=doc_id, title=f"Title of {doc_id}", text=text, **fields)
    chunks, start = [], 0
    while start < len(text):
        end = text.find(". ", start)
        end = len(text) if end < 0 else end + 2
        chunks.append(Chunk(doc_id=doc_id, start=start, end=end, text=text[start:end], page=document.page_at(start)))
        start = end
    vectors = np.stack([unit_vector(c.text) for c in chunks]) if chunks else np.zeros((0, DIM), np.float32)
    return document, chunks, vectors


CORPUS = {
    "rivers": "The Rhine flows through Basel and Cologne. Barges carry coal and grain on the river.",
    "castles": "Norman castles were built of stone after 1066. The keep was the strongest tower.",
    "packets": "Packet switching splits data into small blocks. Each packet is routed on its own.",
    "warsaw": "Warsaw is the capital of Poland. The Vistula river runs through the city.",
    "valve": "The replacement valve is part XQ7731B. It ships from Rotterdam within a week.",
}


def fill(store, corpus: dict[str, str] = CORPUS) -> None:
    store.add_many([item(doc_id, text) for doc_id, text in corpus.items()])


class DocumentWriteTests:
    def test_add_returns_stored_chunks_with_ids(self, store):
        stored = store.add(*item("rivers", CORPUS["rivers"]))
        assert [c.id for c in stored] == [c.id for c in store.chunks_of("rivers")]
        assert len({c.id for c in stored}) == len(stored) == 2
        assert store.get_chunks([c.id for c in reversed(stored)]) == list(reversed(stored))

    def test_replacing_a_document_leaves_nothing_of_the_old_one(self, store):
        fill(store)
        old = store.chunks_of("valve")
        store.add(*item("valve", "The valve is now part ZR2209K."))
        assert store.count_documents() == len(CORPUS)
        assert [c.text for c in store.chunks_of("valve")] == ["The valve is now part ZR2209K."]
        with pytest.raises(KeyError):
            store.get_chunks([old[0].id])
        assert store.keyword.search("XQ7731B", 5) == []
        assert store.count_chunks() == store.count_vectors() == 2 * (len(CORPUS) - 1) + 1

    def test_delete(self, store):
        fill(store)
        assert store.delete("valve") is True
        assert store.delete("valve") is False
        assert store.get_document("valve") is None and store.chunks_of("valve") == []
        assert all(c.doc_id != "valve" for c, _ in store.search(unit_vector("x"), 20))
        assert store.keyword.search("XQ7731B Rotterdam", 5) == []

    def test_add_many_is_all_or_nothing(self, store):
        fill(store)
        good = item("new", "A new document. It has two sentences.")
        document, chunks, vectors = item("bad", "Offsets that lie. About the text.")
        chunks[0] = Chunk("bad", 0, 5, "other")
        for bad in [(document, chunks, vectors), (document, chunks[:1], vectors)]:
            with pytest.raises(ValueError):
                store.add_many([good, bad])
        assert store.get_document("new") is None and store.count_documents() == len(CORPUS)

    @pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
    def test_metadata_that_json_cannot_hold_is_refused(self, store, value):
        fill(store)
        with pytest.raises(ValueError, match="NaN or infinity"):
            store.add(*item("odd", "Odd metadata. Refused.", metadata={"score": value}))
        assert store.get_document("odd") is None
        assert store.doc_ids_matching({"score": 1}) == []

    def test_non_finite_or_misshaped_vectors_are_refused(self, store):
        document, chunks, vectors = item("v", "One. Two.")
        with pytest.raises(ValueError):
            store.add(document, chunks, np.full_like(vectors, np.nan))
        with pytest.raises(ValueError):
            store.add(document, chunks, vectors[:, :3])
        assert store.count_documents() == 0


class DocumentReadTests:
    def test_document_round_trip(self, store):
        text = "Page one text. Page two text. Ünïcødé on page three 🚀."
        pages = [Page(1, 0, 15), Page(2, 15, 30), Page(3, 30, len(text))]
        metadata = {"lang": "en", "tags": ["a", "b"], "nested": {"k": [1, 2.5, None]}, "ok": True, "n": 3}
        document, chunks, vectors = item("doc-ü", text, pages=pages, metadata=metadata, source="/tmp/x.pdf")
        document.content_type = "application/pdf"
        store.add(document, chunks, vectors)
        got = store.get_document("doc-ü")
        assert (got.text, got.title, got.pages, got.metadata) == (text, "Title of doc-ü", pages, metadata)
        assert (got.source, got.content_type) == ("/tmp/x.pdf", "application/pdf")
        assert got.content_hash and got.created_at > 0
        info = store.get_info("doc-ü")
        assert (info.chars, info.chunks, info.pages, info.metadata) == (len(text), 3, 3, metadata)
        for chunk in store.chunks_of("doc-ü"):
            assert text[chunk.start : chunk.end] == chunk.text and chunk.page == got.page_at(chunk.start)
        assert [c.page for c in store.chunks_of("doc-ü")] == [1, 2, 3]

    def test_missing_things(self, store):
        fill(store)
        assert store.get_document("nope") is None and store.get_info("nope") is None
        assert store.chunks_of("nope") == []
        with pytest.raises(KeyError):
            store.get_chunks([10**9])
        assert store.chunk_vectors([10**9]) == {}

    def test_chunk_vectors_are_the_stored_ones(self, store):
        stored = store.add(*item("rivers", CORPUS["rivers"]))
        vectors = store.chunk_vectors([c.id for c in stored])
        for chunk in stored:
            assert np.allclose(vectors[chunk.id], unit_vector(chunk.text))

    def test_list_documents_pages_in_insertion_order(self, store):
        for i in range(7):
            store.add(*item(f"d{i}", f"Document number {i}. It is short."))
        ids = [info.id for info in store.list_documents(limit=100)]
        assert ids == [f"d{i}" for i in range(7)]
        assert [info.id for info in store.list_documents(offset=2, limit=3)] == ["d2", "d3", "d4"]
        assert store.list_documents(offset=7) == []
        with pytest.raises(ValueError):
            store.list_documents(offset=-1)

    def test_counts(self, store):
        fill(store)
        assert store.count_documents() == len(CORPUS)
        assert store.count_chunks() == store.count_vectors() == 2 * len(CORPUS)
        store.check()
        assert store.verify() == []

    def test_empty_store(self, store):
        assert (store.count_documents(), store.count_chunks(), store.count_vectors()) == (0, 0, 0)
        assert store.list_documents() == [] and store.doc_ids_matching({}) == []
        assert store.search(unit_vector("q"), 5) == [] and store.keyword.search("river", 5) == []
        assert store.keyword.scores_of("river", [1, 2]) == {}
        store.check()


class MetadataFilterTests:
    @pytest.fixture
    def tagged(self, store):
        metas = {
            "a": {"lang": "en", "year": 2020, "draft": False, "tags": ["x"], "deep": {"k": 1}},
            "b": {"lang": "de", "year": 2020.0, "draft": True, "owner": None},
            "c": {"lang": "en", "year": "2020", "draft": None},
            "d": {},
        }
        store.add_many([item(k, f"Document {k}. Text.", metadata=v) for k, v in metas.items()])
        return store

    def test_equality_compares_json_types(self, tagged):
        assert tagged.doc_ids_matching({"lang": "en"}) == ["a", "c"]
        assert tagged.doc_ids_matching({"year": 2020}) == ["a", "b"]  # 2020 == 2020.0, not "2020"
        assert tagged.doc_ids_matching({"year": "2020"}) == ["c"]
        assert tagged.doc_ids_matching({"draft": False}) == ["a"]  # false is not 0 nor null
        assert tagged.doc_ids_matching({"draft": None}) == ["c"]
        assert tagged.doc_ids_matching({"owner": None}) == ["b"]  # null, not a missing key

    def test_a_list_matches_any_and_keys_combine(self, tagged):
        assert tagged.doc_ids_matching({"lang": ["de", "en"]}) == ["a", "b", "c"]
        assert tagged.doc_ids_matching({"lang": "en", "year": 2020}) == ["a"]
        assert tagged.doc_ids_matching({"lang": []}) == []
        assert tagged.doc_ids_matching({}) == ["a", "b", "c", "d"]
        assert tagged.doc_ids_matching({"missing": "x"}) == []

    def test_non_finite_and_huge_filter_values_match_nothing_or_compare(self, tagged):
        assert tagged.doc_ids_matching({"year": math.nan}) == []
        assert tagged.doc_ids_matching({"year": 2**70}) == []

    def test_bad_filters_are_value_errors(self, tagged):
        for bad in ({"": 1}, {'a"b': 1}, {"deep": {"k": 1}}, {"tags": [["x"]]}):
            with pytest.raises(ValueError):
                tagged.doc_ids_matching(bad)


class VectorSearchTests:
    def test_a_chunks_own_vector_finds_it_first_and_scores_descend(self, store):
        fill(store)
        target = store.chunks_of("castles")[1]
        hits = store.search(unit_vector(target.text), 4)
        assert hits[0][0] == target and hits[0][1] == pytest.approx(1.0, abs=1e-5)
        scores = [score for _, score in hits]
        assert scores == sorted(scores, reverse=True) and len(hits) == 4

    def test_k_beyond_the_corpus_and_doc_ids(self, store):
        fill(store)
        assert len(store.search(unit_vector("q"), 100)) == 2 * len(CORPUS)
        hits = store.search(unit_vector("q"), 100, doc_ids={"warsaw", "valve", "nope"})
        assert {c.doc_id for c, _ in hits} == {"warsaw", "valve"} and len(hits) == 4
        assert store.search(unit_vector("q"), 5, doc_ids=[]) == []
        assert store.search(unit_vector("q"), 5, doc_ids=["nope"]) == []
        assert store.search(unit_vector("q"), 0) == []

    def test_a_query_of_the_wrong_dimension_is_a_value_error(self, store):
        fill(store)
        with pytest.raises(ValueError):
            store.search(np.ones(DIM + 1, np.float32), 3)


class KeywordSearchTests:
    def test_a_rare_token_finds_its_document_first(self, store):
        fill(store)
        hits = store.keyword.search("Which part is XQ7731B?", 5)
        assert store.get_chunks([hits[0][0]])[0].doc_id == "valve"
        scores = [score for _, score in hits]
        assert all(s > 0 for s in scores) and scores == sorted(scores, reverse=True)

    def test_stemming_and_stop_words(self, store):
        fill(store)
        hits = store.keyword.search("the rivers", 5)  # "the" is a stop word; "rivers" stems to "river"
        assert {store.get_chunks([i])[0].doc_id for i, _ in hits} == {"rivers", "warsaw"}
        assert store.keyword.search("the of and", 5) == []

    def test_doc_ids_and_scores_of(self, store):
        fill(store)
        hits = store.keyword.search("river city", 10)
        only = store.keyword.search("river city", 10, doc_ids={"warsaw"})
        assert only and {store.get_chunks([i])[0].doc_id for i, _ in only} == {"warsaw"}
        assert store.keyword.search("river", 5, doc_ids=[]) == []
        assert store.keyword.scores_of("river city", [i for i, _ in hits]) == pytest.approx(dict(hits))
        other = store.chunks_of("packets")[0].id
        assert store.keyword.scores_of("river city", [other, 10**9]) == {other: 0.0}

    def test_unicode_text_and_queries(self, store):
        store.add(*item("ü", "Zürich liegt am Zürichsee. Çà et là: naïve café 東京 🚀."))
        assert store.get_chunks([store.keyword.search("zürich", 3)[0][0]])[0].doc_id == "ü"
        assert store.keyword.search("東京", 3)
        assert store.keyword.search("🚀 \u0000 \"' OR NOT AND * ( ) :", 3) == []


class ReadOnlyFollowsWriterTests:
    def test_a_read_only_store_sees_the_writers_commits(self, store, open_read_only):
        if open_read_only is None:
            pytest.skip("this backend has no read-only open")
        fill(store)
        reader = open_read_only()
        assert reader.count_documents() == len(CORPUS)
        store.add(*item("late", "A late document about part QW5512T."))
        assert reader.get_document("late") is not None
        assert [reader.get_chunks([i])[0].doc_id for i, _ in reader.keyword.search("QW5512T", 3)] == ["late"]
        target = store.chunks_of("late")[0]
        assert reader.search(unit_vector(target.text), 1)[0][0] == target
        store.delete("late")
        assert reader.search(unit_vector(target.text), 1)[0][0] != target
        assert reader.keyword.search("QW5512T", 3) == []
        with pytest.raises(IndexError_):
            reader.add(*item("nope", "Read-only stores never write."))


def feedback_on(store, doc_id: str, start: int, end: int, **fields) -> Feedback:
    """Feedback on `document.text[start:end]` of a stored document (its context: the whole text)."""
    text = store.get_document(doc_id).text
    span = FeedbackSpan(doc_id, start, end, text[start:end], context=text, context_start=0)
    values = {"question": f"What about {doc_id}?", "answer": span, "verdict": "correct", "correction": None}
    return Feedback(**{**values, "created_at": 1_700_000_000.0, **fields})


class FeedbackTests:
    def test_feedback_round_trip_with_every_kind_of_correction(self, store):
        fill(store)
        right = feedback_on(store, "valve", 30, 37, question="Which part? Ünïcødé 🚀")
        other = feedback_on(store, "castles", 0, 14)
        records = [
            right,
            Feedback("Which river?", None, "wrong", other.answer, 1_700_000_001.5),  # "no answer" was wrong
            feedback_on(store, "warsaw", 0, 6, verdict="wrong", correction=NO_ANSWER, created_at=1_700_000_002.0),
            feedback_on(store, "rivers", 4, 9, verdict="wrong", correction=None, created_at=1_700_000_003.0),
        ]
        stored = [store.feedback.add(record) for record in records]
        assert [s.id for s in stored] == sorted({s.id for s in stored}) and all(s.id > 0 for s in stored)
        for record, saved in zip(records, stored):
            assert saved == Feedback(**{**record.__dict__, "id": saved.id})
            assert store.feedback.get(saved.id) == saved
        assert stored[0].answer.text == "XQ7731B" and store.feedback.get(stored[2].id).correction == NO_ANSWER
        assert store.feedback.get(max(s.id for s in stored) + 1) is None

    def test_feedback_pages_newest_first(self, store):
        fill(store)
        assert store.feedback.count() == 0 and store.feedback.list_page() == []
        times = [5.0, 1.0, 3.0, 3.0, 9.0]
        stored = [store.feedback.add(feedback_on(store, "rivers", 4, 9, created_at=t)) for t in times]
        newest = sorted(stored, key=lambda f: (f.created_at, f.id), reverse=True)
        assert store.feedback.count() == 5
        assert store.feedback.list_page(0, 50) == newest
        assert store.feedback.list_page(1, 2) == newest[1:3]
        assert store.feedback.list_page(4, 10) == newest[4:] and store.feedback.list_page(5, 10) == []

    def test_feedback_outlives_its_document(self, store):
        fill(store)
        saved = store.feedback.add(feedback_on(store, "valve", 30, 37))
        store.delete("valve")
        store.add(*item("valve", "Rewritten entirely."))
        assert store.feedback.get(saved.id) == saved and saved.answer.text == "XQ7731B"

    def test_a_reader_sees_the_writers_feedback_and_cannot_add(self, store, open_read_only):
        if open_read_only is None:
            pytest.skip("this backend has no read-only mode")
        fill(store)
        saved = store.feedback.add(feedback_on(store, "packets", 0, 16))
        reader = open_read_only()
        assert reader.feedback.count() == 1 and reader.feedback.get(saved.id) == saved
        later = store.feedback.add(feedback_on(store, "packets", 0, 16, created_at=1_800_000_000.0))
        assert reader.feedback.list_page() == [later, saved]
        with pytest.raises(IndexError_):
            reader.feedback.add(feedback_on(store, "packets", 0, 16))


class StoreContractTests(
    DocumentWriteTests,
    DocumentReadTests,
    MetadataFilterTests,
    VectorSearchTests,
    KeywordSearchTests,
    ReadOnlyFollowsWriterTests,
    JobStoreTests,
    StoredValuesTests,
    FeedbackTests,
):
    """Everything a backend must pass."""
