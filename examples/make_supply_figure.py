"""Make the README's figure of the example supply plan: local against imported (docs/img/supply_example.png).

Runs ``fluxwise supply examples/supply_2000L_mab.yaml`` (or reads the JSON it printed, ``--json FILE``),
draws the comparison of sources of the report (:func:`fluxwise.report.supply.comparison_figure`) and
saves it as a PNG with the Chromium the browser tests use (headless, through Playwright; plotly.js is
embedded, nothing is fetched).

Run: ``.venv/bin/python examples/make_supply_figure.py [--json example.json] [--out docs/img/supply_example.png]``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="the JSON of fluxwise supply --json for the example (else it is run)")
    ap.add_argument("--out", default=str(HERE.parent / "docs" / "img" / "supply_example.png"))
    args = ap.parse_args()
    if args.json:
        d = json.loads(Path(args.json).read_text())
    else:
        from fluxwise.pipeline import supply_study

        d = supply_study(HERE / "supply_2000L_mab.yaml").to_dict()
    from plotly.offline import get_plotlyjs
    from playwright.sync_api import sync_playwright

    from fluxwise.report.supply import comparison_figure

    fig = comparison_figure(d)
    fig.update_layout(width=1100, height=420)
    body = fig.to_html(full_html=False, include_plotlyjs=False, config={"staticPlot": True})
    html = f"<!DOCTYPE html><html><head><meta charset='utf-8'><script>{get_plotlyjs()}</script></head><body>{body}</body></html>"
    with tempfile.TemporaryDirectory() as tmp:
        page_path = Path(tmp) / "figure.html"
        page_path.write_text(html, encoding="utf-8")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
            page = browser.new_page(viewport={"width": 1120, "height": 440})
            page.goto(page_path.as_uri())
            page.wait_for_selector(".main-svg")
            out = Path(args.out)
            out.parent.mkdir(parents=True, exist_ok=True)
            page.locator(".plotly-graph-div").screenshot(path=str(out))
            browser.close()
    print(f"written {out}")


if __name__ == "__main__":
    main()
