"""One step of a proof, as data, and how its status follows from what was found.

A ``Step`` is an equation of the paper stated precisely (with its hypotheses), the correction
it needs if the equation as written is wrong, and the reading it depends on. Its checks fill a
``Record``: for the equation as written and for its corrected form, what sympy proved and the
largest relative violation met at random points (``sampled``) and at adversarial and edge
points (``searched``), and, for a written form that is wrong, an exact counterexample. The
status is then

- ``holds``: the written form is within its tolerance everywhere it was tried, at random
  and at adversarial points, and sympy did not disprove it;
- ``holds after correction``: the written form is wrong (an exact counterexample) and the
  corrected form holds in the sense above;
- ``fails``: the written form is wrong and no correction that holds is known;
- ``undecided``: the numbers and the symbolic result disagree (a violation at round-off level
  against a proof, or a disproof that no point reproduced).
"""

import math
from dataclasses import dataclass, field

HOLDS, CORRECTED, FAILS, UNDECIDED = "holds", "holds after correction", "fails", "undecided"


@dataclass(frozen=True)
class Step:
    """An equation of the paper: ``eq`` its label ("31", "58, line 3"), ``statement`` what is
    checked and under which hypotheses, ``correction`` the corrected statement when the
    written one is wrong, ``note`` what else a reader needs (e.g. where a reading matters)."""

    eq: str
    statement: str
    correction: str = ""
    note: str = ""


@dataclass
class Tally:
    """Numbers for one form of a step: cases and the largest relative violation."""

    sampled: int = 0
    searched: int = 0
    worst: float = 0.0

    def add(self, phase: str, cases: int, worst: float) -> None:
        if phase == "random":
            self.sampled += cases
        else:
            self.searched += cases
        # a NaN violation is a violation: never let it hide behind max()
        self.worst = math.inf if math.isnan(worst) else max(self.worst, worst)

    def holds(self, tolerance: float) -> bool:
        return self.sampled > 0 and self.searched > 0 and self.worst <= tolerance

    def as_dict(self) -> dict:
        return {"sampled": self.sampled, "searched": self.searched, "worst": self.worst}


@dataclass
class Record:
    """What the checks of one step found (see the module's docstring)."""

    step: Step
    tolerance: float
    written: Tally = field(default_factory=Tally)
    corrected: Tally | None = None
    proof: dict | None = None
    corrected_proof: dict | None = None
    counterexample: dict | None = None
    reference: dict | None = None

    def correct(self) -> Tally:
        if self.corrected is None:
            self.corrected = Tally()
        return self.corrected

    @property
    def status(self) -> str:
        if self.reference is not None:
            return self.reference["status"]
        disproved = self.proof is not None and self.proof.get("identity") is False
        if self.written.holds(self.tolerance) and not disproved:
            return HOLDS
        if self.counterexample is None:
            return UNDECIDED
        if self.corrected is None:
            return FAILS
        refuted = self.corrected_proof is not None and self.corrected_proof.get("identity") is False
        return CORRECTED if self.corrected.holds(self.tolerance) and not refuted else FAILS

    def ratio(self) -> float:
        """The written form's largest violation in units of its tolerance."""
        return self.written.worst / self.tolerance if self.tolerance else self.written.worst
