/* fluxwise workbench: plots, uploads with progress, sizing and signing through the JSON API.
   No framework, nothing fetched from elsewhere. */
(function () {
  "use strict";

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  function csrfToken() {
    var meta = $('meta[name="csrf-token"]');
    if (meta) return meta.content;
    var m = document.cookie.match(/(?:^|;\s*)fluxwise_csrf=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  /* The page's messages in its language: {"English text": "translation"} from the page
     (fluxwise.web.present.JS_MESSAGES); {name} placeholders are filled from vars. */
  var messages = null;
  function t(text, vars) {
    if (messages === null) {
      var el = document.getElementById("i18n-messages");
      try { messages = el ? JSON.parse(el.textContent) : {}; } catch (e) { messages = {}; }
    }
    var out = messages[text] || text;
    Object.keys(vars || {}).forEach(function (k) { out = out.split("{" + k + "}").join(String(vars[k])); });
    return out;
  }
  function pageLanguage() { return document.documentElement.lang || "en"; }

  /* The message of an API error: {"detail": "..."} or a list of field errors. */
  function detailOf(data, status) {
    if (data && typeof data.detail === "string") return data.detail;
    if (data && Array.isArray(data.detail)) {
      return data.detail.map(function (e) {
        var where = (e.loc || []).filter(function (x) { return x !== "body"; }).join(".");
        return (where ? where + ": " : "") + e.msg;
      }).join("; ");
    }
    if (status === 413) return t("the file is larger than the upload limit");
    return t("the server answered HTTP {status}", { status: status });
  }

  function showError(el, text) { if (!el) { window.alert(text); return; } el.textContent = text; el.hidden = false; }
  function hide(el) { if (el) el.hidden = true; }

  function api(method, url, body) {
    var headers = { "Accept": "application/json", "X-CSRF-Token": csrfToken(), "Accept-Language": pageLanguage(),
                    "X-Fluxwise-Door": "web" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(url, { method: method, headers: headers, credentials: "same-origin",
                        body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (r) {
        return r.text().then(function (text) {
          var data = null;
          try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
          if (!r.ok) throw new Error(detailOf(data, r.status));
          return data;
        });
      });
  }

  /* POST a form with upload progress (fetch cannot report it). */
  function send(url, formData, onProgress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("Accept-Language", pageLanguage());
      xhr.setRequestHeader("X-CSRF-Token", csrfToken());
      xhr.setRequestHeader("X-Fluxwise-Door", "web");  /* errors in the pages' words (form fields) */
      xhr.upload.onprogress = function (e) { if (e.lengthComputable && onProgress) onProgress(e.loaded, e.total); };
      xhr.onload = function () {
        var data = null;
        try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
        if (xhr.status >= 200 && xhr.status < 300) resolve(data);
        else reject(new Error(detailOf(data, xhr.status)));
      };
      xhr.onerror = function () { reject(new Error(t("the server could not be reached"))); };
      xhr.send(formData);
    });
  }

  function kB(n) { return n < 1024 * 1024 ? (n / 1024).toFixed(1) + " kB" : (n / 1048576).toFixed(2) + " MB"; }

  function setBar(bar, fraction, indeterminate) {
    if (!bar) return;
    bar.parentNode.classList.toggle("indeterminate", !!indeterminate);
    bar.style.width = indeterminate ? "" : Math.round(fraction * 100) + "%";
  }

  /* --- plots --------------------------------------------------------------------------------- */
  function drawPlots() {
    var targets = $all("[data-figure]");
    if (!targets.length) return;
    if (!window.Plotly) {
      targets.forEach(function (el) { el.textContent = t("The plotting library did not load."); });
      return;
    }
    targets.forEach(function (el) {
      var source = document.getElementById(el.dataset.figure);
      if (!source) return;
      var fig = JSON.parse(source.textContent);
      el.innerHTML = "";
      window.Plotly.newPlot(el, fig.data, fig.layout, { displaylogo: false, responsive: true })
        .then(function () { return window.fluxwisePlots ? window.fluxwisePlots.fit(el) : null; })
        .then(function () { el.dataset.ready = "1"; });
    });
  }

  /* --- upload a trial, then fit it ---------------------------------------------------------- */
  function initUpload() {
    var form = $("#upload-form");
    if (!form) return;
    var input = $("#upload-file"), zone = $("#dropzone"), button = $("#upload-button");
    var name = $("#upload-name"), progress = $("#upload-progress"), bar = $("#upload-bar");
    var status = $("#upload-status"), error = $("#upload-error");
    var file = null;

    function choose(f) {
      file = f || null;
      hide(error);
      button.disabled = !file;
      zone.classList.toggle("has-file", !!file);
      if (file) name.textContent = file.name + " · " + kB(file.size);
    }
    input.addEventListener("change", function () { choose(input.files[0]); });
    ["dragenter", "dragover"].forEach(function (t) {
      zone.addEventListener(t, function (e) { e.preventDefault(); zone.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (t) {
      zone.addEventListener(t, function (e) { e.preventDefault(); zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (e) {
      if (e.dataTransfer && e.dataTransfer.files.length) choose(e.dataTransfer.files[0]);
    });
    zone.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); } });

    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (!file) { showError(error, t("choose a trial file first")); return; }
      var data = new FormData();
      data.append("file", file, file.name);
      ["area", "mode", "density", "max_dip"].forEach(function (k) {
        var v = form.elements[k].value.trim();
        if (v) data.append(k, v);
      });
      var problem = mappingProblem(form);
      if (problem) { showError(error, problem); return; }
      var mapping = columnMapping(form);
      if (Object.keys(mapping).length) data.append("columns", JSON.stringify(mapping));
      hide(error);
      button.disabled = true;
      progress.hidden = false;
      setBar(bar, 0, false);
      status.textContent = t("Uploading {name}…", { name: file.name });
      var trialUrl = null;
      send("/api/projects/" + form.dataset.project + "/uploads", data, function (loaded, total) {
        setBar(bar, 0.6 * loaded / total, false);
        status.textContent = t("Uploading: {loaded} of {total}", { loaded: kB(loaded), total: kB(total) });
      }).then(function (out) {
        trialUrl = "/trials/" + out.trial.id;
        setBar(bar, 0, true);
        status.textContent = t("Uploaded ({points} points, {mode}). Fitting the nine fouling models…",
                               { points: out.trial.points, mode: t(out.trial.mode) });
        return api("POST", "/api/trials/" + out.trial.id + "/fit", {});
      }).then(function () {
        setBar(bar, 1, false);
        status.textContent = t("Done. Opening the trial…");
        window.location.assign(trialUrl);
      }).catch(function (err) {
        progress.hidden = true;
        button.disabled = false;
        showError(error, (trialUrl ? t("The file was stored, but the fit failed: ") : t("Upload refused: ")) + err.message);
      });
    });
  }

  function initFitButton() {
    var button = $("#fit-button");
    if (!button) return;
    button.addEventListener("click", function () {
      button.disabled = true;
      $("#fit-progress").hidden = false;
      hide($("#fit-error"));
      api("POST", "/api/trials/" + button.dataset.trial + "/fit", {}).then(function () {
        window.location.reload();
      }).catch(function (err) {
        button.disabled = false;
        $("#fit-progress").hidden = true;
        showError($("#fit-error"), err.message);
      });
    });
  }

  /* --- sizing -------------------------------------------------------------------------------- */
  function initSizing() {
    var form = $("#size-form");
    if (!form) return;
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var f = form.elements;
      function quantity(name) {
        var v = f[name] ? f[name].value.trim() : "";
        return v ? v + " " + f[name + "_unit"].value : null;
      }
      var body = { batch_volume: quantity("batch_volume"), safety_factor: parseFloat(f.safety_factor.value),
                   model: f.model.value };
      var pt = quantity("process_time"), mp = quantity("max_pressure");
      if (pt) body.process_time = pt;
      if (mp) body.max_pressure = mp;
      if (f.format_name.value) body.format_name = f.format_name.value;
      if (f.flux_decay_limit && f.flux_decay_limit.value.trim()) body.flux_decay_limit = f.flux_decay_limit.value.trim() + "%";
      if (f.flux && f.flux.value.trim()) body.flux = f.flux.value.trim() + " LMH";
      if (f.process_temperature && f.process_temperature.value.trim()) body.process_temperature = f.process_temperature.value.trim() + " degC";
      if (f.trial_temperature && f.trial_temperature.value.trim()) body.trial_temperature = f.trial_temperature.value.trim() + " degC";
      if (f.buffer_flux && f.buffer_flux.value.trim()) body.buffer_flux = f.buffer_flux.value.trim() + " LMH";
      if (f.fix_j0 && f.fix_j0.checked) body.fix_j0 = true;
      var error = $("#size-error"), progress = $("#size-progress"), button = $("#size-button");
      hide(error);
      progress.hidden = false;
      button.disabled = true;
      api("POST", "/api/trials/" + form.dataset.trial + "/size", body).then(function (out) {
        window.location.assign("/trials/" + form.dataset.trial + "?result=" + out.id + "#sizing");
      }).catch(function (err) {
        progress.hidden = true;
        button.disabled = false;
        showError(error, err.message);
      });
    });
  }

  /* --- signatures ------------------------------------------------------------------------------ */
  function initSigning() {
    $all(".sign-form").forEach(function (form) {
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        var error = $(".alert", form), button = $("button", form);
        hide(error);
        button.disabled = true;
        var body = { password: form.elements.password.value, meaning: form.elements.meaning.value,
                     version: parseInt(form.dataset.version, 10) };
        if (form.elements.email) body.email = form.elements.email.value;  /* first signature of a session */
        api("POST", "/api/results/" + form.dataset.result + "/signatures", body).then(function () {
          window.location.hash = "result-" + form.dataset.result;
          window.location.reload();
        }).catch(function (err) {
          button.disabled = false;
          form.elements.password.value = "";
          showError(error, err.message);
        });
      });
    });
  }

  /* --- corrections: read the same bytes again with another mapping, area, density or mode ------ */
  /* The column mapping of a form: {role: header or [header, unit]}, from rows tr[data-role]. */
  function columnMapping(root) {
    var out = {};
    $all("tr[data-role]", root).forEach(function (row) {
      var role = row.dataset.role;
      var header = $('input[name="col-' + role + '"]', row).value.trim();
      var unit = $('input[name="unit-' + role + '"]', row).value.trim();
      if (header) out[role] = unit ? [header, unit] : header;
    });
    return out;
  }

  function initialMapping(root) {
    var out = {};
    $all("tr[data-role]", root).forEach(function (row) {
      var role = row.dataset.role;
      var header = $('input[name="col-' + role + '"]', row).dataset.initial || "";
      var unit = $('input[name="unit-' + role + '"]', row).dataset.initial || "";
      if (header) out[role] = unit ? [header, unit] : header;
    });
    return out;
  }

  /* Checks as you type: a unit without its column, a column named twice. */
  function mappingProblem(root) {
    var seen = {}, problem = null;
    $all("tr[data-role]", root).forEach(function (row) {
      var role = row.dataset.role, label = $("label", row) ? $("label", row).textContent : role;
      var header = $('input[name="col-' + role + '"]', row), unit = $('input[name="unit-' + role + '"]', row);
      var h = header.value.trim(), msg = "";
      if (!h && unit.value.trim()) msg = label + ": name the column this unit belongs to";
      else if (h && seen[h.toLowerCase()]) msg = label + ": the column '" + h + "' is already the " + seen[h.toLowerCase()] + " column";
      if (h) seen[h.toLowerCase()] = label;
      header.setCustomValidity(msg);
      row.classList.toggle("invalid", !!msg);
      if (msg && !problem) problem = msg;
    });
    return problem;
  }

  function initCorrection() {
    var form = $("#correct-form");
    if (!form) return;
    var error = $("#correct-error"), button = $("#correct-button");
    var link = $("#correct-link");
    if (link) link.addEventListener("click", function () { $("#correct-details").open = true; });
    if (window.location.hash === "#correct") $("#correct-details").open = true;
    form.addEventListener("input", function () {
      var p = mappingProblem(form);
      if (p) showError(error, p); else hide(error);
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var p = mappingProblem(form);
      if (p) { showError(error, p); return; }
      var f = form.elements, body = { reason: f.reason.value.trim() };
      var mapping = columnMapping(form);
      if (JSON.stringify(mapping) !== JSON.stringify(initialMapping(form))) {
        body.columns = Object.keys(mapping).length ? mapping : null;
      }
      ["area", "density", "mode"].forEach(function (k) {
        var v = f[k].value.trim();
        if (v !== (f[k].dataset.initial || "")) body[k] = v || null;
      });
      if (Object.keys(body).length === 1) { showError(error, t("nothing was changed: change a column, a unit, the filter area, the density or the mode")); return; }
      if (!body.reason) { showError(error, t("reason: say why the trial is read again (kept in the audit trail)")); return; }
      hide(error);
      button.disabled = true;
      api("PATCH", "/api/trials/" + form.dataset.trial, body).then(function () {
        window.location.assign("/trials/" + form.dataset.trial + "?corrected=1");
      }).catch(function (err) {
        button.disabled = false;
        showError(error, err.message);
      });
    });
  }

  /* --- delete with a reason; an admin's restore ------------------------------------------------- */
  function initDelete() {
    $all(".delete-form").forEach(function (form) {
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        var error = $(".alert", form), button = $("button", form);
        var reason = form.elements.reason.value.trim();
        if (!reason) { showError(error, t("reason: say why it is deleted (kept in the audit trail)")); return; }
        var url = form.elements.target ? form.elements.target.value : form.dataset.url;
        hide(error);
        button.disabled = true;
        api("DELETE", url + "?reason=" + encodeURIComponent(reason)).then(function () {
          window.location.assign(form.dataset.next);
        }).catch(function (err) {
          button.disabled = false;
          showError(error, err.message);
        });
      });
    });
  }

  function initRestore() {
    $all(".restore-form").forEach(function (form) {
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        var error = $(".alert", form), button = $("button", form);
        var reason = form.elements.reason.value.trim();
        if (!reason) { showError(error, t("reason: say why it is restored (kept in the audit trail)")); return; }
        hide(error);
        button.disabled = true;
        api("POST", form.dataset.url, { reason: reason }).then(function () {
          window.location.reload();
        }).catch(function (err) {
          button.disabled = false;
          showError(error, err.message);
        });
      });
    });
  }

  /* --- train design ---------------------------------------------------------------------------- */
  function initTrain() {
    var form = $("#train-form");
    if (!form) return;
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var example = e.submitter && e.submitter.value === "1";
      var data = new FormData(form);
      data.set("example", example ? "1" : "0");
      var progress = $("#train-progress"), bar = $("#train-bar"), status = $("#train-status");
      var error = $("#train-error"), buttons = $all("button", form);
      if (!example && !(form.elements.train.files || []).length) {
        showError(error, t("choose a train file (.yaml), or design the example train"));
        return;
      }
      hide(error);
      buttons.forEach(function (b) { b.disabled = true; });
      progress.hidden = false;
      setBar(bar, 0, false);
      status.textContent = example ? t("Designing the example train…") : t("Uploading…");
      send("/train", data, function (loaded, total) {
        setBar(bar, loaded / total, false);
        status.textContent = t("Uploading: {loaded} of {total}", { loaded: kB(loaded), total: kB(total) });
        if (loaded >= total) {
          setBar(bar, 0, true);
          status.textContent = t("Reading and fitting the trials, designing every step…");
        }
      }).then(function (out) {
        status.textContent = t("Done. Opening the design…");
        window.location.assign(out.url);
      }).catch(function (err) {
        progress.hidden = true;
        buttons.forEach(function (b) { b.disabled = false; });
        showError(error, err.message);
      });
    });
  }

  /* --- train designer: a train step by step, checked as you type ------------------------------- */
  var UNITS = {
    time: ["s", "min", "h", "d"], volume: ["mL", "L", "m3", "uL"],
    pressure: ["bar", "mbar", "psi", "kPa", "MPa", "Pa"], flux: ["LMH", "L/m2/h", "L/m²/h"],
    concentration: ["g/L", "mg/mL", "mg/L", "kg/m3"], area: ["m2", "cm2", "m²", "cm²"]
  };
  var QUANTITY = /^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$/;

  /* The problem with one value of a field (kind, required), or "". */
  function fieldProblem(field, value) {
    var v = (value || "").trim();
    if (!v) return field.required ? (field.example ? t("is required, e.g. {example}", {example: field.example}) : t("is required")) : "";
    if (UNITS[field.kind]) {
      var m = v.match(QUANTITY);
      if (!m) return t("must be a number and a unit, e.g. {example}", {example: field.example});
      if (!m[2]) return t("needs a unit, e.g. {example}", {example: field.example});
      var ok = UNITS[field.kind].some(function (u) { return u.toLowerCase() === m[2].toLowerCase(); });
      if (!ok) return t("unit '{unit}' is not a {kind} unit here ({units})", {unit: m[2], kind: t(field.kind), units: UNITS[field.kind].join(", ")});
      if (parseFloat(m[1]) < 0) return t("must not be negative");
      return "";
    }
    var x = Number(v);
    if (field.kind === "fraction") return (isNaN(x) || x <= 0 || x > 1) ? t("must be a fraction between 0 and 1, e.g. {example}", {example: field.example}) : "";
    if (field.kind === "factor") return (isNaN(x) || x < 1) ? t("must be a number of at least 1, e.g. {example}", {example: field.example}) : "";
    if (field.kind === "count") return (isNaN(x) || x < 0) ? t("must be a number of at least 0, e.g. {example}", {example: field.example}) : "";
    return "";
  }

  function makeInput(field, spec, prefix) {
    var label = document.createElement("label");
    label.className = "dfield";
    label.textContent = field.label + (field.required ? " *" : "") + " ";
    var input;
    var options = null;
    if (field.kind === "choice") options = field.choices.map(function (c) { return [c, c || "—"]; });
    if (field.kind === "trial") options = [["", t("choose a trial")]].concat(spec.trials.map(function (t) {
      return [t.id, t.file + " (" + t.mode + ")"]; }));
    if (field.kind === "format") options = [["", t("best fitting format")]].concat(spec.formats.map(function (f) { return [f, f]; }));
    if (options) {
      input = document.createElement("select");
      options.forEach(function (o) {
        var opt = document.createElement("option");
        opt.value = o[0]; opt.textContent = o[1];
        input.appendChild(opt);
      });
    } else {
      input = document.createElement("input");
      input.maxLength = 200;
      if (field.example) input.placeholder = "e.g. " + field.example;
    }
    input.name = prefix + field.key;
    input.dataset.key = field.key;
    label.appendChild(input);
    var note = document.createElement("span");
    note.className = "field-error small";
    note.setAttribute("aria-live", "polite");
    label.appendChild(note);
    label._field = field;
    return label;
  }

  function initDesigner() {
    var form = $("#designer-form");
    if (!form) return;
    var spec = JSON.parse($("#designer-spec").textContent);
    var list = $("#designer-steps"), error = $("#designer-error"), status = $("#designer-status");
    var head = $("#designer-train");
    spec.train.forEach(function (f) { head.appendChild(makeInput(f, spec, "train-")); });
    var addType = $("#designer-add-type");
    Object.keys(spec.steps).forEach(function (t) {
      var opt = document.createElement("option");
      opt.value = t; opt.textContent = t + " — " + (spec.labels[t] || t);
      addType.appendChild(opt);
    });
    $("#designer-project").addEventListener("change", function (e) {
      window.location.assign("/train/new?project=" + encodeURIComponent(e.target.value));
    });

    function addStep(type) {
      var li = document.createElement("li");
      li.className = "step card";
      li.dataset.type = type;
      var top = document.createElement("div");
      top.className = "row step-head";
      var name = document.createElement("input");
      name.name = "step-name"; name.maxLength = 200; name.placeholder = t("step name");
      name.value = (spec.labels[type] || type).replace(/^./, function (c) { return c.toUpperCase(); });
      name.setAttribute("aria-label", t("Step name"));
      var badge = document.createElement("span");
      badge.className = "badge"; badge.textContent = type;
      top.appendChild(name); top.appendChild(badge);
      [["↑", "up", t("Move up")], ["↓", "down", t("Move down")], [t("Remove"), "remove", t("Remove the step")]].forEach(function (b) {
        var btn = document.createElement("button");
        btn.type = "button"; btn.className = "small-button"; btn.textContent = b[0];
        btn.dataset.act = b[1]; btn.title = b[2];
        top.appendChild(btn);
      });
      li.appendChild(top);
      var grid = document.createElement("div");
      grid.className = "step-fields";
      spec.steps[type].forEach(function (f) { grid.appendChild(makeInput(f, spec, "")); });
      li.appendChild(grid);
      list.appendChild(li);
      check(false);
    }

    list.addEventListener("click", function (e) {
      var act = e.target.dataset && e.target.dataset.act;
      if (!act) return;
      var li = e.target.closest("li");
      if (act === "remove") li.remove();
      if (act === "up" && li.previousElementSibling) list.insertBefore(li, li.previousElementSibling);
      if (act === "down" && li.nextElementSibling) list.insertBefore(li.nextElementSibling, li);
      check(false);
    });
    $("#designer-add").addEventListener("click", function () { addStep(addType.value); });

    function collect() {
      var train = {};
      $all("label.dfield", head).forEach(function (l) { train[l._field.key] = $("input,select", l).value.trim(); });
      var steps = $all("li.step", list).map(function (li) {
        var step = { type: li.dataset.type, name: $("input[name=step-name]", li).value.trim() };
        $all("label.dfield", li).forEach(function (l) { step[l._field.key] = $("input,select", l).value.trim(); });
        return step;
      });
      return { train: train, steps: steps };
    }

    /* Mark every field; return the first problem ("" when none). Untouched fields are marked on submit. */
    function check(all) {
      var first = "";
      function mark(l, problem, where) {
        var input = $("input,select", l);
        var shown = all || input.dataset.touched;
        $(".field-error", l).textContent = shown ? problem : "";
        input.setCustomValidity(problem);
        l.classList.toggle("invalid", !!(shown && problem));
        if (problem && !first) first = where + l._field.label.toLowerCase() + ": " + problem;
      }
      $all("label.dfield", head).forEach(function (l) { mark(l, fieldProblem(l._field, $("input,select", l).value), ""); });
      $all("li.step", list).forEach(function (li, i) {
        var where = t("step {n}, ", {n: i + 1});
        var values = {};
        $all("label.dfield", li).forEach(function (l) { values[l._field.key] = $("input,select", l).value.trim(); });
        var trial = spec.trials.filter(function (t) { return t.id === values.trial; })[0];
        $all("label.dfield", li).forEach(function (l) {
          var f = l._field, problem = fieldProblem(f, values[f.key]);
          if (!problem && trial && !values[f.key]) {  /* what the trial's mode needs */
            if (trial.mode === "constant-pressure" && f.key === "process_time") problem = t("is required at constant pressure, e.g. 2 h");
            if (trial.mode === "constant-flux" && f.key === "max_pressure") problem = t("is required at constant flux, e.g. 25 psi");
            if (trial.mode === "constant-flux" && f.key === "process_time" && !values.flux) problem = t("give the process time or the process flux");
          }
          mark(l, problem, where);
        });
      });
      if (!$all("li.step", list).length && !first && all) first = t("add at least one step");
      if (first && all) showError(error, first); else if (!first) hide(error);
      return first;
    }

    form.addEventListener("input", function (e) { if (e.target.name) e.target.dataset.touched = "1"; check(false); });
    form.addEventListener("change", function (e) { if (e.target.name) e.target.dataset.touched = "1"; check(false); });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (check(true)) return;
      var data = new FormData();
      data.append("csrf_token", csrfToken());
      data.append("project_id", form.elements.project_id.value);
      data.append("route", form.elements.route.value);
      data.append("notes", form.elements.notes.value);
      data.append("design", JSON.stringify(collect()));
      var button = $("#designer-submit");
      button.disabled = true;
      hide(error);
      status.textContent = t("Reading and fitting the trials, designing every step…");
      send("/train/new", data).then(function (out) {
        status.textContent = t("Done. Opening the design…");
        window.location.assign(out.url);
      }).catch(function (err) {
        button.disabled = false;
        status.textContent = "";
        showError(error, err.message);
      });
    });
  }

  /* --- supply studies ----------------------------------------------------------------------------- */
  function initSupply() {
    var form = $("#supply-form");
    if (!form) return;
    function showMode() {
      var mode = (form.querySelector("input[name=mode]:checked") || {}).value;
      $all("[data-mode]", form).forEach(function (el) { el.hidden = el.dataset.mode !== mode; });
    }
    $all("input[name=mode]", form).forEach(function (r) { r.addEventListener("change", showMode); });
    showMode();
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var mode = (form.querySelector("input[name=mode]:checked") || {}).value;
      var progress = $("#supply-progress"), bar = $("#supply-bar"), status = $("#supply-status");
      var error = $("#supply-error"), button = $("#supply-run");
      if (mode === "upload" && !(form.elements.plan.files || []).length) {
        showError(error, t("choose a plan file (.yaml), a saved train design or the example"));
        return;
      }
      hide(error);
      button.disabled = true;
      progress.hidden = false;
      setBar(bar, 0, true);
      status.textContent = t("Simulating the campaign: recommendations, the campaign, the sources compared…");
      send("/supply", new FormData(form), function (loaded, total) {
        if (loaded < total) status.textContent = t("Uploading: {loaded} of {total}", { loaded: kB(loaded), total: kB(total) });
        else status.textContent = t("Simulating the campaign: recommendations, the campaign, the sources compared…");
      }).then(function (out) {
        status.textContent = t("Done. Opening the study…");
        window.location.assign(out.url);
      }).catch(function (err) {
        progress.hidden = true;
        button.disabled = false;
        showError(error, err.message);
      });
    });
  }

  function initAuditFilter() {
    var select = $("#audit-project");
    if (select) select.addEventListener("change", function () { select.form.submit(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawPlots();
    initUpload();
    initFitButton();
    initSizing();
    initSigning();
    initCorrection();
    initDelete();
    initRestore();
    initTrain();
    initDesigner();
    initSupply();
    initAuditFilter();
  });
})();
