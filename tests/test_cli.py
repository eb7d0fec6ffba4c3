"""A user's mistakes end in one `error:` line and an exit code, never a traceback, and change
no input file. Each row: the setting or files, the command, the exit code, the message."""

import errno
import hashlib
import os
import shutil

import numpy as np
import pytest
import torch
from helpers import run_cli
from PIL import Image

from course_lib import files
from course_lib.architectures import build
from course_lib.objectives import SR_WEIGHTS, PerceptualObjective
from course_lib.runs import TrainConfig
from course_lib.train import train


class Pairs(torch.utils.data.Dataset):
    """Random (LR, HR) pairs; ``hr_only`` gives the HR images alone (style training data)."""

    def __init__(self, hr_only=False):
        self.hr_only = hr_only

    def __len__(self):
        return 4

    def __getitem__(self, key):
        g = torch.Generator().manual_seed(key[1])
        lr, hr = torch.rand(3, 8, 8, generator=g), torch.rand(3, 32, 32, generator=g)
        return hr if self.hr_only else (lr, hr)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, random_vgg):
    root = tmp_path_factory.mktemp("cli")
    inputs = root / "inputs"
    inputs.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(inputs / "photo.png")
    Image.fromarray(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)).save(inputs / "tiny.png")
    Image.fromarray(np.linspace(0, 3, 1600, dtype=np.float32).reshape(40, 40), mode="F").save(inputs / "hdr.tif")
    (inputs / "corrupt.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    torch.save({"foo": 1}, inputs / "malformed.pt")
    (inputs / "empty.pt").write_bytes(b"")
    cfg = TrainConfig(steps=1, batch_size=2, num_workers=0)
    style = build("style", width=8)
    train(style, PerceptualObjective(random_vgg, torch.rand(1, 3, 32, 32)), Pairs(hr_only=True), root / "style", cfg)
    train(build("sr", scale=4, channels=8, blocks=1), PerceptualObjective(weights=SR_WEIGHTS["pixel"]),
          Pairs(), root / "sr", cfg)
    return root


def snapshot(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


CASES = [
    # (id, environment, arguments, exit code, message pattern)
    ("max-size-0", {}, ["stylize", "--model", "{style}", "--input", "{in}/photo.png", "--output", "{out}/o.jpg",
                        "--max-size", "0"], 2, r"argument --max-size: must be a positive whole number, got 0"),
    ("max-size-negative", {}, ["stylize", "--model", "{style}", "--input", "{in}/photo.png", "--output",
                               "{out}/o.jpg", "--max-size", "-3"], 2, r"--max-size: must be a positive"),
    ("checkpoint-every-0", {}, ["train-style", "--style", "{in}/photo.png", "--data", "{in}", "--out", "{out}/r",
                                "--checkpoint-every", "0"], 2, r"--checkpoint-every: must be a positive"),
    ("device-banana", {"COURSE_DEVICE": "banana"}, ["stylize", "--model", "{style}", "--input", "{in}/photo.png",
                                                    "--output", "{out}/o.jpg"], 1,
     r"COURSE_DEVICE='banana' is not a device; use one of cuda, cuda:N, mps, cpu"),
    ("vgg-imagenett", {"COURSE_VGG_WEIGHTS": "imagenett"},
     ["train-style", "--style", "{in}/photo.png", "--data", "{in}", "--out", "{out}/r", "--steps", "1"], 1,
     r"COURSE_VGG_WEIGHTS='imagenett' is neither one of auto, caffe, imagenet, random"),
    ("imagenet-offline", {"COURSE_VGG_WEIGHTS": "imagenet", "TORCH_HOME": "{out}/torch"},
     ["train-style", "--style", "{in}/photo.png", "--data", "{in}", "--out", "{out}/r", "--steps", "1"], 1,
     r"ImageNet vgg16 weights are not in .*vgg16-397923af.pth and could not be downloaded"),
    ("malformed-checkpoint", {}, ["stylize", "--model", "{in}/malformed.pt", "--input", "{in}/photo.png",
                                  "--output", "{out}/o.jpg"], 1, r"malformed.pt: not a course checkpoint"),
    ("empty-checkpoint", {}, ["stylize", "--model", "{in}/empty.pt", "--input", "{in}/photo.png",
                              "--output", "{out}/o.jpg"], 1, r"empty.pt: empty file \(0 bytes\)"),
    ("sr-checkpoint-to-stylize", {}, ["stylize", "--model", "{sr}", "--input", "{in}/photo.png", "--output",
                                      "{out}/o.jpg"], 1, r"holds a 'sr' network; this command needs one of style"),
    ("style-checkpoint-to-upscale", {}, ["upscale", "--model", "{style}", "--input", "{in}/photo.png",
                                         "--output", "{out}/o.png"], 1, r"holds a 'style' network"),
    ("tiny-upscale", {}, ["upscale", "--model", "{sr}", "--input", "{in}/tiny.png", "--output", "{out}/o.png"], 1,
     r"tiny.png: image is 4×4, smaller than the 8 pixels"),
    ("float-tiff", {}, ["stylize", "--model", "{style}", "--input", "{in}/hdr.tif", "--output", "{out}/o.jpg"], 1,
     r"hdr.tif: floating-point image with values from 0 to 3"),
    ("corrupt-image", {}, ["stylize", "--model", "{style}", "--input", "{in}/corrupt.jpg", "--output",
                           "{out}/o.jpg"], 1, r"corrupt.jpg: (corrupt|not an image)"),
    ("stylize-folder-onto-itself", {}, ["stylize", "--model", "{style}", "--input", "{in}", "--output", "{in}"], 1,
     r"--output .* is the input folder.*--overwrite"),
    ("upscale-file-onto-itself", {}, ["upscale", "--model", "{sr}", "--input", "{in}/photo.png", "--output",
                                      "{in}/photo.png"], 1, r"photo.png is an input: it would be overwritten"),
    ("missing-model", {}, ["upscale", "--model", "{out}/none.pt", "--input", "{in}/photo.png", "--output",
                           "{out}/o.png"], 1, r"none.pt: no such checkpoint file, and no shipped model"),
    ("onnx-over-the-input", {}, ["stylize", "--model", "{style}", "--input", "{in}/photo.png", "--output",
                                 "{out}/o.jpg", "--export-onnx", "{in}/photo.png"], 1,
     r"--export-onnx .*photo.png is an input or the model itself"),
    ("onnx-over-the-model", {}, ["stylize", "--model", "{style}", "--input", "{in}/photo.png", "--output",
                                 "{out}/o.jpg", "--export-onnx", "{style}"], 1, r"is an input or the model itself"),
    ("eval-sr-same-set-names", {}, ["eval-sr", "--model", "bicubic", "--scale", "4", "--sets", "{in}", "{out}/x/inputs"],
     1, r"keyed by folder name, and these share one"),
    *[(f"{option}-{value}", {}, ["train-style", "--style", "{in}/photo.png", "--data", "{in}", "--out", "{out}/r",
                                 f"--{option}", value], 2, rf"--{option}: must be a finite number ≥ 0, got {value}")
      for option, value in (("tv-weight", "nan"), ("style-weight", "inf"), ("content-weight", "-1"))],
    ("blur-inf", {}, ["eval-sr", "--model", "bicubic", "--scale", "4", "--blur", "inf"], 2, r"--blur: must be a finite"),
    ("blur-nan", {}, ["train-sr", "--scale", "4", "--loss", "pixel", "--data", "{in}", "--out", "{out}/r", "--blur",
                      "nan"], 2, r"--blur: must be a finite"),
    ("loss-network-and-vgg-weights", {}, ["train-style", "--style", "{in}/photo.png", "--data", "{in}", "--out",
                                          "{out}/r", "--loss-network", "efficientnet-lite0", "--vgg-weights", "caffe"],
     1, r"--loss-network efficientnet-lite0 and --vgg-weights caffe both choose the loss network: give one"),
    ("loss-network-for-pixel-sr", {}, ["train-sr", "--scale", "4", "--loss", "pixel", "--data", "{in}", "--out",
                                       "{out}/r", "--loss-network", "vgg16-random"], 1,
     r"--loss-network vgg16-random is for --loss feat"),
    ("loss-network-unknown", {}, ["train-style", "--style", "{in}/photo.png", "--data", "{in}", "--out", "{out}/r",
                                  "--loss-network", "resnet50"], 2, r"argument --loss-network: invalid choice"),
    ("pool-negative", {}, ["train-cyclegan", "--a", "{in}", "--b", "{in}", "--out", "{out}/r", "--pool", "-1"], 2,
     r"--pool: must be a whole number ≥ 0"),
    *[(f"too-small-{i}", {}, args, 1, pattern) for i, (args, pattern) in enumerate([
        (["train-style", "--style", "{in}/photo.png", "--data", "{in}", "--out", "{out}/r", "--image-size", "3",
          "--batch-size", "2", "--steps", "1"], r"--image-size 3 is below the 16 pixels"),
        (["train-style", "--style", "{in}/photo.png", "--data", "{in}", "--out", "{out}/r", "--style-size", "1"],
         r"--style-size 1 is below the 16 pixels"),
        (["train-sr", "--scale", "8", "--loss", "pixel", "--data", "{in}", "--out", "{out}/r", "--image-size", "8"],
         r"--image-size 8 is below the 64 pixels that ×8 needs"),
        (["train-pix2pix", "--data", "{in}", "--out", "{out}/r", "--depth", "8", "--image-size", "64"],
         r"--image-size 64 is below the 256 pixels a U-Net of --depth 8"),
        (["train-pix2pix", "--data", "{in}", "--out", "{out}/r", "--scales", "10", "--image-size", "256",
          "--depth", "5"], r"below the 16384 pixels --scales 10 PatchGANs need")])],
    *[(f"stylize-max-size-{n}", {}, ["stylize", "--model", "{style}", "--input", "{in}/photo.png", "--output",
                                     "{out}/o.jpg", "--max-size", str(n)], 1, r"photo.png: resized to .*smaller than the 8")
      for n in (1, 4)],
    ("pix2pix-tiny", {}, ["translate", "--model", "pix2pix-edges", "--input", "{in}/tiny.png", "--output",
                          "{out}/o.png"], 1, r"tiny.png: image is 4×4, smaller than the \d+ pixels a side"),
    ("resize-without-task", {}, ["train-pix2pix", "--data", "{in}", "--out", "{out}/r", "--resize", "64"], 1,
     r"--resize applies to the photos of a --task"),
    ("paper-with-srcnn", {}, ["train-sr", "--scale", "4", "--loss", "pixel", "--arch", "srcnn", "--paper", "--data",
                              "{in}", "--out", "{out}/r"], 1, r"SRCNN \(--arch srcnn\) has no such variant"),
    ("pix2pix-direction-ba", {}, ["translate", "--model", "pix2pix-edges", "--input", "{in}/photo.png", "--output",
                                  "{out}/o.png", "--direction", "ba"], 1, r"pix2pix model, which translates one way"),
    ("progress-bogus", {"COURSE_PROGRESS": "bogus"}, ["info"], 1, r"COURSE_PROGRESS='bogus'; use one of auto, text"),
    ("preset-abc", {"COURSE_PRESET": "train_steps=abc"}, ["info"], 1, r"'train_steps=abc' is not field=positive"),
    ("preset-zero", {"COURSE_PRESET": "image_size=0"}, ["info"], 1, r"'image_size=0' is not field=positive"),
]
if not torch.cuda.is_available():
    CASES.append(("cuda-without-gpu", {"COURSE_DEVICE": "cuda"}, ["stylize", "--model", "{style}", "--input",
                  "{in}/photo.png", "--output", "{out}/o.jpg"], 1,
                  r"COURSE_DEVICE=cuda but torch sees no CUDA device here; use COURSE_DEVICE=cpu"))


def fill(text, workspace, out):
    return text.format(style=workspace / "style" / "checkpoint.pt", sr=workspace / "sr" / "checkpoint.pt",
                       **{"in": workspace / "inputs", "out": out})


def check(capsys, code, pattern, args, expected_code):
    import re

    got, out, err = run_cli(capsys, *args)
    lines = err.strip().splitlines()
    assert got == expected_code, err
    assert "Traceback" not in err and lines and lines[-1].startswith("error: "), err
    assert sum(line.startswith("error:") for line in lines) == 1
    assert re.search(pattern, lines[-1]), lines[-1]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_user_mistakes(case, workspace, tmp_path, capsys, monkeypatch, offline):
    name, env, args, code, pattern = case
    for key, value in env.items():
        monkeypatch.setenv(key, fill(value, workspace, tmp_path))
    # random weights: these cases test the CLI's refusals, not what a loss network learned
    monkeypatch.setenv("COURSE_VGG_WEIGHTS", fill(env.get("COURSE_VGG_WEIGHTS", "random"), workspace, tmp_path))
    before = snapshot(workspace / "inputs")
    check(capsys, code, pattern, [fill(a, workspace, tmp_path) for a in args], code)
    assert snapshot(workspace / "inputs") == before


def test_overwrite_allows_it(workspace, tmp_path, capsys):
    import shutil

    shutil.copy(workspace / "inputs" / "photo.png", tmp_path / "photo.png")
    code, _, err = run_cli(capsys, "upscale", "--model", workspace / "sr" / "checkpoint.pt", "--input",
                           tmp_path / "photo.png", "--output", tmp_path / "photo.png", "--overwrite")
    assert code == 0, err
    with Image.open(tmp_path / "photo.png") as big:
        assert big.size == (192, 160)


def test_read_only_output_folder(workspace, tmp_path, capsys, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    if os.access(locked, os.W_OK):  # root ignores permissions: let the file system refuse as it would
        real_open = files.os.open

        def refusing(path, *args, **kwargs):
            if str(path).startswith(str(locked)):
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return real_open(path, *args, **kwargs)
        monkeypatch.setattr(files.os, "open", refusing)
    check(capsys, 1, r"error: .*locked/\.o\.jpg\..*\.tmp: Permission denied",
          ["stylize", "--model", workspace / "style" / "checkpoint.pt", "--input", workspace / "inputs" / "photo.png",
           "--output", locked / "o.jpg"], 1)


def test_disk_full_during_a_checkpoint(workspace, tmp_path, capsys, monkeypatch):
    import course_lib.train as train_module

    (tmp_path / "data").mkdir()
    Image.open(workspace / "inputs" / "photo.png").save(tmp_path / "data" / "a.png")
    base = ["train-style", "--style", workspace / "inputs" / "photo.png", "--data", tmp_path / "data", "--out",
            tmp_path / "run", "--image-size", "32", "--style-size", "32", "--width", "8", "--batch-size", "1",
            "--workers", "0", "--checkpoint-every", "1"]
    monkeypatch.setenv("COURSE_VGG_WEIGHTS", "random")
    assert run_cli(capsys, *base, "--steps", "1")[0] == 0
    good = (tmp_path / "run" / "checkpoint.pt").read_bytes()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(train_module.torch, "save", full)
    check(capsys, 1, r"disk full while writing .*checkpoint.pt; the previous checkpoint.pt is intact",
          [*base, "--steps", "2"], 1)
    assert (tmp_path / "run" / "checkpoint.pt").read_bytes() == good


def test_one_bad_entry_in_a_folder_is_skipped_and_the_rest_written(workspace, tmp_path, capsys):
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(workspace / "inputs" / "photo.png", folder / "a.png")
    shutil.copy(workspace / "inputs" / "photo.png", folder / "c.png")
    (folder / "b.png").write_bytes(b"\x89PNG truncated")
    (folder / "d.png").mkdir()  # a folder named like an image
    (folder / "e.png").symlink_to(tmp_path / "nowhere.png")  # a broken link
    before = snapshot(folder)
    code, out, err = run_cli(capsys, "stylize", "--model", fill("{style}", workspace, tmp_path), "--input", folder,
                             "--output", tmp_path / "out")
    assert code == 1 and sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.jpg", "c.jpg"]
    for name in ("b.png", "d.png", "e.png"):
        assert f"skipped {folder / name}:" in err
    assert err.strip().splitlines()[-1] == "error: 3 of 5 inputs were skipped (each named above); the other 2 were written"
    assert snapshot(folder) == before


@pytest.mark.parametrize("damage", ["huge-config", "nan-weights", "training-str", "fingerprint-str", "pickle"])
def test_hostile_or_broken_checkpoints_are_refused_before_anything_is_built(damage, workspace, tmp_path, capsys):
    from course_lib.checkpoints import read as load_checkpoint

    state = load_checkpoint(fill("{sr}", workspace, tmp_path))
    marker = tmp_path / "pwned"
    if damage == "huge-config":  # 13 GB of network if it were built before checking shapes
        state["model_config"]["channels"] = 1500
    elif damage == "nan-weights":
        key = next(iter(state["model"]))
        state["model"][key] = torch.full_like(state["model"][key], float("nan"))
    elif damage == "pickle":
        class Planted:
            def __reduce__(self):
                return (open, (str(marker), "w"))
        state["extra"] = Planted()
    else:
        state[damage.split("-")[0]] = "x"
    torch.save(state, tmp_path / "bad.pt")
    pattern = {"huge-config": "do not fit its model_config .*stored .*configured", "nan-weights": "not finite",
               "training-str": "its 'training' is a str", "fingerprint-str": "its 'fingerprint' is a str",
               "pickle": "holds Python objects or code.*not loaded"}[damage]
    check(capsys, 1, pattern, ["upscale", "--model", tmp_path / "bad.pt", "--input", workspace / "inputs" / "photo.png",
                               "--output", tmp_path / "o.png"], 1)
    assert not marker.exists() and not (tmp_path / "o.png").exists()


def test_the_cpu_allocators_failure_names_the_settings_that_size_it(workspace, tmp_path, capsys, monkeypatch):
    """torch raises the CPU allocator's failure as a plain RuntimeError (a real one would need a
    machine-sized allocation, which the OOM killer may answer first)."""
    from course_lib import data

    def allocate(*args, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate memory: "
                           "you tried to allocate 30000000000 bytes.")
    monkeypatch.setattr(data, "CropDataset", allocate)
    check(capsys, 1, r"out of memory .*can't allocate memory.*; lower --image-size 256, --batch-size 4, "
                     r"--style-size 64, --width 32",
          ["train-style", "--style", workspace / "inputs" / "photo.png", "--data", workspace / "inputs", "--out",
           tmp_path / "r", "--style-size", "64"], 1)


@pytest.mark.parametrize("command, kinds", [("upscale", ("sr", "srcnn")), ("eval-sr", ("sr", "srcnn")),
                                            ("translate", ("pix2pix", "cyclegan")), ("stylize", ("style",))])
def test_every_model_options_help_lists_the_shipped_models_it_takes(command, kinds, capsys):
    import re

    from course_lib.checkpoints import read as load_checkpoint
    from course_lib.checkpoints import shipped_models

    code, out, _ = run_cli(capsys, command, "--help")
    words = set(re.split(r"[\s,()]+", " ".join(out.split()).replace("- ", "-")))  # argparse wraps at hyphens
    for name, path in shipped_models().items():
        fits = load_checkpoint(path)["model_config"]["kind"] in kinds
        assert (name in words) == fits, (command, name)


def test_commands_read_the_shipped_models_only_to_show_a_help(monkeypatch):
    """Listing them reads every shipped model: a cost each command would pay at its start."""
    from course_lib import checkpoints
    from course_lib.cli import parser

    def refuse():
        raise AssertionError("the shipped models were read without --help")

    monkeypatch.setattr(checkpoints, "shipped_models", refuse)
    args = parser().parse_args(["upscale", "--model", "sr4-pixel", "--input", "a.png", "--output", "b.png"])
    assert args.model == "sr4-pixel"
    with pytest.raises(AssertionError, match="without --help"):
        parser().parse_args(["upscale", "--help"])


def test_a_model_option_survives_the_help_check_of_python_3_14(monkeypatch):
    """Python ≥ 3.14 expands each help with the parser's formatter inside add_argument, before
    model_option has said which kinds the option takes: that must neither fail nor read a model."""
    from course_lib import checkpoints
    from course_lib.cli.options import SHIPPED, Help, Parser, model_option

    class Checking(Parser):
        def add_argument(self, *args, **kwargs):
            action = super().add_argument(*args, **kwargs)
            self._get_formatter()._expand_help(action)  # what Python 3.14's _check_help does
            return action

    def refuse():
        raise AssertionError("the shipped models were read while the help was checked")

    monkeypatch.setattr(checkpoints, "shipped_models", refuse)
    p = Checking(formatter_class=Help)
    model_option(p, f"a shipped model: {SHIPPED}", ("sr",))
    monkeypatch.undo()
    assert "sr4-pixel" in p.format_help()


def test_init_from_nan_weights_is_refused_without_a_misleading_word(workspace, tmp_path, capsys):
    from course_lib.checkpoints import read as load_checkpoint

    state = load_checkpoint(fill("{sr}", workspace, tmp_path))
    state["model"] = {k: torch.full_like(v, float("nan")) if v.is_floating_point() else v
                      for k, v in state["model"].items()}
    torch.save(state, tmp_path / "nan.pt")
    code, _, err = run_cli(capsys, "train-sr", "--scale", "4", "--loss", "pixel", "--data", workspace / "inputs",
                           "--out", tmp_path / "run", "--init", tmp_path / "nan.pt", "--steps", "1")
    assert code == 1 and "nan.pt: its weights are not finite" in err and "kept as it was" not in err
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


@pytest.mark.parametrize("command, model, named", [  # translate scales to the model's training size first
    ("upscale", "{sr}", ": 48×40"), ("translate", "pix2pix-edges", r" \(scaled to .*--resize 128\): 154×128")])
def test_an_image_too_large_for_memory_is_refused_with_the_estimate(command, model, named, workspace, tmp_path, capsys,
                                                                     monkeypatch):
    """Free memory made small (a 9000² PNG would need it for real): refused before the
    allocator or the OOM killer sees it, naming the image, its size and the estimate."""
    from course_lib import tiling

    monkeypatch.setattr(tiling, "available_bytes", lambda device: 1000)
    check(capsys, 1, rf"photo.png{named} would need about .* GiB on cpu .*more than the 0.0 GiB free",
          [command, "--model", fill(model, workspace, tmp_path), "--input", workspace / "inputs" / "photo.png",
           "--output", tmp_path / "o.png"], 1)
    assert not (tmp_path / "o.png").exists()
    monkeypatch.undo()
    code, _, err = run_cli(capsys, command, "--model", fill(model, workspace, tmp_path), "--input",
                           workspace / "inputs" / "photo.png", "--output", tmp_path / "o.png")
    assert code == 0, err
