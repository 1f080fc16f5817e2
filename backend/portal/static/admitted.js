/*
 * The admitted-list look-up: POST /api/v1/admitted-lists/lookup with the last four
 * characters of the child's ID number and the birth date; the answer is yes or no.
 */
(function () {
  'use strict';
  var form = document.getElementById('lookup-form');
  if (!form) return;
  var result = document.getElementById('lookup-result');
  var button = form.querySelector('button');

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var last4 = form.elements.id_last4.value.trim();
    var birth = form.elements.birth_date.value;
    if (!/^[0-9]{3}[0-9Xx]$/.test(last4) || !birth) {
      result.textContent = '请填写证件号码后四位和出生日期';
      result.className = 'lookup-result no';
      return;
    }
    button.disabled = true;
    result.textContent = '正在查询…';
    result.className = 'lookup-result';
    var request = new XMLHttpRequest();
    request.open('POST', '/api/v1/admitted-lists/lookup');
    request.setRequestHeader('Content-Type', 'application/json');
    request.onload = function () {
      button.disabled = false;
      var body = {};
      try { body = JSON.parse(request.responseText); } catch (err) { body = {}; }
      if (request.status === 200) {
        result.textContent = body.message;
        result.className = 'lookup-result ' + (body.admitted ? 'yes' : 'no');
      } else {
        result.textContent = (body.error && body.error.message) || '查询失败，请稍后再试';
        result.className = 'lookup-result no';
      }
    };
    request.onerror = function () {
      button.disabled = false;
      result.textContent = '网络异常，请稍后再试';
      result.className = 'lookup-result no';
    };
    request.send(JSON.stringify({ season_id: parseInt(form.getAttribute('data-season'), 10),
      school_code: form.getAttribute('data-school'), id_last4: last4, birth_date: birth }));
  });
})();
