(** Theorem 5.1 (Appendix G) and its relatives: thm5.1, thm5.1-adam, thm5.1-no-tangent,
    thm5.1-no-sphere, thm5.1-mlp, byol-dual, byolp-np-frozen.

    The argument has two layers.
    - [Mirror]: for any parameter space with a linear involution M (M negates the predictor's
      output layer and fixes the encoder), any gradient operator obeying the chain rule for M
      and ignoring additive constants, any teacher update blind to M, and any optimiser whose
      update is odd in the gradient with a mirrored state: if L2(M y) = L1(y) + c at every step
      (stop-gradient values taken at the current point), then training L2 from M x0 follows
      M of the trajectory of L1 from x0, step by step (induction).
    - The per-sample identities: with p ↦ −p and λ ↦ −λ, L_RAFT = L_BYOL' exactly in the
      Remark's tangential form (any vectors), and L_RAFT = L_BYOL' − 4β with plain distances on
      the unit sphere; −L_BYOL(−p) = L_BYOL(p) − 4 on the sphere.
    SGD, momentum, weight decay, Adam and AdamW are shown odd in the gradient with a mirrored
    state in the coordinate model (parameters I → R, M a sign flip per coordinate). *)

From Coq Require Import Reals Lra List FunctionalExtensionality.
From RaftVerify Require Import InnerSpace.
Open Scope R_scope.

Section Mirror.
Variables (P T S : Type) (M : P -> P).
Hypothesis M_involutive : forall x, M (M x) = x.
Variable grad : (P -> R) -> P -> P.
Hypothesis grad_constant : forall f c x, grad (fun y => f y + c) x = grad f x.
Hypothesis grad_chain_rule_mirror : forall f x, grad (fun y => f (M y)) x = M (grad f (M x)).
Variable ema : T -> P -> T.
Hypothesis ema_blind_to_mirror : forall t x, ema t (M x) = ema t x.
(** The optimiser: a state (moments, step count), and a step from state, parameters and
    gradient; odd in the gradient with the state mirrored by [SM]. *)
Variables (SM : S -> S) (step : S -> P -> P -> S * P).
Hypothesis step_odd : forall s x g,
  step (SM s) (M x) (M g) = (SM (fst (step s x g)), M (snd (step s x g))).

(** A loss at step k: teacher t, the point x where stop-gradients are evaluated, and the
    differentiated point y. *)
Definition Loss := nat -> T -> P -> P -> R.

Definition gradient_at (L : Loss) (k : nat) (t : T) (x : P) : P := grad (L k t x) x.

Lemma gradients_mirror (L1 L2 : Loss) (K : nat -> T -> P -> R) :
  (forall k t x y, L2 k t (M x) (M y) = L1 k t x y + K k t x) ->
  forall k t x, gradient_at L2 k t (M x) = M (gradient_at L1 k t x).
Proof.
  intros Hloss k t x; unfold gradient_at.
  replace (L2 k t (M x)) with (fun y => L1 k t x (M y) + K k t x).
  - rewrite (grad_constant (fun y => L1 k t x (M y))).
    rewrite (grad_chain_rule_mirror (L1 k t x)). rewrite M_involutive; reflexivity.
  - apply functional_extensionality; intro y.
    rewrite <- (M_involutive y) at 2; rewrite Hloss; reflexivity.
Qed.

(** Training: an optimiser step on the gradient at the current point, then the teacher's
    update from the new online parameters (eq. 5). *)
Fixpoint train (L : Loss) (s0 : S) (x0 : P) (t0 : T) (k : nat) : S * P * T :=
  match k with
  | O => (s0, x0, t0)
  | Datatypes.S j =>
      let '(s, x, t) := train L s0 x0 t0 j in
      let sx := step s x (gradient_at L j t x) in
      (fst sx, snd sx, ema t (snd sx))
  end.

Theorem trajectories_mirror (L1 L2 : Loss) (K : nat -> T -> P -> R) :
  (forall k t x y, L2 k t (M x) (M y) = L1 k t x y + K k t x) ->
  forall s0 x0 t0 k,
  train L2 (SM s0) (M x0) t0 k
  = let '(s, x, t) := train L1 s0 x0 t0 k in (SM s, M x, t).
Proof.
  intros Hloss s0 x0 t0 k; induction k as [| j IH]; simpl; [reflexivity |].
  destruct (train L1 s0 x0 t0 j) as ((s, x), t); rewrite IH.
  rewrite (gradients_mirror L1 L2 K Hloss), step_odd. simpl; rewrite ema_blind_to_mirror; reflexivity.
Qed.

End Mirror.

(** The per-sample identities. λ1, λ2 are the stop-gradient values ⟨p̂i, t̂i⟩ at the current
    point; they enter as constants. *)
Section Identities.
Variable E : InnerSpace.

(** ‖t − λp‖²/λ, the Remark's tangential form of the cross-model term. *)
Definition tan_cross (p t : E) (lam : R) : R := sqd t (vscale lam p) / lam.

Definition byol_prime_tan (a b : R) (p1 p2 t1 t2 : E) (l1 l2 : R) : R :=
  a * sqd p1 p2 + b * ((tan_cross p1 t1 l1 + tan_cross p2 t2 l2) / 2).
Definition raft_tan (a b : R) (p1 p2 t1 t2 : E) (l1 l2 : R) : R :=
  a * sqd p1 p2 - b * ((tan_cross p1 t1 l1 + tan_cross p2 t2 l2) / 2).
Definition byol_prime_plain (a b : R) (p1 p2 t1 t2 : E) : R :=
  a * sqd p1 p2 + b * ((sqd p1 t1 + sqd p2 t2) / 2).
Definition raft_plain (a b : R) (p1 p2 t1 t2 : E) : R :=
  a * sqd p1 p2 - b * ((sqd p1 t1 + sqd p2 t2) / 2).

Lemma stop_gradient_value_mirrors (p t : E) : ip (vneg p) t = - ip p t.
Proof. unfold vneg; rewrite ip_scale_l; ring. Qed.

(** Tangential form (thm5.1, thm5.1-no-sphere): exact for any vectors and any λ. *)
Theorem raft_tan_mirrors_byol_prime_tan (a b : R) (p1 p2 t1 t2 : E) (l1 l2 : R) :
  raft_tan a b (vneg p1) (vneg p2) t1 t2 (- l1) (- l2) = byol_prime_tan a b p1 p2 t1 t2 l1 l2.
Proof.
  unfold raft_tan, byol_prime_tan, tan_cross, Rdiv; expand.
  rewrite !Rinv_opp; ring.
Qed.

(** Plain distances on the unit sphere (thm5.1-no-tangent, thm5.1-mlp): a constant −4β apart. *)
Theorem raft_plain_mirrors_byol_prime_plain (a b : R) (p1 p2 t1 t2 : E) :
  is_unit p1 -> is_unit p2 -> is_unit t1 -> is_unit t2 ->
  raft_plain a b (vneg p1) (vneg p2) t1 t2 = byol_prime_plain a b p1 p2 t1 t2 - 4 * b.
Proof.
  unfold is_unit, raft_plain, byol_prime_plain; intros U1 U2 U3 U4; expand.
  rewrite U1, U2, U3, U4; field.
Qed.

(** byol-dual: run-away BYOL, −‖p̂1 − t̂2‖², at −p is plain BYOL at p less 4. *)
Theorem run_away_byol_mirrors_byol (p1 t2 : E) :
  is_unit p1 -> is_unit t2 -> - sqd (vneg p1) t2 = sqd p1 t2 - 4.
Proof. unfold is_unit; intros U1 U2; expand; rewrite U1, U2; ring. Qed.

(** byolp-np-frozen: RAFT with its predictor frozen at −I sees −p. *)
Theorem frozen_minus_identity_raft_is_byol_prime (a b : R) (p1 p2 t1 t2 : E) (l1 l2 : R) :
  raft_tan a b (vneg p1) (vneg p2) t1 t2 (ip (vneg p1) t1) (ip (vneg p2) t2)
  = byol_prime_tan a b p1 p2 t1 t2 (ip p1 t1) (ip p2 t2).
Proof. rewrite !stop_gradient_value_mirrors; apply raft_tan_mirrors_byol_prime_tan. Qed.

End Identities.

(** Batch losses: the mean over a batch of pairs of views (x1, x2) of a per-sample loss of the
    online outputs [rep1 y xi] (normalised or not: [rep1] is any function of the parameters),
    the teacher outputs [teach t xi], and the stop-gradient values λi = ⟨rep1 x xi, teach t xi⟩
    at the current point x. *)
Section Batches.
Variables (E : InnerSpace) (X P T : Type).

Definition batch_mean (f : X -> X -> R) (l : list (X * X)) : R :=
  fold_right (fun xx acc => f (fst xx) (snd xx) + acc) 0 l / INR (length l).

Lemma batch_mean_shift (f g : X -> X -> R) (c : R) (l : list (X * X)) :
  (forall x1 x2, f x1 x2 = g x1 x2 + c) -> batch_mean f l = batch_mean g l + batch_mean (fun _ _ => c) l.
Proof.
  intro H; unfold batch_mean, Rdiv; rewrite <- Rmult_plus_distr_r; f_equal.
  induction l as [| xx l IH]; simpl; [ring | rewrite H, IH; ring].
Qed.

Variables (rep : P -> X -> E) (teach : T -> X -> E) (batch : nat -> list (X * X)) (a b : R).

Definition lam (t : T) (x : P) (xi : X) : R := ip (rep x xi) (teach t xi).

Definition byol_prime_tan_loss : Loss P T := fun k t x y =>
  batch_mean (fun x1 x2 => byol_prime_tan E a b (rep y x1) (rep y x2) (teach t x1) (teach t x2)
                             (lam t x x1) (lam t x x2)) (batch k).
Definition raft_tan_loss : Loss P T := fun k t x y =>
  batch_mean (fun x1 x2 => raft_tan E a b (rep y x1) (rep y x2) (teach t x1) (teach t x2)
                             (lam t x x1) (lam t x x2)) (batch k).
Definition byol_prime_plain_loss : Loss P T := fun k t x y =>
  batch_mean (fun x1 x2 => byol_prime_plain E a b (rep y x1) (rep y x2) (teach t x1) (teach t x2))
             (batch k).
Definition raft_plain_loss : Loss P T := fun k t x y =>
  batch_mean (fun x1 x2 => raft_plain E a b (rep y x1) (rep y x2) (teach t x1) (teach t x2))
             (batch k).
(** BYOL symmetrised as trained, ½(‖p1 − t2‖² + ‖p2 − t1‖²), and its run-away twin. *)
Definition byol_loss : Loss P T := fun k t x y =>
  batch_mean (fun x1 x2 => (sqd (rep y x1) (teach t x2) + sqd (rep y x2) (teach t x1)) / 2) (batch k).
Definition run_away_byol_loss : Loss P T := fun k t x y =>
  batch_mean (fun x1 x2 => - ((sqd (rep y x1) (teach t x2) + sqd (rep y x2) (teach t x1)) / 2))
             (batch k).
End Batches.

Arguments lam {E X P T} rep teach t x xi.

(** The mirror identities of the batch losses, for two output maps with
    rep2 (M y) x = −rep1 y x: the same map with the predictor's output negated (M negates it),
    or RAFT's frozen predictor −I against no predictor (M the identity). *)
Section LossMirrors.
Variables (E : InnerSpace) (X P T : Type) (M : P -> P).
Variables (rep1 rep2 : P -> X -> E) (teach : T -> X -> E) (batch : nat -> list (X * X)) (a b : R).
Hypothesis outputs_negated : forall y x, rep2 (M y) x = vneg (rep1 y x).

Lemma tangential_losses_mirror : forall k t x y,
  raft_tan_loss E X P T rep2 teach batch a b k t (M x) (M y)
  = byol_prime_tan_loss E X P T rep1 teach batch a b k t x y
    + batch_mean X (fun _ _ => 0) (batch k).
Proof.
  intros k t x y; apply batch_mean_shift; intros x1 x2; unfold lam.
  rewrite !outputs_negated, !stop_gradient_value_mirrors, raft_tan_mirrors_byol_prime_tan; ring.
Qed.

Hypothesis outputs_unit : forall y x, is_unit (rep1 y x).
Hypothesis teacher_unit : forall t x, is_unit (teach t x).

Lemma plain_losses_mirror_on_sphere : forall k t x y,
  raft_plain_loss E X P T rep2 teach batch a b k t (M x) (M y)
  = byol_prime_plain_loss E X P T rep1 teach batch a b k t x y
    + batch_mean X (fun _ _ => - 4 * b) (batch k).
Proof.
  intros k t x y; apply batch_mean_shift; intros x1 x2.
  rewrite !outputs_negated, raft_plain_mirrors_byol_prime_plain by auto; ring.
Qed.

Lemma byol_losses_mirror_on_sphere : forall k t x y,
  run_away_byol_loss E X P T rep2 teach batch k t (M x) (M y)
  = byol_loss E X P T rep1 teach batch k t x y + batch_mean X (fun _ _ => - 4) (batch k).
Proof.
  intros k t x y; apply batch_mean_shift; intros x1 x2.
  rewrite !outputs_negated.
  pose proof (run_away_byol_mirrors_byol E (rep1 y x1) (teach t x2) (outputs_unit _ _) (teacher_unit _ _)).
  pose proof (run_away_byol_mirrors_byol E (rep1 y x2) (teach t x1) (outputs_unit _ _) (teacher_unit _ _)).
  lra.
Qed.
End LossMirrors.

(** The claims: the trajectories of the two objectives correspond at every step k, for every
    encoder and predictor whose output map satisfies the hypotheses, every gradient operator
    obeying the chain rule, every teacher update blind to M and every optimiser odd in the
    gradient with a mirrored state. *)
Section Claims.
Variables (E : InnerSpace) (X P T S : Type) (M : P -> P).
Hypothesis M_involutive : forall x, M (M x) = x.
Variable grad : (P -> R) -> P -> P.
Hypothesis grad_constant : forall f c x, grad (fun y => f y + c) x = grad f x.
Hypothesis grad_chain_rule_mirror : forall f x, grad (fun y => f (M y)) x = M (grad f (M x)).
Variable ema : T -> P -> T.
Hypothesis ema_blind_to_mirror : forall t x, ema t (M x) = ema t x.
Variables (SM : S -> S) (step : S -> P -> P -> S * P).
Hypothesis step_odd : forall s x g,
  step (SM s) (M x) (M g) = (SM (fst (step s x g)), M (snd (step s x g))).
Variables (rep1 rep2 : P -> X -> E) (teach : T -> X -> E) (batch : nat -> list (X * X)) (a b : R).
Hypothesis outputs_negated : forall y x, rep2 (M y) x = vneg (rep1 y x).

Let run L s0 x0 t0 k := train P T S grad ema step L s0 x0 t0 k.

(** thm5.1 (and thm5.1-no-sphere: nothing here needs unit vectors; thm5.1-adam: any odd
    optimiser; thm5.1-mlp with the tangential form: any predictor whose output is negated). *)
Theorem thm51_tangential_trajectories_correspond (s0 : S) (x0 : P) (t0 : T) (k : nat) :
  run (raft_tan_loss E X P T rep2 teach batch a b) (SM s0) (M x0) t0 k
  = let '(s, x, t) := run (byol_prime_tan_loss E X P T rep1 teach batch a b) s0 x0 t0 k in
    (SM s, M x, t).
Proof.
  apply (trajectories_mirror P T S M M_involutive grad grad_constant grad_chain_rule_mirror ema
           ema_blind_to_mirror SM step step_odd _ _ _
           (tangential_losses_mirror E X P T M rep1 rep2 teach batch a b outputs_negated)).
Qed.

Hypothesis outputs_unit : forall y x, is_unit (rep1 y x).
Hypothesis teacher_unit : forall t x, is_unit (teach t x).

(** thm5.1-no-tangent and thm5.1-mlp without the tangential form: on the unit sphere the plain
    objectives differ by the constant −4β, which no gradient sees. *)
Theorem thm51_plain_on_sphere_trajectories_correspond (s0 : S) (x0 : P) (t0 : T) (k : nat) :
  run (raft_plain_loss E X P T rep2 teach batch a b) (SM s0) (M x0) t0 k
  = let '(s, x, t) := run (byol_prime_plain_loss E X P T rep1 teach batch a b) s0 x0 t0 k in
    (SM s, M x, t).
Proof.
  apply (trajectories_mirror P T S M M_involutive grad grad_constant grad_chain_rule_mirror ema
           ema_blind_to_mirror SM step step_odd _ _ _
           (plain_losses_mirror_on_sphere E X P T M rep1 rep2 teach batch a b outputs_negated
              outputs_unit teacher_unit)).
Qed.

(** byol-dual: plain BYOL (symmetrised) from x0 and run-away BYOL from M x0. *)
Theorem byol_dual_trajectories_correspond (s0 : S) (x0 : P) (t0 : T) (k : nat) :
  run (run_away_byol_loss E X P T rep2 teach batch) (SM s0) (M x0) t0 k
  = let '(s, x, t) := run (byol_loss E X P T rep1 teach batch) s0 x0 t0 k in
    (SM s, M x, t).
Proof.
  apply (trajectories_mirror P T S M M_involutive grad grad_constant grad_chain_rule_mirror ema
           ema_blind_to_mirror SM step step_odd _ _ _
           (byol_losses_mirror_on_sphere E X P T M rep1 rep2 teach batch outputs_negated
              outputs_unit teacher_unit)).
Qed.
End Claims.

(** byolp-np-frozen: BYOL' without a predictor and RAFT whose predictor is frozen at −I, from
    the same θ0 (M the identity: there is no trained predictor to negate). *)
Theorem byolp_np_frozen_trajectories_coincide
  (E : InnerSpace) (X P T S : Type) (grad : (P -> R) -> P -> P)
  (grad_constant : forall f c x, grad (fun y => f y + c) x = grad f x)
  (ema : T -> P -> T) (step : S -> P -> P -> S * P)
  (rep : P -> X -> E) (teach : T -> X -> E) (batch : nat -> list (X * X)) (a b : R)
  (s0 : S) (x0 : P) (t0 : T) (k : nat) :
  train P T S grad ema step
    (raft_tan_loss E X P T (fun y x => vneg (rep y x)) teach batch a b) s0 x0 t0 k
  = train P T S grad ema step (byol_prime_tan_loss E X P T rep teach batch a b) s0 x0 t0 k.
Proof.
  pose proof (trajectories_mirror P T S (fun x => x) (fun x => eq_refl) grad grad_constant
                (fun f x => eq_refl) ema (fun t x => eq_refl) (fun s => s) step
                (fun s x g => surjective_pairing (step s x g)) _ _ _
                (tangential_losses_mirror E X P T (fun x => x) rep (fun y x => vneg (rep y x))
                   teach batch a b (fun y x => eq_refl)) s0 x0 t0 k) as H.
  cbv beta in H; rewrite H.
  destruct (train P T S grad ema step (byol_prime_tan_loss E X P T rep teach batch a b) s0 x0 t0 k)
    as ((s, x), t); reflexivity.
Qed.

(** thm5.1-adam: the optimisers the checker runs are odd in the gradient with a mirrored
    state, in coordinates: parameters I → R, M flips the sign of the coordinates where
    sgn i = −1 (the predictor's output layer) and keeps the others. *)
Section Optimisers.
Variables (I : Type) (sgn : I -> R).
Hypothesis sgn_square : forall i, sgn i * sgn i = 1.

Definition mirror (x : I -> R) : I -> R := fun i => sgn i * x i.

Lemma mirror_involutive x : mirror (mirror x) = x.
Proof.
  apply functional_extensionality; intro i; unfold mirror.
  rewrite <- Rmult_assoc, sgn_square; ring.
Qed.

(** SGD with momentum μ and (L2) weight decay wd: plain SGD is μ = wd = 0. *)
Definition sgd (lr mu wd : R) (m x g : I -> R) : (I -> R) * (I -> R) :=
  let m' := fun i => mu * m i + (g i + wd * x i) in (m', fun i => x i - lr * m' i).

Theorem sgd_momentum_weight_decay_odd lr mu wd m x g :
  sgd lr mu wd (mirror m) (mirror x) (mirror g)
  = (mirror (fst (sgd lr mu wd m x g)), mirror (snd (sgd lr mu wd m x g))).
Proof.
  unfold sgd, mirror; simpl; f_equal; apply functional_extensionality; intro i; ring.
Qed.

(** Adam with L2 weight decay wd and AdamW's decoupled decay dwd; state (m, v, n). *)
Definition adam (lr b1 b2 eps wd dwd : R) (state : (I -> R) * (I -> R) * nat) (x g : I -> R)
  : ((I -> R) * (I -> R) * nat) * (I -> R) :=
  let '(m, v, n) := state in
  let g' := fun i => g i + wd * x i in
  let m' := fun i => b1 * m i + (1 - b1) * g' i in
  let v' := fun i => b2 * v i + (1 - b2) * (g' i * g' i) in
  let update := fun i => m' i / (1 - b1 ^ S n) / (sqrt (v' i / (1 - b2 ^ S n)) + eps) in
  ((m', v', S n), fun i => x i - lr * (update i + dwd * x i)).

Definition adam_state_mirror (state : (I -> R) * (I -> R) * nat) : (I -> R) * (I -> R) * nat :=
  let '(m, v, n) := state in (mirror m, v, n).

Theorem adam_odd lr b1 b2 eps wd dwd state x g :
  adam lr b1 b2 eps wd dwd (adam_state_mirror state) (mirror x) (mirror g)
  = (adam_state_mirror (fst (adam lr b1 b2 eps wd dwd state x g)),
     mirror (snd (adam lr b1 b2 eps wd dwd state x g))).
Proof.
  destruct state as ((m, v), n); unfold adam, adam_state_mirror, mirror; simpl.
  assert (Hsq : forall i u, (sgn i * u) * (sgn i * u) = u * u).
  { intros i u; replace ((sgn i * u) * (sgn i * u)) with ((sgn i * sgn i) * (u * u)) by ring.
    rewrite sgn_square; ring. }
  assert (Hv : (fun i => b2 * v i + (1 - b2) * ((sgn i * g i + wd * (sgn i * x i))
                                                * (sgn i * g i + wd * (sgn i * x i))))
             = (fun i => b2 * v i + (1 - b2) * ((g i + wd * x i) * (g i + wd * x i)))).
  { apply functional_extensionality; intro i.
    replace (sgn i * g i + wd * (sgn i * x i)) with (sgn i * (g i + wd * x i)) by ring.
    rewrite Hsq; reflexivity. }
  rewrite Hv; f_equal; [f_equal; f_equal |]; apply functional_extensionality; intro i;
    replace (sgn i * g i + wd * (sgn i * x i)) with (sgn i * (g i + wd * x i)) by ring;
    rewrite ?Hsq; unfold Rdiv; ring.
Qed.
End Optimisers.

(** The hypothesis outputs_negated holds for the paper's outputs in R^n: the l2-normalised
    prediction of a linear predictor, z ↦ Wz/‖Wz‖, with W negated (matrices as functions
    i j ↦ W_ij read on 0 .. n−1; the encoder's output z is anything). *)
Section LinearPredictor.
Variable n : nat.

Definition matvec (W : nat -> nat -> R) (z : nat -> R) : Rn n := fun i => dot n (W i) z.
Definition negate (W : nat -> nat -> R) : nat -> nat -> R := fun i j => - W i j.

Lemma normalize_negated (v : Rn n) : normalize (vneg v) = vneg (normalize v).
Proof.
  unfold normalize, vneg; simpl; apply functional_extensionality; intro i.
  replace (dot n (fun j => -1 * v j) (fun j => -1 * v j)) with (dot n v v); [ring |].
  rewrite (dot_scale_l n (-1) v), (dot_sym n v (fun j => -1 * v j)), (dot_scale_l n (-1) v); ring.
Qed.

Theorem linear_predictor_outputs_negated (W : nat -> nat -> R) (z : nat -> R) :
  normalize (matvec (negate W) z) = vneg (normalize (matvec W z)).
Proof.
  rewrite <- normalize_negated; f_equal.
  unfold matvec, negate, vneg; simpl; apply functional_extensionality; intro i.
  replace (fun j => - W i j) with (fun j => -1 * W i j)
    by (apply functional_extensionality; intro j; ring).
  apply dot_scale_l.
Qed.
End LinearPredictor.

(** thm5.1-linear-only fails: with condition (ii) alone (raw outputs, plain squared
    distances) the correspondence breaks at the first SGD step. A one-dimensional exact case:
    encoder z = θx, predictor p = wz, one pair of views x1 = x2 = 1, teacher output ξ = 1,
    α = β = 1, start θ0 = 1, w0 = 1 for BYOL' and w0 = −1 for RAFT, any learning rate η > 0:
    BYOL' keeps θ1 = 1, RAFT moves to θ1 = 1 + 4η. The gradients are the closed forms below,
    each certified by its exact expansion with a second-order remainder. *)
Section LinearOnly.

Definition byol_prime_raw (xi th w : R) : R :=
  (w * th - w * th) ^ 2 + ((w * th - xi) ^ 2 + (w * th - xi) ^ 2) / 2.
Definition raft_raw (xi th w : R) : R :=
  (w * th - w * th) ^ 2 - ((w * th - xi) ^ 2 + (w * th - xi) ^ 2) / 2.

Definition byol_prime_raw_grad_theta (xi th w : R) : R := 2 * w * (w * th - xi).
Definition byol_prime_raw_grad_w (xi th w : R) : R := 2 * th * (w * th - xi).

Lemma byol_prime_raw_expansion xi th w h k :
  byol_prime_raw xi (th + h) (w + k)
  = byol_prime_raw xi th w + byol_prime_raw_grad_theta xi th w * h + byol_prime_raw_grad_w xi th w * k
    + (2 * (w * th - xi) * k * h + (w * h + k * th + k * h) ^ 2).
Proof. unfold byol_prime_raw, byol_prime_raw_grad_theta, byol_prime_raw_grad_w; field. Qed.

Lemma raft_raw_expansion xi th w h k :
  raft_raw xi (th + h) (w + k)
  = raft_raw xi th w - byol_prime_raw_grad_theta xi th w * h - byol_prime_raw_grad_w xi th w * k
    - (2 * (w * th - xi) * k * h + (w * h + k * th + k * h) ^ 2).
Proof. unfold raft_raw, byol_prime_raw_grad_theta, byol_prime_raw_grad_w; field. Qed.

(** RAFT's gradient in θ is minus BYOL''s formula; one SGD step from the mirrored starts. *)
Theorem thm51_linear_only_fails (lr : R) :
  0 < lr ->
  let theta_byol_prime := 1 - lr * byol_prime_raw_grad_theta 1 1 1 in
  let theta_raft := 1 - lr * (- byol_prime_raw_grad_theta 1 1 (-1)) in
  theta_byol_prime = 1 /\ theta_raft = 1 + 4 * lr /\ theta_byol_prime <> theta_raft.
Proof.
  intro Hlr; cbv zeta; unfold byol_prime_raw_grad_theta.
  repeat split; [ring | ring | lra].
Qed.
End LinearOnly.
