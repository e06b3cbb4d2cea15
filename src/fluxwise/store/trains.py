"""Train designs saved into a project: the train file and the files it names are stored as uploads
(byte for byte, with their SHA-256) and the design's JSON (``fluxwise design --json``) as a result of
kind ``train`` that names them all, in one transaction with its audit entries.

A saved design can be designed again from the store (for its page and report) with
:func:`train_sources`, which checks every file against the SHA-256 recorded when it was saved.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from .models import Project, ResultVersion, User
from .results import create_train_result
from .uploads import file_ref, record_file, stored_files

YAML_TYPE = "application/yaml"


def save_train(session: Session, project: Project, *, actor: User | None, train_name: str, train_bytes: bytes,
               files: dict[str, tuple[bytes, str]], route: str | None, data: dict[str, Any],
               notes: str = "") -> ResultVersion:
    """Store a designed train: its file, the files it came with (name -> (bytes, content type)) and
    the design's JSON ``data``. Design first, store after: nothing is stored for a train that failed."""
    train_upload = record_file(session, project, actor=actor, filename=train_name, content_type=YAML_TYPE,
                               content=train_bytes)
    refs = [file_ref(record_file(session, project, actor=actor, filename=name, content_type=ctype,
                                  content=content))
            for name, (content, ctype) in sorted(files.items())]
    inputs = {"train": file_ref(train_upload), "files": refs, "route": route}
    return create_train_result(session, project, train_upload, actor=actor, inputs=inputs, data=data,
                               notes=notes)


def train_sources(session: Session, rv: ResultVersion) -> tuple[str, bytes, dict[str, bytes], str | None]:
    """(train file name, its bytes, the files it named, route) of a saved design, as they were saved.

    Raises :class:`~.results.Conflict` when a stored file no longer matches its recorded SHA-256.
    """
    if rv.kind != "train":
        raise ValueError(f"a {rv.kind} result is not a train design")
    inputs = json.loads(rv.inputs_json)
    contents = stored_files(session, rv.project_id, [inputs["train"], *inputs.get("files", [])], "train")
    (train_name, train_bytes), *rest = contents
    return train_name, train_bytes, dict(rest), inputs.get("route")
