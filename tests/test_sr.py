"""Super-resolution: degradation, pairs, objective, metrics, and the three commands."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from course_lib.metrics import bicubic, psnr_ssim
from course_lib.networks import build
from course_lib.sr import PairDataset, SRObjective, degrade, evaluate, match_histogram

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


@pytest.mark.skipif(not (SHARED / "sr" / "Set5").is_dir(), reason="needs ../shared/data/sr/Set5")
def test_bicubic_set5_x4_matches_the_paper():
    result = evaluate(None, SHARED / "sr" / "Set5", scale=4)
    assert result["images"] == 5
    assert abs(result["psnr"] - 28.43) <= 0.1 and abs(result["ssim"] - 0.8114) <= 0.003, result


def test_metrics_known_answers():
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with np.errstate(divide="ignore"):  # skimage divides by a zero MSE: PSNR is infinite
        psnr, ssim = psnr_ssim(x, x, border=4)
    assert psnr == float("inf") and ssim == pytest.approx(1.0)
    worse, _ = psnr_ssim((x + 0.1).clamp(0, 1), x, border=4)
    better, _ = psnr_ssim((x + 0.02).clamp(0, 1), x, border=4)
    assert 10 < worse < better < 60
    with pytest.raises(ValueError, match="differ in size"):
        psnr_ssim(x, x[..., :16, :16], border=0)


def test_degrade_and_pairs(tmp_path):
    hr = torch.rand(1, 3, 64, 48)
    assert degrade(hr, 4).shape == (1, 3, 16, 12) and degrade(hr, 8, blur=0).shape == (1, 3, 8, 6)
    assert not torch.allclose(degrade(hr, 4, blur=1.0), degrade(hr, 4, blur=0.0))  # the blur acts
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (80, 90, 3), dtype=np.uint8)).save(tmp_path / "a.png")
    pairs = PairDataset([tmp_path / "a.png"], scale=4, crop=32)
    lr, hr = pairs[(0, 7)]
    assert lr.shape == (3, 8, 8) and hr.shape == (3, 32, 32)
    assert torch.equal(pairs[(0, 7)][1], hr)  # same seed, same crop
    with pytest.raises(ValueError, match="multiple of the scale"):
        PairDataset([tmp_path / "a.png"], scale=8, crop=36)


def test_histogram_matching_undoes_a_colour_cast():
    gen = torch.Generator().manual_seed(0)
    hr = torch.nn.functional.interpolate(torch.rand(1, 3, 16, 16, generator=gen), size=64, mode="bilinear")
    lr = degrade(hr, 4)
    output = bicubic(lr, (64, 64))
    cast = (output * torch.tensor([0.7, 1.0, 0.9]).view(1, 3, 1, 1) + 0.15).clamp(0, 1)
    matched = match_histogram(cast, lr)
    assert matched.shape == cast.shape and matched.dtype == cast.dtype
    for c in range(3):  # each channel now has the LR input's distribution
        q = torch.linspace(0, 1, 11, dtype=torch.float64)
        assert torch.allclose(matched[0, c].double().quantile(q), lr[0, c].double().quantile(q), atol=0.03)
    assert psnr_ssim(matched, hr, border=4)[0] > psnr_ssim(cast, hr, border=4)[0] + 3


@pytest.mark.parametrize("loss", ["pixel", "feat"])
def test_objective_is_differentiable(loss, random_vgg):
    model = build("sr", scale=4, channels=8, blocks=1)
    objective = SRObjective(loss, random_vgg if loss == "feat" else None)
    total, parts = objective(model, (torch.rand(2, 3, 8, 8), torch.rand(2, 3, 32, 32)))
    total.backward()
    assert set(parts) == {loss, "tv"} and torch.isfinite(total)
    assert all(p.grad is not None for p in model.parameters())
    with pytest.raises(ValueError, match="loss network"):
        SRObjective("feat")


def cli(*args):
    env = dict(os.environ, COURSE_VGG_WEIGHTS="random", COURSE_DEVICE="cpu")
    return subprocess.run([sys.executable, "-m", "course_lib", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture
def sr_folder(tmp_path):
    rng = np.random.default_rng(1)
    folder = tmp_path / "set"
    folder.mkdir()
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(folder / "square.png")
    Image.fromarray(rng.integers(0, 256, (66, 70), dtype=np.uint8), "L").save(folder / "grey_odd.png")
    return folder


def test_train_upscale_and_evaluate(sr_folder, tmp_path):
    run = cli("train-sr", "--scale", "4", "--loss", "pixel", "--data", str(sr_folder), "--out",
              str(tmp_path / "run"), "--steps", "3", "--image-size", "32", "--batch-size", "2",
              "--workers", "0", "--checkpoint-every", "3")
    assert run.returncode == 0, run.stdout + run.stderr
    model = str(tmp_path / "run" / "checkpoint.pt")

    up = cli("upscale", "--model", model, "--input", str(sr_folder / "grey_odd.png"), "--output",
             str(tmp_path / "big.png"), "--match-histogram")
    assert up.returncode == 0, up.stderr
    with Image.open(tmp_path / "big.png") as big:
        assert big.size == (280, 264) and big.mode == "RGB"  # greyscale handled, ×4

    ev = cli("eval-sr", "--model", model, "--scale", "4", "--sets", str(sr_folder))
    assert ev.returncode == 0, ev.stderr
    result = json.loads(ev.stdout.splitlines()[0])["sets"]["set"]
    assert result["images"] == 2 and 0 < result["psnr"] < 60
    assert result["cropped_to_multiple_of_scale"] == ["grey_odd.png: 70×66 → 68×64"]
    assert "grey_odd.png: 70×66 → 68×64" in ev.stderr  # reported, not silently cropped

    matched = cli("eval-sr", "--model", model, "--scale", "4", "--sets", str(sr_folder), "--match-histogram")
    assert matched.returncode == 0, matched.stderr
    report = json.loads(matched.stdout.splitlines()[0])
    assert report["match_histogram"] is True and report["sets"]["set"]["psnr"] != result["psnr"]

    wrong = cli("eval-sr", "--model", model, "--scale", "8", "--sets", str(sr_folder))
    assert wrong.returncode == 1 and "upscales ×4, not ×8" in wrong.stderr


def test_tiny_and_non_sr_inputs_are_refused(sr_folder, tmp_path):
    Image.new("RGB", (12, 12)).save(tmp_path / "tiny.png")
    (tmp_path / "tiny_set").mkdir()
    Image.new("RGB", (12, 12)).save(tmp_path / "tiny_set" / "tiny.png")
    ev = cli("eval-sr", "--model", "bicubic", "--scale", "4", "--sets", str(tmp_path / "tiny_set"))
    assert ev.returncode == 1 and "tiny.png" in ev.stderr and "smaller" in ev.stderr
    up = cli("upscale", "--model", str(tmp_path / "none.pt"), "--input", str(tmp_path / "tiny.png"),
             "--output", str(tmp_path / "o.png"))
    assert up.returncode == 1 and "none.pt" in up.stderr
