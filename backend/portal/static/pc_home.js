/*
 * The signed-in PC page: the parent's masked name from GET /api/v1/me, and 退出登录
 * (POST /api/v1/auth/logout with the page's CSRF token). Signed out: back to /pc/login.
 */
(function () {
  'use strict';
  var nameNode = document.getElementById('pc-user-name');
  var logout = document.getElementById('pc-logout');
  var error = document.getElementById('pc-home-error');
  if (!nameNode || !logout) return;
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute('content') : '';

  function send(method, url, done) {
    var xhr = new XMLHttpRequest();
    xhr.open(method, url);
    xhr.setRequestHeader('Accept', 'application/json');
    if (method !== 'GET') xhr.setRequestHeader('X-CSRF-Token', csrf);
    xhr.onload = function () {
      var data = null;
      try { data = JSON.parse(xhr.responseText); } catch (err) { data = null; }
      done(xhr.status, data);
    };
    xhr.onerror = function () { done(0, null); };
    xhr.send(null);
  }

  function signedOut() { window.location.assign('/pc/login'); }

  send('GET', '/api/v1/me', function (code, me) {
    if (code === 401) return signedOut();
    if (code !== 200 || !me) {
      nameNode.textContent = '（暂时无法读取）';
      return;
    }
    nameNode.textContent = me.identity && me.identity.name ? PC.mask(me.identity.name)
      : '尚未实名登记（请点击下面的“实名登记”）';
  });

  logout.addEventListener('click', function () {
    logout.disabled = true;
    logout.textContent = '正在退出…';
    send('POST', '/api/v1/auth/logout', function (code) {
      if (code === 204 || code === 401) return signedOut();
      logout.disabled = false;
      logout.textContent = '退出登录';
      error.textContent = '退出未成功，请刷新页面后重试';
      error.hidden = false;
    });
  });
})();
