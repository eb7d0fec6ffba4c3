"""Where the course's images come from.

1. ``COURSE_DATA`` (see :mod:`course_lib.config`): a folder with ``styles/ content/ train/
   sr/<set>/``. Nothing is downloaded.
2. Otherwise the manifest ``data/manifest.json``: each entry has a URL, a SHA-256, a licence and
   an attribution. Files are downloaded into :func:`course_lib.config.cache_dir` with a progress
   bar, resumed after an interruption (HTTP ``Range``) and checked against their checksum.
3. Offline, styles/content/train fall back to sample photos shipped by scikit-image and
   scikit-learn and to generated patterns, and the output says so. Benchmark sets have no
   fallback: a PSNR on other images would not be the paper's number.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

import numpy as np
import torch
from PIL import Image
from torchvision import transforms
from tqdm.auto import tqdm

from . import config
from .images import IMAGE_SUFFIXES, load_image

MANIFEST = Path(__file__).resolve().parent.parent / "data" / "manifest.json"
KINDS = ("styles", "content", "train")


class DownloadError(RuntimeError):
    """A download failed; partial data is kept and the next attempt resumes it."""


@dataclass(frozen=True)
class Item:
    """One manifest entry."""

    name: str
    kind: str
    filename: str
    url: str
    sha256: str | None
    licence: str
    attribution: str
    members: dict[str, str] = field(default_factory=dict)
    on_demand: bool = False
    size_hint: str = ""


def manifest(path: Path = MANIFEST) -> dict[str, Item]:
    """The manifest's entries by name."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: manifest not found (install the course from its repository)")
    return {e["name"]: Item(**e) for e in json.loads(path.read_text())["items"]}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(url: str, dest: Path, sha256: str | None = None, timeout: float = 30.0) -> Path:
    """Download ``url`` to ``dest`` with a tqdm bar, resuming ``dest.part`` if an earlier
    transfer was cut, then verify ``sha256`` and move the file into place.

    A short transfer keeps the partial file and raises :class:`DownloadError` (run again to
    resume); a checksum mismatch deletes it and raises ``ValueError``. With ``sha256=None`` the
    file is kept but reported as unverified, with its hash, so that it can be pinned.
    """
    dest = Path(dest)
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    start = part.stat().st_size if part.exists() else 0
    request = Request(url, headers={"Range": f"bytes={start}-"} if start else {})
    try:
        with urlopen(request, timeout=timeout) as response:
            if start and response.status != 206:  # the server ignored Range: start over
                start = 0
            length = response.headers.get("Content-Length")
            total = start + int(length) if length is not None else None
            with open(part, "ab" if start else "wb") as out, tqdm(
                    total=total, initial=start, unit="B", unit_scale=True, desc=dest.name) as bar:
                while chunk := response.read(1 << 16):
                    out.write(chunk)
                    bar.update(len(chunk))
    except HTTPError as err:
        if not (err.code == 416 and start):  # 416: nothing left to send, the part is complete
            raise DownloadError(f"{url}: HTTP {err.code} {err.reason}") from err
        total = start
    except (URLError, OSError) as err:
        raise DownloadError(f"{url}: {getattr(err, 'reason', err)}; partial data kept in {part}, "
                            f"run again to resume") from err
    got = part.stat().st_size
    if total is not None and got != total:
        raise DownloadError(f"{url}: transfer cut at {got:,} of {total:,} bytes; partial data kept "
                            f"in {part}, run again to resume")
    actual = sha256_of(part)
    if sha256 is None:
        print(f"UNVERIFIED: the manifest has no SHA-256 for {url}; got {actual}. "
              f"Check the file and pin that value in data/manifest.json.")
    elif actual != sha256.lower():
        part.unlink()
        raise ValueError(f"{url}: checksum mismatch (expected SHA-256 {sha256}, got {actual}); "
                         f"the download was deleted")
    os.replace(part, dest)
    return dest


def _extract(archive: Path, members: dict[str, str], root: Path) -> None:
    """Copy the images found under each archive folder of ``members`` into ``root/<folder>``."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            entries = [(info.filename, lambda i=info: zf.open(i)) for info in zf.infolist()]
            _copy_members(entries, members, root)
    else:
        with tarfile.open(archive) as tf:
            entries = [(m.name.removeprefix("./"), lambda m=m: tf.extractfile(m))
                       for m in tf.getmembers() if m.isfile()]
            _copy_members(entries, members, root)


def _copy_members(entries, members: dict[str, str], root: Path) -> None:
    for prefix, folder in members.items():
        target = root / folder
        tmp = target.with_name(target.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for name, opener in entries:
            if name.startswith(prefix) and Path(name).suffix.lower() in IMAGE_SUFFIXES:
                with opener() as src, open(tmp / Path(name).name, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)


def fetch(name: str) -> Path:
    """Download manifest entry ``name`` into the cache (extracting archives); returns its path."""
    items = manifest()
    if name not in items:
        raise KeyError(f"no manifest entry {name!r}; entries: {', '.join(items)}")
    item = items[name]
    root = config.cache_dir()
    if not item.members:
        return download(item.url, root / item.kind / item.filename, item.sha256)
    done = root / f".{item.name}.done"
    if not done.exists():
        archive = download(item.url, root / "archives" / item.filename, item.sha256)
        _extract(archive, item.members, root)
        done.touch()
    return root


def list_images(folder: Path) -> list[Path]:
    """The image files directly in ``folder``, sorted by name (none if it is not a folder)."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) \
        if folder.is_dir() else []


def images(kind: str) -> list[Path]:
    """Image files of ``kind`` (styles, content or train), from the first source that has them."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    root = config.data_dir()
    if root is not None:
        found = list_images(root / kind)
        if not found:
            raise FileNotFoundError(f"COURSE_DATA={root} has no images in {root / kind}")
        return found
    cached = config.cache_dir() / kind
    wanted = [i for i in manifest().values() if i.kind == kind and not i.on_demand]
    try:
        for item in wanted:
            fetch(item.name)
    except DownloadError as err:
        print(f"Download failed ({err}).")
    found = list_images(cached)
    if found and (kind == "train" or all((cached / i.filename).exists() for i in wanted)):
        return found
    print(f"Using packaged sample images for {kind!r} ({_FALLBACK_SOURCE[kind]}); set COURSE_DATA "
          f"or go online for the course's real images.")
    return fallback_images(kind)


def image_path(kind: str, name: str) -> Path:
    """The image of ``kind`` whose file name (without suffix) is ``name``."""
    found = images(kind)
    for path in found:
        if path.stem == name:
            return path
    raise FileNotFoundError(f"no {kind} image named {name!r}; available: "
                            f"{', '.join(p.stem for p in found)}")


def sr_set(name: str) -> Path:
    """Folder of the HR images of benchmark set ``name`` (Set5, Set14, BSD68 or BSD100)."""
    root = config.data_dir()
    folder = (root / "sr" / name) if root is not None else config.cache_dir() / "sr" / name
    if root is None and not folder.is_dir():
        fetch("sr-benchmarks")
    if not list_images(folder):
        raise FileNotFoundError(f"benchmark set {name!r} not found in {folder}")
    return folder


_FALLBACK_SOURCE = {
    "content": "scikit-image and scikit-learn sample photos",
    "train": "scikit-image and scikit-learn sample photos",
    "styles": "patterns generated by course_lib, not paintings",
}


def _sample_photos() -> dict[str, np.ndarray]:
    from skimage import data as skdata
    from sklearn.datasets import load_sample_image

    return {"astronaut": skdata.astronaut(), "coffee": skdata.coffee(), "chelsea": skdata.chelsea(),
            "rocket": skdata.rocket(), "china": load_sample_image("china.jpg"),
            "flower": load_sample_image("flower.jpg")}


def _generated_styles(size: int = 512) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:size, 0:size] / size
    r, theta = np.hypot(x - 0.5, y - 0.5), np.arctan2(y - 0.5, x - 0.5)
    swirl = np.stack([np.sin(20 * r + 3 * theta + k * 2.1) for k in range(3)], -1) * 0.5 + 0.5
    seeds = rng.random((64, 2))
    nearest = np.argmin(((np.stack([x, y], -1)[..., None, :] - seeds) ** 2).sum(-1), axis=-1)
    mosaic = rng.random((64, 3))[nearest]
    edges = (np.diff(nearest, axis=0, prepend=nearest[:1]) != 0) | \
            (np.diff(nearest, axis=1, prepend=nearest[:, :1]) != 0)
    mosaic[edges] = 0.1
    return {"swirls": (swirl * 255).astype(np.uint8), "cells": (mosaic * 255).astype(np.uint8)}


def fallback_images(kind: str) -> list[Path]:
    """Offline images for ``kind``, written once as PNG into the cache."""
    folder = config.cache_dir() / "fallback" / kind
    if not list_images(folder):
        arrays = _generated_styles() if kind == "styles" else _sample_photos()
        if kind == "content":
            arrays = {k: arrays[k] for k in ("astronaut", "chelsea", "coffee")}
        folder.mkdir(parents=True, exist_ok=True)
        for name, array in arrays.items():
            Image.fromarray(array).save(folder / f"{name}.png")
    return list_images(folder)


class CropDataset(torch.utils.data.Dataset):
    """Random ``crop``×``crop`` patches (3×crop×crop tensors in [0, 1]) from image files.

    ``resize``: first scale each image so its shorter side is ``resize`` (the paper resizes COCO
    to 256 for style transfer and takes 288×288 crops for super-resolution). Images smaller than
    the crop are scaled up to fit. A file that cannot be read raises the ``ValueError`` of
    :func:`course_lib.images.load_image`, which names it.
    """

    def __init__(self, paths: list[Path], crop: int, resize: int | None = None) -> None:
        if not paths:
            raise ValueError("CropDataset needs at least one image")
        self.paths, self.crop, self.resize = list(paths), crop, resize

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, key: int | tuple[int, int]) -> torch.Tensor:
        """``key``: an index (random crop) or (index, seed) (the same crop for the same seed,
        which makes training resumable exactly)."""
        index, seed = key if isinstance(key, tuple) else (key, None)
        image = load_image(self.paths[index])[0]
        side = max(self.resize, self.crop) if self.resize else self.crop
        if self.resize or min(image.shape[1:]) < self.crop:
            image = transforms.functional.resize(image, side, antialias=True).clamp(0, 1)
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        top = int(torch.randint(image.shape[1] - self.crop + 1, (1,), generator=generator))
        left = int(torch.randint(image.shape[2] - self.crop + 1, (1,), generator=generator))
        return image[:, top:top + self.crop, left:left + self.crop]
