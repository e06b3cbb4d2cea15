"""HTTP API of the design computations: the UF/DF calculator, trains, sweeps and risk-based sizing give
the JSON of the CLI's ``--json`` for the same inputs — on SQLite and on PostgreSQL. Also: sign-in and
CSRF, errors naming the field, no file or folder of the server in a train, bounded sweeps."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from fluxwise.api import science
from fluxwise.cli import main
from test_api import TRIAL_CSV, login, new_project, upload

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TRAIN = EXAMPLES / "train_2000L_mab.yaml"
TRAIN_FILES = ("cho_harvest_depth_filtration.csv", "mab_sterile_filtration.csv", "virus_filtration.xlsx")
SWEEP = EXAMPLES / "sweep.yaml"

UFDF = {"volume": "100 L", "concentration": "5 g/L", "target_concentration": "150 g/L", "k": "20 LMH",
        "cg": "250 g/L", "diavolumes": "8", "process_time": "4 h", "hold_up": "0.5 L", "flush": "1 L",
        "cassette_area": "0.11 m2", "sieving": "0.002"}
# a train without trial files (designed in a fraction of a second)
PARAMS_TRAIN = """\
name: small train
batch_volume: 200 L
titre: 2 g/L
steps:
  - name: Sterile
    type: sterile
    model: standard
    mode: constant-pressure
    params: {J0_LMH: 800, ks_m2_per_L: 0.004}
    process_time: 2 h
  - name: UF/DF
    type: ufdf
    k: 20 LMH
    cg: 250 g/L
    target_concentration: 100 g/L
    diavolumes: 6
    process_time: 3 h
"""


def cli_json(*args) -> dict:
    r = CliRunner().invoke(main, [*args, "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def cli_ufdf(inputs: dict, *flags: str) -> dict:
    args = ["ufdf"]
    for key, value in inputs.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    return cli_json(*args, *flags)


def train_files(names=TRAIN_FILES) -> list:
    return [("files", (name, (EXAMPLES / name).read_bytes(), "application/octet-stream")) for name in names]


def post_train(client, member, text: str | bytes, name="train.yaml", files=(), path="/api/design/train",
               **data):
    content = text.encode() if isinstance(text, str) else text
    return client.post(path, headers=member.headers, data=data,
                       files=[("train", (name, content, "application/yaml")), *files])


def server_paths() -> list[str]:
    return [str(Path.cwd()), tempfile.gettempdir(), "fluxwise-train-", str(Path(science.__file__).parents[1])]


# --- sign-in and CSRF --------------------------------------------------------------------------------------

def _design_routes(app) -> list[str]:
    paths = app.openapi()["paths"]
    return sorted(p for p, ops in paths.items() if p.startswith("/api/design/") and "post" in ops)


def test_design_endpoints_need_sign_in(app, client):
    routes = _design_routes(app)
    assert routes == ["/api/design/sweep", "/api/design/train", "/api/design/train/report",
                      "/api/design/ufdf"]
    for path in routes:
        r = client.post(path, json={})
        assert r.status_code == 401, (path, r.text)
        r = client.post(path, json={}, headers={"Authorization": "Bearer fw_not-a-token"})
        assert r.status_code == 401, (path, r.text)


def test_cookie_sessions_need_the_csrf_header(client, make_user):
    ua = make_user("ua@a.example")
    csrf = login(client, ua)
    r = client.post("/api/design/ufdf", json=UFDF)
    assert r.status_code == 403 and "X-CSRF-Token" in r.json()["detail"]
    r = client.post("/api/design/sweep", json={"spec": SWEEP.read_text()}, headers={"X-CSRF-Token": "wrong"})
    assert r.status_code == 403
    train = ("t.yaml", PARAMS_TRAIN.encode(), "application/yaml")
    r = client.post("/api/design/train", files=[("train", train)])
    assert r.status_code == 403
    r = client.post("/api/design/ufdf", json=UFDF, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text


# --- UF/DF ----------------------------------------------------------------------------------------------

def test_ufdf_gives_the_json_of_the_cli(client, make_user):
    ua = make_user("ua@a.example")
    r = client.post("/api/design/ufdf", json=UFDF, headers=ua.headers)
    assert r.status_code == 200, r.text
    assert r.json() == cli_ufdf(UFDF)
    assert r.json()["n_cassettes"] >= 1 and "time_course" not in r.json()
    # numbers may be JSON numbers; the time course as with --time-course; DF at a given concentration
    other = {**UFDF, "diavolumes": 8, "sieving": 0.002, "df_concentration": "80 g/L"}
    other.pop("process_time")
    other["area"] = "2 m2"
    r = client.post("/api/design/ufdf", json={**other, "time_course": True}, headers=ua.headers)
    assert r.status_code == 200, r.text
    assert r.json() == cli_ufdf(other, "--time-course")
    assert {"t_h", "volume_L", "concentration_g_per_L"} <= set(r.json()["time_course"])


@pytest.mark.parametrize("change, field", [
    ({"volume": "100 kg"}, "volume"),                    # not a volume
    ({"concentration": "5"}, "concentration"),           # no unit
    ({"k": "fast"}, "k"),                                # not a quantity
    ({"cassette_area": "1 L"}, "cassette_area"),
    ({"sieving": "abc"}, "sieving"),                     # not a number
    ({"sieving": 1.0}, "sieving"),                       # out of range (design_ufdf's own check)
    ({"target_concentration": "1 g/L"}, "target_concentration"),
    ({"area": "1 m2"}, "area"),                          # area and process time both given
])
def test_ufdf_bad_input_is_422_naming_the_field(client, make_user, change, field):
    ua = make_user("ua@a.example")
    r = client.post("/api/design/ufdf", json={**UFDF, **change}, headers=ua.headers)
    assert r.status_code == 422, r.text
    assert f"field '{field}'" in r.json()["detail"]


def test_ufdf_schema_errors_are_422(client, make_user):
    ua = make_user("ua@a.example")
    missing = {k: v for k, v in UFDF.items() if k != "cg"}
    assert client.post("/api/design/ufdf", json=missing, headers=ua.headers).status_code == 422
    assert client.post("/api/design/ufdf", json={**UFDF, "typo": 1}, headers=ua.headers).status_code == 422


# --- trains ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cli_train() -> dict:
    return cli_json("design", str(TRAIN))


def _as_uploaded(d: dict) -> dict:
    """The CLI's train JSON with the sources as a server names them: bare names, default factors."""
    d = json.loads(json.dumps(d))
    d["train"]["source"] = Path(d["train"]["source"]).name
    d["train"]["factors_source"] = "default factors"
    for step in d["steps"]:
        if step.get("basis") and step["basis"]["source"] != "params":
            step["basis"]["source"] = Path(step["basis"]["source"]).name
    return d


def test_train_gives_the_json_of_the_cli_without_server_paths(client, make_user, cli_train):
    ua = make_user("ua@a.example")
    r = post_train(client, ua, TRAIN.read_bytes(), name=TRAIN.name, files=train_files())
    assert r.status_code == 200, r.text
    assert r.json() == _as_uploaded(cli_train)
    for path in server_paths():
        assert path not in r.text
    assert [s["basis"]["source"] for s in r.json()["steps"] if s.get("basis")][:2] == list(TRAIN_FILES[:2])


def test_train_route_and_report(client, make_user, tmp_path):
    ua = make_user("ua@a.example")
    (tmp_path / "small.yaml").write_text(PARAMS_TRAIN)
    r = post_train(client, ua, PARAMS_TRAIN, name="small.yaml", route="local")
    assert r.status_code == 200, r.text
    assert r.json() == _as_uploaded(cli_json("design", str(tmp_path / "small.yaml"), "--route", "local"))
    assert r.json()["train"]["route"] == "local"
    r = post_train(client, ua, PARAMS_TRAIN, name="small.yaml", route="nowhere")
    assert r.status_code == 422 and "unknown route 'nowhere'" in r.json()["detail"]
    r = post_train(client, ua, PARAMS_TRAIN, name="small.yaml", path="/api/design/train/report")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "small train" in r.text
    for path in server_paths():
        assert path not in r.text


@pytest.mark.parametrize("reference", ["/etc/passwd", "../mab_sterile_filtration.csv",
                                       str(EXAMPLES / TRAIN_FILES[1]), "not_uploaded.csv"])
def test_a_train_cannot_read_files_of_the_server(client, make_user, reference):
    ua = make_user("ua@a.example")
    text = TRAIN.read_text().replace("mab_sterile_filtration.csv", reference, 1)
    r = post_train(client, ua, text, files=train_files())
    assert r.status_code == 422, r.text
    assert "is not among the uploaded files" in r.json()["detail"] and "field 'trial'" in r.json()["detail"]
    for key in ("factors", "catalog"):
        r = post_train(client, ua, f"{key}: {reference}\n" + PARAMS_TRAIN)
        assert r.status_code == 422 and f"field '{key}'" in r.json()["detail"], r.text


def test_train_upload_errors(client, make_user):
    ua = make_user("ua@a.example")
    r = post_train(client, ua, PARAMS_TRAIN, name="train.txt")
    assert r.status_code == 422 and "YAML" in r.json()["detail"]
    r = post_train(client, ua, "steps: [", name="bad.yaml")
    assert r.status_code == 422 and "not valid YAML" in r.json()["detail"]
    r = post_train(client, ua, PARAMS_TRAIN.replace("200 L", "200 kg"))
    assert r.status_code == 422 and "field 'batch_volume'" in r.json()["detail"]
    r = post_train(client, ua, b"x" * (1024 * 1024 + 1))
    assert r.status_code == 413
    exe = ("run.exe", b"MZ\x00", "application/octet-stream")
    r = post_train(client, ua, PARAMS_TRAIN, files=[("files", exe)])
    assert r.status_code == 415
    twice = train_files(TRAIN_FILES[:1]) * 2
    r = post_train(client, ua, PARAMS_TRAIN, files=twice)
    assert r.status_code == 422 and "two files" in r.json()["detail"]
    r = client.post("/api/design/train", headers=ua.headers)
    assert r.status_code == 422


def test_train_with_its_own_factor_file(client, make_user):
    from fluxwise.io.train import default_factors_path

    ua = make_user("ua@a.example")
    factors = default_factors_path().read_bytes()
    files = [("files", ("my_factors.yaml", factors, "application/yaml"))]
    r = post_train(client, ua, "factors: my_factors.yaml\n" + PARAMS_TRAIN, files=files)
    assert r.status_code == 200, r.text
    assert r.json()["train"]["factors_source"] == "my_factors.yaml"


# --- risk-based sizing ----------------------------------------------------------------------------------

def test_risk_based_sizing_gives_the_json_of_the_cli(client, make_user, tmp_path):
    ua = make_user("ua@a.example")
    trial = upload(client, ua, new_project(client, ua))["trial"]
    path = tmp_path / "run1.csv"
    path.write_bytes(TRIAL_CSV)
    body = {"batch_volume": "200 L", "process_time": "4 h", "confidence": 0.95, "feed_cv": "0.2"}
    r = client.post(f"/api/trials/{trial['id']}/size", json=body, headers=ua.headers)
    assert r.status_code == 201, r.text
    data = r.json()["data"]
    assert data == cli_json("size", str(path), "--batch-volume", "200 L", "--process-time", "4 h",
                            "--confidence", "0.95", "--feed-cv", "0.2")
    assert data["confidence"] == 0.95 and data["risk"]["feed_cv"] == pytest.approx(0.2)
    assert data["risk_based_area_m2"] > 0 and data["implied_safety_factor"] > 0
    assert r.json()["inputs"]["confidence"] == 0.95 and r.json()["inputs"]["feed_cv"] == "0.2"
    # the report of that version is computed with the same inputs
    report = client.get(f"/api/results/{r.json()['id']}/report", headers=ua.headers)
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    # without them, the stored inputs are what they always were
    plain = client.post(f"/api/trials/{trial['id']}/size", json={"batch_volume": "200 L"}, headers=ua.headers)
    assert plain.status_code == 201
    assert "confidence" not in plain.json()["inputs"] and "risk" not in plain.json()["data"]


@pytest.mark.parametrize("change, field", [
    ({"confidence": 1.5}, "confidence"), ({"confidence": "sure"}, "confidence"),
    ({"confidence": 0.9, "feed_cv": "lots"}, "feed_cv"), ({"batch_volume": "200 kg"}, "batch_volume"),
])
def test_risk_based_sizing_errors_name_the_field(client, make_user, change, field):
    ua = make_user("ua@a.example")
    trial = upload(client, ua, new_project(client, ua))["trial"]
    r = client.post(f"/api/trials/{trial['id']}/size", json={"batch_volume": "200 L", **change},
                    headers=ua.headers)
    assert r.status_code == 422, r.text
    assert f"field '{field}'" in r.json()["detail"]


def test_sizing_checks_temperature_and_buffer_flux_give_the_json_of_the_cli(client, make_user, tmp_path):
    ua = make_user("ua@a.example")
    trial = upload(client, ua, new_project(client, ua))["trial"]
    path = tmp_path / "run1.csv"
    path.write_bytes(TRIAL_CSV)
    body = {"batch_volume": "200 L", "process_time": "4 h", "process_temperature": "5 degC",
            "trial_temperature": "20 degC", "buffer_flux": "50 LMH", "extrapolation_limit": 2,
            "model": "vmax-linear"}
    r = client.post(f"/api/trials/{trial['id']}/size", json=body, headers=ua.headers)
    assert r.status_code == 201, r.text
    data = r.json()["data"]
    assert data == cli_json("size", str(path), "--batch-volume", "200 L", "--process-time", "4 h",
                            "--process-temperature", "5 degC", "--trial-temperature", "20 degC",
                            "--buffer-flux", "50 LMH", "--extrapolation-limit", "2", "--model", "vmax-linear")
    keys = {"warnings", "trial_max_loading_L_per_m2", "extrapolation_factor", "tied_area_range_m2"}
    assert keys <= set(data)
    assert data["model"] == "vmax-linear" and data["viscosity_ratio"] > 1.5
    assert any(w.startswith("viscosity") for w in data["warnings"])
    assert r.json()["inputs"]["process_temperature"] == "5 degC" and "fix_j0" not in r.json()["inputs"]
    bad = client.post(f"/api/trials/{trial['id']}/size", json={"batch_volume": "200 L",
                                                               "process_temperature": "cold"},
                      headers=ua.headers)
    assert bad.status_code == 422 and "field 'process_temperature'" in bad.json()["detail"]


# --- sweeps ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cli_sweep(tmp_path_factory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("sweep") / "table.csv"
    summary = cli_json("sweep", str(SWEEP), "--out", str(out), "--scheduler", "inprocess")
    return summary, out.read_text()


def _comparable(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in ("spec", "seconds", "table", "plot")}


def test_sweep_gives_the_json_and_table_of_the_cli(client, make_user, cli_sweep):
    ua = make_user("ua@a.example")
    summary, table = cli_sweep
    r = client.post("/api/design/sweep", json={"spec": SWEEP.read_text(), "name": "sweep.yaml"},
                    headers=ua.headers)
    assert r.status_code == 200, r.text
    d = r.json()
    assert _comparable(d) == _comparable(summary)
    assert d["spec"] == "sweep.yaml" and d["plot"] is None and list(d) == list(summary)
    rows = list(csv.reader(io.StringIO(table)))
    assert d["table"]["columns"] == rows[0]
    assert len(d["table"]["rows"]) == len(rows) - 1 == d["scenarios"] == int(r.headers["X-Scenarios"])
    first = dict(zip(rows[0], rows[1], strict=True))
    got = dict(zip(d["table"]["columns"], d["table"]["rows"][0], strict=True))
    assert got["format"] == first["format"] and got["required_area_m2"] == pytest.approx(
        float(first["required_area_m2"]))
    # CSV: byte for byte the file of fluxwise sweep --out; the spec may also come as a JSON mapping
    spec = yaml.safe_load(SWEEP.read_text())
    r = client.post("/api/design/sweep", json={"spec": spec, "format": "csv"}, headers=ua.headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.text == table


def test_too_large_sweeps_are_refused(client, make_user):
    ua = make_user("ua@a.example")
    spec = yaml.safe_load(SWEEP.read_text())
    spec["axes"]["pressure_bar"]["n"] = 10**12  # 10^12 x 8 x 3 x 4 scenarios: refused before any is built
    r = client.post("/api/design/sweep", json={"spec": spec}, headers=ua.headers)
    assert r.status_code == 413 and "scenarios" in r.json()["detail"]
    assert f"{science.MAX_SWEEP_SCENARIOS:,}" in r.json()["detail"]
    lhs = {**spec, "sampling": "latin-hypercube", "n_samples": science.MAX_SWEEP_SCENARIOS + 1}
    lhs["axes"] = {k: v for k, v in spec["axes"].items() if k != "format"}
    r = client.post("/api/design/sweep", json={"spec": lhs}, headers=ua.headers)
    assert r.status_code == 413
    spec["axes"]["pressure_bar"]["n"] = 7
    spec["uncertainty"]["n_draws"] = science.MAX_SWEEP_DRAWS + 1
    r = client.post("/api/design/sweep", json={"spec": spec}, headers=ua.headers)
    assert r.status_code == 413 and "n_draws" in r.json()["detail"]
    spec["axes"]["pressure_bar"]["n"] = 70
    spec["uncertainty"]["n_draws"] = science.MAX_SWEEP_DRAWS  # 6,720 scenarios x 100,000 draws
    r = client.post("/api/design/sweep", json={"spec": spec}, headers=ua.headers)
    assert r.status_code == 413 and "draws" in r.json()["detail"]


@pytest.mark.parametrize("change, field", [
    ({"model": "no-such-model"}, "model"),
    ({"catalog": "/etc/passwd"}, "catalog"),             # no file of the server
    ({"axes": {"pressure_bar": {"min": 2, "max": 1, "n": 3}}}, "axes.pressure_bar"),
    ({"seed": "x"}, "seed"),
])
def test_bad_sweeps_are_422_naming_the_field(client, make_user, change, field):
    ua = make_user("ua@a.example")
    spec = {**yaml.safe_load(SWEEP.read_text()), **change}
    r = client.post("/api/design/sweep", json={"spec": spec}, headers=ua.headers)
    assert r.status_code == 422, r.text
    assert f"field '{field}'" in r.json()["detail"]
    r = client.post("/api/design/sweep", json={"spec": "model: [unclosed"}, headers=ua.headers)
    assert r.status_code == 422 and "not valid YAML" in r.json()["detail"]
