(** RAFT and collapse (claim raft-no-collapse, which fails): on the unit sphere
    L_RAFT ≥ −4β everywhere, and a collapsed configuration — every input mapped to one point e,
    the linear predictor W = −I, the teacher at the EMA fixed point (its outputs are the online
    encoder's, e) — attains −4β exactly (the checker's counterexample, D = 1 there; here any
    unit e of any inner-product space). *)

From Coq Require Import Reals Lra.
From RaftVerify Require Import InnerSpace.
Open Scope R_scope.

(** L_RAFT per sample (Definition 4.3, eqs. 9 and 11, symmetrised cross-model term). *)
Definition raft {E : InnerSpace} (a b : R) (p1 p2 t1 t2 : E) : R :=
  a * sqd p1 p2 - b * ((sqd p1 t1 + sqd p2 t2) / 2).

(** On the sphere, L_RAFT + 4β = α‖p1 − p2‖² + (β/2)(‖p1 + t1‖² + ‖p2 + t2‖²). *)
Lemma raft_plus_4beta_is_a_sum_of_squares (E : InnerSpace) (a b : R) (p1 p2 t1 t2 : E) :
  is_unit p1 -> is_unit p2 -> is_unit t1 -> is_unit t2 ->
  raft a b p1 p2 t1 t2 + 4 * b
  = a * sqd p1 p2 + b / 2 * (ip (vadd p1 t1) (vadd p1 t1) + ip (vadd p2 t2) (vadd p2 t2)).
Proof.
  unfold is_unit, raft; intros U1 U2 U3 U4; expand.
  rewrite (ip_sym E t1 p1), (ip_sym E t2 p2), (ip_sym E p2 p1), U1, U2, U3, U4.
  field.
Qed.

Theorem raft_bounded_below_by_minus_4beta (E : InnerSpace) (a b : R) (p1 p2 t1 t2 : E) :
  0 <= a -> 0 <= b -> is_unit p1 -> is_unit p2 -> is_unit t1 -> is_unit t2 ->
  - 4 * b <= raft a b p1 p2 t1 t2.
Proof.
  intros Ha Hb U1 U2 U3 U4.
  pose proof (raft_plus_4beta_is_a_sum_of_squares E a b p1 p2 t1 t2 U1 U2 U3 U4) as Hsos.
  pose proof (ip_pos E (vadd p1 t1)); pose proof (ip_pos E (vadd p2 t2)).
  pose proof (sqd_nonneg p1 p2).
  assert (0 <= a * sqd p1 p2) by (apply Rmult_le_pos; assumption).
  assert (0 <= b / 2 * (ip (vadd p1 t1) (vadd p1 t1) + ip (vadd p2 t2) (vadd p2 t2)))
    by (apply Rmult_le_pos; lra).
  lra.
Qed.

(** The collapsed configuration: an encoder f with f(x) = e for every input x (‖e‖ = 1), the
    predictor q(z) = −z (W = −I), the teacher's outputs the online encoder's (ξ = θ). *)
Theorem raft_collapsed_configuration_attains_minus_4beta
  (E : InnerSpace) (X : Type) (f : X -> E) (e : E) (a b : R) :
  (forall x, f x = e) -> is_unit e ->
  forall x1 x2, raft a b (vneg (f x1)) (vneg (f x2)) (f x1) (f x2) = - 4 * b.
Proof.
  intros Hf U x1 x2; rewrite !Hf; unfold is_unit in U; unfold raft; expand.
  rewrite U; field.
Qed.

(** raft-no-collapse as the checker reads it — no collapsed configuration attains the infimum
    −4β of L_RAFT — is false: here with α = β = 1 and any unit vector e. *)
Theorem raft_no_collapse_fails (E : InnerSpace) (X : Type) (x : X) (e : E) :
  is_unit e ->
  ~ (forall (f : X -> E) (p : E -> E), (forall x', f x' = e) ->
     - 4 * 1 < raft 1 1 (p (f x)) (p (f x)) (f x) (f x)).
Proof.
  intros U H.
  specialize (H (fun _ => e) vneg (fun _ => eq_refl)); cbv beta in H.
  rewrite (raft_collapsed_configuration_attains_minus_4beta E X (fun _ => e) e 1 1
             (fun _ => eq_refl) U x x) in H.
  lra.
Qed.

(** At the EMA fixed point without a predictor (t = p) L_RAFT = α‖p1 − p2‖² ≥ 0: the infimum
    there is 0, as the checker's other case says. *)
Theorem raft_at_fixed_point_without_predictor (E : InnerSpace) (a b : R) (p1 p2 : E) :
  raft a b p1 p2 p1 p2 = a * sqd p1 p2.
Proof. unfold raft; expand; field. Qed.
