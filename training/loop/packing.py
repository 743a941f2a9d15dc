"""K networks of one architecture as one network whose every layer is K layers side by side, so
that one forward and one backward pass train K independent runs (``training.loop.batched``).

A packed layer computes each member's layer on that member's slice of the channels: a
convolution becomes a grouped convolution (groups × K), a batch norm one over K times the
channels (each channel's statistics are still its own run's), a linear layer ``GroupedLinear``
(K matrix products in one batched product). Parameters, buffers and optimiser states are laid out
member after member along their first dimension, so member k's tensor is a plain slice: packing
and unpacking copy values exactly, and Adam and the EMA, which act elementwise, act on each
member as on a single run.

Inputs and outputs are packed along the channel dimension: member k's images are channels
[3k, 3k + 3) of the input, its projections columns [Dk, Dk + D) of the output (``split``)."""

import copy

import torch
from torch import nn


class GroupedLinear(nn.Module):
    """K linear layers ``in_features → out_features`` applied to the K slices of a (B, K·in)
    input: y_k = x_k W_kᵀ + b_k. The weight is stored as (K·out, in), member after member."""

    def __init__(self, members: int, in_features: int, out_features: int, bias: bool):
        super().__init__()
        self.members, self.in_features, self.out_features = members, in_features, out_features
        self.weight = nn.Parameter(torch.empty(members * out_features, in_features))
        self.bias = nn.Parameter(torch.empty(members * out_features)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, batch = self.members, x.shape[0]
        x = x.reshape(batch, k, self.in_features).transpose(0, 1)  # (K, B, in)
        weight = self.weight.view(k, self.out_features, self.in_features)
        if self.bias is None:
            y = torch.bmm(x, weight.transpose(1, 2))
        else:
            y = torch.baddbmm(self.bias.view(k, 1, self.out_features), x, weight.transpose(1, 2))
        return y.transpose(0, 1).reshape(batch, k * self.out_features)


def _packed_layer(layer: nn.Module, k: int) -> nn.Module | None:
    """The layer of a packed network that stands for ``layer`` of its K members; None for a
    layer without parameters or buffers, which acts channel by channel and is kept as it is."""
    if isinstance(layer, nn.Conv2d):
        return nn.Conv2d(
            k * layer.in_channels,
            k * layer.out_channels,
            layer.kernel_size,
            stride=layer.stride,
            padding=layer.padding,
            dilation=layer.dilation,
            groups=k * layer.groups,
            bias=layer.bias is not None,
            padding_mode=layer.padding_mode,
        )
    if isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return type(layer)(
            k * layer.num_features,
            eps=layer.eps,
            momentum=layer.momentum,
            affine=layer.affine,
            track_running_stats=layer.track_running_stats,
        )
    if isinstance(layer, nn.Linear):
        return GroupedLinear(k, layer.in_features, layer.out_features, layer.bias is not None)
    if any(True for _ in layer.parameters(recurse=False)) or any(
        True for _ in layer.buffers(recurse=False)
    ):
        raise ValueError(
            f"cannot pack a {type(layer).__name__}: only convolutions, batch norms and linear "
            "layers hold parameters in a packed network"
        )
    return None


def pack(members: list[nn.Module], memory_format: torch.memory_format | None = None) -> nn.Module:
    """One network computing the K ``members`` side by side, holding exact copies of their
    parameters and buffers (same device, dtype and requires_grad; the members' memory layout
    unless ``memory_format`` is given)."""
    k = len(members)
    packed = copy.deepcopy(members[0])
    for name, layer in list(packed.named_modules()):
        replacement = _packed_layer(layer, k)
        if replacement is None:
            continue
        if name == "":
            packed = replacement
        else:
            packed.set_submodule(name, replacement)
    like = members[0]
    parameter = next(iter(like.parameters()), None)
    if parameter is not None:
        packed.to(parameter.device, parameter.dtype)
    packed.to(memory_format=memory_format or _memory_format(like))
    load_members(packed, members)
    return packed


def _memory_format(network: nn.Module) -> torch.memory_format:
    for parameter in network.parameters():
        if parameter.dim() == 4 and parameter.is_contiguous(memory_format=torch.channels_last):
            if not parameter.is_contiguous():
                return torch.channels_last
    return torch.contiguous_format


def _tensors(network: nn.Module) -> dict[str, torch.Tensor]:
    return {**dict(network.named_parameters()), **dict(network.named_buffers())}


def member_slice(packed: torch.Tensor, members: int, k: int, shape: torch.Size) -> torch.Tensor:
    """Member k's part of a packed tensor whose single-run shape is ``shape`` (a view). A tensor
    of the single run's size (a batch norm's step count, Adam's step) is shared by all."""
    if packed.shape == shape:
        return packed
    return packed.reshape(members, *shape)[k]


@torch.no_grad()
def load_members(packed: nn.Module, members: list[nn.Module]) -> None:
    """Copy each member's parameters and buffers into its slice of ``packed``."""
    mine = _tensors(packed)
    for name, tensors in _by_name(members).items():
        target = mine[name]
        if target.shape == tensors[0].shape:
            target.copy_(tensors[0])
        else:
            target.copy_(torch.cat([t.contiguous() for t in tensors]).view_as(target))
        if isinstance(target, nn.Parameter):
            target.requires_grad_(tensors[0].requires_grad)


@torch.no_grad()
def unload_members(packed: nn.Module, members: list[nn.Module]) -> None:
    """Copy each member's slice of ``packed`` back into the member's parameters and buffers."""
    mine, k = _tensors(packed), len(members)
    for name, tensors in _by_name(members).items():
        source = mine[name].contiguous()
        for index, tensor in enumerate(tensors):
            tensor.copy_(member_slice(source, k, index, tensor.shape))


def _by_name(members: list[nn.Module]) -> dict[str, list[torch.Tensor]]:
    tensors = [_tensors(m) for m in members]
    return {name: [t[name] for t in tensors] for name in tensors[0]}


def load_optimizer(packed: torch.optim.Optimizer, members: list[torch.optim.Optimizer]) -> None:
    """Give ``packed`` (over the packed parameters, in the members' parameter order) the
    members' Adam states, each in its slice; members without state leave it fresh."""
    states = [m.state_dict() for m in members]
    if not states[0]["state"]:
        return
    parameters = [p for group in packed.param_groups for p in group["params"]]
    state = {}
    for index, parameter in enumerate(parameters):
        entries = [s["state"].get(index) for s in states]
        if entries[0] is None:
            continue
        state[index] = {
            key: (
                torch.cat([e[key].contiguous() for e in entries]).view_as(parameter)
                if value.dim()
                else value
            )
            for key, value in entries[0].items()
        }
    saved = packed.state_dict()
    saved["state"] = state
    packed.load_state_dict(saved)


def optimizer_state(packed: torch.optim.Optimizer, members: int, k: int, shapes) -> dict:
    """Member k's slice of ``packed``'s state, as a single run's optimizer.state_dict() (copies);
    ``shapes``: the single run's parameter shapes, in order."""
    saved = packed.state_dict()
    state = {
        index: {
            key: member_slice(value.contiguous(), members, k, shapes[index]).clone()
            if torch.is_tensor(value) and value.dim()
            else value.clone()
            if torch.is_tensor(value)
            else value
            for key, value in entry.items()
        }
        for index, entry in saved["state"].items()
    }
    return {"state": state, "param_groups": saved["param_groups"]}


def split(outputs: torch.Tensor, members: int) -> tuple[torch.Tensor, ...]:
    """A packed network's (B, K·D) output as the K members' (B, D) outputs."""
    return outputs.view(outputs.shape[0], members, -1).unbind(1)


def join(images: list[torch.Tensor]) -> torch.Tensor:
    """The K members' (B, C, H, W) inputs as one packed (B, K·C, H, W) input."""
    return torch.cat(images, dim=1)
