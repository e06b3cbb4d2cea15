"""Screening: a project's trials compared side by side for one batch (``fluxwise compare``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ...errors import InputError
from ...store import tenancy
from ...store import uploads as store_uploads
from .. import schemas, science
from ..deps import PrincipalDep, ProjectDep, ReadSession
from .design import computed

router = APIRouter(prefix="/projects", tags=["projects"])
ERRORS = schemas.error_responses(401, 403, 404, 422)


@router.post("/{project_id}/compare", response_model=dict[str, Any], responses={
    **ERRORS, 200: {"description": "The JSON of fluxwise compare --json (rows ranked by cost per batch)"}})
def compare_trials(body: schemas.CompareIn, project: ProjectDep, principal: PrincipalDep, s: ReadSession):
    """Fit and size each trial for the same batch and rank them by filter cost per batch (filters,
    pre-use flush, product lost in hold-up and flushes): best model, capacity, flux, area and formats.

    A computation: nothing is stored. The trials must belong to this project; a trial that cannot be
    sized for the batch is listed last with the reason.
    """
    trials, names = [], []
    for trial_id in dict.fromkeys(body.trials):  # each trial once, in the order given
        rec = tenancy.get_trial(s, principal.user_id, trial_id)
        if rec.project_id != project.id:
            raise InputError(f"trial {trial_id} is not in this project", field="trials")
        trials.append(store_uploads.trial_from_record(rec))
        names.append(rec.upload.filename)
    result = computed("comparison", science.comparison, trials, names, body.model_dump())
    return JSONResponse(science.comparison_json(result))
