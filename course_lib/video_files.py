"""Video files through a network, frame by frame: ``stylize --input clip.mp4 --output out.mp4``.

Read and written with PyAV (FFmpeg's libraries; ``pip install av``, the course's ``video``
extra). Frames stream through one at a time, so a long clip needs the memory of one frame. The
output is H.264 in an MP4 at the input's frame rate; the sound is not copied. Flicker between
frames is what notebook 7, §3 measures and trains away (the ``candy-video`` model).
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Callable

import torch

from .config import progress
from .files import atomic_write

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm")


def is_video(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a video file (by its suffix)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def _av():
    try:
        import av
    except ImportError:
        raise ValueError("video files need PyAV: pip install av (or pip install 'course-lib[video]'); "
                         "or pass a folder of frames") from None
    return av


def map_video(path_in: str | os.PathLike, path_out: str | os.PathLike,
              fn: Callable[[torch.Tensor], torch.Tensor], max_size: int | None = None) -> int:
    """Write ``fn(frame)`` for every frame of the video ``path_in`` (each a 1×3×H×W tensor in [0, 1],
    its longer side shrunk to ``max_size`` if given) as the MP4 ``path_out``, atomically: an error
    or Ctrl-C leaves no partial file. Odd sides lose their last row or column (H.264's 4:2:0 needs
    even sides). Returns the number of frames; a file that is not a readable video raises a
    ``ValueError`` naming it."""
    from .images import resize, to_uint8  # (torchvision: not needed to list the suffixes)

    av = _av()
    path_in, path_out = Path(path_in), Path(path_out)
    if path_out.suffix.lower() != ".mp4":
        raise ValueError(f"--output {path_out}: a video is written as .mp4")
    try:
        source = av.open(str(path_in))
    except av.FFmpegError as err:
        raise ValueError(f"{path_in}: not a readable video ({err})") from None
    count = 0
    with source, atomic_write(path_out) as tmp, av.open(str(tmp), mode="w", format="mp4") as sink:
        if not source.streams.video:
            raise ValueError(f"{path_in}: no video stream in it")
        stream = source.streams.video[0]
        rate = stream.average_rate or Fraction(25)
        encoder = None
        try:
            for frame in progress(source.decode(stream), total=stream.frames or None, desc=path_in.name, unit="frame"):
                image = torch.from_numpy(frame.to_ndarray(format="rgb24")).permute(2, 0, 1)[None].float() / 255
                if max_size and max(image.shape[-2:]) > max_size:
                    image = resize(image, max_size, "bicubic")
                out = fn(image)
                out = out[..., : out.shape[-2] // 2 * 2, : out.shape[-1] // 2 * 2]
                if encoder is None:
                    encoder = sink.add_stream("libx264", rate=rate)
                    encoder.height, encoder.width = out.shape[-2:]
                    encoder.pix_fmt = "yuv420p"
                sink.mux(encoder.encode(av.VideoFrame.from_ndarray(to_uint8(out.clamp(0, 1)), format="rgb24")))
                count += 1
        except av.FFmpegError as err:
            raise ValueError(f"{path_in}: cannot be decoded after frame {count} ({err})") from None
        if encoder is None:
            raise ValueError(f"{path_in}: no frames in it")
        sink.mux(encoder.encode(None))
    return count
