"""Known answers for the losses of course_lib.losses (paper §3)."""

import pytest
import torch

from course_lib.losses import feature_loss, gram_matrix, pixel_loss, style_loss, tv_loss


def test_gram_matrix_of_hand_made_tensor():
    # C=2 channels, H=1, W=2: ψ = [[1, 2], [3, 4]], ψψᵀ = [[5, 11], [11, 25]], C·H·W = 4
    features = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])
    expected = torch.tensor([[[1.25, 2.75], [2.75, 6.25]]])
    assert torch.allclose(gram_matrix(features), expected)


def test_gram_matrix_is_per_image_and_symmetric():
    features = torch.randn(3, 5, 4, 6)
    grams = gram_matrix(features)
    assert grams.shape == (3, 5, 5)
    assert torch.allclose(grams, grams.transpose(1, 2))
    assert torch.allclose(grams[1], gram_matrix(features[1:2])[0])


def test_feature_loss_zero_for_identical_inputs():
    features = torch.randn(2, 8, 5, 5)
    assert feature_loss(features, features.clone()).item() == 0.0


def test_feature_loss_is_squared_distance_over_chw():
    a = torch.randn(1, 4, 3, 5)
    d = torch.randn(1, 4, 3, 5)
    assert feature_loss(a + d, a).item() == pytest.approx((d**2).sum().item() / (4 * 3 * 5), rel=1e-5)
    # doubling the difference quadruples the loss; a 1×C×H×W target is broadcast over the batch
    assert feature_loss(a + 2 * d, a).item() == pytest.approx(4 * feature_loss(a + d, a).item(), rel=1e-5)
    batch = torch.cat([a + d, a + d])
    assert feature_loss(batch, a).item() == pytest.approx(feature_loss(a + d, a).item(), rel=1e-5)


def test_pixel_loss_known_value():
    assert pixel_loss(torch.ones(1, 3, 2, 2), torch.zeros(1, 3, 2, 2)).item() == 1.0


def test_style_loss_zero_for_own_grams_and_known_value():
    feats = {"a": torch.randn(1, 3, 4, 4), "b": torch.randn(1, 6, 2, 2)}
    grams = {k: gram_matrix(v) for k, v in feats.items()}
    assert style_loss(feats, grams).item() == pytest.approx(0.0, abs=1e-10)
    shifted = {"a": grams["a"] + 0.5, "b": grams["b"]}  # every entry off by 0.5: 9 × 0.25 = 2.25
    assert style_loss(feats, shifted).item() == pytest.approx(2.25, rel=1e-5)
    assert style_loss(feats, shifted, weights={"a": 10.0, "b": 1.0}).item() == pytest.approx(22.5, rel=1e-5)
    with pytest.raises(KeyError, match="c"):
        style_loss(feats, {"c": grams["a"]})


def test_tv_of_constant_image_is_zero_and_ramp_known():
    assert tv_loss(torch.full((2, 3, 8, 8), 0.7)).item() == 0.0
    ramp = torch.tensor([[[[0.0, 1.0], [0.0, 1.0]]]])  # two horizontal steps of 1, no vertical
    assert tv_loss(ramp).item() == 2.0


@pytest.mark.parametrize("channels_last", [False, True])
def test_gram_gradient_is_autograds(channels_last):
    """The Gram matrix's own backward (using its symmetry) agrees with autograd's generic rule."""
    x = torch.randn(2, 5, 4, 3, dtype=torch.float64)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    weights = torch.randn(2, 5, 5, dtype=torch.float32)
    (gram_matrix(x) * weights).sum().backward()
    ours = x.grad.clone()
    x.grad = None
    psi = x.reshape(2, 5, 12).float()
    ((torch.bmm(psi, psi.transpose(1, 2)) / 60) * weights).sum().backward()
    assert torch.allclose(ours, x.grad, atol=1e-5)


def test_gram_is_float32_under_autocast():
    x = torch.randn(1, 4, 8, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        gram = gram_matrix(x.bfloat16())
    assert gram.dtype == torch.float32
    assert torch.allclose(gram, gram_matrix(x.bfloat16().float()), rtol=1e-6)
