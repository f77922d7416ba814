"""ONNX Runtime copies of the Hugging Face models: exported once, cached, loaded as sessions.

`exported_model(model, cache_dir, task=..., precision=..., build=...)` returns the path of an ONNX
file for the model, exporting it (with `torch.onnx.export`) and optionally quantizing it to int8
(`onnxruntime.quantization.quantize_dynamic`) the first time only. The cache folder's name
holds a hash of everything the export depends on (model path, its config, the size and mtime
of its weights, precision, torch and onnxruntime versions), so changed weights give a new
export and an unchanged model is never exported twice. An export is written into a temporary
folder beside the cache entry and renamed into place, so a reader never sees half a model; a
file lock keeps two processes from exporting the same model at once.

This module knows no model kind: `build(model_dir)` returns the `ExportSpec` of one (the torch
module to trace, its input and output names, dynamic axes). The embedder's lives in
`index.sentence_export`, the reader's in `qa.reader_export`.

Why the legacy TorchScript exporter (`dynamo=False`): it needs only the `onnx` package (the
dynamo exporter also needs `onnxscript`), traces these BERT encoders exactly (logits equal to
PyTorch's within 1e-5), and with eager attention its graph is the one ONNX Runtime's
quantizer and kernels handle best. `optimum` would do this job, but its releases require
transformers < 4.58 and this project is on transformers 5.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Precision = Literal["fp32", "int8"]

# Bump when the export recipe changes, so old cache entries are not reused.
EXPORT_VERSION = 3
OPSET = 17
MODEL_FILE = "model.onnx"
META_FILE = "meta.json"


@dataclass(frozen=True)
class ExportSpec:
    """What to export: a torch module taking `input_names` (int64, batch x sequence) positionally."""

    module: Any
    input_names: list[str]
    output_names: list[str]
    output_axes: dict[int, str]  # dynamic axes of every output, e.g. {0: "batch", 1: "sequence"}
    extra: dict[str, Any] = field(default_factory=dict)  # kept in the metadata


BuildSpec = Callable[[Path], ExportSpec]


@dataclass(frozen=True)
class ExportedModel:
    """An ONNX model in the cache, with what the runtime needs to feed it."""

    path: Path  # the .onnx file
    meta: dict[str, Any]  # input_names, output_names, task, precision, and task extras
    exported: bool  # True when this call exported it, False when it came from the cache


def default_cache_dir() -> Path:
    """Where exports go when the caller names no folder: the user's cache directory."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "spanqa" / "models-cache"


def resolve_model_dir(model: str) -> Path:
    """The local folder of a model given by path or hub id (hub ids from the local HF cache)."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path.resolve()
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(model))


def cache_key(model_dir: Path, task: str, precision: Precision) -> str:
    """A hash of everything an export depends on: same key, same ONNX model."""
    import onnxruntime
    import torch

    h = hashlib.sha256()
    for part in (
        str(model_dir),
        task,
        precision,
        str(EXPORT_VERSION),
        str(OPSET),
        torch.__version__,
        onnxruntime.__version__,
    ):
        h.update(part.encode())
        h.update(b"\x00")
    for name in ("config.json", "modules.json", "sentence_bert_config.json", "1_Pooling/config.json"):
        file = model_dir / name
        if file.is_file():
            h.update(name.encode() + b"\x00" + file.read_bytes() + b"\x00")
    weights = sorted(
        p for p in model_dir.rglob("*") if p.is_file() and p.suffix in {".safetensors", ".bin", ".pt", ".pth"}
    )
    for p in weights:
        st = p.stat()
        h.update(f"{p.relative_to(model_dir)}:{st.st_size}:{st.st_mtime_ns}\x00".encode())
    return h.hexdigest()[:16]


def cache_entry(model: str, cache_dir: Path, task: str, precision: Precision) -> Path:
    """The cache folder for this model, task and precision (it may not exist yet)."""
    model_dir = resolve_model_dir(model)
    # The last two path parts: a sentence-transformers package keeps its model in ".../<name>/model".
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", "-".join(model_dir.parts[-2:])).strip("-")[-60:] or "model"
    return Path(cache_dir) / f"{slug}-{task}-{precision}-{cache_key(model_dir, task, precision)}"


def exported_model(
    model: str, cache_dir: Path, *, task: str, build: BuildSpec, precision: Precision = "int8"
) -> ExportedModel:
    """The cached ONNX export of `model` for `task`, exporting `build(model_dir)` (and quantizing it) on first use."""
    from filelock import FileLock

    entry = cache_entry(model, cache_dir, task, precision)
    if (entry / META_FILE).is_file():
        return _load_entry(entry, exported=False)
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(entry) + ".lock")
        lock.acquire()
    except OSError:  # a read-only data directory: export into the user's cache instead
        fallback = default_cache_dir()
        if Path(cache_dir).resolve() == fallback.resolve():
            raise
        return exported_model(model, fallback, task=task, build=build, precision=precision)
    try:
        if (entry / META_FILE).is_file():  # another process finished it while we waited
            return _load_entry(entry, exported=False)
        tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", dir=entry.parent))
        tmp.chmod(0o755)
        try:
            meta = _export(build(resolve_model_dir(model)), tmp, task, precision)
            meta["source"] = model
            (tmp / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
            os.replace(tmp, entry)  # atomic: the entry appears whole or not at all
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    finally:
        lock.release()
    return _load_entry(entry, exported=True)


def _load_entry(entry: Path, *, exported: bool) -> ExportedModel:
    meta = json.loads((entry / META_FILE).read_text(encoding="utf-8"))
    return ExportedModel(path=entry / MODEL_FILE, meta=meta, exported=exported)


def _export(spec: ExportSpec, out_dir: Path, task: str, precision: Precision) -> dict[str, Any]:
    """Exports into `out_dir/model.onnx`; returns the metadata the runtime needs."""
    import torch

    fp32_path = out_dir / ("model-fp32.onnx" if precision == "int8" else MODEL_FILE)
    example = torch.ones((2, 16), dtype=torch.long)
    dynamic: dict[str, dict[int, str]] = {name: {0: "batch", 1: "sequence"} for name in spec.input_names}
    for name in spec.output_names:
        dynamic[name] = dict(spec.output_axes)
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer and deprecation warnings: the outputs are checked in tests
        torch.onnx.export(
            spec.module,
            tuple(example for _ in spec.input_names),
            str(fp32_path),
            input_names=spec.input_names,
            output_names=spec.output_names,
            dynamic_axes=dynamic,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    if precision == "int8":
        _quantize(fp32_path, out_dir / MODEL_FILE)
        fp32_path.unlink()
    return {
        "task": task,
        "precision": precision,
        "input_names": spec.input_names,
        "output_names": spec.output_names,
        **spec.extra,
    }


def _quantize(src: Path, dst: Path) -> None:
    """Dynamic int8 quantization of every MatMul's weights (activations quantized at run time).

    Per-channel scales: per-tensor int8 lost 7.7 F1 points on the reader (SQuAD dev, gold
    paragraph) and left the embeddings at cosine 0.955 to fp32; per channel it is 0.3 F1 and
    cosine 0.995, at the same speed. `reduce_range` (7-bit weights) keeps CPUs without VNNI
    from saturating in their u8 x s8 kernels; it cost nothing measurable here.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(src),
        str(dst),
        weight_type=QuantType.QInt8,
        per_channel=True,
        reduce_range=True,
        op_types_to_quantize=["MatMul"],
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


def make_session(path: Path, *, threads: int = 0, spinning: bool = False) -> Any:
    """An ONNX Runtime CPU session: `threads` intra-op threads (0 = ORT's default, one per
    physical core), one inter-op thread, full graph optimizations.

    Spinning is off by default: ORT's idle intra-op threads otherwise busy-wait for the next
    piece of work, which on a small shared machine (or with several requests in flight) takes
    the cores from the threads doing real work; measured on 2 cores, turning it off cut the CPU
    time per question by half and the latency with it (bench/levers.py).
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
