"""Super-resolution: degradation, pairs, metrics with known answers, and the three commands."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import SHARED, needs_shared, run_cli
from PIL import Image

from course_lib.data import CropDataset
from course_lib.images import resize
from course_lib.metrics import feature_distance, features, psnr_ssim, sharpness, sharpness_ratio
from course_lib.objectives import SR_WEIGHTS, PerceptualObjective
from course_lib.sr import Degradation, degrade, evaluate, evaluate_models, match_histogram, upscale


@needs_shared
def test_bicubic_set5_x4_matches_the_paper():
    result = evaluate(None, SHARED / "sr" / "Set5", scale=4)
    assert result["images"] == 5
    assert abs(result["psnr"] - 28.43) <= 0.1 and abs(result["ssim"] - 0.8114) <= 0.003, result
    per_image = result["per_image"]
    assert sorted(per_image) == ["baby.png", "bird.png", "butterfly.png", "head.png", "woman.png"]
    assert result["psnr"] == pytest.approx(np.mean([s["psnr"] for s in per_image.values()]))


def test_paired_comparison_of_two_models_known_answers():
    """benchmarks/sr_paired.py: a model better on every image gets an interval below 0 and all the
    images; one that wins half by a hair and loses half by a lot is worse, its interval above 0."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "sr_paired.py"
    spec = importlib.util.spec_from_file_location("sr_paired", path)
    sr_paired = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sr_paired)
    names = [f"{i}.png" for i in range(20)]
    base = dict(zip(names, np.linspace(100, 200, 20)))
    gains = dict(zip(names, np.linspace(2, 4, 20)))
    better = sr_paired.paired({n: v - gains[n] for n, v in base.items()}, base, lower_is_better=True, resamples=2000)
    assert better["mean"] == pytest.approx(-3) and better["better"] == 20 and better["sign_p"] < 1e-5
    assert -4 < better["low"] < -3 < better["high"] < -2
    mixed = {n: v + (-0.1 if i % 2 else 5) for i, (n, v) in enumerate(base.items())}
    worse = sr_paired.paired(mixed, base, lower_is_better=True, resamples=2000)
    assert worse["better"] == 10 and worse["sign_p"] == 1.0 and 0 < worse["low"] < worse["mean"] < worse["high"]
    psnr = sr_paired.paired({n: v + gains[n] for n, v in base.items()}, base, lower_is_better=False, resamples=2000)
    assert psnr["better"] == 20
    with pytest.raises(ValueError, match="different images"):
        sr_paired.paired(base, {**base, "extra.png": 1.0}, lower_is_better=True, resamples=100)


def test_psnr_of_a_model_like_output_computed_by_hand():
    """An output off the 8-bit grid, as a network's is: each channel lands 0.3 or 0.7 of a
    level away from the target, so after *rounding* the error is 0 or ±1 level per channel.
    PSNR by hand: Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255 on 0-255 values (BT.601)."""
    rng = np.random.default_rng(0)
    target8 = rng.integers(10, 240, (3, 40, 40))
    offsets = rng.choice([-0.7, -0.3, 0.3, 0.7], size=(3, 40, 40))
    output = torch.from_numpy((target8 + offsets) / 255).float().unsqueeze(0)
    target = torch.from_numpy(target8 / 255).float().unsqueeze(0)
    rounded_error = np.round(target8 + offsets) - target8  # what rounding to 8 bits leaves
    y_error = (65.481 * rounded_error[0] + 128.553 * rounded_error[1] + 24.966 * rounded_error[2]) / 255
    y_error = y_error[4:-4, 4:-4]
    expected = 10 * np.log10(255 ** 2 / np.mean(y_error ** 2))
    psnr, _ = psnr_ssim(output, target, border=4)
    assert psnr == pytest.approx(expected, abs=0.01)
    truncated = np.floor(target8 + offsets) - target8  # the old bug: an error of -1 where 0 is right
    assert not np.allclose(truncated, rounded_error)


def test_metrics_known_answers():
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    psnr, ssim = psnr_ssim(x, x, border=4)
    assert psnr == float("inf") and ssim == pytest.approx(1.0)
    worse, _ = psnr_ssim((x + 0.1).clamp(0, 1), x, border=4)
    better, _ = psnr_ssim((x + 0.02).clamp(0, 1), x, border=4)
    assert 10 < worse < better < 60
    with pytest.raises(ValueError, match="differ in size"):
        psnr_ssim(x, x[..., :16, :16], border=0)
    blurry = resize(resize(x, 8, "bicubic"), 32, "bicubic").clamp(0, 1)
    assert sharpness(x) > sharpness(blurry)
    assert sharpness_ratio(x, x, border=4) == 1.0 and sharpness_ratio(blurry, x, border=4) < 0.7


def test_feature_distance_is_eq2_at_each_layer():
    from course_lib.vgg import VGGFeatures

    net = VGGFeatures(("relu1_2", "relu2_2"), weights="random")
    x = torch.rand(1, 3, 40, 40, generator=torch.Generator().manual_seed(0))
    y = (x + 0.05).clamp(0, 1)
    assert feature_distance(x, x, net, border=4) == {"relu1_2": 0.0, "relu2_2": 0.0}
    d = feature_distance(y, x, net, border=4)
    with torch.no_grad():  # by hand: 8-bit images, the border cropped, mean squared feature difference
        a, b = (net((torch.round(i * 255) / 255)[..., 4:-4, 4:-4]) for i in (y, x))
    for layer in ("relu1_2", "relu2_2"):
        assert d[layer] == pytest.approx((a[layer] - b[layer]).pow(2).mean().item(), rel=1e-5)
    assert feature_distance(y, features(x, net, border=4), net, border=4) == pytest.approx(d, rel=1e-6)


def test_models_scored_together_score_as_one_by_one(sr_folder):
    """evaluate_models shares each LR input and the HR features between the models; the scores
    are those of evaluate, model by model, image by image."""
    from course_lib.vgg import VGGFeatures

    net = VGGFeatures(("relu1_2", "relu2_2"), weights="random")
    torch.manual_seed(0)
    nearest = torch.nn.Sequential(torch.nn.Upsample(scale_factor=4), torch.nn.Conv2d(3, 3, 1)).eval()
    models = {"bicubic": None, "nearest": nearest}
    together = evaluate_models(models, sr_folder, 4, blur=1.0, loss_net=net)
    for name, model in models.items():
        alone = evaluate(model, sr_folder, 4, blur=1.0, loss_net=net)
        assert together[name]["per_image"].keys() == alone["per_image"].keys() == {"square.png", "grey_odd.png"}
        for image, scores in alone["per_image"].items():
            assert together[name]["per_image"][image] == pytest.approx(scores, rel=1e-6), (name, image)
        assert together[name]["psnr"] == pytest.approx(alone["psnr"]) and together[name]["images"] == 2
    assert together["bicubic"]["relu1_2"] != together["nearest"]["relu1_2"]


def test_degrade_and_pairs(tmp_path):
    hr = torch.rand(1, 3, 64, 48)
    assert degrade(hr, 4).shape == (1, 3, 16, 12) and degrade(hr, 8, blur=0).shape == (1, 3, 8, 6)
    assert not torch.allclose(degrade(hr, 4, blur=1.0), degrade(hr, 4, blur=0.0))  # the blur acts
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (80, 90, 3), dtype=np.uint8)).save(tmp_path / "a.png")
    crops = CropDataset([tmp_path / "a.png"], crop=32, cache=True)
    hr = crops[(0, 7)].unsqueeze(0)
    assert torch.equal(crops[(0, 7)], hr[0]) and torch.equal(crops[(0, 7)], CropDataset([tmp_path / "a.png"], crop=32,
                                                                                         cache=True)[(0, 7)])
    degradation = Degradation(4, 1.0)
    assert torch.equal(degradation(hr), degrade(hr, 4, 1.0)) and degradation.settings()["scale"] == 4
    seen = []
    objective = PerceptualObjective(weights=SR_WEIGHTS["pixel"], input_transform=degradation)
    objective.loss(lambda x: seen.append(x.shape) or torch.nn.functional.interpolate(x, scale_factor=4), hr)
    assert seen == [(1, 3, 8, 8)]  # the network saw the degraded crop
    assert objective.settings()["input_transform"]["blur"] == 1.0


def test_histogram_matching_undoes_a_colour_cast():
    gen = torch.Generator().manual_seed(0)
    hr = torch.nn.functional.interpolate(torch.rand(1, 3, 16, 16, generator=gen), size=64, mode="bilinear")
    lr = degrade(hr, 4)
    output = upscale(None, lr, 4)
    cast = (output * torch.tensor([0.7, 1.0, 0.9]).view(1, 3, 1, 1) + 0.15).clamp(0, 1)
    matched = match_histogram(cast, lr)
    assert matched.shape == cast.shape and matched.dtype == cast.dtype
    for c in range(3):  # each channel now has the LR input's distribution
        q = torch.linspace(0, 1, 11, dtype=torch.float64)
        assert torch.allclose(matched[0, c].double().quantile(q), lr[0, c].double().quantile(q), atol=0.03)
    assert psnr_ssim(matched, hr, border=4)[0] > psnr_ssim(cast, hr, border=4)[0] + 3


@pytest.fixture
def sr_folder(tmp_path):
    rng = np.random.default_rng(1)
    folder = tmp_path / "set"
    folder.mkdir()
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(folder / "square.png")
    Image.fromarray(rng.integers(0, 256, (66, 70), dtype=np.uint8), "L").save(folder / "grey_odd.png")
    return folder


@pytest.fixture
def sr_model(sr_folder, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    code, _, err = run_cli(capsys, "train-sr", "--scale", "4", "--loss", "pixel", "--data", sr_folder,
                           "--out", tmp_path / "run", "--steps", "3", "--image-size", "32", "--batch-size", "2",
                           "--workers", "0", "--checkpoint-every", "3")
    assert code == 0, err
    return tmp_path / "run" / "checkpoint.pt"


def test_train_upscale_and_evaluate(sr_folder, sr_model, tmp_path, capsys):
    code, out, err = run_cli(capsys, "upscale", "--model", sr_model, "--input", sr_folder / "grey_odd.png",
                             "--output", tmp_path / "big.png", "--match-histogram")
    assert code == 0, err
    with Image.open(tmp_path / "big.png") as big:
        assert big.size == (280, 264) and big.mode == "RGB"  # greyscale handled, ×4

    code, out, err = run_cli(capsys, "eval-sr", "--model", sr_model, "--scale", "4", "--sets", sr_folder)
    assert code == 0, err
    result = json.loads(out)["sets"]["set"]  # stdout is one JSON object and nothing else
    assert result["images"] == 2 and 0 < result["psnr"] < 60
    assert result["cropped_to_multiple_of_scale"] == ["grey_odd.png: 70×66 → 68×64"]
    assert "grey_odd.png: 70×66 → 68×64" in err  # reported, not silently cropped

    code, out, _ = run_cli(capsys, "eval-sr", "--model", sr_model, "--scale", "4", "--sets", sr_folder, "--markdown")
    assert code == 0 and out.splitlines()[0].startswith("| set |") and "{" not in out

    code, out, err = run_cli(capsys, "eval-sr", "--model", "bicubic", "--scale", "4", "--sets", sr_folder,
                             "--perceptual")
    scores = json.loads(out)["sets"]["set"]
    assert code == 0 and scores["relu2_2"] > 0 and scores["relu3_3"] > 0 and 0 < scores["sharpness_ratio"] < 1, err

    code, out, _ = run_cli(capsys, "eval-sr", "--model", sr_model, "--scale", "4", "--sets", sr_folder,
                           "--match-histogram")
    report = json.loads(out)
    assert code == 0 and report["match_histogram"] is True and report["sets"]["set"]["psnr"] != result["psnr"]

    code, _, err = run_cli(capsys, "eval-sr", "--model", sr_model, "--scale", "8", "--sets", sr_folder)
    assert code == 1 and "upscales ×4, not ×8" in err


def test_srcnn_trains_through_the_same_commands(sr_folder, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    code, _, err = run_cli(capsys, "train-sr", "--arch", "srcnn", "--scale", "4", "--loss", "pixel",
                           "--data", sr_folder, "--out", tmp_path / "srcnn", "--steps", "2", "--image-size", "32",
                           "--batch-size", "2", "--workers", "0")
    assert code == 0, err
    code, out, err = run_cli(capsys, "eval-sr", "--model", tmp_path / "srcnn" / "checkpoint.pt", "--scale", "4",
                             "--sets", sr_folder)
    assert code == 0 and json.loads(out)["sets"]["set"]["images"] == 2, err


SHIPPED_SR = {"sr4-pixel": 4, "sr8-pixel": 8, "srcnn4": 4, "srcnn8": 8, "sr4-feat": 4, "sr8-feat": 8,
              "sr8-pixel-blur1": 8}


def test_shipped_models_load_by_name_with_their_training_record():
    from course_lib.checkpoints import Checkpoint, load_model, shipped_models, training_record

    assert set(SHIPPED_SR) <= set(shipped_models())
    for name, scale in SHIPPED_SR.items():
        model = load_model(name)
        assert model.scale == scale and not model.training
        record = training_record(name)
        stored = Checkpoint(name)
        assert stored.steps == record["total_steps"] and stored.fingerprint == record["fingerprint"]
        assert record["steps"] > 0 and "train-sr" in record["command"] and record["device"]
        if "--init" in record["command"]:  # fine-tuned: the runs it started from are recorded and counted
            stages, stage = [], record
            while stage is not None:
                stages, stage = stages + [stage["steps"]], stage.get("init")
            assert record["total_steps"] == sum(stages) > record["steps"]
        assert shipped_models()[name].stat().st_size <= 10 * 2**20


def test_ship_model_writes_the_weights_and_how_they_were_trained(sr_model, tmp_path, monkeypatch, capsys):
    """tools/ship_model.py: the shipped file computes what the checkpoint computes (in float16
    with --half), records the checkpoint's steps, settings and the command, and counts the
    shipped model a run started from (--init-checkpoint) in its totals."""
    import ship_model

    from course_lib.checkpoints import Checkpoint, load_model, training_record

    monkeypatch.setattr(ship_model, "ROOT", tmp_path)
    (tmp_path / "course_lib" / "models").mkdir(parents=True)
    assert ship_model.main([str(sr_model), "first", "--command", "train-sr --steps 3", "--device", "a CPU"]) == 0
    first = tmp_path / "course_lib" / "models" / "first.pt"
    x = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(load_model(first)(x), load_model(sr_model)(x))
    record = training_record(first)
    assert (record["steps"], record["command"], record["device"]) == (3, "train-sr --steps 3", "a CPU")
    assert record["fingerprint"] == Checkpoint(sr_model).fingerprint and "init" not in record

    assert ship_model.main([str(sr_model), "second", "--command", "train-sr --init first", "--half",
                            "--init-checkpoint", str(first)]) == 0
    second = tmp_path / "course_lib" / "models" / "second.pt"
    assert all(v.dtype == torch.float16 for v in Checkpoint(second).state["model"].values() if v.is_floating_point())
    record = training_record(second)
    assert record["init"]["from"] == "first.pt" and record["init"]["command"] == "train-sr --steps 3"
    assert record["total_steps"] == 6 and "second.pt" in capsys.readouterr().out

    assert ship_model.main([str(sr_model), "third", "--command", "train-sr --init second",
                            "--init-checkpoint", str(second)]) == 0  # fine-tuned twice: every stage counts
    record = training_record(tmp_path / "course_lib" / "models" / "third.pt")
    assert record["init"]["init"]["command"] == "train-sr --steps 3"
    assert (record["total_steps"], record["total_seconds"]) == (9, 3 * record["seconds"])


@pytest.mark.parametrize("name", ["sr4-pixel", "sr8-pixel"])
def test_shipped_output_follows_input_brightness(name):
    """Two copies of an image at different brightness: the outputs' mean brightness differs as
    the inputs' does (within 0.05), the property instance normalisation would destroy."""
    from course_lib.checkpoints import load_model

    model = load_model(name)
    texture = resize(torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(0)), (32, 32), "bicubic") * 0.2
    dark, bright = texture + 0.1, texture + 0.7
    with torch.no_grad():
        difference = (model(bright).mean() - model(dark).mean()).item()
    assert abs(difference - (bright.mean() - dark.mean()).item()) < 0.05


@needs_shared
@pytest.mark.parametrize("name, scale, bicubic", [("sr4-pixel", 4, 28.43), ("sr8-pixel", 8, 24.40)])
def test_shipped_pixel_models_beat_bicubic_on_set5(name, scale, bicubic):
    from course_lib.checkpoints import load_model

    result = evaluate(load_model(name), SHARED / "sr" / "Set5", scale)
    assert result["psnr"] >= bicubic + 0.5, result


@pytest.mark.slow
@needs_shared
@pytest.mark.parametrize("scale", [4, 8])
def test_feat_model_is_sharper_and_closer_in_features_than_pixel_model(scale):
    """The paper's finding (§4.2) with its real loss network, on Set5 at ×4 and ×8: ℓ_feat costs
    PSNR but its output's edge energy is nearer the original's, and it is nearer in relu3_3
    features (a layer it was not trained on)."""
    from course_lib.checkpoints import load_model
    from course_lib.hparams import SR_PERCEPTUAL_LAYERS
    from course_lib.vgg import loss_network

    net = loss_network(SR_PERCEPTUAL_LAYERS, weights="caffe", device="cpu")
    pixel, feat = (evaluate(load_model(f"sr{scale}-{loss}"), SHARED / "sr" / "Set5", scale, loss_net=net)
                   for loss in ("pixel", "feat"))
    assert feat["psnr"] < pixel["psnr"], (feat, pixel)
    assert abs(1 - feat["sharpness_ratio"]) < abs(1 - pixel["sharpness_ratio"]), (feat, pixel)
    assert feat["relu3_3"] < pixel["relu3_3"] and feat["relu2_2"] < pixel["relu2_2"], (feat, pixel)


def test_fine_tuning_starts_from_given_weights(sr_folder, sr_model, tmp_path, capsys, monkeypatch):
    from course_lib.checkpoints import read as load_checkpoint

    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    common = ("train-sr", "--scale", "4", "--loss", "pixel", "--data", sr_folder, "--image-size", "32",
              "--batch-size", "2", "--workers", "0", "--lr", "1e-9")
    code, _, err = run_cli(capsys, *common, "--init", sr_model, "--out", tmp_path / "tuned", "--steps", "1")
    assert code == 0, err
    before, after = load_checkpoint(sr_model), load_checkpoint(tmp_path / "tuned" / "checkpoint.pt")
    assert after["fingerprint"]["train"]["extra"]["init"]["step"] == 3
    for name, value in before["model"].items():  # one step at lr 1e-9 from the given weights
        if value.is_floating_point() and "running" not in name:
            assert torch.allclose(value, after["model"][name], atol=1e-6), name
    start = tmp_path / "start.pt"  # a run started from a model resumes after that model is shipped again
    shutil.copy(sr_model, start)
    code, _, err = run_cli(capsys, *common, "--init", start, "--out", tmp_path / "again", "--steps", "1")
    assert code == 0, err
    started = load_checkpoint(tmp_path / "again" / "checkpoint.pt")["train_config"]["extra"]
    reshipped = load_checkpoint(start)
    reshipped["model"] = {k: v + 1 if v.is_floating_point() else v for k, v in reshipped["model"].items()}
    torch.save(reshipped, start)
    code, _, err = run_cli(capsys, *common, "--init", start, "--out", tmp_path / "again", "--steps", "2")
    assert code == 0, err
    resumed = load_checkpoint(tmp_path / "again" / "checkpoint.pt")
    assert resumed["step"] == 2 and resumed["train_config"]["extra"] == started, err  # the old code refused it
    code, _, err = run_cli(capsys, *common, "--init", sr_model, "--out", tmp_path / "x8", "--steps", "1",
                           "--scale", "8", "--image-size", "64")  # ×8 needs 64² crops
    assert code == 1 and "do not fit this network" in err
