"""Theorem 5.1 in the real training loop (``python -m training.pair`` is its command line): the
pair's options, its lockstep training with the round-off control, the verdict, ``pair.json``,
``pair.png`` and the table of finished pairs.

in the real training loop. Two variants train side by side in one process, on identical batches
and identical augmentation draws (each batch's views are drawn once and fed to both); SECOND
starts from FIRST's online network (encoder and projector) and teacher, and from FIRST's
predictor mapped by the theorem's map M: −W for a linear predictor, the output layer negated for
the MLP (``theory.thm51.engine.negate_output_layer``) when exactly one of the two objectives
runs away from the teacher (RAFT against BYOL' or BYOL); the identity otherwise
(``identity_map``), and for q = I; a FIRST without predictor against SECOND's fixed W = −I
(``raft-minus-i``) is the theorem's map from q = I. Each side keeps its own teacher (EMA of
eq. 5), Adam and state. A third run, FIRST again from its initialisation moved up by one ulp
(``engine.nudge_up``), is the round-off control, as in the theory engine.

At every check (each epoch's end, step 0 and every ``--check-every`` steps) ``pair.jsonl``
records the largest relative deviation (``engine.relative_deviation``) of SECOND's online
network (parameters and batch-norm statistics) from FIRST's and of its predictor from the mapped
one, the control's deviation from FIRST, the loss difference L_SECOND − L_FIRST with what the
theory predicts for it (``thm51.relations.symbolic_relation``: 0, −4β, or nothing), and at
each epoch's end both runs' probe metrics (``training.run``'s, with the theory probes of
``training.loop.probes``), also in ``first/`` and ``second/`` (``metrics.jsonl``, and
``checkpoint.pt`` at the end, for ``python -m training.probe``). Deviations are read only at
checks: without ``--check-every``, once an epoch.

The verdict (``pair.json``), by ``theory.thm51.rule``: identical to the bit for the whole run;
within round-off of the control (deviation ≤ FACTOR × control at every decisive check); or
separates at step k by d against the control's c, an excess confirmed by precision scaling (the
pair replayed in the other precision up to k deviates as much: drift; a round-off excess grows
2^29-fold from float64 to float32 and is set aside). ``pair.png``: the deviations and the control
against step, log scale.

Bitwise identity needs the same arithmetic on both sides. On the CPU (one process, one thread
count) torch's kernels are deterministic and the theorem's map is exact in floating point (a
negated weight negates every product and sum), so a pair whose objectives correspond exactly
at the mirrored point (the tangential pair: L_TanRAFT(−p) = L_TanBYOL'(p), gradient for
gradient) is identical to the bit; the plain pairs differ by a radial term that the
normalisation's Jacobian removes only up to round-off. On CUDA the pair requests deterministic
algorithms (``torch.use_deterministic_algorithms``, ``CUBLAS_WORKSPACE_CONFIG=:4096:8``, cuDNN
without benchmarking); an operation without a deterministic kernel is named in ``pair.json``
(torch warns, the run goes on), and bitwise identity is not to be expected then. The CUDA path
is untested here.
"""

import json
import math
import sys
import time
import warnings
from dataclasses import asdict, replace
from pathlib import Path

import torch

from theory import report
from theory.thm51 import engine, rule
from training.loop import config, outputs, run_files, training_step, variants
from training.pairs import lockstep
from training.pairs.lockstep import Correspondence, Pair

OUTPUTS = ("pair.jsonl", "pair.json", "pair.png")
# The rule's constants are float64's. A float32 run's round-off is rule.PRECISION_RATIO = 2^29
# times larger: its deviations and controls are judged divided by that ratio (FLOOR becomes
# 4.5 float32 ulps), and it stays decisive only while its control is ≤ FLOAT32_DECISIVE: an
# excess needs a deviation above FACTOR × the control, and a relative deviation cannot exceed 2.
FLOAT32_DECISIVE = 1e-3


# The verdict ---------------------------------------------------------------------------------


def trace(checks: list[dict]) -> engine.Trace:
    """The checks as the theory engine's trace (a non-finite or missing value counts as ∞)."""

    def values(key):
        return [math.inf if c[key] is None or not math.isfinite(c[key]) else c[key] for c in checks]

    controls = (
        {"first-ulp": values("control")} if checks and checks[0]["control"] is not None else {}
    )
    predictor = [0.0 if c["predictor"] is None else c["predictor"] for c in checks]
    return engine.Trace(values("theta"), predictor, [], [], controls)


def judged(t: engine.Trace, dtype: torch.dtype) -> engine.Trace:
    """The trace in float64's units for the rule: a float32 trace divided by 2^29, and
    undecidable (∞) where its control exceeds FLOAT32_DECISIVE."""
    if dtype == torch.float64:
        return t
    scale = rule.PRECISION_RATIO
    controls = {
        k: [v / scale if v <= FLOAT32_DECISIVE else math.inf for v in vs]
        for k, vs in t.controls.items()
    }
    return engine.Trace(
        [v / scale for v in t.theta], [v / scale for v in t.predictor], [], [], controls
    )


def scaling(dtype: torch.dtype, own: float, other: float) -> tuple[bool | None, float]:
    """Precision scaling (``rule.scales_like_drift``) of a deviation ``own`` in ``dtype``
    against the other precision's ``other``; and the float32/float64 growth."""
    float64, float32 = (own, other) if dtype == torch.float64 else (other, own)
    growth = float32 / float64 if float64 > 0 else math.inf
    return rule.scales_like_drift(float64, float32), growth


def judge(checks: list[dict], dtype: torch.dtype, replay) -> dict:
    """The verdict on a pair's checks by the decision rule. ``replay(until)`` returns the
    deviations, at the same checks up to step ``until`` (None: all), of the pair replayed in the
    other precision; it runs only when an excess needs settling. Step 0 is not judged: its
    control deviation is the nudge itself, which is relative deviation 1 in a tensor of zeros
    (batch-norm shifts start at 0 and move to the smallest subnormal); the first update makes
    it an ulp of the update."""
    checks = [c for c in checks if c["step"] > 0]
    raw = trace(checks)
    if raw.bitwise_identical:
        return _verdict("identical", checks, rule.assess(judged(raw, dtype)), raw)
    t = judged(raw, dtype)
    first = rule.assess(t)
    if first.separation is None:
        return _verdict("within-round-off", checks, first, raw)
    k = first.separation
    other = replay(checks[k - 1]["step"])
    drift, growth = scaling(dtype, raw.deviation[k - 1], other[k - 1])
    if drift is True:
        return _verdict("separates", checks, first, raw, other=other[k - 1])
    other = replay(None)
    settled = rule.settle(
        t, t.steps, lambda j, _: scaling(dtype, raw.deviation[j - 1], other[j - 1])
    )
    kind = "separates" if settled.separation else "within-round-off"
    where = settled.separation or settled.unresolved
    return _verdict(kind, checks, settled, raw, other=other[where - 1] if where else None)


def _verdict(
    kind: str, checks: list[dict], a: rule.Assessment, t: engine.Trace, other=None
) -> dict:
    """The assessment in the theory's vocabulary, with its figures."""
    decisive = checks[a.decisive - 1]["step"] if a.decisive else None
    out = {
        "kind": kind,
        "checks": len(checks),
        "steps": checks[-1]["step"],
        "decisive_until": decisive,
        "fully_decisive": a.fully_decisive,
        "largest_deviation": max(t.deviation),
        "largest_control": max(t.envelope, default=None),
        "worst_ratio": a.worst_ratio,
        "roundoff_steps": [checks[k - 1]["step"] for k in a.roundoff],
        "separation_step": None,
        "other_precision_deviation": other,
    }
    if a.unresolved:
        out.update(kind="undecided", separation_step=checks[a.unresolved - 1]["step"])
    elif kind == "within-round-off" and not a.decisive:  # the control is too far at once
        first = checks[0]
        out.update(
            kind="undecided",
            first_step=first["step"],
            first_deviation=first["deviation"],
            first_control=first["control"],
        )
    elif kind == "separates":
        c = checks[a.separation - 1]
        out.update(
            separation_step=c["step"],
            separation_deviation=c["deviation"],
            separation_theta=c["theta"],
            separation_predictor=c["predictor"],
            separation_control=c["control"],
        )
    out["text"] = _words(out)
    return out


def _words(v: dict) -> str:
    if v["kind"] == "identical":
        return (
            f"identical to the bit for the whole run: SECOND equals FIRST (mapped) exactly at each "
            f"of the {v['checks']} checks up to step {v['steps']}"
        )
    if v["kind"] == "separates":
        return (
            f"separates at step {v['separation_step']} by {v['separation_deviation']:.3g} "
            f"(θ {v['separation_theta']:.3g}, predictor {report.number(v['separation_predictor'])}) against the "
            f"control's {report.number(v['separation_control'])}; the other precision's replay deviates "
            f"{report.number(v['other_precision_deviation'])} there: drift, not round-off"
        )
    if v["kind"] == "undecided" and v["separation_step"] is None:
        return (
            f"undecidable in this precision: at the first check (step {v['first_step']}) the control "
            f"(FIRST from one ulp away) already deviates by {report.number(v['first_control'])}, beyond what the "
            f"rule can judge (deviation {report.number(v['first_deviation'])} there); compare in fp64"
        )
    if v["kind"] == "undecided":
        return (
            f"undecided at step {v['separation_step']}: its excess over {rule.FACTOR:g} × the control "
            "is settled by neither precision"
        )
    aside = (
        (
            f"; {len(v['roundoff_steps'])} excesses set aside as round-off (they grow about 2^29-fold "
            "from float64 to float32)"
        )
        if v["roundoff_steps"]
        else ""
    )
    if v["fully_decisive"]:
        return (
            f"within round-off of the control for the whole run ({v['steps']} steps): deviation at most "
            f"{v['worst_ratio']:.3g} × the control at every check (rule: ≤ {rule.FACTOR:g}); largest "
            f"deviation {v['largest_deviation']:.3g}, largest control {report.number(v['largest_control'])}{aside}"
        )
    return (
        f"within round-off of the control up to step {v['decisive_until']} (deviation ≤ "
        f"{v['worst_ratio']:.3g} × the control); after it the control's own deviation is too large "
        f"for the rule to decide{aside}"
    )


# A pair from options to outputs --------------------------------------------------------------


def side_config(given: dict, name: str, out: Path) -> config.Config:
    """A side's Config: the options given, its variant, α and β its own where given none."""
    variant = variants.resolve(name)
    cfg = replace(config.Config(), **given, variant=variant.name, out=str(out))
    config.check(cfg, variant)
    if variant.weighted:
        cfg.alpha = variant.alpha if cfg.alpha is None else cfg.alpha
        cfg.beta = variant.beta if cfg.beta is None else cfg.beta
    return cfg


def _other(precision: str, device: torch.device) -> str:
    """The precision a replay runs in: float32 for a float64 pair, float64 otherwise."""
    dtype = training_step.Speed.choose(device, precision).dtype
    return "fp32" if dtype == torch.float64 else "fp64"


def replayer(first_cfg: config.Config, second_cfg: config.Config, corr, check_every: int):
    """replay(until): the pair again in the other precision, without control or probes, up to
    step ``until`` (None: the whole run); its deviation at each check after step 0."""

    def replay(until: int | None) -> list[float]:
        device = config.resolve_device(first_cfg.device)
        other = _other(first_cfg.precision, device)
        cfgs = [replace(c, precision=other) for c in (first_cfg, second_cfg)]
        sides = lockstep.build(*cfgs, corr, control=False)
        pair = Pair(sides, None, check_every, measure=False, until=until)
        print(
            f"replaying in {other} up to step {until or first_cfg.epochs * pair.per_epoch} "
            "(precision scaling)",
            file=sys.stderr,
        )
        lockstep.train(pair, first_cfg.epochs)
        return trace([c for c in pair.checks if c["step"] > 0]).deviation

    return replay


def run_pair(
    first_name: str, second_name: str, given: dict, check_every: int, overwrite: bool, command: str
) -> dict:
    """Check the options, take --out, train the pair, judge it and write its outputs."""
    first_variant, second_variant = variants.resolve(first_name), variants.resolve(second_name)
    out = Path(
        given.pop("out", None)
        or Path("runs")
        / "-".join(
            [
                "pair",
                variants.file_name(first_variant),
                variants.file_name(second_variant),
                given.get("dataset", config.Config.dataset),
                f"s{given.get('seed', config.Config.seed)}",
            ]
        )
    )
    first_cfg, second_cfg = (side_config(given, n, out) for n in (first_name, second_name))
    corr = lockstep.correspondence(first_variant, second_variant)
    if check_every < 0:
        raise config.UsageError(f"--check-every must be ≥ 0, got {check_every}")
    if first_cfg.epochs < 1:
        raise config.UsageError(f"--epochs must be ≥ 1 for a pair, got {first_cfg.epochs}")
    with outputs.FolderLock(out) as lock:
        held = [n for n in OUTPUTS if (out / n).exists()] + [
            n for n in ("first", "second") if (out / n).exists()
        ]
        if held and not overwrite:
            raise config.UsageError(
                f"--out {out} holds a pair's {', '.join(held)}: pass --overwrite to start again"
            )
        for name in OUTPUTS + (
            "first/metrics.jsonl",
            "first/checkpoint.pt",
            "second/metrics.jsonl",
            "second/checkpoint.pt",
        ):
            (out / name).unlink(missing_ok=True)
        for name in ("first", "second"):
            (out / name).mkdir(exist_ok=True)
        lock.record(command)
        return execute(first_cfg, second_cfg, corr, check_every, out, command)


def execute(
    first_cfg, second_cfg, corr: Correspondence, check_every: int, out: Path, command: str
) -> dict:
    """Train the pair with its control, save both sides, judge, and write pair.json, pair.png."""
    device = config.resolve_device(first_cfg.device)
    lockstep.deterministic(device)
    began = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:  # torch names non-deterministic kernels
        warnings.simplefilter("always")
        sides = lockstep.build(first_cfg, second_cfg, corr, control=True)
        torch.backends.cudnn.benchmark = False  # prepare asks for it on CUDA: kernels must not vary
        predicted = lockstep.predicted_difference(
            sides.first.variant,
            sides.second.variant,
            corr.sign,
            second_cfg.alpha or 1.0,
            second_cfg.beta or 1.0,
        )
        pair = Pair(sides, predicted["value"], check_every, out=out)
        stopped = lockstep.train(pair, first_cfg.epochs)
    for w in {(str(w.message), w.category): w for w in caught}.values():  # each shown once
        warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    seconds = time.perf_counter() - began
    for name, live in (("first", sides.first), ("second", sides.second)):
        outputs.save_checkpoint(out / name / "checkpoint.pt", live.state())
    verdict = judge(
        pair.checks, sides.first.speed.dtype, replayer(first_cfg, second_cfg, corr, check_every)
    )
    result = result_document(
        pair, corr, predicted, verdict, stopped, seconds, command, _warned(caught)
    )
    outputs.write_json(out / "pair.json", outputs.finite(result))
    write_figure(
        out, pair.checks, f"{sides.first.variant.name} → {sides.second.variant.name}", verdict
    )
    print(f"{result['first']} | {result['second']}: {verdict['text']} -> {out}", file=sys.stderr)
    return result


def _warned(caught) -> list[str]:
    """The warnings of operations without a deterministic implementation (CUDA)."""
    return sorted({str(w.message) for w in caught if "deterministic" in str(w.message)})


def result_document(
    pair: Pair, corr, predicted, verdict, stopped, seconds, command, nondeterministic
) -> dict:
    """What pair.json holds."""
    first, second = pair.sides.first, pair.sides.second
    differences = [c["loss_difference"] for c in pair.checks if c["loss_difference"] is not None]
    gaps = [c["largest_gap"] for c in pair.checks if c["largest_gap"] is not None]
    return {
        "first": first.variant.name,
        "second": second.variant.name,
        "map": corr.words,
        "precision": "fp64" if first.speed.fp64 else ("bf16" if first.speed.bf16 else "fp32"),
        "device": str(first.device),
        "threads": torch.get_num_threads(),
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "nondeterministic_operations": nondeterministic,
        "steps": pair.step,
        "epochs": first.epoch,
        "check_every": pair.check_every,
        "predicted_difference": predicted,
        "loss_difference": {
            "low": min(differences, default=None),
            "high": max(differences, default=None),
            "largest_gap_from_prediction": max(gaps, default=None),
        },
        "thm41_sym_max": {
            name: max(
                (m["thm41_sym_max"] for m in live.history if m["thm41_sym_max"] is not None),
                default=None,
            )
            for name, live in (("first", first), ("second", second))
        },
        "verdict": verdict,
        "stopped": stopped,
        "seconds": seconds,
        "command": command,
        "config": {"first": asdict(first.cfg), "second": asdict(second.cfg)},
        "torch": torch.__version__,
    }


# Figure and table ------------------------------------------------------------------------


def write_figure(out: Path, checks: list[dict], title: str, verdict: dict) -> None:
    """The deviations of SECOND (θ, predictor) and the control's against step, log scale; a
    value of exactly 0 cannot be drawn there and is said in the legend. Step 0 is left out, as
    in the verdict (the control's deviation there is the nudge itself)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4), constrained_layout=True)
    for key, label, style in (
        ("theta", "θ (online network)", "-"),
        ("predictor", "predictor", "--"),
        ("control", "control (FIRST, init + 1 ulp)", ":"),
    ):
        points = [
            (c["step"], c[key])
            for c in checks
            if c["step"] > 0 and c[key] is not None and math.isfinite(c[key])
        ]
        drawn = [(s, v) for s, v in points if v > 0]
        zero = " — exactly 0 at every check" if points and not drawn else ""
        if drawn or zero:
            axis.plot(
                *(zip(*drawn) if drawn else ([], [])),
                style,
                marker="o" if len(drawn) < 40 else None,
                label=label + zero,
            )
    axis.set_yscale("log")
    axis.set_xlabel("step")
    axis.set_ylabel("largest relative deviation")
    axis.set_title(f"{title}: {verdict['kind']}", fontsize=10)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    try:
        outputs.write_atomically(
            out / "pair.png", lambda f: figure.savefig(f, format="png", dpi=110)
        )
    finally:
        plt.close(figure)


HEADER = [
    "pair",
    "precision",
    "steps",
    "largest deviation",
    "largest control",
    "verdict",
    "L₂ − L₁ predicted",
    "L₂ − L₁ measured",
    "largest \\|measured − predicted\\|",
    "max sym. Thm 4.1 ratio",
    "seconds",
]


def row(result: dict) -> list[str]:
    v, d = result["verdict"], result["loss_difference"]
    measured = "–" if d["low"] is None else f"{d['low']:.6g} to {d['high']:.6g}"
    predicted = result["predicted_difference"]["value"]
    ratios = " / ".join(report.number(result["thm41_sym_max"][k]) for k in ("first", "second"))
    verdict = {
        "identical": "bitwise identical",
        "within-round-off": "within round-off",
        "separates": f"separates at step {v['separation_step']}",
        "undecided": f"undecided at step {v['separation_step']}",
    }[v["kind"]]
    if v["kind"] == "undecided" and v["separation_step"] is None:
        verdict = (
            f"undecidable: control {report.number(v['first_control'])} at step {v['first_step']}"
        )
    if v["kind"] == "within-round-off" and not v["fully_decisive"]:
        verdict += f" (decisive to step {v['decisive_until']})"
    return [
        f"{result['first']} → {result['second']}",
        result["precision"],
        str(result["steps"]),
        report.number(v["largest_deviation"]),
        report.number(v["largest_control"]),
        verdict,
        "nothing" if predicted is None else f"{predicted:g}",
        measured,
        report.number(d["largest_gap_from_prediction"]),
        ratios,
        f"{result['seconds']:.0f}",
    ]


def markdown(results: list[dict], command: str) -> str:
    config = results[0]["config"]["first"]
    setting = (
        f"{config['dataset']}, {config['image_size']} px, width {config['width']}, batch "
        f"{config['batch_size']}, {config['subset'] or 'all'} training images, lr {config['lr']:g}, "
        f"device {results[0]['device']}, {results[0]['threads']} thread(s), torch {results[0]['torch']}"
    )
    caption = (
        f"Written by `{command}` ({setting}); thm. 4.1 ratios: FIRST / SECOND, over every epoch:"
    )
    return "\n".join([caption, "", *report.markdown_table(HEADER, [row(r) for r in results])])


def finished_pair(folder: Path) -> dict:
    """A finished pair's pair.json, or run_files.Damaged naming the file and what is wrong."""
    path = folder / "pair.json"
    try:
        result = json.loads(path.read_bytes().decode("utf-8"))
        row(result), markdown([result], "")  # every value the table reads is there
    except FileNotFoundError:
        raise run_files.Damaged(f"{folder} holds no finished pair (no pair.json)") from None
    except OSError as error:
        raise run_files.Damaged(f"cannot read {path} ({error.strerror or error})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise run_files.Damaged(f"{path} is cut or not JSON ({error})") from None
    except (KeyError, TypeError, IndexError, ValueError, AttributeError) as error:
        raise run_files.Damaged(
            f"{path} is not a finished pair's result ({type(error).__name__}: "
            f"{error}); the pair may have been stopped before its end"
        ) from None
    return result


def read_results(folders) -> list[dict]:
    """The pair.json of each finished pair's folder (run_files.Damaged for one that is not)."""
    return [finished_pair(Path(f)) for f in folders]
