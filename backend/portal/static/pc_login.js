/*
 * 电脑端登录: start a sign-in (POST /api/v1/auth/pc-login), show its mini-program code with a
 * countdown and ask for its state every 2 s. When the phone confirms, that answer sets the
 * parent's session cookie and the page moves on to /pc/. The sign-in is bound to this
 * browser by a cookie the server set; this script never sees it.
 */
(function () {
  'use strict';
  var root = document.getElementById('pc-login');
  if (!root) return;
  var image = document.getElementById('pc-qr-image');
  var refresh = document.getElementById('pc-qr-refresh');
  var status = document.getElementById('pc-login-status');
  var countdown = document.getElementById('pc-login-countdown');
  var POLL_MS = 2000;
  var TEXT = {
    loading: '正在生成二维码…',
    pending: '请用微信扫一扫',
    scanned: '已扫码，请在手机上确认登录',
    refused: '已在手机上拒绝登录',
    expired: '二维码已过期，点击刷新',
    confirmed: '登录成功，正在进入…',
    failed: '二维码获取失败，请点击刷新',
    busy: '操作太频繁，请稍后点击刷新'
  };
  var ENDED = { refused: true, expired: true, failed: true, busy: true, confirmed: true };
  var current = null;     // the sign-in shown: {id, endsAt, state}
  var generation = 0;     // a refresh makes the answers about the previous sign-in stale
  var pollTimer = null;
  var clockTimer = null;

  function send(method, url, body, done) {
    var xhr = new XMLHttpRequest();
    xhr.open(method, url);
    xhr.setRequestHeader('Accept', 'application/json');
    if (body !== null) xhr.setRequestHeader('Content-Type', 'application/json');
    xhr.onload = function () {
      var data = null;
      try { data = JSON.parse(xhr.responseText); } catch (err) { data = null; }
      done(xhr.status, data);
    };
    xhr.onerror = function () { done(0, null); };
    xhr.send(body === null ? null : JSON.stringify(body));
  }

  function stop() {
    clearTimeout(pollTimer);
    clearInterval(clockTimer);
    pollTimer = clockTimer = null;
  }

  function show(state) {
    if (current) current.state = state;
    root.setAttribute('data-state', state);
    status.textContent = TEXT[state];
    if (!ENDED[state]) return;
    stop();
    countdown.textContent = '';
    if (state === 'confirmed') return;
    image.className = 'faded';
    refresh.textContent = state === 'expired' ? TEXT.expired : '点击刷新二维码';
    refresh.hidden = false;
    refresh.focus();
  }

  function tick() {
    var left = Math.max(0, Math.ceil((current.endsAt - Date.now()) / 1000));
    countdown.textContent = '二维码 ' + Math.floor(left / 60) + ' 分 ' + ('0' + (left % 60)).slice(-2) + ' 秒后过期';
    if (left <= 0) show('expired');
  }

  function poll(gen) {
    send('GET', '/api/v1/auth/pc-login/' + encodeURIComponent(current.id), null, function (code, data) {
      if (gen !== generation || ENDED[current.state]) return;
      if (code === 200 && data) {
        show(data.state);
        if (data.state === 'confirmed') {
          window.location.assign('/pc/');
          return;
        }
      } else if (code === 404) {
        show('expired');
      }
      // pending, scanned, or a network hiccup: ask again
      if (!ENDED[current.state]) pollTimer = setTimeout(function () { poll(gen); }, POLL_MS);
    });
  }

  function start() {
    stop();
    generation += 1;
    var gen = generation;
    current = null;
    refresh.hidden = true;
    image.hidden = true;
    image.className = '';
    countdown.textContent = '';
    show('loading');
    send('POST', '/api/v1/auth/pc-login', {}, function (code, data) {
      if (gen !== generation) return;
      if (code !== 201 || !data) {
        current = { state: 'loading' };
        show(code === 429 ? 'busy' : 'failed');
        return;
      }
      current = { id: data.id, endsAt: Date.now() + data.expires_in * 1000, state: 'pending' };
      image.onload = function () { if (gen === generation) image.hidden = false; };
      image.onerror = function () { if (gen === generation) show('failed'); };
      image.src = data.qr_url;
      show('pending');
      tick();
      clockTimer = setInterval(tick, 1000);
      pollTimer = setTimeout(function () { poll(gen); }, POLL_MS);
    });
  }

  refresh.addEventListener('click', start);
  start();
})();
