"""Migrations 0002 (train designs as results) and 0003 (invitations, security events): a store of
revision 0001 with a versioned, signed fit is upgraded in place — every row and the audit chain kept,
foreign keys intact and on again afterwards — and then takes a result of kind ``train`` and a
security event. On SQLite (tables rebuilt) and on PostgreSQL (ALTER)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from fluxwise.store import accounts, projects, results, trains, uploads
from fluxwise.store.audit import verify_chain
from fluxwise.store.database import current_revision, make_engine, migrate
from fluxwise.store.models import ResultVersion
from fluxwise.trial import Trial

HEAD = "0003"  # the newest migration (0003: invitations and the actions of security events)

PASSWORD = "a long password"


def _fill_0001(engine) -> None:
    import numpy as np

    trial = Trial(t_h=np.array([0.0, 0.5, 1.0, 1.5]), v_L_per_m2=np.array([0.0, 40.0, 70.0, 90.0]),
                  area_m2=1.38e-3, mode="constant-pressure")
    with Session(engine) as s:
        org = accounts.create_organisation(s, "Org A")
        user = accounts.create_user(s, "ua@a.example", "UA", PASSWORD)
        accounts.add_member(s, user, org, "scientist", actor=user)
        project = projects.create_project(s, org, "P", actor=user)
        _, rec = uploads.record_upload(s, project, actor=user, filename="run.csv", content_type="text/csv",
                                       content=b"t,v\n0,0\n", trial=trial)
        rv = results.create_result(s, rec, actor=user, kind="fit", inputs={}, data={"best_model": "standard"})
        rv2 = results.new_version(s, rv, actor=user, notes="second")
        results.sign_result(s, rv2, signer=user, password=PASSWORD, meaning="author")
        s.commit()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'upgrade.sqlite3'}"
    from conftest import _admin_execute

    cluster = request.getfixturevalue("postgres_cluster")
    _admin_execute(cluster.url(), "DROP DATABASE IF EXISTS fluxwise_upgrade",
                   "CREATE DATABASE fluxwise_upgrade")
    return cluster.url("fluxwise_upgrade")


def _downgrade(engine, revision: str) -> None:
    """Take the store back to ``revision`` with the packaged migrations (foreign keys off on SQLite, as
    for upgrades: see fluxwise.store.database.migrate)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "fluxwise.store:migrations")
    with engine.connect() as conn:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            conn.connection.dbapi_connection.execute("PRAGMA foreign_keys = OFF")
        try:
            with conn.execution_options(fluxwise_write=True).begin():
                cfg.attributes["connection"] = conn
                command.downgrade(cfg, revision)
        finally:
            if sqlite:
                conn.connection.dbapi_connection.execute("PRAGMA foreign_keys = ON")


def test_0001_store_is_upgraded_in_place_and_takes_trains(empty_url):
    engine = make_engine(empty_url)
    try:
        # The store code writes the current schema, so a 0001 store is made by filling a new store and
        # taking it back to 0001 with the downgrades (which drop what later migrations added).
        migrate(engine)
        _fill_0001(engine)
        _downgrade(engine, "0001")
        assert current_revision(engine) == "0001"
        with Session(engine) as s:
            before = [(r.result_id, r.version, r.content_sha256) for r in
                      s.scalars(sa.select(ResultVersion).order_by(ResultVersion.id))]
        migrate(engine)
        assert current_revision(engine) == HEAD
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
            assert conn.exec_driver_sql("SELECT count(*) FROM signatures").scalar() == 1
        with Session(engine) as s:
            rows = list(s.scalars(sa.select(ResultVersion).order_by(ResultVersion.id)))
            assert [(r.result_id, r.version, r.content_sha256) for r in rows] == before
            assert all(results.content_sha256(r) == r.content_sha256 for r in rows)
            assert verify_chain(s).ok
            project = rows[0].project
            user = rows[0].created_by
            rv = trains.save_train(s, project, actor=user, train_name="t.yaml", train_bytes=b"name: t\n",
                                   files={}, route=None, data={"summary": {}})
            s.commit()
            assert rv.kind == "train" and rv.trial_id is None
            assert trains.train_sources(s, rv) == ("t.yaml", b"name: t\n", {}, None)
            assert verify_chain(s).ok
            # 0003: the trail takes security events (a failed sign-in) and the chain still holds
            accounts.record_failure(s, "ua@a.example", "10.0.0.1")
            s.commit()
            assert verify_chain(s).ok
        # a fit without a trial is still refused by the database
        with engine.begin() as conn, pytest.raises(sa.exc.IntegrityError):
            conn.execute(sa.update(ResultVersion.__table__).where(ResultVersion.__table__.c.kind == "fit")
                         .values(trial_id=None))
    finally:
        engine.dispose()
