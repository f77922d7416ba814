"""Unpacking a job's uploads (qa.jobs.unpack, qa.jobs.submit): archives' entries become numbered files
in the job's folder; hostile entries become failed files, bombs and too many files are refused."""

from __future__ import annotations

import pytest

from errors import DocumentTooLarge
from index.store.memory_jobs import MemoryJobStore
from qa.jobs.submit import submit_job
from qa.jobs.unpack import JobBudget, UnpackLimits, unpack_upload, unsafe_path
from tests.jobs.archives import make_tar_gz, make_zip, tar_bomb, zip_bomb

LIMITS = UnpackLimits(max_files=20, max_bytes=2 * 1024 * 1024)


def unpack(name: str, data: bytes, limits: UnpackLimits = LIMITS):
    return unpack_upload(name, data, JobBudget(limits))


@pytest.mark.parametrize("build", [make_zip, make_tar_gz])
def test_archive_entries_are_files_and_hostile_ones_fail_unread(build):
    entries = {"notes/a.txt": b"Alpha.", "b.md": b"# Beta", "../../evil.txt": b"escape", "/etc/evil.txt": b"abs"}
    suffix = ".zip" if build is make_zip else ".tar.gz"
    files = {f.name: f for f in unpack(f"upload/docs{suffix}", build(entries, symlinks={"link.txt": "/etc/passwd"}))}
    assert files[f"docs{suffix}/notes/a.txt"].data == b"Alpha." and files[f"docs{suffix}/b.md"].data == b"# Beta"
    for hostile in ("../../evil.txt", "/etc/evil.txt", "link.txt"):
        file = files[f"docs{suffix}/{hostile}"]
        assert file.data is None and "not read" in file.error


def test_a_tar_device_is_refused_and_a_plain_file_is_itself():
    files = unpack("d.tgz", make_tar_gz({"ok.txt": b"fine"}, devices=("dev/null",)))
    assert [(f.name, f.data is None) for f in files] == [("d.tgz/ok.txt", False), ("d.tgz/dev/null", True)]
    assert unpack("C:\\Users\\x\\report.txt", b"text")[0].name == "report.txt"


@pytest.mark.parametrize("bomb", [zip_bomb, tar_bomb])
def test_bombs_are_refused_before_anything_is_kept(bomb):
    data = bomb(64 * 1024 * 1024)
    assert len(data) < 1024 * 1024
    with pytest.raises(DocumentTooLarge):
        unpack("bomb.zip" if bomb is zip_bomb else "bomb.tar.gz", data)
    jobs = MemoryJobStore()
    with pytest.raises(DocumentTooLarge):
        submit_job(jobs, [("bomb.zip", zip_bomb(8 * 1024 * 1024))], {}, LIMITS)
    assert jobs.count_jobs() == 0


def test_too_many_files_across_uploads_are_refused():
    many = make_zip({f"{i}.txt": b"x" for i in range(15)})
    assert len(unpack("many.zip", many)) == 15
    jobs = MemoryJobStore()
    with pytest.raises(DocumentTooLarge, match="20"):
        submit_job(jobs, [("a.zip", many), ("b.zip", many)], {}, LIMITS)
    assert jobs.count_jobs() == 0


def test_a_damaged_archive_is_one_failed_file():
    (file,) = unpack("broken.zip", b"PK\x03\x04 not really")
    assert file.name == "broken.zip" and file.data is None and "zip" in file.error
    (file,) = unpack("broken.tar.gz", b"\x1f\x8b garbage")
    assert file.data is None and "tar" in file.error


def test_submit_numbers_files_in_the_store_and_names_stay_unique(tmp_path):
    jobs = MemoryJobStore()
    archive = make_zip({"a.txt": b"Alpha.", "../up.txt": b"no"})
    job = submit_job(jobs, [("a.txt", b"One."), ("a.txt", b"Two."), ("z.zip", archive)], {"k": 1}, LIMITS)
    files = jobs.job_files(job.id)
    assert [f.name for f in files] == ["a.txt", "a (2).txt", "z.zip/a.txt", "z.zip/../up.txt"]
    assert [f.status for f in files] == ["pending", "pending", "pending", "failed"]
    assert [jobs.read_file(job.id, i) for i in range(4)] == [b"One.", b"Two.", b"Alpha.", None]
    assert not (tmp_path / "up.txt").exists() and job.metadata == {"k": 1}


@pytest.mark.parametrize(
    ("path", "refused"),
    [("a/b.txt", False), ("a/../../b", True), ("/abs", True), ("..\\win", True), ("D:/x", True), ("a..b/c", False)],
)
def test_unsafe_paths(path, refused):
    assert (unsafe_path(path) is not None) is refused
