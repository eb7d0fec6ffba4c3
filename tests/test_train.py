"""The training loop: checkpoints, exact resume, settings fingerprints, the lock, non-finite
steps, signals, unreadable images; and the train-style / stylize commands."""

import os
import re
import shutil
import signal
import time
import warnings

import numpy as np
import pytest
import torch
from helpers import cli_process, kill_and_resume, run_cli, wait_for
from PIL import Image

from course_lib import data
from course_lib.architectures import build
from course_lib.checkpoints import load_model
from course_lib.checkpoints import read as load_checkpoint
from course_lib.files import LockedError, run_lock
from course_lib.objectives import LossWeights, PerceptualObjective
from course_lib.runs import RunMismatch, TrainConfig, run_folder
from course_lib.stopping import Interrupted
from course_lib.train import train


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        Image.fromarray(rng.integers(0, 256, (48, 40, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(tmp_path / "style.png")
    return folder


def style_image(seed=0):
    return torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(seed))


STYLE50 = LossWeights(style=50.0)


def setup(images, random_vgg, style_seed=0, weights=STYLE50):
    torch.manual_seed(0)
    model = build("style", width=8)
    objective = PerceptualObjective(random_vgg, style_image(style_seed), weights)
    return model, objective, data.CropDataset(data.list_images(images), crop=32)


def small_run(images, random_vgg, out, steps, **config):
    model, objective, dataset = setup(images, random_vgg)
    cfg = TrainConfig(steps=steps, batch_size=2, num_workers=0, log_every=1, **config)
    return model, train(model, objective, dataset, out, cfg)


def test_loss_falls_and_checkpoint_is_atomic(images, random_vgg, tmp_path, capsys):
    model, history = small_run(images, random_vgg, tmp_path / "run", 30, checkpoint_every=10)
    assert "Projected: about" in capsys.readouterr().err  # the time the rest will take, said early
    first = np.mean([h["total"] for h in history[:5]])
    last = np.mean([h["total"] for h in history[-5:]])
    assert last < 0.7 * first, (first, last)
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["checkpoint.pt"]  # no temp files, no lock
    state = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert state["step"] == 30 and state["model_config"]["kind"] == "style"
    restored = load_model(tmp_path / "run" / "checkpoint.pt")
    x = torch.rand(1, 3, 32, 32)
    assert torch.allclose(restored(x), model.eval()(x), atol=1e-5)  # NCHW vs channels_last kernels


class Poisoned(PerceptualObjective):
    """Returns a NaN loss on the calls in ``bad``."""

    def __init__(self, *args, bad=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.calls, self.bad = 0, set(bad)

    def loss(self, model, batch):
        self.calls += 1
        loss, parts = super().loss(model, batch)
        return (loss * float("nan"), parts) if self.calls in self.bad else (loss, parts)


def test_one_non_finite_step_is_skipped(images, random_vgg, tmp_path):
    model, _, dataset = setup(images, random_vgg)
    objective = Poisoned(random_vgg, style_image(), LossWeights(style=50.0), bad={3})
    before = {k: v.clone() for k, v in model.state_dict().items()}
    train(model, objective, dataset, tmp_path / "run", TrainConfig(steps=6, batch_size=2, num_workers=0))
    state = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert state["step"] == 6 and all(torch.isfinite(v).all() for v in state["model"].values())
    assert any(not torch.equal(before[k], v) for k, v in state["model"].items())


def test_a_loss_that_jumps_keeps_the_checkpoint_from_before_it(images, random_vgg, tmp_path, capsys):
    from course_lib.train import step
    from course_lib.watch import loss_jump

    model, objective, dataset = setup(images, random_vgg)
    calls = []

    def jumps_after_eight(m, loss_fn, optimizer, batch):  # the loss ×10 from step 9 on, as sr8-feat's did
        calls.append(1)
        loss, parts = step(m, loss_fn, optimizer, batch)
        return loss * (10 if len(calls) > 8 else 1), parts
    config = TrainConfig(steps=12, batch_size=2, num_workers=0, log_every=1, checkpoint_every=4)
    train(model, objective, dataset, tmp_path / "run", config, step_fn=jumps_after_eight)
    kept = tmp_path / "run" / "checkpoint-before-jump-at-12.pt"
    assert [p.name for p in (tmp_path / "run").glob("checkpoint-*")] == [kept.name]  # not at 8: no jump then
    assert load_checkpoint(kept)["step"] == 8 and load_checkpoint(tmp_path / "run" / "checkpoint.pt")["step"] == 12
    assert "the loss jumped" in capsys.readouterr().err
    flat = [{"step": i + 1, "total": 1.0 + 0.5 * (i % 2)} for i in range(20)]  # noisy, no jump
    assert loss_jump(flat, 10) is None
    late = flat[:17] + [{"step": i, "total": 5.0} for i in (18, 19, 20)]  # in the window's last three logs
    assert loss_jump(late, 10) == (1.25, 5.0)
    assert loss_jump([{"step": i, "model_total": 9.0 * i} for i in range(1, 21)], 10) is None  # a GAN's groups


def test_a_relu_layer_that_stops_firing_is_named_at_each_checkpoint(images, random_vgg, tmp_path, capsys):
    from course_lib.train import step
    from course_lib.watch import dead_relus

    model, objective, dataset = setup(images, random_vgg)
    sample = torch.rand(1, 3, 32, 32)
    assert dead_relus(model, sample) == [] and model.training  # alive, and the model is left in training mode
    calls = []

    def kills_a_layer_from_step_eight(m, loss_fn, optimizer, batch):  # as sr8-feat's last upsampling ReLU
        calls.append(1)
        loss, parts = step(m, loss_fn, optimizer, batch)
        if len(calls) >= 8:
            with torch.no_grad():
                model.layers[15].weight.zero_()
                model.layers[15].bias.fill_(-1.0)
        return loss, parts
    config = TrainConfig(steps=12, batch_size=2, num_workers=0, log_every=1, checkpoint_every=4)
    train(model, objective, dataset, tmp_path / "run", config, sample_input=sample, step_fn=kills_a_layer_from_step_eight)
    warned = re.findall(r"at step (\d+) the ReLU layer\(s\) (\S+) output zero", capsys.readouterr().err)
    assert warned == [("8", "layers.16"), ("12", "layers.16")]


@pytest.mark.slow
def test_non_finite_steps_in_a_row_stop_and_keep_a_usable_checkpoint(images, random_vgg, tmp_path):
    model, _, dataset = setup(images, random_vgg)
    objective = Poisoned(random_vgg, style_image(), LossWeights(style=50.0), bad=range(4, 100))
    cfg = TrainConfig(steps=20, batch_size=2, num_workers=0, log_every=1, checkpoint_every=2)
    with pytest.raises(FloatingPointError, match="non-finite for 5 steps in a row.*last good checkpoint"):
        train(model, objective, dataset, tmp_path / "run", cfg)
    state = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert 2 <= state["step"] <= 8

    def finite(tree):
        if isinstance(tree, torch.Tensor):
            return bool(torch.isfinite(tree).all())
        if isinstance(tree, dict):
            return all(finite(v) for v in tree.values())
        return all(finite(v) for v in tree) if isinstance(tree, (list, tuple)) else True
    assert finite(state["model"]) and finite(state["optimizers"])  # no inf second moments

    # resuming from the kept checkpoint really trains: the weights change
    healthy_model, healthy, _ = setup(images, random_vgg)
    train(healthy_model, healthy, dataset, tmp_path / "run", cfg)
    resumed = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert resumed["step"] == 20
    assert any(not torch.equal(state["model"][k], v) for k, v in resumed["model"].items())


def test_resume_with_other_settings_is_refused_listing_them(images, random_vgg, tmp_path):
    small_run(images, random_vgg, tmp_path / "run", 2)
    model, objective, dataset = setup(images, random_vgg, style_seed=1, weights=LossWeights(style=7.0))
    cfg = TrainConfig(steps=4, batch_size=2, num_workers=0, lr=0.01)
    with pytest.raises(RunMismatch, match="objective.style_sha256.*objective.weights.style: 50.0 → 7.0"
                                          ".*train.lr: 0.001 → 0.01.*--restart"):
        train(model, objective, dataset, tmp_path / "run", cfg)
    with pytest.raises(RunMismatch, match="model.width: 8 → 16"):
        train(build("style", width=16), setup(images, random_vgg)[1], dataset, tmp_path / "run",
              TrainConfig(steps=4, batch_size=2, num_workers=0))
    # settings that do not change the result may differ freely
    model, objective, dataset = setup(images, random_vgg)
    train(model, objective, dataset, tmp_path / "run",
          TrainConfig(steps=3, batch_size=2, num_workers=0, log_every=1, checkpoint_every=7))
    assert load_checkpoint(tmp_path / "run" / "checkpoint.pt")["step"] == 3


def test_a_run_from_before_a_new_setting_resumes_with_it_at_its_default(images, random_vgg, tmp_path):
    """A course update that adds a training setting (here: warmup) keeps older runs resumable,
    and the new setting away from its default is still a difference."""
    small_run(images, random_vgg, tmp_path / "run", 2)
    path = tmp_path / "run" / "checkpoint.pt"
    state = load_checkpoint(path)
    del state["fingerprint"]["train"]["warmup"]  # as written before these settings existed
    del state["fingerprint"]["model"]["styles"]
    torch.save(state, path)
    assert small_run(images, random_vgg, tmp_path / "run", 3)[1][-1]["step"] == 3
    with pytest.raises(RunMismatch, match="train.warmup: 0 → 5"):
        small_run(images, random_vgg, tmp_path / "run", 4, warmup=5)


def test_warmup_raises_the_learning_rate_linearly(images, random_vgg, tmp_path, monkeypatch):
    seen = []
    step = torch.optim.Adam.step

    def recording(self, *args, **kwargs):
        seen.append(self.param_groups[0]["lr"])
        return step(self, *args, **kwargs)
    monkeypatch.setattr(torch.optim.Adam, "step", recording)
    small_run(images, random_vgg, tmp_path / "run", 6, warmup=4, lr=1e-3)
    assert seen == pytest.approx([2.5e-4, 5e-4, 7.5e-4, 1e-3, 1e-3, 1e-3])


def test_restart_keeps_the_old_checkpoint(images, random_vgg, tmp_path, capsys):
    small_run(images, random_vgg, tmp_path / "run", 2)
    model, objective, dataset = setup(images, random_vgg, style_seed=1)
    train(model, objective, dataset, tmp_path / "run", TrainConfig(steps=1, batch_size=2, num_workers=0), restart=True)
    kept = list((tmp_path / "run").glob("checkpoint-replaced-*.pt"))
    assert len(kept) == 1 and load_checkpoint(kept[0])["step"] == 2
    assert load_checkpoint(tmp_path / "run" / "checkpoint.pt")["step"] == 1
    assert "kept as" in capsys.readouterr().err
    for steps in (2, 3):  # two more restarts within the same second: every kept file survives
        train(model, objective, dataset, tmp_path / "run", TrainConfig(steps=steps, batch_size=2, num_workers=0),
              restart=True)
    kept = sorted((tmp_path / "run").glob("checkpoint-replaced-*.pt"))
    assert sorted(load_checkpoint(k)["step"] for k in kept) == [1, 2, 2]


def test_finished_run_is_reused_and_says_so(images, random_vgg, tmp_path, capsys):
    _, history = small_run(images, random_vgg, tmp_path / "run", 3)
    capsys.readouterr()
    _, again = small_run(images, random_vgg, tmp_path / "run", 3)
    assert again == history and "Reusing the finished run" in capsys.readouterr().err


def test_run_folders_are_named_by_settings(images, random_vgg, tmp_path):
    model, objective, dataset = setup(images, random_vgg)
    cfg = TrainConfig(steps=3, batch_size=2)
    a = run_folder(tmp_path, "style", model, objective, dataset, cfg)
    assert a == run_folder(tmp_path, "style", model, objective, dataset, TrainConfig(steps=9, batch_size=2))
    other = PerceptualObjective(random_vgg, style_image(1))
    assert a != run_folder(tmp_path, "style", model, other, dataset, cfg)
    assert a.name.startswith("style-")
    torch.manual_seed(1)  # the same network with other initial weights: the same run
    assert a == run_folder(tmp_path, "style", build("style", width=8), objective, dataset, cfg)
    rng = torch.random.get_rng_state()
    model.layers[-1] = torch.nn.Sigmoid()  # a student's network: the course's options, other modules
    assert a != run_folder(tmp_path, "style", model, objective, dataset, cfg)
    assert torch.equal(rng, torch.random.get_rng_state())  # naming the run draws no random numbers


def test_a_second_run_on_the_same_folder_is_refused(images, random_vgg, tmp_path):
    model, objective, dataset = setup(images, random_vgg)
    with run_lock(tmp_path / "run"):
        with pytest.raises(LockedError, match=f"PID {os.getpid()}"):
            train(model, objective, dataset, tmp_path / "run", TrainConfig(steps=1, batch_size=2, num_workers=0))


def test_unreadable_images_are_skipped_and_listed(images, random_vgg, tmp_path, capfd):
    (images / "9_broken.png").write_bytes(b"not a png")
    model, objective, _ = setup(images, random_vgg)
    dataset = data.CropDataset(data.list_images(images), crop=32)
    train(model, objective, dataset, tmp_path / "run",  # 1 of 7 is over 5 %, but within the 2 always tolerated
          TrainConfig(steps=8, batch_size=2, num_workers=2))
    assert (tmp_path / "run" / "skipped.txt").read_text().count("9_broken.png") == 1  # once, with 2 workers
    assert capfd.readouterr().err.count("Skipping an unreadable training image") == 1
    for i in range(3):
        (images / f"{i}.png").write_bytes(b"broken too")
    with pytest.raises(ValueError, match="of 7 training images are unreadable.*skipped.txt"):
        train(*setup(images, random_vgg)[:2], data.CropDataset(data.list_images(images), crop=32),
              tmp_path / "run2", TrainConfig(steps=20, batch_size=2, num_workers=0, max_bad_images=0.2))


def cli(*args, **kwargs):
    return cli_process(*args, env={"COURSE_VGG_WEIGHTS": "random"}, **kwargs)  # kill/resume mechanics only


def train_args(images, out=None, steps=None):
    return ["train-style", "--style", images.parent / "style.png", "--data", images,
            *(["--out", out, "--steps", steps] if out is not None else []), "--image-size", "32", "--batch-size", "2",
            "--style-size", "32", "--width", "8", "--checkpoint-every", "4", "--sample-every", "100", "--workers", "1"]


@pytest.mark.slow
def test_killed_run_resumes_exactly(images, tmp_path):
    """N steps straight == a run killed (SIGKILL) after a checkpoint, then resumed."""
    straight = cli(*train_args(images, tmp_path / "straight", 12))
    assert straight.wait(timeout=300) == 0, straight.stderr.read()
    killed = tmp_path / "killed"
    killed.mkdir()
    (killed / ".checkpoint.pt.deadbeef.tmp").write_bytes(b"half a checkpoint")  # a write the kill cut short
    killed_at, err = kill_and_resume(train_args(images), killed, 12, env={"COURSE_VGG_WEIGHTS": "random"})
    checkpoint = killed / "checkpoint.pt"
    assert f"Resuming from {checkpoint} at step {killed_at}" in err  # the lock of the killed run is stale
    assert not (killed / ".checkpoint.pt.deadbeef.tmp").exists()
    a = load_checkpoint(tmp_path / "straight" / "checkpoint.pt")
    b = load_checkpoint(checkpoint)
    assert a["step"] == b["step"] == 12
    for key in a["model"]:
        assert torch.allclose(a["model"][key], b["model"][key], atol=1e-5), key
    assert [h["total"] for h in a["history"]] == pytest.approx([h["total"] for h in b["history"]], rel=1e-4)


@pytest.mark.slow  # the developer tier keeps test_killed_run_resumes_exactly
@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_sigterm_and_ctrl_c_save_a_checkpoint(images, tmp_path, signum, code):
    proc = cli(*train_args(images, tmp_path / "run", 10_000), start_new_session=True)
    wait_for(tmp_path / "run" / "checkpoint.pt", proc)
    time.sleep(1.0)
    os.killpg(proc.pid, signum)  # to the whole process group, data-loading workers included
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert "checkpoint saved" in err and "Traceback" not in err
    stopped_at = int(re.search(r"Interrupted at step (\d+)", err).group(1))
    assert load_checkpoint(tmp_path / "run" / "checkpoint.pt")["step"] == stopped_at  # saved at the signal


class SignalsWhileLoading(torch.utils.data.Dataset):
    """``dataset``, sending this process ``count`` SIGTERMs while it loads its ``at``-th example."""

    def __init__(self, dataset, at: int, count: int) -> None:
        self.dataset, self.at, self.count, self.loaded = dataset, at, count, 0

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key):
        self.loaded += 1
        if self.loaded == self.at:
            for _ in range(self.count):
                os.kill(os.getpid(), signal.SIGTERM)
        return self.dataset[key]


@pytest.mark.parametrize("count, steps_done", [(1, 3), (2, 2)])
def test_a_signal_ends_the_step_under_way_and_a_second_one_stops_at_once(images, random_vgg, tmp_path, count,
                                                                         steps_done):
    """A signal while the third batch loads: that step is made, then the run stops. (Raised
    inside the loading, it broke the hand-over of a batch from a data-loading worker, whose
    thread printed a traceback.) A second signal stops at once, before the step."""
    model, objective, dataset = setup(images, random_vgg)
    dataset = SignalsWhileLoading(dataset, at=5, count=count)  # batches of 2: the 5th example is in the 3rd batch
    config = TrainConfig(steps=10, batch_size=2, num_workers=0, log_every=1, checkpoint_every=100)
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Interrupted) as stop:
        train(model, objective, dataset, tmp_path / "run", config)
    assert stop.value.signal == signal.SIGTERM
    assert load_checkpoint(tmp_path / "run" / "checkpoint.pt")["step"] == steps_done
    assert signal.getsignal(signal.SIGTERM) == before  # the loop's handler is gone with it


def test_interrupted_carries_the_signal():
    assert Interrupted(signal.SIGTERM).signal == signal.SIGTERM


def test_train_style_help_shows_the_defaults_read_from_the_hyper_parameters(capsys):
    from dataclasses import fields

    from course_lib.hparams import STYLE

    code, out, _ = run_cli(capsys, "train-style", "--help")
    assert code == 0
    text = " ".join(out.split())
    for field in fields(STYLE.course):
        option = "--" + field.name.replace("_", "-")
        course, paper = getattr(STYLE.course, field.name), getattr(STYLE.paper, field.name)
        assert option in text, option
        if course is not None:  # the values come from STYLE, and --paper's where it differs
            shown = f"(default: {course})" if course == paper else f"(default: {course}; --paper: {paper})"
            assert shown in text, (option, shown)
    assert "(default: None)" not in out and "``" not in out
    assert "(default by loss network: caffe 1e-06; imagenet 1.0)" in text  # λ_c from hparams.STYLE_WEIGHTS


def test_stylize_folder_onnx_and_bad_input(images, random_vgg, tmp_path, capsys):
    small_run(images, random_vgg, tmp_path / "run", 2)
    model = tmp_path / "run" / "checkpoint.pt"
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        code, out, err = run_cli(capsys, "stylize", "--model", model, "--input", images, "--output", tmp_path / "out",
                                 "--export-onnx", tmp_path / "net.onnx")
    assert code == 0, err
    assert not [str(w.message) for w in shown if issubclass(w.category, UserWarning)]  # no exporter internals
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"{i}.jpg" for i in range(6)]
    assert len(out.splitlines()) == 6 and "ONNX model written" in err  # results on stdout, status on stderr

    broken = tmp_path / "with-a-broken-image"  # bad input: skipped and named, the others still written
    shutil.copytree(images, broken)
    (broken / "3.png").write_bytes(b"not a png")
    code, out, err = run_cli(capsys, "stylize", "--model", model, "--input", broken, "--output", tmp_path / "out2")
    assert code == 1 and "skipped" in err and "3.png" in err
    assert err.strip().splitlines()[-1] == "error: 1 of 6 inputs were skipped (each named above); the other 5 were written"
    assert sorted(p.name for p in (tmp_path / "out2").iterdir()) == [f"{i}.jpg" for i in range(6) if i != 3]

    import onnxruntime

    session = onnxruntime.InferenceSession(str(tmp_path / "net.onnx"))
    x = torch.rand(1, 3, 30, 42)  # not multiples of 4: padding must be exported dynamically
    expected = load_model(model)(x).detach().numpy()
    assert np.abs(session.run(None, {"image": x.numpy()})[0] - expected).max() < 1e-4

    code, out, err = run_cli(capsys, "stylize", "--model", model, "--input", images / "0.png",
                             "--output", tmp_path / "tiled.png", "--tile", "512")
    assert code == 0, err

    clash = tmp_path / "clash"  # a.png and a.jpg: both results kept, under distinct names
    clash.mkdir()
    for suffix in (".png", ".jpg"):
        shutil.copy(images / "0.png", clash / f"a{suffix}")
    code, out, err = run_cli(capsys, "stylize", "--model", model, "--input", clash, "--output", tmp_path / "clashed")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "clashed").iterdir()) == ["a_jpg.jpg", "a_png.jpg"]


def test_a_students_objective_and_step_drive_the_loop(images, random_vgg, tmp_path):
    from course_lib.objectives import FunctionObjective
    from course_lib.train import step

    model, reference, dataset = setup(images, random_vgg)

    def my_objective(m, batch):
        return reference.loss(m, batch)
    objective = FunctionObjective(my_objective, style="seed 0")
    history = train(model, objective, dataset, tmp_path / "run",
                    TrainConfig(steps=12, batch_size=2, num_workers=0, log_every=1), step_fn=step)
    assert np.mean([h["total"] for h in history[-3:]]) < np.mean([h["total"] for h in history[:3]])
    settings = objective.settings()
    assert settings["objective"].endswith("my_objective") and len(settings["function_sha256"]) == 64

    def other_objective(m, batch):  # other code: another fingerprint, so another run folder
        return reference.loss(m, batch)
    assert run_folder(tmp_path, "s", model, objective, dataset, TrainConfig()) != \
        run_folder(tmp_path, "s", model, FunctionObjective(other_objective, style="seed 0"), dataset, TrainConfig())


def test_paper_picks_the_variant_explicit_options_override_it_and_the_record_says_which(images, tmp_path, capsys):
    from course_lib.hparams import STYLE

    code, _, err = run_cli(capsys, "train-style", "--style", images.parent / "style.png", "--data", images,
                           "--out", tmp_path / "run", "--steps", "1", "--image-size", "32", "--style-size", "32",
                           "--batch-size", "1", "--width", "4", "--workers", "0", "--vgg-weights", "random",
                           "--paper", "--norm", "instance")
    assert code == 0, err
    state = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert state["model_config"]["norm"] == "instance"  # given explicitly: it wins over --paper's batch norm
    assert state["model_config"]["upsampling"] == STYLE.paper.upsampling == "transpose"  # --paper's, not given
    record = state["hyper_parameters"]
    assert record["variant"] == "paper" and record["given"]["norm"] == "instance"
    assert record["changed"] == {"norm": "instance", "steps": 1, "image_size": 32, "style_size": 32,
                                 "batch_size": 1, "width": 4, "vgg_weights": "random"}
