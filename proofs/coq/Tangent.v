(** The Remark after Theorem 5.1 (claims tangent-remark and tangent-noop).

    With λ = sg⟨z, z̄⟩ held constant (the stop-gradient), the gradient in z of the Remark's
    form ‖z̄ − λz‖²/λ is 2λz − 2z̄, and the gradient of ‖z̄ − z‖² is 2z − 2z̄: each is
    characterised by an exact second-order expansion f(z + h) = f(z) + ⟨∇f, h⟩ + c‖h‖²
    (quadratics have no other remainder). On the unit sphere the first is the tangential
    component (I − zzᵀ)∇ of the second (tangent-remark), so the two have the same component in
    every tangent direction, which is all that a gradient through the l2-normalisation sees
    (tangent-noop). Vector equalities are stated against every test vector u:
    ⟨g, u⟩ = ⟨g', u⟩ for all u. *)

From Coq Require Import Reals Lra.
From RaftVerify Require Import InnerSpace.
Open Scope R_scope.

Section Remark.
Variable E : InnerSpace.

Definition tangential_form (zbar : E) (lam : R) (z : E) : R := sqd zbar (vscale lam z) / lam.
Definition plain_form (zbar z : E) : R := sqd zbar z.
Definition grad_tangential_form (zbar : E) (lam : R) (z : E) : E :=
  vadd (vscale (2 * lam) z) (vscale (-2) zbar).
Definition grad_plain_form (zbar z : E) : E := vadd (vscale 2 z) (vscale (-2) zbar).
(** (I − zzᵀ)g: the tangential component of g at z. *)
Definition tangential (z g : E) : E := vsub g (vscale (ip g z) z).

Lemma tangential_form_expansion (zbar z h : E) (lam : R) :
  lam <> 0 ->
  tangential_form zbar lam (vadd z h)
  = tangential_form zbar lam z + ip (grad_tangential_form zbar lam z) h + lam * ip h h.
Proof.
  intro Hl; unfold tangential_form, grad_tangential_form; expand.
  rewrite (ip_sym E z zbar), (ip_sym E h zbar), (ip_sym E h z).
  field; assumption.
Qed.

Lemma plain_form_expansion (zbar z h : E) :
  plain_form zbar (vadd z h) = plain_form zbar z + ip (grad_plain_form zbar z) h + ip h h.
Proof.
  unfold plain_form, grad_plain_form; expand.
  rewrite (ip_sym E z zbar), (ip_sym E h zbar), (ip_sym E h z).
  ring.
Qed.

(** tangent-remark: at a unit z with λ = ⟨z, z̄⟩, ∇_z ‖z̄ − λz‖²/λ = (I − zzᵀ)∇_z ‖z̄ − z‖². *)
Theorem tangent_remark_gradient_is_tangential_component (zbar z : E) (lam : R) :
  is_unit z -> lam = ip z zbar ->
  forall u, ip (grad_tangential_form zbar lam z) u
            = ip (tangential z (grad_plain_form zbar z)) u.
Proof.
  unfold is_unit; intros U Hl u; subst lam.
  unfold tangential, grad_tangential_form, grad_plain_form; expand.
  rewrite (ip_sym E zbar z), U; ring.
Qed.

(** tangent-noop: the two gradients agree on every tangent direction (I − zzᵀ)h. The chain
    rule through p ↦ p/‖p‖, whose derivative along h is (I − p̂p̂ᵀ)h/‖p‖, passes only these
    components on, so every parameter gradient is the same with either form. *)
Theorem tangent_noop_same_tangent_components (zbar z : E) (lam : R) :
  is_unit z -> lam = ip z zbar ->
  forall h, ip (grad_tangential_form zbar lam z) (tangential z h)
            = ip (grad_plain_form zbar z) (tangential z h).
Proof.
  unfold is_unit; intros U Hl h; subst lam.
  unfold tangential, grad_tangential_form, grad_plain_form; expand.
  rewrite (ip_sym E zbar z), (ip_sym E h z), U; ring.
Qed.

(** Only the tangent component matters: (I − zzᵀ) is idempotent on the unit sphere. *)
Lemma tangential_is_idempotent (z g : E) :
  is_unit z -> forall u, ip (tangential z (tangential z g)) u = ip (tangential z g) u.
Proof.
  unfold is_unit; intros U u; unfold tangential; expand.
  rewrite U; ring.
Qed.

End Remark.
