"""The train designer form: a train built step by step in the page, turned into the train file a user
would write by hand (the same YAML, read by :func:`fluxwise.io.train.parse_uploaded_train`).

:data:`FIELDS` says which fields each step type takes in the form (with their kind and an example);
the page's script renders and checks them as the user types, and :func:`train_yaml` turns what it
sends (JSON) into YAML, naming the project's trials by their file names. Anything the form does not
offer can still be written in a YAML file and uploaded.
"""

from __future__ import annotations

import json
import re

from ..errors import InputError
from ..i18n import N_, _

#: Train fields: key, label, kind, example/choices, required.
TRAIN_FIELDS = (
    {"key": "name", "label": N_("Train name"), "kind": "text", "example": "2,000 L mAb batch",
     "required": True},
    {"key": "product", "label": N_("Product"), "kind": "text", "example": "mAb (IgG1)"},
    {"key": "batch_volume", "label": N_("Batch volume"), "kind": "volume", "example": "2000 L",
     "required": True},
    {"key": "titre", "label": N_("Titre"), "kind": "concentration", "example": "4 g/L", "required": True},
    {"key": "currency", "label": N_("Currency"), "kind": "choice", "choices": ["USD", "EUR", "KRW"]},
    {"key": "disposal", "label": N_("Disposal"), "kind": "choice", "choices": ["incineration", "landfill"]},
)
_NFF = (
    {"key": "trial", "label": N_("Trial from the project"), "kind": "trial", "required": True},
    {"key": "process_time", "label": N_("Process time"), "kind": "time", "example": "2 h"},
    {"key": "max_pressure", "label": N_("Maximum pressure"), "kind": "pressure", "example": "25 psi"},
    {"key": "flux", "label": N_("Process flux"), "kind": "flux", "example": "100 LMH"},
    {"key": "flux_decay_limit", "label": N_("Flux-decay limit (fraction)"), "kind": "fraction",
     "example": "0.75"},
    {"key": "safety_factor", "label": N_("Safety factor"), "kind": "factor", "example": "1.5"},
    {"key": "format", "label": N_("Filter format"), "kind": "format"},
    {"key": "kind", "label": N_("Format kind"), "kind": "choice",
     "choices": ["", "capsule", "cartridge", "disc"]},
    {"key": "chase", "label": N_("Buffer chase"), "kind": "volume", "example": "10 L"},
    {"key": "yield", "label": N_("Yield (fraction)"), "kind": "fraction", "example": "0.98"},
)
#: Step type -> its fields in the form.
FIELDS = {
    "depth": _NFF, "bioburden": _NFF, "sterile": _NFF, "virus": _NFF,
    "ufdf": (
        {"key": "k", "label": N_("Mass-transfer coefficient k"), "kind": "flux", "example": "20 LMH",
         "required": True},
        {"key": "cg", "label": N_("Gel concentration"), "kind": "concentration", "example": "250 g/L",
         "required": True},
        {"key": "target_concentration", "label": N_("Target concentration"), "kind": "concentration",
         "example": "120 g/L", "required": True},
        {"key": "diavolumes", "label": N_("Diavolumes"), "kind": "count", "example": "8", "required": True},
        {"key": "process_time", "label": N_("Process time"), "kind": "time", "example": "4 h",
         "required": True},
        {"key": "cassette_area", "label": N_("Cassette area"), "kind": "area", "example": "1.1 m2"},
        {"key": "hold_up", "label": N_("Hold-up"), "kind": "volume", "example": "2 L"},
        {"key": "recovery_flush", "label": N_("Recovery flush"), "kind": "volume", "example": "4 L"},
    ),
    "hold": (
        {"key": "time", "label": N_("Time"), "kind": "time", "example": "30 h", "required": True},
        {"key": "yield", "label": N_("Yield (fraction)"), "kind": "fraction", "example": "0.85"},
        {"key": "concentration", "label": N_("Outlet concentration"), "kind": "concentration",
         "example": "10 g/L"},
    ),
}
STEP_LABELS = {"depth": N_("depth filtration"), "bioburden": N_("bioburden reduction"),
               "sterile": N_("sterile filtration"), "virus": N_("virus filtration"), "ufdf": N_("UF/DF"),
               "hold": N_("hold (e.g. chromatography)")}
NUMERIC = ("fraction", "factor", "count")


def page_spec() -> dict:
    """The fields and step labels as the page's script shows them, in the current language."""
    def shown(fields):
        return [{**f, "label": _(f["label"])} for f in fields]

    return {"train": shown(TRAIN_FIELDS), "steps": {k: shown(v) for k, v in FIELDS.items()},
            "labels": {k: _(v) for k, v in STEP_LABELS.items()}}
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


def _text(value, where: str, limit: int = 200) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise InputError("must be text", field=where)
    text = str(value).strip()
    if len(text) > limit or "\x00" in text:
        raise InputError(f"at most {limit} characters, no NUL", field=where)
    return text


def train_yaml(form_json: str, trial_files: dict[str, str]) -> tuple[str, bytes, list[str]]:
    """(train file name, its YAML, the trial ids it names) from the designer's JSON.

    ``trial_files`` maps the project's trial ids to their file names. Values are checked for shape
    here (known fields, text, a trial of the project); units and science are checked by the train
    reader, whose messages name the step and the field.
    """
    import yaml

    try:
        sent = json.loads(form_json)
    except ValueError:
        raise InputError("the designer sent something that is not JSON; reload the page",
                         field="design") from None
    if not isinstance(sent, dict) or not isinstance(sent.get("steps"), list):
        raise InputError("the designer sent no steps; reload the page", field="design")
    train = {}
    head = sent.get("train") if isinstance(sent.get("train"), dict) else {}
    for f in TRAIN_FIELDS:
        value = _text(head.get(f["key"], ""), f["label"])
        if value:
            train[f["key"]] = value
        elif f.get("required"):
            raise InputError("is required", field=f["label"])
    if not sent["steps"]:
        raise InputError("add at least one step", field="steps")
    if len(sent["steps"]) > 30:
        raise InputError("at most 30 steps", field="steps")
    steps, used = [], []
    for n, raw in enumerate(sent["steps"], start=1):
        if not isinstance(raw, dict):
            raise InputError(f"step {n} is not a step; reload the page", field="steps")
        stype = raw.get("type")
        if stype not in FIELDS:
            raise InputError(f"step {n}: choose a step type ({', '.join(FIELDS)})", field="step type")
        step = {"name": _text(raw.get("name") or f"step {n}", f"step {n} name"), "type": stype}
        for f in FIELDS[stype]:
            value = _text(raw.get(f["key"], ""), f"step {n} {f['label'].lower()}")
            if not value:
                if f.get("required"):
                    raise InputError(f"step {n} '{step['name']}': is required", field=f["label"])
                continue
            if f["kind"] == "trial":
                if value not in trial_files:
                    raise InputError(f"step {n}: choose a trial of this project", field=f["label"])
                used.append(value)
                value = trial_files[value]
            elif f["kind"] in NUMERIC:
                try:
                    value = float(value) if f["kind"] != "count" or "." in value else int(value)
                except ValueError:
                    raise InputError(f"step {n} '{step['name']}': must be a number, e.g. {f['example']}",
                                     field=f["label"]) from None
            step[f["key"]] = value
        steps.append(step)
    train["steps"] = steps
    name = (_SLUG.sub("_", train["name"]).strip("._-") or "train")[:80] + ".yaml"
    text = ("# Designed in the fluxwise train designer; edit and upload it, or run\n"
            f"#   fluxwise design {name}\n" + yaml.safe_dump(train, sort_keys=False, allow_unicode=True))
    return name, text.encode("utf-8"), used
