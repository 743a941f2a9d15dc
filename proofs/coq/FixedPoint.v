(** Section 2.2, BYOL at the EMA fixed point (claim byol-np-fixed-point, plain form): without
    a predictor, with the teacher equal to the online network (ξ = θ), the derivative of BYOL's
    symmetrised loss ½[‖p1 − sg(p2)‖² + ‖p2 − sg(p1)‖²] in the online parameters is that of
    ½·L_align = ½‖p1 − p2‖², in every direction.

    The outputs p1 = r1(y), p2 = r2(y) on the two views are any maps of the parameters (any
    encoder, BatchNorm on batch statistics included, l2-normalised or not); the teacher's
    outputs are the same maps at the current point x, held constant (the stop-gradient).
    Derivatives are abstract: [D f x h] of a real function and [Dv r x h] of an output map at x
    along h, with the properties the derivative has: additivity, homogeneity, the derivative of
    a squared distance, and a constant map's derivative 0 (tested against every vector). *)

From Coq Require Import Reals Lra.
From RaftVerify Require Import InnerSpace.
Open Scope R_scope.

Section FixedPoint.
Variables (E : InnerSpace) (P : Type) (r1 r2 : P -> E).
Variables (D : (P -> R) -> P -> P -> R) (Dv : (P -> E) -> P -> P -> E).
Hypothesis D_add : forall f g x h, D (fun y => f y + g y) x h = D f x h + D g x h.
Hypothesis D_scale : forall c f x h, D (fun y => c * f y) x h = c * D f x h.
Hypothesis D_sqd : forall (f g : P -> E) x h,
  D (fun y => sqd (f y) (g y)) x h = 2 * ip (vsub (f x) (g x)) (vsub (Dv f x h) (Dv g x h)).
Hypothesis Dv_constant : forall (c : E) x h u, ip u (Dv (fun _ => c) x h) = 0.

Definition byol_at_fixed_point (x : P) : P -> R :=
  fun y => / 2 * (sqd (r1 y) (r2 x) + sqd (r2 y) (r1 x)).
Definition half_alignment : P -> R := fun y => / 2 * sqd (r1 y) (r2 y).

Theorem byol_np_fixed_point_descends_half_alignment (x h : P) :
  D (byol_at_fixed_point x) x h = D half_alignment x h.
Proof.
  unfold byol_at_fixed_point, half_alignment.
  rewrite D_scale, D_add, D_scale.
  pose proof (D_sqd r1 (fun _ => r2 x) x h) as H1.
  pose proof (D_sqd r2 (fun _ => r1 x) x h) as H2.
  pose proof (D_sqd r1 r2 x h) as H3.
  cbv beta in H1, H2, H3; rewrite H1, H2, H3.
  expand.
  rewrite !Dv_constant.
  field.
Qed.
End FixedPoint.
