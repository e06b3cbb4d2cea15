"""The SOP of the lab's GMP exercise: its steps and actions, the deductions and critical errors, the
integrity-test specification corrected to the test, and the readings a device gives.

The specification is carried to the test's wetting fluid by the ratio of γ·cosθ and, for water, to
the test temperature by the IAPWS R1-76 surface tension (:func:`fluxwise.design.integrity.
check_bubble_point`); a diffusion limit stated per area is scaled to the installed area
(:func:`~fluxwise.design.integrity.check_diffusion`) — the functions a scientist would use. The
replay of a record against this SOP is :class:`fluxwise.training.gmp.GmpState`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..design.integrity import check_bubble_point, check_diffusion
from ..models.integrity import water_surface_tension
from .scenario import Scenario

__all__ = ["ACTIONS", "SOP_STEPS", "DEDUCTIONS", "Mistake", "sop_steps", "correct_limit", "integrity_reading"]

ACTIONS = (
    "verify",
    "install",
    "flush",
    "sterilise",
    "integrity_test",
    "record_result",
    "check_setup",
    "rewet",
    "reject",
    "replace",
    "deviation",
    "filter",
    "flush_out",
    "quarantine_batch",
    "correct",
    "sign",
)

SOP_STEPS = (
    ("verify", "Verify identity (part number), lot and expiry against the label"),
    ("install", "Install the device and vent it"),
    ("flush", "Flush (wet) with at least the vendor's volume"),
    ("sterilise", "Sterilise (where the scenario requires it)"),
    ("pre_use_test", "Pre-use integrity test, recorded against the corrected specification"),
    ("filter", "Filter the batch"),
    ("flush_out", "Flush out the product"),
    ("post_use_test", "Post-use integrity test, recorded"),
    ("sign", "Record and sign"),
)

#: fraction of the GMP part lost per mistake (a critical error sets the part to 0)
DEDUCTIONS = {
    "order": 0.1,
    "not_verified": 0.2,
    "transcription": 0.1,
    "accepted_expired": 0.2,
    "not_vented": 0.1,
    "flush_short": 0.1,
    "not_sterilised": 0.3,
    "limit_uncorrected": 0.15,
    "rejected_passing": 0.1,
    "no_setup_check": 0.1,
    "rewet_method": 0.1,
    "extra_rewet": 0.2,
    "not_rejected": 0.1,
    "no_deviation": 0.2,
    "flush_out_short": 0.1,
    "no_post_test": 0.3,
    "replace_after_post": 0.2,
    "needless_quarantine": 0.1,
    "not_filtered": 0.5,
    "correction_reason": 0.1,
    "not_signed": 0.2,
    "after_signature": 0.1,
    "backdated": 0.1,
    "unrecorded_test": 0.15,
    "answer_mismatch": 0.1,
}


@dataclass(frozen=True)
class Mistake:
    """A departure from the SOP found in the record: ``code`` (a key of :data:`DEDUCTIONS`, or a
    critical one), the action number it concerns (1-based, 0 for the record as a whole), a sentence."""

    code: str
    seq: int
    text: str
    critical: bool = False

    def to_dict(self) -> dict:
        return {"code": self.code, "action": self.seq, "text": self.text, "critical": self.critical}


def sop_steps(scenario: Scenario) -> list[dict]:
    """The SOP as the trainee sees it, with this scenario's volumes and specification."""
    g, spec = scenario.gmp, scenario.gmp.integrity
    details = {
        "flush": f"at least {g.flush_L:g} L",
        "sterilise": "required" if g.sterilise else "not required",
        "pre_use_test": _spec_text(spec),
        "flush_out": f"at least {g.flush_out_L:g} L",
    }
    return [
        {"step": k, "text": t, **({"detail": details[k]} if k in details else {})}
        for k, t in SOP_STEPS
        if k != "sterilise" or g.sterilise
    ]


def _spec_text(spec) -> str:
    if spec.method == "bubble-point":
        fluid = (
            spec.spec_fluid
            if spec.spec_surface_tension is None
            else f"{spec.spec_fluid} ({spec.spec_surface_tension:g} mN/m)"
        )
        return (
            f"bubble point at least {spec.spec:.4g} bar in {fluid} at {spec.spec_temperature_c:g} °C; "
            f"tested with {spec.test_fluid}"
            + (f" ({spec.test_surface_tension:g} mN/m)" if spec.test_surface_tension is not None else "")
        )
    return (
        f"diffusion at most {spec.spec * 1000 / 60:.4g} mL/min per {spec.reference_area_m2:.4g} m² "
        f"(installed {spec.area_m2:.4g} m²)"
    )


def correct_limit(spec, temperature_c: float) -> float:
    """The specification carried to the test's fluid and temperature (bar), or scaled to the installed
    area (L/h) — with :mod:`fluxwise.design.integrity`, the functions a scientist would use."""
    if spec.method == "bubble-point":
        if spec.test_surface_tension is not None or spec.spec_surface_tension is not None:
            g_spec = (
                spec.spec_surface_tension
                if spec.spec_surface_tension is not None
                else float(water_surface_tension(spec.spec_temperature_c))
            )
            g_test = (
                spec.test_surface_tension
                if spec.test_surface_tension is not None
                else float(water_surface_tension(temperature_c))
            )
            return check_bubble_point(
                1.0, spec.spec, spec_surface_tension_mN_per_m=g_spec, test_surface_tension_mN_per_m=g_test
            ).limit
        return check_bubble_point(
            1.0, spec.spec, spec_temperature_c=spec.spec_temperature_c, test_temperature_c=temperature_c
        ).limit
    return check_diffusion(
        0.0, spec.spec, reference_area_m2=spec.reference_area_m2, area_m2=spec.area_m2
    ).limit


def integrity_reading(rng, spec, limit: float, fails: bool) -> float:
    """A reading that passes or fails the corrected limit; half of the time it falls between the
    corrected and the uncorrected specification, where only the correction gives the right verdict.
    Bubble point in bar (passes at or above the limit), diffusion in L/h (passes at or below)."""
    raw = spec.spec
    trap = rng.random() < 0.5
    if spec.method == "bubble-point":
        if not fails:
            if trap and raw > limit * 1.01:
                return float(rng.uniform(limit * 1.003, raw * 0.997))
            return float(limit * rng.uniform(1.02, 1.15))
        if trap and raw < limit * 0.99:
            return float(rng.uniform(raw * 1.003, limit * 0.997))
        return float(limit * rng.uniform(0.55, 0.9))
    if not fails:
        if trap and raw < limit * 0.99:
            return float(rng.uniform(raw * 1.003, limit * 0.997))
        return float(limit * rng.uniform(0.35, 0.9))
    return float(limit * rng.uniform(1.2, 2.5))
