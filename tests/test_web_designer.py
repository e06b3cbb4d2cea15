"""The train designer: a train built in the form from a project's trials gives the same design as the
same train written as YAML and uploaded; it is saved as a YAML train file that can be downloaded and
uploaded again; bad values are refused with the step and the field named."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from test_web import STERILE, client_for, new_project, sign_in, web_app  # noqa: F401 (a fixture)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
HARVEST = EXAMPLES / "cho_harvest_depth_filtration.csv"
DOOR = {"X-Fluxwise-Door": "web", "Accept": "application/json"}

# The same train twice: as the designer sends it, and as a user writes it by hand.
FORM = {"train": {"name": "Designer train", "product": "mAb", "batch_volume": "500 L", "titre": "3 g/L",
                  "currency": "USD", "disposal": "incineration"},
        "steps": [{"type": "depth", "name": "Harvest clarification", "trial": "<harvest>",
                   "max_pressure": "25 psi", "process_time": "3 h", "kind": "capsule", "chase": "20 L"},
                  {"type": "hold", "name": "Capture", "time": "20 h", "yield": "0.85",
                   "concentration": "10 g/L"},
                  {"type": "sterile", "name": "Sterile filtration", "trial": "<sterile>",
                   "process_time": "2 h", "safety_factor": "1.5", "format": "", "flux_decay_limit": ""}]}
HAND_WRITTEN = f"""
name: Designer train
product: mAb
batch_volume: 500 L
titre: 3 g/L
currency: USD
disposal: incineration
steps:
  - name: Harvest clarification
    type: depth
    trial: {HARVEST.name}
    max_pressure: 25 psi
    process_time: 3 h
    kind: capsule
    chase: 20 L
  - name: Capture
    type: hold
    time: 20 h
    yield: 0.85
    concentration: 10 g/L
  - name: Sterile filtration
    type: sterile
    trial: {STERILE.name}
    process_time: 2 h
    safety_factor: 1.5
"""


def _data(client, url: str) -> dict:
    """The design a saved train holds, but the name of its train file."""
    result = client.get("/api/results/" + url.rsplit("/", 1)[1], headers={"Accept": "application/json"})
    assert result.status_code == 200, result.text
    data = result.json()["data"]
    assert data["train"].pop("source").endswith(".yaml")
    return data


def test_the_designer_gives_the_design_of_the_same_yaml(web_app, make_user):  # noqa: F811
    ua = make_user("ua@a.example")
    client = client_for(web_app)
    csrf = sign_in(client, ua)
    pid = new_project(client, ua, csrf, name="Designer")
    ids = {}
    for key, path in (("<harvest>", HARVEST), ("<sterile>", STERILE)):
        r = client.post(f"/api/projects/{pid}/uploads", headers={"X-CSRF-Token": csrf},
                        files={"file": (path.name, path.read_bytes(), "text/csv")})
        assert r.status_code == 201, r.text
        ids[key] = r.json()["trial"]["id"]
    page = client.get(f"/train/new?project={pid}")
    assert page.status_code == 200 and 'id="designer-form"' in page.text
    spec = json.loads(page.text.split('id="designer-spec">', 1)[1].split("</script>", 1)[0])
    assert {t["id"] for t in spec["trials"]} == set(ids.values()) and "ufdf" in spec["steps"]
    assert "<script>" not in page.text  # the page logic is in static/app.js (strict CSP)

    design = json.loads(json.dumps(FORM).replace('"<harvest>"', json.dumps(ids["<harvest>"]))
                        .replace('"<sterile>"', json.dumps(ids["<sterile>"])))
    r = client.post("/train/new", headers={**DOOR, "X-CSRF-Token": csrf},
                    data={"project_id": pid, "route": "local", "design": json.dumps(design)})
    assert r.status_code == 201, r.text
    from_form = r.json()["url"]
    r = client.post("/train", headers={**DOOR, "X-CSRF-Token": csrf},
                    data={"project_id": pid, "route": "local"},
                    files=[("train", ("hand.yaml", HAND_WRITTEN.encode(), "application/yaml")),
                           ("files", (HARVEST.name, HARVEST.read_bytes(), "text/csv")),
                           ("files", (STERILE.name, STERILE.read_bytes(), "text/csv"))])
    assert r.status_code == 201, r.text
    from_yaml = r.json()["url"]
    assert _data(client, from_form) == _data(client, from_yaml)

    # saved as a YAML train file, downloadable; uploaded again it gives the same design once more
    page = client.get(from_form).text
    assert f'href="{from_form}/train.yaml"' in page and "Sign v1" in page
    r = client.get(from_form + "/train.yaml")
    assert r.status_code == 200 and r.headers["content-disposition"].startswith("attachment")
    assert 'filename="Designer_train.yaml"' in r.headers["content-disposition"]
    saved = yaml.safe_load(r.content)
    assert saved == {**yaml.safe_load(HAND_WRITTEN), "steps": [
        {**s, **({"safety_factor": 1.5} if s["type"] == "sterile" else {})}
        for s in yaml.safe_load(HAND_WRITTEN)["steps"]]}
    r = client.post("/train", headers={**DOOR, "X-CSRF-Token": csrf},
                    data={"project_id": pid, "route": "local"},
                    files=[("train", ("again.yaml", r.content, "application/yaml")),
                           ("files", (HARVEST.name, HARVEST.read_bytes(), "text/csv")),
                           ("files", (STERILE.name, STERILE.read_bytes(), "text/csv"))])
    assert r.status_code == 201 and _data(client, r.json()["url"]) == _data(client, from_yaml)

    # refused with the step and the field named (web words: no YAML keys, no command-line options)
    for change, expected in ((lambda d: d["steps"][0].update(max_pressure=""), "“maximum pressure”"),
                             (lambda d: d["steps"][2].update(process_time="2 kg"), "“process time”"),
                             (lambda d: d["steps"][0].update(trial="f" * 32),
                              "choose a trial of this project"),
                             (lambda d: d["train"].update(batch_volume=""), "“Batch volume”: is required"),
                             (lambda d: d.update(steps=[]), "add at least one step")):
        bad = json.loads(json.dumps(design))
        change(bad)
        r = client.post("/train/new", headers={**DOOR, "X-CSRF-Token": csrf},
                        data={"project_id": pid, "design": json.dumps(bad)})
        assert r.status_code == 422 and expected in r.json()["detail"], (expected, r.text)
        assert "--" not in r.json()["detail"]
