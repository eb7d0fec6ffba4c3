"""Command line of the course. Run `python -m course_lib COMMAND --help` for each command.

Results go to stdout, status messages to stderr. A mistake in the arguments, the settings or
the files ends with one line `error: …` and exit code 2 (arguments) or 1 (anything else);
Ctrl-C or SIGTERM during training saves a checkpoint and exits with 130 or 143.
"""

from __future__ import annotations

import argparse

from ..config import say
from . import apply, evaluate, info, training
from .options import Parser


def parser() -> argparse.ArgumentParser:
    """The command line: one sub-command per job, each module registering its own."""
    top = Parser(prog="python -m course_lib", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = top.add_subparsers(dest="command", required=True, parser_class=Parser)
    for group in (info, training, apply, evaluate):
        group.register(commands)
    return top


SIZE_OPTIONS = ("image_size", "style_size", "width", "batch_size", "max_size", "blur", "tile", "resize")


def _out_of_memory(err: RuntimeError) -> bool:
    """The CPU allocator's failure, which torch raises as a plain RuntimeError."""
    text = str(err)
    return "can't allocate memory" in text or "not enough memory" in text or "DefaultCPUAllocator" in text


def main(argv: list[str] | None = None) -> int:
    import torch

    from ..caffe_vgg import CaffeWeightsUnavailable
    from ..downloads import DownloadError
    from ..files import LockedError
    from ..stopping import Interrupted
    from ..vgg_weights import WeightsUnavailable

    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except Interrupted as stop:
        return 128 + stop.signal
    except KeyboardInterrupt:
        say("error: interrupted")
        return 130
    except OSError as err:
        message = f"{err.filename}: {err.strerror}" if err.filename else (err.strerror or str(err))
        say(f"error: {message}")
        return 1
    except (ValueError, KeyError, MemoryError, FloatingPointError, DownloadError, LockedError,
            WeightsUnavailable, CaffeWeightsUnavailable, torch.OutOfMemoryError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
        say(f"error: {message.strip().splitlines()[0] if message.strip() else type(err).__name__}")
        return 1
    except RuntimeError as err:
        if not _out_of_memory(err):
            raise
        in_force = {**vars(args), **getattr(args, "hparams", {})}  # the hyper-parameters' values, given or not
        sizes = ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in in_force.items()
                          if k in SIZE_OPTIONS and v is not None)
        say(f"error: out of memory ({' '.join(str(err).split())[:160]}); lower {sizes or 'the image size'}")
        return 1
