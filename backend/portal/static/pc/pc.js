/*
 * The parent's PC pages (docs/PC.md): one small layer under every page's own file.
 * - PC.api(method, url, body): the JSON API with the parent web session cookie and, for a
 *   mutation, the page's CSRF token (X-CSRF-Token); resolves with the body, rejects with
 *   {status, code, message, details}. Signed out (401): back to /pc/login.
 * - PC.showFieldErrors(form, error): the API's field errors next to the inputs they name.
 * - PC.busy(button, work, text): the button disabled while a request runs.
 * - PC.mask(name): names shown masked (a PC may be shared).
 * - PC.newKey(): an Idempotency-Key (one per filled form: a retry never registers twice).
 * - PC.follow(ticket, show, fail): an intake ticket followed until accepted or refused.
 * - PC.documentRow(options): one document to upload from the PC (POST /uploads, multipart).
 * - the 大字 toggle (kept in this browser).
 */
(function () {
  'use strict';
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute('content') : '';
  var LARGE = 'pc-large-text';

  function api(method, url, body, headers) {
    var init = { method: method, credentials: 'same-origin',
      headers: { Accept: 'application/json' } };
    if (method !== 'GET') init.headers['X-CSRF-Token'] = csrf;
    if (body instanceof FormData) {
      init.body = body;
    } else if (body !== undefined && body !== null) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    Object.keys(headers || {}).forEach(function (name) { init.headers[name] = headers[name]; });
    return fetch(url, init).then(function (response) {
      if (response.status === 401) {
        window.location.assign('/pc/login');
        return new Promise(function () {});
      }
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (err) { data = null; }
        if (response.ok) return data;
        var error = (data && data.error) || {};
        return Promise.reject({ status: response.status, code: error.code || 'UNAVAILABLE',
          message: error.message || '服务暂时不可用，请稍后重试', details: error.details || {} });
      });
    }, function () {
      return Promise.reject({ status: 0, code: 'NETWORK', message: '网络连接失败，请检查网络后重试', details: {} });
    });
  }

  function clearFieldErrors(form) {
    Array.prototype.forEach.call(form.querySelectorAll('.field-error'), function (node) { node.remove(); });
    Array.prototype.forEach.call(form.querySelectorAll('[aria-invalid]'), function (node) {
      node.removeAttribute('aria-invalid');
    });
  }

  /** details.fields (validation) or details.field (a rule on one field) next to the input. */
  function showFieldErrors(form, error) {
    clearFieldErrors(form);
    var details = (error && error.details) || {};
    var fields = details.fields || (details.field ? [{ field: details.field, message: error.message }] : []);
    var shown = false;
    fields.forEach(function (f) {
      var input = form.elements[f.field] || form.elements[String(f.field).split('.')[0]];
      if (!input || !input.parentNode) return;
      if (input.length !== undefined && !input.tagName) input = input[0];
      input.setAttribute('aria-invalid', 'true');
      var note = document.createElement('span');
      note.className = 'field-error';
      note.setAttribute('role', 'alert');
      note.textContent = f.message;
      input.closest('label, .pc-field').appendChild(note);
      if (!shown) input.focus();
      shown = true;
    });
    return shown;
  }

  function busy(button, work, text) {
    if (button.disabled) return Promise.resolve(null);
    var label = button.textContent;
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    if (text) button.textContent = text;
    function done() {
      button.disabled = false;
      button.removeAttribute('aria-busy');
      button.textContent = label;
    }
    return work().then(function (value) { done(); return value; },
      function (err) { done(); throw err; });
  }

  /** A message in the page's alert box (role=alert), or hidden when empty. */
  function say(node, message) {
    node.textContent = message || '';
    node.hidden = !message;
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** 张*明 / 张*: a name on a shared screen, the first and (three or more) the last character. */
  function mask(name) {
    var chars = Array.from(name || '');
    if (chars.length <= 1) return '*';
    if (chars.length === 2) return chars[0] + '*';
    return chars[0] + new Array(chars.length - 1).join('*') + chars[chars.length - 1];
  }

  /** 32 random hex digits. */
  function newKey() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  }

  /** Each answer to `show`; read again every 1.5 s while `queued`; a failed read to `fail`. */
  function follow(ticket, show, fail) {
    show(ticket);
    if (ticket.state !== 'queued') return;
    window.setTimeout(function () {
      api('GET', '/api/v1/registrations/tickets/' + encodeURIComponent(ticket.ticket))
        .then(function (next) { follow(next, show, fail); }, fail);
    }, 1500);
  }

  /**
   * A document's row: its label, the kind (a choice when any of several will do), the file
   * input, uploaded as soon as a file is chosen, and its state. options: label, kinds
   * [{kind, name}], kind (preselected), name and fileLabel (of the input), state and ok (the
   * state shown first), clear() when a new file is chosen, done(upload) → the state to show.
   */
  function documentRow(o) {
    var row = el('div', { class: 'pc-document' });
    var label = el('label', { class: 'pc-field' }, o.label);
    var kind = el('select', { 'aria-label': '材料种类' });
    o.kinds.forEach(function (d) { kind.appendChild(el('option', { value: d.kind }, d.name)); });
    if (o.kind) kind.value = o.kind;
    kind.hidden = o.kinds.length < 2;
    var file = el('input', { type: 'file', accept: 'image/jpeg,image/png,application/pdf' });
    if (o.name) file.setAttribute('name', o.name);
    if (o.fileLabel) file.setAttribute('aria-label', o.fileLabel);
    var state = el('span', { class: 'pc-upload-state' + (o.ok ? ' pc-ok' : '') }, o.state);
    label.appendChild(kind);
    label.appendChild(file);
    row.appendChild(label);
    row.appendChild(state);
    file.addEventListener('change', function () {
      if (!file.files.length) return;
      var data = new FormData();
      data.append('kind', kind.value);
      data.append('file', file.files[0]);
      if (o.clear) o.clear();
      state.textContent = '正在上传…';
      state.className = 'pc-upload-state';
      api('POST', '/api/v1/uploads', data).then(function (uploaded) {
        state.textContent = o.done(uploaded);
        state.className = 'pc-upload-state pc-ok';
      }, function (err) {
        state.textContent = '上传失败：' + err.message;
        state.className = 'pc-upload-state pc-error';
      });
    });
    return row;
  }

  function applyLarge(on) {
    document.documentElement.classList.toggle('pc-large', on);
    var toggle = document.getElementById('pc-large-toggle');
    if (toggle) toggle.setAttribute('aria-pressed', on ? 'true' : 'false');
  }
  var stored = false;
  try { stored = window.localStorage.getItem(LARGE) === '1'; } catch (err) { stored = false; }
  applyLarge(stored);
  document.addEventListener('DOMContentLoaded', function () {
    applyLarge(stored);
    var toggle = document.getElementById('pc-large-toggle');
    if (!toggle) return;
    toggle.addEventListener('click', function () {
      stored = !stored;
      try { window.localStorage.setItem(LARGE, stored ? '1' : '0'); } catch (err) { /* private mode */ }
      applyLarge(stored);
    });
  });

  window.PC = { api: api, showFieldErrors: showFieldErrors, clearFieldErrors: clearFieldErrors,
    busy: busy, say: say, el: el, mask: mask, newKey: newKey, follow: follow,
    documentRow: documentRow };
})();
