"""The commands around the course's material: ``info`` (the settings and the loss network),
``download`` (the manifest's files) and ``samples`` (the offline images)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import config, data
from ..config import say


def _info(args: argparse.Namespace) -> int:
    from ..vgg_weights import load_vgg

    for name, value in config.settings().items():
        print(f"{name:19} {value}")
    _, source, preprocessing = load_vgg("vgg16", config.vgg_weights())
    print(f"{'loss network':19} {source}")
    if preprocessing == "caffe":
        from ..caffe_vgg import LICENCE, SHA256

        print(f"{'  sha256':19} {SHA256} (its 13 convolutions, checked on every read)\n{'  credit':19} {LICENCE}")
    return 0


def _download(args: argparse.Namespace) -> int:
    from ..downloads import fetch, manifest

    items = manifest()
    if not args.names:
        for item in items.values():
            pinned = "pinned" if item.sha256 else "UNPINNED"
            print(f"{item.name:16} {item.kind:12} {item.size_hint or '':7} {pinned:9} {item.attribution}")
        say("UNPINNED: no SHA-256 in the manifest yet (the source could not be fetched to check it); such a file "
            "is reported as UNVERIFIED when downloaded and re-checked against what it was then")
        return 0
    for name in args.names:
        print(fetch(name))
    return 0


def _samples(args: argparse.Namespace) -> int:
    for kind in data.KINDS:
        for path in data.fallback_images(kind, Path(args.folder) / kind):
            print(path)
    return 0


def register(commands) -> None:
    """Add the commands around the course's material to ``commands``."""
    commands.add_parser("info", help="print every setting in force and the loss network with its source and hash").set_defaults(run=_info)

    samples = commands.add_parser("samples", help="write the offline sample images (scikit-image and scikit-learn "
                                                  "photos, generated patterns) into FOLDER/{content,styles,train}")
    samples.add_argument("folder", help="where to write them")
    samples.set_defaults(run=_samples)

    get = commands.add_parser("download", help="download manifest entries into the cache")
    get.add_argument("names", nargs="*", help="entries to fetch (none: list them)")
    get.set_defaults(run=_download)
