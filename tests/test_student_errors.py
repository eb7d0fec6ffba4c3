"""What a student calls from a notebook: a wrong shape, range or value gets a message naming what
was expected, never a cryptic error from deep inside a library, and never a silent wrong result."""

import pytest
import torch

from course_lib import architectures, images, losses, sr, translation

NAN = torch.full((1, 3, 8, 8), float("nan"))


def vgg_net():
    from course_lib.vgg import VGGFeatures

    return VGGFeatures(("relu1_1",), weights="caffe")
CASES = [
    # (id, call, message pattern)
    ("save-2d", lambda p: images.save_image(torch.rand(8, 8), p), r"3×H×W or 1×3×H×W .*got 8×8.*unsqueeze\(0\)"),
    ("to-pil-batch", lambda p: images.to_pil(torch.rand(2, 3, 8, 8)), r"batch of 2"),
    ("show-2d", lambda p: images.show_images([torch.rand(8, 8)]), r"got 8×8"),
    ("save-0-255", lambda p: images.save_image(torch.rand(1, 3, 8, 8) * 255, p), r"0-255\? divide by 255"),
    ("save-uint8", lambda p: images.save_image(torch.zeros(1, 3, 8, 8, dtype=torch.uint8), p), r"uint8.*\.float\(\) / 255"),
    ("save-nan", lambda p: images.save_image(NAN, p), r"NaN"),
    ("gram-3d", lambda p: losses.gram_matrix(torch.rand(3, 4, 4)), r"B×C×H×W, got shape \(3, 4, 4\).*unsqueeze"),
    ("tv-3d", lambda p: losses.tv_loss(torch.rand(3, 4, 4)), r"B×C×H×W, got shape \(3, 4, 4\)"),
    ("make-input-batch", lambda p: translation.make_input(torch.rand(1, 3, 8, 8), "edges"), r"3×H×W.*photo\[0\]"),
    ("make-input-grey", lambda p: translation.make_input(torch.rand(1, 8, 8), "edges"), r"3×H×W"),
    ("upscale-no-scale", lambda p: sr.upscale(None, torch.rand(1, 3, 8, 8)), r"needs scale="),
    ("upscale-no-image", lambda p: sr.upscale(None, None, 4), r"1×3×h×w, got NoneType"),
    ("degrade-scale-0", lambda p: sr.degrade(torch.rand(1, 3, 8, 8), 0), r"scale must be a whole number ≥ 1"),
    ("degrade-blur-inf", lambda p: sr.degrade(torch.rand(1, 3, 8, 8), 2, float("inf")), r"finite σ ≥ 0"),
    ("degrade-blur-nan", lambda p: sr.degrade(torch.rand(1, 3, 8, 8), 2, float("nan")), r"finite σ ≥ 0"),
    ("build-width-0", lambda p: architectures.build("style", width=0), r"width=0; it must be a whole number ≥ 1"),
    ("resize-0", lambda p: images.resize(torch.rand(1, 3, 8, 8), 0, "bicubic"), r"size must be a positive"),
    ("resize-negative", lambda p: images.resize(torch.rand(1, 3, 8, 8), (-1, 4), "bicubic"), r"size must be"),
    ("load-size-0", lambda p: images.load_image(p, size=0), r"size must be a positive"),
    ("vgg-0-255", lambda p: vgg_net()(torch.rand(1, 3, 16, 16) * 255), r"expects images in \[0, 1\].*divide"),
    ("match-mismatched-batch", lambda p: sr.match_histogram(torch.rand(2, 3, 8, 8), torch.rand(1, 3, 8, 8)),
     r"as many references"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_a_mistake_gets_a_message_naming_what_was_expected(case, tmp_path):
    _, call, pattern = case
    path = tmp_path / "image.png"
    images.save_image(torch.rand(1, 3, 16, 16), path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match=pattern):
        call(path)
    assert path.read_bytes() == before  # nothing written over


def test_grey_images_are_handled_and_batches_matched_image_by_image(tmp_path):
    grey = torch.rand(1, 1, 8, 8)
    assert images.to_uint8(grey).shape == (8, 8, 3)
    assert (images.to_uint8(grey)[..., 0] == images.to_uint8(grey)[..., 2]).all()
    batch, references = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 4, 4)
    matched = sr.match_histogram(batch, references)
    assert matched.shape == batch.shape
    assert torch.allclose(matched[1:], sr.match_histogram(batch[1:], references[1:]))
