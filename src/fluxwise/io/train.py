"""Read a filtration train (one YAML file) and its factor file into :class:`fluxwise.design.train.Train`.

Every error a user can make names the file, the step (its number, from 1, and its name) and the
field, and says what was expected: an unknown step type, a missing trial file, a negative volume, a
quantity in the wrong unit, a missing field, a key that is not understood (a typo would otherwise
be ignored silently). Quantities carry their units (``"2000 L"``, ``"25 psi"``, ``"20 LMH"``) and are
converted once, here, through the project's pint registry.

Trial-based steps are read and fitted with :func:`fluxwise.pipeline.analyze` (the same numbers as
``fluxwise fit``); the chosen model's parameters then size the step. The train file format is
documented with the example ``examples/train_2000L_mab.yaml`` and in ``examples/TRAIN.md``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tempfile
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import yaml

from ..design.sizing import DEFAULT_SAFETY_FACTOR
from ..design.train import (
    DISPOSAL_ROUTES,
    FREIGHT_MODES,
    NORMAL_FLOW_TYPES,
    STEP_TYPES,
    Factor,
    Factors,
    FoulingBasis,
    HoldStep,
    NormalFlowStep,
    Resin,
    Route,
    Train,
    UFDFStep,
)
from ..design.ufdf import DF_MODES
from ..design.virus import LRVStep
from ..errors import FluxwiseError, InputError, UnitError
from ..models.fouling import MODEL_NAMES, MODELS
from ..trial import CONSTANT_FLUX, CONSTANT_PRESSURE, MODES
from ..units import parse_quantity
from .tables.text import read_text_file

__all__ = ["read_train", "parse_train", "parse_uploaded_train", "check_train_references", "read_factors",
           "parse_factors", "default_factors_path", "MAX_TRAIN_BYTES", "TRAIN_EXTENSIONS"]

#: Largest train file :func:`parse_uploaded_train` reads.
MAX_TRAIN_BYTES = 1024 * 1024
TRAIN_EXTENSIONS = (".yaml", ".yml")

_TOP_KEYS = {"name", "product", "batch_volume", "titre", "currency", "usd_exchange_rate", "disposal", "route",
             "factors", "catalog", "steps", "notes", "description"}
_COMMON_KEYS = {"name", "type", "notes", "lrv", "setup_time"}
_NFF_KEYS = _COMMON_KEYS | {
    "trial", "area", "mode", "density", "sheet", "columns", "model", "params", "process_time", "max_pressure",
    "flux", "flux_decay_limit", "safety_factor", "format", "kind", "yield", "flush", "chase", "route",
    "resin"}
_UFDF_KEYS = _COMMON_KEYS | {
    "k", "cg", "flux", "mass_transfer_a", "mass_transfer_b", "target_concentration", "diavolumes",
    "df_remaining_fraction", "df_concentration", "sieving",
    "impurity_sieving", "area", "process_time", "hold_up", "recovery_flush", "feed_flux", "cassette_area",
    "membrane_price_per_m2", "reuses", "single_use", "plastic_kg_per_m2", "flush", "route", "resin",
    "df_mode", "dilution_factor", "cycles"}
_VIRUS_KEYS = _NFF_KEYS | {"pauses", "pauses_validated", "operating_pressure", "validated_min_pressure"}
_HOLD_KEYS = (_COMMON_KEYS - {"setup_time"}) | {"time", "yield", "concentration", "volume"}
_KEYS = {"ufdf": _UFDF_KEYS, "hold": _HOLD_KEYS, **{t: _NFF_KEYS for t in NORMAL_FLOW_TYPES},
         "virus": _VIRUS_KEYS}
_DEFAULT_MECHANISM = {"virus": "size exclusion (virus filter)"}


def default_factors_path() -> Path:
    """The factor file shipped with fluxwise (prices, emission factors, routes: editable defaults)."""
    return Path(str(resources.files("fluxwise") / "data" / "factors.yaml"))


# ------------------------------------------------------------------------------- field checking

class _Fields:
    """A mapping read field by field, every error naming the file, the place (train or step) and the key."""

    def __init__(self, data: Mapping, *, source: str, label: str, allowed: set[str] | None = None):
        self.data, self.source, self.label, self.allowed = data, source, label, allowed

    def error(self, key: str, message: str, cls=InputError) -> InputError:
        return cls(f"{self.label}: {message}", source=self.source, field=key)

    def check_keys(self) -> None:
        if self.allowed is None:
            return
        for key in self.data:
            if key not in self.allowed:
                fields = ", ".join(sorted(self.allowed))
                raise self.error(str(key), f"unknown field '{key}' (fields here: {fields})")

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def raw(self, key: str, *, required: bool = False, what: str = ""):
        if not self.has(key):
            if required:
                raise self.error(key, f"missing required field '{key}'" + (f" ({what})" if what else ""))
            return None
        return self.data[key]

    def quantity(self, key: str, kind: str, *, required: bool = False, what: str = "",
                 positive: bool = True, allow_zero: bool = False) -> float | None:
        raw = self.raw(key, required=required, what=what)
        if raw is None:
            return None
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise self.error(key, f"expected a quantity with a unit, e.g. '{_example(kind)}', got {raw!r}",
                             UnitError)
        try:
            value = parse_quantity(raw, kind, field=key)
        except UnitError as exc:
            raise self.error(key, exc.message, UnitError) from None
        return self._sign(key, raw, value, positive, allow_zero)

    def number(self, key: str, *, required: bool = False, what: str = "", positive: bool = True,
               allow_zero: bool = False, upper: float | None = None, integer: bool = False) -> float | None:
        raw = self.raw(key, required=required, what=what)
        if raw is None:
            return None
        if isinstance(raw, str) and raw.strip().endswith("%"):
            raw_value = raw.strip()[:-1]
            scale = 0.01
        else:
            raw_value, scale = raw, 1.0
        if isinstance(raw_value, bool):
            raise self.error(key, f"expected a number, got {raw!r}")
        try:
            value = float(raw_value) * scale
        except (TypeError, ValueError):
            raise self.error(key, f"expected a number, got {raw!r}") from None
        if integer and value != int(value):
            raise self.error(key, f"expected a whole number, got {raw!r}")
        value = self._sign(key, raw, value, positive, allow_zero)
        if upper is not None and value > upper:
            raise self.error(key, f"must be at most {upper:g}, got {raw!r}")
        return value

    def _sign(self, key, raw, value, positive, allow_zero) -> float:
        if not math.isfinite(value):
            raise self.error(key, f"must be finite, got {raw!r}")
        if positive and (value < 0 or (value == 0 and not allow_zero)):
            raise self.error(key, f"must be {'zero or positive' if allow_zero else 'positive'}, got {raw!r}")
        return value

    def text(self, key: str, *, required: bool = False, choices=None, default=None,
             what: str = "") -> str | None:
        raw = self.raw(key, required=required, what=what)
        if raw is None:
            return default
        if not isinstance(raw, str | int | float) or isinstance(raw, bool):
            raise self.error(key, f"expected text, got {raw!r}")
        value = str(raw).strip()
        if choices is not None and value not in choices:
            raise self.error(key, f"'{value}' is not one of: {', '.join(choices)}")
        return value

    def flag(self, key: str, default: bool = False) -> bool:
        raw = self.raw(key)
        if raw is None:
            return default
        if not isinstance(raw, bool):
            raise self.error(key, f"expected true or false, got {raw!r}")
        return raw


def _example(kind: str) -> str:
    return {"volume": "2000 L", "time": "4 h", "pressure": "25 psi", "flux": "100 LMH", "area": "1.5 m2",
            "concentration": "5 g/L", "specific_volume": "20 L/m2"}.get(kind, "1 unit")


# ------------------------------------------------------------------------------------- factors

def read_factors(path=None) -> Factors:
    """Read a factor file (YAML; see ``fluxwise/data/factors.yaml``, the default)."""
    path = Path(path) if path is not None else default_factors_path()
    src = str(path)
    if not path.is_file():
        raise InputError("factors file not found", source=src)
    try:
        data = yaml.safe_load(read_text_file(path, src))
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML ({exc})", source=src) from None
    return parse_factors(data, source=src)


def parse_factors(data, *, source: str = "<factors>") -> Factors:
    """Factors from the mapping of a factor file (every factor needs a value and a source)."""
    if not isinstance(data, Mapping):
        raise InputError("a factors file is a mapping (costs, resins, end_of_life, freight, routes, ...)",
                         source=source)

    def section(name: str) -> Mapping:
        sec = data.get(name)
        if not isinstance(sec, Mapping):
            raise InputError(f"missing section '{name}' (a mapping)", source=source, field=name)
        return sec

    def factor(entry, where: str, value_key: str = "value", unit: str | None = None) -> Factor:
        if not isinstance(entry, Mapping):
            raise InputError("expected a mapping with value, unit, source and year", source=source,
                             field=where)
        for key in (value_key, "source"):
            if entry.get(key) is None:
                raise InputError(f"missing '{key}'", source=source, field=f"{where}.{key}")
        try:
            value = float(entry[value_key])
        except (TypeError, ValueError):
            raise InputError(f"'{entry[value_key]}' is not a number", source=source,
                             field=f"{where}.{value_key}") from None
        if not math.isfinite(value) or value < 0:
            raise InputError(f"must be zero or positive, got {entry[value_key]}", source=source,
                             field=f"{where}.{value_key}")
        year = entry.get("year")
        return Factor(value=value, unit=str(entry.get("unit", unit or "")), source=str(entry["source"]),
                      year=int(year) if year is not None else None)

    costs = {k: factor(v, f"costs.{k}") for k, v in section("costs").items()}
    for key in ("buffer_per_L", "wfi_per_L", "ufdf_membrane_per_m2"):
        if key not in costs:
            raise InputError(f"missing cost '{key}'", source=source, field=f"costs.{key}")
    flush = {k: factor(v, f"flush_L_per_m2.{k}") for k, v in section("flush_L_per_m2").items()}
    assumptions = {k: factor(v, f"assumptions.{k}") for k, v in section("assumptions").items()}
    for key in ("shipping_mass_per_plastic_kg", "ufdf_plastic_kg_per_m2"):
        if key not in assumptions:
            raise InputError(f"missing assumption '{key}'", source=source, field=f"assumptions.{key}")
    res_sec = section("resins")
    resins = {}
    for k, v in res_sec.items():
        if k == "default":
            continue
        f = factor(v, f"resins.{k}", "kg_co2e_per_kg", "kg CO2e/kg")
        try:
            cf = float(v.get("carbon_fraction"))
        except (TypeError, ValueError):
            raise InputError("missing or non-numeric carbon_fraction (mass fraction of carbon, 0-1)",
                             source=source, field=f"resins.{k}.carbon_fraction") from None
        if not 0 < cf <= 1:
            raise InputError(f"must be in (0, 1], got {cf}", source=source,
                             field=f"resins.{k}.carbon_fraction")
        resins[str(k)] = Resin(name=str(k), kg_co2e_per_kg=f, carbon_fraction=cf)
    default_resin = str(res_sec.get("default", next(iter(resins), "")))
    if default_resin not in resins:
        raise InputError(f"default resin '{default_resin}' is not listed", source=source,
                         field="resins.default")
    eol_sec = section("end_of_life")
    if not all(isinstance(eol_sec.get(k), Mapping) for k in ("incineration", "landfill")):
        raise InputError("needs 'incineration' and 'landfill'", source=source, field="end_of_life")
    inc = eol_sec["incineration"]
    of = factor({"value": inc.get("oxidation_factor"), "source": inc.get("source"), "year": inc.get("year")},
                "end_of_life.incineration.oxidation_factor")
    fcf = float(inc.get("fossil_carbon_fraction", 1.0))
    end_of_life = {"incineration": Factor(of.value * fcf, "-", of.source, of.year),
                   "landfill": factor(eol_sec["landfill"], "end_of_life.landfill", "kg_co2e_per_kg",
                                      "kg CO2e/kg")}
    fr_sec = section("freight")
    freight = {}
    for mode in FREIGHT_MODES:
        if mode not in fr_sec:
            raise InputError(f"missing freight mode '{mode}'", source=source, field=f"freight.{mode}")
        freight[mode] = factor(fr_sec[mode], f"freight.{mode}", "kg_co2e_per_tonne_km", "kg CO2e/(t·km)")
    rt_sec = section("routes")
    routes = {}
    for rid, r in rt_sec.items():
        if rid == "default":
            continue
        if not isinstance(r, Mapping) or not isinstance(r.get("km"), Mapping):
            raise InputError("a route needs km by mode, e.g. km: {road: 30}", source=source,
                             field=f"routes.{rid}")
        km = {}
        for mode, dist in r["km"].items():
            if mode not in FREIGHT_MODES:
                raise InputError(f"unknown freight mode '{mode}' (modes: {', '.join(FREIGHT_MODES)})",
                                 source=source, field=f"routes.{rid}.km")
            try:
                km[mode] = float(dist)
            except (TypeError, ValueError):
                raise InputError(f"'{dist}' is not a distance in km", source=source,
                                 field=f"routes.{rid}.km.{mode}") from None
            if not math.isfinite(km[mode]) or km[mode] < 0:
                raise InputError(f"must be zero or positive, got {dist}", source=source,
                                 field=f"routes.{rid}.km.{mode}")
        routes[str(rid)] = Route(id=str(rid), label=str(r.get("label", rid)), km=km,
                                 source=str(r.get("source", "")))
    if not routes:
        raise InputError("no routes listed", source=source, field="routes")
    default_route = str(rt_sec.get("default", next(iter(routes))))
    if default_route not in routes:
        raise InputError(f"default route '{default_route}' is not listed", source=source,
                         field="routes.default")
    return Factors(costs=costs, flush_L_per_m2=flush, assumptions=assumptions, resins=resins,
                   default_resin=default_resin, end_of_life=end_of_life, freight=freight, routes=routes,
                   default_route=default_route, source=source)


# --------------------------------------------------------------------------------------- train

def read_train(path, *, route: str | None = None) -> Train:
    """Read a train file (YAML), read and fit its trial files, and return the :class:`Train`.

    Parameters
    ----------
    path : str or os.PathLike
        The train file; trial, catalog and factor paths in it are relative to its folder.
    route : str, optional
        Supplier route for every step's consumables, overriding the file (e.g. ``"local"``).
    """
    path = Path(path)
    src = str(path)
    if not path.is_file():
        raise InputError("train file not found", source=src)
    try:
        data = yaml.safe_load(read_text_file(path, src))
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML ({exc})", source=src) from None
    return parse_train(data, source=src, base_dir=path.parent, route=route)


def parse_train(data, *, source: str = "<train>", base_dir=".", route: str | None = None) -> Train:
    """A :class:`Train` from the mapping of a train file (see :func:`read_train`)."""
    from .catalog import read_catalog

    if not isinstance(data, Mapping):
        raise InputError("a train file is a mapping with batch_volume, titre and steps", source=source)
    base = Path(base_dir)
    top = _Fields(data, source=source, label="train", allowed=_TOP_KEYS)
    top.check_keys()
    batch = top.quantity("batch_volume", "volume", required=True, what="e.g. '2000 L'")
    titre = top.quantity("titre", "concentration", required=True, what="product concentration, e.g. '4 g/L'")
    currency = top.text("currency", default="USD")
    rate = top.number("usd_exchange_rate")
    if rate is None:
        if currency.upper() != "USD":
            raise top.error("usd_exchange_rate", "prices in the catalog and factors are in USD: give "
                                                 f"usd_exchange_rate ({currency} per USD) for a train in "
                                                 f"{currency}")
        rate = 1.0
    disposal = top.text("disposal", choices=DISPOSAL_ROUTES, default="incineration")
    factors_path = top.text("factors")
    factors = read_factors(base / factors_path if factors_path else None)
    catalog_path = top.text("catalog")
    formats = read_catalog(base / catalog_path if catalog_path else None)
    default_route = top.text("route")
    if route is not None:
        if route not in factors.routes:
            known = ", ".join(factors.routes)
            raise InputError(f"unknown route '{route}' (routes in {factors.source}: {known})",
                             field="--route")
        default_route = route
    elif default_route is not None and default_route not in factors.routes:
        raise top.error("route", f"unknown route '{default_route}' (routes: {', '.join(factors.routes)})")
    steps_raw = top.raw("steps", required=True, what="a list of steps")
    if not isinstance(steps_raw, list) or not steps_raw:
        raise top.error("steps", "expected a non-empty list of steps")
    steps = []
    for n, raw in enumerate(steps_raw, start=1):
        steps.append(_parse_step(n, raw, source=source, base=base, factors=factors,
                                 route_override=route is not None))
    name = top.text("name", default=Path(source).stem)
    return Train(name=name, batch_volume_L=batch, titre_g_per_L=titre, steps=tuple(steps),
                 formats=tuple(formats), factors=factors, product=top.text("product", default="product"),
                 currency=currency, usd_exchange_rate=rate, disposal=disposal, route=default_route,
                 source=source,
                 catalog_source=str(base / catalog_path) if catalog_path else "default catalog")


# ------------------------------------------------------------------------------ uploaded trains

def _bare_name(value, where: str, field: str, uploaded: set[str]) -> None:
    name = str(value)
    if name not in uploaded:
        hint = ("upload it with the train" if "/" not in name and "\\" not in name and name not in ("..", ".")
                else "give the bare name of a file uploaded with the train")
        raise InputError(f"{where}: '{name}' is not among the uploaded files ({hint})", field=field)


def check_train_references(data, uploaded: set[str], source: str) -> None:
    """Refuse a train whose ``trial``, ``factors`` or ``catalog`` is not one of the ``uploaded`` names."""
    if not isinstance(data, Mapping):
        return  # parse_train says what is wrong
    for key in ("factors", "catalog"):
        if data.get(key) is not None:
            _bare_name(data[key], f"{source}: train", key, uploaded)
    steps = data.get("steps")
    if isinstance(steps, list):
        for n, step in enumerate(steps, start=1):
            if isinstance(step, Mapping) and step.get("trial") is not None:
                _bare_name(step["trial"], f"{source}: step {n} '{step.get('name') or f'step {n}'}'", "trial",
                           uploaded)


def _unprefixed(text, prefix: str):
    return text.replace(prefix, "") if isinstance(text, str) else text


def _relabel(train: Train, prefix: str) -> Train:
    """``train`` with the temporary folder (``prefix``) taken out of every source it names, and the
    default factor file named as such (neither is the user's business)."""
    steps = []
    for step in train.steps:
        basis = getattr(step, "basis", None)
        if basis is not None and prefix in basis.source:
            fit = basis.fit
            if fit is not None:
                trial = dataclasses.replace(fit.trial, source=_unprefixed(fit.trial.source, prefix))
                fit = dataclasses.replace(fit, trial=trial)
            step = dataclasses.replace(step, basis=dataclasses.replace(
                basis, source=_unprefixed(basis.source, prefix), fit=fit))
        steps.append(step)
    factors_source = train.factors.source
    factors_source = ("default factors" if factors_source == str(default_factors_path())
                      else _unprefixed(factors_source, prefix))
    return dataclasses.replace(train, steps=tuple(steps),
                               factors=dataclasses.replace(train.factors, source=factors_source),
                               catalog_source=_unprefixed(train.catalog_source, prefix))


def load_uploaded_yaml(name: str, content: bytes, files: Mapping[str, bytes], *, what: str,
                       max_bytes: int):
    """The YAML of an uploaded ``what`` file (a train, a supply plan), checked as servers need: a
    .yaml/.yml name, at most ``max_bytes``, UTF-8, valid YAML, and ``files`` named by bare names only."""
    if not name.lower().endswith(TRAIN_EXTENSIONS):
        raise InputError(f"a {what} file is YAML (.yaml or .yml)", source=name)
    if len(content) > max_bytes:
        raise InputError(f"the {what} file is larger than {max_bytes // 1024} kB", source=name)
    for file_name in files:
        if (not file_name or file_name in (".", "..") or "/" in file_name or "\\" in file_name
                or "\x00" in file_name):
            raise InputError(f"'{file_name}' is not a bare file name", field="files")
    try:
        return yaml.safe_load(content.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"the {what} file is not UTF-8 text", source=name) from None
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML ({exc})", source=name) from None


def parse_uploaded_train(train_name: str, train_bytes: bytes, files: Mapping[str, bytes], *,
                         route: str | None = None) -> Train:
    """A :class:`Train` from an uploaded train file (YAML bytes) and the files uploaded with it.

    For servers (the web page and the HTTP API): every path the train names (``trial`` of a step,
    ``factors`` and ``catalog``) must be the bare name of one of ``files`` (name -> bytes), so a train
    cannot read the server's files. The files are written to a fresh temporary folder, removed again
    before this returns; no message or source of the result names that folder or the installation.
    """
    data = load_uploaded_yaml(train_name, train_bytes, files, what="train", max_bytes=MAX_TRAIN_BYTES)
    check_train_references(data, set(files), train_name)
    with tempfile.TemporaryDirectory(prefix="fluxwise-train-") as tmp:
        base = Path(tmp)
        prefix = f"{base}{os.sep}"
        for name, content in files.items():
            (base / name).write_bytes(content)
        try:
            train = parse_train(data, source=train_name, base_dir=base, route=route)
        except InputError as exc:
            raise type(exc)(_unprefixed(exc.message, prefix), source=_unprefixed(exc.source, prefix),
                            row=exc.row, column=exc.column, field=exc.field) from None
        except FluxwiseError as exc:
            raise InputError(_unprefixed(str(exc), prefix), source=train_name) from None
    return _relabel(train, prefix)


def _parse_step(n: int, raw, *, source: str, base: Path, factors: Factors, route_override: bool):
    if not isinstance(raw, Mapping):
        raise InputError(f"step {n}: expected a mapping with at least 'type'", source=source, field="steps")
    name = str(raw.get("name") or f"step {n}")
    f = _Fields(raw, source=source, label=f"step {n} '{name}'")
    stype = f.text("type", required=True, what=f"one of {', '.join(STEP_TYPES)}")
    if stype not in STEP_TYPES:
        raise f.error("type", f"unknown step type '{stype}' (types: {', '.join(STEP_TYPES)})")
    f.allowed = _KEYS[stype]
    f.check_keys()
    lrv = _parse_lrv(f, name, stype)
    setup = f.quantity("setup_time", "time", allow_zero=True) or 0.0
    step_route = None
    if stype != "hold":
        step_route = f.text("route")
        if step_route is not None and step_route not in factors.routes:
            raise f.error("route", f"unknown route '{step_route}' (routes: {', '.join(factors.routes)})")
        if route_override:
            step_route = None
        resin = f.text("resin")
        if resin is not None and resin not in factors.resins:
            raise f.error("resin", f"unknown resin '{resin}' (resins: {', '.join(factors.resins)})")
    if stype == "hold":
        return _parse_hold(f, name, lrv)
    if stype == "ufdf":
        return _parse_ufdf(f, name, lrv, setup, step_route, resin)
    return _parse_normal_flow(f, n, name, stype, lrv, setup, step_route, resin, base)


def _parse_lrv(f: _Fields, name: str, stype: str) -> tuple[LRVStep, ...]:
    raw = f.raw("lrv")
    if raw is None:
        return ()
    if isinstance(raw, Mapping):
        raw = [raw]
    if not isinstance(raw, list):
        raise f.error("lrv", "expected a list of claims, e.g. [{virus: MVM, lrv: 4}]")
    out = []
    for i, claim in enumerate(raw, start=1):
        if not isinstance(claim, Mapping):
            raise f.error("lrv", f"claim {i}: expected a mapping with virus and lrv")
        c = _Fields(claim, source=f.source, label=f"{f.label}, LRV claim {i}",
                    allowed={"virus", "lrv", "mechanism", "lower_bound"})
        c.check_keys()
        virus = c.text("virus", required=True, what="model virus, e.g. MVM")
        value = c.number("lrv", required=True, allow_zero=True, what="log10 reduction")
        mech = c.text("mechanism", default=_DEFAULT_MECHANISM.get(stype))
        if mech is None:
            raise c.error("mechanism", "missing required field 'mechanism' (how the step clears virus, e.g. "
                                       "'low-pH inactivation')")
        out.append(LRVStep(name=name, lrv=value, mechanism=mech, virus=virus,
                           lower_bound=c.flag("lower_bound")))
    return tuple(out)


def _parse_hold(f: _Fields, name: str, lrv) -> HoldStep:
    y = f.number("yield", upper=1.0)
    conc = f.quantity("concentration", "concentration")
    vol = f.quantity("volume", "volume")
    if conc is not None and vol is not None:
        raise f.error("volume", "give the outlet concentration or the outlet volume, not both")
    return HoldStep(name=name, time_h=f.quantity("time", "time", allow_zero=True) or 0.0,
                    yield_fraction=1.0 if y is None else y, concentration_g_per_L=conc, volume_L=vol, lrv=lrv)


def _parse_ufdf(f: _Fields, name: str, lrv, setup, route, resin) -> UFDFStep:
    area = f.quantity("area", "area")
    time = f.quantity("process_time", "time")
    if (area is None) == (time is None):
        raise f.error("area", "give exactly one of 'area' (membrane area) and 'process_time'")
    dv = f.number("diavolumes", allow_zero=True)
    frac = f.number("df_remaining_fraction", upper=1.0)
    df_mode = f.text("df_mode", choices=DF_MODES, default="continuous")
    k_df = f.number("dilution_factor")
    cycles = f.number("cycles", allow_zero=True, integer=True)
    if df_mode == "continuous":
        for key in ("dilution_factor", "cycles"):
            if f.has(key):
                raise f.error(key, f"'{key}' belongs to discontinuous diafiltration: add df_mode: "
                                   "sequential-dilution or df_mode: volume-reduction")
        if dv is None and frac is None:
            raise f.error("diavolumes", "missing required field 'diavolumes' (0 for concentration only) or "
                                        "'df_remaining_fraction'")
    else:
        if k_df is None or k_df <= 1:
            raise f.error("dilution_factor", f"{df_mode} diafiltration needs 'dilution_factor' above 1 "
                                             "(the volume ratio of a cycle, e.g. 2)")
        if dv is not None:
            raise f.error("diavolumes", "discontinuous diafiltration counts 'cycles', not diavolumes")
        if (cycles is None) == (frac is None):
            raise f.error("cycles", "give 'cycles' or 'df_remaining_fraction' (one of the two)")
    dfc_raw = f.raw("df_concentration")
    if dfc_raw is None or (isinstance(dfc_raw, str) and dfc_raw.strip().lower() == "optimal"):
        dfc = "optimal"
    else:
        dfc = f.quantity("df_concentration", "concentration")
    reuses = f.number("reuses", integer=True)
    single = f.raw("single_use")
    if single is not None:
        single = f.flag("single_use")
        if single and reuses not in (None, 1):
            raise f.error("reuses", "a single-use membrane is used once: drop 'reuses' or 'single_use'")
        if not single and reuses is None:
            raise f.error("reuses", "a reused membrane needs its number of uses, e.g. reuses: 20")
    price = f.number("membrane_price_per_m2", allow_zero=True)
    flux = f.quantity("flux", "flux")
    gel = ("k", "cg", "mass_transfer_a", "mass_transfer_b")
    if flux is not None:
        for key in gel:
            if f.has(key):
                raise f.error(key, "give the gel model (k or mass_transfer_a/b, and cg) or a constant "
                                   "'flux', not both")
        k = cg = a = b = None
    else:
        cg = f.quantity("cg", "concentration", required=True, what="gel concentration, e.g. '250 g/L' "
                                                                   "(or a constant 'flux')")
        a, b = f.number("mass_transfer_a"), f.number("mass_transfer_b", positive=False)
        if f.has("k"):
            k = f.quantity("k", "flux")
        elif a is not None and b is not None and f.has("feed_flux"):
            k = None
        else:
            raise f.error("k", "missing required field 'k' (mass-transfer coefficient, e.g. '20 LMH'), or "
                               "mass_transfer_a, mass_transfer_b and feed_flux for k = a·Q^b")
    return UFDFStep(
        name=name, k_LMH=k, gel_concentration_g_per_L=cg, flux_LMH=flux, mass_transfer_a=a,
        mass_transfer_b=b,
        target_concentration_g_per_L=f.quantity("target_concentration", "concentration", required=True,
                                                what="e.g. '120 g/L'"),
        diavolumes=dv, df_remaining_fraction=frac, df_concentration=dfc, df_mode=df_mode,
        dilution_factor=k_df, df_cycles=None if cycles is None else int(cycles),
        product_sieving=f.number("sieving", allow_zero=True, upper=1.0) or 0.0,
        impurity_sieving=(1.0 if not f.has("impurity_sieving")
                          else f.number("impurity_sieving", allow_zero=True, upper=1.0)),
        area_m2=area, process_time_h=time,
        hold_up_volume_L=f.quantity("hold_up", "volume", allow_zero=True) or 0.0,
        recovery_flush_L=f.quantity("recovery_flush", "volume", allow_zero=True) or 0.0,
        feed_flux_LMH=f.quantity("feed_flux", "flux"), cassette_area_m2=f.quantity("cassette_area", "area"),
        membrane_price_per_m2=price, reuses=int(reuses or 1),
        plastic_kg_per_m2=f.number("plastic_kg_per_m2", allow_zero=True),
        flush_L_per_m2=f.quantity("flush", "specific_volume", allow_zero=True), setup_time_h=setup,
        route=route, resin=resin, lrv=lrv)


def _parse_normal_flow(f: _Fields, n: int, name: str, stype: str, lrv, setup, route, resin,
                       base: Path) -> NormalFlowStep:
    has_trial, has_params = f.has("trial"), f.has("params")
    if has_trial == has_params:
        raise f.error("trial", "give a trial file ('trial: file.csv') or fitted parameters ('model' and "
                               "'params'), one of the two" + (", not both" if has_trial else ""))
    model = f.text("model", default="best" if has_trial else None)
    if model is None:
        raise f.error("model", "missing required field 'model' for 'params' "
                               f"(models: {', '.join(MODEL_NAMES)})")
    if model not in MODEL_NAMES and not (has_trial and model == "best"):
        raise f.error("model", f"unknown model '{model}' (models: {'best, ' if has_trial else ''}"
                               f"{', '.join(MODEL_NAMES)})")
    mode = f.text("mode", choices=MODES)
    if has_trial:
        basis = _fit_trial_step(f, model, mode, base)
    else:
        basis = _params_basis(f, model, mode or CONSTANT_PRESSURE)
    time = f.quantity("process_time", "time")
    pmax = f.quantity("max_pressure", "pressure")
    flux = f.quantity("flux", "flux")
    if basis.mode == CONSTANT_PRESSURE and time is None:
        raise f.error("process_time", "missing required field 'process_time' (constant-pressure sizing), "
                                      "e.g. '4 h'")
    if basis.mode == CONSTANT_FLUX and pmax is None:
        raise f.error("max_pressure", "missing required field 'max_pressure' (constant-flux sizing), "
                                      "e.g. '25 psi'")
    if basis.mode == CONSTANT_FLUX and time is None and flux is None:
        raise f.error("flux", "constant-flux sizing needs the process 'flux' or the 'process_time'")
    sf = f.number("safety_factor")
    if sf is not None and sf < 1:
        raise f.error("safety_factor", f"must be at least 1 (installed over minimum area), got {sf:g}")
    virus = {}
    if stype == "virus":  # worst cases of virus retention (fluxwise.design.virus.size_virus_filter)
        virus = dict(process_pauses=int(f.number("pauses", allow_zero=True, integer=True) or 0),
                     pauses_validated=f.flag("pauses_validated"),
                     operating_pressure_bar=f.quantity("operating_pressure", "pressure"),
                     validated_min_pressure_bar=f.quantity("validated_min_pressure", "pressure"))
    return NormalFlowStep(
        name=name, type=stype, basis=basis, process_time_h=time, max_pressure_bar=pmax, flux_LMH=flux,
        flux_decay_limit=f.number("flux_decay_limit", upper=0.999999),
        safety_factor=DEFAULT_SAFETY_FACTOR if sf is None else sf, format_name=f.text("format"),
        kind=f.text("kind"), yield_fraction=f.number("yield", upper=1.0),
        flush_L_per_m2=f.quantity("flush", "specific_volume", allow_zero=True),
        chase_volume_L=f.quantity("chase", "volume", allow_zero=True) or 0.0, setup_time_h=setup,
        route=route, resin=resin, lrv=lrv, **virus)


def _fit_trial_step(f: _Fields, model: str, mode: str | None, base: Path) -> FoulingBasis:
    from ..pipeline import analyze

    trial = base / str(f.raw("trial"))
    if not trial.is_file():
        raise f.error("trial", f"trial file not found: {trial}")
    columns = f.raw("columns")
    if columns is not None and not isinstance(columns, Mapping):
        raise f.error("columns", "expected a mapping of role to header, e.g. {time: 'Zeit [s]'}")
    sheet = f.raw("sheet")
    try:
        a = analyze(trial, area=f.raw("area"), mode=mode, density=f.raw("density"),
                    columns=dict(columns) if columns else None, sheet=sheet)
    except InputError as exc:
        raise type(exc)(f"{f.label}: {exc.message}", source=exc.source or str(trial), row=exc.row,
                        column=exc.column, field=exc.field or "trial") from None
    except FluxwiseError as exc:
        raise f.error("trial", f"{trial}: {exc}") from None
    chosen = a.fit.best if model == "best" else a.fit.get(model)
    return FoulingBasis(model=chosen.name, params=dict(chosen.params), mode=a.trial.mode, source=str(trial),
                        fit=a.fit)


def _params_basis(f: _Fields, model: str, mode: str) -> FoulingBasis:
    raw = f.raw("params")
    if not isinstance(raw, Mapping):
        raise f.error("params", "expected a mapping of fitted parameters, "
                                "e.g. {J0_LMH: 1000, ks_m2_per_L: 0.002}")
    needed = list(MODELS[model].all_params) + (["P0_bar"] if mode == CONSTANT_FLUX else [])
    for key in raw:
        if key not in needed:
            raise f.error(f"params.{key}", f"'{key}' is not a parameter of '{model}' at {mode} "
                                           f"(parameters: {', '.join(needed)})")
    params = {}
    for key in needed:
        if raw.get(key) is None:
            raise f.error(f"params.{key}", f"missing required field 'params.{key}' of model '{model}'")
        val = raw[key]
        try:
            val = float(val)
        except (TypeError, ValueError):
            raise f.error(f"params.{key}", f"expected a number in the parameter's unit, "
                                           f"got {val!r}") from None
        strict = key in ("J0_LMH", "P0_bar")
        if not math.isfinite(val) or val < 0 or (val == 0 and strict):
            raise f.error(f"params.{key}", f"must be {'positive' if strict else 'zero or positive'}, "
                                           f"got {raw[key]!r}")
        params[key] = val
    return FoulingBasis(model=model, params=params, mode=mode, source="params")
