"""Downloads from a real HTTP server on 127.0.0.1: resume, lengths, checksums, archives."""

import hashlib
import io
import json
import re
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from PIL import Image

from course_lib import downloads
from course_lib.downloads import DownloadError, download

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


class Handler(BaseHTTPRequestHandler):
    """Serves ``server.payload``. Honours ``Range`` unless ``ignore_range``; ``cut_after``: hang
    up after that many bytes; ``no_length``: announce no Content-Length (HTTP/1.0 style, the end
    is the connection closing); ``lying_206``: answer a Range request with 206 and the whole file."""

    protocol_version = "HTTP/1.0"

    def do_GET(self):
        srv = self.server
        srv.requests.append(dict(self.headers))
        body, start = srv.payload, 0
        rng = self.headers.get("Range")
        if rng and srv.lying_206:
            self.send_response(206)
            self.send_header("Content-Range", f"bytes 0-{len(body) - 1}/{len(body)}")
        elif rng and not srv.ignore_range:
            start = int(rng.removeprefix("bytes=").split("-")[0])
            if start >= len(body):
                self.send_response(416)
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        rest = body[start:]
        if not srv.no_length:
            self.send_header("Content-Length", str(len(rest)))
        self.end_headers()
        self.wfile.write(rest if srv.cut_after is None else rest[: srv.cut_after])
        self.wfile.flush()

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.payload, srv.requests, srv.cut_after = PAYLOAD, [], None
    srv.ignore_range = srv.no_length = srv.lying_206 = False
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}/file.bin"
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture(autouse=True)
def no_proxy_for_loopback(monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")


def test_download_verifies_checksum(server, tmp_path):
    dest = download(server.url, tmp_path / "f.bin", PAYLOAD_SHA)
    assert dest.read_bytes() == PAYLOAD
    assert not (tmp_path / "f.bin.part").exists()


def test_wrong_checksum_deletes_and_names_both_hashes(server, tmp_path):
    with pytest.raises(ValueError, match=f"checksum mismatch.*{'0' * 64}.*{PAYLOAD_SHA}"):
        download(server.url, tmp_path / "f.bin", "0" * 64)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_transfer_resumes_from_where_it_stopped(server, tmp_path):
    server.cut_after = 300_000
    with pytest.raises(DownloadError, match="run again to resume"):
        download(server.url, tmp_path / "f.bin", PAYLOAD_SHA)
    part = tmp_path / "f.bin.part"
    assert part.stat().st_size == 300_000 and not (tmp_path / "f.bin").exists()

    server.cut_after = None
    dest = download(server.url, tmp_path / "f.bin", PAYLOAD_SHA)
    assert server.requests[-1]["Range"] == "bytes=300000-"
    assert dest.read_bytes() == PAYLOAD and not part.exists()


def test_server_ignoring_range_restarts_cleanly(server, tmp_path):
    (tmp_path / "f.bin.part").write_bytes(b"stale bytes from another file")
    server.ignore_range = True
    assert download(server.url, tmp_path / "f.bin", PAYLOAD_SHA).read_bytes() == PAYLOAD


def test_lying_206_starts_over(server, tmp_path):
    """A 206 whose Content-Range does not start where we asked: the bytes are not appended."""
    (tmp_path / "f.bin.part").write_bytes(PAYLOAD[:1000])
    server.lying_206 = True
    assert download(server.url, tmp_path / "f.bin", PAYLOAD_SHA).read_bytes() == PAYLOAD


def test_stale_part_larger_than_the_file_starts_over(server, tmp_path):
    """416 on a .part is not "complete": the part may be longer than, or other than, the file."""
    (tmp_path / "f.bin.part").write_bytes(PAYLOAD + b"junk from an older, larger file")
    assert download(server.url, tmp_path / "f.bin", None).read_bytes() == PAYLOAD


def test_cut_transfer_without_length_and_checksum_is_not_accepted(server, tmp_path):
    server.no_length, server.cut_after = True, 300_000
    with pytest.raises(DownloadError, match="could not confirm"):
        download(server.url, tmp_path / "f.bin", None)
    assert not (tmp_path / "f.bin").exists() and (tmp_path / "f.bin.part").stat().st_size == 300_000
    server.cut_after = None  # the next run resumes, and the range request confirms the end
    assert download(server.url, tmp_path / "f.bin", None).read_bytes() == PAYLOAD


def test_unpinned_file_is_reported_recorded_and_rechecked(server, tmp_path, capsys):
    dest = download(server.url, tmp_path / "f.bin", None)
    err = capsys.readouterr().err
    assert "UNVERIFIED" in err and PAYLOAD_SHA in err
    record = json.loads((tmp_path / "f.bin.sha256.json").read_text())
    assert record["sha256"] == PAYLOAD_SHA and record["size"] == len(PAYLOAD)
    assert download(server.url, dest, None) == dest  # used again: checked, fine
    dest.write_bytes(PAYLOAD[:-1] + b"X")
    with pytest.raises(ValueError, match="f.bin: changed since it was downloaded"):
        download(server.url, dest, None)


def test_unreachable_server_says_nothing_about_partial_data(tmp_path):
    with pytest.raises(DownloadError) as err:
        download("http://127.0.0.1:1/none", tmp_path / "x.bin")
    assert "partial data" not in str(err.value)


def image_bytes(seed):
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def archive(tmp_path, fmt, files):
    path = tmp_path / f"a.{fmt}"
    if fmt == "zip":
        with zipfile.ZipFile(path, "w") as zf:
            for name, body in files.items():
                zf.writestr(name, body)
    else:
        with tarfile.open(path, "w") as tf:
            for name, body in files.items():
                info = tarfile.TarInfo("./" + name)
                info.size = len(body)
                tf.addfile(info, io.BytesIO(body))
    return path


@pytest.mark.parametrize("fmt", ["zip", "tar"])
def test_archive_members_extracted_flat(tmp_path, fmt):
    files = {"benchmark/Set5/HR/baby.png": image_bytes(1), "benchmark/Set5/HR/bird.png": image_bytes(2),
             "benchmark/Set5/LR/baby.png": image_bytes(3), "benchmark/readme.txt": b"hello"}
    downloads._extract(archive(tmp_path, fmt, files), {"benchmark/Set5/HR/": "sr/Set5"}, tmp_path / "out")
    out = tmp_path / "out" / "sr" / "Set5"
    assert sorted(p.name for p in out.iterdir()) == ["baby.png", "bird.png"]
    assert (out / "baby.png").read_bytes() == files["benchmark/Set5/HR/baby.png"]


def test_same_name_in_two_folders_is_refused(tmp_path):
    files = {"train/a/x.png": image_bytes(1), "train/b/x.png": image_bytes(2)}
    with pytest.raises(DownloadError, match="train/a/x.png and train/b/x.png"):
        downloads._extract(archive(tmp_path, "zip", files), {"train/": "train"}, tmp_path / "out")


def test_the_default_training_photos_leave_out_the_sr_benchmark(tmp_path):
    """BSDS300's archive holds its 200 training photos and its 100 test photos, which are BSD100,
    the SR benchmark: the manifest's training set extracts the first only."""
    item = downloads.manifest()["bsds300-train"]
    assert item.kind == "train" and not item.on_demand and item.sha256
    files = {"BSDS300/images/train/2092.jpg": image_bytes(1), "BSDS300/images/test/3096.jpg": image_bytes(2),
             "BSDS300/iids_train.txt": b"2092\n"}
    downloads._extract(archive(tmp_path, "tar", files), item.members, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").rglob("*") if p.is_file()) == ["2092.jpg"]
    assert (tmp_path / "out" / "train" / "2092.jpg").is_file()


def test_manifest_is_package_data_and_complete():
    items = downloads.manifest()
    assert {"styles", "content", "train", "sr", "translation"} <= {i.kind for i in items.values()}
    for item in items.values():
        assert item.url.startswith(("https://", "http://")) and item.licence and item.attribution
        assert item.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", item.sha256), item.name


def test_a_body_longer_than_its_content_length_is_not_accepted_unpinned(server, tmp_path):
    """The server announces fewer bytes than the file has: the transfer's real length is asked
    for (bytes after the announced end), and an unpinned file is not recorded as whole."""
    server.payload = PAYLOAD
    real = Handler.do_GET

    def short_length(self):
        if self.headers.get("Range"):
            return real(self)
        self.send_response(200)
        self.send_header("Content-Length", str(len(PAYLOAD) // 2))
        self.end_headers()
        self.wfile.write(PAYLOAD)
    Handler.do_GET = short_length
    try:
        with pytest.raises(DownloadError, match="could not confirm"):
            download(server.url, tmp_path / "f.bin")
    finally:
        Handler.do_GET = real
    assert not (tmp_path / "f.bin").exists() and not (tmp_path / "f.bin.sha256.json").exists()


def test_a_corrupted_pinned_copy_is_caught_on_use(server, tmp_path):
    dest = download(server.url, tmp_path / "f.bin", PAYLOAD_SHA)
    data = bytearray(dest.read_bytes())
    data[100] ^= 1  # same size, other bytes
    dest.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="f.bin: its SHA-256 is .*changed since it was downloaded"):
        download(server.url, dest, PAYLOAD_SHA)
    dest.write_bytes(bytes(data[:10]))
    with pytest.raises(ValueError, match="f.bin: 10 bytes, but 1,048,576 were downloaded"):
        download(server.url, dest, PAYLOAD_SHA)


def test_an_endless_or_oversized_body_is_stopped_and_removed(server, tmp_path):
    with pytest.raises(DownloadError, match="announces 1,048,576 bytes, more than the 1,000"):
        download(server.url, tmp_path / "f.bin", max_bytes=1000)
    server.no_length = True  # no length announced: stopped while it streams
    with pytest.raises(DownloadError, match="more than 100,000 bytes.*removed"):
        download(server.url, tmp_path / "f.bin", max_bytes=100_000)
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_names_the_file_and_leaves_nothing_partial(server, tmp_path, monkeypatch):
    import builtins
    import errno

    real_open = builtins.open

    class Full:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    monkeypatch.setattr(builtins, "open", lambda f, mode="r", *a, **k: Full(real_open(f, mode, *a, **k))
                        if str(f).endswith(".part") else real_open(f, mode, *a, **k))
    with pytest.raises(DownloadError, match=r"disk full while writing .*f.bin.part .*partial file was removed"):
        download(server.url, tmp_path / "f.bin", PAYLOAD_SHA)
    assert list(tmp_path.iterdir()) == []


def test_a_part_that_is_a_folder_is_named(server, tmp_path):
    (tmp_path / "f.bin.part").mkdir()
    with pytest.raises(DownloadError, match="f.bin.part is a folder, not a partial download"):
        download(server.url, tmp_path / "f.bin", PAYLOAD_SHA)


def test_an_html_page_instead_of_an_archive_is_removed_and_named(server, tmp_path, monkeypatch, cache):
    server.payload = b"<!DOCTYPE html><html><body>moved</body></html>"
    item = downloads.Item(name="bench", kind="sr", filename="b.tar", url=server.url, sha256=None, licence="x",
                          attribution="x", members={"Set5/": "sr/Set5"})
    monkeypatch.setattr(downloads, "manifest", lambda path=None: {"bench": item})
    with pytest.raises(DownloadError, match="the server sent an HTML page, not the archive; it was removed"):
        downloads.fetch("bench")
    assert not (cache / "archives" / "b.tar").exists() and not (cache / "archives" / "b.tar.sha256.json").exists()


def test_a_zip_bomb_is_stopped(tmp_path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("Set5/big.png", b"\0" * 50_000_000)  # 50 MB of zeros: about 50 KB packed
    with pytest.raises(DownloadError, match="unpack to more than 20× its size"):
        downloads._extract(bomb, {"Set5/": "sr/Set5"}, tmp_path / "root")
    assert not (tmp_path / "root" / "sr" / "Set5").exists()


def test_the_listing_says_which_entries_are_pinned(capsys):
    from helpers import run_cli

    code, out, err = run_cli(capsys, "download")
    assert code == 0 and "UNPINNED" in err
    for item in downloads.manifest().values():
        line = next(line for line in out.splitlines() if line.startswith(item.name + " "))
        assert ("pinned" in line.split()) == bool(item.sha256) and ("UNPINNED" in line.split()) != bool(item.sha256)
