"""The reader's ONNX export: an `AutoModelForQuestionAnswering` with outputs `start_logits` and
`end_logits` (batch x sequence), cached and quantized by index.onnx_export."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from index.onnx_export import ExportedModel, ExportSpec, Precision, exported_model

TASK = "question-answering"


def reader_export_spec(model_dir: Path) -> ExportSpec:
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForQuestionAnswering.from_pretrained(model_dir, attn_implementation="eager").eval()
    input_names: list[str] = [
        n for n in ("input_ids", "attention_mask", "token_type_ids") if n in tokenizer.model_input_names
    ]

    class QA(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: torch.Tensor) -> tuple[Any, Any]:
            out = self.model(**dict(zip(input_names, inputs)))
            return out.start_logits, out.end_logits

    return ExportSpec(QA(), input_names, ["start_logits", "end_logits"], {0: "batch", 1: "sequence"})


def exported_reader_model(model: str, cache_dir: Path, *, precision: Precision = "int8") -> ExportedModel:
    """The cached ONNX export of the extractive QA `model` (exported on first use)."""
    return exported_model(model, cache_dir, task=TASK, build=reader_export_spec, precision=precision)
