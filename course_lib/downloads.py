"""Downloading the course's images: the manifest, resumable checked transfers, archives.

The manifest (``course_lib/manifest.json``, package data) lists each file with its URL, a
SHA-256 (or null: not pinned yet), its licence and attribution. :func:`download` resumes an
interrupted transfer (HTTP ``Range``), checks the length the server announced, and the
SHA-256. A file without a pinned checksum is reported as UNVERIFIED; its size and SHA-256 are
recorded beside it (``<file>.sha256.json``) and checked again whenever it is used.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tarfile
import zipfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

from . import config
from .config import say
from .hashing import file_sha256
from .images import IMAGE_SUFFIXES


class DownloadError(RuntimeError):
    """A download failed; where partial data was kept, the next attempt resumes it."""


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
    note: str = ""  # what the course could not check itself (e.g. where a pinned SHA-256 came from)


def manifest(path: Path | None = None) -> dict[str, Item]:
    """The manifest's entries by name (default: the one shipped inside the package)."""
    text = Path(path).read_text() if path else \
        resources.files("course_lib").joinpath("manifest.json").read_text()
    return {e["name"]: Item(**e) for e in json.loads(text)["items"]}


def _record(dest: Path) -> Path:
    return dest.with_name(dest.name + ".sha256.json")


def check_unverified(dest: Path) -> None:
    """Re-check a file kept without a pinned checksum against the size and SHA-256 recorded at
    its download; ``ValueError`` naming it if it changed since."""
    record = _record(dest)
    if not record.exists():
        return
    seen = json.loads(record.read_text())
    size = dest.stat().st_size
    if size != seen["size"] or file_sha256(dest) != seen["sha256"]:
        raise ValueError(f"{dest}: changed since it was downloaded ({size:,} bytes now, "
                         f"{seen['size']:,} then, or another SHA-256); delete it and {record.name} "
                         f"to download it again")


def _content_range_start(value: str | None) -> int | None:
    """The first byte of a ``Content-Range: bytes a-b/n`` header, or None if there is none."""
    if not value or not value.startswith("bytes ") or "-" not in value:
        return None
    first = value.removeprefix("bytes ").split("-", 1)[0]
    return int(first) if first.isdigit() else None


def _transfer(url: str, part: Path, timeout: float, max_bytes: int | None = None) -> int | None:
    """Append what the server sends after ``part``'s bytes; returns the total size the server
    announced (None if it announced none). More than ``max_bytes`` in all, or a full disk, stops
    the transfer and removes the partial file."""
    if part.is_dir():
        raise DownloadError(f"{part} is a folder, not a partial download: move or delete it, then run again")
    start = part.stat().st_size if part.exists() else 0
    request = Request(url, headers={"Range": f"bytes={start}-"} if start else {})
    try:
        response = urlopen(request, timeout=timeout)
    except HTTPError as err:
        if err.code == 416 and start:  # the part is not a prefix of what the server has
            say(f"{part.name}: the server has nothing after byte {start:,}; starting over")
            part.unlink()
            return _transfer(url, part, timeout, max_bytes)
        raise DownloadError(f"{url}: HTTP {err.code} {err.reason}") from None
    with response:
        if start and (response.status != 206 or
                      _content_range_start(response.headers.get("Content-Range")) != start):
            start = 0  # Range ignored, or a 206 for other bytes: start over
        length = response.headers.get("Content-Length")
        total = start + int(length) if length is not None else None
        if max_bytes is not None and total is not None and total > max_bytes:
            part.unlink(missing_ok=True)
            raise DownloadError(f"{url}: the server announces {total:,} bytes, more than the {max_bytes:,} this "
                                f"entry may have (its manifest size with a margin); nothing was kept")
        written = start
        try:
            with open(part, "ab" if start else "wb") as out, config.progress(
                    total=total, initial=start, unit="B", unit_scale=True, desc=part.name[:-5]) as bar:
                while chunk := response.read(1 << 16):
                    out.write(chunk)
                    written += len(chunk)
                    bar.update(len(chunk))
                    if max_bytes is not None and written > max_bytes:
                        raise DownloadError(f"{url}: more than {max_bytes:,} bytes, the most this entry may have "
                                            f"(its manifest size with a margin); stopped, and {part} was removed")
        except DownloadError:
            part.unlink(missing_ok=True)
            raise
        except OSError as err:
            if err.errno != errno.ENOSPC:
                raise
            part.unlink(missing_ok=True)
            raise DownloadError(f"{url}: disk full while writing {part} (after {written:,} bytes); the partial "
                                f"file was removed. Free some space, or set COURSE_CACHE to a larger disk") from None
    return total


def _confirm_complete(url: str, size: int, timeout: float) -> bool:
    """For a transfer whose length was not announced: ask for the bytes after ``size``; only a
    416 ("nothing there") confirms that the file is whole."""
    try:
        with urlopen(Request(url, headers={"Range": f"bytes={size}-"}), timeout=timeout):
            return False
    except HTTPError as err:
        return err.code == 416
    except (URLError, OSError):
        return False


def download(url: str, dest: Path, sha256: str | None = None, timeout: float = 30.0,
             max_bytes: int | None = None) -> Path:
    """Download ``url`` to ``dest`` with a progress bar, resuming ``dest.part`` if an earlier
    transfer was cut, then verify it and move it into place.

    A short transfer keeps the partial file and raises :class:`DownloadError` (run again to
    resume); a checksum mismatch deletes it and raises ``ValueError``. With ``sha256=None`` the
    file is kept but reported as UNVERIFIED, and its size and hash are recorded for later checks.
    """
    dest = Path(dest)
    if dest.exists():
        check_cached(dest, sha256)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        total = _transfer(url, part, timeout, max_bytes)
    except (URLError, OSError) as err:
        kept = f"; partial data kept in {part}, run again to resume" if part.exists() and part.stat().st_size \
            else ""
        raise DownloadError(f"{url}: {getattr(err, 'reason', err)}{kept}") from None
    got = part.stat().st_size
    if total is not None and got != total:
        raise DownloadError(f"{url}: transfer cut at {got:,} of {total:,} bytes; partial data kept "
                            f"in {part}, run again to resume")
    if sha256 is None and not _confirm_complete(url, got, timeout):  # the real length, not only the announced one
        raise DownloadError(f"{url}: the manifest has no checksum for it, and the server could not confirm "
                            f"that {got:,} bytes are the whole file (asked for the bytes after them, it did not "
                            f"answer 'none'); partial data kept in {part}, run again to resume")
    actual = file_sha256(part)
    if sha256 is None:
        say(f"UNVERIFIED: the manifest has no SHA-256 for {url}; got {actual} ({got:,} bytes). "
            f"Check the file and pin that value in course_lib/manifest.json.")
        _record(dest).write_text(json.dumps({"url": url, "size": got, "sha256": actual}))
    elif actual != sha256.lower():
        part.unlink()
        raise ValueError(f"{url}: checksum mismatch (expected SHA-256 {sha256}, got {actual}); "
                         f"the download was deleted")
    os.replace(part, dest)
    if sha256 is not None:
        _remember(dest, actual)
    return dest


def _remember(dest: Path, digest: str) -> None:
    stat = dest.stat()
    _record(dest).write_text(json.dumps({"size": stat.st_size, "sha256": digest, "mtime_ns": stat.st_mtime_ns}))


def check_cached(dest: Path, sha256: str | None) -> None:
    """Re-check a cached download on use: an unpinned one against what was recorded at its
    download (:func:`check_unverified`); a pinned one by its size, and by its SHA-256 whenever
    the file changed since it was last checked. ``ValueError`` naming the file otherwise."""
    if sha256 is None:
        check_unverified(dest)
        return
    record = _record(dest)
    seen = json.loads(record.read_text()) if record.exists() else {}
    stat = dest.stat()
    if seen.get("size") is not None and stat.st_size != seen["size"]:
        raise ValueError(f"{dest}: {stat.st_size:,} bytes, but {seen['size']:,} were downloaded and verified; "
                         f"it changed since (corrupt?): delete it to download it again")
    if seen.get("mtime_ns") != stat.st_mtime_ns:
        digest = file_sha256(dest)
        if digest != sha256.lower():
            raise ValueError(f"{dest}: its SHA-256 is {digest}, not the manifest's {sha256}: it changed since it "
                             f"was downloaded (corrupt or replaced), so it was not used; delete it to download it again")
        _remember(dest, digest)


def _extract(archive: Path, members: dict[str, str], root: Path) -> None:
    """Copy the images found under each archive folder of ``members`` into ``root/<folder>``."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            entries = [(info.filename, lambda i=info: zf.open(i)) for info in zf.infolist()
                       if not info.is_dir()]
            _copy_members(archive, entries, members, root)
    else:
        with tarfile.open(archive) as tf:
            entries = [(m.name.removeprefix("./"), lambda m=m: tf.extractfile(m))
                       for m in tf.getmembers() if m.isfile()]
            _copy_members(archive, entries, members, root)


MAX_EXPANSION = 20  # the images of an archive may unpack to at most this many times its size (a zip bomb: 1000s)


def _copy_members(archive: Path, entries, members: dict[str, str], root: Path) -> None:
    budget = MAX_EXPANSION * archive.stat().st_size + 10_000_000
    for prefix, folder in members.items():
        chosen = [(name, opener) for name, opener in entries
                  if name.startswith(prefix) and Path(name).suffix.lower() in IMAGE_SUFFIXES]
        seen: dict[str, str] = {}
        for name, _ in chosen:
            if Path(name).name in seen:
                raise DownloadError(f"{archive}: {seen[Path(name).name]} and {name} would both become "
                                    f"{folder}/{Path(name).name}; refusing to let one replace the other")
            seen[Path(name).name] = name
        target = root / folder
        tmp = target.with_name(target.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for name, opener in chosen:
            with opener() as src, open(tmp / Path(name).name, "wb") as dst:
                while chunk := src.read(1 << 20):
                    budget -= len(chunk)
                    if budget < 0:
                        dst.close()
                        shutil.rmtree(tmp, ignore_errors=True)
                        raise DownloadError(f"{archive}: its images unpack to more than {MAX_EXPANSION}× its size "
                                            f"(a decompression bomb?); stopped, and nothing was kept")
                    dst.write(chunk)
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)


def fetch(name: str) -> Path:
    """Download manifest entry ``name`` into the cache (extracting archives); returns its path."""
    items = manifest()
    if name not in items:
        raise KeyError(f"no manifest entry {name!r}; entries: {', '.join(items)}")
    item = items[name]
    root = config.cache_dir()
    cap = max_bytes(item)
    if not item.members:
        return download(item.url, root / item.kind / item.filename, item.sha256, max_bytes=cap)
    done = root / f".{item.name}.done"
    if not done.exists():
        archive = download(item.url, root / "archives" / item.filename, item.sha256, max_bytes=cap)
        try:
            _extract(archive, item.members, root)
        except (tarfile.TarError, zipfile.BadZipFile, EOFError) as err:
            head = archive.read_bytes()[:512].lstrip().lower()
            what = "an HTML page" if head.startswith((b"<!doctype html", b"<html")) else \
                f"{archive.stat().st_size:,} bytes that are no zip or tar archive ({err})"
            archive.unlink()
            _record(archive).unlink(missing_ok=True)
            raise DownloadError(f"{item.url}: the server sent {what}, not the archive; it was removed, so the next "
                                f"run downloads it again (the address may have moved)") from None
        done.touch()
    return root


UNITS = {"KB": 1e3, "MB": 1e6, "GB": 1e9}
SMALL_FILE_CAP = 100_000_000  # an entry without a size in the manifest: one image, at most this


def max_bytes(item: Item) -> int:
    """The most an entry may download: its manifest size (``size_hint``, e.g. ``250 MB``) with a
    50 % margin, or :data:`SMALL_FILE_CAP` for an entry that gives no size."""
    number, _, unit = item.size_hint.strip().partition(" ")
    try:
        return int(float(number) * UNITS[unit.upper()] * 1.5)
    except (ValueError, KeyError):
        return SMALL_FILE_CAP
