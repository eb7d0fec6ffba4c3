"""Stopping a run without losing it: Ctrl-C and SIGTERM become :class:`Interrupted` in the
training loop at the end of the step under way, which saves a checkpoint first, and data-loading
workers leave both signals to it."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager


class Interrupted(KeyboardInterrupt):
    """Training stopped by Ctrl-C or SIGTERM after saving a checkpoint; ``signal`` is its number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signal = signum


class StopRequest:
    """The stop signal received so far (``None``: none), for the loop to act on between steps."""

    signal: int | None = None


@contextmanager
def signals_as_interrupt() -> Iterator[StopRequest]:
    """SIGTERM and SIGINT ask training to stop: the loop finishes the step under way, then raises
    :class:`Interrupted` (it checks ``request.signal``), so that a checkpoint is saved (also where
    SIGINT was ignored, as in a background job). A signal never lands inside a step: raised
    while a batch came from a data-loading worker, it broke the hand-over of the batch's file
    descriptors, and the worker printed a ConnectionResetError traceback. A second signal raises
    at once, for a step that never ends."""
    request = StopRequest()

    def handler(signum, frame):
        if request.signal is not None:
            raise Interrupted(signum)
        request.signal = signum
    try:
        previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    except ValueError:  # not the main thread: leave the signals alone
        yield request
        return
    try:
        yield request
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


def worker_ignores_stop_signals(worker_id: int) -> None:
    """Data-loading workers leave SIGINT and SIGTERM to the main process, which saves a
    checkpoint and stops them; a signal sent to the whole process group (Ctrl-C in a terminal,
    ``timeout``, a job scheduler) would otherwise kill them first and lose the checkpoint."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
