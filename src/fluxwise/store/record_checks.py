"""One record, checked whenever it is shown: a result version against its stored hash and the hash its
audit entry recorded, and each of its signatures (keyed MAC recomputed from the joined rows, content
still the one signed, sign entry present, matching and unaltered).

Pages and the HTTP API show a signature as valid only after :func:`check_signature`, and put a red
banner on a result whose :func:`record_problems` are not empty. (The whole store is checked by
:mod:`fluxwise.store.verify`.)
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .audit import KEY_OBJECT, keyed_entry_hash, legacy_entry_hash
from .canonical import canonical_json, sha256_hex
from .models import AuditEntry, ResultVersion, Signature
from .trust import Trust


def _loads(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def signature_problems(sig: Signature, trust: Trust, *, content: str, mac: bool = True) -> list[str]:
    """What is wrong with one signature row on its own: its MAC (recomputed from the joined rows) and
    whether the version it signs still has the content it signed (``content``: that version's content
    hash recomputed now). Empty when the signature is valid."""
    from .results import signature_mac

    out = []
    if not mac:
        pass
    elif sig.mac is None or sig.key_id is None:
        out.append("it carries no MAC (the trail was never sealed?)")
    else:
        key = trust.keyring.find(sig.key_id)
        if key is None:
            out.append(f"its key {sig.key_id} is not in the key ring")
        elif signature_mac(sig, key) != sig.mac:
            out.append("its MAC does not match its fields (pointed at another version, or altered)")
    rv = sig.result_version
    if sig.content_sha256 != content or rv.content_sha256 != content:
        out.append(f"it signed content {sig.content_sha256[:12]}…, but the version now hashes to "
                   f"{content[:12]}… (the signed content was changed)")
    return out


def _entry_problem(entry: AuditEntry | None, trust: Trust) -> str | None:
    if entry is None:
        return None
    if entry.key_id is None:
        return None if legacy_entry_hash(entry) == entry.hash else f"its audit entry {entry.seq} was altered"
    key = trust.keyring.find(entry.key_id)
    if key is None:
        return f"its audit entry {entry.seq} is under key {entry.key_id}, which is not in the key ring"
    return None if keyed_entry_hash(entry, key) == entry.hash else f"its audit entry {entry.seq} was altered"


def check_signature(session: Session, sig: Signature, trust: Trust, *,
                    content: str | None = None) -> list[str]:
    """Why one signature is not valid (empty when it is): its MAC recomputed from the joined rows, the
    content of the version it signs, and its sign entry (present, matching, unaltered)."""
    from .results import content_sha256

    rv = sig.result_version
    problems = signature_problems(sig, trust, content=content_sha256(rv) if content is None else content)
    entry = session.get(AuditEntry, sig.audit_seq)
    new = _loads(entry.new_value) if entry is not None else None
    if (entry is None or entry.action != "sign" or entry.object_id != rv.result_id
            or not isinstance(new, dict)):
        problems.append(f"the audit trail has no sign entry for it at seq {sig.audit_seq}")
        return problems
    if (new.get("version") != rv.version or new.get("meaning") != sig.meaning
            or new.get("content_sha256") != sig.content_sha256
            or new.get("signature_id", sig.public_id) != sig.public_id or entry.ts != sig.signed_at):
        problems.append(f"it differs from its sign entry {entry.seq}")
    problem = _entry_problem(entry, trust)
    if problem is not None:
        problems.append(problem)
    return problems


def record_problems(session: Session, rv: ResultVersion, trust: Trust,
                    signatures: Iterable[Signature] = ()) -> tuple[list[str], dict[int, list[str]]]:
    """What does not match for one result version: its content against its stored hash and the hash its
    audit entry recorded, and each signature (by row id). Cheap enough to run whenever it is shown."""
    from .results import content_sha256

    content = content_sha256(rv)
    problems: list[str] = []
    if content != rv.content_sha256:
        problems.append(f"version {rv.version}'s content does not match its stored content hash: it was "
                        "edited after it was written")
    recorded = None
    for entry in session.scalars(select(AuditEntry).where(AuditEntry.object_id == rv.result_id,
                                                          AuditEntry.object_type == "result",
                                                          AuditEntry.action.in_(("create", "update")))
                                 .order_by(AuditEntry.seq)):
        new = _loads(entry.new_value)
        if isinstance(new, dict) and new.get("version") == rv.version:
            recorded = entry, new
    if recorded is None:
        problems.append(f"no audit entry records version {rv.version}")
    else:
        entry, new = recorded
        sha = new.get("content_sha256")
        if sha is None and entry.key_id is None and entry.action == "create":
            sha = sha256_hex(canonical_json(new))
        if sha is None:
            seal = session.scalar(select(AuditEntry).where(AuditEntry.object_type == KEY_OBJECT,
                                                           AuditEntry.action == "create")
                                  .order_by(AuditEntry.seq).limit(1))
            sealed = _loads(seal.new_value) if seal is not None else None
            sha = ((sealed or {}).get("sealed_content") or {}).get(f"result:{rv.public_id}")
        if sha != content:
            problems.append(f"version {rv.version}'s content does not match the hash its audit entry "
                            f"{entry.seq} recorded: the stored result was changed")
        problem = _entry_problem(entry, trust)
        if problem is not None:
            problems.append(problem)
    by_signature = {sig.id: check_signature(session, sig, trust, content=content) for sig in signatures}
    for sig in signatures:
        if by_signature[sig.id]:
            problems.append(f"the {sig.meaning} signature of {sig.signer_name} is not valid: "
                            + "; ".join(by_signature[sig.id]))
    return problems, by_signature
