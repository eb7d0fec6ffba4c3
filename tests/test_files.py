"""Atomic writes (old file kept on failure, no temp left, normal permissions) and the run lock."""

import errno
import os
import subprocess
import sys

import pytest
import torch

from course_lib.files import LockedError, atomic_write, remove_stale_temps, run_lock


def test_success_replaces_and_failure_keeps_the_old_file(tmp_path):
    target = tmp_path / "sub" / "checkpoint.pt"
    with atomic_write(target) as tmp:
        tmp.write_text("first")
    assert target.read_text() == "first"
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_write(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert target.read_text() == "first"
    assert [p.name for p in target.parent.iterdir()] == ["checkpoint.pt"]


def test_disk_full_says_so_and_keeps_the_previous_file(tmp_path):
    target = tmp_path / "checkpoint.pt"
    target.write_text("good")
    with pytest.raises(OSError, match="disk full while writing .*checkpoint.pt; the previous checkpoint.pt is intact"):
        with atomic_write(target):
            raise OSError(errno.ENOSPC, "No space left on device")
    assert target.read_text() == "good" and [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


def test_torch_saves_disk_full_error_says_disk_full_too(tmp_path):
    """torch.save on a full disk raises RuntimeError('... unexpected pos ...'), not ENOSPC."""
    target = tmp_path / "checkpoint.pt"
    torch.save({"step": 1}, target)
    with pytest.raises(OSError, match=f"disk full while writing {target}; the previous checkpoint.pt is intact"):
        with atomic_write(target) as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError("[enforce fail at inline_container.cc:664] . unexpected pos 1024 vs 964")
    assert torch.load(target, weights_only=True) == {"step": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_files_get_the_permissions_the_umask_gives(tmp_path, umask):
    old = os.umask(umask)
    try:
        with atomic_write(tmp_path / "out.png") as tmp:
            tmp.write_bytes(b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "out.png").stat().st_mode & 0o777 == 0o666 & ~umask


def test_stale_temporary_files_are_removed(tmp_path):
    (tmp_path / ".checkpoint.pt.1a2b3c4d.tmp").write_text("half")
    (tmp_path / "keep.txt").write_text("mine")
    assert [p.name for p in remove_stale_temps(tmp_path / "checkpoint.pt")] == [".checkpoint.pt.1a2b3c4d.tmp"]
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_lock_refuses_a_second_holder_and_names_its_pid(tmp_path):
    with run_lock(tmp_path):
        with pytest.raises(LockedError, match=f"PID {os.getpid()}"):
            with run_lock(tmp_path):
                pass
    assert not (tmp_path / ".lock").exists()
    with run_lock(tmp_path):  # free again
        pass


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    import socket

    (tmp_path / ".lock").write_text(f"{socket.gethostname()} {int(dead.stdout)}")
    with run_lock(tmp_path) as lock:
        assert lock.read_text().endswith(str(os.getpid()))
