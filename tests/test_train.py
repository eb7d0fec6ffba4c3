"""The training loop, its checkpoints, and the train-style / stylize commands."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from course_lib import data
from course_lib.networks import build
from course_lib.train import StyleTransferObjective, TrainConfig, load_checkpoint, load_model, train

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        Image.fromarray(rng.integers(0, 256, (48, 40, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(tmp_path / "style.png")
    return folder


def small_run(images, random_vgg, out, steps, **config):
    torch.manual_seed(0)
    model = build("style", width=8)
    style = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    objective = StyleTransferObjective(random_vgg, style, style_weight=50.0)
    dataset = data.CropDataset(data.list_images(images), crop=32)
    cfg = TrainConfig(steps=steps, batch_size=2, num_workers=0, log_every=1, **config)
    return model, train(model, objective, dataset, out, cfg)


def test_loss_falls_and_checkpoint_is_atomic(images, random_vgg, tmp_path):
    model, history = small_run(images, random_vgg, tmp_path / "run", 30, checkpoint_every=10)
    first = np.mean([h["total"] for h in history[:5]])
    last = np.mean([h["total"] for h in history[-5:]])
    assert last < 0.7 * first, (first, last)
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["checkpoint.pt"]  # no temp files
    state = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert state["step"] == 30 and state["model_config"]["kind"] == "style"
    restored = load_model(tmp_path / "run" / "checkpoint.pt")
    x = torch.rand(1, 3, 32, 32)
    assert torch.allclose(restored(x), model.eval()(x), atol=1e-5)  # NCHW vs channels_last kernels


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(images, random_vgg, tmp_path):
    class Poisoned(StyleTransferObjective):
        calls = 0

        def forward(self, model, batch):
            Poisoned.calls += 1
            loss, parts = super().forward(model, batch)
            return (loss * float("nan"), parts) if Poisoned.calls == 4 else (loss, parts)

    model = build("style", width=8)
    objective = Poisoned(random_vgg, torch.rand(1, 3, 32, 32))
    dataset = data.CropDataset(data.list_images(images), crop=32)
    cfg = TrainConfig(steps=10, batch_size=2, num_workers=0, log_every=1, checkpoint_every=2)
    with pytest.raises(FloatingPointError, match="step 4.*last good checkpoint"):
        train(model, objective, dataset, tmp_path / "run", cfg)
    state = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert state["step"] == 2 and all(torch.isfinite(v).all() for v in state["model"].values())


def test_resume_refuses_another_model(images, random_vgg, tmp_path):
    small_run(images, random_vgg, tmp_path / "run", 2)
    other = build("style", width=16)
    with pytest.raises(ValueError, match="another model"):
        train(other, StyleTransferObjective(random_vgg, torch.rand(1, 3, 32, 32)),
              data.CropDataset(data.list_images(images), crop=32), tmp_path / "run",
              TrainConfig(steps=4, batch_size=2, num_workers=0))


def test_unreadable_checkpoint_is_named(tmp_path):
    bad = tmp_path / "checkpoint.pt"
    bad.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="checkpoint.pt.*not a readable"):
        load_checkpoint(bad)


def cli(*args, **kwargs):
    env = dict(os.environ, COURSE_VGG_WEIGHTS="random", COURSE_DEVICE="cpu")
    return subprocess.Popen([sys.executable, "-m", "course_lib", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)


def train_args(images, out, steps):
    return ["train-style", "--style", str(images.parent / "style.png"), "--data", str(images),
            "--out", str(out), "--steps", str(steps), "--image-size", "32", "--batch-size", "2",
            "--style-size", "32", "--width", "8", "--checkpoint-every", "4", "--sample-every", "100",
            "--workers", "1"]


def test_killed_run_resumes_exactly(images, tmp_path):
    """2N steps straight == a run killed (SIGKILL) after a checkpoint, then resumed."""
    straight = cli(*train_args(images, tmp_path / "straight", 12))
    assert straight.wait(timeout=300) == 0, straight.stdout.read()

    victim = cli(*train_args(images, tmp_path / "killed", 12))
    checkpoint = tmp_path / "killed" / "checkpoint.pt"
    deadline = time.time() + 300
    while not checkpoint.exists() and time.time() < deadline and victim.poll() is None:
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    assert victim.wait(timeout=60) == -signal.SIGKILL, "the run finished before it could be killed"
    killed_at = load_checkpoint(checkpoint)["step"]
    assert 0 < killed_at < 12

    resumed = cli(*train_args(images, tmp_path / "killed", 12))
    output, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0 and f"Resuming from {checkpoint} at step {killed_at}" in output
    a = load_checkpoint(tmp_path / "straight" / "checkpoint.pt")
    b = load_checkpoint(checkpoint)
    assert a["step"] == b["step"] == 12
    for key in a["model"]:
        assert torch.allclose(a["model"][key], b["model"][key], atol=1e-5), key
    assert [h["total"] for h in a["history"]] == pytest.approx([h["total"] for h in b["history"]], rel=1e-4)


def test_train_style_help_lists_paper_defaults():
    out, _ = cli("train-style", "--help").communicate(timeout=60)
    for option, default in [("--steps", "40000"), ("--image-size", "256"), ("--batch-size", "4"),
                            ("--lr", "0.001"), ("--style", None), ("--data", None), ("--out", None)]:
        assert option in out and (default is None or f"(paper: {default})" in out), option


def test_stylize_folder_onnx_and_bad_input(images, random_vgg, tmp_path):
    small_run(images, random_vgg, tmp_path / "run", 2)
    model = tmp_path / "run" / "checkpoint.pt"
    proc = cli("stylize", "--model", str(model), "--input", str(images), "--output", str(tmp_path / "out"),
               "--export-onnx", str(tmp_path / "net.onnx"))
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"{i}.jpg" for i in range(6)]

    import onnxruntime

    session = onnxruntime.InferenceSession(str(tmp_path / "net.onnx"))
    x = torch.rand(1, 3, 30, 42)  # not multiples of 4: padding must be exported dynamically
    expected = load_model(model)(x).detach().numpy()
    assert np.abs(session.run(None, {"image": x.numpy()})[0] - expected).max() < 1e-4

    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    proc = cli("stylize", "--model", str(model), "--input", str(tmp_path / "broken.jpg"),
               "--output", str(tmp_path / "x.jpg"))
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 1 and "broken.jpg: not an image" in out
