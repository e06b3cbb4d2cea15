"""Consent across organisations: invitations that the other side accepts.

An organisation's admin cannot pull a person into the organisation or push a project into another
organisation; they can only offer it:

- a **member** invitation names an e-mail and a role; whoever signs in with that e-mail sees it and
  accepts (becoming a member) or declines;
- a **share** invitation names a project and the public id of another organisation; an admin of that
  organisation accepts (the project becomes visible to its members) or declines.

Until then nothing is visible on either side: the invited person is not listed as a member, the
project is not listed in the other organisation, and the inviting side learns nothing about the
target. An invitation is made the same way whether the e-mail has an account or the id names an
organisation (no lookup is made), so the answer is the same; the inviting side sees its invitations
as ``open`` until they are accepted, revoked or expired — a decline is not told apart from silence,
and its audit entry belongs to the declining side. Every step is an audit entry with the client address.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..errors import InputError
from . import accounts, audit
from . import projects as store_projects
from .models import ROLES, Invitation, Membership, Organisation, Project, User, utcnow
from .results import Conflict
from .tenancy import NotFound, is_public_id

INVITATION_LIFETIME = timedelta(days=14)


def _check_open(inv: Invitation) -> None:
    if inv.status != "pending":
        raise Conflict(f"this invitation was {inv.status} already")
    if inv.expires_at <= utcnow():
        raise Conflict("this invitation has expired; ask for a new one")


def inviter_status(inv: Invitation) -> str:
    """The state the inviting side sees: ``open``, ``accepted``, ``revoked`` or ``expired`` (a decline
    reads as ``open`` until the invitation expires, like an invitation nobody answered)."""
    if inv.status in ("accepted", "revoked"):
        return inv.status
    return "expired" if inv.expires_at <= utcnow() else "open"


def invitee_status(inv: Invitation) -> str:
    """The state the invited side sees: ``pending``, ``accepted``, ``declined``, ``revoked``, ``expired``."""
    if inv.status == "pending" and inv.expires_at <= utcnow():
        return "expired"
    return inv.status


def invite_member(session: Session, org: Organisation, email: str, role: str, *, actor: User,
                  client: str = "") -> Invitation:
    """Invite whoever holds ``email`` into ``org`` with ``role`` (no account is looked up)."""
    email = accounts.normalise_email(email)
    if role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}, not '{role}'", field="role")
    inv = Invitation(kind="member", org_id=org.id, email=email, role=role, created_by_id=actor.id,
                     expires_at=utcnow() + INVITATION_LIFETIME)
    session.add(inv)
    session.flush()
    audit.append(session, actor=actor, action="create", object_type="invitation", object_id=inv.public_id,
                 org_id=org.public_id,
                 new={"kind": "member", "email": email, "role": role,
                      "expires_at": accounts.audit_time(inv.expires_at), "client": client})
    return inv


def invite_or_set_role(session: Session, org: Organisation, email: str, role: str, *, actor: User,
                       client: str = "") -> Invitation | None:
    """What "add a member" does: change the role of someone already a member of ``org`` (returns
    None; the admin sees the members anyway), else invite the e-mail (returns the invitation)."""
    email = accounts.normalise_email(email)
    member = session.scalar(select(User).join(Membership, Membership.user_id == User.id)
                            .where(User.email == email, Membership.org_id == org.id))
    if member is not None:
        accounts.add_member(session, member, org, role, actor=actor)
        return None
    return invite_member(session, org, email, role, actor=actor, client=client)


def invite_share(session: Session, project: Project, target_org_id: str, *, actor: User,
                 client: str = "") -> Invitation:
    """Offer ``project`` to the organisation with public id ``target_org_id`` (not looked up)."""
    target_org_id = (target_org_id or "").strip().lower()
    if not is_public_id(target_org_id):
        raise InputError("an organisation id is 32 hexadecimal digits", field="org_id")
    owner = project.organisation
    if target_org_id == owner.public_id:
        raise InputError("a project cannot be shared with the organisation that owns it", field="org_id")
    inv = Invitation(kind="share", org_id=owner.id, project_id=project.id, target_org_public_id=target_org_id,
                     created_by_id=actor.id, expires_at=utcnow() + INVITATION_LIFETIME)
    session.add(inv)
    session.flush()
    # org-level entry: recipients of other shares of the project do not see whom else it is offered to
    audit.append(session, actor=actor, action="create", object_type="invitation", object_id=inv.public_id,
                 org_id=owner.public_id, new={"kind": "share", "project": project.public_id,
                                              "to_org": target_org_id,
                                              "expires_at": accounts.audit_time(inv.expires_at),
                                              "client": client})
    return inv


def _admin_org_ids(user_id: int):
    return select(Membership.org_id).where(Membership.user_id == user_id, Membership.role == "admin")


def _incoming_filter(user: User):
    admin_org_public_ids = select(Organisation.public_id).where(Organisation.id.in_(_admin_org_ids(user.id)))
    return or_((Invitation.kind == "member") & (Invitation.email == user.email),
               (Invitation.kind == "share") & Invitation.target_org_public_id.in_(admin_org_public_ids))


def incoming(session: Session, user: User, *, pending_only: bool = True) -> list[Invitation]:
    """Invitations addressed to ``user`` (by e-mail) or to an organisation they are an admin of."""
    stmt = select(Invitation).where(_incoming_filter(user))
    if pending_only:
        stmt = stmt.where(Invitation.status == "pending", Invitation.expires_at > utcnow())
    return list(session.scalars(stmt.order_by(Invitation.created_at.desc(), Invitation.id.desc()).limit(200)))


def get_incoming(session: Session, user: User, public_id: str) -> Invitation:
    """One invitation addressed to ``user`` (else :class:`~fluxwise.store.tenancy.NotFound`)."""
    if not is_public_id(public_id):
        raise NotFound("invitation not found")
    inv = session.scalar(select(Invitation).where(Invitation.public_id == public_id, _incoming_filter(user)))
    if inv is None:
        raise NotFound("invitation not found")
    return inv


def outgoing(session: Session, org: Organisation, *, project: Project | None = None) -> list[Invitation]:
    """The invitations ``org`` made (of one ``project``'s shares when given), newest first."""
    stmt = select(Invitation).where(Invitation.org_id == org.id)
    if project is not None:
        stmt = stmt.where(Invitation.project_id == project.id)
    return list(session.scalars(stmt.order_by(Invitation.created_at.desc(), Invitation.id.desc()).limit(200)))


def get_outgoing(session: Session, org: Organisation, public_id: str) -> Invitation:
    if not is_public_id(public_id):
        raise NotFound("invitation not found")
    inv = session.scalar(select(Invitation).where(Invitation.public_id == public_id,
                                                  Invitation.org_id == org.id))
    if inv is None:
        raise NotFound("invitation not found")
    return inv


def _target_org(session: Session, inv: Invitation) -> Organisation:
    org = session.scalar(select(Organisation).where(Organisation.public_id == inv.target_org_public_id))
    if org is None:  # cannot happen for an invitation found by get_incoming
        raise NotFound("invitation not found")
    return org


def accept(session: Session, inv: Invitation, *, user: User, client: str = "") -> None:
    """Accept ``inv`` (found by :func:`get_incoming` for ``user``): join the organisation, or open the
    project to the receiving organisation. Audited, with the membership or share it creates."""
    _check_open(inv)
    if inv.kind == "member":
        already = session.scalar(select(Membership).where(Membership.user_id == user.id,
                                                          Membership.org_id == inv.org_id))
        if already is None:
            accounts.add_member(session, user, inv.organisation, inv.role, actor=user)
        scope = {"org_id": inv.organisation.public_id}
    else:
        target = _target_org(session, inv)
        store_projects.share_project(session, inv.project, target, actor=user)
        scope = {"org_id": inv.organisation.public_id}
    inv.status, inv.answered_at, inv.answered_by_id = "accepted", utcnow(), user.id
    session.flush()
    audit.append(session, actor=user, action="update", object_type="invitation", object_id=inv.public_id,
                 old={"status": "pending"}, new={"status": "accepted", "client": client}, **scope)


def decline(session: Session, inv: Invitation, *, user: User, client: str = "") -> None:
    """Decline ``inv``. The entry belongs to the declining side (the inviting side is not told)."""
    _check_open(inv)
    inv.status, inv.answered_at, inv.answered_by_id = "declined", utcnow(), user.id
    session.flush()
    org_id = inv.target_org_public_id if inv.kind == "share" else None
    audit.append(session, actor=user, action="update", object_type="invitation", object_id=inv.public_id,
                 org_id=org_id, old={"status": "pending"}, new={"status": "declined", "client": client})


def revoke(session: Session, inv: Invitation, *, actor: User, client: str = "") -> None:
    """Withdraw an invitation that was not accepted yet (by an admin of the inviting organisation)."""
    if inv.status == "accepted":
        raise Conflict("this invitation was accepted already: remove the member or revoke the share instead")
    if inv.status == "revoked":
        return
    inv.status, inv.answered_at, inv.answered_by_id = "revoked", utcnow(), actor.id
    session.flush()
    audit.append(session, actor=actor, action="delete", object_type="invitation", object_id=inv.public_id,
                 org_id=inv.organisation.public_id, old={"status": "open"},  # a decline stays untold
                 new={"status": "revoked", "client": client})
