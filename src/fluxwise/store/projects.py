"""Projects and sharing them between organisations.

A share is made only when the receiving organisation accepts an invitation
(:mod:`fluxwise.store.invitations`); either side may end it (:func:`revoke_share`).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import InputError
from . import audit
from .models import Organisation, Project, ProjectShare, User


def create_project(session: Session, org: Organisation, name: str, description: str = "", *,
                   actor: User | None) -> Project:
    """A new project owned by ``org`` (permissions are the caller's business, see tenancy)."""
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise InputError("a project name needs 1 to 200 characters", field="name")
    if len(description or "") > 20_000:
        raise InputError("the description is longer than 20000 characters", field="description")
    project = Project(org_id=org.id, name=name, description=description or "",
                      created_by_id=None if actor is None else actor.id)
    session.add(project)
    session.flush()
    audit.append(session, actor=actor, action="create", object_type="project", object_id=project.public_id,
                 org_id=org.public_id, project_id=project.public_id,
                 new={"name": project.name, "description": project.description})
    return project


def share_project(session: Session, project: Project, org: Organisation, *,
                  actor: User | None) -> ProjectShare:
    """Make ``project`` visible to the members of ``org`` (idempotent)."""
    if org.id == project.org_id:
        raise InputError("a project cannot be shared with the organisation that owns it", field="org_id")
    share = session.scalar(select(ProjectShare).where(ProjectShare.project_id == project.id,
                                                      ProjectShare.org_id == org.id))
    if share is not None:
        return share
    share = ProjectShare(project_id=project.id, org_id=org.id,
                         created_by_id=None if actor is None else actor.id)
    session.add(share)
    session.flush()
    audit.append(session, actor=actor, action="create", object_type="project_share",
                 object_id=f"{project.public_id}:{org.public_id}", org_id=project.organisation.public_id,
                 project_id=project.public_id, new={"shared_with": org.public_id, "org_name": org.name})
    return share


def revoke_share(session: Session, project: Project, org: Organisation, *, actor: User | None,
                 client: str = "") -> None:
    """End the share of ``project`` with ``org`` (audited); its members no longer see the project."""
    from .tenancy import NotFound

    share = session.scalar(select(ProjectShare).where(ProjectShare.project_id == project.id,
                                                      ProjectShare.org_id == org.id))
    if share is None:
        raise NotFound("share not found")
    session.delete(share)
    session.flush()
    audit.append(session, actor=actor, action="delete", object_type="project_share",
                 object_id=f"{project.public_id}:{org.public_id}", org_id=project.organisation.public_id,
                 project_id=project.public_id, old={"shared_with": org.public_id, "org_name": org.name},
                 new={"client": client})


def end_share(session: Session, project: Project, org_public_id: str, *, actor: User,
              client: str = "") -> bool:
    """End the share of ``project`` with the organisation ``org_public_id`` on behalf of ``actor``: an
    admin of the owning organisation, or an admin of the receiving one (giving the project up).
    Returns whether ``actor`` did it as the receiving side."""
    from .models import Membership
    from .tenancy import NotFound, is_public_id, owner_roles, require

    target = session.scalar(select(Organisation).where(Organisation.public_id == org_public_id)) \
        if is_public_id(org_public_id) else None
    if target is None:
        raise NotFound("share not found")
    admin_row = session.scalar(select(Membership.id).where(
        Membership.user_id == actor.id, Membership.org_id == target.id, Membership.role == "admin"))
    receiving_admin = admin_row is not None
    if not receiving_admin:
        require(owner_roles(session, actor.id, project), "share", "ending a share")
    revoke_share(session, project, target, actor=actor, client=client)
    return receiving_admin


def shared_with(session: Session, project: Project) -> list[Organisation]:
    stmt = (select(Organisation).join(ProjectShare, ProjectShare.org_id == Organisation.id)
            .where(ProjectShare.project_id == project.id).order_by(Organisation.name))
    return list(session.scalars(stmt))
