"""Machine-checked proofs behind the verdicts: the Coq certificates of ``proofs/coq/``.

``TABLE`` maps a claim to the theorem that proves it (or proves its negation, ``refutes``), the
file that holds it, and its ``gap``: how the idealised statement relates to the form the
numerical checker decides. ``certificates.json`` beside this module records each theorem's
statement and assumptions exactly as Coq prints them (``python -m theory certify --record``
rewrites it; ``certify`` refuses a theorem whose printed statement has drifted from it).

A certificate is *current* when ``certify`` compiled its file with ``coqc``, re-checked the
result with ``coqchk``, found the statements it records, and neither the ``.v`` source (with
every file it imports), the ``.vo`` nor the record's entries for that file have changed since:
``certify`` writes the SHA-256 of the three to ``proofs/coq/.certified.json``, and ``status``
compares them with the files now. A date comparison would trust a ``.vo`` that is merely
newer; a hash does not.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PROVER = "Coq"
ROOT = "RaftVerify"
RECORD = Path(__file__).with_name("certificates.json")
STAMP = ".certified.json"

# The axioms of Coq's standard library that the real numbers themselves rest on (the classical
# Dedekind construction of R) and functional extensionality; a certificate that needs any other
# assumption is refused.
STANDARD_AXIOMS = frozenset({
    "ClassicalDedekindReals.sig_forall_dec",
    "ClassicalDedekindReals.sig_not_dec",
    "FunctionalExtensionality.functional_extensionality_dep",
})

SPACE = ("in every real inner-product space (every R^n, n ≥ 0, is one: Corollary thm41_in_Rn "
         "and the instance Rn), for all vectors, unit or not, and all real α, β > 0")
TRAJECTORY = (
    "an abstract model: parameters of any type with an involution M (M negates the "
    "predictor's output layer), any gradient operator that obeys the chain rule for M and "
    "ignores additive constants (as the derivative does; that instance is not built in Coq), "
    "a teacher update blind to M, output maps with rep2(M y) = −rep1(y) (shown for the "
    "l2-normalised linear predictor in R^n: linear_predictor_outputs_negated), the loss a "
    "mean over each step's batch, exact real arithmetic. The checker runs real networks "
    "with autograd in float64 and decides by round-off controls; the proof covers any "
    "encoder and any number of steps but not rounding")


@dataclass(frozen=True)
class Certificate:
    claim: str
    file: str
    theorem: str
    gap: str
    refutes: bool = False
    also: tuple[str, ...] = ()

    @property
    def module(self) -> str:
        return f"{ROOT}.{Path(self.file).stem}"

    def qualified(self, theorem: str | None = None) -> str:
        return f"{self.module}.{theorem or self.theorem}"


TABLE = (
    Certificate(
        "thm4.1", "Thm41.v", "thm41_byol_bounded_by_byol_prime",
        "Proved " + SPACE + "; the checker decides the l2-normalised per-sample form, which is "
        "thm41_normalised (each distance 2 − 2⟨p, t⟩/(‖p‖‖t‖), non-zero vectors). The proof "
        "is the checker's sum of squares: the slack equals ‖α(p1 − p2) − β(p2 − t2)‖²/(αβ).",
        also=("thm41_slack_is_a_square", "thm41_in_Rn", "thm41_normalised"),
    ),
    Certificate(
        "thm4.1-sym", "Thm41.v", "thm41_sym_fails", refutes=True,
        gap="Refutes the per-sample bound in R² with the checker's exact counterexample "
        "(α = β = 1, p1 = t1 = (0, 1), p2 = (3/5, 4/5), t2 = (1, 0): L_BYOL = 2 > 8/5). The "
        "repaired constant 1/α + 2/β is proved " + SPACE + ".",
        also=("thm41_sym_counterexample_values",
              "thm41_sym_holds_with_constant_1_over_alpha_plus_2_over_beta",
              "thm41_sym_ratio_at_most_2a_plus_b_over_a_plus_b"),
    ),
    Certificate(
        "thm4.1-symsym", "Thm41.v", "thm41_symsym_symmetric_byol_bounded",
        "Proved " + SPACE + ", as the sum of two instances of thm4.1 with the views exchanged.",
    ),
    Certificate(
        "thm4.1-sym-exchangeable", "Thm41.v", "thm41_sym_exchangeable_expectation_bound",
        "Proved for any expectation given as a functional on functions of the sample that is "
        "additive, homogeneous, positive, extensional and invariant under swapping the views; "
        "no measure theory is needed. The checker estimates expectations from samples.",
    ),
    Certificate(
        "raft-no-collapse", "Collapse.v", "raft_no_collapse_fails", refutes=True,
        gap="Refutes the claim in every real inner-product space with a unit vector e: the "
        "collapsed configuration f(x) = e, predictor −I, teacher outputs e attains −4β, and "
        "L_RAFT ≥ −4β on the unit sphere everywhere (raft_bounded_below_by_minus_4beta). The "
        "checker's counterexample is this configuration in D = 1 with α = β = 1.",
        also=("raft_bounded_below_by_minus_4beta",
              "raft_collapsed_configuration_attains_minus_4beta",
              "raft_at_fixed_point_without_predictor"),
    ),
    Certificate(
        "tangent-remark", "Tangent.v", "tangent_remark_gradient_is_tangential_component",
        "Each gradient is stated in closed form and certified by the exact expansion "
        "f(z + h) = f(z) + ⟨∇f, h⟩ + c‖h‖² (tangential_form_expansion, plain_form_expansion), "
        "λ held constant (the stop-gradient); vector equality is equality against every test "
        "vector. The checker compares autograd gradients in float64.",
        also=("tangential_form_expansion", "plain_form_expansion"),
    ),
    Certificate(
        "tangent-noop", "Tangent.v", "tangent_noop_same_tangent_components",
        "Proves that the two cross-model gradients agree on every tangent direction at a unit "
        "vector; that the derivative of p ↦ p/‖p‖ is (I − p̂p̂ᵀ)/‖p‖, which makes every "
        "parameter gradient (and so every trajectory) equal, is the chain rule, not "
        "formalised. The checker trains both variants in float64.",
        also=("tangential_is_idempotent",),
    ),
    Certificate(
        "thm5.1", "Thm51.v", "thm51_tangential_trajectories_correspond",
        "Proved in " + TRAJECTORY + ". The per-sample identity L_RAFT(−p, −λ) = L_BYOL'(p, λ) "
        "is raft_tan_mirrors_byol_prime_tan; the gradients' is gradients_mirror.",
        also=("raft_tan_mirrors_byol_prime_tan", "gradients_mirror", "trajectories_mirror",
              "linear_predictor_outputs_negated"),
    ),
    Certificate(
        "thm5.1-adam", "Thm51.v", "adam_odd",
        "thm51_tangential_trajectories_correspond holds for every optimiser whose step is odd "
        "in the gradient with a mirrored state; adam_odd (Adam with L2 weight decay and "
        "AdamW's decoupled decay, bias-corrected, state (m, v, n) ↦ (Mm, v, n)) and "
        "sgd_momentum_weight_decay_odd show that the checker's optimisers are, in coordinates "
        "I → R with M a sign flip per coordinate. Otherwise as thm5.1: " + TRAJECTORY + ".",
        also=("sgd_momentum_weight_decay_odd", "thm51_tangential_trajectories_correspond"),
    ),
    Certificate(
        "thm5.1-no-tangent", "Thm51.v", "thm51_plain_on_sphere_trajectories_correspond",
        "On the unit sphere the plain objectives differ by the constant −4β "
        "(raft_plain_mirrors_byol_prime_plain), which no gradient sees. Proved in "
        + TRAJECTORY + "; the outputs are assumed unit vectors (the l2-normalisation).",
        also=("raft_plain_mirrors_byol_prime_plain",),
    ),
    Certificate(
        "thm5.1-linear-only", "Thm51.v", "thm51_linear_only_fails", refutes=True,
        gap="Refutes the claim with a simpler exact case than the checker's (which is a "
        "float64 run found by search): a one-dimensional linear encoder and predictor, one "
        "pair of views, α = β = 1, θ0 = w0 = 1 against w0 = −1; after one SGD step of any "
        "η > 0, θ1 = 1 for BYOL' and 1 + 4η for RAFT. The gradients are closed forms "
        "certified by exact expansions with second-order remainders.",
        also=("byol_prime_raw_expansion", "raft_raw_expansion"),
    ),
    Certificate(
        "thm5.1-no-sphere", "Thm51.v", "thm51_tangential_trajectories_correspond",
        "The tangential identity needs no unit vectors, so the theorem of thm5.1 covers raw "
        "outputs. Proved in " + TRAJECTORY + ".",
    ),
    Certificate(
        "thm5.1-mlp", "Thm51.v", "thm51_plain_on_sphere_trajectories_correspond",
        "The hypothesis outputs_negated (rep2 (M y) x = −rep1 y x) is what negating the MLP's "
        "output layer (weight and bias) gives; the tangential case is "
        "thm51_tangential_trajectories_correspond. Proved in " + TRAJECTORY + ".",
        also=("thm51_tangential_trajectories_correspond",),
    ),
    Certificate(
        "byol-dual", "Thm51.v", "byol_dual_trajectories_correspond",
        "−‖−p̂ − t̂‖² = ‖p̂ − t̂‖² − 4 on the unit sphere (run_away_byol_mirrors_byol), for "
        "BYOL symmetrised as trained; the one-view form is the same identity. Proved in "
        + TRAJECTORY + ".",
        also=("run_away_byol_mirrors_byol",),
    ),
    Certificate(
        "byolp-np-frozen", "Thm51.v", "byolp_np_frozen_trajectories_coincide",
        "The predictor frozen at −I is the output map y ↦ −rep y; M is the identity. Shown "
        "for the tangential form; the plain form on the sphere follows from "
        "raft_plain_mirrors_byol_prime_plain the same way. Proved in " + TRAJECTORY + ".",
        also=("frozen_minus_identity_raft_is_byol_prime",),
    ),
    Certificate(
        "appH-sylvester", "AppHSylvester.v", "sylvester_criterion",
        "Proved for square matrices (of sizes m + 1 and n + 1) over any algebraically closed "
        "field, ℂ among them, with no axiom at all: a non-zero solution θ over that field exists "
        "iff W and C share an eigenvalue there. For real W and C this gives the claim with θ "
        "complex; that a real θ ≠ 0 exists too (the equations are real and linear, and a rank "
        "does not change from R to ℂ) is not formalised. The checker decides the exact nullity "
        "of I ⊗ W − Cᵀ ⊗ I over Q.",
        also=("sylvester_solution_implies_shared_eigenvalue",
              "shared_eigenvalue_gives_sylvester_solution", "intertwine_horner"),
    ),
    Certificate(
        "appH-stationary", "AppHSylvester.v", "sylvester_solutions_are_stationary",
        "Proved over any field (the reals are one) for W (m×m), θ (m×n) and invertible A: "
        "both factors of eqs. 62–63, Wᵀ(WθA − θB) and (WθA − θB)θᵀ, vanish when Wθ = θBA⁻¹. "
        "That these are the gradients of the expected loss eq. 57 at ξ = θ (the target not "
        "differentiated) is taken from the paper, not derived; the checker differentiates "
        "eq. 57 with autograd in float64.",
    ),
    Certificate(
        "appH-joint", "AppHSylvester.v", "joint_stationary_family",
        "Proved over any field: for every invertible S and scalar c ≠ 0, θ = cS ≠ 0 and "
        "W = S·BA⁻¹·S⁻¹ solve Wθ = θBA⁻¹, hence are stationary by "
        "sylvester_solutions_are_stationary (eqs. 62–63 as the gradients, as there); distinct "
        "c give distinct θ (joint_family_is_injective), so over the reals the family is "
        "infinite. The checker evaluates autograd gradients on the family in float64.",
        also=("joint_family_is_injective", "sylvester_solutions_are_stationary"),
    ),
    Certificate(
        "appH-derivation", "AppH.v", "appH_derivation_fails", refutes=True,
        gap="Refutes the implication with the checker's exact 2×2 counterexample (W = 0, "
        "θ = [[0, 0], [0, 1]], A = I, B = [[0, 0], [1, 0]]: eqs. 65–66 hold, Wθ − θBA⁻¹ = "
        "[[0, 0], [−1, 0]]), with A invertible stated as A·A⁻¹ = A⁻¹·A = I. The gradients "
        "eqs. 62–63 themselves are not derived here: eqs. 65–66 are taken as written.",
        also=("appH_derivation_counterexample_values",),
    ),
)


# Why a claim has no Coq proof yet: what the proof would need that this one does not have.
OUT_OF_REACH = {
    "byol-np-fixed-point": "a statement about autograd gradients through BatchNorm on batch "
    "statistics of a real network; the chain rule through BatchNorm is not formalised here",
    "byol-fixed-point": "fails by a float64 one-step counterexample found by search; an exact "
    "replay needs the step's square roots (the l2-normalisation) in a real-closed field or "
    "with interval arithmetic, not done here",
    "thm5.1-np": "fails by a two-step counterexample; exact replay not done (square roots of "
    "the l2-normalisation)",
    "byol-raft": "fails by a one-step counterexample; exact replay not done (square roots of "
    "the l2-normalisation)",
    "appG-steps": "a verdict on each printed equation of Appendix G as written (typography, "
    "indices); the mathematics it corrects to is thm5.1's proof",
    "appH-steps": "a verdict on each printed line of Appendix H as written (vectors where "
    "scalars stand, indices)",
    "raft-byolp-same-law": "a statement about probability laws of PyTorch's initialisation; "
    "it needs measure theory (push-forward of a product of uniform laws), not formalised here",
    "no-convergence": "a statement about the long-run behaviour of float64 training "
    "trajectories (an attracting fixed point of a nonlinear map); its proof needs the "
    "spectral theory of the Jacobian, not formalised here",
    "appH-dimension": "needs the Jordan normal form and the nullity of the Sylvester operator "
    "between two Jordan blocks (min(p, q)); neither is formalised here",
    "appH-random-W": "a statement about random matrices (a probability-one event), which "
    "needs measure theory",
}

BLOCK = "coq"


def page_block(family) -> str:
    """The claim page's block of machine-checked statements: per claim the statement the
    checker decides beside the theorem Coq checked, or why there is none. Written by
    ``python -m theory certify --record``."""
    table, record = {c.claim: c for c in TABLE}, recorded()
    out = ["Written by `python -m theory certify --record` from the proofs in `proofs/coq/`; "
           "`python -m theory certify` re-checks them ([how to read a certificate]"
           "(../howto/read-a-certificate.md))."]
    for claim in family.claims:
        out += ["", f"### `{claim.id}`", ""]
        # The paper's own words, where the registry keeps them.
        if getattr(claim, "paper_text", ""):
            out += [f"The paper: {claim.paper_text}", ""]
        out += [f"The claim as checked: {claim.statement}", ""]
        cert = table.get(claim.id)
        if cert is None:
            out.append(f"No Coq proof: {OUT_OF_REACH.get(claim.id, 'none written yet')}.")
            continue
        proves = "the negation of the claim" if cert.refutes else "the claim"
        out += [f"Coq proves {proves}: `{cert.qualified()}` (`proofs/coq/{cert.file}`)", "",
                "```coq", record[cert.qualified()]["statement"], "```", "", f"Gap: {cert.gap}"]
        if cert.also:
            out += ["", "Also proved: " + ", ".join(f"`{t}`" for t in cert.also) + "."]
    return "\n".join(out)


def write_pages() -> list[str]:
    """Rewrite the block of every claim page that has one; the pages written."""
    from theory import claims, report

    written = []
    root = Path(__file__).resolve().parent.parent
    for family in claims.built_in():
        page = root / family.doc
        if family.doc and page.is_file() and report.begin_marker(BLOCK) in page.read_text():
            report.write_block(page, BLOCK, page_block(family))
            written.append(family.doc)
    return written


class CertifyError(Exception):
    """certify cannot run here (no coqc, no proof sources); one line."""


def by_claim() -> dict[str, Certificate]:
    """The certificates of the registered claims (a certificate whose claim is not in the
    registry, as a claim another version adds, is left out)."""
    from theory import claims

    registered = {c.id for c in claims.all_claims()}
    return {c.claim: c for c in TABLE if c.claim in registered}


def recorded() -> dict:
    return json.loads(RECORD.read_text())


def proofs_dir() -> Path | None:
    """proofs/coq/ of the source tree this package runs from, if it is there."""
    directory = Path(__file__).resolve().parent.parent / "proofs" / "coq"
    return directory if (directory / "_CoqProject").is_file() else None


def project_files(directory: Path) -> list[str]:
    lines = (directory / "_CoqProject").read_text().splitlines()
    return [line.strip() for line in lines if line.strip().endswith(".v")]


def imports(directory: Path, file: str) -> list[str]:
    """The project files that ``file`` needs, itself last, in compilation order."""
    found: list[str] = []

    def visit(name: str):
        text = (directory / name).read_text()
        for group in re.findall(rf"From\s+{ROOT}\s+Require\s+(?:Import\s+|Export\s+)?([^.]+)\.", text):
            for module in group.split():
                if f"{module}.v" not in found:
                    visit(f"{module}.v")
        if name not in found:
            found.append(name)

    visit(file)
    return found


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def source_digest(directory: Path, file: str) -> str:
    digest = hashlib.sha256()
    for name in imports(directory, file):
        digest.update(name.encode() + b"\0" + (directory / name).read_bytes() + b"\0")
    return digest.hexdigest()


def record_digest(file: str) -> str:
    """SHA-256 of what the record says about the theorems of one file."""
    prefix = f"{ROOT}.{Path(file).stem}."
    mine = {name: value for name, value in recorded().items() if name.startswith(prefix)}
    return hashlib.sha256(json.dumps(mine, sort_keys=True).encode()).hexdigest()


def _stamp(directory: Path) -> dict:
    try:
        return json.loads((directory / STAMP).read_text())
    except (OSError, ValueError):
        return {}


def status(cert: Certificate) -> str:
    """"proved" when the compiled proof is present and current (see the module's doc), else
    what is missing: "no proof sources here", "not certified here", "changed since certified"."""
    directory = proofs_dir()
    if directory is None or not (directory / cert.file).is_file():
        return "no proof sources here"
    entry = _stamp(directory).get(cert.file)
    compiled = directory / Path(cert.file).with_suffix(".vo")
    if entry is None or not compiled.is_file():
        return "not certified here"
    now = {"source": source_digest(directory, cert.file), "vo": _sha256(compiled), "record": record_digest(cert.file)}
    if any(entry.get(key) != value for key, value in now.items()):
        return "changed since certified"
    return "proved"


def document(claim_id: str) -> dict | None:
    """A claim's certificate as data, with its status here (None when it has none)."""
    cert = by_claim().get(claim_id)
    if cert is None:
        return None
    record = recorded()[cert.qualified()]
    out = {
        "prover": PROVER,
        "version": record["version"],
        "file": f"proofs/coq/{cert.file}",
        "theorem": cert.qualified(),
        "proves": "the negation of the claim" if cert.refutes else "the claim",
        "statement": record["statement"],
        "assumptions": record["assumptions"],
        "gap": cert.gap,
        "also": [cert.qualified(t) for t in cert.also],
    }
    return out | {"status": status(cert)}


def label(verdict: dict) -> str:
    """The verdict as the terminal prints it: "holds (proved in Coq)" or "fails (disproved in
    Coq)" when a current certificate says the same, else the verdict alone."""
    cert = verdict.get("certificate")
    if not cert or cert.get("status") != "proved":
        return verdict["verdict"]
    agrees = {"holds": "the claim", "fails": "the negation of the claim"}.get(verdict["verdict"])
    if cert["proves"] != agrees:
        return f"{verdict['verdict']} (Coq proves {cert['proves']}!)"
    return verdict["verdict"] + (" (proved in Coq)" if agrees == "the claim" else " (disproved in Coq)")


# --- certify: compile, kernel-check, compare -------------------------------------------------


def _run(command: list[str], cwd: Path) -> tuple[bool, str, float]:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    return done.returncode == 0, (done.stdout + done.stderr).strip(), time.perf_counter() - started


def coq_installed() -> bool:
    """coqc, coqchk and mathcomp's algebra library (AppHSylvester.v needs it)."""
    if shutil.which("coqc") is None or shutil.which("coqchk") is None:
        return False
    ok, where, _ = _run(["coqc", "-where"], Path.cwd())
    return ok and (Path(where.strip()) / "user-contrib" / "mathcomp" / "algebra").is_dir()


def coq_version() -> str:
    ok, text, _ = _run(["coqc", "--version"], Path.cwd())
    found = re.search(r"version (\S+)", text)
    return found.group(1) if ok and found else "unknown"


def compile_and_check(directory: Path, files: list[str]) -> dict[str, dict]:
    """coqc every file in order (a file whose imports failed is not tried), then coqchk
    -norec the compiled ones: our files are re-checked by the kernel checker, the standard
    library's compiled files are trusted as installed. Seconds and errors per file."""
    results: dict[str, dict] = {}
    for file in files:
        needs = imports(directory, file)[:-1]
        if any(not results[n]["compiled"] for n in needs):
            results[file] = {"compiled": False, "error": "an imported file did not compile", "coqc_s": 0.0}
            continue
        ok, text, seconds = _run(["coqc", "-q", "-R", ".", ROOT, file], directory)
        results[file] = {"compiled": ok, "error": "" if ok else text.splitlines()[:6], "coqc_s": round(seconds, 2)}
    compiled = [f for f, r in results.items() if r["compiled"]]
    command = ["coqchk", "-silent", "-R", ".", ROOT]
    for file in compiled:
        command += ["-norec", f"{ROOT}.{Path(file).stem}"]
    ok, text, seconds = _run(command, directory) if compiled else (True, "", 0.0)
    for file in compiled:
        # One run re-checks every file (most of its time is loading the standard library);
        # its seconds are the whole run's.
        results[file] |= {"kernel_checked": ok, "coqchk_s": round(seconds, 2)}
        if not ok:
            results[file]["error"] = text.splitlines()[-6:]
    return results


def _context(directory: Path, module: str) -> list[str]:
    """The module's own imports and scopes, then the module and what it imports: its theorems
    are printed with the notations they were written in."""
    source = (directory / f"{module}.v").read_text()
    own = re.findall(r"^(?:From \S+ )?Require Import [^\n]*\.$|^(?:Local )?Open Scope \S+\.$|^Import [^\n]*\.$",
                     source, flags=re.M)
    ours = " ".join(Path(f).stem for f in imports(directory, f"{module}.v"))
    return [line for line in own if not line.startswith(f"From {ROOT} ")] + [f"From {ROOT} Require Import {ours}."]


def printed(directory: Path, theorems: list[tuple[str, str]]) -> dict[str, dict]:
    """Each (module, theorem)'s statement and axioms as Coq prints them (one coqc per module):
    the axioms before anything is imported, so that their names come out qualified the same
    way whatever the module imports; the statements in the module's own notations."""
    out: dict[str, dict] = {}
    for module in sorted({m for m, _ in theorems}):
        names = [f"{ROOT}.{module}.{t}" for m, t in theorems if m == module]
        ours = " ".join(Path(f).stem for f in imports(directory, f"{module}.v"))
        lines = ["Set Printing Width 100.", f"From {ROOT} Require {ours}."]
        lines += [line for name in names for line in (_marker("A", name), f"Print Assumptions {name}.")]
        lines += _context(directory, module)
        lines += [line for name in names for line in (_marker("S", name), f"Check @{name}.")]
        with tempfile.TemporaryDirectory() as scratch:
            query = Path(scratch) / "Query.v"
            query.write_text("\n".join(lines) + "\n")
            # -w -all: warnings (mathcomp's notation overrides) are not statements.
            ok, text, _ = _run(["coqc", "-q", "-w", "-all", "-R", str(directory), ROOT, str(query)], Path(scratch))
        if not ok:
            raise CertifyError("coqc could not print the statements: " + " ".join(text.splitlines()[:3]))
        for block in text.split("@@")[1:]:
            kind, name = block.split(None, 2)[:2]
            body = block.partition("\n")[2]
            entry = out.setdefault(name, {})
            if kind == "A":
                axioms = body.partition("Axioms:")[2]
                found = re.findall(r"^(\S+)\s*$", axioms, flags=re.M) + re.findall(r"^(\S+) :", axioms, flags=re.M)
                entry["assumptions"] = sorted(set(found))
            else:
                entry["statement"] = re.sub(r"\s+", " ", body.partition(":")[2]).strip()
    return out


def _marker(kind: str, name: str) -> str:
    return f'Goal True. idtac "@@{kind} {name}". Abort.'


def certify(ids: list[str], record: bool = False) -> list[dict]:
    """Compile and kernel-check the certificates of ``ids`` (every certificate when empty),
    compare each theorem's statement with the recorded one (``record``: rewrite the record
    instead), and mark the files that passed as current. One result per claim."""
    if not coq_installed():
        raise CertifyError("Coq (coqc, coqchk) or mathcomp is not installed "
                           "(Debian: apt-get install coq libcoq-mathcomp-algebra)")
    directory = proofs_dir()
    if directory is None:
        raise CertifyError("the Coq sources (proofs/coq/) are not here: run certify in a source checkout")
    table = by_claim()
    # Without ids, every proof: a claim that the registry does not have yet included.
    chosen = [table[i] for i in ids if i in table] if ids else list(TABLE)
    needed = {n for c in chosen for n in imports(directory, c.file)}
    files = [f for f in project_files(directory) if f in needed]
    checked = compile_and_check(directory, files)
    good_files = [f for f in files if checked[f]["compiled"] and checked[f].get("kernel_checked")]
    theorems = sorted({(Path(c.file).stem, t) for c in chosen if c.file in good_files
                       for t in (c.theorem, *c.also)})
    found = printed(directory, theorems) if theorems else {}
    version = coq_version()
    known = recorded()
    if record:
        known |= {name: value | {"version": version} for name, value in found.items()}
        _write_json(RECORD, known)
        write_pages()
    results, passed = [], set(good_files)
    for cert in chosen:
        results.append(_result(cert, checked[cert.file], found, known, version))
        if results[-1]["status"] != "proved":
            passed.discard(cert.file)
    stamp = _stamp(directory)
    for file in passed:
        stamp[file] = {"source": source_digest(directory, file), "coq": version,
                       "vo": _sha256(directory / Path(file).with_suffix(".vo")), "record": record_digest(file)}
    _write_json(directory / STAMP, stamp)
    return results


def _result(cert: Certificate, checked: dict, found: dict, known: dict, version: str) -> dict:
    out = {"claim": cert.claim, "theorem": cert.qualified(), "file": cert.file,
           "coqc_s": checked["coqc_s"], "coqchk_s": checked.get("coqchk_s")}
    if not checked["compiled"]:
        return out | {"status": "does not compile", "detail": checked["error"]}
    if not checked.get("kernel_checked"):
        return out | {"status": "rejected by coqchk", "detail": checked["error"]}
    for name in (cert.theorem, *cert.also):
        now, then = found.get(cert.qualified(name)), known.get(cert.qualified(name))
        if now is None:
            return out | {"status": "theorem missing", "detail": cert.qualified(name)}
        extra = sorted(set(now["assumptions"]) - STANDARD_AXIOMS)
        if extra:
            return out | {"status": "non-standard assumptions", "detail": extra}
        if then is None or (now["statement"], now["assumptions"]) != (then["statement"], then["assumptions"]):
            return out | {"status": "statement differs from the record", "detail": cert.qualified(name)}
    return out | {"status": "proved", "coq": version}


def _write_json(path: Path, value: dict) -> None:
    """Whole or not at all: a temporary file beside it, then a rename."""
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as handle:
        handle.write(json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
    os.replace(handle.name, path)


def render(results: list[dict], uncovered: list[str]) -> str:
    """certify's report: one line per claim, the details of any failure, the claims without
    a certificate."""
    width = max([len(r["claim"]) for r in results] + [5])
    lines = [f"{'claim':<{width}}  {'status':<34}  {'coqc s':>7}  {'coqchk s':>8}  theorem"]
    for r in results:
        chk = "" if r["coqchk_s"] is None else f"{r['coqchk_s']:.2f}"
        lines.append(f"{r['claim']:<{width}}  {r['status']:<34}  {r['coqc_s']:>7.2f}  {chk:>8}  {r['theorem']}")
    for r in results:
        if r["status"] != "proved":
            lines += ["", f"{r['claim']}: {r['status']}"] + [f"  {d}" for d in _lines(r["detail"])]
    if uncovered:
        lines += ["", "no Coq certificate (their pages say why): " + ", ".join(uncovered)]
    return "\n".join(lines)


def _lines(detail) -> list[str]:
    return detail if isinstance(detail, list) else [str(detail)]
