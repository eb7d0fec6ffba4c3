"""Settings read from the environment, with errors that name the variable and the valid values."""

import pytest
import torch

from course_lib import config


def test_mode_defaults_to_device_and_validates(monkeypatch):
    monkeypatch.delenv("COURSE_MODE", raising=False)
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert config.device() == torch.device("cpu") and config.mode() == "fast"
    monkeypatch.setenv("COURSE_MODE", "FULL")
    assert config.mode() == "full" and config.preset().image_size == 256
    monkeypatch.setenv("COURSE_MODE", "quick")
    with pytest.raises(config.SettingError, match="COURSE_MODE='quick'.*fast, full"):
        config.mode()


@pytest.mark.parametrize("value, message", [
    ("banana", "COURSE_DEVICE='banana' is not a device; use one of cuda, cuda:N, mps, cpu"),
    ("xpu", "COURSE_DEVICE='xpu' is not supported"),
])
def test_bad_device_names_the_variable_and_the_choices(monkeypatch, value, message):
    monkeypatch.setenv("COURSE_DEVICE", value)
    with pytest.raises(config.SettingError, match=message):
        config.device()


def test_cuda_requested_without_gpu(monkeypatch):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    monkeypatch.setenv("COURSE_DEVICE", "cuda")
    with pytest.raises(config.SettingError, match="COURSE_DEVICE=cuda but torch sees no CUDA"):
        config.device()


def test_vgg_weights_setting(monkeypatch, tmp_path):
    monkeypatch.delenv("COURSE_VGG_WEIGHTS", raising=False)
    assert config.vgg_weights() == "auto"
    monkeypatch.setenv("COURSE_VGG_WEIGHTS", "imagenett")
    with pytest.raises(config.SettingError, match="imagenett.*auto, caffe, imagenet, random"):
        config.vgg_weights()
    (tmp_path / "vgg.pth").write_bytes(b"")
    monkeypatch.setenv("COURSE_VGG_WEIGHTS", str(tmp_path / "vgg.pth"))
    assert config.vgg_weights() == str(tmp_path / "vgg.pth")


def test_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("COURSE_DATA", raising=False)
    assert config.data_dir() is None
    monkeypatch.setenv("COURSE_DATA", str(tmp_path))
    assert config.data_dir() == tmp_path.resolve()
    assert str(tmp_path) in config.describe()
    monkeypatch.setenv("COURSE_DATA", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="missing"):
        config.data_dir()


def test_paper_preset_is_the_papers_schedule_and_full_keeps_its_sizes_with_shorter_runs():
    from course_lib.hparams import STYLE, SUPER_RESOLUTION

    paper, full = config.preset("paper"), config.preset("full")
    assert (paper.image_size, paper.batch_size, paper.train_steps, paper.sr_crop, paper.sr_steps) == (
        STYLE.paper.image_size, STYLE.paper.batch_size, STYLE.paper.steps, SUPER_RESOLUTION.paper.image_size,
        SUPER_RESOLUTION.paper.steps) == (256, 4, 40_000, 288, 200_000)  # §4.1 and §4.2
    assert (full.image_size, full.style_size, full.batch_size, full.sr_crop) == (256, 512, 4, 288)
    assert full.train_steps < paper.train_steps and full.sr_steps < paper.sr_steps


def test_preset_overrides(monkeypatch):
    monkeypatch.setenv("COURSE_MODE", "fast")
    monkeypatch.setenv("COURSE_PRESET", "train_steps=3000, image_size=128")
    assert (config.preset().train_steps, config.preset().image_size) == (3000, 128)
    assert config.preset("fast").train_steps == 20  # a named preset is never overridden
    assert "train_steps=3000" in config.describe()
    monkeypatch.setenv("COURSE_PRESET", "epochs=3")
    with pytest.raises(config.SettingError, match="COURSE_PRESET.*'epochs=3'"):
        config.preset()
