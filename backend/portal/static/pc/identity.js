/*
 * 实名登记 on the PC: GET /api/v1/me/identity (409 IDENTITY_REQUIRED: the form), then
 * POST /api/v1/me/identity without a phone code — the server uses the WeChat phone the
 * parent authorised on the phone when confirming this sign-in (docs/PC.md).
 */
(function () {
  'use strict';
  var form = document.getElementById('pc-identity-form');
  var done = document.getElementById('pc-identity-done');
  var loading = document.getElementById('pc-identity-loading');
  var error = document.getElementById('pc-identity-error');
  var submit = document.getElementById('pc-identity-submit');

  function show(identity) {
    loading.hidden = true;
    form.hidden = true;
    done.hidden = false;
    document.getElementById('pc-identity-name').textContent = PC.mask(identity.name);
    document.getElementById('pc-identity-number').textContent = identity.id_number;
    document.getElementById('pc-identity-phone').textContent = identity.phone || '未登记（学校将无法电话联系您）';
  }

  PC.api('GET', '/api/v1/me/identity').then(show, function (err) {
    loading.hidden = true;
    if (err.code === 'IDENTITY_REQUIRED') {
      form.hidden = false;
      form.elements.name.focus();
      return;
    }
    PC.say(error, err.message);
  });

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    PC.say(error, '');
    PC.clearFieldErrors(form);
    var body = {
      name: form.elements.name.value.trim(),
      document_type: form.elements.document_type.value,
      id_number: form.elements.id_number.value.trim().toUpperCase(),
      relation: form.elements.relation.value,
    };
    if (!body.relation) {
      PC.showFieldErrors(form, { details: { fields: [{ field: 'relation', message: '请选择您与孩子的关系' }] } });
      return;
    }
    PC.busy(submit, function () {
      return PC.api('POST', '/api/v1/me/identity', body);
    }, '正在提交…').then(show, function (err) {
      if (!PC.showFieldErrors(form, err)) PC.say(error, err.message);
    });
  });
})();
