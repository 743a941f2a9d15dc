"""``python -m training.knn_cost [--scale cpu|paper] [--steps N] [--markdown FILE --block NAME]``:
what the per-epoch k-NN monitor costs against an epoch of training, at a reproduction scale:
seconds of ``N`` training steps (scaled to the epoch), of the probe metrics, and of the k-NN
accuracy (the monitor's bank of ``--knn-bank`` training images and the probe's queries), each
the best of three after a warm-up, on the scale's device with the current thread count."""

import argparse
import sys

import torch

from theory import containment
from training import cli
from training.reproduction import monitor_cost, sweep


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m training.knn_cost", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--scale", choices=list(sweep.SCALES), default="cpu")
    p.add_argument("--steps", type=int, default=32, help="training steps timed (default 32)")
    cli.add_markdown_options(p, "knn-cost", "the figures")
    return p


def main(argv=None) -> int:
    containment.ascii_fallbacks()  # an ASCII-only terminal gets escapes, not a traceback
    args = parser().parse_args(argv)
    if refused := cli.markdown_refused(args):
        return refused
    scale = sweep.SCALES[args.scale]
    if scale.threads:
        torch.set_num_threads(scale.threads)  # as each of the scale's jobs runs
    found = monitor_cost.measure(scale, args.steps)
    command = "python -m training.knn_cost " + " ".join(argv if argv is not None else sys.argv[1:])
    text = monitor_cost.markdown(found, command.strip())
    print(text)
    return cli.write_markdown(args, text, "figures")


if __name__ == "__main__":
    sys.exit(main())
