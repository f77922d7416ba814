"""A real spanqa server for the benchmark: uvicorn in a subprocess on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

REPO_ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RssSampler:
    """Samples the resident memory of a process (and its children) in a background thread."""

    def __init__(self, pid: int, interval_s: float = 0.05) -> None:
        self.process = psutil.Process(pid)
        self.interval_s = interval_s
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def current_bytes(self) -> int:
        try:
            procs = [self.process, *self.process.children(recursive=True)]
            return sum(p.memory_info().rss for p in procs)
        except psutil.Error:
            return 0

    def high_water_bytes(self) -> int | None:
        """The kernel's own peak RSS of the server process (VmHWM, Linux), None elsewhere."""
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            return None
        return None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, self.current_bytes())
            self._stop.wait(self.interval_s)

    def start(self) -> RssSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log_path: Path
    startup_s: float = 0.0
    sampler: RssSampler | None = field(default=None, repr=False)


def uvicorn_command(port: int) -> list[str]:
    """The app (`api.app:create_app --factory`) under uvicorn on 127.0.0.1:`port`, logging warnings only."""
    options = f"--factory --host 127.0.0.1 --port {port} --log-level warning".split()
    return [sys.executable, "-m", "uvicorn", "api.app:create_app", *options]


@contextmanager
def serve(data_dir: Path, *, log_dir: Path, startup_timeout_s: float = 300.0) -> Iterator[Server]:
    """Runs `uvicorn api.app:create_app --factory` on `data_dir` until the block ends."""
    port = free_port()
    env = {**os.environ, "SPANQA_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    log_path = log_dir / "server.log"
    with log_path.open("wb") as log:
        t0 = time.perf_counter()
        process = subprocess.Popen(uvicorn_command(port), cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        sampler = RssSampler(process.pid).start()
        server = Server(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path, sampler=sampler)
        try:
            wait_for_health(server.url, process, log_path, startup_timeout_s)
            server.startup_s = time.perf_counter() - t0
            yield server
        finally:
            sampler.stop()
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_for_health(url: str, process: subprocess.Popen, log_path: Path, timeout_s: float) -> None:
    """Waits until the server at `url` answers /health: RuntimeError (with its log's tail) when its
    process exits first, TimeoutError when `timeout_s` pass."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the server exited with {process.returncode}:\n{tail}")
        try:
            if httpx.get(f"{url}/health", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"the server did not answer /health within {timeout_s:.0f} s")
