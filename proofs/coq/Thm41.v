(** Theorem 4.1 and its variants (Appendix F): claims thm4.1, thm4.1-symsym, the repaired
    constant of thm4.1-sym, the exact counterexample to thm4.1-sym, and thm4.1-sym-exchangeable.

    Every statement holds in every real inner-product space (so in R^n for every n, unit
    vectors or not), for all weights α, β > 0. Each proof exhibits the sum of squares that the
    checker's sympy certificate names (theory/thm41.py) and verifies it by [field]. *)

From Coq Require Import Reals Lra.
From RaftVerify Require Import InnerSpace.
Open Scope R_scope.

(** L_BYOL' with the cross-model term on the second view only (eq. 7 as eq. 13 uses it), and
    with the symmetrised cross-model term of Definition 4.2 (Algorithm 1). *)
Definition byol_prime_one_view {E : InnerSpace} (a b : R) (p1 p2 t2 : E) : R :=
  a * sqd p1 p2 + b * sqd p2 t2.
Definition byol_prime {E : InnerSpace} (a b : R) (p1 p2 t1 t2 : E) : R :=
  a * sqd p1 p2 + b * ((sqd p1 t1 + sqd p2 t2) / 2).

Lemma div_nonneg (x y : R) : 0 <= x -> 0 < y -> 0 <= x / y.
Proof. intros; unfold Rdiv; apply Rle_mult_inv_pos; assumption. Qed.

(** The slack of eq. 8 is ‖α(p1 − p2) − β(p2 − t2)‖²/(αβ) (eq. 13 with λ = β/α). *)
Lemma thm41_slack_is_a_square (E : InnerSpace) (a b : R) (p1 p2 t2 : E) :
  0 < a -> 0 < b ->
  (1 / a + 1 / b) * byol_prime_one_view a b p1 p2 t2 - sqd p1 t2
  = ip (vsub (vscale a (vsub p1 p2)) (vscale b (vsub p2 t2)))
       (vsub (vscale a (vsub p1 p2)) (vscale b (vsub p2 t2))) / (a * b).
Proof.
  intros Ha Hb; unfold byol_prime_one_view; expand.
  rewrite (ip_sym E p2 p1), (ip_sym E t2 p1), (ip_sym E t2 p2).
  field; lra.
Qed.

(** thm4.1 (eq. 8): L_BYOL ≤ (1/α + 1/β)·L_BYOL', cross-model term on the second view. *)
Theorem thm41_byol_bounded_by_byol_prime (E : InnerSpace) (a b : R) (p1 p2 t2 : E) :
  0 < a -> 0 < b ->
  sqd p1 t2 <= (1 / a + 1 / b) * byol_prime_one_view a b p1 p2 t2.
Proof.
  intros Ha Hb.
  pose proof (thm41_slack_is_a_square E a b p1 p2 t2 Ha Hb) as Hslack.
  pose proof (div_nonneg _ (a * b) (ip_pos E (vsub (vscale a (vsub p1 p2)) (vscale b (vsub p2 t2))))) as H.
  assert (0 < a * b) by nra. lra.
Qed.

(** thm4.1 in every R^n, the inner product a finite sum. *)
Corollary thm41_in_Rn (n : nat) (a b : R) (p1 p2 t2 : nat -> R) :
  0 < a -> 0 < b ->
  sqd (E := Rn n) p1 t2 <= (1 / a + 1 / b) * byol_prime_one_view (E := Rn n) a b p1 p2 t2.
Proof. apply thm41_byol_bounded_by_byol_prime. Qed.

(** thm4.1 in the normalised per-sample form the checker decides: each distance is
    2 − 2⟨p, t⟩/(‖p‖‖t‖), for every non-zero p1, p2, t2. *)
Theorem thm41_normalised (E : InnerSpace) (a b : R) (p1 p2 t2 : E) :
  0 < a -> 0 < b -> 0 < ip p1 p1 -> 0 < ip p2 p2 -> 0 < ip t2 t2 ->
  cosine_distance p1 t2
  <= (1 / a + 1 / b) * (a * cosine_distance p1 p2 + b * cosine_distance p2 t2).
Proof.
  intros Ha Hb H1 H2 H3.
  rewrite <- !sqd_normalize by assumption.
  apply thm41_byol_bounded_by_byol_prime; assumption.
Qed.

(** thm4.1-symsym: ½(‖p1 − t2‖² + ‖p2 − t1‖²) ≤ (1/α + 1/β)·L_BYOL' (symmetrised). *)
Theorem thm41_symsym_symmetric_byol_bounded (E : InnerSpace) (a b : R) (p1 p2 t1 t2 : E) :
  0 < a -> 0 < b ->
  (sqd p1 t2 + sqd p2 t1) / 2 <= (1 / a + 1 / b) * byol_prime a b p1 p2 t1 t2.
Proof.
  intros Ha Hb.
  pose proof (thm41_byol_bounded_by_byol_prime E a b p1 p2 t2 Ha Hb) as H1.
  pose proof (thm41_byol_bounded_by_byol_prime E a b p2 p1 t1 Ha Hb) as H2.
  unfold byol_prime_one_view, byol_prime in *; rewrite (sqd_sym p2 p1) in H2.
  set (c := 1 / a + 1 / b) in *; lra.
Qed.

(** The repaired constant of the symmetrised form: L_BYOL ≤ (1/α + 2/β)·L_BYOL', its slack
    ‖2α(p1 − p2) − β(p2 − t2)‖²/(2αβ) + (1 + β/(2α))‖p1 − t1‖². *)
Lemma thm41_sym_repaired_slack (E : InnerSpace) (a b : R) (p1 p2 t1 t2 : E) :
  0 < a -> 0 < b ->
  (1 / a + 2 / b) * byol_prime a b p1 p2 t1 t2 - sqd p1 t2
  = ip (vsub (vscale (2 * a) (vsub p1 p2)) (vscale b (vsub p2 t2)))
       (vsub (vscale (2 * a) (vsub p1 p2)) (vscale b (vsub p2 t2))) / (2 * a * b)
    + (1 + b / (2 * a)) * sqd p1 t1.
Proof.
  intros Ha Hb; unfold byol_prime; expand.
  rewrite (ip_sym E p2 p1), (ip_sym E t2 p1), (ip_sym E t2 p2), (ip_sym E t1 p1).
  field; lra.
Qed.

Theorem thm41_sym_holds_with_constant_1_over_alpha_plus_2_over_beta
  (E : InnerSpace) (a b : R) (p1 p2 t1 t2 : E) :
  0 < a -> 0 < b ->
  sqd p1 t2 <= (1 / a + 2 / b) * byol_prime a b p1 p2 t1 t2.
Proof.
  intros Ha Hb.
  pose proof (thm41_sym_repaired_slack E a b p1 p2 t1 t2 Ha Hb) as Hslack.
  pose proof (div_nonneg _ (2 * a * b)
    (ip_pos E (vsub (vscale (2 * a) (vsub p1 p2)) (vscale b (vsub p2 t2))))) as H.
  assert (0 < 2 * a * b) by nra.
  assert (0 <= (1 + b / (2 * a)) * sqd p1 t1).
  { apply Rmult_le_pos; [| apply sqd_nonneg].
    pose proof (div_nonneg b (2 * a)); lra. }
  lra.
Qed.

(** Hence LHS/RHS of thm4.1-sym never exceeds (2α + β)/(α + β) < 2: the repaired constant is
    that factor times the claimed one. *)
Corollary thm41_sym_ratio_at_most_2a_plus_b_over_a_plus_b
  (E : InnerSpace) (a b : R) (p1 p2 t1 t2 : E) :
  0 < a -> 0 < b ->
  sqd p1 t2 <= (2 * a + b) / (a + b) * ((1 / a + 1 / b) * byol_prime a b p1 p2 t1 t2).
Proof.
  intros Ha Hb.
  replace ((2 * a + b) / (a + b) * ((1 / a + 1 / b) * byol_prime a b p1 p2 t1 t2))
    with ((1 / a + 2 / b) * byol_prime a b p1 p2 t1 t2) by (field; lra).
  apply thm41_sym_holds_with_constant_1_over_alpha_plus_2_over_beta; assumption.
Qed.

(** ¬thm4.1-sym: the checker's exact counterexample (proofs/test_thm41.py replays it) in R²,
    α = β = 1, p1 = t1 = (0, 1), p2 = (3/5, 4/5), t2 = (1, 0): L_BYOL = 2 > 8/5. *)
Definition v2 (x y : R) : nat -> R := fun i => match i with 0%nat => x | 1%nat => y | _ => 0 end.

Lemma thm41_sym_counterexample_values :
  let p1 := v2 0 1 in let p2 := v2 (3/5) (4/5) in let t1 := v2 0 1 in let t2 := v2 1 0 in
  is_unit (E := Rn 2) p1 /\ is_unit (E := Rn 2) p2 /\ is_unit (E := Rn 2) t1
  /\ is_unit (E := Rn 2) t2
  /\ sqd (E := Rn 2) p1 t2 = 2
  /\ (1 / 1 + 1 / 1) * byol_prime (E := Rn 2) 1 1 p1 p2 t1 t2 = 8 / 5.
Proof.
  cbv zeta; unfold is_unit, byol_prime, sqd, vsub, vneg, v2; simpl.
  repeat split; field.
Qed.

Theorem thm41_sym_fails :
  ~ (forall (a b : R) (p1 p2 t1 t2 : Rn 2),
     0 < a -> 0 < b -> is_unit p1 -> is_unit p2 -> is_unit t1 -> is_unit t2 ->
     sqd p1 t2 <= (1 / a + 1 / b) * byol_prime a b p1 p2 t1 t2).
Proof.
  intro H.
  destruct thm41_sym_counterexample_values as (U1 & U2 & U3 & U4 & L & R).
  specialize (H 1 1 (v2 0 1) (v2 (3/5) (4/5)) (v2 0 1) (v2 1 0)).
  rewrite L, R in H.
  assert (2 <= 8 / 5) by (apply H; assumption || lra). lra.
Qed.

(** thm4.1-sym-exchangeable: the symmetrised bound holds for expectations. For any
    expectation [Ex] over samples ω (linear, positive, blind to how a function is written) whose
    law is invariant under swapping the two views (p1, t1) ↔ (p2, t2):
    E‖p1 − t2‖² ≤ (1/α + 1/β)·E[L_BYOL'] with the symmetrised cross-model term. *)
Theorem thm41_sym_exchangeable_expectation_bound
  (E : InnerSpace) (Omega : Type) (Ex : (Omega -> R) -> R) (swap : Omega -> Omega)
  (P1 P2 T1 T2 : Omega -> E) (a b : R) :
  (forall f g, Ex (fun w => f w + g w) = Ex f + Ex g) ->
  (forall c f, Ex (fun w => c * f w) = c * Ex f) ->
  (forall f, (forall w, 0 <= f w) -> 0 <= Ex f) ->
  (forall f g, (forall w, f w = g w) -> Ex f = Ex g) ->
  (forall f, Ex (fun w => f (swap w)) = Ex f) ->
  (forall w, P1 (swap w) = P2 w /\ P2 (swap w) = P1 w /\ T1 (swap w) = T2 w /\ T2 (swap w) = T1 w) ->
  0 < a -> 0 < b ->
  Ex (fun w => sqd (P1 w) (T2 w))
  <= (1 / a + 1 / b) * Ex (fun w => byol_prime a b (P1 w) (P2 w) (T1 w) (T2 w)).
Proof.
  intros Hadd Hscale Hpos Hext Hswap Hviews Ha Hb.
  set (G := fun w => sqd (P1 w) (T2 w)).
  set (H := fun w => sqd (P2 w) (T1 w)).
  set (F := fun w => byol_prime a b (P1 w) (P2 w) (T1 w) (T2 w)).
  assert (Exchange : Ex G = Ex H).
  { rewrite <- (Hswap G); apply Hext; intro w; unfold G, H.
    destruct (Hviews w) as (A & _ & _ & D); rewrite A, D; reflexivity. }
  assert (Gap : 0 <= Ex (fun w => (1 / a + 1 / b) * F w + (-1 / 2) * (G w + H w))).
  { apply Hpos; intro w; unfold F, G, H.
    pose proof (thm41_symsym_symmetric_byol_bounded E a b (P1 w) (P2 w) (T1 w) (T2 w) Ha Hb).
    lra. }
  rewrite (Hadd (fun w => (1 / a + 1 / b) * F w) (fun w => (-1 / 2) * (G w + H w))) in Gap.
  rewrite (Hscale (1 / a + 1 / b) F), (Hscale (-1 / 2) (fun w => G w + H w)), (Hadd G H) in Gap.
  fold G F. lra.
Qed.
