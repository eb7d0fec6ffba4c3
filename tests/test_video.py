"""Video: sequences with known motion, warping along it, and the flicker measure."""

import torch

from course_lib import video


def _photo() -> torch.Tensor:
    """A smooth photo-like image (sums of low-frequency waves), so interpolation costs little."""
    y, x = torch.meshgrid(torch.linspace(0, 1, 256), torch.linspace(0, 1, 256), indexing="ij")
    channels = [0.5 + 0.25 * torch.sin(6 * x + 3 * c) * torch.cos(5 * y - c) for c in range(3)]
    return torch.stack(channels)[None]


def test_a_still_camera_has_no_flicker_and_motion_is_undone_by_warping():
    photo = _photo()
    still = video.camera(5, pan=(0, 0), zoom=1.0, turn=0.0)
    assert video.warping_error(video.sequence(photo, still, 64), still) < 1e-10
    moving = video.camera(5)
    frames = video.sequence(photo, moving, 64)
    previous, mask = video.warp(frames[:-1], video.relative(moving[:-1], moving[1:]))
    assert 0.8 < mask.mean() < 1  # a little of each frame has just entered the view
    unwarped = video.masked_mse(frames[1:], frames[:-1], mask)
    warped = video.masked_mse(frames[1:], previous, mask)
    assert warped < unwarped / 20, (warped, unwarped)  # the known motion explains the change


def test_flicker_is_measured():
    frames_theta = video.camera(6)
    frames = video.sequence(_photo(), frames_theta, 64)
    flickering = (frames + 0.05 * torch.randn(frames.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    assert video.warping_error(flickering, frames_theta) > 10 * video.warping_error(frames, frames_theta)


def test_relative_maps_compose():
    thetas = video.camera(3)
    there_and_back = video.relative(thetas[1:2], thetas[0:1]) @ torch.cat(
        [video.relative(thetas[0:1], thetas[1:2]), torch.tensor([[[0.0, 0.0, 1.0]]])], 1)
    assert torch.allclose(there_and_back, torch.tensor([[[1.0, 0, 0], [0, 1.0, 0]]]), atol=1e-5)
