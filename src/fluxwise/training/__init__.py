r"""The virtual filtration lab: simulated trials from a hidden truth, a GMP exercise, graded answers.

What is computed, and from what
-------------------------------
* :mod:`~fluxwise.training.scenario` — a scenario is a feed with *distributions* of fouling
  behaviour per candidate filter (any of the nine models of :mod:`fluxwise.models.fouling`, with
  pressure-invariant constants, Darcy clean flux J0 = Lp·ΔP/μ), a rig, a budget and a task.
  :func:`draw_truth` draws one trainee's truth from their seed.
* :mod:`~fluxwise.training.rig` — a run on the rig: the model's own V(t) (or P(V) at constant flux),
  exactly time-warped for the start-up pressurisation, then the balance (tare, drift, noise,
  readability), the transducer and the pump. Budget: feed, bench hours, money; refusals name the reason.
* :mod:`~fluxwise.training.sop` and :mod:`~fluxwise.training.gmp` — the GMP exercise graded in SOP
  order from the recorded actions, with integrity specifications corrected by
  :mod:`fluxwise.design.integrity` (Young-Laplace γ·cosθ, IAPWS).
* :mod:`~fluxwise.training.grading` — the answer against the truth: the true minimum area is
  fluxwise's own sizing on the true model (:mod:`fluxwise.design.sizing`); the mechanism is credited
  by refitting the noise-free truth; area, safety factor, format, prefilter cost, efficiency, GMP.
* :mod:`~fluxwise.training.lab` — :class:`Attempt` (runs, actions, answer, grade; JSON and back) and
  the practice/assessment rules of :class:`ModePolicy`.

Scenario files are read by :mod:`fluxwise.io.lab_scenario`; answers, run requests with units, rig
files and attempt files by :mod:`fluxwise.io.lab_files`. Everything here is pure: no I/O.

Python use (the doors do the same)::

    from fluxwise.io.lab_scenario import open_lab
    from fluxwise.io.lab_files import parse_action, parse_answer, parse_run_request, rig_file_bytes

    lab = open_lab("mab-sterile-filtration")      # scenario + the catalog its task sizes from
    attempt = lab.start(seed=7, trainee="trainee-01", mode="practice")
    run = attempt.run(parse_run_request(lab.scenario, filter="PES 0.2 um", area="13.8 cm2",
                                        pressure="30 psi", duration="60 min"))
    rig_file_bytes(lab.scenario, run, "csv")      # the file fluxwise fit reads
    attempt.act("install", by="trainee-01", **parse_action(lab.scenario, "install", {"vented": True}))
    grade = lab.submit(attempt, parse_answer({...}, lab.scenario))
    data = attempt.to_dict()                      # plain JSON for a store; lab.resume(data) rebuilds it
    attempt.view(role="trainee")                  # what the mode lets this role see now
"""

from __future__ import annotations

from .gmp import GmpState
from .grading import (
    GRADER_VERSION,
    Answer,
    Grade,
    PartGrade,
    credited_mechanisms,
    grade_answer,
    true_min_area,
)
from .lab import (
    ASSESSMENT,
    PRACTICE,
    Attempt,
    Lab,
    ModePolicy,
    attempt_seed,
    derive_seed,
    public_scenario,
    reveal,
)
from .rig import RigRun, RunRequest, Usage, quick_views
from .scenario import RECORD_LABEL, Scenario, Truth, draw_truth
from .sop import ACTIONS, SOP_STEPS

__all__ = [
    "ACTIONS",
    "SOP_STEPS",
    "GmpState",
    "GRADER_VERSION",
    "Answer",
    "Grade",
    "PartGrade",
    "credited_mechanisms",
    "grade_answer",
    "true_min_area",
    "ASSESSMENT",
    "PRACTICE",
    "Attempt",
    "Lab",
    "ModePolicy",
    "attempt_seed",
    "derive_seed",
    "public_scenario",
    "reveal",
    "RigRun",
    "RunRequest",
    "Usage",
    "quick_views",
    "RECORD_LABEL",
    "Scenario",
    "Truth",
    "draw_truth",
]
