"""Supply studies saved into a project: the plan file and the files it names (its train, the train's
trial files, a factors file) are stored as uploads, byte for byte with their SHA-256, and the study's
JSON (``fluxwise supply --json``) as a result of kind ``supply`` that names them all with the
replications and seed it was run with, in one transaction with its audit entries.

The stored JSON is the record: pages and reports show it as it was signed. :func:`supply_sources` gives
the files back, checked against their SHA-256, to run the study again (a new version).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from .models import Project, ResultVersion, User
from .results import create_file_result
from .uploads import file_ref, record_file, stored_files

YAML_TYPE = "application/yaml"


def save_supply(
    session: Session,
    project: Project,
    *,
    actor: User | None,
    plan_name: str,
    plan_bytes: bytes,
    files: dict[str, tuple[bytes, str]],
    options: dict[str, Any],
    data: dict[str, Any],
    notes: str = "",
    train_result: str | None = None,
) -> ResultVersion:
    """Store a supply study: its plan file, the files it came with (name -> (bytes, content type)), the
    options it ran with (``replications``, ``seed``) and the study's JSON ``data``. Run first, store
    after: nothing is stored for a plan that failed."""
    plan_upload = record_file(
        session, project, actor=actor, filename=plan_name, content_type=YAML_TYPE, content=plan_bytes
    )
    refs = [
        file_ref(
            record_file(session, project, actor=actor, filename=name, content_type=ctype, content=content)
        )
        for name, (content, ctype) in sorted(files.items())
    ]
    inputs = {
        "plan": file_ref(plan_upload),
        "files": refs,
        "options": dict(options),
        "train_result": train_result,
    }
    return create_file_result(
        session, project, plan_upload, kind="supply", actor=actor, inputs=inputs, data=data, notes=notes
    )


def supply_sources(session: Session, rv: ResultVersion) -> tuple[str, bytes, dict[str, bytes], dict]:
    """(plan file name, its bytes, the files it named, options) of a saved study, as they were saved.

    Raises :class:`~.results.Conflict` when a stored file no longer matches its recorded SHA-256.
    """
    if rv.kind != "supply":
        raise ValueError(f"a {rv.kind} result is not a supply study")
    inputs = json.loads(rv.inputs_json)
    contents = stored_files(session, rv.project_id, [inputs["plan"], *inputs.get("files", [])], "study")
    (plan_name, plan_bytes), *rest = contents
    return plan_name, plan_bytes, dict(rest), dict(inputs.get("options") or {})
