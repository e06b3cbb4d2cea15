"""Train designs saved into a project: the train file and the files it names are stored as uploads
(byte for byte, with their SHA-256) and the design's JSON (``fluxwise design --json``) as a result of
kind ``train`` that names them all, in one transaction with its audit entries.

A saved design can be designed again from the store (for its page and report) with
:func:`train_sources`, which checks every file against the SHA-256 recorded when it was saved.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .canonical import sha256_hex
from .models import Project, ResultVersion, Upload, User
from .results import Conflict, create_train_result
from .uploads import record_file

YAML_TYPE = "application/yaml"


def _file_ref(upload: Upload) -> dict[str, Any]:
    return {"filename": upload.filename, "sha256": upload.sha256, "size_bytes": upload.size_bytes,
            "upload_id": upload.public_id}


def save_train(session: Session, project: Project, *, actor: User | None, train_name: str, train_bytes: bytes,
               files: dict[str, tuple[bytes, str]], route: str | None, data: dict[str, Any],
               notes: str = "") -> ResultVersion:
    """Store a designed train: its file, the files it came with (name -> (bytes, content type)) and
    the design's JSON ``data``. Design first, store after: nothing is stored for a train that failed."""
    train_upload = record_file(session, project, actor=actor, filename=train_name, content_type=YAML_TYPE,
                               content=train_bytes)
    refs = [_file_ref(record_file(session, project, actor=actor, filename=name, content_type=ctype,
                                  content=content))
            for name, (content, ctype) in sorted(files.items())]
    inputs = {"train": _file_ref(train_upload), "files": refs, "route": route}
    return create_train_result(session, project, train_upload, actor=actor, inputs=inputs, data=data,
                               notes=notes)


def train_sources(session: Session, rv: ResultVersion) -> tuple[str, bytes, dict[str, bytes], str | None]:
    """(train file name, its bytes, the files it named, route) of a saved design, as they were saved.

    Raises :class:`~.results.Conflict` when a stored file no longer matches its recorded SHA-256.
    """
    if rv.kind != "train":
        raise ValueError(f"a {rv.kind} result is not a train design")
    inputs = json.loads(rv.inputs_json)
    refs = [inputs["train"], *inputs.get("files", [])]
    uploads = {u.public_id: u for u in session.scalars(select(Upload).where(
        Upload.public_id.in_([r["upload_id"] for r in refs]), Upload.project_id == rv.project_id))}
    contents = []
    for ref in refs:
        upload = uploads.get(ref["upload_id"])
        if upload is None or sha256_hex(upload.content) != ref["sha256"]:
            raise Conflict(f"the stored file '{ref['filename']}' of this train no longer matches its SHA-256")
        contents.append((PurePosixPath(ref["filename"]).name, upload.content))
    (train_name, train_bytes), *rest = contents
    return train_name, train_bytes, dict(rest), inputs.get("route")
