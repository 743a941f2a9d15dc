"""Appendix G on a real network: the paper's expressions for the gradients of eqs. 29–53, built
from the representations and their Jacobians, against autograd through ``theory.objectives``.

A ``Point`` is an encoder f_θ (``theory.thm51.setups.build_encoder``), the predictor W of BYOL'
(RAFT's is −W: the initialisation of Appendix G, or the induction hypothesis at step k), two
views x1, x2 (batch size 1, as the proof) and the teacher's output t2 = f_ξ(x2). On each side
z_i = unit(W f_θ(x_i)) (condition (i), the paper's "automatically l2-normalised"), z̄2 =
unit(t2); the losses are eqs. 22–27 (α = β = 1, the cross-model term on the second view):
L_BYOL' = ‖z'1 − z'2‖² + ‖z'2 − z̄2‖², L_RAFT = ‖z1 − z2‖² − ‖z2 − z̄2‖².

The tangential gradient [∂L/∂p]_∥ is Σ_i ⟨(∂L/∂z_i)_∥, ∂z_i/∂p⟩, each z-gradient projected at
its own z_i. Since z_i is l2-normalised, ∂z_i/∂p is tangent at z_i, so this is exactly autograd's
∂L/∂p (the reference of every comparison here; ``tangent-noop`` shows the Remark's tangential
form gives the same gradients).
"""

from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call

from theory import objectives as obj
from theory.steps.sphere import decomposition, dot, eq35, orthogonal, tangential

ENCODERS = ("linear", "mlp")
INPUTS, WIDTH = 3, 6


@dataclass
class Point:
    encoder: nn.Module
    W: torch.Tensor
    x1: torch.Tensor
    x2: torch.Tensor
    t2: torch.Tensor
    name: str = "random"

    @property
    def dim(self) -> int:
        return self.W.shape[0]


@dataclass
class Side:
    """One side at a point: ``sign`` +1 for BYOL' (predictor W), −1 for RAFT (−W); its
    representations, their Jacobians (by p = θ flat, then W flat) and autograd's gradients of
    the alignment, the cross-model squared distance ‖z2 − z̄2‖² and the side's objective."""

    sign: int
    z1: torch.Tensor
    z2: torch.Tensor
    z_bar: torch.Tensor
    jacobians: dict
    gradients: dict


def flat_parameters(encoder: nn.Module):
    names, shapes = zip(*[(n, p.shape) for n, p in encoder.named_parameters()])
    flat = torch.cat([p.detach().reshape(-1) for p in encoder.parameters()])
    return list(names), list(shapes), flat


def _forward(point: Point, names, shapes):
    """(θ flat, W flat) ↦ (u1, u2, z1, z2) with u_i = W f_θ(x_i), z_i = unit(u_i)."""
    sizes = [s.numel() for s in shapes]
    views = torch.cat([point.x1, point.x2])

    def outputs(theta, w):
        params = {n: t.view(s) for n, t, s in zip(names, theta.split(sizes), shapes)}
        u = functional_call(point.encoder, params, (views,)) @ w.view(point.dim, point.dim).T
        z = obj.unit(u, validate=False)
        return u[0], u[1], z[0], z[1]

    return outputs


def side(point: Point, sign: int) -> Side:
    names, shapes, theta = flat_parameters(point.encoder)
    outputs = _forward(point, names, shapes)
    w = (sign * point.W).reshape(-1)
    with torch.enable_grad():
        J = torch.autograd.functional.jacobian(outputs, (theta, w), vectorize=True)
        theta_p, w_p = theta.clone().requires_grad_(True), w.clone().requires_grad_(True)
        u1, u2, _, _ = outputs(theta_p, w_p)
        p1, p2 = u1[None], u2[None]
        losses = {"align": obj.alignment(p1, p2), "cross": obj.cross_model(p2, point.t2)}
        losses["total"] = (
            obj.byol_prime_one_view(p1, p2, point.t2)
            if sign > 0
            else losses["align"] - losses["cross"]
        )
        gradients = {
            k: torch.autograd.grad(v, (theta_p, w_p), retain_graph=True) for k, v in losses.items()
        }
    u1, u2, z1, z2 = outputs(theta, w)
    jacobians = dict(zip(("u1", "u2", "z1", "z2"), J)) | {"norm1": u1.norm(), "norm2": u2.norm()}
    return Side(sign, z1, z2, obj.unit(point.t2, validate=False)[0], jacobians, gradients)


def gap(a: torch.Tensor, b: torch.Tensor, scale: torch.Tensor) -> float:
    """‖a − b‖/scale, 0 when both vanish."""
    distance, scale = float((a - b).norm()), float(scale)
    return distance / scale if scale > 0 else (0.0 if distance == 0 else float("inf"))


def _project(z: torch.Tensor, J: torch.Tensor) -> torch.Tensor:
    """The columns of a Jacobian projected onto the tangent space at z."""
    return J - z[:, None] * (z @ J)[None]


def size(s: Side, view: str, wrt: int) -> torch.Tensor:
    """‖∂u/∂p‖_F/‖u‖ for u = u1 or u2: the size of ∂z/∂p = P_z(∂u/∂p)/‖u‖ before the
    projection cancels its radial part, which is what its round-off is proportional to."""
    return s.jacobians["u" + view][wrt].norm() / s.jacobians["norm" + view]


def align_forms(s: Side, wrt: int) -> dict:
    """Eqs. 29–32 (wrt = 0, θ) and 44–45 (wrt = 1, W): the full chain rule, the paper's
    tangential form (decomposition at z2 for both terms) and the corrected one (each term at
    its own point), each as (value, reference, scale)."""
    J1, J2 = s.jacobians["z1"][wrt], s.jacobians["z2"][wrt]
    w = s.z1 - s.z2
    parallel = tangential(w, s.z2)
    reference = s.gradients["align"][wrt]
    scale = 2 * w.norm() * (size(s, "1", wrt) + size(s, "2", wrt))
    return {
        "chain": (2 * (parallel + dot(w, s.z2) * s.z2) @ (J1 - J2), reference, scale),
        "written": (2 * parallel @ (J1 - J2), reference, scale),
        "corrected": (2 * tangential(w, s.z1) @ J1 - 2 * parallel @ J2, reference, scale),
    }


def cross_forms(s: Side, wrt: int) -> dict:
    """Eqs. 39–40 (θ: the paper's W·∂f/∂θ, i.e. ∂u2/∂θ, and the corrected ∂z2/∂θ) and 50–51
    (W: ∂z2/∂W), for the side's cross-model term (+‖z2 − z̄2‖² in BYOL', − in RAFT)."""
    coefficient = -2 * s.sign * tangential(s.z_bar - s.z2, s.z2)
    raw, normalised = s.jacobians["u2"][wrt], s.jacobians["z2"][wrt]
    reference = s.sign * s.gradients["cross"][wrt]
    scale = 2 * (s.z2 - s.z_bar).norm() * size(s, "2", wrt)
    return {
        "written": (coefficient @ (raw if wrt == 0 else normalised), reference, scale),
        "corrected": (coefficient @ normalised, reference, scale),
    }


def _gradient_steps(prime: Side, plain: Side) -> dict[str, float]:
    """Eqs. 38, 42–43, 49, 52–53: autograd's gradients of the two sides, mapped; each gap
    relative to the larger side's sum of term magnitudes."""

    def scale(forms, wrt):
        return max(float(forms(s, wrt)["corrected"][2]) for s in (prime, plain))

    def grad(s, kind, wrt):
        return s.gradients[kind][wrt]

    align, cross = (
        (scale(align_forms, 0), scale(align_forms, 1)),
        (scale(cross_forms, 0), scale(cross_forms, 1)),
    )
    return {
        "38": gap(grad(prime, "align", 0), grad(plain, "align", 0), align[0]),
        "42": gap(grad(prime, "cross", 0), -grad(plain, "cross", 0), cross[0]),
        "43": gap(grad(prime, "total", 0), grad(plain, "total", 0), align[0] + cross[0]),
        "49": gap(grad(prime, "align", 1), -grad(plain, "align", 1), align[1]),
        "52": gap(grad(prime, "cross", 1), grad(plain, "cross", 1), cross[1]),
        "53": gap(grad(prime, "total", 1), -grad(plain, "total", 1), align[1] + cross[1]),
    }


def _forms(s: Side, labels: tuple[str, ...]) -> dict[str, float]:
    """One side's eqs. 29/30, 31/32, 39/40, 44/45, 50/51 (``labels`` in that order), written
    and, where the written form is wrong, corrected ("*")."""
    chain, align, cross, align_W, cross_W = labels
    a_theta, a_W, c_theta, c_W = (
        align_forms(s, 0),
        align_forms(s, 1),
        cross_forms(s, 0),
        cross_forms(s, 1),
    )
    return {
        chain: gap(*a_theta["chain"]),
        align: gap(*a_theta["written"]),
        align + "*": gap(*a_theta["corrected"]),
        cross: gap(*c_theta["written"]),
        cross + "*": gap(*c_theta["corrected"]),
        align_W: gap(*a_W["written"]),
        align_W + "*": gap(*a_W["corrected"]),
        cross_W: gap(*c_W["written"]),
    }


BYOL_LABELS = ("29", "31", "39", "44", "50")
RAFT_LABELS = ("30", "32", "40", "45", "51")


def _vector_steps(prime: Side) -> dict[str, float]:
    """Eqs. 33–35 at the point's own z'1, z'2 (``theory.steps.sphere``'s scores)."""
    w = prime.z1 - prime.z2
    pair = torch.stack([prime.z1, prime.z2])[None]
    return {
        "33": float(decomposition(pair)[0]),
        "34": float(orthogonal(torch.stack([w, prime.z2])[None])[0]),
        "35": float(eq35(pair)[0]),
    }


def _mirror_steps(prime: Side, plain: Side) -> dict[str, float]:
    """Eqs. 36/46, 37, 41, 47–48 between the two sides' actual values."""
    w_prime, w = prime.z1 - prime.z2, plain.z1 - plain.z2
    mirrored = float((prime.z1 + plain.z1).norm() + (prime.z2 + plain.z2).norm())
    terms = 2 * (w.norm() + dot(w, plain.z2).abs().sum())
    projected = tangential(w_prime, prime.z2) + tangential(w, plain.z2)
    J_prime = prime.jacobians["z1"][0] - prime.jacobians["z2"][0]
    J = plain.jacobians["z1"][0] - plain.jacobians["z2"][0]
    scale_37 = size(plain, "1", 0) + size(plain, "2", 0)
    teacher = [tangential(s.z_bar - s.z2, s.z2) for s in (prime, plain)]
    out = {
        "36": max(mirrored, gap(projected, torch.zeros_like(projected), terms)),
        "37": gap(_project(prime.z2, J_prime), -_project(plain.z2, J), scale_37),
        "41": gap(
            teacher[0],
            teacher[1],
            2 * (plain.z_bar - plain.z2).norm() + 2 * (plain.z_bar + plain.z2).norm(),
        ),
    }
    for label, view in (("47", "1"), ("48", "2")):
        for kind, suffix in (("z", ""), ("u", " raw")):
            a, b = prime.jacobians[kind + view][1], plain.jacobians[kind + view][1]
            out[label + suffix] = gap(a, b, size(plain, view, 1) if kind == "z" else b.norm())
    return out


def residuals(prime: Side, plain: Side) -> dict[str, float]:
    """Every Appendix G step that a point's two sides (BYOL', RAFT) can test, as a relative
    violation (see the module's docstring); "31*" is eq. 31 corrected, "47 raw" eq. 47
    without the normalisation."""
    out = _forms(prime, BYOL_LABELS) | _forms(plain, RAFT_LABELS) | _vector_steps(prime)
    out |= _mirror_steps(prime, plain) | _gradient_steps(prime, plain)
    out["28"] = max(out["43"], out["53"])
    out["46"] = out["36"]
    return out
