"""Atomic writes: a failure keeps the old file and leaves no temporary file."""

import pytest

from course_lib.files import atomic_write


def test_success_replaces_and_failure_keeps_the_old_file(tmp_path):
    target = tmp_path / "sub" / "checkpoint.pt"
    with atomic_write(target) as tmp:
        tmp.write_text("first")
    assert target.read_text() == "first"
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_write(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("disk full")
    assert target.read_text() == "first"
    assert [p.name for p in target.parent.iterdir()] == ["checkpoint.pt"]
