/*
 * 提交报名 on the PC, through the mini-program's API: the child (GET /me/children), the school
 * (the zoned ones of GET /zones/lookup first, then GET /schools), the basis and its documents
 * (GET /registrations/requirements plus the child's own), each uploaded at once
 * (POST /uploads, multipart), the season's must-read notice (GET /seasons/current) read and
 * ticked, then POST /registrations with an Idempotency-Key (one per form, so a retry never
 * registers twice) and the ticket followed (GET /registrations/tickets/{ticket}) until it is
 * accepted or refused with the reason.
 * 政府数据核验: the separate consent (GET /privacy/data-check-consent-text) ticked and sent
 * (POST /me/children/{id}/data-checks); the child's requirements (?child_id=) then say per
 * document 已由户籍信息核验，无需上传 (no upload asked) or why a check did not pass.
 */
(function () {
  'use strict';
  var form = document.getElementById('pc-register-form');
  var error = document.getElementById('pc-register-error');
  var submit = document.getElementById('pc-register-submit');
  var list = document.getElementById('pc-document-list');
  var children = [];
  var requirements = null;
  var uploads = {}; // document group index → upload id
  var consent = null; // the data-check consent text's version
  var checked = {}; // child id → that child's requirements (with verified documents)
  var key = PC.newKey();

  function child() {
    var id = Number(form.elements.child_id.value);
    return children.filter(function (c) { return c.id === id; })[0];
  }

  function mustRead(season) {
    // The sections, with the season's dates and the bureau's own notice, come from the API.
    var sections = (season && season.must_read || []).map(function (s) { return [s.title, s.text]; });
    var box = document.getElementById('pc-must-read-text');
    box.textContent = '';
    sections.forEach(function (s) {
      box.appendChild(PC.el('h3', {}, s[0]));
      box.appendChild(PC.el('p', {}, s[1]));
    });
  }

  /** Every group is required; any one document of a group fills it (the API's rule). */
  function documents() {
    list.textContent = '';
    uploads = {};
    var basis = form.elements.basis.value;
    var groups = [];
    var own = child();
    var mine = (own && checked[own.id]) || requirements;
    (mine ? mine.bases : []).forEach(function (b) {
      if (b.basis === basis) groups = groups.concat(b.documents);
    });
    // The child's special groups add their documents (the requirements' `categories`, the
    // intake's rule); one the basis already asks for is asked once.
    var asked = {};
    groups.forEach(function (group) { group.forEach(function (d) { asked[d.kind] = true; }); });
    (own ? own.categories : []).forEach(function (key) {
      var group = (requirements ? requirements.categories : []).filter(function (c) { return c.key === key; })[0];
      (group ? group.required_documents : []).forEach(function (doc) {
        if (asked[doc.kind]) return;
        asked[doc.kind] = true;
        groups.push([doc]);
      });
    });
    var verified = (mine && mine.verified_documents) || {};
    groups.forEach(function (group, index) {
      // A document government data confirmed needs no upload: one line says so.
      var done = group.filter(function (d) { return verified[d.kind]; })[0];
      if (done) {
        list.appendChild(PC.el('p', { class: 'pc-ok pc-verified', 'data-group': String(index) },
          group.map(function (d) { return d.name; }).join(' 或 ') + '：' + verified[done.kind]));
        return;
      }
      var refused = group.filter(function (d) { return d.verification; })[0];
      if (refused) list.appendChild(PC.el('p', { class: 'pc-error' }, refused.verification));
      var row = PC.documentRow({
        label: group.map(function (d) { return d.name; }).join(' 或 '), kinds: group, state: '未上传',
        clear: function () { delete uploads[index]; },
        done: function (uploaded) { uploads[index] = uploaded.upload_id; return '已上传'; },
      });
      row.setAttribute('data-group', String(index));
      list.appendChild(row);
    });
  }

  function schools() {
    var select = form.elements.school_code;
    select.textContent = '';
    var own = child();
    if (!own) return Promise.resolve();
    var zoned = PC.api('GET', '/api/v1/zones/lookup?region_code=' + encodeURIComponent(own.hukou.region.code))
      .then(function (data) { return data.schools; }, function () { return []; });
    return Promise.all([zoned, PC.api('GET', '/api/v1/schools')]).then(function (found) {
      var codes = {};
      var first = PC.el('optgroup', { label: '划片学校' });
      found[0].forEach(function (s) {
        codes[s.code] = true;
        first.appendChild(PC.el('option', { value: s.code }, s.name));
      });
      var others = PC.el('optgroup', { label: '其他学校' });
      found[1].items.forEach(function (s) {
        if (!codes[s.code]) others.appendChild(PC.el('option', { value: s.code }, s.name));
      });
      if (first.children.length) select.appendChild(first);
      if (others.children.length) select.appendChild(others);
    });
  }

  function show(ticket) {
    var box = document.getElementById('pc-ticket');
    var stateNode = document.getElementById('pc-ticket-state');
    var detail = document.getElementById('pc-ticket-detail');
    box.hidden = false;
    if (ticket.state === 'queued') {
      stateNode.textContent = '正在受理，请稍候…';
      detail.textContent = ticket.fairness_notice || '';
      return;
    }
    if (ticket.state === 'accepted') {
      form.hidden = true;
      stateNode.textContent = '报名已受理';
      detail.textContent = '报名编号 ' + ticket.registration_id + '。学校审核后会通知您。';
      return;
    }
    stateNode.textContent = '报名未被受理';
    detail.textContent = (ticket.error && ticket.error.message) || '请检查后重新提交';
    key = PC.newKey();
  }

  /** Whether any document of these requirements is verified or has a failed check. */
  function says(data) {
    return Object.keys(data.verified_documents || {}).length > 0 || data.bases.some(function (b) {
      return b.documents.some(function (g) { return g.some(function (d) { return d.verification; }); });
    });
  }

  /** The child's requirements with what government data verified (a failure: the plain ones). */
  function verifications() {
    var own = child();
    if (!own) return Promise.resolve();
    return PC.api('GET', '/api/v1/registrations/requirements?child_id=' + own.id).then(function (data) {
      var before = checked[own.id];
      checked[own.id] = data;
      // Redrawn only when a check says something: a document being uploaded is kept.
      if (child() === own && (says(data) || (before && says(before)))) documents();
    }, function () { /* the documents stay asked for */ });
  }

  document.getElementById('pc-data-check-ask').addEventListener('click', function () {
    var own = child();
    var state = document.getElementById('pc-data-check-state');
    if (!own) return;
    if (!form.elements.data_check_consent.checked) {
      PC.say(state, '请先阅读授权书并勾选同意');
      return;
    }
    PC.api('POST', '/api/v1/me/children/' + own.id + '/data-checks',
      { consent_version: consent, agreed: true }).then(function () {
      PC.say(state, '已提交核验，结果稍后显示；核验期间也可先上传材料');
      window.setTimeout(verifications, 3000);
    }, function (err) { PC.say(state, err.message); });
  });

  form.elements.child_id.addEventListener('change', function () { schools(); documents(); verifications(); });
  form.elements.basis.addEventListener('change', documents);

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    PC.say(error, '');
    PC.clearFieldErrors(form);
    if (!form.elements.must_read.checked) {
      PC.showFieldErrors(form, { details: { fields: [{ field: 'must_read', message: '请读完报名须知并勾选同意' }] } });
      return;
    }
    var body = {
      child_id: Number(form.elements.child_id.value),
      school_code: form.elements.school_code.value,
      basis: form.elements.basis.value,
      upload_ids: Object.keys(uploads).map(function (k) { return uploads[k]; }),
    };
    PC.busy(submit, function () {
      return PC.api('POST', '/api/v1/registrations', body, { 'Idempotency-Key': key });
    }, '正在提交…').then(function (ticket) {
      if (ticket) PC.follow(ticket, show, function (err) { PC.say(error, err.message); });
    }).catch(function (err) {
      // A missing document whose check failed: the reason (e.g. 姓名与户籍记录不一致).
      var reasons = (err.details && err.details.reasons) || {};
      var why = Object.keys(reasons).map(function (k) { return reasons[k]; }).join('；');
      if (!PC.showFieldErrors(form, err)) PC.say(error, err.message + (why ? '：' + why : ''));
    });
  });

  Promise.all([
    PC.api('GET', '/api/v1/me/children'),
    PC.api('GET', '/api/v1/registrations/requirements'),
    PC.api('GET', '/api/v1/seasons/current').catch(function () { return null; }),
    PC.api('GET', '/api/v1/privacy/data-check-consent-text').catch(function () { return null; }),
  ]).then(function (found) {
    if (found[3]) {
      consent = found[3].version;
      document.getElementById('pc-data-check-text').textContent = found[3].text;
    }
    document.getElementById('pc-register-loading').hidden = true;
    children = found[0].items;
    requirements = found[1];
    mustRead(found[2]);
    if (!children.length) {
      document.getElementById('pc-register-nochild').hidden = false;
      return null;
    }
    children.forEach(function (c) {
      form.elements.child_id.appendChild(PC.el('option', { value: String(c.id) }, PC.mask(c.name) + '（' + c.birth_date + ' 出生）'));
    });
    form.hidden = false;
    documents();
    verifications();
    return schools();
  }).catch(function (err) {
    document.getElementById('pc-register-loading').hidden = true;
    PC.say(error, err.message);
  });
})();
