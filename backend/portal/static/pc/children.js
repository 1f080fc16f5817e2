/*
 * 我的孩子 on the PC: the list (GET /api/v1/me/children) and 添加孩子 (POST the same as the
 * mini-program: the consent text of GET /api/v1/privacy/consent-text with an unticked box —
 * the server records the consent with channel `pc` from the session — the address from
 * GET /api/v1/regions, town → village, and the zoned schools of GET /api/v1/zones/lookup).
 */
(function () {
  'use strict';
  var form = document.getElementById('pc-child-form');
  var list = document.getElementById('pc-children-list');
  var error = document.getElementById('pc-children-error');
  var submit = document.getElementById('pc-child-submit');
  var town = form.elements.town;
  var village = form.elements['hukou.region_code'];
  var consentVersion = '';
  var towns = [];

  function option(value, label) {
    var node = PC.el('option', { value: value }, label);
    return node;
  }

  function render(children) {
    document.getElementById('pc-children-loading').hidden = true;
    document.getElementById('pc-children-empty').hidden = children.length > 0;
    list.textContent = '';
    children.forEach(function (child) {
      var item = PC.el('li', { class: 'pc-child', 'data-child-id': String(child.id) });
      item.appendChild(PC.el('strong', { class: 'pc-child-name' }, PC.mask(child.name)));
      item.appendChild(PC.el('span', {}, '　' + child.id_number + '　' + child.birth_date + ' 出生'));
      var where = child.hukou.region;
      item.appendChild(PC.el('div', { class: 'muted' }, '户籍：' + (where.town ? where.town + ' ' : '') + where.name + ' ' + child.hukou.address));
      item.appendChild(PC.el('div', { class: child.eligibility.eligible === false ? 'pc-error' : 'pc-ok' }, child.eligibility.reason));
      list.appendChild(item);
    });
  }

  function load() {
    return PC.api('GET', '/api/v1/me/children').then(function (data) { render(data.items); });
  }

  function villages() {
    var chosen = towns.filter(function (t) { return t.code === town.value; })[0];
    village.textContent = '';
    village.appendChild(option('', chosen ? '请选择村（社区）' : '请先选择乡镇'));
    (chosen ? chosen.villages : []).forEach(function (v) { village.appendChild(option(v.code, v.name)); });
    village.disabled = !chosen;
    document.getElementById('pc-zone').hidden = true;
  }

  function zone() {
    var box = document.getElementById('pc-zone');
    var schools = document.getElementById('pc-zone-schools');
    if (!village.value) { box.hidden = true; return; }
    PC.api('GET', '/api/v1/zones/lookup?region_code=' + encodeURIComponent(village.value)).then(function (data) {
      schools.textContent = '';
      if (!data.schools.length) schools.appendChild(PC.el('li', { class: 'muted' }, '该村（社区）暂未划片，请咨询教育局'));
      data.schools.forEach(function (s) {
        schools.appendChild(PC.el('li', { class: 'pc-zone-school' }, s.name + '（' + (s.type === 'private' ? '民办' : '公办') + '）'));
      });
      box.hidden = false;
    }, function () { box.hidden = true; });
  }

  PC.api('GET', '/api/v1/me/identity').then(function () {
    form.hidden = false;
    return load();
  }, function (err) {
    document.getElementById('pc-children-loading').hidden = true;
    if (err.code === 'IDENTITY_REQUIRED') {
      document.getElementById('pc-children-identity').hidden = false;
      return;
    }
    PC.say(error, err.message);
  }).catch(function (err) { PC.say(error, err.message); });

  PC.api('GET', '/api/v1/privacy/consent-text').then(function (consent) {
    consentVersion = consent.version;
    document.getElementById('pc-consent-title').textContent = consent.title;
    document.getElementById('pc-consent-text').textContent = consent.text;
  }, function (err) {
    document.getElementById('pc-consent-text').textContent = '同意书暂时无法读取：' + err.message;
  });

  PC.api('GET', '/api/v1/regions').then(function (data) {
    towns = data.items;
    towns.forEach(function (t) { town.appendChild(option(t.code, t.name)); });
  }, function (err) { PC.say(error, err.message); });

  town.addEventListener('change', villages);
  village.addEventListener('change', zone);

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    PC.say(error, '');
    PC.clearFieldErrors(form);
    if (!village.value) {
      PC.showFieldErrors(form, { details: { fields: [{ field: 'hukou.region_code', message: '请选择户籍所在的村（社区）' }] } });
      return;
    }
    var body = {
      name: form.elements.name.value.trim(),
      id_number: form.elements.id_number.value.trim().toUpperCase(),
      hukou: { region_code: village.value, address: form.elements['hukou.address'].value.trim() },
      guardian_consent: { version: consentVersion, agreed: form.elements.guardian_consent.checked },
    };
    PC.busy(submit, function () {
      return PC.api('POST', '/api/v1/me/children', body);
    }, '正在保存…').then(function () {
      form.reset();
      villages();
      return load();
    }).catch(function (err) {
      if (!PC.showFieldErrors(form, err)) PC.say(error, err.message);
    });
  });
})();
