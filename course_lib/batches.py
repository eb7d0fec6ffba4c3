"""The stream of training batches: a shuffled order that a resumed run continues exactly, and
unreadable images skipped the same way on every run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch

from .config import say


class ResumableSampler(torch.utils.data.Sampler):
    """An endless shuffled stream of (index, crop seed) keys, reproducible from ``start``.

    Sample k comes from epoch k // n, shuffled with ``seed + epoch``, and gets crop seed
    ``seed * 1_000_003 + k``: a run resumed at sample k sees exactly what an unbroken run saw.
    """

    def __init__(self, n: int, seed: int, start: int = 0) -> None:
        self.n, self.seed, self.start = n, seed, start

    def __iter__(self) -> Iterator[tuple[int, int]]:
        k = self.start
        while True:
            epoch, first = divmod(k, self.n)
            order = torch.randperm(self.n, generator=torch.Generator().manual_seed(self.seed + epoch))
            for index in order[first:].tolist():
                yield index, self.seed * 1_000_003 + k
                k += 1


class SkipUnreadable(torch.utils.data.Dataset):
    """``dataset`` keyed by (index, seed), where an example that raises ``ValueError`` (an
    unreadable image, named in the message) is replaced by the next readable one, the same on
    every run, and listed once in ``log``."""

    def __init__(self, dataset, log: Path) -> None:
        self.dataset, self.log = dataset, Path(log)
        self.bad: set[int] = set()

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, int]):
        index, seed = key
        for offset in range(len(self)):
            i = (index + offset) % len(self)
            try:
                return self.dataset[(i, seed)]
            except ValueError as err:
                if i not in self.bad:
                    self.bad.add(i)
                    listed = self.log.read_text().splitlines() if self.log.exists() else []
                    if str(err) not in listed:  # each image once, whichever worker meets it first
                        say(f"Skipping an unreadable training image: {err}")
                        with open(self.log, "a") as f:
                            f.write(f"{err}\n")
        raise ValueError("no training image can be read; see " + str(self.log))

    def count(self) -> int:
        """How many distinct unreadable images all workers have listed so far."""
        return len(set(self.log.read_text().splitlines())) if self.log.exists() else 0


def to_device(batch, device: torch.device, memory_format: torch.memory_format):
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(b, device, memory_format) for b in batch)
    return batch.to(device, non_blocking=True, memory_format=memory_format)
