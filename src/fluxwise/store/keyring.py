"""The audit key: where it is kept, how it is named, and the MACs made with it.

A store's audit trail, its signatures and its checkpoints are MACs (HMAC-SHA-256, RFC 2104) under a
256-bit key ``K`` kept *outside* the database, so that someone who can write the database file but
not read the key cannot rebuild the chain after changing it. Each use has its own subkey::

    K_entry      = HMAC(K, "fluxwise audit entry v1")
    K_signature  = HMAC(K, "fluxwise signature v1")
    K_checkpoint = HMAC(K, "fluxwise checkpoint v1")
    key_id       = HMAC(K, "fluxwise key id v1")[:16 hex digits]

(the construction of NIST SP 800-108's KDF in feedback-free form with HMAC as the PRF), so a MAC of
one kind can never stand in for another, and the key id — recorded with every entry — names the key
without revealing it.

Where keys live (the *audit folder*): ``$FLUXWISE_AUDIT_DIR``, else the platform's user config
directory for ``fluxwise-audit`` (``~/.config/fluxwise-audit`` on Linux), never inside the folder of
a SQLite store. ``keys/<key_id>.key`` holds one key each (base64, mode 0600); old keys stay there after
a rotation so that older entries can still be verified. ``$FLUXWISE_AUDIT_KEY`` may instead hold the
current key itself (base64 or hex; e.g. from a container secret), and ``$FLUXWISE_AUDIT_KEY_FILE``
the path of a file holding it. The checkpoint logs live in ``checkpoints/`` of the same folder (see
:mod:`fluxwise.store.checkpoints`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import FluxwiseError

ENV_AUDIT_DIR = "FLUXWISE_AUDIT_DIR"
ENV_AUDIT_KEY = "FLUXWISE_AUDIT_KEY"
ENV_AUDIT_KEY_FILE = "FLUXWISE_AUDIT_KEY_FILE"
KEY_BYTES = 32

ENTRY = "fluxwise audit entry v1"
SIGNATURE = "fluxwise signature v1"
CHECKPOINT = "fluxwise checkpoint v1"
_KEY_ID = "fluxwise key id v1"


class AuditKeyError(FluxwiseError):
    """The audit key is missing, unreadable, in the wrong place or not the store's key."""


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def key_id_of(secret: bytes) -> str:
    """The public name of a key: the first 16 hex digits of HMAC(K, "fluxwise key id v1")."""
    return _hmac(secret, _KEY_ID.encode()).hex()[:16]


@dataclass(frozen=True)
class AuditKey:
    """One audit key: its id and the secret (never printed: ``repr`` shows the id only)."""

    key_id: str
    secret: bytes = field(repr=False)

    @classmethod
    def from_secret(cls, secret: bytes) -> AuditKey:
        if len(secret) != KEY_BYTES:
            raise AuditKeyError(f"an audit key is {KEY_BYTES} bytes; this one has {len(secret)}")
        return cls(key_id_of(secret), secret)

    def subkey(self, label: str) -> bytes:
        return _hmac(self.secret, label.encode())

    def mac(self, label: str, text: str) -> str:
        """HMAC-SHA-256 (hex) of ``text`` (UTF-8) under the subkey for ``label``."""
        return hmac.new(self.subkey(label), text.encode("utf-8"), hashlib.sha256).hexdigest()

    def text(self) -> str:
        """The key as kept in a key file or ``$FLUXWISE_AUDIT_KEY`` (URL-safe base64)."""
        return base64.urlsafe_b64encode(self.secret).decode().rstrip("=")


def parse_key(text: str, where: str) -> AuditKey:
    """A key from its text (URL-safe or standard base64, or 64 hex digits); ``where`` names the source."""
    text = (text or "").strip()
    secret: bytes | None = None
    if len(text) == 2 * KEY_BYTES:
        try:
            secret = bytes.fromhex(text)
        except ValueError:
            secret = None
    if secret is None:
        try:
            padded = text + "=" * (-len(text) % 4)
            secret = base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_"))
        except (binascii.Error, ValueError):
            secret = b""
    if len(secret) != KEY_BYTES:
        raise AuditKeyError(f"{where} does not hold an audit key ({KEY_BYTES} bytes as base64 or hex)")
    return AuditKey.from_secret(secret)


def default_audit_dir() -> Path:
    """``$FLUXWISE_AUDIT_DIR``, else the user config directory of ``fluxwise-audit``."""
    env = os.environ.get(ENV_AUDIT_DIR)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("fluxwise-audit", appauthor=False))


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # e.g. Windows: directories cannot be opened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_private_file(path: Path, data: bytes, *, exclusive: bool = True) -> None:
    """Write ``data`` to a new file readable by its owner only, fsynced with its folder."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    _fsync_dir(path.parent)


class KeyRing:
    """The keys of the audit folder (and the one in the environment), looked up by key id."""

    def __init__(self, directory: Path, env_key: AuditKey | None = None, env_source: str | None = None):
        self.directory = Path(directory)
        self.env_key = env_key
        self.env_source = env_source
        self._cache: dict[str, AuditKey] = {} if env_key is None else {env_key.key_id: env_key}

    @classmethod
    def from_env(cls, directory: Path | None = None) -> KeyRing:
        directory = default_audit_dir() if directory is None else Path(directory)
        env_key, source = None, None
        if os.environ.get(ENV_AUDIT_KEY):
            source = f"${ENV_AUDIT_KEY}"
            env_key = parse_key(os.environ[ENV_AUDIT_KEY], source)
        elif os.environ.get(ENV_AUDIT_KEY_FILE):
            path = Path(os.environ[ENV_AUDIT_KEY_FILE]).expanduser()
            source = f"{path} (${ENV_AUDIT_KEY_FILE})"
            try:
                env_key = parse_key(path.read_text(encoding="ascii"), source)
            except (OSError, UnicodeDecodeError) as exc:
                raise AuditKeyError(f"cannot read the audit key {source}: {exc}") from None
        return cls(directory, env_key, source)

    @property
    def keys_dir(self) -> Path:
        return self.directory / "keys"

    def path_of(self, key_id: str) -> Path:
        return self.keys_dir / f"{key_id}.key"

    def find(self, key_id: str) -> AuditKey | None:
        """The key named ``key_id``, or None when neither the environment nor the folder has it."""
        key = self._cache.get(key_id)
        if key is not None:
            return key
        if not (isinstance(key_id, str) and len(key_id) == 16
                and all(c in "0123456789abcdef" for c in key_id)):
            return None
        path = self.path_of(key_id)
        try:
            text = path.read_text(encoding="ascii")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise AuditKeyError(f"cannot read the audit key file {path}: {exc}") from None
        key = parse_key(text, str(path))
        if key.key_id != key_id:
            raise AuditKeyError(f"the key file {path} holds key {key.key_id}, not {key_id}")
        self._cache[key_id] = key
        return key

    def get(self, key_id: str) -> AuditKey:
        """The key named ``key_id``; :class:`AuditKeyError` saying where it was looked for if absent."""
        key = self.find(key_id)
        if key is None:
            env = (f"; {self.env_source} holds key {self.env_key.key_id}, another key"
                   if self.env_key is not None else f" (or in ${ENV_AUDIT_KEY})")
            raise AuditKeyError(f"the audit key {key_id} of this store is missing: it is not at "
                                f"{self.path_of(key_id)}{env}. Restore the key from its backup; without it "
                                "the trail cannot be verified or extended")
        return key

    def create(self) -> AuditKey:
        """A key for a store that has none: the environment's key if one is given, else a new random key
        written to the folder (fsynced before it is used)."""
        if self.env_key is not None:
            return self.env_key
        key = AuditKey.from_secret(secrets.token_bytes(KEY_BYTES))
        self.keep(key)
        return key

    def new_key(self) -> AuditKey:
        """A new random key (for a rotation), written to the folder."""
        key = AuditKey.from_secret(secrets.token_bytes(KEY_BYTES))
        self.keep(key)
        return key

    def keep(self, key: AuditKey) -> Path:
        """Write ``key`` to ``keys/<key_id>.key`` unless it is there already; returns the path."""
        path = self.path_of(key.key_id)
        if not path.exists():
            write_private_file(path, (key.text() + "\n").encode("ascii"))
        self._cache[key.key_id] = key
        return path


def is_within(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or inside it (after resolving links)."""
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True
