"""Files that an interruption cannot corrupt, and a lock that keeps two runs out of one folder."""

from __future__ import annotations

import errno
import os
import secrets
import socket
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")


def remove_stale_temps(path: str | os.PathLike) -> list[Path]:
    """Delete the temporary files that a killed :func:`atomic_write` of ``path`` left behind."""
    path = Path(path)
    stale = sorted(path.parent.glob(f".{path.name}.*.tmp"))
    for tmp in stale:
        tmp.unlink(missing_ok=True)
    return stale


@contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block succeeds, rename it onto ``path``
    (atomic on one file system), otherwise delete it and leave ``path`` as it was.

    The file gets the permissions the umask gives (as ``open`` would), not 0600. A full disk
    raises ``OSError(ENOSPC)`` with a message that names ``path`` and says it is intact.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_name(path)
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    try:
        yield tmp
        os.replace(tmp, path)
    except (OSError, RuntimeError) as err:
        tmp.unlink(missing_ok=True)
        if isinstance(err, RuntimeError) and not ("unexpected pos" in str(err) or "write failed" in str(err)):
            raise
        if isinstance(err, RuntimeError) or err.errno == errno.ENOSPC:  # torch.save's message for a full disk
            kept = f"the previous {path.name} is intact" if path.exists() else "nothing was written"
            raise OSError(errno.ENOSPC, f"disk full while writing {path}; {kept}. Free some space "
                                        f"and run again") from None
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def holds_code(err: Exception) -> bool:
    """True when ``torch.load(..., weights_only=True)`` refused a file because it holds pickled
    Python objects or code (whose message would nudge to the unsafe ``weights_only=False``)."""
    text = str(err)
    return any(s in text for s in ("eights only", "weights_only", "Unsupported global", "Unsupported operand"))


class LockedError(RuntimeError):
    """Another process holds the run folder's lock."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


@contextmanager
def run_lock(folder: str | os.PathLike) -> Iterator[Path]:
    """Hold ``folder/.lock`` (created with O_EXCL, holding ``host pid``) for the block.

    A second process is refused at once with :class:`LockedError` naming the holder's PID. A
    lock left by a process that no longer runs on this host is taken over.
    """
    lock = Path(folder) / ".lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    me = f"{socket.gethostname()} {os.getpid()}"
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        except FileExistsError:
            host, _, pid = lock.read_text().strip().rpartition(" ")
            if host == socket.gethostname() and pid.isdigit() and not _alive(int(pid)):
                lock.unlink(missing_ok=True)  # stale: its process is gone
                continue
            raise LockedError(f"{folder} is in use by another run (PID {pid} on {host or 'this host'}); "
                              f"wait for it to finish, or use another output folder. If no such "
                              f"run exists, delete {lock}") from None
        with os.fdopen(fd, "w") as f:
            f.write(me)
        break
    try:
        yield lock
    finally:
        if lock.exists() and lock.read_text().strip() == me:
            lock.unlink()
