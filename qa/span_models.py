"""The reader's model backends: start/end logits for int64 inputs, in PyTorch or ONNX Runtime."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import torch
from transformers import AutoModelForQuestionAnswering


class SpanModel(Protocol):
    """Start and end logits (batch x tokens, float32) for int64 model inputs."""

    def __call__(self, inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]: ...


class TorchSpanModel:
    """The model in PyTorch (any device)."""

    def __init__(self, model: str, device: torch.device) -> None:
        self.device = device
        self.model = AutoModelForQuestionAnswering.from_pretrained(model).to(device).eval()

    def __call__(self, inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        with torch.inference_mode():
            out = self.model(**{k: torch.from_numpy(v).to(self.device) for k, v in inputs.items()})
        return out.start_logits.float().cpu().numpy(), out.end_logits.float().cpu().numpy()


class OnnxSpanModel:
    """The model in ONNX Runtime on CPU, exported once into `cache_dir` (see qa.reader_export)."""

    def __init__(
        self, model: str, *, cache_dir: Path | None, precision: Literal["fp32", "int8"], threads: int = 0
    ) -> None:
        from index.onnx_export import default_cache_dir, make_session
        from qa.reader_export import exported_reader_model

        self.exported = exported_reader_model(model, cache_dir or default_cache_dir(), precision=precision)
        self.session = make_session(self.exported.path, threads=threads)
        self.input_names = list(self.exported.meta["input_names"])

    def __call__(self, inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        start, end = self.session.run(["start_logits", "end_logits"], {k: inputs[k] for k in self.input_names})
        return start, end
