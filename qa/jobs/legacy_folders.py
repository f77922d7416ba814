"""Job folders of an older spanqa (`DATA_DIR/jobs/<job id>/<index:06d>`, before the store kept the
files' bytes): at start, the files of unfinished jobs are moved into the store, then the folders removed."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from index.store.jobs import UNFINISHED, JobStore

logger = logging.getLogger("spanqa.jobs")
JOBS_FOLDER = "jobs"


def import_job_folders(jobs: JobStore, data_dir: Path) -> int:
    """Moves the waiting files of `data_dir/jobs` into `jobs`; how many. Folders of ended (or unknown)
    jobs are removed as they are; a store that cannot be written leaves everything in place."""
    directory = Path(data_dir) / JOBS_FOLDER
    if not directory.is_dir():
        return 0
    moved = 0
    for folder in sorted(p for p in directory.iterdir() if p.is_dir()):
        job = jobs.get_job(folder.name)
        if job is not None and job.status in UNFINISHED:
            for file in jobs.job_files(job.id):
                if file.status not in ("pending", "claimed"):
                    continue
                try:
                    data = (folder / f"{file.index:06d}").read_bytes()
                except OSError:  # gone (another worker starting beside this one moved it)
                    continue
                try:
                    jobs.put_file(job.id, file.index, data)
                except Exception as error:  # noqa: BLE001 - a read-only store: an older folder stays for later
                    logger.warning("job files in %s are not moved into the store: %s", directory, error)
                    return moved
                moved += 1
        shutil.rmtree(folder, ignore_errors=True)
    try:
        directory.rmdir()
    except OSError:  # not empty (a file beside the folders), or already gone
        pass
    if moved:
        logger.info("moved %d files of unfinished jobs from %s into the store", moved, directory)
    return moved
