"""One training step of Algorithm 1 (lines 4–12), and the switches that make it fast.

The fast path is the default on CUDA. Each trick, and why:

- The training set stays on the device as uint8 (``runner.py``), and each batch's two views are
  drawn there, batched, with per-image randomness (``augment.py``): no DataLoader workers, no
  per-image Python, no host-to-device copy per step.
- bf16 autocast for the networks (``--precision bf16``): convolutions and matrix products run on
  the tensor cores at twice the rate of TF32 and half the memory traffic. What accumulates stays
  fp32: the weights (master copies, updated by Adam in fp32), Adam's moments, the EMA teacher,
  batch-norm statistics and the objective, computed from fp32 copies of the four outputs. No
  loss scaling: bf16 has fp32's exponent range. Evaluation (probe metrics, features) stays
  fp32: Table 1's alignments go down to 1e-10, far below bf16's resolution.
- channels_last: cuDNN's convolutions (and the tensor cores) want NHWC; NCHW inputs would cost a
  transposition before and after each convolution.
- Fused Adam: one kernel updates every parameter, instead of several per parameter.
- The EMA of eq. 5 is two multi-tensor kernels over all parameters (``theory.teacher.ema_update``).
- Nothing in a step reads the device: the loss is returned as a device tensor, summed on the
  device and read once per epoch (``runner.py``), so the host queues steps ahead of the GPU.
- ``cudnn.benchmark`` (set by ``runner.py`` on CUDA): the shapes never change, so the fastest
  convolution algorithm is found once.
- ``--compile`` (off by default: it costs minutes of compilation at start): ``torch.compile`` of
  the networks and of the augmentations' pixel work, which fuses their elementwise kernels.

``python -m training.bench`` measures all of this against a loop written the way typical SSL
repositories are.
"""

import time
from dataclasses import dataclass

import torch

from theory.teacher import ema_update

PRECISIONS = ("auto", "bf16", "fp32", "fp64")
LAYOUTS = ("auto", "on", "off")


@dataclass(frozen=True)
class Speed:
    """How a step runs, not what it computes."""

    bf16: bool  # autocast the networks to bfloat16
    channels_last: bool  # images and convolution weights in NHWC layout
    compile: bool  # torch.compile the networks and the augmentations' pixel work
    fp64: bool = False  # networks, views, objective, Adam and EMA in float64 (exact comparisons)

    @classmethod
    def choose(cls, device: torch.device, precision="auto", channels_last="auto", compile=False):
        """The fast path on CUDA (bf16 where the GPU has it, channels_last); on the CPU, fp32 and
        NCHW: bf16 is emulated there, and channels_last is not faster there
        (docs/performance.md). ``fp64`` is for exact comparisons (``training.pair``), on either
        device; it is slower than fp32 on the CPU, and far slower on GPUs without full-rate
        float64 units (all but the data-centre ones)."""
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        if channels_last not in LAYOUTS:
            valid = ", ".join(LAYOUTS)
            raise ValueError(f"channels_last must be one of {valid}, got {channels_last!r}")
        cuda = device.type == "cuda"
        if precision == "auto":
            bf16 = cuda and torch.cuda.is_bf16_supported()
        else:
            bf16 = precision == "bf16"
        layout = cuda if channels_last == "auto" else channels_last == "on"
        return cls(bf16=bf16, channels_last=layout, compile=bool(compile), fp64=precision == "fp64")

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format

    @property
    def dtype(self) -> torch.dtype:
        """The networks' parameters (and so the views they take)."""
        return torch.float64 if self.fp64 else torch.float32


class TypedViews:
    """Views in float64 for float64 networks: the augmentations compute in float32 (as in every
    run), and their outputs are cast, so that an fp64 run sees exactly the fp32 run's views."""

    def __init__(self, views, dtype: torch.dtype):
        self.views, self.dtype = views, dtype

    def compile(self) -> None:
        self.views.compile()

    def __call__(self, images, generator):
        return tuple(x.to(self.dtype) for x in self.views(images, generator))

    def plain(self, images):
        return self.views.plain(images).to(self.dtype)


def in_precision(views, speed: Speed):
    """``views`` as the networks of ``speed`` take them (unchanged unless fp64)."""
    return TypedViews(views, speed.dtype) if speed.fp64 else views


def adam(parameters, lr: float) -> torch.optim.Adam:
    """Adam, fused (one kernel for all parameters; CUDA and, since torch 2.4, CPU) where this
    torch supports it for these parameters, else the multi-tensor (foreach) implementation."""
    parameters = list(parameters)
    try:
        return torch.optim.Adam(parameters, lr=lr, fused=True)
    except (RuntimeError, ValueError, TypeError):
        return torch.optim.Adam(parameters, lr=lr, foreach=True)


def match_layouts(optimizer: torch.optim.Optimizer) -> None:
    """Give each state tensor of ``optimizer`` its parameter's memory layout. A checkpoint keeps
    the layout it was saved in, and fused Adam refuses moments laid out unlike their parameter
    (a run saved in NCHW and resumed in channels_last, say)."""
    for group in optimizer.param_groups:
        for parameter in group["params"]:
            state = optimizer.state.get(parameter, {})
            for key, value in state.items():
                same_shape = torch.is_tensor(value) and value.shape == parameter.shape
                if same_shape and value.stride() != parameter.stride():
                    state[key] = torch.empty_like(parameter).copy_(value)


class TrainStep:
    """Algorithm 1, lines 4–12, for one batch of uint8 images: two views t1(x), t2(x), the online
    predictions q_w(f_θ(·)) and teacher outputs f_ξ(·) of both, the variant's objective, an Adam
    step on θ and w, and the EMA ξ ← τξ + (1 − τ)θ. Calling it returns the loss as a device
    tensor, unread."""

    def __init__(
        self,
        online,
        predictor,
        target,
        optimizer,
        variant,
        views,
        speed: Speed,
        *,
        ema: float,
        alpha=None,
        beta=None,
    ):
        self.online, self.predictor, self.target = online, predictor, target
        self.optimizer, self.variant, self.views, self.speed = optimizer, variant, views, speed
        self.ema, self.alpha, self.beta = ema, alpha, beta
        # The compiled forms share the modules' parameters; state dicts, the EMA and evaluation
        # use the modules themselves.
        compiled = torch.compile if speed.compile else (lambda module: module)
        self.run_online, self.run_predictor = compiled(online), compiled(predictor)
        self.run_target = compiled(target)
        if speed.compile:
            views.compile()

    def views_of(self, images, generator):
        x1, x2 = self.views(images, generator)
        # The augmentations stay fp32 and NCHW (outside autocast); one copy puts each view in
        # the networks' layout.
        return tuple(x.contiguous(memory_format=self.speed.memory_format) for x in (x1, x2))

    def loss(self, x1, x2) -> torch.Tensor:
        """The variant's objective (``theory.objectives``) on the views, with a graph to θ, w."""
        p1, p2, t1, t2 = self.outputs(x1, x2)
        return self.variant.loss(p1, p2, t1, t2, alpha=self.alpha, beta=self.beta, validate=False)

    def outputs(self, x1, x2) -> tuple[torch.Tensor, ...]:
        """The predictions q_w(f_θ(·)) of the two views, with a graph to θ, w, and the
        teacher's outputs f_ξ(·), without one; in fp32 when the networks ran in bf16."""
        device_type = x1.device.type
        with torch.autocast(device_type, dtype=torch.bfloat16, enabled=self.speed.bf16):
            p1 = self.run_predictor(self.run_online(x1))
            p2 = self.run_predictor(self.run_online(x2))
            with torch.no_grad():
                t1, t2 = self.run_target(x1), self.run_target(x2)
        if self.speed.bf16:  # the objective in fp32, from fp32 copies of the outputs: its
            # normalisations and squared distances of nearly equal unit vectors need the digits
            return tuple(p.float() for p in (p1, p2, t1, t2))
        return p1, p2, t1, t2

    def supervised_loss(self, x1, x2, labels) -> torch.Tensor:
        """The supervised baseline's cross-entropy (``Variant.classification_loss``) of the
        predictor's linear head on the projections of both views, against ``labels``."""
        with torch.autocast(x1.device.type, dtype=torch.bfloat16, enabled=self.speed.bf16):
            l1, l2 = (self.predictor.logits(self.run_online(x)) for x in (x1, x2))
        return self.variant.classification_loss(l1.float(), l2.float(), labels)

    def __call__(self, images, generator, timer=None, labels=None) -> torch.Tensor:
        """One step on ``images``; ``labels`` (the images' classes) only for a supervised
        variant, which trains on them instead of its teacher."""
        timer = timer or NO_TIMER
        x1, x2 = self.views_of(images, generator)
        timer.lap("augment")
        loss = self.loss(x1, x2) if labels is None else self.supervised_loss(x1, x2, labels)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward(torch.ones_like(loss))  # a batch of runs sums its runs' losses
        timer.lap("forward_backward")
        self.optimizer.step()
        timer.lap("optimizer")
        ema_update(self.target.parameters(), self.online.parameters(), tau=1 - self.ema)
        timer.lap("ema")
        return loss.detach()


class Timer:
    """Time spent per region of a loop, summed over its laps. On CUDA an event is recorded at
    each boundary and all are read at the end (recording does not wait for the GPU), so the
    regions split the GPU's timeline; on the CPU, ``perf_counter`` (CPU operations have finished
    when they return)."""

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"
        self.marks: list[tuple[str, object]] = []

    def _now(self):
        if not self.cuda:
            return time.perf_counter()
        event = torch.cuda.Event(enable_timing=True)
        event.record()
        return event

    def start(self) -> None:
        self.marks.append(("", self._now()))

    def lap(self, region: str) -> None:
        self.marks.append((region, self._now()))

    def seconds(self) -> dict[str, float]:
        """Seconds per region, summed over every lap since ``start``."""
        if self.cuda:
            torch.cuda.synchronize()
        totals: dict[str, float] = {}
        for (_, before), (region, after) in zip(self.marks, self.marks[1:]):
            if region:  # a later ``start`` begins a new stretch
                spent = before.elapsed_time(after) / 1000 if self.cuda else after - before
                totals[region] = totals.get(region, 0.0) + spent
        return totals


class _NoTimer:
    def lap(self, region: str) -> None:
        pass


NO_TIMER = _NoTimer()


class LatestLoss:
    """The loss for the progress bar without waiting for the device. On CUDA the value is copied
    to pinned host memory asynchronously and shown once an event says it has landed: the bar
    shows the loss of the previous read, and the queue of work is never drained. On the CPU the
    value is there at once."""

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"
        self.value: float | None = None
        if self.cuda:
            self.host = torch.empty((), pin_memory=True)
            self.copied = torch.cuda.Event()
            self.in_flight = False

    def post(self, loss: torch.Tensor) -> None:
        if not self.cuda:
            self.value = loss.item()
            return
        if self.in_flight and self.copied.query():
            self.value = self.host.item()  # a host tensor: no device read
        self.host.copy_(loss.detach(), non_blocking=True)
        self.copied.record()
        self.in_flight = True
