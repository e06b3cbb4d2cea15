"""Uploaded files (kept byte for byte) and the trials parsed from them."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, defer, selectinload

from ..trial import Trial
from . import audit
from .canonical import canonical_json, sha256_hex, to_jsonable
from .models import Project, TrialRecord, Upload, User, utcnow


def trial_payload(trial: Trial) -> dict:
    """The arrays and metadata of ``trial`` as stored (canonical units; NaN -> null)."""
    payload = {
        "t_h": to_jsonable(trial.t_h),
        "v_L_per_m2": to_jsonable(trial.v_L_per_m2),
        "pressure_bar": None if trial.pressure_bar is None else to_jsonable(trial.pressure_bar),
        "source": trial.source,
        "meta": to_jsonable(trial.meta),
    }
    if trial.signals:  # turbidity, P2 ...: only when logged, so other trials keep the payload they had
        payload["signals"] = {k: to_jsonable(v) for k, v in trial.signals.items()}
    return payload


def trial_from_record(rec: TrialRecord) -> Trial:
    """The :class:`~fluxwise.trial.Trial` stored in ``rec``, ready for fitting and sizing."""
    data = json.loads(rec.data_json)

    def arr(values):
        return None if values is None else np.array([np.nan if v is None else v for v in values], dtype=float)

    return Trial(t_h=arr(data["t_h"]), v_L_per_m2=arr(data["v_L_per_m2"]), area_m2=rec.area_m2,
                 mode=rec.mode, pressure_bar=arr(data.get("pressure_bar")), source=data.get("source", ""),
                 meta=data.get("meta") or {},
                 signals={k: arr(v) for k, v in (data.get("signals") or {}).items()})


def _trial_values(rec: TrialRecord) -> dict:
    values = {"area": rec.area_input, "mode": rec.mode_input, "density": rec.density_input,
              "area_m2": rec.area_m2, "mode_used": rec.mode, "points": rec.points, "revision": rec.revision}
    if rec.columns_input is not None:  # only when given: trials read with detected columns keep their hash
        values["columns"] = json.loads(rec.columns_input)
    return values


def columns_text(columns: dict | None) -> str | None:
    """A column mapping as stored (canonical JSON), None for none (columns detected from the headers)."""
    return canonical_json(columns) if columns else None


def project_trials(session: Session, project_id: int, *, newest_first: bool = False) -> list[TrialRecord]:
    """A project's trials for a listing: each with its upload (one query for all, its bytes not read)
    and without its data (a JSON text of up to megabytes per trial, read only when asked for)."""
    order = (TrialRecord.created_at.desc(), TrialRecord.id.desc()) if newest_first \
        else (TrialRecord.created_at, TrialRecord.id)
    return list(session.scalars(select(TrialRecord).where(TrialRecord.project_id == project_id)
                                .options(defer(TrialRecord.data_json), selectinload(TrialRecord.upload))
                                .order_by(*order)))


def trial_columns(rec: TrialRecord) -> dict | None:
    """The column mapping a trial was read with, or None (detected)."""
    return None if rec.columns_input is None else json.loads(rec.columns_input)


def trial_content(rec: TrialRecord) -> dict:
    """What a trial says, as hashed into its audit entries: its file, settings, revision and data."""
    return {"trial_id": rec.public_id, "upload_sha256": rec.upload.sha256, **_trial_values(rec),
            "data": json.loads(rec.data_json)}


def trial_sha256(rec: TrialRecord) -> str:
    return sha256_hex(canonical_json(trial_content(rec)))


def record_file(session: Session, project: Project, *, actor: User | None, filename: str,
                content_type: str, content: bytes) -> Upload:
    """Store a file that is not a trial (a train file or a file it names), byte for byte with its
    SHA-256, and its audit entry."""
    upload = Upload(project_id=project.id, filename=filename, content_type=content_type,
                    size_bytes=len(content), sha256=sha256_hex(content), content=content,
                    created_by_id=None if actor is None else actor.id)
    upload.project = project
    session.add(upload)
    session.flush()
    audit.append(session, actor=actor, action="create", object_type="upload", object_id=upload.public_id,
                 org_id=project.organisation.public_id, project_id=project.public_id,
                 new={"filename": filename, "content_type": content_type, "size_bytes": upload.size_bytes,
                      "sha256": upload.sha256})
    return upload


def file_ref(upload: Upload) -> dict:
    """How a result names a stored file: name, SHA-256, size and the upload's id."""
    return {"filename": upload.filename, "sha256": upload.sha256, "size_bytes": upload.size_bytes,
            "upload_id": upload.public_id}


def stored_files(session: Session, project_id: int, refs: list[dict], what: str) -> list[tuple[str, bytes]]:
    """(bare name, bytes) of the files ``refs`` name in a project, each checked against the SHA-256
    recorded when it was stored (``what`` names the result in the message of a mismatch)."""
    from pathlib import PurePosixPath

    from sqlalchemy import select

    from .results import Conflict

    uploads = {u.public_id: u for u in session.scalars(select(Upload).where(
        Upload.public_id.in_([r["upload_id"] for r in refs]), Upload.project_id == project_id))}
    out = []
    for ref in refs:
        upload = uploads.get(ref["upload_id"])
        if upload is None or sha256_hex(upload.content) != ref["sha256"]:
            raise Conflict(f"the stored file '{ref['filename']}' of this {what} no longer matches its "
                           "SHA-256")
        out.append((PurePosixPath(ref["filename"]).name, upload.content))
    return out


def record_upload(session: Session, project: Project, *, actor: User | None, filename: str,
                  content_type: str, content: bytes, trial: Trial, area: str | None = None,
                  mode: str | None = None, density: str | None = None,
                  columns: dict | None = None,
                  original_filename: str | None = None) -> tuple[Upload, TrialRecord]:
    """Store an upload and the trial parsed from it, with their audit entries, in one go.

    ``filename`` is the safe name it is stored and parsed under; ``original_filename`` the name as the
    user sent it (kept when it differs). Parse first, store after: callers reach this only with a
    trial that parsed, so a broken file leaves nothing behind.
    """
    user_id = None if actor is None else actor.id
    upload = Upload(project_id=project.id, filename=filename, content_type=content_type,
                    size_bytes=len(content), sha256=sha256_hex(content), content=content,
                    created_by_id=user_id)
    if original_filename and original_filename != filename:
        upload.original_filename = original_filename
    session.add(upload)
    session.flush()
    trial = dataclasses.replace(trial, source=filename)
    rec = TrialRecord(project_id=project.id, upload_id=upload.id, area_input=area, mode_input=mode,
                      density_input=density, columns_input=columns_text(columns),
                      area_m2=float(trial.area_m2), mode=trial.mode,
                      points=trial.points, data_json=canonical_json(trial_payload(trial)), revision=1,
                      created_by_id=user_id)
    session.add(rec)
    session.flush()
    org_id = project.organisation.public_id
    named = {"filename": filename}
    if upload.original_filename is not None:
        named["original_filename"] = upload.original_filename
    audit.append(session, actor=actor, action="create", object_type="upload", object_id=upload.public_id,
                 org_id=org_id, project_id=project.public_id,
                 new={**named, "content_type": content_type, "size_bytes": upload.size_bytes,
                      "sha256": upload.sha256})
    rec.upload = upload
    audit.append(session, actor=actor, action="create", object_type="trial", object_id=rec.public_id,
                 org_id=org_id, project_id=project.public_id,
                 new={"upload": upload.public_id, **_trial_values(rec), "content_sha256": trial_sha256(rec)})
    return upload, rec


def update_trial(session: Session, rec: TrialRecord, *, actor: User | None, trial: Trial,
                 area: str | None, mode: str | None, density: str | None, reason: str | None,
                 columns: dict | None | object = ...) -> TrialRecord:
    """Replace the read settings of a trial (re-read by the caller from its upload, whose bytes stay as
    they were), audited with the old and new values and the old content hash.

    Area, mode, density and the column mapping (``columns``: role -> header or [header, unit]; None for
    detection; left as it is when not given) are critical values: a reason is required when any of them
    changes. The revision goes up by one so results computed from the old settings can be told apart;
    the old revision can be read again from the same bytes with the settings its audit entry records.
    """
    new_columns = rec.columns_input if columns is ... else columns_text(columns)
    changed = [name for name, new, old in (("area", area, rec.area_input), ("mode", mode, rec.mode_input),
                                            ("density", density, rec.density_input),
                                            ("columns", new_columns, rec.columns_input)) if new != old]
    reason = audit.require_reason("trial", changed, reason)
    if not changed:
        return rec
    old = {**_trial_values(rec), "content_sha256": trial_sha256(rec)}
    trial = dataclasses.replace(trial, source=rec.upload.filename)
    rec.area_input, rec.mode_input, rec.density_input = area, mode, density
    rec.columns_input = new_columns
    rec.area_m2, rec.mode, rec.points = float(trial.area_m2), trial.mode, trial.points
    rec.data_json = canonical_json(trial_payload(trial))
    rec.revision += 1
    rec.updated_at = utcnow()
    session.flush()
    audit.append(session, actor=actor, action="update", object_type="trial", object_id=rec.public_id,
                 org_id=rec.project.organisation.public_id, project_id=rec.project.public_id,
                 old=old, new={**_trial_values(rec), "content_sha256": trial_sha256(rec)}, reason=reason)
    return rec
