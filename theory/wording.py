"""Sentences shared by the families' wordings (``theory.report`` renders facts with them)."""


def search_phase(what: str):
    """The wording of ``theory.search`` phase facts, ``what`` naming the score (e.g. "LHS/RHS")."""

    def sentence(f: dict) -> str:
        where = f"D={f['dim']}"
        if "alpha" in f:
            where += f", α={f['alpha']:.3g}, β={f['beta']:.3g}"
        return (
            f"{f['phase']}: {f['cases']} cases over D in {f['dims']}, largest {what} "
            f"{f['worst']:.15g} ({where})"
        )

    return sentence


def search_sentences(what: str) -> dict:
    """The wording of every fact ``theory.search.Report.facts`` gives."""
    return {
        "search": search_phase(what),
        "worst-by-dim": lambda f: (
            f"largest {what} per D: "
            + ", ".join(f"D = {d}: {w:.6g}" for d, w in zip(f["dims"], f["worst"]))
        ),
        "profile": lambda f: (
            f"random phase, largest {what} per decade of β/α from 1e{f['bins'][0]} to 1e{f['bins'][-1]} "
            f"(the report's figure): at D = {f['dims'][0]} "
            + ", ".join("–" if w is None else f"{w:.3g}" for w in f["worst"][0])
        ),
    }
