"""What the commands share: the parser that ends with ``error: …``, the checks of numbers, the
options generated from a task's hyper-parameters (:mod:`course_lib.hparams`) and the options of
the training loop."""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import asdict, fields, replace
from typing import TypeVar

from .. import config
from ..hparams import Schedule, Variants

T = TypeVar("T", bound=Schedule)


SHIPPED = "{shipped}"  # where a --model option's help lists the shipped models it takes (model_option)


class Help(argparse.ArgumentDefaultsHelpFormatter):
    """Shows "(default: …)" only where there is a default worth showing, and the shipped models of
    a ``--model`` option (:func:`model_option`)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        kinds = getattr(action, "shipped_kinds", None)  # absent while Python ≥ 3.14 checks the help in add_argument
        if kinds is not None:
            from ..checkpoints import shipped_names

            text = text.replace(SHIPPED, ", ".join(shipped_names(kinds)) or "none yet")
        if action.required or action.default in (None, False, argparse.SUPPRESS) or "%(default)" in text:
            return text
        return super()._get_help_string(action) or text


class Parser(argparse.ArgumentParser):
    """argparse, with the error as the last line: `error: …` (exit code 2)."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(2, f"error: {message}\n")


def model_option(p: argparse.ArgumentParser, text: str, kinds: tuple[str, ...]) -> None:
    """``--model``: a checkpoint, or the name of a shipped model of one of ``kinds``, which its help
    lists where ``text`` says ``{shipped}``. They are looked up only when the help is shown: naming
    them reads every shipped model, which cost each command half a second at its start."""
    action = p.add_argument("--model", required=True, help=text)
    action.shipped_kinds = kinds  # type: ignore[attr-defined]


def positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text}")
    return value


def non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number ≥ 0, got {text}")
    return value


def weight(text: str) -> float:
    """A loss weight or σ: a finite number ≥ 0 (NaN, inf and negatives are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number ≥ 0, got {text}")
    return value


def positive_float(text: str) -> float:
    value = weight(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def fraction(text: str) -> float:
    value = weight(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


KINDS = {"positive": positive, "non_negative": non_negative, "weight": weight, "positive_float": positive_float,
         "fraction": fraction}


def device(args: argparse.Namespace):
    return config.parse_device(args.device, "--device") if args.device else config.device()


def add_hparams(p: argparse.ArgumentParser, variants: Variants, paper_help: str | None = None) -> None:
    """One option per field of the task's hyper-parameters, its help showing the course's and
    the paper's values (read from ``variants``, never written here). ``paper_help``: what
    ``--paper`` changes, for tasks where the two differ."""
    course, paper = variants.course, variants.paper
    for f in fields(course):
        meta, ours, theirs = f.metadata, getattr(course, f.name), getattr(paper, f.name)
        values = "" if ours is None else f" (default: {ours}" + ("" if ours == theirs else f"; --paper: {theirs}") + ")"
        options = {"dest": f.name, "default": None, "help": meta["help"] + values}
        if isinstance(ours, bool):
            options["action"] = argparse.BooleanOptionalAction
        elif meta["choices"]:
            options.update(choices=meta["choices"], type=type(meta["choices"][0]))
        elif meta["kind"]:
            options["type"] = KINDS[meta["kind"]]
        if meta["required"]:
            options["required"] = True
        p.add_argument("--" + f.name.replace("_", "-"), **options)
    if paper_help:
        p.add_argument("--paper", action="store_true", help=f"start from the paper's values ({paper_help}); options "
                                                            f"given explicitly override them")


def hparams_of(args: argparse.Namespace, variants: Variants[T]) -> tuple[T, str, dict]:
    """The hyper-parameters a command line asks for: the variant (``--paper`` or the course's)
    with every option given explicitly on top; returns them, the variant and what was given."""
    variant = "paper" if getattr(args, "paper", False) else "course"
    base = variants[variant]
    given = {f.name: getattr(args, f.name) for f in fields(base) if getattr(args, f.name) is not None}
    hp = replace(base, **given)
    args.hparams = asdict(hp)  # for messages that name the values in force (out of memory)
    return hp, variant, given


def loop_options(p: argparse.ArgumentParser) -> None:
    """The options of the training loop every training command shares (not hyper-parameters:
    where the run goes, how often it saves, how it computes)."""
    from ..runs import AMP, TrainConfig

    defaults = TrainConfig()
    p.add_argument("--out", required=True, help="folder for checkpoint.pt and samples/; rerun to resume")
    p.add_argument("--restart", action="store_true",
                   help="start over even if --out holds a checkpoint (which is kept under another name)")
    p.add_argument("--init", default=None, metavar="MODEL",
                   help="start from the weights of a checkpoint.pt or a shipped model (fine-tuning, "
                        "e.g. with a lower --lr); a resumed run keeps its own weights")
    p.add_argument("--checkpoint-every", type=positive, default=defaults.checkpoint_every,
                   help="steps between checkpoints")
    p.add_argument("--sample-every", type=positive, default=defaults.sample_every,
                   help="steps between sample images")
    p.add_argument("--amp", choices=AMP, default=defaults.amp,
                   help="mixed precision (auto: bf16 where the GPU or CPU has it, fp16 on older GPUs, else off)")
    p.add_argument("--compile", action="store_true", help="torch.compile the network")
    p.add_argument("--no-channels-last", action="store_true", help="keep NCHW memory layout")
    p.add_argument("--workers", type=int, default=defaults.num_workers, help="DataLoader worker processes")
    p.add_argument("--cache-images", action="store_true",
                   help="keep the decoded training images in memory (for small training sets)")
    p.add_argument("--seed", type=int, default=defaults.seed, help="seed of the initialisation and data order")
    p.add_argument("--device", default=None, help="cuda, mps or cpu (default: COURSE_DEVICE or the best)")
