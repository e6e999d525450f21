"""Text encoders and the vector index derived from the knowledge store.

This package never imports ``discord``, ``knowledge`` or ``cogs``: it knows
texts, ids and vectors, nothing of where they come from.

* :mod:`index.encoder`: texts to L2-normalised vectors;
* :mod:`index.vectors`: :class:`VectorIndex`, vectors keyed by int64 ids;
* :mod:`index.kinds`: the index kinds the product serves, and :func:`choose_kind`;
* :mod:`index.storage`: the saved files, their metadata and their checks.
"""

from index.encoder import (
    DEFAULT_MODEL,
    Encoder,
    HashingEncoder,
    SentenceTransformerEncoder,
    default_model_path,
)
from index.kinds import APPROXIMATE_FROM, choose_kind
from index.storage import IndexCorrupt, IndexMeta, IndexMismatch, IndexMissing, read_meta
from index.vectors import VectorIndex

__all__ = [
    "APPROXIMATE_FROM",
    "DEFAULT_MODEL",
    "Encoder",
    "HashingEncoder",
    "IndexCorrupt",
    "IndexMeta",
    "IndexMismatch",
    "IndexMissing",
    "SentenceTransformerEncoder",
    "VectorIndex",
    "choose_kind",
    "default_model_path",
    "read_meta",
]
