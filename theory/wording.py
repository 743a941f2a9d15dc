"""Sentences shared by the families' wordings (``theory.report`` renders facts with them)."""


def search_phase(what: str):
    """The wording of ``theory.search`` facts, ``what`` naming the score (e.g. "LHS/RHS")."""

    def sentence(f: dict) -> str:
        where = f"D={f['dim']}"
        if "alpha" in f:
            where += f", α={f['alpha']:.3g}, β={f['beta']:.3g}"
        return (
            f"{f['phase']}: {f['cases']} cases over D in {f['dims']}, largest {what} "
            f"{f['worst']:.15g} ({where})"
        )

    return sentence
