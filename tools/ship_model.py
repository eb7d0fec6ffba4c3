"""Ship a trained model with the course: its weights and how it was trained, nothing else.

    python tools/ship_model.py CHECKPOINT NAME --command "python -m course_lib train-sr ..." [--device TEXT]

Writes ``course_lib/models/NAME.pt`` (package data; ``data/models`` links to it) holding the
network's weights, its ``model_config``, and a ``training`` record read from the checkpoint:
steps, wall time, the training settings, the data's fingerprint, the device and the command
that produced it (rerun that command with ``--steps`` equal to the recorded steps to repeat the
run, or continue the original checkpoint). A run started with ``--init`` also records the run it
started from (``--init-checkpoint``: a training checkpoint, or a shipped model, whose own record
is then kept). The optimiser state is left out.
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from course_lib import checkpoints  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Ship a trained model with the course.")
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("name")
    parser.add_argument("--command", required=True, help="the command that trained it")
    parser.add_argument("--half", action="store_true", help="store the weights in float16 (half the size)")
    parser.add_argument("--device", default=f"CPU ({platform.processor() or platform.machine()}), "
                                              f"{torch.get_num_threads()} threads")
    parser.add_argument("--init-checkpoint", type=Path, default=None,
                        help="for a run started with --init: the checkpoint it started from, recorded too")
    args = parser.parse_args(argv)
    state = checkpoints.read(args.checkpoint)
    record = {"steps": state["step"], "seconds": round(state["seconds"]), "device": args.device,
              "command": args.command, "train_config": state.get("train_config"),
              "fingerprint": state.get("fingerprint"), "hyper_parameters": state.get("hyper_parameters"),
              "torch": str(torch.__version__)}
    if args.init_checkpoint:
        first = checkpoints.read(args.init_checkpoint)
        if "training" in first:  # a shipped model (train-style --init candy): its own record, as shipped
            record["init"] = {"from": args.init_checkpoint.name, **first["training"]}
        else:
            record["init"] = {"steps": first["step"], "seconds": round(first["seconds"]),
                              "train_config": first.get("train_config"), "fingerprint": first.get("fingerprint")}
    target = ROOT / "course_lib" / "models" / f"{args.name}.pt"
    weights = {k: v.half() if args.half and v.is_floating_point() else v for k, v in state["model"].items()}
    checkpoints.save(target, weights, state["model_config"], training=record)
    shipped = checkpoints.training_record(target)
    print(f"{target}: {target.stat().st_size / 2**20:.1f} MB, {shipped['total_steps']} steps, "
          f"{shipped['total_seconds'] / 60:.0f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
