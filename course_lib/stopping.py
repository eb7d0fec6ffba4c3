"""Stopping a run without losing it: Ctrl-C and SIGTERM become :class:`Interrupted` in the
training loop, which saves a checkpoint first, and data-loading workers leave both signals to it;
and a loss that jumps keeps the checkpoint from before the jump (:func:`keep_before_jump`)."""

from __future__ import annotations

import os
import shutil
import signal
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# A window's median loss this many times the window's before it is a jump: sr8-feat's loss went
# from about 0.08 to 0.37 in one step and its last upsampling layer never fired again.
JUMP = 3.0


class Interrupted(KeyboardInterrupt):
    """Training stopped by Ctrl-C or SIGTERM after saving a checkpoint; ``signal`` is its number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signal = signum


@contextmanager
def signals_as_interrupt() -> Iterator[None]:
    """SIGTERM and SIGINT raise :class:`Interrupted` while training, so that a checkpoint is
    saved (also where SIGINT was ignored, as in a background job)."""
    def handler(signum, frame):
        raise Interrupted(signum)
    try:
        previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    except ValueError:  # not the main thread: leave the signals alone
        yield
        return
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


def worker_ignores_stop_signals(worker_id: int) -> None:
    """Data-loading workers leave SIGINT and SIGTERM to the main process, which saves a
    checkpoint and stops them; a signal sent to the whole process group (Ctrl-C in a terminal,
    ``timeout``, a job scheduler) would otherwise kill them first and lose the checkpoint."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def loss_jump(history: list[dict], window: int) -> tuple[float, float] | None:
    """The median total loss of the window of ``window`` steps before the last one, and the
    larger of the last window's median and its last three logs' (a jump near its end), when that
    is more than :data:`JUMP` times the first; else None (also with too few logs, and for a run of
    several optimiser groups, a GAN, whose losses move against each other)."""
    logged = [(h["step"], h["total"]) for h in history if "total" in h]
    if not logged:
        return None
    end = logged[-1][0]
    now = [loss for step, loss in logged if step > end - window]
    before = [loss for step, loss in logged if end - 2 * window < step <= end - window]
    if not before:
        return None
    pair = statistics.median(before), max(statistics.median(now), statistics.median(now[-3:]))
    return pair if pair[1] > JUMP * pair[0] else None


def keep_before_jump(path: Path, history: list[dict], window: int, step: int) -> Path | None:
    """Before ``path`` is overwritten at ``step``: if the loss jumped over the last ``window``
    steps, keep the checkpoint from before the jump beside it (a hard link where the file system
    has them: the atomic write then replaces only the name) and return where."""
    jump = loss_jump(history, window) if path.exists() else None
    if jump is None:
        return None
    kept = path.with_name(f"{path.stem}-before-jump-at-{step}{path.suffix}")
    try:
        os.link(path, kept)
    except OSError:
        shutil.copy2(path, kept)
    return kept
