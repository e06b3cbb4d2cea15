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
    var headers = { "Accept": "application/json", "X-CSRF-Token": csrfToken(), "Accept-Language": pageLanguage() };
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
    initTrain();
    initSupply();
    initAuditFilter();
  });
})();
