"""Command line: ``python -m course_lib <command>``; ``--help`` lists the commands."""

from __future__ import annotations

import argparse
import sys

from . import config, data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("info", help="print the device, mode and data source in use")
    get = commands.add_parser("download", help="download manifest entries into the cache")
    get.add_argument("names", nargs="*", help="entries to fetch (default: list them)")
    args = parser.parse_args(argv)

    if args.command == "info":
        print(config.describe())
    elif args.command == "download":
        items = data.manifest()
        if not args.names:
            for item in items.values():
                print(f"{item.name:16} {item.kind:8} {item.size_hint or '':7} {item.attribution}")
            return 0
        for name in args.names:
            try:
                print(data.fetch(name))
            except (data.DownloadError, ValueError, KeyError) as err:
                print(f"error: {err}", file=sys.stderr)
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
