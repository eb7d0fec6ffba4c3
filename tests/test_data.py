"""Data sources: the folder setting, downloads from a real HTTP server on 127.0.0.1 (resume,
checksums), archives, and the offline fallback."""

import hashlib
import io
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from course_lib import data
from course_lib.images import load_image

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
PAYLOAD = bytes(range(256)) * 4096  # 1 MiB
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


class Handler(BaseHTTPRequestHandler):
    """Serves ``server.payload``; honours ``Range`` unless ``server.ignore_range``; with
    ``server.cut_after`` set, announces the full length but hangs up after that many bytes."""

    def do_GET(self):
        srv = self.server
        srv.requests.append(dict(self.headers))
        body, start = srv.payload, 0
        rng = self.headers.get("Range")
        if rng and not srv.ignore_range:
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
        self.send_header("Content-Length", str(len(rest)))
        self.end_headers()
        if srv.cut_after is not None:
            self.wfile.write(rest[: srv.cut_after])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(rest)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.payload, srv.requests, srv.cut_after, srv.ignore_range = PAYLOAD, [], None, False
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
    dest = data.download(server.url, tmp_path / "f.bin", PAYLOAD_SHA)
    assert dest.read_bytes() == PAYLOAD
    assert not (tmp_path / "f.bin.part").exists()


def test_wrong_checksum_deletes_and_names_both_hashes(server, tmp_path):
    with pytest.raises(ValueError, match=f"checksum mismatch.*{'0' * 64}.*{PAYLOAD_SHA}"):
        data.download(server.url, tmp_path / "f.bin", "0" * 64)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_transfer_resumes_from_where_it_stopped(server, tmp_path):
    server.cut_after = 300_000
    with pytest.raises(data.DownloadError, match="run again to resume"):
        data.download(server.url, tmp_path / "f.bin", PAYLOAD_SHA)
    part = tmp_path / "f.bin.part"
    assert part.stat().st_size == 300_000 and not (tmp_path / "f.bin").exists()

    server.cut_after = None
    dest = data.download(server.url, tmp_path / "f.bin", PAYLOAD_SHA)
    assert server.requests[-1]["Range"] == "bytes=300000-"
    assert dest.read_bytes() == PAYLOAD and not part.exists()


def test_server_ignoring_range_restarts_cleanly(server, tmp_path):
    (tmp_path / "f.bin.part").write_bytes(b"stale bytes from another file")
    server.ignore_range = True
    assert data.download(server.url, tmp_path / "f.bin", PAYLOAD_SHA).read_bytes() == PAYLOAD


def test_complete_part_file_is_accepted(server, tmp_path):
    (tmp_path / "f.bin.part").write_bytes(PAYLOAD)  # server answers 416: nothing left
    assert data.download(server.url, tmp_path / "f.bin", PAYLOAD_SHA).read_bytes() == PAYLOAD


def test_unpinned_checksum_is_reported(server, tmp_path, capsys):
    assert data.download(server.url, tmp_path / "f.bin", None).read_bytes() == PAYLOAD
    out = capsys.readouterr().out
    assert "UNVERIFIED" in out and PAYLOAD_SHA in out


def test_unreachable_server_is_a_download_error(tmp_path):
    with pytest.raises(data.DownloadError, match="unreachable|refused|Connection"):
        data.download("http://127.0.0.1:1/none", tmp_path / "x.bin")


def image_bytes(seed):
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["zip", "tar"])
def test_archive_members_extracted_flat(tmp_path, fmt):
    files = {"benchmark/Set5/HR/baby.png": image_bytes(1), "benchmark/Set5/HR/bird.png": image_bytes(2),
             "benchmark/Set5/LR/baby.png": image_bytes(3), "benchmark/readme.txt": b"hello"}
    archive = tmp_path / f"a.{fmt}"
    if fmt == "zip":
        with zipfile.ZipFile(archive, "w") as zf:
            for name, body in files.items():
                zf.writestr(name, body)
    else:
        with tarfile.open(archive, "w") as tf:
            for name, body in files.items():
                info = tarfile.TarInfo("./" + name)
                info.size = len(body)
                tf.addfile(info, io.BytesIO(body))
    data._extract(archive, {"benchmark/Set5/HR/": "sr/Set5"}, tmp_path / "out")
    out = tmp_path / "out" / "sr" / "Set5"
    assert sorted(p.name for p in out.iterdir()) == ["baby.png", "bird.png"]
    assert (out / "baby.png").read_bytes() == files["benchmark/Set5/HR/baby.png"]


def test_manifest_entries_are_complete():
    items = data.manifest()
    assert {"styles", "content", "train", "sr"} <= {i.kind for i in items.values()}
    for item in items.values():
        assert item.url.startswith(("https://", "http://")) and item.licence and item.attribution
        assert item.sha256 is None or (len(item.sha256) == 64 and int(item.sha256, 16) >= 0)


@pytest.mark.skipif(not SHARED.is_dir(), reason="needs ../shared/data")
def test_pinned_checksums_match_the_shared_copies():
    for item in data.manifest().values():
        copy = SHARED / item.kind / item.filename
        if item.sha256 and copy.exists():
            assert data.sha256_of(copy) == item.sha256, item.name


def test_course_data_folder_is_used(tmp_path, monkeypatch):
    for kind in ("styles", "content", "train"):
        (tmp_path / kind).mkdir()
        Image.new("RGB", (32, 32)).save(tmp_path / kind / f"{kind}-one.jpg")
    (tmp_path / "styles" / "notes.txt").write_text("ignored")
    (tmp_path / "sr" / "Set5").mkdir(parents=True)
    Image.new("RGB", (32, 32)).save(tmp_path / "sr" / "Set5" / "baby.png")
    monkeypatch.setenv("COURSE_DATA", str(tmp_path))
    assert [p.name for p in data.images("styles")] == ["styles-one.jpg"]
    assert data.image_path("content", "content-one").name == "content-one.jpg"
    assert data.sr_set("Set5") == tmp_path / "sr" / "Set5"
    with pytest.raises(FileNotFoundError, match="Set14"):
        data.sr_set("Set14")
    with pytest.raises(FileNotFoundError, match="no styles image named 'nope'.*styles-one"):
        data.image_path("styles", "nope")


def test_missing_course_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA", str(tmp_path / "absent"))
    with pytest.raises(FileNotFoundError, match="absent"):
        data.images("styles")


@pytest.mark.parametrize("kind", ["styles", "content", "train"])
def test_offline_fallback_is_announced_and_loadable(cache, offline, capsys, kind):
    found = data.images(kind)
    out = capsys.readouterr().out
    assert "Using packaged sample images" in out
    assert len(found) >= 2 and all(p.is_relative_to(cache / "fallback") for p in found)
    assert load_image(found[0]).shape[1] == 3
    if kind != "train":
        assert "Download failed" in out  # it did try the manifest first


@pytest.mark.skipif(not SHARED.is_dir(), reason="needs ../shared/data")
def test_shared_data_layout_is_understood(monkeypatch):
    monkeypatch.setenv("COURSE_DATA", str(SHARED))
    assert {p.stem for p in data.images("styles")} >= {"candy", "mosaic", "udnie"}
    assert len(data.images("train")) == 80
    assert len(list(data.sr_set("Set5").iterdir())) == 5


def test_crop_dataset(tmp_path):
    Image.fromarray(np.zeros((50, 80, 3), np.uint8)).save(tmp_path / "wide.png")
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(tmp_path / "small.png")
    (tmp_path / "broken.png").write_bytes(b"nope")
    crops = data.CropDataset([tmp_path / "wide.png", tmp_path / "small.png"], crop=32)
    assert len(crops) == 2 and crops[0].shape == crops[1].shape == (3, 32, 32)
    assert data.CropDataset([tmp_path / "wide.png"], crop=32, resize=64)[0].shape == (3, 32, 32)
    with pytest.raises(ValueError, match="broken.png"):
        data.CropDataset([tmp_path / "broken.png"], crop=32)[0]
    with pytest.raises(ValueError, match="at least one"):
        data.CropDataset([], crop=32)
