"""`LoadOnce`: runs a model's load function on first need, once, thread-safe."""

from __future__ import annotations

import threading
from collections.abc import Callable


class LoadOnce:
    """Calls `load` the first time it is called and never again (double-checked under a lock),
    so a model object can be built cheaply and load its weights when first used."""

    def __init__(self, load: Callable[[], None]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self.done = False

    def __call__(self) -> None:
        if self.done:
            return
        with self._lock:
            if self.done:
                return
            self._load()
            self.done = True
