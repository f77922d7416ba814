"""Where a run computes: device, torch threads, quiet library logs, a description for the card."""

from __future__ import annotations

import os
import platform
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch


def pick_device(device: str) -> torch.device:
    if device != "auto":
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def set_threads(threads: int) -> int:
    """Sets torch's intra-op threads (0 = every core this process may use); returns the number."""
    if threads <= 0:
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)  # one model, one stream of ops: no inter-op pool needed
    except RuntimeError:  # already set in this process
        pass
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    return threads


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """Hides transformers' per-load reports and progress bars (the run prints its own)."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo, else what `platform` knows of it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_description(device: torch.device, threads: int) -> dict[str, Any]:
    info: dict[str, Any] = {
        "device": str(device),
        "cpu": cpu_name(),
        "cpu_cores": os.cpu_count(),
        "torch_threads": threads,
        "platform": platform.platform(),
        "torch": torch.__version__,
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info
