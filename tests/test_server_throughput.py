"""The server under load: the science on a pool of worker processes gives the same results and the same
errors as in the request thread, and overload gets a fast 503 with Retry-After instead of a hang."""

from __future__ import annotations

import asyncio
import json
import os
import time

import pytest

from fluxwise.api.admission import Admission, AdmissionLimits
from fluxwise.api.upload_checks import parse_upload
from fluxwise.api.workers import Science, ScienceBusy, SciencePool
from fluxwise.errors import FluxwiseError, InputError
from test_api import TRIAL_CSV, new_project, trial_xlsx, upload


@pytest.fixture(scope="module")
def pool():
    """A pool whose worker was started from a thread that has ended since (as the server's request
    threads do): the worker must live on."""
    import threading

    science = SciencePool(1)
    starter = threading.Thread(target=science.warm)
    starter.start()
    starter.join()
    time.sleep(0.5)
    yield science
    science.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_worker_pool_gives_the_results_of_the_request_thread(pool, db, make_user):
    from fastapi.testclient import TestClient

    from fluxwise.api import create_app
    from fluxwise.api.deps import ApiSettings

    member = make_user("ana@a.example")
    results = {}
    for name, science in (("thread", Science()), ("pool", pool)):
        app = create_app(db=db, settings=ApiSettings(secret_key="test-secret"), science=science)
        with TestClient(app) as client:
            project = new_project(client, member, f"P {name}")
            out = []
            for filename, content in (("run.csv", TRIAL_CSV), ("run.xlsx", trial_xlsx())):
                trial = upload(client, member, project, content=content, filename=filename)["trial"]
                fit = client.post(f"/api/trials/{trial['id']}/fit", headers=member.headers, json={})
                assert fit.status_code == 201, fit.text
                size = client.post(f"/api/trials/{trial['id']}/size", headers=member.headers,
                                   json={"batch_volume": "1000 L"})
                assert size.status_code == 201, size.text
                report = client.get(f"/api/results/{size.json()['id']}/report", headers=member.headers)
                assert report.status_code == 200 and size.json()["id"] in report.text
                out.append((trial["points"], trial["area_m2"], fit.json()["data"], size.json()["data"]))
            # an error raised in a worker keeps its status and its message naming the file
            bad = client.post(f"/api/projects/{project}/uploads", headers=member.headers,
                              files={"file": ("broken.csv", b"time (min),volume (mL)\n0,0\n1,abc\n",
                                              "text/csv")})
            assert bad.status_code == 422 and "broken.csv" in bad.json()["detail"]
            out.append(bad.json()["detail"])
            results[name] = out
    assert json.dumps(results["pool"], sort_keys=True) == json.dumps(results["thread"], sort_keys=True)
    assert results["pool"][0][2]["best_model"]


def test_an_error_crosses_the_process_boundary_with_its_class_and_fields(pool):
    from fluxwise.api import science

    trial = parse_upload("x.csv", TRIAL_CSV, area=None, mode=None, density=None)
    cases = ((parse_upload, ("x.csv", TRIAL_CSV)), (science.size, (trial, {"batch_volume": "9 parsecs"})))
    for fn, args in cases:
        kwargs = {"area": "13 parsecs", "mode": None, "density": None} if fn is parse_upload else {}
        with pytest.raises(FluxwiseError) as expected:
            fn(*args, **kwargs)
        with pytest.raises(FluxwiseError) as raised:
            pool.run(fn, *args, **kwargs)
        assert type(raised.value) is type(expected.value)
        assert str(raised.value) == str(expected.value)
        # its public fields, and its wording for every door (a parse error's cause names a temporary
        # folder of its own process, removed from every wording)
        public = lambda e: {k: v for k, v in vars(e).items() if not k.startswith("_")}  # noqa: E731
        assert public(raised.value) == public(expected.value)
        for door in ("cli", "api", "web"):
            assert raised.value.for_door(door) == expected.value.for_door(door)
            assert "fluxwise-upload-" not in raised.value.for_door(door)
    assert isinstance(raised.value, InputError) and raised.value.field == "batch_volume"


def test_a_computation_past_its_time_is_a_503_not_a_hang():
    slow = SciencePool(1, timeout_s=0.5)
    try:
        slow.warm()
        with pytest.raises(ScienceBusy, match="overloaded"):  # raised at 0.5 s, not after the 30 s sleep
            slow.run(time.sleep, 30)
    finally:
        slow.close()


# --- admission ----------------------------------------------------------------------------------------------

async def _call(app, path="/api/x", accept="application/json", language=None):
    """One request through the ASGI ``app``; (status, headers, body, seconds)."""
    sent = []
    headers = [(b"accept", accept.encode())] + ([(b"accept-language", language.encode())] if language else [])
    scope = {"type": "http", "method": "GET", "path": path, "headers": headers}

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    t0 = time.perf_counter()
    await app(scope, receive, send)
    start = sent[0]
    return start["status"], dict(start["headers"]), b"".join(m.get("body", b"") for m in sent[1:]), \
        time.perf_counter() - t0


def _slow_app(release: asyncio.Event, started: list):
    async def app(scope, receive, send):
        started.append(scope["path"])
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
    return app


def test_overload_gets_a_fast_503_with_retry_after_and_the_queue_is_served_in_order():
    async def scenario():
        release, started = asyncio.Event(), []
        app = Admission(_slow_app(release, started), AdmissionLimits(active=2, queue=2, wait_s=30))
        busy = [asyncio.create_task(_call(app, f"/api/{i}")) for i in range(4)]  # 2 working, 2 queued
        await asyncio.sleep(0.05)
        assert started == ["/api/0", "/api/1"]
        status, headers, body, _ = await _call(app, "/api/5")  # the queue is full: answered at once,
        assert status == 503 and not release.is_set()  # while every slot is still taken
        assert int(headers[b"retry-after"]) >= 1
        assert "busy" in json.loads(body)["detail"] and "nothing was done" in json.loads(body)["detail"]
        html = await _call(app, "/projects", accept="text/html")
        assert html[0] == 503 and b"busy" in html[2] and html[1][b"content-type"].startswith(b"text/html")
        ko = await _call(app, "/api/6", language="ko-KR,ko;q=0.9")  # in the browser's language
        detail = json.loads(ko[2])["detail"]
        assert ko[0] == 503 and detail.startswith("서버가 바쁩니다(이미 요청 2개가 대기 중입니다)")
        release.set()
        done = await asyncio.gather(*busy)
        assert [d[0] for d in done] == [200] * 4
        assert started == ["/api/0", "/api/1", "/api/2", "/api/3"]
        assert app.active == 0 and not app.waiting and app.refused == 3

    asyncio.run(scenario())


def test_a_request_queued_too_long_gets_a_503_and_frees_its_place():
    async def scenario():
        release, started = asyncio.Event(), []
        app = Admission(_slow_app(release, started), AdmissionLimits(active=1, queue=5, wait_s=0.3))
        first = asyncio.create_task(_call(app, "/api/0"))
        await asyncio.sleep(0.05)
        status, headers, _, seconds = await _call(app, "/api/1")
        assert status == 503 and seconds >= 0.3 and b"retry-after" in headers and not release.is_set()
        assert started == ["/api/0"] and not app.waiting
        release.set()
        assert (await first)[0] == 200
        assert (await _call(app, "/api/2"))[0] == 200
        assert app.active == 0

    asyncio.run(scenario())


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self"), reason="uses /proc")
def test_workers_end_with_a_killed_server():
    """SIGKILL runs no clean-up in the server: its science workers must still go, not run on orphaned."""
    import os
    import signal
    import subprocess
    import sys

    script = ("import os, sys\nfrom fluxwise.api.workers import SciencePool\n"
              "pool = SciencePool(2)\npool.warm()\n"
              "print(' '.join(str(p) for p in pool.processes()), flush=True)\nsys.stdin.read()\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    try:
        workers = [int(p) for p in proc.stdout.readline().split()]
        assert len(workers) == 2 and all(os.path.exists(f"/proc/{p}") for p in workers)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{p}") for p in workers):
        time.sleep(0.1)
    alive = [p for p in workers if os.path.exists(f"/proc/{p}")]
    for p in alive:
        os.kill(p, signal.SIGKILL)
    assert not alive, "science workers outlived the killed server"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_password_checked_before_the_write_transaction_counts_only_for_the_hash_it_was_checked_against(
        db, make_user):
    """Sign-in checks the password (argon2, tens of ms) before taking the write lock; the outcome is
    used only while the stored hash is the one checked, so a password changed meanwhile is checked again."""
    from fluxwise.store import accounts

    member = make_user("ben@a.example")
    with db.session() as s:
        right = accounts.precheck_password(s, member.email, member.password)
        wrong = accounts.precheck_password(s, member.email, "not the password at all")
        nobody = accounts.precheck_password(s, "nobody@a.example", member.password)
    assert right.ok and not wrong.ok and nobody.password_hash is None and not nobody.ok
    with db.session(write=True) as ws:
        assert accounts.login(ws, member.email, member.password, precheck=right)[0].email == member.email
        with pytest.raises(accounts.AuthenticationError):
            accounts.login(ws, member.email, member.password, precheck=wrong)  # the check's outcome counts
        ws.commit()
    with db.session(write=True) as ws:  # the password changes after the precheck
        user = accounts.find_user(ws, member.email)
        user.password_hash = accounts.hash_password("a completely new password")
        ws.commit()
    with db.session(write=True) as ws:
        with pytest.raises(accounts.AuthenticationError):
            accounts.login(ws, member.email, member.password, precheck=right)  # checked again: refused
        assert accounts.login(ws, member.email, "a completely new password", precheck=right)[0] is not None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_writers_take_turns_and_one_that_waits_too_long_gets_a_503(db, make_user, monkeypatch):
    """Writers of one process queue on a lock of their own (not SQLite's polling busy handler); past
    the wait, a request is answered 503 with Retry-After rather than left hanging."""
    import threading

    from fastapi.testclient import TestClient

    from fluxwise.api import create_app
    from fluxwise.api.deps import ApiSettings
    from fluxwise.store import database

    member = make_user("cy@a.example")
    client = TestClient(create_app(db=db, settings=ApiSettings(secret_key="test-secret")))
    project = new_project(client, member)
    order, holding, release = [], threading.Event(), threading.Event()

    def writer(name):
        with db.session(write=True):
            order.append(name)
            holding.set()
            release.wait(120)

    first = threading.Thread(target=writer, args=("first",))
    first.start()
    holding.wait(5)
    second = threading.Thread(target=writer, args=("second",))
    second.start()
    monkeypatch.setattr(database, "WRITE_WAIT_S", 0.3)
    r = client.post(f"/api/projects/{project}/uploads", headers=member.headers,
                    files={"file": ("run.csv", TRIAL_CSV, "text/csv")})
    # answered while both writers still hold or wait for the lock (they let go only after this)
    assert r.status_code == 503 and "busy" in r.json()["detail"] and int(r.headers["retry-after"]) >= 1
    release.set()
    first.join(120)
    second.join(120)
    assert order == ["first", "second"]
    upload(client, member, project)  # and the store takes writes again


def test_computations_about_one_trial_go_to_the_worker_that_has_its_fit():
    """The pool sends a trial's computations (its fit, sizing, figures, report) to one worker, where the
    per-process fit cache has the fit; different trials spread over the workers; computations without a
    trial, and a trial whose worker is far busier than another, go to the least busy worker."""
    pool = SciencePool(2)
    try:
        pool.warm()
        workers = set(pool.processes())
        assert len(workers) == 2
        for trial in (("t1", 1), ("t2", 1), ("t3", 2), ("t4", 1)):
            pids = {pool.run(os.getpid, affinity=trial) for _ in range(4)}
            assert len(pids) == 1 and pids <= workers, trial
        spread = {pool.run(os.getpid, affinity=(f"trial-{i}", 1)) for i in range(16)}
        assert spread == workers
        # the lane of a trial is chosen by a hash of its key: find a key for each lane
        own = pool.run(os.getpid, affinity=("busy", 1))
        other = (workers - {own}).pop()
        # a long computation keeps the trial's lane busy: with AFFINITY_SLACK + 1 of them waiting there,
        # the next computation about the same trial goes to the other worker
        import concurrent.futures as cf

        with cf.ThreadPoolExecutor(SciencePool.AFFINITY_SLACK + 1) as ex:
            slow = [ex.submit(pool.run, time.sleep, 1.0, affinity=("busy", 1))
                    for _ in range(SciencePool.AFFINITY_SLACK + 1)]
            time.sleep(0.3)
            assert pool.run(os.getpid, affinity=("busy", 1)) == other
            assert pool.run(os.getpid) == other  # no trial: the least busy worker
            for f in slow:
                f.result()
    finally:
        pool.close()
