"""The training commands: ``train-style``, ``train-sr``, ``train-pix2pix``, ``train-cyclegan``.
Each reads its hyper-parameters from the options (:func:`options.hparams_of`), asks the task's
recipe (:mod:`course_lib.tasks`) for the run, and trains it with the loop's options."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .. import tasks
from ..config import say
from ..hparams import CYCLEGAN, PIX2PIX, STYLE, SUPER_RESOLUTION
from .options import Help, add_hparams, device, hparams_of, loop_options, positive


def _initialise(model, source: str) -> dict:
    """``--init``: start ``model`` from the weights of a checkpoint or a shipped model (to
    fine-tune it, e.g. at a lower learning rate). A one-style network can start a network of
    several styles (``--styles``): each style starts as it (:func:`networks.one_style_to_many`).
    Returns what the run's fingerprint records."""
    from ..checkpoints import Checkpoint, load_weights
    from ..hashing import weights_sha256
    from ..networks import one_style_to_many

    start = Checkpoint(source)
    weights = start.state["model"]
    load_weights(model, one_style_to_many(weights, model), start.path,
                 "this network (give the network options it was trained with)")
    return {"init": {"from": start.path.name, "step": start.state.get("step", start.state.get("training", {})
                                                                         .get("steps")),
                     "weights_sha256": weights_sha256(weights)}}


def _init_record(args: argparse.Namespace, run: tasks.Run) -> dict:
    """What ``--init`` adds to the run's fingerprint. A run being resumed keeps the record it
    started with and its own weights: the file it started from may have changed since (a model
    shipped again under the same name) without changing the run."""
    from ..checkpoints import CHECKPOINT, read, resolve

    if not args.init:
        return {}
    resumed = Path(args.out) / CHECKPOINT
    if resumed.is_file() and not args.restart:
        started = read(resumed).get("train_config", {}).get("extra", {})
        if started.get("init", {}).get("from") == resolve(args.init).name:
            return started
    return _initialise(run.model, args.init)


def _fit(args: argparse.Namespace, run: tasks.Run) -> int:
    """Train ``run`` with the loop's command-line options; print the last losses as JSON."""
    history = run.train(args.out, device=device(args), restart=args.restart,
                        checkpoint_every=args.checkpoint_every, sample_every=args.sample_every,
                        num_workers=args.workers, amp=args.amp, channels_last=not args.no_channels_last,
                        compile=args.compile, extra=_init_record(args, run))
    if history:
        print(json.dumps({"step": history[-1]["step"], "losses": {k: v for k, v in history[-1].items()
                                                                  if k not in ("step", "seconds")},
                          "checkpoint": str(Path(args.out) / "checkpoint.pt")}))
    return 0


def _train_style(args: argparse.Namespace) -> int:
    hp, variant, given = hparams_of(args, STYLE)
    return _fit(args, tasks.style(args.styles or [args.style], args.data, hp, variant=variant, given=given,
                                  cache=args.cache_images, seed=args.seed))


def _train_sr(args: argparse.Namespace) -> int:
    hp, variant, given = hparams_of(args, SUPER_RESOLUTION)
    if hp.arch == "srcnn" and variant == "paper":
        raise ValueError("--paper picks the paper's super-resolution network; SRCNN (--arch srcnn) has no "
                         "such variant: drop one of them")
    return _fit(args, tasks.super_resolution(args.data, hp, variant=variant, given=given, cache=args.cache_images,
                                             seed=args.seed))


def _train_pix2pix(args: argparse.Namespace) -> int:
    hp, variant, given = hparams_of(args, PIX2PIX)
    if args.task is None and args.resize is None:
        say("note: no --task, so each training image is read as a side-by-side pair, left half → right half "
            "(--reverse: right → left). For ordinary photos give --task edges, colorize or restore.")
    return _fit(args, tasks.pix2pix(args.data, hp, task=args.task, resize=args.resize, reverse=args.reverse,
                                    variant=variant, given=given, cache=args.cache_images, seed=args.seed))


def _train_cyclegan(args: argparse.Namespace) -> int:
    hp, variant, given = hparams_of(args, CYCLEGAN)
    return _fit(args, tasks.cyclegan(args.a, args.b, hp, resize=args.resize, variant=variant, given=given,
                                     cache=args.cache_images, seed=args.seed))


def register(commands) -> None:
    """Add the training commands to ``commands`` (the top parser's sub-parsers)."""
    from ..translation import TASKS

    ts = commands.add_parser("train-style", formatter_class=Help,
                             help="train a feed-forward style transfer network (paper §4.1)")
    which = ts.add_mutually_exclusive_group(required=True)
    which.add_argument("--style", help="style image")
    which.add_argument("--styles", nargs="+", metavar="IMAGE",
                       help="several style images for one network with conditional instance norm "
                            "(Dumoulin et al. 2017): each (γ, β) pair learns one style")
    ts.add_argument("--data", required=True, help="folder of training images (paper: COCO 2014 train)")
    add_hparams(ts, STYLE, "batch norm and stride-1/2 transposed convs; the course: instance norm, nearest "
                           "upsampling + conv")
    loop_options(ts)
    ts.set_defaults(run=_train_style)

    tsr = commands.add_parser("train-sr", formatter_class=Help,
                              help="train a super-resolution network (paper §4.2) or SRCNN")
    tsr.add_argument("--data", required=True, help="folder of training images (paper: 10k COCO images)")
    add_hparams(tsr, SUPER_RESOLUTION, "transposed convs and a scaled tanh output, no global skip; the course "
                                       "adds the output to the bicubic enlargement")
    loop_options(tsr)
    tsr.set_defaults(run=_train_sr)

    tp = commands.add_parser("train-pix2pix", formatter_class=Help,
                             help="train pix2pix (Isola et al. 2017), optionally with pix2pixHD's additions")
    tp.add_argument("--data", required=True, help="folder of image pairs side by side (input left, target "
                                                  "right), or of photos with --task")
    tp.add_argument("--task", choices=TASKS, default=None,
                    help="make the inputs from photos: Canny edges, greyscale, or shrunk ×4 and enlarged")
    tp.add_argument("--reverse", action="store_true",
                    help="side-by-side pairs: translate right to left (facades: label map → photo)")
    tp.add_argument("--resize", type=positive, default=None,
                    help="with --task: scale each photo's shorter side to this before cropping")
    add_hparams(tp, PIX2PIX)
    loop_options(tp)
    tp.set_defaults(run=_train_pix2pix)

    tc = commands.add_parser("train-cyclegan", formatter_class=Help,
                             help="train CycleGAN (Zhu et al. 2017) on two unpaired image folders")
    tc.add_argument("--a", required=True, help="folder of images of domain A (e.g. photos)")
    tc.add_argument("--b", required=True, help="folder of images of domain B (e.g. paintings)")
    tc.add_argument("--resize", type=positive, default=None, help="scale each image's shorter side to this first")
    add_hparams(tc, CYCLEGAN)
    loop_options(tc)
    tc.set_defaults(run=_train_cyclegan)
