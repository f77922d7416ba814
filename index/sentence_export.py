"""The embedder's ONNX export: a sentence-transformers model (transformer, pooling and
normalization in one graph) with output `sentence_embedding` (see index.onnx_export)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from index.onnx_export import ExportedModel, ExportSpec, Precision, exported_model

TASK = "sentence-embedding"


def sentence_export_spec(model_dir: Path) -> ExportSpec:
    import torch
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(model_dir), device="cpu", model_kwargs={"attn_implementation": "eager"}).eval()
    input_names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in st.tokenizer.model_input_names]

    class Sentence(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.st = st

        def forward(self, *inputs: torch.Tensor) -> Any:
            return self.st(dict(zip(input_names, inputs)))["sentence_embedding"]

    extra = {"dimension": int(st.get_embedding_dimension() or 0), "max_seq_length": int(cast(int, st.max_seq_length))}
    return ExportSpec(Sentence(), input_names, ["sentence_embedding"], {0: "batch"}, extra)


def exported_sentence_model(model: str, cache_dir: Path, *, precision: Precision = "int8") -> ExportedModel:
    """The cached ONNX export of the sentence-transformers `model` (exported on first use)."""
    return exported_model(model, cache_dir, task=TASK, build=sentence_export_spec, precision=precision)
