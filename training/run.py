"""``python -m training.run VARIANT [options]``: train one model of Table 2 as Appendix B and
Algorithm 1 describe, measure it every epoch, evaluate it linearly at the end.

Writes into ``--out``: ``metrics.jsonl`` (one JSON object per epoch; epoch 0 is the untrained
model), ``checkpoint.pt`` (every epoch), ``result.json`` and ``curves.png``, each atomically;
``run.lock`` is the folder's lock, held by the run using it.
Exit status: 0 done; 2 bad input (unknown variant, bad option, ``--out`` in use or unwritable,
data other than the checkpoint's); 1 the run could not go on (dataset missing or broken,
corrupt checkpoint, full disk, non-finite loss); 130 and 143 stopped by SIGINT and SIGTERM.
"""

import argparse
import shlex
import sys

import torch

from theory import containment
from training import cli
from training.loop import batched, runner, variants
from training.loop.config import RunFailed, add_options
from training.loop.signals import STOP


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m training.run",
        description="Train a model of Table 2 of 'Run Away From your Teacher' (Appendix B "
        "defaults), measure alignment, uniformity, cross-model and BYOL losses every epoch, "
        "then run the linear evaluation protocol.",
        argument_default=argparse.SUPPRESS,  # so that the options given are known (resume)
    )
    p.add_argument("variant", nargs="?", help="a variant of Table 2 (see --list); byolp = byol'")
    p.add_argument("--list", action="store_true", help="print the variants and exit")
    add_options(p)
    p.add_argument(
        "--seeds",
        help="train several seeds as one batch (a count N: seeds 0 … N−1, or a list such as "
        "0,1,2): each run in its own folder, --out's {seed} filled in, or else "
        "OUT/VARIANT-DATASET-sSEED (OUT default runs)",
    )
    resume = p.add_mutually_exclusive_group()
    resume.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its checkpoint"
    )
    resume.add_argument("--overwrite", action="store_true", help="start again in a used --out")
    return p


def main(argv=None) -> int:
    containment.ascii_fallbacks()  # an ASCII-only terminal gets escapes, not a traceback
    argv = sys.argv[1:] if argv is None else list(argv)
    args = vars(parser().parse_args(argv))
    if args.pop("list", False):
        print(variants.table())
        return 0
    resume, overwrite = args.pop("resume", False), args.pop("overwrite", False)
    seeds = args.pop("seeds", None)
    if "variant" not in args:
        parser().error("a VARIANT is required (see --list)")
    try:
        args["variant"] = variants.resolve(args["variant"]).name
    except KeyError as error:
        return cli.error(error.args[0], cli.USAGE)
    command = shlex.join(["python", "-m", "training.run", *argv])

    def train() -> None:
        with STOP.installed():
            try:
                if seeds is None:
                    runner.run_in_folder(args, resume=resume, overwrite=overwrite, command=command)
                else:
                    batched.run_in_folders(
                        args,
                        batched.parse_seeds(seeds),
                        resume=resume,
                        overwrite=overwrite,
                        command=command,
                    )
            except (MemoryError, torch.OutOfMemoryError) as error:
                raise RunFailed(
                    f"out of memory ({type(error).__name__}); the last checkpoint, if "
                    "any, is kept: try a smaller --image-size, --batch-size or --subset"
                ) from None

    return cli.exit_status(train)


if __name__ == "__main__":
    sys.exit(main())
