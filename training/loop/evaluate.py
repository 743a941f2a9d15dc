"""What the paper measures of a trained model: alignment, uniformity and the collapse indicators
on a fixed probe set (Table 1, Figures 1 and 4), and the linear evaluation protocol (Appendix B).
Every metric is computed by ``theory.objectives``; values stay on the device until the caller
reads them, once per epoch."""

import statistics

import torch
from torch import nn
from torch.nn import functional as F

from theory import objectives
from training.loop import training_step

CHUNK = 256  # images per forward pass outside training: bounds memory, not results
LAST_EPOCHS = 10  # the linear evaluation's tail that the authors' "mean ± std" summarises


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


class KNN:
    """The weighted k-nearest-neighbour monitor of self-supervised runs (Wu et al., 2018; as
    lightly's ``knn_predict`` and solo-learn's ``WeightedKNNClassifier``): the frozen encoder's
    features h(x), l2-normalised, of a memory bank of labelled training images and of the
    queries (the probe's test images); each query's k most cosine-similar bank images vote for
    their class with weight exp(similarity / temperature). ``accuracy`` returns the share of
    queries whose vote is their label, as a 0-d device tensor (read with the probe metrics).
    The bank stays uint8 and is transformed chunk by chunk, so that it costs no more memory
    than the training set already does."""

    def __init__(
        self,
        bank,
        bank_labels,
        queries,
        query_labels,
        transform,
        *,
        k: int,
        temperature: float,
        classes: int,
    ):
        if bank.shape[0] < 1 or queries.shape[0] < 1:
            raise ValueError("the k-NN monitor needs at least one bank image and one query")
        self.bank, self.bank_labels, self.transform = bank, bank_labels, transform
        self.queries, self.query_labels = queries, query_labels
        self.k, self.temperature, self.classes = min(k, bank.shape[0]), temperature, classes

    @torch.no_grad()
    def accuracy(self, network) -> torch.Tensor:
        modes = _eval_mode(network)
        try:
            bank = _in_chunks(lambda x: network.features(self.transform(x)), self.bank)
            queries = _in_chunks(network.features, self.queries)
        finally:
            network.train(modes[0])
        similarity = F.normalize(queries, dim=1) @ F.normalize(bank, dim=1).T
        nearest, index = similarity.topk(self.k, dim=1)
        votes = torch.zeros(
            queries.shape[0], self.classes, dtype=nearest.dtype, device=queries.device
        )
        votes.scatter_add_(1, self.bank_labels[index], (nearest / self.temperature).exp())
        return (votes.argmax(dim=1) == self.query_labels).float().mean()


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


def features(network, images: torch.Tensor, transform) -> torch.Tensor:
    """The frozen encoder's representations h(x) of uint8 ``images`` (evaluation mode),
    computed once so that linear evaluation never runs the encoder again."""
    return features_of(network, lambda x: network.features(transform(x)), images)


@torch.no_grad()
def features_of(network, encode, images: torch.Tensor) -> torch.Tensor:
    """``encode`` of ``images``, chunk by chunk, with ``network`` in evaluation mode."""
    modes = _eval_mode(network)
    try:
        return _in_chunks(encode, images)
    finally:
        network.train(modes[0])


@torch.no_grad()
def projections(network, x: torch.Tensor) -> torch.Tensor:
    """The l2-normalised projections f_θ(x) of transformed images ``x`` (evaluation mode)."""
    modes = _eval_mode(network)
    try:
        return F.normalize(_in_chunks(network, x), dim=1)
    finally:
        network.train(modes[0])


def linear_evaluation(
    train_x,
    train_y,
    test_x,
    test_y,
    *,
    classes: int,
    epochs: int,
    lr: float,
    batch_size: int,
    generator: torch.Generator,
) -> dict[str, float]:
    """The linear evaluation protocol (Appendix B): a linear classifier on the frozen features,
    trained with Adam on all the training labels for ``epochs`` epochs at learning rate ``lr``
    (minibatches of ``batch_size``, cross-entropy), then its accuracy on the test set. The
    classifier starts at zero (the problem is convex, so no random initialisation is needed).
    Returns ``linear_acc`` (test) and ``linear_train_acc``, and the mean and (population)
    standard deviation of the test accuracy over the last LAST_EPOCHS epochs,
    ``linear_acc_last10`` and ``linear_acc_last10_std``: what the authors' evaluation prints as
    "mean ± std" (docs/reproduce.md); reads the device once."""
    return linear_evaluations(
        [train_x],
        train_y,
        [test_x],
        test_y,
        classes=classes,
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        generators=[generator],
    )[0]


def linear_evaluations(
    train_xs: list,
    train_y,
    test_xs: list,
    test_y,
    *,
    classes: int,
    epochs: int,
    lr: float,
    batch_size: int,
    generators: list[torch.Generator],
) -> list[dict[str, float]]:
    """``linear_evaluation`` of K runs' features at once (a batch of runs): K classifiers,
    each trained on its own run's features with minibatches drawn from its own generator, as
    one batched product per step; the sum of their losses gives each its own gradient, and
    Adam acts elementwise. Reads the device once."""
    runs, dim, device = len(train_xs), train_xs[0].shape[1], train_xs[0].device
    features, tests = torch.stack(train_xs), torch.stack(test_xs)  # (K, N, dim)
    weight = torch.zeros(runs, classes, dim, device=device, requires_grad=True)
    bias = torch.zeros(runs, classes, device=device, requires_grad=True)
    optimizer = training_step.adam([weight, bias], lr)
    n, rows = features.shape[1], torch.arange(runs, device=device).unsqueeze(1)
    last = []  # test accuracies of the last LAST_EPOCHS epochs, on the device until the end
    for epoch in range(epochs):
        orders = torch.stack([torch.randperm(n, generator=g, device=device) for g in generators])
        for start in range(0, n, batch_size):
            batch = orders[:, start : start + batch_size]
            logits = _logits(weight, bias, features[rows, batch])
            losses = F.cross_entropy(logits.transpose(1, 2), train_y[batch], reduction="none")
            optimizer.zero_grad(set_to_none=True)
            losses.mean(dim=1).sum().backward()
            optimizer.step()
        if epoch >= epochs - LAST_EPOCHS:
            last.append(_accuracies(weight, bias, tests, test_y))
    final = [_accuracies(weight, bias, tests, test_y), _accuracies(weight, bias, features, train_y)]
    test, train, *tails = torch.stack(final + last).tolist()  # one row per measurement, K runs
    results = []
    for k in range(runs):
        tail = [accuracies[k] for accuracies in tails] or [test[k]]
        results.append(
            {
                "linear_acc": test[k],
                "linear_train_acc": train[k],
                "linear_acc_last10": sum(tail) / len(tail),
                "linear_acc_last10_std": statistics.pstdev(tail),
            }
        )
    return results


def _logits(weight, bias, x) -> torch.Tensor:
    """(K, B, classes) from (K, B, dim) features."""
    return torch.baddbmm(bias.unsqueeze(1), x, weight.transpose(1, 2))


@torch.no_grad()
def _accuracies(weight, bias, x, y) -> torch.Tensor:
    """Each run's share of ``x`` (K, N, dim) classified as ``y`` (N,)."""
    return (_logits(weight, bias, x).argmax(dim=2) == y).float().mean(dim=1)
