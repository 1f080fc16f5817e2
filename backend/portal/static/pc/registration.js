/*
 * One registration on the PC (/pc/registrations/<id>), through the mini-program's API:
 * - the registration and its timeline (GET /registrations/{id});
 * - returned by the school: the reason and the deadline, the basis and the documents (the
 *   basis's and the child's groups, GET /registrations/requirements and GET /me/children),
 *   the ones already given kept until replaced by an upload from the PC (POST /uploads,
 *   multipart); then PATCH /registrations/{id} {basis, upload_ids} with an Idempotency-Key
 *   (one per filled form) and the ticket followed until accepted or refused;
 * - 撤回报名 (POST /registrations/{id}/withdraw) when the API allows it (can_withdraw);
 * - approved: the admission result (GET /registrations/{id}/admission) with each lottery's
 *   public record (GET /lotteries/{id}), the seat offers to confirm, decline or give up
 *   (POST /offers/{id}/confirm | decline | withdraw) and the class (GET /registrations/{id}/class,
 *   404 until published). Every action that cannot be undone asks first, in a dialog that
 *   says what follows (the words of the mini-program's pages).
 */
(function () {
  'use strict';
  var id = Number((window.location.pathname.match(/\/pc\/registrations\/(\d+)/) || [])[1]);
  var API = '/api/v1/registrations/' + id;
  var error = document.getElementById('pc-registration-error');
  var form = document.getElementById('pc-fix-form');
  var list = document.getElementById('pc-fix-document-list');
  var submit = document.getElementById('pc-fix-submit');
  var BASIS = {};
  Array.prototype.forEach.call(form.elements.basis.options, function (o) { BASIS[o.value] = o.textContent; });
  var requirements = null;
  var child = null;
  var slots = []; // {kinds: [{kind, name}], required, upload: {upload_id, kind, previous}}
  var key = PC.newKey();

  function when(iso) {
    return String(iso || '').replace('T', ' ').slice(0, 16);
  }

  function kindName(kind) {
    return (requirements && requirements.document_kinds[kind]) || kind;
  }

  /** The confirmation dialog: resolves true only when the parent presses the named button. */
  function ask(title, text, ok) {
    var dialog = document.getElementById('pc-confirm');
    document.getElementById('pc-confirm-title').textContent = title;
    document.getElementById('pc-confirm-text').textContent = text;
    document.getElementById('pc-confirm-ok').textContent = ok;
    return new Promise(function (resolve) {
      function close(answer) {
        dialog.removeEventListener('cancel', onCancel);
        document.getElementById('pc-confirm-ok').onclick = null;
        document.getElementById('pc-confirm-cancel').onclick = null;
        if (dialog.open) dialog.close();
        resolve(answer);
      }
      function onCancel(event) { event.preventDefault(); close(false); }
      dialog.addEventListener('cancel', onCancel);
      document.getElementById('pc-confirm-ok').onclick = function () { close(true); };
      document.getElementById('pc-confirm-cancel').onclick = function () { close(false); };
      dialog.showModal();
      document.getElementById('pc-confirm-cancel').focus();
    });
  }

  // --- the fix --------------------------------------------------------------------------

  /** Every group of the basis, then the child's own documents, then the optional birth
   * certificate (as the mini-program's form); uploads put into the slots they fill. */
  function slotsFor(basis, uploads) {
    var made = [];
    var covered = {};
    (requirements ? requirements.bases : []).forEach(function (b) {
      if (b.basis !== basis) return;
      b.documents.forEach(function (group) { made.push({ kinds: group, required: true, upload: null }); });
    });
    made.forEach(function (s) { s.kinds.forEach(function (d) { covered[d.kind] = true; }); });
    ((child && child.required_documents) || []).forEach(function (doc) {
      if (covered[doc.kind]) return;
      covered[doc.kind] = true;
      made.push({ kinds: [doc], required: true, upload: null });
    });
    if (!covered.birth_certificate && requirements && requirements.document_kinds.birth_certificate) {
      made.push({ kinds: [{ kind: 'birth_certificate', name: requirements.document_kinds.birth_certificate }],
        required: false, upload: null });
    }
    var left = uploads.slice();
    made.forEach(function (s) {
      var at = -1;
      left.forEach(function (u, i) {
        if (at < 0 && s.kinds.some(function (d) { return d.kind === u.kind; })) at = i;
      });
      if (at >= 0) s.upload = left.splice(at, 1)[0];
    });
    return made;
  }

  function stateText(slot) {
    if (!slot.upload) return slot.required ? '未上传（必传）' : '未上传（选填）';
    return slot.upload.previous ? '已交（原材料）' : '已上传新材料';
  }

  function drawSlots() {
    list.textContent = '';
    slots.forEach(function (slot, index) {
      var names = slot.kinds.map(function (d) { return d.name; }).join(' 或 ');
      var row = PC.documentRow({
        label: names + (slot.required ? '' : '（选填）'), kinds: slot.kinds,
        kind: slot.upload && slot.upload.kind, name: 'document-' + index,
        fileLabel: '选择新的' + names, state: stateText(slot), ok: !!slot.upload,
        done: function (uploaded) {
          slot.upload = { upload_id: uploaded.upload_id, kind: uploaded.kind, previous: false };
          return stateText(slot);
        },
      });
      row.setAttribute('data-slot', String(index));
      list.appendChild(row);
    });
  }

  /** The API's refusal next to what it is about: the basis, or the documents still missing. */
  function showRefusal(err) {
    var fields = [];
    if (['BASIS_NOT_ACCEPTED', 'OUT_OF_ZONE', 'RESIDENCE_REQUIRED', 'RESIDENCE_PERMIT_REQUIRED'].indexOf(err.code) >= 0) {
      fields.push({ field: 'basis', message: err.message });
    } else if (err.code === 'UPLOADS_MISSING' || err.code === 'UPLOAD_NOT_FOUND') {
      var missing = (err.details && err.details.missing) || [];
      slots.forEach(function (slot, index) {
        var hit = slot.kinds.some(function (d) { return missing.indexOf(d.kind) >= 0; });
        if (hit || (err.code === 'UPLOAD_NOT_FOUND' && slot.upload && slot.upload.previous)) {
          fields.push({ field: 'document-' + index, message: err.message });
        }
      });
    }
    var shown = PC.showFieldErrors(form, fields.length ? { details: { fields: fields } } : err);
    if (!shown) PC.say(error, err.message);
  }

  function showTicket(ticket) {
    var stateNode = document.getElementById('pc-ticket-state');
    var detail = document.getElementById('pc-ticket-detail');
    document.getElementById('pc-ticket').hidden = false;
    if (ticket.state === 'queued') {
      stateNode.textContent = '正在受理，请稍候…';
      detail.textContent = ticket.fairness_notice || '';
      return;
    }
    if (ticket.state === 'accepted') {
      stateNode.textContent = '已重新提交';
      detail.textContent = '学校会重新审核，审核结果会通知您。';
      load();
      return;
    }
    stateNode.textContent = '修改未被受理';
    detail.textContent = (ticket.error && ticket.error.message) || '请检查后重新提交';
    key = PC.newKey();
  }

  form.elements.basis.addEventListener('change', function () {
    // Keep what was uploaded where the new basis needs the same kind.
    var uploads = slots.filter(function (s) { return s.upload; }).map(function (s) { return s.upload; });
    slots = slotsFor(form.elements.basis.value, uploads);
    drawSlots();
  });

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    PC.say(error, '');
    PC.clearFieldErrors(form);
    if (!requirements) {
      PC.say(error, '需要上传哪些材料没有读取成功，请刷新本页后再提交');
      return;
    }
    var missing = [];
    slots.forEach(function (slot, index) {
      if (slot.required && !slot.upload) missing.push({ field: 'document-' + index, message: '请上传这份材料' });
    });
    if (missing.length) {
      PC.showFieldErrors(form, { details: { fields: missing } });
      return;
    }
    var body = {
      basis: form.elements.basis.value,
      upload_ids: slots.filter(function (s) { return s.upload; }).map(function (s) { return s.upload.upload_id; }),
    };
    PC.busy(submit, function () {
      return PC.api('PATCH', API, body, { 'Idempotency-Key': key });
    }, '正在提交…').then(function (ticket) {
      if (ticket) PC.follow(ticket, showTicket, function (err) { PC.say(error, err.message); });
    }).catch(function (err) {
      // Refused before any ticket existed: the corrected form gets a fresh key.
      if (err.status >= 400 && err.status < 500) key = PC.newKey();
      showRefusal(err);
    });
  });

  // --- withdraw -------------------------------------------------------------------------

  document.getElementById('pc-withdraw').addEventListener('click', function () {
    var button = this;
    ask('撤回报名', '撤回后本次报名作废，报名时间内可以重新报名。确定撤回吗？', '确定撤回').then(function (ok) {
      if (!ok) return null;
      return PC.busy(button, function () { return PC.api('POST', API + '/withdraw', {}); }, '正在撤回…')
        .then(function () { return load(); }, function (err) { PC.say(error, err.message); });
    });
  });

  // --- results --------------------------------------------------------------------------

  var OUTCOME = { admitted: '录取', waitlisted: '候补' };

  function lotteryBox(l) {
    var box = PC.el('div', { class: 'pc-lottery', 'data-lottery-id': String(l.lottery_id) });
    box.appendChild(PC.el('p', { class: 'pc-lottery-outcome' },
      l.school.name + '：' + (OUTCOME[l.outcome] || '待派位')));
    var facts = [];
    if (l.position) facts.push('派位序号：第 ' + l.position + ' 位');
    if (l.waitlist_position) facts.push('候补第 ' + l.waitlist_position + ' 位');
    if (l.lottery_number) facts.push('派位号：' + l.lottery_number);
    if (facts.length) box.appendChild(PC.el('p', {}, facts.join('　')));
    var record = PC.el('details', { class: 'pc-lottery-record' });
    record.appendChild(PC.el('summary', {}, '查看派位过程与证据'));
    var body = PC.el('dl', { class: 'pc-facts pc-evidence' });
    record.appendChild(body);
    record.addEventListener('toggle', function () {
      if (!record.open || body.children.length) return;
      PC.api('GET', '/api/v1/lotteries/' + l.lottery_id).then(function (lottery) {
        [['招生计划', lottery.seats + ' 个学位'], ['参加派位', lottery.applicant_count + ' 人'],
          ['承诺值（派位前公布）', lottery.commitment],
          ['公开随机数来源', lottery.public_value_source],
          ['公开随机数', lottery.public_value || '尚未开奖'], ['随机种子', lottery.seed || ''],
          ['算法版本', lottery.algorithm_version], ['派位时间', when(lottery.drawn_at)]]
          .forEach(function (row) {
            body.appendChild(PC.el('dt', {}, row[0]));
            body.appendChild(PC.el('dd', {}, row[1]));
          });
        var link = PC.el('a', { href: lottery.evidence_url, download: 'lottery-' + l.lottery_id + '.json' }, '下载证据文件');
        var dd = PC.el('dd', {});
        dd.appendChild(link);
        dd.appendChild(PC.el('span', {}, '（任何人都可以用公开的核验程序重新计算派位结果）'));
        body.appendChild(PC.el('dt', {}, '证据文件'));
        body.appendChild(dd);
      }, function (err) { body.appendChild(PC.el('dd', { class: 'pc-error' }, err.message)); });
    });
    box.appendChild(record);
    return box;
  }

  function offerAction(button, offer, action) {
    var school = offer.school.name;
    var words = {
      confirm: ['确认入学', '确认在' + school + '入学吗？确认后请按学校通知按时办理现场确认。', '确认入学'],
      decline: ['放弃学位', '放弃后，该学位将依次递补给候补家庭，不能撤回。确定放弃' + school + '的学位吗？', '确定放弃'],
      withdraw: ['退出已确认的学位', '退出后学位将递补给候补家庭，不能撤回。确定退出吗？', '确定退出'],
    }[action];
    return ask(words[0], words[1], words[2]).then(function (ok) {
      if (!ok) return null;
      var body = action === 'withdraw' ? { reason: '家长在电脑端退出' } : {};
      return PC.busy(button, function () {
        return PC.api('POST', '/api/v1/offers/' + offer.id + '/' + action, body);
      }).then(function () { return load(); }, function (err) { PC.say(error, err.message); });
    });
  }

  function offerBox(offer) {
    var box = PC.el('div', { class: 'pc-offer', 'data-offer-id': String(offer.id) });
    box.appendChild(PC.el('p', {}, offer.school.name + '　'));
    box.firstChild.appendChild(PC.el('strong', { class: 'pc-offer-status' }, offer.status_name));
    if (offer.source_name) box.appendChild(PC.el('p', { class: 'muted' }, '学位来源：' + offer.source_name));
    if (offer.actions.indexOf('confirm') >= 0 && offer.respond_by) {
      box.appendChild(PC.el('p', { class: 'pc-error' }, '请在 ' + when(offer.respond_by) + ' 前确认，逾期视为放弃'));
    }
    if (offer.status === 'confirmed') {
      var ok = PC.el('p', { class: 'pc-ok' }, '已确认入学。请按学校通知办理现场确认：');
      ok.appendChild(PC.el('a', { href: '/pc/onsite', class: 'pc-no-print' }, '预约现场确认时段并打印入场凭证'));
      box.appendChild(ok);
    }
    var actions = PC.el('p', { class: 'pc-actions pc-no-print' });
    [['confirm', '确认入学', 'pc-button pc-primary'], ['decline', '放弃学位', 'pc-button pc-danger'],
      ['withdraw', '退出学位', 'pc-button pc-danger']].forEach(function (a) {
      if (offer.actions.indexOf(a[0]) < 0) return;
      var button = PC.el('button', { type: 'button', class: a[2] }, a[1]);
      button.addEventListener('click', function () { offerAction(button, offer, a[0]); });
      actions.appendChild(button);
    });
    if (actions.children.length) box.appendChild(actions);
    return box;
  }

  function classBox(value) {
    var box = document.getElementById('pc-class');
    box.textContent = '';
    if (!value) {
      box.appendChild(PC.el('p', { class: 'muted' }, '分班结果尚未公布。'));
      return;
    }
    box.appendChild(PC.el('p', { class: 'pc-class-name pc-status' }, value.class_name));
    box.appendChild(PC.el('p', { class: 'muted' }, value.school.name + ' · ' + when(value.published_at) + ' 公布　孩子在分班公示中的编号：' + value.pseudonym));
    if (value.corrected) box.appendChild(PC.el('p', {}, '分班结果公布后有调整，调整原因已一并公示。'));
    var link = PC.el('a', { href: value.evidence_path, class: 'pc-no-print' }, '分班证据文件');
    box.appendChild(link);
  }

  function results() {
    var admission = PC.api('GET', API + '/admission').then(function (body) {
      document.getElementById('pc-pseudonym').textContent = body.pseudonym;
      var lotteries = document.getElementById('pc-lotteries');
      lotteries.textContent = '';
      body.lotteries.forEach(function (l) { lotteries.appendChild(lotteryBox(l)); });
      document.getElementById('pc-no-lottery').hidden = body.lotteries.length > 0;
      var offers = document.getElementById('pc-offers');
      offers.textContent = '';
      body.offers.forEach(function (o) { offers.appendChild(offerBox(o)); });
      document.getElementById('pc-no-offer').hidden = body.offers.length > 0;
      document.getElementById('pc-result').hidden = false;
    });
    // The class is published later; until then the API answers 404.
    var placed = PC.api('GET', API + '/class').then(classBox, function () { classBox(null); });
    return Promise.all([admission, placed]);
  }

  // --- the registration -----------------------------------------------------------------

  function show(r) {
    document.getElementById('pc-registration-title').textContent = r.school.name + '　' + PC.mask(r.child.name);
    document.getElementById('pc-registration-status').textContent = r.status_name;
    document.getElementById('pc-registration-child').textContent = PC.mask(r.child.name);
    document.getElementById('pc-registration-school').textContent = r.school.name + (r.out_of_zone ? '（不在划片范围内或民办学校）' : '');
    document.getElementById('pc-registration-basis').textContent = BASIS[r.basis] || r.basis;
    document.getElementById('pc-registration-number').textContent = String(r.id);
    document.getElementById('pc-registration-submitted').textContent = when(r.submitted_at);
    var steps = document.getElementById('pc-registration-timeline');
    steps.textContent = '';
    r.timeline.forEach(function (t) {
      steps.appendChild(PC.el('li', {}, when(t.at) + '　' + t.status_name + (t.reason ? '（' + t.reason + '）' : '') + (t.note ? '：' + t.note : '')));
    });
    var uploads = document.getElementById('pc-registration-uploads');
    uploads.textContent = '';
    r.uploads.forEach(function (u) { uploads.appendChild(PC.el('li', {}, kindName(u.kind))); });
    if (!r.uploads.length) uploads.appendChild(PC.el('li', { class: 'muted' }, '无'));
    document.getElementById('pc-withdraw').hidden = !r.can_withdraw;
    var fix = document.getElementById('pc-fix');
    fix.hidden = !r.correction;
    if (r.correction) {
      document.getElementById('pc-fix-reason').textContent = [r.correction.reason, r.correction.note].filter(Boolean).join('：');
      document.getElementById('pc-fix-deadline').textContent = r.correction.fix_deadline
        ? '请在 ' + when(r.correction.fix_deadline) + ' 前修改并重新提交，逾期可能不予录取。' : '';
      form.elements.basis.value = r.basis;
      slots = slotsFor(r.basis, r.uploads.map(function (u) {
        return { upload_id: u.upload_id, kind: u.kind, previous: true };
      }));
      drawSlots();
    }
    document.getElementById('pc-result').hidden = true;
    document.getElementById('pc-registration-body').hidden = false;
    return r.status === 'approved' ? results() : null;
  }

  function load() {
    return PC.api('GET', API).then(function (r) {
      document.getElementById('pc-registration-loading').hidden = true;
      if (r.correction && !child) {
        return PC.api('GET', '/api/v1/me/children').then(function (data) {
          child = data.items.filter(function (c) { return c.id === r.child.id; })[0] || null;
          return show(r);
        }, function () { return show(r); });
      }
      return show(r);
    }).catch(function (err) {
      document.getElementById('pc-registration-loading').hidden = true;
      PC.say(error, err.message);
    });
  }

  document.getElementById('pc-print').addEventListener('click', function () { window.print(); });

  PC.api('GET', '/api/v1/registrations/requirements').then(function (table) {
    requirements = table;
  }, function () { requirements = null; }).then(load);
})();
