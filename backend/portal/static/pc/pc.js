/*
 * The parent's PC pages (docs/PC.md): one small layer under every page's own file.
 * - PC.api(method, url, body): the JSON API with the parent web session cookie and, for a
 *   mutation, the page's CSRF token (X-CSRF-Token); resolves with the body, rejects with
 *   {status, code, message, details}. Signed out (401): back to /pc/login.
 * - PC.showFieldErrors(form, error): the API's field errors next to the inputs they name.
 * - PC.busy(button, work, text): the button disabled while a request runs.
 * - PC.mask(name): names shown masked (a PC may be shared).
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
    busy: busy, say: say, el: el, mask: mask };
})();
