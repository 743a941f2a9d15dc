(** Appendix H, eqs. 67–68 (claim appH-sylvester): Wθ = θC has a non-zero solution θ if and
    only if W and C share an eigenvalue, for square W (m×m) and C (n×n) over any algebraically
    closed field (ℂ among them), by Cayley–Hamilton: if Wθ = θC then p(W)θ = θp(C) for every
    polynomial p; with p the characteristic polynomial of C, p(W)θ = 0, so p(W) = Π(W − μI) is
    singular and some root μ of p is an eigenvalue of W. Conversely an eigenvector v of W and a
    left eigenvector u of C for the same eigenvalue give θ = vu ≠ 0. mathcomp's eigenvalues
    are those of row vectors, v·g = a·v. *)

From mathcomp Require Import all_ssreflect all_algebra.
Set Implicit Arguments.
Unset Strict Implicit.
Unset Printing Implicit Defensive.
Import GRing.Theory.
Local Open Scope ring_scope.

Section Sylvester.
Variable F : closedFieldType.
Implicit Types m n : nat.

Lemma eigenvalue_det n (g : 'M[F]_n) a : eigenvalue g a = (\det (g - a%:M) == 0).
Proof.
by rewrite /eigenvalue /eigenspace kermx_eq0 row_free_unit unitmxE unitfE negbK.
Qed.

Lemma eigenvalue_tr n (g : 'M[F]_n) a : eigenvalue g^T a = eigenvalue g a.
Proof. by rewrite !eigenvalue_det -det_tr linearB /= tr_scalar_mx trmxK. Qed.

Lemma intertwine_horner m n (W : 'M[F]_m.+1) (C : 'M[F]_n.+1) (th : 'M[F]_(m.+1, n.+1)) :
  W *m th = th *m C -> forall p, horner_mx W p *m th = th *m horner_mx C p.
Proof.
move=> WC; elim/poly_ind => [|p c IH]; first by rewrite !rmorph0 mul0mx mulmx0.
rewrite !rmorphD !rmorphM /= !horner_mx_X !horner_mx_C -!mulmxE.
rewrite !mulmxDl !mulmxDr -mulmxA WC mulmxA IH -!mulmxA.
by rewrite mul_scalar_mx mul_mx_scalar.
Qed.

Theorem sylvester_solution_implies_shared_eigenvalue m n (W : 'M[F]_m.+1) (C : 'M[F]_n.+1)
  (th : 'M[F]_(m.+1, n.+1)) :
  th != 0 -> W *m th = th *m C -> exists a, eigenvalue W a && eigenvalue C a.
Proof.
move=> th_nz WC.
have [r Hr] := closed_field_poly_normal (char_poly C).
move: Hr; rewrite (monicP (char_poly_monic C)) scale1r => Hr.
have HW : horner_mx W (char_poly C) *m th = 0.
  by rewrite (intertwine_horner WC) Cayley_Hamilton mulmx0.
have Hdet : \det (horner_mx W (char_poly C)) = 0.
  apply/eqP; apply: contraNT th_nz => det_nz.
  have unit_h : horner_mx W (char_poly C) \in unitmx by rewrite unitmxE unitfE.
  by rewrite -(mulKmx unit_h th) HW mulmx0.
move: Hdet; rewrite Hr rmorph_prod /=.
rewrite (big_morph _ (@det_mulmx _ _) (@det1 _ _)) => /eqP.
rewrite prodf_seq_eq0 => /hasP [z z_in /andP [_ det_z]].
exists z; apply/andP; split.
  by rewrite eigenvalue_det -(horner_mx_X W) -(horner_mx_C W) -rmorphB.
by rewrite eigenvalue_root_char Hr root_prod_XsubC.
Qed.

Lemma row_nonzero_entry k (v : 'rV[F]_k) : v != 0 -> exists i, v 0 i != 0.
Proof.
case: (pickP (fun i => v 0 i != 0)) => [i vi _ | all0 v_nz]; first by exists i.
exfalso; move/eqP: v_nz; apply; apply/matrixP => r i; rewrite ord1 !mxE.
by apply/eqP; move: (all0 i) => /negbFE.
Qed.

Lemma outer_product_nonzero m n (v : 'rV[F]_m) (u : 'rV[F]_n) :
  v != 0 -> u != 0 -> v^T *m u != 0.
Proof.
move=> /row_nonzero_entry [i vi] /row_nonzero_entry [j uj].
apply/negP => /eqP /matrixP /(_ i j); rewrite !mxE big_ord1 !mxE => /eqP.
by rewrite mulf_eq0 (negbTE vi) (negbTE uj).
Qed.

Theorem shared_eigenvalue_gives_sylvester_solution m n (W : 'M[F]_m.+1) (C : 'M[F]_n.+1) a :
  eigenvalue W a -> eigenvalue C a -> exists th : 'M[F]_(m.+1, n.+1), th != 0 /\ W *m th = th *m C.
Proof.
rewrite -eigenvalue_tr => /eigenvalueP [v vW v_nz] /eigenvalueP [u uC u_nz].
exists (v^T *m u); split; first exact: outer_product_nonzero.
rewrite mulmxA -[W]trmxK -trmx_mul vW -mulmxA uC.
by rewrite linearZ /= -scalemxAl -scalemxAr.
Qed.

Theorem sylvester_criterion m n (W : 'M[F]_m.+1) (C : 'M[F]_n.+1) :
  (exists th : 'M[F]_(m.+1, n.+1), th != 0 /\ W *m th = th *m C)
  <-> (exists a, eigenvalue W a /\ eigenvalue C a).
Proof.
split.
  move=> [th [th_nz WC]].
  have [a /andP [Wa Ca]] := sylvester_solution_implies_shared_eigenvalue th_nz WC.
  by exists a.
by move=> [a [Wa Ca]]; exact: shared_eigenvalue_gives_sylvester_solution Wa Ca.
Qed.

End Sylvester.

(** For real W and C (any field K embedded in an algebraically closed F, R in ℂ): a non-zero θ
    over K exists iff W and C share an eigenvalue in F. The solutions are the kernel of the
    linear map θ ↦ Wθ − θC; its matrix over F is the image of its matrix over K, and a rank
    does not change under a field embedding. *)
Section Operator.
Variables (R : fieldType) (m n : nat) (A : 'M[R]_m) (B : 'M[R]_n).

Definition sylvester_map (th : 'M[R]_(m, n)) : 'M[R]_(m, n) := A *m th - th *m B.

Fact sylvester_map_is_linear : linear sylvester_map.
Proof.
move=> a X Y; rewrite /sylvester_map mulmxDr mulmxDl -scalemxAr -scalemxAl.
by rewrite scalerBr addrACA opprD.
Qed.
Canonical sylvester_map_linear := Linear sylvester_map_is_linear.

Lemma solution_iff_rank_deficient :
  (exists th : 'M[R]_(m, n), th != 0 /\ A *m th = th *m B)
  <-> (\rank (lin_mx sylvester_map) < m * n)%N.
Proof.
split.
  move=> [th [th_nz eq]].
  have ker : (mxvec th <= kermx (lin_mx sylvester_map))%MS.
    by rewrite sub_kermx mul_vec_lin /= /sylvester_map eq subrr linear0.
  have : kermx (lin_mx sylvester_map) != 0.
    apply: contraNneq th_nz => K0; move: ker; rewrite K0 submx0 mxvec_eq0 => /eqP //.
  rewrite -mxrank_eq0 mxrank_ker -lt0n subn_gt0 //.
move=> rank_lt.
have : kermx (lin_mx sylvester_map) != 0.
  by rewrite -mxrank_eq0 mxrank_ker -lt0n subn_gt0.
case/rowV0Pn => v v_ker v_nz; exists (vec_mx v); split; first by rewrite vec_mx_eq0.
move: v_ker; rewrite sub_kermx mul_rV_lin /= mxvec_eq0 /sylvester_map subr_eq0 => /eqP //.
Qed.
End Operator.

Theorem sylvester_criterion_over_subfield (K : fieldType) (F : closedFieldType)
  (f : {rmorphism K -> F}) m n (W : 'M[K]_m.+1) (C : 'M[K]_n.+1) :
  (exists th : 'M[K]_(m.+1, n.+1), th != 0 /\ W *m th = th *m C)
  <-> (exists a : F, eigenvalue (map_mx f W) a /\ eigenvalue (map_mx f C) a).
Proof.
rewrite -sylvester_criterion !solution_iff_rank_deficient.
have -> : (lin_mx (sylvester_map (map_mx f W) (map_mx f C)))
          = map_mx f (lin_mx (sylvester_map W C)).
  by symmetry; apply: map_lin_mx => th; rewrite /sylvester_map map_mxB !map_mxM.
by rewrite mxrank_map.
Qed.

(** appH-stationary and appH-joint, over any field (the reals are one). The gradients of eq. 57
    at ξ = θ with respect to θ and W are, by eqs. 62–63, multiples of Wᵀ(WθA − θB) and
    (WθA − θB)θᵀ: both vanish when Wθ = θBA⁻¹. *)
Section Stationary.
Variable K : fieldType.

Theorem sylvester_solutions_are_stationary m n (W : 'M[K]_m) (th : 'M[K]_(m, n)) (A B : 'M[K]_n) :
  A \in unitmx -> W *m th = th *m (B *m invmx A) ->
  W^T *m (W *m th *m A - th *m B) = 0 /\ (W *m th *m A - th *m B) *m th^T = 0.
Proof.
move=> A_unit WC.
have -> : W *m th *m A - th *m B = 0 by rewrite WC -mulmxA mulmxKV // subrr.
by rewrite mulmx0 mul0mx.
Qed.

(** With W trained too: for every invertible S and every scalar c ≠ 0, θ = cS ≠ 0 and
    W = S(BA⁻¹)S⁻¹ solve Wθ = θBA⁻¹, so they are stationary points; distinct c give distinct
    θ, so over an infinite field (the reals) the family is infinite. *)
Theorem joint_stationary_family n (A B S : 'M[K]_n.+1) (c : K) :
  S \in unitmx -> c != 0 ->
  c *: S != 0 /\ (S *m (B *m invmx A) *m invmx S) *m (c *: S) = (c *: S) *m (B *m invmx A).
Proof.
move=> S_unit c_nz; split.
  rewrite scaler_eq0 negb_or c_nz /=; apply: contraTneq S_unit => ->.
  by rewrite unitmxE det0 unitr0.
by rewrite -!scalemxAr mulmxKV // scalemxAl.
Qed.

Lemma joint_family_is_injective n (S : 'M[K]_n.+1) :
  S \in unitmx -> injective (fun c : K => c *: S).
Proof.
move=> S_unit c1 c2 /= /eqP; rewrite -subr_eq0 -scalerBl scaler_eq0 => /orP [|/eqP S0].
  by rewrite subr_eq0 => /eqP.
by move: S_unit; rewrite S0 unitmxE det0 unitr0.
Qed.

End Stationary.
