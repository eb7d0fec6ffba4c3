"""The data of notebook 6: inputs made from photos (edges, greyscale, shrunk), paired crops
(made, or side by side in one file as the pix2pix datasets store them), unpaired crops."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..data import CropDataset, random_crop
from ..images import resize

TASKS = ("edges", "colorize", "restore")


def make_input(photo: torch.Tensor, task: str) -> torch.Tensor:
    """The input of a paired task made from a photo (3×H×W in [0, 1]): ``edges``, Canny edges
    (scikit-image, σ = 2) as white lines on black; ``colorize``, the photo in grey (luma,
    BT.601), three equal channels; ``restore``, the photo shrunk 4× and enlarged again (bicubic)."""
    if not isinstance(photo, torch.Tensor) or photo.dim() != 3 or photo.shape[0] != 3:
        raise ValueError(f"make_input expects one RGB photo of shape 3×H×W in [0, 1], got "
                         f"{tuple(photo.shape) if isinstance(photo, torch.Tensor) else type(photo).__name__}"
                         + (": take one image of the batch, photo[0]" if isinstance(photo, torch.Tensor)
                            and photo.dim() == 4 else ""))
    if task == "edges":
        from skimage.feature import canny

        grey = (0.299 * photo[0] + 0.587 * photo[1] + 0.114 * photo[2]).numpy()
        edges = torch.from_numpy(canny(grey, sigma=2.0).astype(np.float32))
        return edges.expand(3, -1, -1).clone()
    if task == "colorize":
        return (0.299 * photo[0] + 0.587 * photo[1] + 0.114 * photo[2]).expand(3, -1, -1).clone()
    if task == "restore":
        h, w = photo.shape[-2:]
        return resize(resize(photo, (h // 4, w // 4), "bicubic"), (h, w), "bicubic")
    raise ValueError(f"task must be one of {TASKS}, got {task!r}")


class PairedDataset(torch.utils.data.Dataset):
    """(input, target) pairs: for a ``task``, random crops of photos and :func:`make_input` of
    them; without a task, image files that hold the pair side by side (input left, target
    right), as the pix2pix datasets (facades, edges2shoes, …) store them, cropped at the same
    place in both halves; ``reverse`` swaps them (right → left). ``resize``: photos are first
    scaled so their shorter side is this (for a task), so that a crop holds more of the scene."""

    def __init__(self, paths: list[Path], crop: int, task: str | None = None, cache: bool = True,
                 resize: int | None = None, reverse: bool = False) -> None:
        if task is not None and task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {task!r}")
        self.task, self.crop, self.reverse = task, crop, reverse
        self.files = CropDataset(paths, crop, resize=resize if task else None, cache=cache)

    def __len__(self) -> int:
        return len(self.files)

    def settings(self) -> dict:
        return {**self.files.settings(), "task": self.task, "reverse": self.reverse}

    def __getitem__(self, key) -> tuple[torch.Tensor, torch.Tensor]:
        if self.task:
            photo = self.files[key]
            return make_input(photo, self.task), photo
        index, seed = key if isinstance(key, tuple) else (key, None)
        image = self.files.image(index)[0]
        half = image.shape[-1] // 2
        pair = torch.cat([image[..., :half], image[..., half:2 * half]])  # 6 channels: input, target
        if min(pair.shape[-2:]) < self.crop:
            pair = resize(pair, self.crop, "bilinear", which="shorter")
        window = random_crop(pair, self.crop, seed)
        return (window[3:], window[:3]) if self.reverse else (window[:3], window[3:])


class UnpairedDataset(torch.utils.data.Dataset):
    """(a, b) crops from two unrelated collections (CycleGAN's data): example k pairs photo k of
    A with a photo of B drawn by the example's seed. ``resize``: shorter sides scaled to this first."""

    def __init__(self, a_paths: list[Path], b_paths: list[Path], crop: int, cache: bool = True,
                 resize: int | None = None) -> None:
        self.a = CropDataset(a_paths, crop, resize=resize, cache=cache)
        self.b = CropDataset(b_paths, crop, resize=resize, cache=cache)

    def __len__(self) -> int:
        return len(self.a)

    def settings(self) -> dict:
        return {"a": self.a.settings(), "b": self.b.settings()}

    def __getitem__(self, key) -> tuple[torch.Tensor, torch.Tensor]:
        index, seed = key if isinstance(key, tuple) else (key, int(torch.randint(2**31, ())))
        other = int(torch.randint(len(self.b), (1,), generator=torch.Generator().manual_seed(seed)))
        return self.a[(index, seed)], self.b[(other, seed + 1)]
