"""What the paper measures of a trained model: alignment, uniformity and the collapse indicators
on a fixed probe set (Table 1, Figures 1 and 4), and the linear evaluation protocol (Appendix B).
Every metric is computed by ``theory.objectives``; values stay on the device until the caller
reads them, once per epoch."""

import math

import torch
from torch import nn
from torch.nn import functional as F

from theory import objectives
from training import step as steps

CHUNK = 256  # images per forward pass outside training: bounds memory, not results


class Probe:
    """A fixed held-out probe set: the images x, and one fixed pair of augmented views
    (x1, x2) = (t1(x), t2(x)) drawn once, so that successive epochs measure the model and not
    new augmentation noise."""

    def __init__(self, images: torch.Tensor, views, generator: torch.Generator):
        if images.shape[0] < 2:
            raise ValueError(f"the probe set needs at least 2 images, got {images.shape[0]}")
        self.x = views.plain(images)
        self.x1, self.x2 = views(images, generator)


def _in_chunks(function, x: torch.Tensor) -> torch.Tensor:
    return torch.cat([function(x[i : i + CHUNK]) for i in range(0, x.shape[0], CHUNK)])


def _eval_mode(*modules: nn.Module) -> list[bool]:
    was_training = [m.training for m in modules]
    for m in modules:
        m.eval()
    return was_training


@torch.no_grad()
def probe_metrics(online, predictor, target, probe: Probe) -> dict[str, torch.Tensor]:
    """The paper's metrics of the current model on the probe set, as 0-d device tensors:

    - ``align``: L_align(q_w∘f_θ) (eq. 2) between the predictions of the two views (Table 1);
    - ``uniform``: L_uniform(f_θ) (eq. 3, t = 2) of the online projections of the images;
    - ``cross``: L_cross-model(q_w∘f_θ, f_ξ) (eq. 6), symmetrised over the views (Def. 4.2);
    - ``byol``: L_BYOL (eq. 4), symmetrised over the views;
    - ``z_std``, ``eff_rank``: embedding std and effective rank of the online projections
      (collapse indicators, see their definitions in ``theory.objectives``).

    The networks run in evaluation mode (batch-norm running statistics) and are restored after.
    """
    modes = _eval_mode(online, predictor, target)
    try:
        p1 = _in_chunks(lambda x: predictor(online(x)), probe.x1)
        p2 = _in_chunks(lambda x: predictor(online(x)), probe.x2)
        t1, t2 = _in_chunks(target, probe.x1), _in_chunks(target, probe.x2)
        z = _in_chunks(online, probe.x)
    finally:
        for module, mode in zip((online, predictor, target), modes):
            module.train(mode)
    options = {"validate": False}  # a degenerate probe shows as NaN in the metrics, not a crash
    return {
        "align": objectives.alignment(p1, p2, **options),
        "uniform": objectives.uniformity(z, **options),
        "cross": objectives.symmetric_cross_model(p1, p2, t1, t2, **options),
        "byol": objectives.byol_symmetric(p1, p2, t1, t2, **options),
        "z_std": objectives.embedding_std(z, **options),
        "eff_rank": objectives.effective_rank(z, **options),
    }


@torch.no_grad()
def calibrate_batch_norm(network: nn.Module, images: torch.Tensor, transform) -> None:
    """Set the batch-norm running statistics of a freshly initialised network to the data's:
    the cumulative average over ``images`` in batches of CHUNK. Without it an untrained network
    in evaluation mode normalises with mean 0 and variance 1, which is not a random encoder of
    this data. Training never reads these statistics (it uses batch statistics), so calibrating
    changes the measurements of epoch 0 and of the random baseline, not the training."""
    norms = [m for m in network.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average
    mode = network.training
    network.train()
    for i in range(0, images.shape[0], CHUNK):
        network(transform(images[i : i + CHUNK]))
    network.train(mode)
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum


@torch.no_grad()
def features(network, images: torch.Tensor, transform) -> torch.Tensor:
    """The frozen encoder's representations h(x) of uint8 ``images`` (evaluation mode),
    computed once so that linear evaluation never runs the encoder again."""
    modes = _eval_mode(network)
    try:
        return _in_chunks(lambda x: network.features(transform(x)), images)
    finally:
        network.train(modes[0])


def linear_evaluation(
    train_x, train_y, test_x, test_y, *, classes: int, epochs: int, lr: float, batch_size: int,
    generator: torch.Generator,
) -> dict[str, float]:
    """The linear evaluation protocol (Appendix B): a linear classifier on the frozen features,
    trained with Adam on all the training labels for ``epochs`` epochs at learning rate ``lr``
    (minibatches of ``batch_size``, cross-entropy), then its accuracy on the test set. The
    classifier starts at zero (the problem is convex, so no random initialisation is needed).
    Returns ``linear_acc`` (test) and ``linear_train_acc``; reads the device once."""
    classifier = nn.Linear(train_x.shape[1], classes).to(train_x.device)
    nn.init.zeros_(classifier.weight)
    nn.init.zeros_(classifier.bias)
    optimizer = steps.adam(classifier.parameters(), lr)
    n = train_x.shape[0]
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator, device=train_x.device)
        for start in range(0, n, batch_size):
            batch = order[start : start + batch_size]
            loss = F.cross_entropy(classifier(train_x[batch]), train_y[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        accuracies = torch.stack(
            [
                (classifier(x).argmax(dim=1) == y).float().mean()
                for x, y in ((test_x, test_y), (train_x, train_y))
            ]
        ).tolist()
    return {"linear_acc": accuracies[0], "linear_train_acc": accuracies[1]}


def finite_or_none(value: float) -> float | None:
    """JSON has no NaN or infinity: a non-finite metric is written as null."""
    return value if math.isfinite(value) else None
