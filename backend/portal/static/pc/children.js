/*
 * 我的孩子 on the PC: the list (GET /api/v1/me/children), 添加孩子 (POST /api/v1/me/children)
 * and 修改 (PATCH /api/v1/me/children/{id}), with every field the mini-program's form has:
 * the document type (a child without a resident ID gives birth date and sex), the household
 * and the actual address (GET /api/v1/regions, town → village; the zoned schools of
 * GET /api/v1/zones/lookup), the special groups of GET /api/v1/categories with the 居住证 of a
 * migrant child and the placement wish of a disabled child. A new child needs the consent
 * text of GET /api/v1/privacy/consent-text ticked — the server records it with channel `pc`
 * from the session. A child a registration holds is refused (CHILD_LOCKED) with its message.
 */
(function () {
  'use strict';
  var form = document.getElementById('pc-child-form');
  var list = document.getElementById('pc-children-list');
  var error = document.getElementById('pc-children-error');
  var saved = document.getElementById('pc-children-saved');
  var submit = document.getElementById('pc-child-submit');
  var cancel = document.getElementById('pc-child-cancel');
  var title = document.getElementById('pc-child-form-title');
  var F = form.elements;
  // Numbers that state birth date and sex (GB 11643): nothing to declare for them.
  var GB11643 = ['resident_id', 'hmt_residence_permit'];
  var DOCUMENT_NAMES = {};
  Array.prototype.forEach.call(F.document_type.options, function (o) {
    DOCUMENT_NAMES[o.value] = o.textContent;
  });
  var consentVersion = '';
  var towns = [];
  var groupNames = {};
  var children = [];
  var editing = null; // the child being changed, or null while adding

  function option(value, label) {
    return PC.el('option', { value: value }, label);
  }

  /** A town → village picker; `changed` runs when the village changes. */
  function picker(town, village, changed) {
    function villages(code) {
      var chosen = towns.filter(function (t) { return t.code === town.value; })[0];
      village.textContent = '';
      village.appendChild(option('', chosen ? '请选择村（社区）' : '请先选择乡镇'));
      (chosen ? chosen.villages : []).forEach(function (v) { village.appendChild(option(v.code, v.name)); });
      village.disabled = !chosen;
      village.value = code || '';
      if (changed) changed();
    }
    town.addEventListener('change', function () { villages(''); });
    village.addEventListener('change', function () { if (changed) changed(); });
    return {
      fill: function () { towns.forEach(function (t) { town.appendChild(option(t.code, t.name)); }); },
      set: function (code) {
        var owner = towns.filter(function (t) { return t.villages.some(function (v) { return v.code === code; }); })[0];
        town.value = owner ? owner.code : '';
        villages(owner ? code : '');
      },
    };
  }

  var hukou = picker(F.town, F['hukou.region_code'], zone);
  var residence = picker(F.residence_town, F['residence.region_code'], null);

  function zone() {
    var box = document.getElementById('pc-zone');
    var schools = document.getElementById('pc-zone-schools');
    var code = F['hukou.region_code'].value;
    if (!code) { box.hidden = true; return; }
    PC.api('GET', '/api/v1/zones/lookup?region_code=' + encodeURIComponent(code)).then(function (data) {
      schools.textContent = '';
      if (!data.schools.length) schools.appendChild(PC.el('li', { class: 'muted' }, '该村（社区）暂未划片，请咨询教育局'));
      data.schools.forEach(function (s) {
        schools.appendChild(PC.el('li', { class: 'pc-zone-school' }, s.name + '（' + (s.type === 'private' ? '民办' : '公办') + '）'));
      });
      box.hidden = false;
    }, function () { box.hidden = true; });
  }

  function chosenGroups() {
    return Array.prototype.filter.call(form.querySelectorAll('input[name=categories]'), function (box) {
      return box.checked;
    }).map(function (box) { return box.value; });
  }

  /** The parts of the form that depend on other answers. */
  function sync() {
    var groups = chosenGroups();
    document.getElementById('pc-child-declared').hidden = GB11643.indexOf(F.document_type.value) >= 0;
    document.getElementById('pc-residence').hidden = !F.has_residence.checked;
    document.getElementById('pc-permit').hidden = groups.indexOf('migrant') < 0;
    document.getElementById('pc-disability').hidden = groups.indexOf('disability') < 0;
    document.getElementById('pc-permit-kept').hidden = !(editing && editing.residence_permit);
    document.getElementById('pc-disability-kept').hidden = !(editing && editing.disability);
  }

  function addressText(address) {
    var where = address.region;
    return (where.town ? where.town + ' ' : '') + where.name + ' ' + address.address;
  }

  function render(items) {
    children = items;
    document.getElementById('pc-children-loading').hidden = true;
    document.getElementById('pc-children-empty').hidden = items.length > 0;
    list.textContent = '';
    items.forEach(function (child) {
      var item = PC.el('li', { class: 'pc-child', 'data-child-id': String(child.id) });
      var head = PC.el('div', { class: 'pc-child-head' });
      head.appendChild(PC.el('strong', { class: 'pc-child-name' }, PC.mask(child.name)));
      head.appendChild(PC.el('span', {}, '　' + (DOCUMENT_NAMES[child.document_type] || '') + ' ' + child.id_number + '　' + child.birth_date + ' 出生'));
      var edit = PC.el('button', { type: 'button', class: 'pc-button pc-small pc-child-edit',
        'aria-label': '修改 ' + PC.mask(child.name) + ' 的信息' }, '修改');
      edit.addEventListener('click', function () { startEdit(child); });
      head.appendChild(edit);
      item.appendChild(head);
      item.appendChild(PC.el('div', { class: 'muted' }, '户籍：' + addressText(child.hukou)));
      if (child.residence) item.appendChild(PC.el('div', { class: 'muted' }, '实际居住：' + addressText(child.residence)));
      if (child.categories.length) {
        item.appendChild(PC.el('div', { class: 'pc-child-groups' }, '特殊群体：' + child.categories.map(function (key) {
          return groupNames[key] || key;
        }).join('、')));
      }
      if (child.required_documents.length) {
        item.appendChild(PC.el('div', { class: 'muted' }, '报名时需上传：' + child.required_documents.map(function (d) {
          return d.name;
        }).join('、')));
      }
      item.appendChild(PC.el('div', { class: child.eligibility.eligible === false ? 'pc-error' : 'pc-ok' }, child.eligibility.reason));
      list.appendChild(item);
    });
  }

  function load() {
    return PC.api('GET', '/api/v1/me/children').then(function (data) { render(data.items); });
  }

  /** Back to 添加孩子, empty. */
  function startAdd() {
    editing = null;
    form.reset();
    PC.clearFieldErrors(form);
    title.textContent = '添加孩子';
    document.getElementById('pc-child-form-help').hidden = false;
    document.getElementById('pc-child-edit-help').hidden = true;
    document.getElementById('pc-child-document').hidden = false;
    document.getElementById('pc-child-fixed').hidden = true;
    document.getElementById('pc-consent').hidden = false;
    cancel.hidden = true;
    hukou.set('');
    residence.set('');
    sync();
  }

  /** The child's details in the form, to be changed (the document cannot change). */
  function startEdit(child) {
    startAdd();
    editing = child;
    title.textContent = '修改孩子信息：' + PC.mask(child.name);
    document.getElementById('pc-child-form-help').hidden = true;
    document.getElementById('pc-child-edit-help').hidden = false;
    document.getElementById('pc-child-document').hidden = true;
    var fixed = document.getElementById('pc-child-fixed');
    fixed.textContent = '证件：' + (DOCUMENT_NAMES[child.document_type] || '') + ' ' + child.id_number + '，' + child.birth_date + ' 出生';
    fixed.hidden = false;
    document.getElementById('pc-consent').hidden = true;
    cancel.hidden = false;
    F.name.value = child.name;
    hukou.set(child.hukou.region.code);
    F['hukou.address'].value = child.hukou.address || '';
    F.has_residence.checked = Boolean(child.residence);
    if (child.residence) {
      residence.set(child.residence.region.code);
      F['residence.address'].value = child.residence.address || '';
    }
    Array.prototype.forEach.call(form.querySelectorAll('input[name=categories]'), function (box) {
      box.checked = child.categories.indexOf(box.value) >= 0;
    });
    if (child.residence_permit) {
      F['residence_permit.issued_on'].value = child.residence_permit.issued_on || '';
      F['residence_permit.expires_on'].value = child.residence_permit.expires_on || '';
      F['residence_permit.issuing_city'].value = child.residence_permit.issuing_city || '';
    }
    if (child.disability) {
      F['disability.placement_wish'].value = child.disability.placement_wish || '';
      F['disability.note'].value = child.disability.note || '';
    }
    sync();
    form.scrollIntoView();
    title.focus();
  }

  function address(prefix) {
    return { region_code: F[prefix + '.region_code'].value, address: F[prefix + '.address'].value.trim() };
  }

  /** The body of POST (adding) or PATCH (changing), as the API names the fields. */
  function body() {
    var groups = chosenGroups();
    var data = { name: F.name.value.trim(), hukou: address('hukou'), categories: groups };
    if (F.has_residence.checked) data.residence = address('residence');
    else if (editing) data.residence = null; // unticked: the actual address is dropped
    var number = F['residence_permit.number'].value.trim();
    // Without a number no 居住证 is sent: the API asks for one (a new migrant child) or keeps
    // the one registered before (a change).
    if (groups.indexOf('migrant') >= 0 && number) {
      var permit = { number: number };
      // Left out when empty, so the API says 此项必填 next to it.
      if (F['residence_permit.issued_on'].value) permit.issued_on = F['residence_permit.issued_on'].value;
      if (F['residence_permit.expires_on'].value) permit.expires_on = F['residence_permit.expires_on'].value;
      if (F['residence_permit.issuing_city'].value.trim()) permit.issuing_city = F['residence_permit.issuing_city'].value.trim();
      data.residence_permit = permit;
    }
    if (groups.indexOf('disability') >= 0) {
      if (F['disability.placement_wish'].value) {
        data.disability = { placement_wish: F['disability.placement_wish'].value,
          note: F['disability.note'].value.trim() };
        // An empty number keeps the one registered before (the API's PATCH rule).
        if (F['disability.certificate_number'].value.trim()) {
          data.disability.certificate_number = F['disability.certificate_number'].value.trim();
        }
      }
    } else if (editing) {
      data.disability = null; // unticked: the server would otherwise keep the old wish
    }
    if (editing) return data;
    data.document_type = F.document_type.value;
    data.id_number = F.id_number.value.trim().toUpperCase();
    if (GB11643.indexOf(data.document_type) < 0) {
      if (F.birth_date.value) data.birth_date = F.birth_date.value;
      if (F.sex.value) data.sex = F.sex.value;
    }
    data.guardian_consent = { version: consentVersion, agreed: F.guardian_consent.checked };
    return data;
  }

  function invalid(field, message) {
    PC.showFieldErrors(form, { details: { fields: [{ field: field, message: message }] } });
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

  function loadConsent() {
    return PC.api('GET', '/api/v1/privacy/consent-text').then(function (consent) {
      consentVersion = consent.version;
      document.getElementById('pc-consent-title').textContent = consent.title;
      document.getElementById('pc-consent-text').textContent = consent.text;
    }, function (err) {
      document.getElementById('pc-consent-text').textContent = '同意书暂时无法读取：' + err.message;
    });
  }
  loadConsent();

  PC.api('GET', '/api/v1/regions').then(function (data) {
    towns = data.items;
    hukou.fill();
    residence.fill();
  }, function (err) { PC.say(error, err.message); });

  PC.api('GET', '/api/v1/categories').then(function (data) {
    var box = document.getElementById('pc-category-list');
    box.textContent = '';
    data.categories.forEach(function (group) {
      groupNames[group.key] = group.name;
      var label = PC.el('label', { class: 'pc-check' });
      var input = PC.el('input', { type: 'checkbox', name: 'categories', value: group.key });
      input.addEventListener('change', sync);
      label.appendChild(input);
      label.appendChild(document.createTextNode(' ' + group.name));
      label.appendChild(PC.el('span', { class: 'muted pc-inline' }, '（报名时上传：' + group.required_documents.map(function (d) {
        return d.name;
      }).join('、') + '）'));
      box.appendChild(label);
    });
    Object.keys(data.placement_wishes).forEach(function (key) {
      F['disability.placement_wish'].appendChild(option(key, data.placement_wishes[key]));
    });
    if (children.length) render(children); // the groups' names in the list
  }, function (err) {
    document.getElementById('pc-category-list').textContent = '特殊群体暂时无法读取：' + err.message;
  });

  F.document_type.addEventListener('change', sync);
  F.has_residence.addEventListener('change', sync);
  cancel.addEventListener('click', function () { startAdd(); F.name.focus(); });
  sync();

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    PC.say(error, '');
    PC.say(saved, '');
    PC.clearFieldErrors(form);
    if (!F['hukou.region_code'].value) {
      invalid('hukou.region_code', '请选择户籍所在的村（社区）');
      return;
    }
    if (F.has_residence.checked && !F['residence.region_code'].value) {
      invalid('residence.region_code', '请选择实际居住的村（社区）');
      return;
    }
    if (chosenGroups().indexOf('disability') >= 0 && !F['disability.placement_wish'].value) {
      invalid('disability.placement_wish', '请选择入学意愿（随班就读、特教学校或送教上门）');
      return;
    }
    var child = editing;
    var data = body();
    PC.busy(submit, function () {
      return child ? PC.api('PATCH', '/api/v1/me/children/' + child.id, data)
        : PC.api('POST', '/api/v1/me/children', data);
    }, '正在保存…').then(function (result) {
      startAdd();
      PC.say(saved, '已保存 ' + PC.mask(result.name) + ' 的信息。' + result.eligibility.reason);
      return load();
    }).catch(function (err) {
      // The text changed since the page opened: the new one, to be read and ticked again.
      if (err.code === 'GUARDIAN_CONSENT_OUTDATED') loadConsent();
      if (!PC.showFieldErrors(form, err)) PC.say(error, err.message);
    });
  });
})();
