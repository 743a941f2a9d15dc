"""The first epochs measured finely (``--early-epochs E``, ``--early-every N``): the training loss
of every step of the first E epochs, and the probe's L_align and L_uniform every N steps of
them, for dips shorter than an epoch (BYOL-LPI's, Section 3 and Figure 1(a)). Written to
``early.jsonl`` beside metrics.jsonl, one line per step; kept in the checkpoint, so that a
resumed run writes exactly the lines of an uninterrupted one.

Each loss read waits for the device: on CUDA the first E epochs lose the fast path's
asynchrony (the CPU scale, where it is meant to be used, has none to lose).
"""

import json
from pathlib import Path

from training.loop import evaluate
from training.loop.outputs import finite, write_atomically

EARLY = "early.jsonl"


class EarlyLog:
    """The fine lines of a run: ``lines`` (JSON-ready dicts), extended by ``record``."""

    def __init__(self, epochs: int, every: int, lines: list[dict] | None = None):
        self.epochs, self.every = epochs, every
        self.lines = list(lines or [])

    def wanted(self, epoch: int) -> bool:
        return epoch <= self.epochs

    def record(self, epoch: int, step: int, loss, model) -> None:
        """Step ``step``'s training loss (a device tensor, read here), and every ``every`` steps
        the probe's alignment and uniformity of ``model`` (online, predictor, target, probe)."""
        line = {"epoch": epoch, "step": step, "loss": finite(loss.item())}
        if self.every and step % self.every == 0:
            online, predictor, target, probe = model
            values = evaluate.probe_metrics(online, predictor, target, probe)
            line.update(
                align=finite(values["align"].item()), uniform=finite(values["uniform"].item())
            )
        self.lines.append(line)

    def write(self, out: Path) -> None:
        """early.jsonl, whole (atomically), as the lines stand."""
        text = "".join(json.dumps(line) + "\n" for line in self.lines)
        write_atomically(out / EARLY, lambda f: f.write(text.encode()))
