"""A saved vector index on disk: two files written atomically, checked on load.

A saved index is two files in one directory: ``vectors.faiss`` (the FAISS
index) and ``meta.json`` (:class:`IndexMeta`: model, dimension, count, kind,
database fingerprint). Each is written to a temporary file in the same
directory, flushed to disk and moved into place with ``os.replace``;
``meta.json`` comes last and records the SHA-256 of ``vectors.faiss``, so a
crash between the two moves, or a damaged file, is detected on load instead
of serving wrong results. One writer per directory is assumed.

Whenever a saved index cannot be used as it is, loading raises
:class:`IndexMismatch` (or its subclasses :class:`IndexMissing` and
:class:`IndexCorrupt`) and the caller rebuilds it from the database.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Container
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss

__all__ = [
    "FORMAT_VERSION",
    "INDEX_FILE",
    "META_FILE",
    "IndexCorrupt",
    "IndexMeta",
    "IndexMismatch",
    "IndexMissing",
    "read_index",
    "read_meta",
    "write_index",
]

log = logging.getLogger(__name__)

INDEX_FILE = "vectors.faiss"
META_FILE = "meta.json"
FORMAT_VERSION = 1
"""Version of the on-disk layout; a saved index of another version is rebuilt."""

_TEMP_SUFFIX = ".tmp"
_HASH_CHUNK = 1 << 20
_META_FIELDS: dict[str, type] = {
    "model": str,
    "dim": int,
    "count": int,
    "fingerprint": str,
    "kind": str,
    "created_at": str,
    "checksum": str,
}


@dataclass(frozen=True, slots=True)
class IndexMeta:
    """What a saved index was built from, written next to it as ``meta.json``.

    ``fingerprint`` is an opaque string chosen by the caller that describes
    the state of the database the index was built from. ``checksum`` is the
    SHA-256 (hex) of ``vectors.faiss``.
    """

    model: str
    dim: int
    count: int
    fingerprint: str
    kind: str
    created_at: str
    checksum: str

    def to_json(self) -> str:
        """Serialise to a JSON document, with the format version."""
        return json.dumps({"format": FORMAT_VERSION, **asdict(self)}, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> IndexMeta:
        """Parse :meth:`to_json` output; raise :class:`ValueError` if it is not valid."""
        try:
            data: Any = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        if data.get("format") != FORMAT_VERSION:
            raise ValueError(f"format {data.get('format')!r}, expected {FORMAT_VERSION}")
        for key, kind in _META_FIELDS.items():
            value = data.get(key)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise ValueError(f"field {key!r} is missing or not a {kind.__name__}")
        return cls(**{key: data[key] for key in _META_FIELDS})


class IndexMismatch(Exception):
    """A saved index cannot be used as it is and must be rebuilt from the database.

    ``reason`` says what differs (model, dimension, fingerprint, files).
    """

    def __init__(self, directory: Path, reason: str) -> None:
        """Describe why the index in ``directory`` is unusable."""
        super().__init__(
            f"vector index in {directory} cannot be used: {reason}; "
            "it must be rebuilt from the database"
        )
        self.directory = directory
        self.reason = reason


class IndexMissing(IndexMismatch):
    """No saved index (or only part of one) is in the directory, e.g. on first start."""


class IndexCorrupt(IndexMismatch):
    """The saved files are unreadable, truncated or do not belong together."""


def read_meta(directory: Path) -> IndexMeta | None:
    """The metadata saved in ``directory``, or ``None`` if there is none.

    Raises :class:`IndexCorrupt` when ``meta.json`` exists but cannot be read.
    """
    directory = Path(directory)
    try:
        text = (directory / META_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexCorrupt(directory, f"cannot read {META_FILE}: {exc}") from exc
    try:
        return IndexMeta.from_json(text)
    except ValueError as exc:
        raise IndexCorrupt(directory, f"{META_FILE} is invalid: {exc}") from exc


def write_index(
    directory: Path, raw: faiss.Index, *, model: str, fingerprint: str, kind: str, count: int
) -> IndexMeta:
    """Save the FAISS index ``raw`` and its metadata atomically into ``directory``.

    Temporary files left by an earlier crash are removed first.
    """
    directory.mkdir(parents=True, exist_ok=True)
    _remove_stale_temp_files(directory)
    tmp = _temp_path(directory, INDEX_FILE)
    try:
        faiss.write_index(raw, str(tmp))
        checksum = _file_sha256(tmp, sync=True)
        os.replace(tmp, directory / INDEX_FILE)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    meta = IndexMeta(
        model=model,
        dim=int(raw.d),
        count=count,
        fingerprint=fingerprint,
        kind=kind,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        checksum=checksum,
    )
    _atomic_write_text(directory / META_FILE, meta.to_json())
    _sync_directory(directory)
    return meta


def read_index(
    directory: Path,
    *,
    expected_model: str,
    expected_dim: int,
    expected_fingerprint: str | None,
    kinds: Container[str],
) -> tuple[faiss.Index, IndexMeta]:
    """The FAISS index saved in ``directory`` and its metadata, if they are what is expected.

    ``expected_fingerprint=None`` skips the fingerprint check; ``kinds`` are
    the index kinds the caller can serve. Raises :class:`IndexMissing`,
    :class:`IndexCorrupt` or :class:`IndexMismatch` with the reason otherwise.
    """
    meta = read_meta(directory)
    index_path = directory / INDEX_FILE
    if meta is None:
        if index_path.exists():
            raise IndexMissing(directory, f"{META_FILE} is missing")
        raise IndexMissing(directory, "no saved index")
    if not index_path.is_file():
        raise IndexMissing(directory, f"{INDEX_FILE} is missing")
    reason = _meta_mismatch(meta, expected_model, expected_dim, expected_fingerprint, kinds)
    if reason:
        raise IndexMismatch(directory, reason)
    try:
        checksum = _file_sha256(index_path)
    except OSError as exc:
        raise IndexCorrupt(directory, f"cannot read {INDEX_FILE}: {exc}") from exc
    if checksum != meta.checksum:
        raise IndexCorrupt(
            directory,
            f"{INDEX_FILE} does not match the checksum in {META_FILE} "
            "(interrupted save or damaged file)",
        )
    try:
        return faiss.read_index(str(index_path)), meta
    except RuntimeError as exc:
        raise IndexCorrupt(directory, f"FAISS cannot read {INDEX_FILE}: {exc}") from exc


def _meta_mismatch(
    meta: IndexMeta,
    model: str,
    dim: int,
    fingerprint: str | None,
    kinds: Container[str],
) -> str:
    """Why an index saved with ``meta`` is not the one expected ("" if it is)."""
    if meta.model != model:
        return f"built with model {meta.model!r}, expected {model!r}"
    if meta.dim != dim:
        return f"built with dimension {meta.dim}, expected {dim}"
    if fingerprint is not None and meta.fingerprint != fingerprint:
        return f"built from database state {meta.fingerprint!r}, expected {fingerprint!r}"
    if meta.kind not in kinds:
        return f"unknown index kind {meta.kind!r}"
    return ""


def _temp_path(directory: Path, name: str) -> Path:
    """A new, empty temporary file next to ``directory / name``."""
    fd, path = tempfile.mkstemp(prefix=f".{name}.", suffix=_TEMP_SUFFIX, dir=directory)
    os.close(fd)
    return Path(path)


def _remove_stale_temp_files(directory: Path) -> None:
    """Delete temporary files that an interrupted save left behind."""
    for name in (INDEX_FILE, META_FILE):
        for stale in directory.glob(f".{name}.*{_TEMP_SUFFIX}"):
            log.warning("removing temporary file %s left by an interrupted save", stale)
            stale.unlink(missing_ok=True)


def _file_sha256(path: Path, *, sync: bool = False) -> str:
    """The SHA-256 (hex) of the file at ``path``, after flushing it to disk if ``sync``."""
    digest = hashlib.sha256()
    with path.open("r+b" if sync else "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
        if sync:
            os.fsync(handle.fileno())
    return digest.hexdigest()


def _atomic_write_text(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that readers see the old or the new file, never half."""
    tmp = _temp_path(path.parent, path.name)
    try:
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _sync_directory(directory: Path) -> None:
    """Flush the directory entry so the renames survive a power loss (POSIX only)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with contextlib.suppress(OSError):  # some file systems refuse to fsync a directory
            os.fsync(fd)
    finally:
        os.close(fd)
