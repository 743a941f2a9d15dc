(** Appendix H (the linear model f_θ = θ, q = W): claim appH-derivation, which fails.

    Eqs. 65–66, Wᵀ(WθA − θB) = 0 and (WθA − θB)θᵀ = 0, do not imply eq. 67, Wθ − θBA⁻¹ = 0,
    for an invertible A: the checker's exact 2×2 counterexample W = 0, θ = [[0, 0], [0, 1]],
    A = I, B = [[0, 0], [1, 0]], checked here with real 2×2 matrices. *)

From Coq Require Import Reals Lra.
Open Scope R_scope.

Record M2 := mat { m11 : R; m12 : R; m21 : R; m22 : R }.

Definition mul (X Y : M2) : M2 :=
  mat (m11 X * m11 Y + m12 X * m21 Y) (m11 X * m12 Y + m12 X * m22 Y)
      (m21 X * m11 Y + m22 X * m21 Y) (m21 X * m12 Y + m22 X * m22 Y).
Definition sub (X Y : M2) : M2 := mat (m11 X - m11 Y) (m12 X - m12 Y) (m21 X - m21 Y) (m22 X - m22 Y).
Definition tr (X : M2) : M2 := mat (m11 X) (m21 X) (m12 X) (m22 X).
Definition I2 : M2 := mat 1 0 0 1.
Definition Z2 : M2 := mat 0 0 0 0.

(** WθA − θB, the factor of both stationarity equations (eqs. 62–63 at ξ = θ). *)
Definition residual (W th A B : M2) : M2 := sub (mul (mul W th) A) (mul th B).

Lemma appH_derivation_counterexample_values :
  let W := Z2 in let th := mat 0 0 0 1 in let A := I2 in let B := mat 0 0 1 0 in
  mul (tr W) (residual W th A B) = Z2 /\ mul (residual W th A B) (tr th) = Z2
  /\ sub (mul W th) (mul th (mul B I2)) = mat 0 0 (-1) 0.
Proof.
  cbv zeta; unfold residual, mul, sub, tr, Z2, I2; simpl.
  repeat split; f_equal; ring.
Qed.

Theorem appH_derivation_fails :
  ~ (forall W th A B Ainv : M2,
     mul A Ainv = I2 -> mul Ainv A = I2 ->
     mul (tr W) (residual W th A B) = Z2 -> mul (residual W th A B) (tr th) = Z2 ->
     sub (mul W th) (mul th (mul B Ainv)) = Z2).
Proof.
  intro H.
  destruct appH_derivation_counterexample_values as (E65 & E66 & E67).
  assert (HI : mul I2 I2 = I2) by (unfold mul, I2; simpl; f_equal; ring).
  pose proof (H Z2 (mat 0 0 0 1) I2 (mat 0 0 1 0) I2 HI HI E65 E66) as C.
  rewrite E67 in C. apply (f_equal m21) in C; simpl in C. lra.
Qed.
