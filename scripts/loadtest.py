"""Load and durability test of the workbench server (``make loadtest``).

1. Load: ``fluxwise serve`` on 127.0.0.1 with a fresh SQLite store in a temporary folder; N concurrent
   users (default 50, each with an own account and API token) upload a trial and fit it, again and
   again, for a fixed time (default 60 s) or a fixed number of requests, whichever comes first.
   Reported: requests, throughput, p50/p95/max latency per kind, errors (must be 0). Then every upload
   acknowledged with 2xx is looked up in the store: its bytes' SHA-256 must equal what was sent.
2. Kill: the server is started again on the same store; uploaders (some streaming their files
   slowly, so that bodies are in flight) run until the server process is killed with SIGKILL; the
   server is restarted and every acknowledged upload must be there, byte for byte (through the API
   and in the store), every stored upload must have its trial (nothing half-written), and
   ``fluxwise audit verify`` must find the audit chain intact.

The figures are printed and written to ``benchmarks/LOADTEST.md`` with the machine they came from.
Exit status 0 when there were no errors, nothing acknowledged was lost and the chain verified.

    python scripts/loadtest.py [--users 50] [--duration 60] [--max-requests 100000] [--no-write]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
SERVE = [sys.executable, "-c", "import sys; from fluxwise.cli import main; sys.exit(main())"]


# --- trials -------------------------------------------------------------------------------------------------

def synthetic_trial(rng: random.Random, points: int = 41) -> bytes:
    """A constant-pressure trial following standard blocking, V = Q0·t/(1 + Q0·t/Vmax) (Hermia 1982),
    sampled each minute with 0.2 % noise (never decreasing); Q0 and Vmax drawn at random so that every
    file differs."""
    q0, vmax = rng.uniform(0.3, 1.0), rng.uniform(40.0, 150.0)
    rows, previous = [], 0.0
    for i in range(points):
        t = float(i)
        v = q0 * t / (1 + q0 * t / vmax) * (1 + rng.gauss(0, 0.002) if i else 1)
        previous = max(v, previous)  # a balance reading never goes down
        rows.append(f"{t:g},{previous:.5f},1.0\n")
    return ("Filter area: 3.5 cm2\ntime (min),filtrate volume (mL),pressure (bar)\n" + "".join(rows)).encode()


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

    def start(self, timeout: float = 90.0) -> float:
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


# --- users --------------------------------------------------------------------------------------------------

@dataclass
class Account:
    email: str
    token: str
    project_id: str


def make_accounts(database_url: str, users: int, projects: int) -> list[Account]:
    """An organisation, ``projects`` projects and ``users`` scientists, each with an API token."""
    from argon2 import PasswordHasher

    from fluxwise.store import accounts
    from fluxwise.store import projects as store_projects
    from fluxwise.store.database import open_database

    # the passwords are never used (tokens are): hash them cheaply
    previous = accounts.set_password_hasher(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    db = open_database(database_url)
    out = []
    with db.session(write=True) as s:
        org = accounts.create_organisation(s, "Load test")
        owner = accounts.create_user(s, "owner@loadtest.local", "Owner", uuid.uuid4().hex)
        accounts.add_member(s, owner, org, "admin")
        project_ids = [store_projects.create_project(s, org, f"Load {i + 1}", actor=owner).public_id
                       for i in range(projects)]
        for i in range(users):
            user = accounts.create_user(s, f"user{i + 1}@loadtest.local", f"User {i + 1}", uuid.uuid4().hex)
            accounts.add_member(s, user, org, "scientist")
            token, _ = accounts.create_api_token(s, user, "load test")
            out.append(Account(user.email, token, project_ids[i % projects]))
        s.commit()
    db.dispose()
    accounts.set_password_hasher(previous)
    return out


# --- load ---------------------------------------------------------------------------------------------------

@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"upload": [], "fit": []})
    errors: list[str] = field(default_factory=list)
    acked: dict[str, str] = field(default_factory=dict)  # upload id -> SHA-256 of the bytes sent
    requests: int = 0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


async def user_loop(client: httpx.AsyncClient, account: Account, stats: Stats, rng: random.Random,
                    deadline: float, budget: list[int]) -> None:
    headers = {"Authorization": f"Bearer {account.token}"}
    while time.monotonic() < deadline and budget[0] > 0:
        budget[0] -= 2
        content = synthetic_trial(rng)
        digest = hashlib.sha256(content).hexdigest()
        name = f"trial-{uuid.uuid4().hex[:12]}.csv"
        t0 = time.perf_counter()
        try:
            r = await client.post(f"/api/projects/{account.project_id}/uploads", headers=headers,
                                  files={"file": (name, content, "text/csv")})
        except httpx.HTTPError as exc:
            stats.errors.append(f"upload: {type(exc).__name__}: {exc}")
            continue
        stats.latencies["upload"].append(time.perf_counter() - t0)
        stats.requests += 1
        if r.status_code != 201:
            stats.errors.append(f"upload: HTTP {r.status_code}: {r.text[:200]}")
            continue
        body = r.json()
        stats.acked[body["upload"]["id"]] = digest
        if body["upload"]["sha256"] != digest:
            stats.errors.append(f"upload {body['upload']['id']}: the server's SHA-256 is not the sent bytes'")
        t0 = time.perf_counter()
        try:
            r = await client.post(f"/api/trials/{body['trial']['id']}/fit", headers=headers, json={})
        except httpx.HTTPError as exc:
            stats.errors.append(f"fit: {type(exc).__name__}: {exc}")
            continue
        stats.latencies["fit"].append(time.perf_counter() - t0)
        stats.requests += 1
        if r.status_code != 201:
            stats.errors.append(f"fit: HTTP {r.status_code}: {r.text[:200]}")


async def run_load(base: str, accounts_: list[Account], duration: float, max_requests: int,
                   seed: int) -> tuple[Stats, float]:
    stats = Stats()
    budget = [max_requests]
    # Idle connections are dropped by the client before uvicorn's 5 s keep-alive timeout drops them,
    # so that no request goes out on a connection the server is closing at that moment.
    limits = httpx.Limits(max_connections=len(accounts_) + 10, max_keepalive_connections=len(accounts_) + 10,
                          keepalive_expiry=2.0)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:
        began = time.monotonic()
        deadline = began + duration
        await asyncio.gather(*(user_loop(client, a, stats, random.Random(seed + i), deadline, budget)
                               for i, a in enumerate(accounts_)))
        return stats, time.monotonic() - began


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


# --- kill test ----------------------------------------------------------------------------------------------

async def slow_upload(client: httpx.AsyncClient, account: Account, content: bytes, name: str,
                      chunk: int = 256, pause: float = 0.05) -> httpx.Response:
    """An upload whose multipart body trickles in, so that the server is killed while reading it."""
    boundary = uuid.uuid4().hex
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: text/csv\r\n\r\n").encode()
    body = head + content + f"\r\n--{boundary}--\r\n".encode()

    async def stream():
        for i in range(0, len(body), chunk):
            yield body[i:i + chunk]
            await asyncio.sleep(pause)

    return await client.post(f"/api/projects/{account.project_id}/uploads", content=stream(),
                             headers={"Authorization": f"Bearer {account.token}",
                                      "Content-Type": f"multipart/form-data; boundary={boundary}",
                                      "Content-Length": str(len(body))})


async def run_kill(server: Server, accounts_: list[Account], seed: int, kill_after: float) -> dict:
    acked: dict[str, str] = {}
    refused: list[str] = []
    in_flight = {"n": 0, "max_at_kill": 0}
    stop = asyncio.Event()

    async def uploader(i: int, account: Account, slow: bool):
        rng = random.Random(seed + 1000 + i)
        headers = {"Authorization": f"Bearer {account.token}"}
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            while not stop.is_set():
                content = synthetic_trial(rng, points=400 if slow else 41)
                digest = hashlib.sha256(content).hexdigest()
                name = f"kill-{uuid.uuid4().hex[:12]}.csv"
                in_flight["n"] += 1
                try:
                    if slow:
                        r = await slow_upload(client, account, content, name)
                    else:
                        r = await client.post(f"/api/projects/{account.project_id}/uploads", headers=headers,
                                              files={"file": (name, content, "text/csv")})
                except httpx.HTTPError:
                    return  # the server is gone: this request was in flight, not acknowledged
                finally:
                    in_flight["n"] -= 1
                if r.status_code == 201:
                    acked[r.json()["upload"]["id"]] = digest
                else:
                    refused.append(f"HTTP {r.status_code}: {r.text[:200]}")

    tasks = [asyncio.create_task(uploader(i, a, slow=i % 4 == 0)) for i, a in enumerate(accounts_)]
    await asyncio.sleep(kill_after)
    in_flight["max_at_kill"] = in_flight["n"]
    server.kill()
    stop.set()
    await asyncio.gather(*tasks)
    return {"acked": acked, "refused": refused, "in_flight_at_kill": in_flight["max_at_kill"]}


async def fetch_all(base: str, accounts_: list[Account], acked: dict[str, str]) -> list[str]:
    """Download every acknowledged upload through the API; the ids whose bytes differ or are missing."""
    bad = []
    headers = {"Authorization": f"Bearer {accounts_[0].token}"}
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        for upload_id, digest in acked.items():
            r = await client.get(f"/api/uploads/{upload_id}/content", headers=headers)
            if r.status_code != 200 or hashlib.sha256(r.content).hexdigest() != digest \
                    or r.headers.get("x-content-sha256") != digest:
                bad.append(upload_id)
    return bad


# --- report -------------------------------------------------------------------------------------------------

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


def ms(x: float) -> str:
    return f"{x * 1000:.0f}"


def markdown(args, m: dict, load: dict, kill: dict) -> str:
    st = load["store"]
    intact = st["acked"] - len(st["missing"]) - len(st["corrupt"])
    lines = [
        "# Load and durability test of the workbench server",
        "",
        f"Run {load['date']} with `python scripts/loadtest.py --users {args.users} "
        f"--duration {args.duration:g}` "
        "(`make loadtest`). The server is `fluxwise serve` (one uvicorn process) on 127.0.0.1, the store a "
        "fresh SQLite file (WAL); client and server share the machine.",
        "",
        "## Machine",
        "",
        "| | |", "|---|---|",
        f"| CPU | {m['cpu']} |", f"| cores | {m['cores']} |", f"| memory | {m['memory']} |",
        f"| OS | {m['os']} |", f"| Python | {m['python']} |", f"| SQLite | {m['sqlite']} |",
        f"| load average (1/5/15 min) before the run | {load['load_before']} |",
        f"| fluxwise | {m['fluxwise']} |",
        "",
        f"## Load: {args.users} users uploading a trial and fitting it, for {load['elapsed']:.0f} s",
        "",
        "Each user uploads a synthetic 41-point constant-pressure trial (about 0.7 kB, CSV) and fits the "
        "nine fouling models to it, then starts again.",
        "",
        "| request | count | p50 [ms] | p95 [ms] | max [ms] |", "|---|---:|---:|---:|---:|",
    ]
    for kind in ("upload", "fit"):
        v = load["latencies"][kind]
        lines.append(f"| {kind} | {len(v)} | {ms(percentile(v, .5))} | {ms(percentile(v, .95))} | "
                     f"{ms(max(v) if v else float('nan'))} |")
    v = load["latencies"]["upload"] + load["latencies"]["fit"]
    lines += [f"| all | {len(v)} | {ms(percentile(v, .5))} | {ms(percentile(v, .95))} | "
              f"{ms(max(v) if v else float('nan'))} |", "",
              f"- throughput: {load['requests'] / load['elapsed']:.1f} requests/s "
              f"({len(load['latencies']['fit']) / load['elapsed']:.1f} trials uploaded and fitted per s)",
              f"- errors: **{len(load['errors'])}**",
              f"- acknowledged uploads found in the store with the bytes sent (SHA-256): "
              f"**{intact} of {st['acked']}**; uploads without their trial: {st['uploads_without_trial']}",
              f"- `fluxwise audit verify`: {load['audit']}", "",
              "## Kill: SIGKILL mid-upload, restart, check",
              "",
              f"{kill['uploaders']} uploaders (one in four streaming its file slowly, so that bodies are in "
              f"flight) ran for {kill['kill_after']:g} s; then the server process was killed with SIGKILL "
              f"({kill['in_flight_at_kill']} requests in flight) and started again on the same store.", "",
              f"- acknowledged uploads before the kill: {kill['acked']}",
              f"- found after the restart, byte for byte (API download and store): "
              f"**{kill['acked'] - kill['lost']} of {kill['acked']}** (lost: {kill['lost']})",
              f"- uploads in the store: {kill['stored']} (committed but not acknowledged before the kill: "
              f"{kill['stored'] - kill['acked'] - load['store']['stored']}); uploads without their trial: "
              f"{kill['uploads_without_trial']}",
              f"- refused uploads (non-2xx): {kill['refused']}",
              f"- restart time: {kill['restart_s']:.1f} s",
              f"- `fluxwise audit verify` after the restart: {kill['audit']}", "",
              "`fluxwise serve` runs request handlers on 24 threads and gives the database pool two "
              "connections per thread, because a handler of the HTTP API holds a read session while it "
              "opens a write session. With SQLAlchemy's default pool (5 + 10 connections) this load "
              "stalled until the pool timed out after 30 s (111 errors, HTTP 500).", "",
              "SQLite runs in WAL mode with `synchronous=FULL`: the WAL is fsynced at every commit, so a "
              "committed (acknowledged) transaction survives the death of the process (this test) and the "
              "machine losing power; PostgreSQL with its defaults (fsync and synchronous_commit on) keeps "
              "them too. After each commit that added audit entries the newest is also appended to the "
              "fsynced checkpoint log.", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, default=50, help="concurrent users (default 50)")
    p.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    p.add_argument("--max-requests", type=int, default=100_000, help="stop after this many requests")
    p.add_argument("--projects", type=int, default=5, help="projects the users share (default 5)")
    p.add_argument("--kill-uploaders", type=int, default=20, help="uploaders in the kill test (default 20)")
    p.add_argument("--kill-after", type=float, default=3.0, help="seconds before SIGKILL (default 3)")
    p.add_argument("--seed", type=int, default=20250101)
    p.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "LOADTEST.md")
    p.add_argument("--no-write", action="store_true", help="print only; do not write --output")
    p.add_argument("--keep", action="store_true", help="keep the temporary store folder")
    args = p.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="fluxwise-loadtest-"))
    audit_dir = Path(tempfile.mkdtemp(prefix="fluxwise-loadtest-audit-"))  # the key: outside the data folder
    os.environ["FLUXWISE_AUDIT_DIR"] = str(audit_dir)
    database_url = f"sqlite:///{tmp / 'fluxwise.sqlite3'}"
    env = {k: v for k, v in os.environ.items() if k not in ("FLUXWISE_DATABASE_URL",)}
    env.update(FLUXWISE_DATA_DIR=str(tmp), FLUXWISE_DATABASE_URL=database_url, PYTHONUNBUFFERED="1")
    log = tmp / "server.log"
    servers: list[Server] = []
    ok = True
    try:
        print(f"store: {database_url}")
        load_before = " / ".join(f"{x:.2f}" for x in os.getloadavg())  # other work on the machine
        accounts_ = make_accounts(database_url, args.users, args.projects)
        server = Server(tmp, env, log)
        servers.append(server)
        print(f"server started in {server.start():.1f} s on {server.url}")
        print(f"load: {args.users} users uploading and fitting for {args.duration:g} s …", flush=True)
        stats, elapsed = asyncio.run(run_load(server.url, accounts_, args.duration, args.max_requests,
                                              args.seed))
        server.stop()
        store = check_store(database_url, stats.acked)
        code, text = audit_verify(database_url, env)
        load = {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "load_before": load_before,
                "latencies": stats.latencies,
                "errors": stats.errors, "requests": stats.requests, "elapsed": elapsed, "store": store,
                "audit": verdict(code, text)}
        for kind in ("upload", "fit"):
            v = stats.latencies[kind]
            print(f"  {kind:6s} n={len(v):6d}  p50={ms(percentile(v, .5)):>6s} ms  "
                  f"p95={ms(percentile(v, .95)):>6s} ms  max={ms(max(v) if v else float('nan')):>6s} ms")
        print(f"  throughput {stats.requests / elapsed:.1f} requests/s; errors {len(stats.errors)}")
        for e in stats.errors[:10]:
            print(f"    {e}")
        print(f"  acknowledged uploads in the store, SHA-256 equal: "
              f"{store['acked'] - len(store['missing']) - len(store['corrupt'])} of {store['acked']}; "
              f"without trial: {store['uploads_without_trial']}")
        print(f"  audit verify: exit {code}: {text.splitlines()[0]}")
        ok &= not stats.errors and not store["missing"] and not store["corrupt"] and code == 0 \
            and store["uploads_without_trial"] == 0

        print(f"kill: {args.kill_uploaders} uploaders, SIGKILL after {args.kill_after:g} s …", flush=True)
        server = Server(tmp, env, log)
        servers.append(server)
        server.start()
        killed = asyncio.run(run_kill(server, accounts_[:args.kill_uploaders], args.seed, args.kill_after))
        restart_s = server.start()
        bad_api = asyncio.run(fetch_all(server.url, accounts_, killed["acked"]))
        server.stop()
        after = check_store(database_url, killed["acked"])
        code2, text2 = audit_verify(database_url, env)
        lost = len(set(bad_api) | set(after["missing"]) | set(after["corrupt"]))
        kill = {"uploaders": args.kill_uploaders, "kill_after": args.kill_after,
                "in_flight_at_kill": killed["in_flight_at_kill"], "acked": len(killed["acked"]), "lost": lost,
                "stored": after["stored"], "uploads_without_trial": after["uploads_without_trial"],
                "refused": len(killed["refused"]), "restart_s": restart_s,
                "audit": verdict(code2, text2)}
        print(f"  acknowledged {kill['acked']}, in flight at the kill {kill['in_flight_at_kill']}, "
              f"lost {lost}, refused {kill['refused']}, without trial {after['uploads_without_trial']}")
        for e in killed["refused"][:10]:
            print(f"    {e}")
        print(f"  restart {restart_s:.1f} s; audit verify: exit {code2}: {text2.splitlines()[0]}")
        ok &= lost == 0 and code2 == 0 and after["uploads_without_trial"] == 0 and not killed["refused"]

        report = markdown(args, machine(), load, kill)
        if not args.no_write:
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(report, encoding="utf-8")
            print(f"figures written to {args.output}")
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        for server in servers:
            if server.proc is not None and server.proc.poll() is None:
                server.kill()
        if args.keep:
            print(f"store kept in {tmp} (audit key and checkpoint log in {audit_dir})")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(audit_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
