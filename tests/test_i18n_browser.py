"""Korean in a real browser (Debian's Chromium, headless; on SQLite): a browser asking for Korean signs
in, sees a refused upload explained in Korean, uploads, fits and sizes a trial, and walks the main
pages in the pseudo-language finding no text left out of translation (plots aside: their titles and
axes are checked where they are made); then switches to English and back with the navigation's
switch, and the choice is remembered in a new session whatever the browser asks for."""

from __future__ import annotations

import re
import time

import pytest

from fluxwise import i18n
from test_web_browser import EXAMPLE, _drop, browser, server  # noqa: F401  (fixtures)

HANGUL = re.compile(r"[\uac00-\ud7a3]")

#: The page's HTML without the drawn plots (their text is the figures', checked as they are made).
PAGE_WITHOUT_PLOTS = """() => {
    const root = document.documentElement.cloneNode(true);
    root.querySelectorAll('.plotly-target').forEach(el => el.replaceChildren());
    return root.outerHTML;
}"""


def _sign_in(page, base, member):
    page.goto(base + "/projects")
    assert "/login" in page.url
    page.fill("input[name=email]", member.email)
    page.fill("input[name=password]", member.password)
    page.click("button[type=submit].primary")
    page.wait_for_url(base + "/projects")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_korean_walk_then_english_and_back_remembered(browser, server):  # noqa: F811
    base, member = server
    context = browser.new_context(locale="ko-KR", extra_http_headers={"Accept-Language": "ko-KR,ko;q=0.9"},
                                  viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(90_000)
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    started = time.monotonic()

    page.goto(base + "/login")
    assert page.locator("html").get_attribute("lang") == "ko" and page.locator("h1").inner_text() == "로그인"
    _sign_in(page, base, member)
    assert page.locator("html").get_attribute("lang") == "ko"
    assert page.locator("nav a[href='/projects']").inner_text() == "프로젝트"

    page.fill("input[name=name]", "Sterile filtration 2025")
    page.click("form[action='/projects'] button[type=submit]")
    page.wait_for_url("**/projects/*")
    project_url = page.url
    # a refused upload, explained in Korean
    _drop(page, "#dropzone", "notes.csv", b"just,a,note\nwithout,numbers,here\n", "text/csv")
    page.click("#upload-button")
    error = page.locator("#upload-error")
    error.wait_for(state="visible")
    assert error.inner_text().startswith("업로드 거부: notes.csv: 머리글 행을 찾을 수 없습니다")
    # the example trial: uploaded, fitted (the progress in Korean), sized
    _drop(page, "#dropzone", EXAMPLE.name, EXAMPLE.read_bytes(), "text/csv")
    page.click("#upload-button")
    page.wait_for_url("**/trials/*", wait_until="domcontentloaded")
    trial_url = page.url.split("?")[0]
    page.locator(".plotly-target[data-ready='1']").nth(3).wait_for()
    assert any(HANGUL.search(t) for t in page.locator(".plotly-target .gtitle").all_text_contents())
    page.fill("#size-form input[name=batch_volume]", "2000")
    page.fill("#size-form input[name=process_time]", "4")
    page.click("#size-button")
    page.wait_for_url("**?result=*", wait_until="domcontentloaded")
    assert "최소 면적" in page.locator("#sizing-result").inner_text()

    # the main pages in the pseudo-language: every text a translation
    user_data = ("UA", member.email, "Org A", "Sterile filtration 2025", EXAMPLE.name, "notes.csv")
    org_url = None
    left = {}
    pages = (base + "/projects", project_url, trial_url, base + "/audit", base + "/train", base + "/account")
    for url in pages:
        page.goto(url + "?lang=xx")
        page.wait_for_load_state("load")
        assert page.locator("html").get_attribute("lang") == "xx"
        if found := i18n.untranslated_text(page.evaluate(PAGE_WITHOUT_PLOTS), user_data):
            left[url] = found
        if url.endswith("/account"):
            org_url = page.locator("#org-list a").first.get_attribute("href")
    page.goto(base + org_url + "?lang=xx")
    if found := i18n.untranslated_text(page.evaluate(PAGE_WITHOUT_PLOTS), user_data):
        left[org_url] = found
    assert not left, left

    # English with the switch in the navigation, remembered; then Korean again
    page.goto(base + "/projects")
    assert page.locator("html").get_attribute("lang") == "ko"  # the pseudo-language was not kept
    page.click("#lang-en")
    page.wait_for_url("**lang=en")
    assert page.locator("h1").inner_text() == "Projects"
    page.goto(base + "/audit")  # the browser still asks for Korean: the stored choice wins
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Audit trail"
    page.click("#lang-ko")
    page.wait_for_url("**lang=ko")
    assert page.locator("h1").inner_text() == "감사 추적"
    context.close()

    # a new session in a browser asking for English: the user's choice (Korean) is remembered
    context = browser.new_context(locale="en-GB", extra_http_headers={"Accept-Language": "en-GB,en;q=0.9"})
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(base + "/login")
    assert page.locator("html").get_attribute("lang") == "en"
    _sign_in(page, base, member)
    assert page.locator("html").get_attribute("lang") == "ko"
    assert page.locator("h1").inner_text() == "프로젝트"
    context.close()
    assert not problems, problems
    assert time.monotonic() - started < 600


def _korean_context(browser, base, member):  # noqa: F811
    context = browser.new_context(locale="ko-KR", extra_http_headers={"Accept-Language": "ko-KR,ko;q=0.9"},
                                  viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(base + "/lab")
    page.fill("input[name=email]", member.email)
    page.fill("input[name=password]", member.password)
    page.click("button[type=submit].primary")
    page.wait_for_url(base + "/lab")
    return context, page


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_korean_walk_of_the_virtual_lab_trainee_and_instructor(browser, server, make_user):  # noqa: F811
    """An instructor and a trainee, both in a browser asking for Korean: the instructor starts a
    practice cohort, the trainee starts an attempt and runs an experiment from the page; the lab's
    pages of each (lab, cohort with the instructor's dashboard, attempt) read in Korean and, in the
    pseudo-language, show no text left out of translation (the scenario's own texts are marked as
    not translated)."""
    base, _member = server
    inst = make_user("teacher@example.org", role="admin")
    trainee = make_user("learner@example.org", role="trainee")
    problems: list[str] = []
    user_data = ("Org A", "TEACHER", "LEARNER", inst.email, trainee.email, "March intake",
                 "TRAINING - SIMULATED")

    ictx, ipage = _korean_context(browser, base, inst)
    ipage.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    assert ipage.locator("html").get_attribute("lang") == "ko"
    assert ipage.locator("h1").inner_text() == "가상 실험실"
    ipage.fill("#new-cohort input[name=name]", "March intake")
    ipage.select_option("#new-cohort select[name=scenario]", "mab-sterile-filtration")
    ipage.click("#create-cohort")
    ipage.wait_for_url("**/lab/cohorts/*")
    cohort_url = ipage.url.split("?")[0]
    assert HANGUL.search(ipage.locator("#dashboard h2").inner_text())

    tctx, page = _korean_context(browser, base, trainee)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.click("#cohorts a")
    page.wait_for_url("**/lab/cohorts/*")
    assert HANGUL.search(page.locator("#start-attempt").inner_text())
    page.click("#start-attempt")
    page.wait_for_url("**/lab/attempts/*")
    attempt_url = page.url.split("#")[0].split("?")[0]
    task = page.request.get(base + "/api" + cohort_url[len(base):]).json()["scenario_public"]["task"]
    page.fill("#run-pressure", task["pressure"])
    page.fill("#run-duration", "20 min")
    page.click("#run-button")
    page.wait_for_url("**#runs")
    assert page.locator("#lab-error").count() == 0
    page.locator(".plotly-target[data-ready='1']").nth(2).wait_for()
    assert HANGUL.search(page.locator("#runs h3").first.inner_text())  # "실험 1: 빠른 플롯"

    left = {}
    for who, pg, urls in (("trainee", page, (base + "/lab", cohort_url, attempt_url)),
                          ("instructor", ipage, (base + "/lab", cohort_url, attempt_url))):
        for url in urls:
            pg.goto(url + "?lang=xx")
            pg.wait_for_load_state("load")
            assert pg.locator("html").get_attribute("lang") == "xx"
            if found := i18n.untranslated_text(pg.evaluate(PAGE_WITHOUT_PLOTS), user_data):
                left[f"{who} {url}"] = found
    assert not left, left
    ictx.close()
    tctx.close()
    assert not problems, problems
