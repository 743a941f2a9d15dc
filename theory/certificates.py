"""Machine-checked proofs behind the verdicts: the Coq certificates of ``proofs/coq/``.

``theory.certificate_table.TABLE`` maps a claim to the theorem that proves it (or proves its
negation, ``refutes``), the file that holds it, and its ``gap``: how the idealised statement
relates to the form the numerical checker decides. ``certificates.json`` beside this module records each theorem's
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
from pathlib import Path

from theory.certificate_table import OUT_OF_REACH, ROOT, TABLE, Certificate

PROVER = "Coq"
RECORD = Path(__file__).with_name("certificates.json")
STAMP = ".certified.json"

# The axioms of Coq's standard library that the real numbers themselves rest on (the classical
# Dedekind construction of R) and functional extensionality; a certificate that needs any other
# assumption is refused.
STANDARD_AXIOMS = frozenset(
    {
        "ClassicalDedekindReals.sig_forall_dec",
        "ClassicalDedekindReals.sig_not_dec",
        "FunctionalExtensionality.functional_extensionality_dep",
    }
)

BLOCK = "coq"


def page_block(families) -> str:
    """A claim page's block of machine-checked statements, for every family the page explains:
    per claim the statement the checker decides beside the theorem Coq checked, or why there is
    none. Written by ``python -m theory certify --record``."""
    from theory import claims as registry

    table, record = {c.claim: c for c in TABLE}, recorded()
    out = [
        "Written by `python -m theory certify --record` from the proofs in `proofs/coq/`; "
        "`python -m theory certify` re-checks them ([how to read a certificate]"
        "(../howto/read-a-certificate.md))."
    ]
    for claim in (c for family in families for c in family.claims):
        out += ["", f"### `{claim.id}`", ""]
        quote = registry.quoted(claim)
        if quote:
            out += [f"The paper ({quote['where']}): “{' '.join(quote['text'].split())}”", ""]
        out += [f"The claim as checked: {claim.statement}", ""]
        cert = table.get(claim.id)
        if cert is None:
            out.append(f"No Coq proof: {OUT_OF_REACH.get(claim.id, 'none written yet')}.")
            continue
        proves = "the negation of the claim" if cert.refutes else "the claim"
        out += [
            f"Coq proves {proves}: `{cert.qualified()}` (`proofs/coq/{cert.file}`)",
            "",
            "```coq",
            record[cert.qualified()]["statement"],
            "```",
            "",
            f"Gap: {cert.gap}",
        ]
        if cert.also:
            out += ["", "Also proved: " + ", ".join(f"`{t}`" for t in cert.also) + "."]
    return "\n".join(out)


def pages() -> dict[Path, list]:
    """The claim pages that have a block of certificates, each with the families it explains."""
    from theory import claims, report

    root, found = Path(__file__).resolve().parent.parent, {}
    for f in claims.built_in():
        page = root / f.doc
        if f.doc and page.is_file() and report.begin_marker(BLOCK) in page.read_text():
            found.setdefault(page, []).append(f)
    return found


def check_record_outputs() -> None:
    """Before any work: --record rewrites documents the repository ships (the record and the
    pages), so the tree must be clean but for them (``report.require_clean``)."""
    from theory import report

    report.require_clean([RECORD, *pages()], allow_dirty=False)


def write_pages() -> list[str]:
    """Rewrite the block of every claim page that has one (checked clean up front by
    ``check_record_outputs``); the pages written."""
    from theory import report

    written = pages()
    for page, families in written.items():
        report.write_block(page, BLOCK, page_block(families), allow_dirty=True, noted=True)
    return [families[0].doc for families in written.values()]


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
        for group in re.findall(
            rf"From\s+{ROOT}\s+Require\s+(?:Import\s+|Export\s+)?([^.]+)\.", text
        ):
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
    """ "proved" when the compiled proof is present and current (see the module's doc), else
    what is missing: "no proof sources here", "not certified here", "changed since certified"."""
    directory = proofs_dir()
    if directory is None or not (directory / cert.file).is_file():
        return "no proof sources here"
    entry = _stamp(directory).get(cert.file)
    compiled = directory / Path(cert.file).with_suffix(".vo")
    if entry is None or not compiled.is_file():
        return "not certified here"
    now = {
        "source": source_digest(directory, cert.file),
        "vo": _sha256(compiled),
        "record": record_digest(cert.file),
    }
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
    return verdict["verdict"] + (
        " (proved in Coq)" if agrees == "the claim" else " (disproved in Coq)"
    )


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
            results[file] = {
                "compiled": False,
                "error": "an imported file did not compile",
                "coqc_s": 0.0,
            }
            continue
        ok, text, seconds = _run(["coqc", "-q", "-R", ".", ROOT, file], directory)
        results[file] = {
            "compiled": ok,
            "error": "" if ok else text.splitlines()[:6],
            "coqc_s": round(seconds, 2),
        }
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
    own = re.findall(
        r"^(?:From \S+ )?Require Import [^\n]*\.$|^(?:Local )?Open Scope \S+\.$|^Import [^\n]*\.$",
        source,
        flags=re.M,
    )
    ours = " ".join(Path(f).stem for f in imports(directory, f"{module}.v"))
    return [line for line in own if not line.startswith(f"From {ROOT} ")] + [
        f"From {ROOT} Require Import {ours}."
    ]


def printed(directory: Path, theorems: list[tuple[str, str]]) -> dict[str, dict]:
    """Each (module, theorem)'s statement and axioms as Coq prints them (one coqc per module):
    the axioms before anything is imported, so that their names come out qualified the same
    way whatever the module imports; the statements in the module's own notations."""
    out: dict[str, dict] = {}
    for module in sorted({m for m, _ in theorems}):
        names = [f"{ROOT}.{module}.{t}" for m, t in theorems if m == module]
        ours = " ".join(Path(f).stem for f in imports(directory, f"{module}.v"))
        lines = ["Set Printing Width 100.", f"From {ROOT} Require {ours}."]
        lines += [
            line for name in names for line in (_marker("A", name), f"Print Assumptions {name}.")
        ]
        lines += _context(directory, module)
        lines += [line for name in names for line in (_marker("S", name), f"Check @{name}.")]
        with tempfile.TemporaryDirectory() as scratch:
            query = Path(scratch) / "Query.v"
            query.write_text("\n".join(lines) + "\n")
            # -w -all: warnings (mathcomp's notation overrides) are not statements.
            ok, text, _ = _run(
                ["coqc", "-q", "-w", "-all", "-R", str(directory), ROOT, str(query)], Path(scratch)
            )
        if not ok:
            raise CertifyError(
                "coqc could not print the statements: " + " ".join(text.splitlines()[:3])
            )
        for block in text.split("@@")[1:]:
            kind, name = block.split(None, 2)[:2]
            body = block.partition("\n")[2]
            entry = out.setdefault(name, {})
            if kind == "A":
                axioms = body.partition("Axioms:")[2]
                found = re.findall(r"^(\S+)\s*$", axioms, flags=re.M) + re.findall(
                    r"^(\S+) :", axioms, flags=re.M
                )
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
        raise CertifyError(
            "Coq (coqc, coqchk) or mathcomp is not installed "
            "(Debian: apt-get install coq libcoq-mathcomp-algebra)"
        )
    directory = proofs_dir()
    if directory is None:
        raise CertifyError(
            "the Coq sources (proofs/coq/) are not here: run certify in a source checkout"
        )
    table = by_claim()
    # Without ids, every proof: a claim that the registry does not have yet included.
    chosen = [table[i] for i in ids if i in table] if ids else list(TABLE)
    needed = {n for c in chosen for n in imports(directory, c.file)}
    files = [f for f in project_files(directory) if f in needed]
    checked = compile_and_check(directory, files)
    good_files = [f for f in files if checked[f]["compiled"] and checked[f].get("kernel_checked")]
    theorems = sorted(
        {
            (Path(c.file).stem, t)
            for c in chosen
            if c.file in good_files
            for t in (c.theorem, *c.also)
        }
    )
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
        stamp[file] = {
            "source": source_digest(directory, file),
            "coq": version,
            "vo": _sha256(directory / Path(file).with_suffix(".vo")),
            "record": record_digest(file),
        }
    _write_json(directory / STAMP, stamp)
    return results


def _result(cert: Certificate, checked: dict, found: dict, known: dict, version: str) -> dict:
    out = {
        "claim": cert.claim,
        "theorem": cert.qualified(),
        "file": cert.file,
        "coqc_s": checked["coqc_s"],
        "coqchk_s": checked.get("coqchk_s"),
    }
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
        if then is None or (now["statement"], now["assumptions"]) != (
            then["statement"],
            then["assumptions"],
        ):
            return out | {
                "status": "statement differs from the record",
                "detail": cert.qualified(name),
            }
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
        lines.append(
            f"{r['claim']:<{width}}  {r['status']:<34}  {r['coqc_s']:>7.2f}  {chk:>8}  {r['theorem']}"
        )
    for r in results:
        if r["status"] != "proved":
            lines += ["", f"{r['claim']}: {r['status']}"] + [f"  {d}" for d in _lines(r["detail"])]
    if uncovered:
        lines += ["", "no Coq certificate (their pages say why): " + ", ".join(uncovered)]
    return "\n".join(lines)


def _lines(detail) -> list[str]:
    return detail if isinstance(detail, list) else [str(detail)]
