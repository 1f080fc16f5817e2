/* The console's small library: API calls with the session cookie and CSRF token, safe DOM
 * building (text is never parsed as HTML), tables with paging, the drawer, modals, toasts.
 * Every read and write goes through /api/v1 — the same routes and rules as any client. */
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function el(tag, attrs) {
    var node = document.createElement(tag);
    var props = attrs || {};
    Object.keys(props).forEach(function (key) {
      var value = props[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), value);
      else if (key === "style") node.style.cssText = value;
      else if (value === true) node.setAttribute(key, "");
      else node.setAttribute(key, String(value));
    });
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }

  function append(node, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(node, c); }); return; }
    node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

  function ApiFailure(status, body) {
    var error = (body && body.error) || {};
    this.status = status;
    this.code = error.code || "HTTP_" + status;
    this.message = error.message || "操作失败，请稍后重试";
    this.details = error.details || null;
  }

  function toLogin() {
    location.href = "/console/login?next=" + encodeURIComponent(location.pathname + location.search);
  }

  function api(method, path, body, options) {
    var init = { method: method, credentials: "same-origin", headers: { "Accept": "application/json" } };
    if (method !== "GET" && method !== "HEAD") init.headers["X-CSRF-Token"] = csrf;
    if (options && options.headers) Object.assign(init.headers, options.headers);
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined && body !== null) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (response) {
      if (response.status === 401 && !(options && options.noRedirect)) { toLogin(); }
      if (response.status === 204) return null;
      var type = response.headers.get("Content-Type") || "";
      var parsed = type.indexOf("json") >= 0 ? response.json() : response.text();
      return parsed.then(function (data) {
        if (!response.ok) throw new ApiFailure(response.status, data);
        return data;
      });
    });
  }

  function query(params) {
    var search = new URLSearchParams();
    Object.keys(params).forEach(function (key) {
      var value = params[key];
      if (value !== "" && value !== null && value !== undefined) search.set(key, value);
    });
    var text = search.toString();
    return text ? "?" + text : "";
  }

  function formValues(form) {
    var values = {};
    new FormData(form).forEach(function (value, key) {
      if (typeof value === "string") values[key] = value.trim();
    });
    return values;
  }

  function toast(message, kind) {
    var box = document.getElementById("toasts");
    if (!box) { alert(message); return; }
    var item = el("div", { class: "toast " + (kind || ""), role: "status" }, message);
    box.appendChild(item);
    setTimeout(function () { item.remove(); }, kind === "error" ? 6000 : 3000);
  }

  function fail(error) {
    var message = error && error.message ? error.message : "网络异常，请稍后重试";
    if (error && error.details && error.details.fields) {
      message += "（" + error.details.fields.map(function (f) { return f.field + "：" + f.message; }).join("；") + "）";
    }
    toast(message, "error");
    return error;
  }

  function time(iso, withSeconds) {
    if (!iso) return "—";
    var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(iso);
    if (!m) return iso;
    return m[1] + "-" + m[2] + "-" + m[3] + " " + m[4] + ":" + m[5] + (withSeconds ? ":" + m[6] : "");
  }

  function tag(text, color) { return el("span", { class: "tag tag-" + (color || "gray") }, text); }

  var STATUS_COLORS = {
    submitted: "blue", under_review: "orange", returned: "orange", bureau_review: "purple",
    approved: "green", rejected: "red", withdrawn: "gray",
    draft: "gray", scheduled: "blue", held: "orange", published: "green", withdrawn_a: "gray",
    open: "blue", assigned: "orange", answered: "green", closed: "gray",
  };
  function statusTag(status, name) { return tag(name || status, STATUS_COLORS[status] || "gray"); }

  /* A table: columns [{title, render(row) | key, class}], rows, and an optional row click
   * (rows that open something are Tab stops too and open with Enter or Space). */
  function table(container, columns, rows, options) {
    var opts = options || {};
    var head = el("tr", null, columns.map(function (c) { return el("th", { class: c.class }, c.title); }));
    var body = el("tbody");
    if (!rows.length) {
      body.appendChild(el("tr", null, el("td", { class: "empty", colspan: columns.length }, opts.empty || "暂无数据")));
    }
    rows.forEach(function (row, index) {
      var tr = el("tr", { class: opts.onRow ? "clickable" : null, tabindex: opts.onRow ? "0" : null, dataset: { index: String(index) } });
      if (row && row.id !== undefined) tr.dataset.id = String(row.id);
      columns.forEach(function (c) {
        var value = c.render ? c.render(row, index) : row[c.key];
        tr.appendChild(el("td", { class: c.class }, value === null || value === undefined || value === "" ? "—" : value));
      });
      if (opts.onRow) tr.addEventListener("click", function (event) {
        if (event.target.closest("button, a, input, select")) return;
        opts.onRow(row, index, tr);
      });
      if (opts.onRow) tr.addEventListener("keydown", function (event) {
        if (event.target !== tr || (event.key !== "Enter" && event.key !== " ")) return;
        event.preventDefault();
        opts.onRow(row, index, tr);
      });
      body.appendChild(tr);
    });
    clear(container).appendChild(el("div", { class: "table-wrap" }, el("table", { class: "table" }, el("thead", null, head), body)));
    return body;
  }

  function pager(container, page, perPage, total, onPage) {
    clear(container);
    var pages = Math.max(1, Math.ceil(total / perPage));
    var info = el("span", null, "共 " + total + " 条，第 " + page + " / " + pages + " 页");
    var buttons = el("div", { class: "pager", role: "navigation", "aria-label": "分页" });
    function button(label, target, current, name) {
      return el("button", { type: "button", class: current ? "current" : null, disabled: target < 1 || target > pages || current,
        "aria-label": name || "第 " + target + " 页", "aria-current": current ? "page" : null,
        onclick: function () { onPage(target); } }, label);
    }
    buttons.appendChild(button("‹", page - 1, false, "上一页"));
    var start = Math.max(1, Math.min(page - 2, pages - 4));
    for (var p = start; p <= Math.min(pages, start + 4); p++) buttons.appendChild(button(String(p), p, p === page));
    buttons.appendChild(button("›", page + 1, false, "下一页"));
    container.appendChild(info);
    container.appendChild(buttons);
  }

  /* A filtered, paged list kept in the address bar: form → query → API → table. */
  function listPage(config) {
    var form = document.getElementById(config.form || "filters");
    var tableBox = document.getElementById(config.table || "table");
    var footBox = document.getElementById(config.foot || "table-foot");
    var state = { page: 1, rows: [] };
    var initial = new URLSearchParams(location.search);
    if (form) {
      Array.prototype.forEach.call(form.elements, function (input) {
        if (!input.name) return;
        if (input.type === "checkbox") input.checked = initial.get(input.name) === input.value;
        else if (initial.has(input.name)) input.value = initial.get(input.name);
      });
    }
    state.page = parseInt(initial.get("page") || "1", 10) || 1;

    function params() { return Object.assign(form ? formValues(form) : {}, config.extra ? config.extra() : {}); }

    function load() {
      var p = params();
      p.page = state.page;
      if (config.perPage) p[config.perPageKey || "per_page"] = config.perPage;
      if (!config.keepUrl) history.replaceState(null, "", location.pathname + query(Object.assign({}, p, { per_page: null, page_size: null })));
      return api("GET", config.url + query(p)).then(function (data) {
        state.rows = data.items || [];
        state.data = data;
        table(tableBox, config.columns, state.rows, { onRow: config.onRow, empty: config.empty });
        var per = data.per_page || data.page_size || config.perPage || 20;
        if (footBox) pager(footBox, data.page || state.page, per, data.total || 0, function (n) { state.page = n; load(); });
        if (config.loaded) config.loaded(data);
        return data;
      }).catch(function (error) {
        table(tableBox, config.columns, [], { empty: error.message || "加载失败" });
        if (error instanceof ApiFailure) fail(error); else throw error;
      });
    }
    if (form) {
      form.addEventListener("submit", function (event) { event.preventDefault(); state.page = 1; load(); });
      form.addEventListener("reset", function () { setTimeout(function () { state.page = 1; load(); }, 0); });
    }
    state.load = load;
    state.params = params;
    load();
    return state;
  }

  /* Dialogs and the drawer keep the keyboard inside while open and give focus back to what
   * opened them when they close. */
  var TABBABLE = "a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), " +
    "select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";

  function trapFocus(box, event) {
    if (event.key !== "Tab") return;
    var items = Array.prototype.filter.call(box.querySelectorAll(TABBABLE), function (node) {
      return node.getClientRects().length > 0;
    });
    if (!items.length) { event.preventDefault(); box.focus(); return; }
    var first = items[0], last = items[items.length - 1], active = document.activeElement;
    var outside = !box.contains(active) || active === box;
    if (event.shiftKey && (active === first || outside)) { event.preventDefault(); last.focus(); }
    else if (!event.shiftKey && (active === last || outside)) { event.preventDefault(); first.focus(); }
  }

  /* Focus back on the opener; a table row re-rendered meanwhile is found again by its id. */
  function giveFocusBack(opener) {
    if (!opener || opener === document.body || typeof opener.focus !== "function") return;
    if (!opener.isConnected && opener.dataset && opener.dataset.id && opener.tagName === "TR") {
      opener = document.querySelector('tr[data-id="' + opener.dataset.id + '"]') || opener;
    }
    if (opener.isConnected) opener.focus();
  }

  /* The right-hand drawer used for details. */
  var drawer = {
    opener: null,
    open: function (title, body, foot) {
      var box = document.getElementById("drawer");
      if (box.hidden) drawer.opener = document.activeElement;
      document.getElementById("drawer-title").textContent = title;
      append(clear(document.getElementById("drawer-body")), body);
      append(clear(document.getElementById("drawer-foot")), foot || null);
      box.hidden = false;
      document.getElementById("drawer-mask").hidden = false;
      if (!box.contains(document.activeElement)) box.focus();
    },
    close: function () {
      document.getElementById("drawer").hidden = true;
      document.getElementById("drawer-mask").hidden = true;
      if (drawer.onclose) drawer.onclose();
      var opener = drawer.opener;
      drawer.opener = null;
      giveFocusBack(opener);
    },
    isOpen: function () { return !document.getElementById("drawer").hidden; },
  };

  /* An error that belongs to one field of a form (shown next to it, not in a toast). */
  function FieldError(field, message) { this.details = { fields: [{ field: field, message: message }] }; this.message = message; }

  function clearFieldErrors(form) {
    Array.prototype.forEach.call(form.querySelectorAll(".field-error"), function (node) { node.remove(); });
    Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (node) { node.removeAttribute("aria-invalid"); });
  }

  /* The API's 422 details.fields (or a FieldError) next to the inputs they name; true when any was shown. */
  function showFieldErrors(form, error) {
    clearFieldErrors(form);
    var fields = error && error.details && error.details.fields;
    var shown = false;
    (fields || []).forEach(function (f) {
      var input = form.elements[f.field];
      if (!input || !input.parentNode) return;
      input.setAttribute("aria-invalid", "true");
      var note = el("span", { class: "field-error", role: "alert", "data-testid": "error-" + f.field }, f.message);
      input.parentNode.appendChild(note);
      input.addEventListener("input", function () { note.remove(); input.removeAttribute("aria-invalid"); }, { once: true });
      if (!shown) input.focus();
      shown = true;
    });
    return shown;
  }

  /* Run `work` (a promise-returning function) with the button disabled and marked busy, so a
   * request is never sent twice; `text` replaces the label meanwhile. */
  function busy(button, work, text) {
    if (button.disabled) return Promise.resolve(null);
    var label = button.textContent;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    button.classList.add("loading");
    if (text) button.textContent = text;
    function done() {
      button.disabled = false;
      button.removeAttribute("aria-busy");
      button.classList.remove("loading");
      button.textContent = label;
    }
    return Promise.resolve().then(work).then(function (value) { done(); return value; },
      function (error) { done(); throw error; });
  }

  /* A modal form: fields [{name, label, type, options, value, required, hint}] → onSubmit(values).
   * options: {progress: text shown with a progress bar while onSubmit runs, danger: true}. */
  var modalCount = 0;
  function modal(title, fields, onSubmit, submitLabel, options) {
    var opts = options || {};
    var opener = document.activeElement;
    var titleId = "modal-title-" + (++modalCount);
    var mask = el("div", { class: "modal-mask" });
    var form = el("form", { class: "modal", novalidate: true, role: "dialog", "aria-modal": "true", "aria-labelledby": titleId, tabindex: "-1" });
    function close() {
      if (!mask.isConnected) return;
      mask.remove();
      giveFocusBack(opener);
    }
    mask.closeModal = function () { if (!cancel.disabled) close(); };
    var body = el("div", { class: "modal-body" });
    fields.forEach(function (f) {
      if (f.node) { body.appendChild(f.node); return; }
      var input;
      if (f.type === "select") {
        input = el("select", { name: f.name, required: f.required });
        (f.options || []).forEach(function (o) { input.appendChild(el("option", { value: o[0] }, o[1])); });
        if (f.value !== undefined) input.value = f.value;
      } else if (f.type === "textarea") {
        input = el("textarea", { name: f.name, required: f.required, maxlength: f.maxlength, placeholder: f.placeholder });
        input.value = f.value || "";
      } else {
        input = el("input", { name: f.name, type: f.type || "text", required: f.required, maxlength: f.maxlength,
          placeholder: f.placeholder, min: f.min, max: f.max, accept: f.accept });
        if (f.value !== undefined && f.type !== "file") input.value = f.value;
      }
      body.appendChild(el("label", { class: "field" }, el("span", null, f.label), input,
        f.hint ? el("small", { class: "field-hint" }, f.hint) : null));
    });
    var error = el("div", { class: "form-error", hidden: true, role: "alert" });
    body.appendChild(error);
    var progress = el("div", { class: "progress", hidden: true, role: "progressbar", "aria-label": opts.progress || "处理中" },
      el("i"), el("span", null, opts.progress || "处理中…"));
    body.appendChild(progress);
    var submit = el("button", { class: "btn " + (opts.danger ? "btn-danger-solid" : "btn-primary"), type: "submit", "data-testid": "modal-submit" }, submitLabel || "确定");
    var cancel = el("button", { class: "btn", type: "button", onclick: close }, "取消");
    form.appendChild(el("div", { class: "modal-head", id: titleId }, title));
    form.appendChild(body);
    form.appendChild(el("div", { class: "modal-foot" }, cancel, submit));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (submit.disabled) return;
      error.hidden = true;
      clearFieldErrors(form);
      progress.hidden = false;
      cancel.disabled = true;
      busy(submit, function () { return onSubmit(formValues(form), form); }, "处理中…").then(close).catch(function (e) {
        if (!showFieldErrors(form, e)) {
          error.textContent = e && e.message ? e.message : "操作失败";
          error.hidden = false;
        }
      }).then(function () { progress.hidden = true; cancel.disabled = false; });
    });
    // Changing a field clears what was said about it.
    function cleared(event) {
      var label = event.target.closest && event.target.closest(".field");
      if (!label) return;
      Array.prototype.forEach.call(label.querySelectorAll(".field-error"), function (n) { n.remove(); });
      error.hidden = true;
    }
    form.addEventListener("input", cleared);
    form.addEventListener("change", cleared);
    form.addEventListener("keydown", function (event) { trapFocus(form, event); });
    mask.appendChild(form);
    document.body.appendChild(mask);
    var first = form.querySelector("input, select, textarea") || submit;
    first.focus();
    return form;
  }

  /* An error the page raises for one field of a modal form (shown next to it). */
  function fieldError(field, message) { return new FieldError(field, message); }

  /* Errors next to the fields they concern; how many were shown. */
  function fieldErrors(form, error) {
    if (!error) { clearFieldErrors(form); return 0; }
    return showFieldErrors(form, error) ? 1 : 0;
  }

  function confirmAction(title, text, onConfirm, options) {
    var opts = options || {};
    return modal(title, [{ node: el("p", { class: "confirm-text", "data-testid": "confirm-text" }, text) }], onConfirm, opts.label || "确定", opts);
  }

  function desc(pairs) {
    var dl = el("dl", { class: "desc" });
    pairs.forEach(function (pair) {
      dl.appendChild(el("dt", null, pair[0]));
      dl.appendChild(el("dd", pair[2] ? { "data-testid": pair[2] } : null, pair[1] === null || pair[1] === undefined || pair[1] === "" ? "—" : pair[1]));
    });
    if (pairs.length % 2) { dl.appendChild(el("dt")); dl.appendChild(el("dd")); }
    return dl;
  }

  function download(url) {
    var link = el("a", { href: url, download: "" });
    document.body.appendChild(link);
    link.click();
    link.remove();
  }

  var seasonPromise = null;
  /* The authority's current season (GET /seasons/current), fetched once per page. */
  function season() {
    if (!seasonPromise) seasonPromise = api("GET", "/api/v1/seasons/current" + query({ authority: document.body.dataset.authority }));
    return seasonPromise;
  }

  /* A catch handler for pages that work on the current season: when the county has none yet,
   * the boxes (element ids) say what to do next; any other error is a toast. */
  function noSeason() {
    var boxes = Array.prototype.slice.call(arguments);
    return function (error) {
      if (!error || error.code !== "NO_CURRENT_SEASON") return fail(error);
      boxes.forEach(function (id) {
        var box = document.getElementById(id);
        if (!box) return;
        clear(box).appendChild(el("div", { class: "empty-state", "data-testid": "no-season" }, el("p", null, "还没有招生季：",
          document.body.dataset.role === "bureau_admin"
            ? ["请先在", el("a", { href: "/console/settings/season" }, "招生日程"), "中新建并发布招生季，这里随后显示本季的数据。"]
            : "教育局在“招生日程”中发布招生季后，这里显示本季的数据。")));
      });
      return error;
    };
  }

  /* A datetime-local value (Beijing wall clock) as ISO 8601 with +08:00. */
  function localIso(value) { return value ? (value.length === 16 ? value + ":00" : value) + "+08:00" : null; }

  document.addEventListener("DOMContentLoaded", function () {
    var close = document.getElementById("drawer-close");
    if (close) close.addEventListener("click", drawer.close);
    var mask = document.getElementById("drawer-mask");
    if (mask) mask.addEventListener("click", drawer.close);
    var logout = document.getElementById("logout");
    if (logout) logout.addEventListener("click", function () {
      api("POST", "/api/v1/auth/logout", null, { noRedirect: true }).catch(function () { return null; })
        .then(function () { location.href = "/console/login"; });
    });
    var drawerBox = document.getElementById("drawer");
    if (drawerBox) drawerBox.addEventListener("keydown", function (event) { trapFocus(drawerBox, event); });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        var masks = document.querySelectorAll(".modal-mask");
        var top = masks[masks.length - 1];
        if (top) { if (top.closeModal) top.closeModal(); else top.remove(); } else if (drawer.isOpen()) drawer.close();
      }
    });
  });

  window.C = {
    el: el, append: append, clear: clear, api: api, query: query, formValues: formValues, toast: toast,
    fail: fail, time: time, tag: tag, statusTag: statusTag, table: table, pager: pager, listPage: listPage,
    drawer: drawer, modal: modal, confirm: confirmAction, desc: desc, download: download, ApiFailure: ApiFailure,
    season: season, noSeason: noSeason, localIso: localIso, busy: busy, FieldError: FieldError, showFieldErrors: showFieldErrors,
    clearFieldErrors: clearFieldErrors,
    fieldErrors: fieldErrors, fieldError: fieldError,
    role: document.body.dataset.role, school: document.body.dataset.school, authority: document.body.dataset.authority,
  };
})();
