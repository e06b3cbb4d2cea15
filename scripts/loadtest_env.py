"""What scripts/loadtest.py runs on: trial files, the server, a throwaway PostgreSQL cluster, accounts,
and the checks of the store afterwards."""

from __future__ import annotations

import hashlib
import io
import os
import platform
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
SERVE = [sys.executable, "-c", "import sys; from fluxwise.cli import main; sys.exit(main())"]


# --- trials -------------------------------------------------------------------------------------------------

def _blocking_volumes(rng: random.Random, times, q0: float, vmax: float, noise: float = 0.002):
    """Filtrate volumes following standard blocking, V = Q0·t/(1 + Q0·t/Vmax) (Hermia 1982), with
    relative noise, never decreasing (a balance reading never goes down)."""
    out, previous = [], 0.0
    for t in times:
        v = q0 * t / (1 + q0 * t / vmax) * (1 + rng.gauss(0, noise) if t else 1)
        previous = max(v, previous)
        out.append(previous)
    return out


def synthetic_trial(rng: random.Random, points: int = 41) -> bytes:
    """A constant-pressure bench trial sampled each minute (CSV, about 0.7 kB for 41 points); Q0 and
    Vmax drawn at random so that every file differs."""
    q0, vmax = rng.uniform(0.3, 1.0), rng.uniform(40.0, 150.0)
    times = [float(i) for i in range(points)]
    rows = "".join(f"{t:g},{v:.5f},1.0\n" for t, v in zip(times, _blocking_volumes(rng, times, q0, vmax),
                                                          strict=True))
    return ("Filter area: 3.5 cm2\ntime (min),filtrate volume (mL),pressure (bar)\n" + rows).encode()


def synthetic_xlsx(rng: random.Random, points: int = 41) -> bytes:
    """The same kind of trial as an Excel workbook (area in the sheet's first row)."""
    import openpyxl

    q0, vmax = rng.uniform(0.3, 1.0), rng.uniform(40.0, 150.0)
    times = [float(i) for i in range(points)]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Filter area", "3.5 cm2"])
    ws.append(["time (min)", "filtrate volume (mL)", "pressure (bar)"])
    for t, v in zip(times, _blocking_volumes(rng, times, q0, vmax), strict=True):
        ws.append([t, round(v, 5), 1.0])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def synthetic_rig_log(rng: random.Random, hours: float = 20.0) -> bytes:
    """A rig's 1 Hz log of a long constant-pressure run (time, volume, pressure, temperature; about
    2.5 MB for 20 h): the multi-MB upload of the mix."""
    q0, vmax = rng.uniform(0.05, 0.1), rng.uniform(3000.0, 6000.0)
    n = int(hours * 3600)
    times = [float(i) for i in range(n)]
    volumes = _blocking_volumes(rng, [t / 60 for t in times], q0, vmax, noise=0.0005)
    rows = [f"{int(t)},{v:.4f},{1.0 + rng.gauss(0, 0.002):.4f},{21.0 + rng.gauss(0, 0.05):.2f}\n"
            for t, v in zip(times, volumes, strict=True)]
    return ("Filter area: 17.7 cm2\ntime (s),filtrate volume (mL),pressure (bar),temperature (C)\n"
            + "".join(rows)).encode()


@dataclass(frozen=True)
class TrialFile:
    kind: str  # csv, xlsx or rig-log
    name: str
    content: bytes
    content_type: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


#: The upload mix: share of small CSV trials, Excel workbooks and multi-MB rig logs
MIX = (("csv", 0.88), ("xlsx", 0.10), ("rig-log", 0.02))
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class TrialFiles:
    """Draws trial files in :data:`MIX` proportions; rig logs are made once (a few seconds each) and
    made unique by a last row, so every upload differs."""

    def __init__(self, seed: int, rig_logs: int = 2):
        rng = random.Random(seed)
        self._rig_logs = [synthetic_rig_log(rng) for _ in range(rig_logs)]

    def draw(self, rng: random.Random) -> TrialFile:
        x, kind = rng.random(), MIX[-1][0]
        for k, share in MIX:
            if x < share:
                kind = k
                break
            x -= share
        tag = uuid.uuid4().hex[:12]
        if kind == "csv":
            return TrialFile(kind, f"trial-{tag}.csv", synthetic_trial(rng), "text/csv")
        if kind == "xlsx":
            return TrialFile(kind, f"trial-{tag}.xlsx", synthetic_xlsx(rng), _XLSX)
        base = rng.choice(self._rig_logs)
        last = base.rstrip(b"\n").rsplit(b"\n", 1)[1].split(b",")
        extra = f"{int(last[0]) + 1},{float(last[1]) + rng.uniform(0.001, 0.01):.4f},1.0000,21.00\n"
        return TrialFile(kind, f"rig-{tag}.csv", base + extra.encode(), "text/csv")


# --- the server ---------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``fluxwise serve`` in a child process on 127.0.0.1."""

    def __init__(self, data_dir: Path, env: dict[str, str], log: Path):
        self.data_dir, self.env, self.log = data_dir, env, log
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 180.0) -> float:
        began = time.perf_counter()
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([*SERVE, "serve", "--host", "127.0.0.1", "--port", str(self.port),
                                          "--log-level", "warning"], env=self.env, stdout=log,
                                         stderr=subprocess.STDOUT, cwd=self.data_dir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}; see {self.log}")
            try:
                if httpx.get(self.url + "/login", timeout=2).status_code == 200:
                    return time.perf_counter() - began
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the server did not answer within {timeout:.0f} s; see {self.log}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()



# --- PostgreSQL ---------------------------------------------------------------------------------------------

class PostgresCluster:
    """A throwaway PostgreSQL cluster in a temporary folder on 127.0.0.1 (as the tests start one), with
    its durability settings left at their defaults (fsync and synchronous_commit on), as in production."""

    def __init__(self):
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[4]))
        initdb = found[-1] if found else (Path(shutil.which("initdb")) if shutil.which("initdb") else None)
        if initdb is None:
            raise RuntimeError("PostgreSQL binaries (initdb, pg_ctl) not found; run scripts/test-services.sh")
        self.bindir = initdb.parent
        self.as_postgres = os.geteuid() == 0  # initdb refuses to run as root
        self.root = Path(tempfile.mkdtemp(prefix="fluxwise-loadtest-pg-"))
        self.datadir, self.log, self.port = self.root / "data", self.root / "server.log", free_port()

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
        if proc.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}\n{log}")

    def start(self) -> str:
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.datadir), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-locale")
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c max_connections=300"
        self._run("pg_ctl", "-D", str(self.datadir), "-l", str(self.log), "-o", opts, "-w", "-t", "120",
                  "start")
        import psycopg

        admin = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("CREATE DATABASE fluxwise")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/fluxwise"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


# --- accounts -----------------------------------------------------------------------------------------------

@dataclass
class Account:
    email: str
    password: str
    token: str
    project_id: str


def make_accounts(database_url: str, users: int, projects: int) -> list[Account]:
    """An organisation, ``projects`` projects and ``users`` scientists, each with a password (hashed
    with the workbench's own argon2 settings, so that sign-ins cost what they cost) and an API token."""
    from fluxwise.store import accounts
    from fluxwise.store import projects as store_projects
    from fluxwise.store.database import open_database

    db = open_database(database_url)
    out = []
    try:
        with db.session(write=True) as s:
            org = accounts.create_organisation(s, "Load test")
            owner = accounts.create_user(s, "owner@loadtest.local", "Owner", uuid.uuid4().hex)
            accounts.add_member(s, owner, org, "admin")
            project_ids = [store_projects.create_project(s, org, f"Load {i + 1}", actor=owner).public_id
                           for i in range(projects)]
            for i in range(users):
                password = f"load test {uuid.uuid4().hex}"
                user = accounts.create_user(s, f"user{i + 1}@loadtest.local", f"User {i + 1}", password)
                accounts.add_member(s, user, org, "scientist")
                token, _ = accounts.create_api_token(s, user, "load test")
                out.append(Account(user.email, password, token, project_ids[i % projects]))
            s.commit()
    finally:
        db.dispose()
    return out


# --- checks in the store ------------------------------------------------------------------------------------

def check_store(database_url: str, acked: dict[str, str]) -> dict:
    """Every acknowledged upload is stored with the bytes sent; every stored upload has its trial."""
    from sqlalchemy import func, select

    from fluxwise.store.database import open_database
    from fluxwise.store.models import TrialRecord, Upload

    db = open_database(database_url, create=False)
    missing, corrupt = [], []
    try:
        with db.session() as s:
            for upload_id, digest in acked.items():
                row = s.execute(select(Upload.sha256, Upload.content)
                                .where(Upload.public_id == upload_id)).first()
                if row is None:
                    missing.append(upload_id)
                elif row.sha256 != digest or hashlib.sha256(row.content).hexdigest() != digest:
                    corrupt.append(upload_id)
            uploads = s.scalar(select(func.count()).select_from(Upload))
            orphans = s.scalar(select(func.count()).select_from(Upload).where(
                ~Upload.id.in_(select(TrialRecord.upload_id))))
    finally:
        db.dispose()
    return {"acked": len(acked), "missing": missing, "corrupt": corrupt, "stored": uploads,
            "uploads_without_trial": orphans}


def verdict(code: int, text: str) -> str:
    """'exit 0: audit trail: 218 entries checked, chain intact' from the output of audit verify."""
    return f"exit {code}: {text.splitlines()[0] if text else ''}"


def audit_verify(database_url: str, env: dict[str, str]) -> tuple[int, str]:
    proc = subprocess.run([*SERVE, "audit", "verify", "--database-url", database_url], env=env,
                          capture_output=True, text=True, timeout=300)
    return proc.returncode, (proc.stdout + proc.stderr).strip()



# --- the machine --------------------------------------------------------------------------------------------

def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(next(x for x in Path("/proc/meminfo").read_text().splitlines()
                      if x.startswith("MemTotal")).split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    from fluxwise import __version__

    return {"cpu": cpu, "cores": str(os.cpu_count()), "memory": mem, "os": platform.platform(),
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version, "fluxwise": __version__}


