(** Real inner-product spaces, the setting of every statement about representations.

    A space is any type with an addition, a scaling by reals and a symmetric bilinear form that
    is non-negative on the diagonal: every R^n (instance [Rn] below, the inner product as a
    finite sum), every Hilbert space, and every space of square-integrable random vectors. No
    vector-space identity (associativity, ...) is assumed: each statement is about inner
    products, and bilinearity alone expands them to Gram entries. *)

From Coq Require Import Reals Lra.
Open Scope R_scope.

Record InnerSpace := {
  vec :> Type;
  vadd : vec -> vec -> vec;
  vscale : R -> vec -> vec;
  ip : vec -> vec -> R;
  ip_sym : forall u v, ip u v = ip v u;
  ip_add_l : forall u v w, ip (vadd u v) w = ip u w + ip v w;
  ip_scale_l : forall a u w, ip (vscale a u) w = a * ip u w;
  ip_pos : forall u, 0 <= ip u u
}.

Arguments vadd {_} _ _.
Arguments vscale {_} _ _.
Arguments ip {_} _ _.

Section Expansion.
Variable E : InnerSpace.

Lemma ip_add_r (u v w : E) : ip u (vadd v w) = ip u v + ip u w.
Proof. rewrite (ip_sym E u), ip_add_l, (ip_sym E v), (ip_sym E w); reflexivity. Qed.

Lemma ip_scale_r (a : R) (u w : E) : ip u (vscale a w) = a * ip u w.
Proof. rewrite (ip_sym E u), ip_scale_l, (ip_sym E w); reflexivity. Qed.

End Expansion.

(** u − v, −v and the squared distance ‖u − v‖². *)
Definition vneg {E : InnerSpace} (v : E) : E := vscale (-1) v.
Definition vsub {E : InnerSpace} (u v : E) : E := vadd u (vneg v).
Definition sqd {E : InnerSpace} (u v : E) : R := ip (vsub u v) (vsub u v).
Definition is_unit {E : InnerSpace} (v : E) : Prop := ip v v = 1.

(** Expand every inner product of sums and multiples into Gram entries ⟨u, v⟩. *)
Ltac expand :=
  unfold sqd, vsub, vneg in *;
  repeat (rewrite ?ip_add_l, ?ip_add_r, ?ip_scale_l, ?ip_scale_r).

Lemma sqd_sym {E : InnerSpace} (u v : E) : sqd u v = sqd v u.
Proof. expand; rewrite (ip_sym E v u); ring. Qed.

Lemma sqd_nonneg {E : InnerSpace} (u v : E) : 0 <= sqd u v.
Proof. apply ip_pos. Qed.

(** The l2-normalisation v / ‖v‖ and the normalised BYOL distance 2 − 2⟨p, t⟩/(‖p‖‖t‖) that the
    objectives compute (theory/objectives.py: cross_model with sphere=True). *)
Definition normalize {E : InnerSpace} (v : E) : E := vscale (/ sqrt (ip v v)) v.
Definition cosine_distance {E : InnerSpace} (p t : E) : R :=
  2 - 2 * ip p t / (sqrt (ip p p) * sqrt (ip t t)).

Lemma normalize_unit {E : InnerSpace} (v : E) : 0 < ip v v -> is_unit (normalize v).
Proof.
  intro Hv; unfold is_unit, normalize; expand.
  assert (Hs : sqrt (ip v v) * sqrt (ip v v) = ip v v) by (apply sqrt_sqrt; lra).
  assert (Hp : 0 < sqrt (ip v v)) by (apply sqrt_lt_R0; lra).
  set (s := sqrt (ip v v)) in *; clearbody s; rewrite <- Hs; field; lra.
Qed.

Lemma sqd_normalize {E : InnerSpace} (p t : E) :
  0 < ip p p -> 0 < ip t t -> sqd (normalize p) (normalize t) = cosine_distance p t.
Proof.
  intros Hp Ht; unfold cosine_distance, normalize; expand.
  rewrite (ip_sym E t p).
  assert (Sp : sqrt (ip p p) * sqrt (ip p p) = ip p p) by (apply sqrt_sqrt; lra).
  assert (St : sqrt (ip t t) * sqrt (ip t t) = ip t t) by (apply sqrt_sqrt; lra).
  assert (Pp : 0 < sqrt (ip p p)) by (apply sqrt_lt_R0; lra).
  assert (Pt : 0 < sqrt (ip t t)) by (apply sqrt_lt_R0; lra).
  set (a := sqrt (ip p p)) in *; set (b := sqrt (ip t t)) in *; clearbody a b.
  rewrite <- Sp, <- St; field; lra.
Qed.

(** R^n: vectors are functions nat -> R read on 0 .. n−1, the inner product a finite sum. *)
Fixpoint dot (n : nat) (x y : nat -> R) : R :=
  match n with
  | O => 0
  | S k => dot k x y + x k * y k
  end.

Lemma dot_sym n x y : dot n x y = dot n y x.
Proof. induction n; simpl; [reflexivity | rewrite IHn; ring]. Qed.

Lemma dot_add_l n x y z :
  dot n (fun i => x i + y i) z = dot n x z + dot n y z.
Proof. induction n; simpl; [ring | rewrite IHn; ring]. Qed.

Lemma dot_scale_l n a x z : dot n (fun i => a * x i) z = a * dot n x z.
Proof. induction n; simpl; [ring | rewrite IHn; ring]. Qed.

Lemma dot_pos n x : 0 <= dot n x x.
Proof. induction n; simpl; nra. Qed.

Definition Rn (n : nat) : InnerSpace := {|
  vec := nat -> R;
  vadd := fun x y i => x i + y i;
  vscale := fun a x i => a * x i;
  ip := dot n;
  ip_sym := dot_sym n;
  ip_add_l := dot_add_l n;
  ip_scale_l := dot_scale_l n;
  ip_pos := dot_pos n
|}.
