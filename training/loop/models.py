"""The networks of Appendix B: encoder h, projector g (together the paper's f = g∘h), predictor q,
and the mean teacher, whose parameters follow the online network's by the EMA of eq. 5
(``theory.teacher.ema_update``)."""

import copy

import torch
from torch import nn
from torchvision.models import resnet

PROJECTION_HIDDEN = 512  # Appendix B: "a linear layer with output size 512"
PROJECTION_DIM = 128  # Appendix B: "a final linear layer with output size 128"


def resnet18(width: int = 64) -> nn.Module:
    """torchvision's ResNet18 without its classifier (Appendix B), ImageNet stem (7×7 stride-2
    convolution and max-pool, as the paper's 96×96 inputs imply). ``width`` is the channel count
    of the first stage (64 is ResNet18 itself; tests use a narrower one to stay fast). Its
    output has ``feature_dim`` = 8·width features."""
    model = resnet.resnet18(weights=None)
    if width != 64:
        model.inplanes = width
        model.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        model.bn1 = nn.BatchNorm2d(width)
        model.layer1 = model._make_layer(resnet.BasicBlock, width, 2)
        model.layer2 = model._make_layer(resnet.BasicBlock, 2 * width, 2, stride=2)
        model.layer3 = model._make_layer(resnet.BasicBlock, 4 * width, 2, stride=2)
        model.layer4 = model._make_layer(resnet.BasicBlock, 8 * width, 2, stride=2)
        for m in model.modules():  # torchvision's initialisation, for the rebuilt layers
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
    model.fc = nn.Identity()
    model.feature_dim = 8 * width
    return model


def projector(in_dim: int) -> nn.Module:
    """g: Linear(in, 512) → BatchNorm → ReLU → Linear(512, 128) (Appendix B)."""
    return nn.Sequential(
        nn.Linear(in_dim, PROJECTION_HIDDEN),
        nn.BatchNorm1d(PROJECTION_HIDDEN),
        nn.ReLU(inplace=True),
        nn.Linear(PROJECTION_HIDDEN, PROJECTION_DIM),
    )


def predictor(kind: str, classes: int = 10, bias: bool = False) -> nn.Module:
    """q_w, one of Table 2's kinds. ``mlp``: "the same architecture as the projector but without
    the batch normalization" (Appendix B), Linear(128, 512) → ReLU → Linear(512, 128); ``linear``:
    q_w(z) = Wz (Section 3), randomly initialised; ``linear-identity-init``: W starts at I (the
    apparent collapse solution, BYOL-LPI); ``fixed-minus-identity``: W = −I, never trained (its
    weight does not require a gradient), the Theorem 5.1 mirror of ``none``: RAFT with it follows
    BYOL'-NP's trajectory (``training.pair``); ``none``: q_w = I, nothing to train;
    ``classifier``: q_w = I with a linear head of ``classes`` outputs (``Classifier``).
    ``bias``: the linear kinds as the authors' code builds them, q_w(z) = Wz + b with b trained
    (``--predictor-bias``; b starts at 0 where W starts at ±I); the paper writes q_w(z) = Wz."""
    if kind == "mlp":
        return nn.Sequential(
            nn.Linear(PROJECTION_DIM, PROJECTION_HIDDEN),
            nn.ReLU(inplace=True),
            nn.Linear(PROJECTION_HIDDEN, PROJECTION_DIM),
        )
    if kind in ("linear", "linear-identity-init", "fixed-minus-identity"):
        layer = nn.Linear(PROJECTION_DIM, PROJECTION_DIM, bias=bias)
        start = {"linear-identity-init": 1.0, "fixed-minus-identity": -1.0}.get(kind)
        if start is not None:
            with torch.no_grad():
                layer.weight.copy_(start * torch.eye(PROJECTION_DIM))
                if bias:  # q starts as the identity map itself
                    layer.bias.zero_()
        return layer.requires_grad_(kind != "fixed-minus-identity")
    if kind == "none":
        return nn.Identity()
    if kind == "classifier":
        return Classifier(classes)
    raise ValueError(f"unknown predictor kind {kind!r}")


class Classifier(nn.Module):
    """The supervised baseline's head (Figure 5(a)): q = I for every measurement, as without a
    predictor, and a linear head Linear(128, classes) on the projection f_θ(x) that the
    cross-entropy trains (``logits``). It sits in the predictor's place so that the optimiser
    and the checkpoint hold it as they hold any predictor."""

    def __init__(self, classes: int):
        super().__init__()
        self.head = nn.Linear(PROJECTION_DIM, classes)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.head(z)


class Network(nn.Module):
    """f = g∘h: the encoder h (ResNet18) and the projector g. ``forward`` returns the projection
    z = f(x) on which every objective acts; ``features`` the encoder's output h(x), the
    representation that linear evaluation classifies."""

    def __init__(self, width: int = 64):
        super().__init__()
        self.encoder = resnet18(width)
        self.projector = projector(self.encoder.feature_dim)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projector(self.encoder(x))


def mean_teacher(online: Network) -> Network:
    """f_ξ: a copy of the online network that never receives a gradient. Its batch-norm running
    statistics are not averaged by the EMA: the target keeps its own, gathered by its forward
    passes in training mode as BYOL's target does."""
    target = copy.deepcopy(online)
    target.requires_grad_(False)
    return target
