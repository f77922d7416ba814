"""Progress reporting for the eval runner: a rich bar per phase, or nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

# A progress reporter: progress(description, total) is a context manager yielding advance(n).
Progress = Callable[[str, int], Any]


@contextmanager
def rich_progress(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """A rich progress bar (on stderr) for one phase; yields `advance(n)`."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
    from rich.progress import Progress as Bar

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Bar(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(description, total=total)

        def advance(n: int = 1) -> None:
            bar.advance(task, n)

        yield advance


@contextmanager
def no_progress(description: str, total: int) -> Iterator[Callable[[int], None]]:

    def advance(n: int = 1) -> None:
        return None

    yield advance
