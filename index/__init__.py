"""Text encoders and the vector index derived from the knowledge store.

This package never imports ``discord``, ``knowledge`` or ``cogs``: it knows
texts, ids and vectors, nothing of where they come from.
"""

from index.encoder import (
    DEFAULT_MODEL,
    Encoder,
    HashingEncoder,
    SentenceTransformerEncoder,
    default_model_path,
)
from index.vectors import (
    IndexCorrupt,
    IndexMeta,
    IndexMismatch,
    IndexMissing,
    VectorIndex,
    build_index,
    choose_kind,
    read_meta,
)

__all__ = [
    "DEFAULT_MODEL",
    "Encoder",
    "HashingEncoder",
    "IndexCorrupt",
    "IndexMeta",
    "IndexMismatch",
    "IndexMissing",
    "SentenceTransformerEncoder",
    "VectorIndex",
    "build_index",
    "choose_kind",
    "default_model_path",
    "read_meta",
]
