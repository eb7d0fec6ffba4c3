"""Where images come from: the data folder, the offline fallback, the benchmark sets, crops."""

import time

import numpy as np
import pytest
from helpers import SHARED, needs_shared
from PIL import Image

from course_lib import data, downloads, hashing
from course_lib.images import load_image


@needs_shared
def test_pinned_checksums_match_the_shared_copies():
    checked = 0
    for item in downloads.manifest().values():
        copy = SHARED / item.kind / item.filename
        if item.sha256 and copy.exists():
            assert hashing.file_sha256(copy) == item.sha256, item.name
            checked += 1
    assert checked >= 2


def test_course_data_folder_is_used(tmp_path, monkeypatch):
    for kind in ("styles", "content", "train"):
        (tmp_path / kind).mkdir()
        Image.new("RGB", (32, 32)).save(tmp_path / kind / f"{kind}-one.jpg")
    (tmp_path / "styles" / "notes.txt").write_text("ignored")
    (tmp_path / "sr" / "Set5").mkdir(parents=True)
    Image.new("RGB", (32, 32)).save(tmp_path / "sr" / "Set5" / "baby.png")
    monkeypatch.setenv("COURSE_DATA", str(tmp_path))
    assert [p.name for p in data.images("styles")] == ["styles-one.jpg"]
    assert data.image_path("content", "content-one").name == "content-one.jpg"
    assert data.sr_set("Set5") == tmp_path / "sr" / "Set5"
    assert data.sr_sets() == {"Set5": tmp_path / "sr" / "Set5"}
    with pytest.raises(FileNotFoundError, match="Set14"):
        data.sr_set("Set14")
    with pytest.raises(FileNotFoundError, match="no styles image named 'nope'.*styles-one"):
        data.image_path("styles", "nope")


def test_bsd100_is_preferred_to_its_bsd68_subset(tmp_path, monkeypatch):
    for name in ("Set5", "BSD68", "BSD100"):
        (tmp_path / "sr" / name).mkdir(parents=True)
        Image.new("RGB", (32, 32)).save(tmp_path / "sr" / name / "a.png")
    monkeypatch.setenv("COURSE_DATA", str(tmp_path))
    assert list(data.sr_sets()) == ["Set5", "BSD100"]
    (tmp_path / "sr" / "BSD100" / "a.png").unlink()
    assert list(data.sr_sets()) == ["Set5", "BSD68"]


def test_missing_course_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA", str(tmp_path / "absent"))
    with pytest.raises(FileNotFoundError, match="absent"):
        data.images("styles")


@pytest.mark.parametrize("kind", ["styles", "content", "train"])
def test_offline_fallback_is_announced_and_loadable(cache, offline, capsys, kind):
    found = data.images(kind)
    err = capsys.readouterr().err
    assert "Using packaged sample images" in err
    assert len(found) >= 2 and all(p.is_relative_to(cache / "fallback") for p in found)
    assert load_image(found[0]).shape[1] == 3
    assert "Download failed" in err  # it did try the manifest first


def test_samples_killed_part_way_are_repaired_by_the_next_run(tmp_path, capsys):
    """`samples DIR` killed after its first image: the rerun writes what is missing and every
    file is a whole PNG (each is written atomically, the set marked complete at the end)."""
    from course_lib.cli import main

    assert main(["samples", str(tmp_path)]) == 0
    whole = {p.name: p.read_bytes() for p in (tmp_path / "content").iterdir() if p.suffix == ".png"}
    first, *rest = sorted(whole)
    for name in rest:  # what a kill after the first image leaves: no marker, the rest absent
        (tmp_path / "content" / name).unlink()
    (tmp_path / "content" / ".complete").unlink()
    assert main(["samples", str(tmp_path)]) == 0
    assert {p.name: p.read_bytes() for p in (tmp_path / "content").iterdir() if p.suffix == ".png"} == whole
    assert not list((tmp_path / "content").glob(".*.tmp"))


def test_offline_content_photos_are_held_out_of_training(cache, offline):
    assert not {p.stem for p in data.images("content")} & {p.stem for p in data.images("train")}


@needs_shared
def test_shared_data_layout_is_understood(monkeypatch):
    monkeypatch.setenv("COURSE_DATA", str(SHARED))
    assert {p.stem for p in data.images("styles")} >= {"candy", "mosaic", "udnie"}
    assert len(data.images("train")) == 80
    assert len(list(data.sr_set("Set5").iterdir())) == 5
    assert list(data.sr_sets()) == ["Set5", "Set14", "BSD100"]  # BSD100 replaces its BSD68 subset
    assert len(list(data.sr_set("BSD100").iterdir())) == 100


def test_crop_dataset(tmp_path):
    Image.fromarray(np.zeros((50, 80, 3), np.uint8)).save(tmp_path / "wide.png")
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(tmp_path / "small.png")
    (tmp_path / "broken.png").write_bytes(b"nope")
    crops = data.CropDataset([tmp_path / "wide.png", tmp_path / "small.png"], crop=32)
    assert len(crops) == 2 and crops[0].shape == crops[1].shape == (3, 32, 32)
    assert data.CropDataset([tmp_path / "wide.png"], crop=32, resize=64)[0].shape == (3, 32, 32)
    assert crops[(0, 5)].equal(crops[(0, 5)])  # the same seed, the same crop
    with pytest.raises(ValueError, match="broken.png"):
        data.CropDataset([tmp_path / "broken.png"], crop=32)[0]
    with pytest.raises(ValueError, match="at least one"):
        data.CropDataset([], crop=32)
    before = crops.settings()["files_sha256"]
    Image.fromarray(np.ones((50, 81, 3), np.uint8)).save(tmp_path / "wide.png")
    assert crops.settings()["files_sha256"] != before  # the data changed: another fingerprint
    copy = tmp_path / "copy"  # the same files copied (new modification times): the same fingerprint
    copy.mkdir()
    for path in crops.paths:
        time.sleep(0.01)
        (copy / path.name).write_bytes(path.read_bytes())
    assert data.CropDataset([copy / p.name for p in crops.paths], crop=32).settings()["files_sha256"] == \
        crops.settings()["files_sha256"]


def test_benchmark_sets_offline_say_what_they_fetch_and_how_to_give_them(cache, offline, capsys):
    from course_lib.downloads import DownloadError

    with pytest.raises(DownloadError, match=r"Set5 is not available offline .*--sets FOLDER.*COURSE_DATA"):
        data.sr_set("Set5")
    assert "downloading the manifest's 'sr-benchmarks'" in capsys.readouterr().err
