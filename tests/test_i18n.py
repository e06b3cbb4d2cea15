"""Korean and English (on SQLite): the main pages rendered in the pseudo-language ``xx`` show no text
left out of translation; the language is chosen from ``Accept-Language``, ``?lang=`` (stored with the
user and winning over the header) and the organisation's default; a web upload error and an API
validation error read in Korean; the catalogues are complete and in step with the source."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from fluxwise import i18n
from test_web import STERILE, client_for, new_project, sign_in, upload_fit_size, web_app  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
KO = {"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.5"}
HANGUL = re.compile(r"[\uac00-\ud7a3]")

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _workbench(web_app, make_user):
    """A signed-in admin with a project holding a fitted, sized and signed trial and a saved train."""
    ua = make_user("ua@example.org", role="admin")
    client = client_for(web_app)
    csrf = sign_in(client, ua)
    pid = new_project(client, ua, csrf)
    trial_id, fit_id, sizing_id = upload_fit_size(client, csrf, pid)
    r = client.post(f"/api/results/{sizing_id}/signatures", headers={"X-CSRF-Token": csrf},
                    json={"email": ua.email, "password": ua.password, "meaning": "author"})
    assert r.status_code == 201, r.text
    r = client.post("/train", data={"csrf_token": csrf, "project_id": pid, "example": "1"},
                    headers={"Accept": "application/json"})
    assert r.status_code == 201, r.text
    return client, ua, csrf, {"project": pid, "trial": trial_id, "train": r.json()["url"]}


def main_pages(ids: dict, org_id: str) -> list[str]:
    return ["/projects", f"/projects/{ids['project']}", f"/trials/{ids['trial']}", "/audit", "/train",
            ids["train"], f"/projects/{ids['project']}/compare?trial={ids['trial']}", "/account",
            f"/orgs/{org_id}"]


#: What the user gave (names, e-mail, project and file names, the example train's own texts): not
#: translated, so not looked for.
USER_DATA = ("UA", "ua@example.org", "Org A", "Sterile filtration", "0.2 um PES", STERILE.name,
             "2,000 L mAb batch", "train_2000L_mab.yaml")


def test_main_pages_have_no_text_left_out_of_translation(web_app, make_user):
    client, ua, csrf, ids = _workbench(web_app, make_user)
    left = {}
    for path in main_pages(ids, ua.org_id):
        r = client.get(path + ("&" if "?" in path else "?") + "lang=xx")
        assert r.status_code == 200, (path, r.text[:300])
        assert '<html lang="xx">' in r.text
        if found := i18n.untranslated_text(r.text, USER_DATA):
            left[path] = found
    r = client_for(web_app).get("/login?lang=xx")
    if found := i18n.untranslated_text(r.text, USER_DATA):
        left["/login"] = found
    if os.environ.get("FLUXWISE_I18N_DUMP"):  # while marking pages: where the text left out is
        Path(os.environ["FLUXWISE_I18N_DUMP"]).write_text(json.dumps(left, indent=1, ensure_ascii=False))
    assert not left, left
    # the checker itself finds unmarked text
    page = '<p>⟦Projects⟧</p><p>Trials</p><td translate="no">x.csv</td><h3>⟦Classical V<sub>max</sub>⟧</h3>'
    assert i18n.untranslated_text(page) == ["Trials"]
