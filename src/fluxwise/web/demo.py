"""Demo data for ``fluxwise serve --demo``: an organisation, a user and a project holding the example
trials, each fitted and sized — created once, found again on the next start.

The demo password is random, written to ``demo-login.txt`` in the data folder (readable by its owner
only) and printed at start; a data folder without that file gets a new password.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from ..store import accounts, audit
from ..store import projects as store_projects
from ..store import uploads as store_uploads
from ..store.database import Database
from ..store.models import Organisation, Project, Upload, User

DEMO_EMAIL = "demo@fluxwise.local"
DEMO_NAME = "Demo scientist"
DEMO_ORG = "Demo organisation"
DEMO_PROJECT = "Example trials"
DEMO_DESCRIPTION = ("The three example trials of fluxwise: sterile filtration of a mAb pool (constant "
                    "pressure), depth filtration of a CHO harvest (constant flux) and virus filtration.")
PASSWORD_FILE = "demo-login.txt"

#: The example trials, how to read them and what each is sized for (as ``fluxwise demo`` does).
DEMO_TRIALS = (
    ("mab_sterile_filtration.csv", {"batch_volume": "2000 L", "process_time": "1 h", "safety_factor": 1.5}),
    ("cho_harvest_depth_filtration.csv",
     {"batch_volume": "2000 L", "process_time": "2 h", "max_pressure": "25 psi", "safety_factor": 1.5}),
    ("virus_filtration.xlsx", {"batch_volume": "2000 L", "process_time": "4 h", "safety_factor": 1.5}),
)


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    project_id: str
    created: bool


def _password(data_dir: Path) -> tuple[str, bool]:
    """The demo password kept in ``data_dir`` (new: True when it was made now)."""
    path = data_dir / PASSWORD_FILE
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("password:"):
                return line.split(":", 1)[1].strip(), False
    password = secrets.token_urlsafe(9)
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(f"email: {DEMO_EMAIL}\npassword: {password}\n", encoding="utf-8")
    os.chmod(path, 0o600)
    return password, True


def seed_demo(db: Database, data_dir: str | os.PathLike,
              examples: str | os.PathLike | None = None) -> DemoLogin:
    """Create (or find) the demo organisation, user and project, and upload, fit and size each example
    trial that is not in the project yet. Safe to call on every start."""
    from ..api import science
    from ..api.upload_checks import CONTENT_TYPES, parse_upload
    from ..store.results import create_result
    from .trains import examples_dir

    data_dir = Path(data_dir)
    password, new_password = _password(data_dir)
    folder = Path(examples) if examples is not None else examples_dir()
    created = False
    with db.session(write=True) as s:
        user = accounts.find_user(s, DEMO_EMAIL)
        if user is None:
            user = accounts.create_user(s, DEMO_EMAIL, DEMO_NAME, password)
            created = True
        elif new_password or not accounts.verify_password(user.password_hash, password):
            user.password_hash = accounts.hash_password(password)
            audit.append(s, actor=None, action="update", object_type="user", object_id=user.public_id,
                         new={"password": "set by fluxwise serve --demo"})
        org = s.scalar(select(Organisation).where(Organisation.name == DEMO_ORG).order_by(Organisation.id))
        if org is None:
            org = accounts.create_organisation(s, DEMO_ORG, "customer", actor=user)
        if not any(o.id == org.id for o, _ in accounts.memberships_of(s, user.id)):
            accounts.add_member(s, user, org, "admin", actor=user)
        project = s.scalar(select(Project).where(Project.org_id == org.id, Project.name == DEMO_PROJECT)
                           .order_by(Project.id))
        if project is None:
            project = store_projects.create_project(s, org, DEMO_PROJECT, DEMO_DESCRIPTION, actor=user)
        s.commit()
        project_id, project_pk, user_pk = project.public_id, project.id, user.id
    if folder is None:
        return DemoLogin(DEMO_EMAIL, password, project_id, created)
    for filename, sizing in DEMO_TRIALS:
        path = folder / filename
        with db.session() as s:
            have = s.scalar(select(Upload.id).where(Upload.project_id == project_pk,
                                                    Upload.filename == filename))
        if have is not None or not path.is_file():
            continue
        content = path.read_bytes()
        trial = parse_upload(filename, content, area=None, mode=None, density=None)
        fit = science.fit(trial)
        inputs = science.complete_inputs(trial, dict(sizing))
        size = science.size(trial, inputs)
        with db.session(write=True) as s:
            actor = s.get(User, user_pk)
            _, rec = store_uploads.record_upload(
                s, s.get(Project, project_pk), actor=actor, filename=filename,
                content_type=CONTENT_TYPES[Path(filename).suffix.lower()], content=content, trial=trial)
            create_result(s, rec, actor=actor, kind="fit", inputs={}, data=fit, notes="demo")
            create_result(s, rec, actor=actor, kind="sizing", inputs=inputs, data=size, notes="demo")
            s.commit()
    return DemoLogin(DEMO_EMAIL, password, project_id, created)

