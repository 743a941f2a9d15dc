"""Figures 1, 4 and 5 of the paper from a sweep's runs, as PNG. Curves are the mean over
seeds per epoch, with the range over seeds shaded. ``runs`` is {group: {seed: run}}.

- Figure 1: training loss, L_uniform(f_θ) and the per-epoch k-NN accuracy (the final linear
  accuracy marked at the last epoch) of BYOL, BYOL-NP, BYOL-LP and BYOL-LPI.
- Figure 4: L_align(q_w∘f_θ) and L_uniform(f_θ) of BYOL'-NP and RAFT-NP for each β, and of
  RAFT-LP.
- Figure 5: the l2-normalised projections f_θ(x) of the probe's test images projected onto
  their two leading principal directions, without centring (so that a representation
  collapsed onto one direction stays one point), then normalised onto the unit circle; the
  ring's thickness is the density of the points' angles.
"""

import math
import textwrap

import numpy as np

from training.loop import outputs
from training.reproduction import sweep

FIGURE1 = (
    ("byol", None, "BYOL (MLP)", "tab:blue"),
    ("byol-np", None, "BYOL-NP", "tab:red"),
    ("byol-lp", None, "BYOL-LP", "tab:green"),
    ("byol-lpi", None, "BYOL-LPI", "tab:orange"),
)
BETAS = (1.0, 10.0, 100.0)
FIGURE5 = (
    ("supervised", None, "(a) supervised"),
    ("byol", None, "(b) BYOL"),
    ("byol-np", None, "(c) BYOL-NP"),
    ("byol'", 1.0, "(d) BYOL'"),
    ("raft", 1.0, "(e) RAFT"),
)
ANGLE_BINS = 72
SPREAD_BINS = 36  # 10° arcs: the circle spread of Figure 5's claims (run_statistics)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    return pyplot


def _curve(runs: dict, key: str, scale: float = 1.0):
    """(epochs, mean, low, high) of ``key`` over the seeds of one group, epoch 1 onwards."""
    by_epoch: dict[int, list[float]] = {}
    for run in runs.values():
        for m in run.history[1:]:
            if m.get(key) is not None and math.isfinite(m[key]):
                by_epoch.setdefault(m["epoch"], []).append(m[key] * scale)
    epochs = sorted(by_epoch)
    values = [by_epoch[e] for e in epochs]
    return epochs, [np.mean(v) for v in values], [min(v) for v in values], [max(v) for v in values]


def _plot(axis, runs: dict, key: str, label: str, color=None, scale: float = 1.0) -> bool:
    epochs, mean, low, high = _curve(runs, key, scale)
    if not epochs:
        return False
    (line,) = axis.plot(epochs, mean, label=label, color=color)
    if len(runs) > 1:
        axis.fill_between(epochs, low, high, color=line.get_color(), alpha=0.2)
    return True


def _save(figure, path) -> None:
    pyplot = _pyplot()
    try:
        outputs.write_atomically(path, lambda f: figure.savefig(f, format="png", dpi=110))
    finally:
        pyplot.close(figure)


def figure1(runs: dict, path, setting: str) -> None:
    pyplot = _pyplot()
    figure, axes = pyplot.subplots(1, 3, figsize=(14, 3.8), constrained_layout=True)
    for variant, beta, label, color in FIGURE1:
        group = runs.get((variant, beta), {})
        _plot(axes[0], group, "loss", label, color)
        _plot(axes[1], group, "uniform", label, color)
        if _plot(axes[2], group, "knn_acc", f"{label} k-NN", color, scale=100):
            last = max(m["epoch"] for r in group.values() for m in r.history)
            accuracy = np.mean([100 * r.result["linear_acc"] for r in group.values()])
            axes[2].plot([last], [accuracy], marker="*", markersize=12, color=color)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("training loss $L_{BYOL}$ (log scale)")
    axes[1].set_ylabel("$L_{uniform}(f_θ)$, t = 2 (0: collapsed)")
    axes[2].set_ylabel("test accuracy (%)")
    titles = ("(a) training loss", "(b) uniformity", "(c) k-NN accuracy; ★ final linear")
    _finish(figure, axes, titles, "Figure 1", setting, _steps_per_epoch(runs))
    _save(figure, path)


def figure4(runs: dict, path, setting: str) -> None:
    pyplot = _pyplot()
    figure, axes = pyplot.subplots(2, 3, figsize=(14, 6.6), constrained_layout=True, squeeze=False)
    panels = (
        ("byol'-np", BETAS, "(a) BYOL'-NP"),
        ("raft-np", BETAS, "(b) RAFT-NP"),
        ("raft-lp", (1.0,), "(c) RAFT-LP"),
    )
    for column, (variant, betas, title) in enumerate(panels):
        for beta in betas:
            group = runs.get((variant, beta), {})
            _plot(axes[0][column], group, "align", f"β = {beta:g}")
            _plot(axes[1][column], group, "uniform", f"β = {beta:g}")
        axes[0][column].set_title(title)
        if any(line.get_ydata().min() > 0 for line in axes[0][column].get_lines()):
            axes[0][column].set_yscale("log")
    for axis in axes[0]:
        scale = " (log scale)" if axis.get_yscale() == "log" else ""
        axis.set_ylabel(f"$L_{{align}}(q_w∘f_θ)$, eq. 2{scale}")
    for axis in axes[1]:
        axis.set_ylabel("$L_{uniform}(f_θ)$, t = 2 (0: collapsed)")
    every = [a for row in axes for a in row]
    _finish(figure, every, None, "Figure 4", setting, _steps_per_epoch(runs))
    _save(figure, path)


def _finish(figure, axes, titles, name: str, setting: str, steps: int | None) -> None:
    from matplotlib.ticker import MaxNLocator

    epoch = f"epoch ({steps} steps each)" if steps else "epoch"
    for i, axis in enumerate(axes):
        if titles:
            axis.set_title(titles[i])
        axis.set_xlabel(epoch)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole
        axis.grid(alpha=0.3)
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=8)
    _suptitle(figure, name, setting)


def _suptitle(figure, name: str, setting: str) -> None:
    """The figure's name and its setting, wrapped to the figure's width (a setting is a
    sentence of its own; on one line it runs past both edges)."""
    width = max(40, int(figure.get_figwidth() * 13))  # characters of 9-point text per inch
    lines = textwrap.wrap(f"{name}: {setting}", width)
    figure.suptitle("\n".join(lines), fontsize=9)


def _steps_per_epoch(runs: dict) -> int | None:
    """The steps of one epoch, from the first run that trained (None when none did)."""
    for group in runs.values():
        for run in group.values():
            trained = [m for m in run.history if m.get("epoch")]
            if trained:
                return trained[0]["step"] // trained[0]["epoch"]
    return None


def circle_angles(z: np.ndarray) -> np.ndarray:
    """The angles on the unit circle of the rows of ``z`` projected onto their two leading
    principal directions (right singular vectors, uncentred)."""
    _, _, directions = np.linalg.svd(z.astype(np.float64), full_matrices=False)
    plane = z @ directions[:2].T
    plane *= np.where(plane.sum(axis=0) < 0, -1.0, 1.0)  # a singular vector's sign is arbitrary
    return np.arctan2(plane[:, 1], plane[:, 0])


def spread(angles: np.ndarray, bins: int = SPREAD_BINS) -> float:
    """How evenly ``angles`` cover the circle: their entropy over ``bins`` equal arcs divided
    by log(bins); 1 is an even spread, 0 every angle in one arc (512 uniformly drawn angles
    give about 0.99 over 36 arcs)."""
    counts, _ = np.histogram(angles, bins=bins, range=(-math.pi, math.pi))
    shares = counts[counts > 0] / counts.sum()
    return float(-(shares * np.log(shares)).sum() / math.log(bins))


def figure5(runs: dict, path, setting: str) -> None:
    pyplot = _pyplot()
    saved = lambda group: [
        s for s, r in group.items() if (r.folder / sweep.REPRESENTATIONS).is_file()
    ]
    shown = [(v, b, label) for v, b, label in FIGURE5 if saved(runs.get((v, b), {}))]
    figure = pyplot.figure(figsize=(3.4 * max(1, len(shown)), 4.6), constrained_layout=True)
    edges = np.linspace(-np.pi, np.pi, ANGLE_BINS + 1)
    for i, (variant, beta, label) in enumerate(shown):
        group = runs[(variant, beta)]
        seed = min(saved(group))
        found = np.load(group[seed].folder / sweep.REPRESENTATIONS)
        angles = circle_angles(found["z"])
        density, _ = np.histogram(angles, bins=edges, density=True)
        axis = figure.add_subplot(1, len(shown), i + 1, projection="polar")
        axis.bar(
            edges[:-1],
            density / density.max() * 0.6,
            width=edges[1] - edges[0],
            bottom=1.0,
            align="edge",
            color="tab:blue",
            alpha=0.6,
        )
        axis.scatter(angles, np.ones_like(angles), c=found["labels"], cmap="tab10", s=4)
        axis.set_ylim(0, 1.7)
        axis.set_yticks([])
        axis.set_xticklabels([])  # a PCA plane's angles have no meaning of their own
        axis.set_title(f"{label}\nspread {spread(angles):.2f} (seed {seed})", fontsize=10, pad=12)
    what = "the test images' f_θ(x) by uncentred PCA onto the unit circle; ring: density"
    _suptitle(figure, f"Figure 5 ({what})", setting)
    _save(figure, path)
