"""The mean teacher of eq. 5, once: ξ ← τξ + (1 − τ)θ, for the checks and for training."""

from typing import Iterable

import torch


def ema_update(
    teacher: Iterable[torch.Tensor], online: Iterable[torch.Tensor], *, tau: float
) -> None:
    """ξ ← τξ + (1 − τ)θ in place (eq. 5; Algorithm 1, line 12) for matching lists of tensors,
    τ the share of its own past the teacher keeps: two multi-tensor kernels (scale, then add)
    instead of a Python loop of small ones."""
    teacher, online = list(teacher), list(online)
    with torch.no_grad():
        torch._foreach_mul_(teacher, tau)
        torch._foreach_add_(teacher, online, alpha=1 - tau)
