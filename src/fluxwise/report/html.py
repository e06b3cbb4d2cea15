"""Render an analysis as one self-contained HTML file: a reduced plotly.js is embedded (see
:mod:`fluxwise.report.assets`), nothing is fetched."""

from __future__ import annotations

import datetime as _dt
import math

from jinja2 import Environment, PackageLoader, select_autoescape

from .. import __version__, i18n
from ..models.fouling import MODELS, PARAM_UNITS
from . import assets, figures

_env = Environment(loader=PackageLoader("fluxwise", "report/templates"),
                   autoescape=select_autoescape(["html", "j2"]), extensions=["jinja2.ext.i18n"])


def fmt(x, digits=4) -> str:
    """A number for people: 4 significant digits, no float noise; '—' for missing, '∞' for inf."""
    if x is None:
        return "—"
    if isinstance(x, float) and math.isinf(x):
        return "∞"
    if isinstance(x, float) and math.isnan(x):
        return "—"
    return f"{x:.{digits}g}"


_env.filters["fmt"] = fmt


def install_language(env: Environment) -> None:
    """The report's language: ``_``/``ngettext`` of the current language (:mod:`fluxwise.i18n`), the
    ``term`` filter for machine-readable values, and ``lang`` (its code, for ``<html lang>`` and the
    record block). Reports carry the language they were made in; their content hash does not (it is
    the stored result's, over the numbers only)."""
    i18n.install_jinja(env)
    env.filters["term"] = i18n.term


install_language(_env)


def _figure_html(fig) -> str:
    return assets.figure_html(fig)


def render_report(analysis, *, title: str | None = None, extra_sections=(),
                  record: dict | None = None, figure=None) -> str:
    """Return the report as an HTML string.

    ``extra_sections`` is a sequence of ``(heading, html_fragment)`` other layers may add (e.g. a
    risk-based sizing histogram); fragments must already be safe HTML. ``record`` (a stored result's
    ``result_id``, ``version``, ``content_sha256``, ``signatures`` with ``signer``, ``meaning``,
    ``signed_at`` (UTC) and ``valid``, and ``problems``) adds the signature block — and a red banner
    when ``problems`` is not empty. ``figure``: the figure class the plots are built with (plain dicts
    by default; ``plotly.graph_objects.Figure`` draws the same, slower — the benchmarks compare them).
    """
    kw = {} if figure is None else {"figure": figure}
    fit = analysis.fit
    best = fit.best
    d_best = best.aicc
    rows = []
    for f in fit.fits:
        params = []
        for key, val in f.params.items():
            lo_hi = f.ci95.get(key)
            params.append({"key": key, "unit": PARAM_UNITS.get(key, ""), "value": val,
                           "ci": lo_hi, "fixed": key in f.fixed})
        rows.append({"fit": f, "params": params, "delta": f.aicc - d_best,
                     "tied": f.name in fit.indistinguishable, "source": MODELS[f.name].source})
    figs = [_figure_html(make(analysis, **kw)) for make in (figures.fits_figure, figures.flux_decay_figure,
                                                             figures.vmax_figure, figures.residuals_figure)]
    if analysis.sizing is not None and analysis.sizing.risk is not None:
        r = analysis.sizing.risk
        text = (f"<p>{r['n_draws']:,} Monte Carlo draws over a bootstrap of the fit "
                f"({r['n_param_samples']:,} resamples) and a lot-to-lot capacity CV of {r['feed_cv']:g}: "
                f"the area "
                f"{fmt(r['risk_based_area_m2'])} m² meets the batch with {r['confidence'] * 100:g} % "
                f"probability, an implied safety factor of {fmt(r['implied_safety_factor'], 3)}; the fixed "
                f"factor {r['conventional_safety_factor']:g} meets it with "
                f"{fmt(r['probability_conventional_meets'] * 100, 4)} % probability.</p>")
        extra_sections = [("Risk-based sizing", text + _figure_html(figures.risk_figure(r, **kw))),
                          *extra_sections]
    tr = analysis.trial
    data_rows = list(zip(tr.t_h, tr.v_L_per_m2, tr.flux_LMH,
                         tr.pressure_bar if tr.pressure_bar is not None else [None] * tr.points, strict=True))
    from ..fit.linearised import vmax_linearity

    guide = ()
    if analysis.sizing is not None and analysis.sizing.warnings:
        from ..design.sizing_checks import WARNING_GUIDE

        kinds = {w.split(":", 1)[0] for w in analysis.sizing.warnings}
        guide = [g for g in WARNING_GUIDE if g[0] in kinds]
    tmpl = _env.get_template("report.html.j2")
    return tmpl.render(
        title=title or i18n.gettext("Filterability report — %(source)s", source=str(tr.source)),
        plotlyjs=assets.plotly_js(), legendsjs=assets.legends_js(), analysis=analysis, trial=tr, fit=fit,
        rows=rows, figs=figs, sizing=analysis.sizing, vmax=fit.vmax, vmax_check=vmax_linearity(tr),
        data_rows=data_rows, version=__version__,
        generated=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        extra_sections=list(extra_sections), guide=guide, record=record, lang=i18n.current())
