/*
 * 提交报名 on the PC, through the mini-program's API: the child (GET /me/children), the school
 * (the zoned ones of GET /zones/lookup first, then GET /schools), the basis and its documents
 * (GET /registrations/requirements plus the child's own), each uploaded at once
 * (POST /uploads, multipart), the season's must-read notice (GET /seasons/current) read and
 * ticked, then POST /registrations with an Idempotency-Key (one per form, so a retry never
 * registers twice) and the ticket followed (GET /registrations/tickets/{ticket}) until it is
 * accepted or refused with the reason.
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
  var key = '';

  function newKey() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    key = Array.prototype.map.call(bytes, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  }
  newKey();

  function child() {
    var id = Number(form.elements.child_id.value);
    return children.filter(function (c) { return c.id === id; })[0];
  }

  function beijing(iso) {
    return String(iso || '').replace('T', ' ').slice(0, 16);
  }

  function mustRead(season) {
    var cutoff = season ? season.age_cutoff : '招生季规定日期';
    var window = season ? beijing(season.registration_opens_at) + ' 至 ' + beijing(season.registration_closes_at) : '以教育局公告为准';
    var sections = [
      ['一、免试就近入学', '学校按划片范围招生，依据孩子的户籍所在地或家庭实际居住地确定学校。不举行任何形式的考试、测试或面试，不需要任何竞赛证书。'],
      ['二、入学年龄', '本季招收 ' + cutoff + ' 及之前出生的适龄儿童。'],
      ['三、报名时间', '网上报名时间：' + window + '。报名先后不影响录取，报名时间内任何时候提交都一样，请不要抢在第一时间。'],
      ['四、实名填报', '请用监护人本人的微信实名登记。所填信息和上传材料必须真实；弄虚作假的，取消入学资格。'],
      ['五、一个孩子一条报名', '每个孩子本季只能有一条有效报名。需要换学校时，请在报名时间内先撤回原报名。'],
      ['六、材料要清晰完整', '照片要清楚、四角完整。学校审核后如需修改，会通过微信消息和本平台“消息”通知您，请在期限内修改并重新提交。'],
      ['七、个人信息保护', '身份证号、手机号等个人信息加密保存，仅用于本次入学，招生结束后按规定删除。'],
      ['八、咨询与监督', '对招生工作有疑问或意见，可在小程序“我的 → 投诉与申诉”提出，教育局将在规定时间内答复。'],
    ];
    if (season && season.must_read_notice) sections.push(['九、本季须知', season.must_read_notice]);
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
    (requirements ? requirements.bases : []).forEach(function (b) {
      if (b.basis === basis) groups = groups.concat(b.documents);
    });
    var own = child();
    (own ? own.required_documents : []).forEach(function (doc) { groups.push([doc]); });
    groups.forEach(function (group, index) {
      var row = PC.el('div', { class: 'pc-document', 'data-group': String(index) });
      var label = PC.el('label', { class: 'pc-field' }, group.map(function (d) { return d.name; }).join(' 或 '));
      var kind = PC.el('select', { 'aria-label': '材料种类' });
      group.forEach(function (d) { kind.appendChild(PC.el('option', { value: d.kind }, d.name)); });
      kind.hidden = group.length < 2;
      var file = PC.el('input', { type: 'file', accept: 'image/jpeg,image/png,application/pdf' });
      var state = PC.el('span', { class: 'pc-upload-state' }, '未上传');
      label.appendChild(kind);
      label.appendChild(file);
      row.appendChild(label);
      row.appendChild(state);
      list.appendChild(row);
      file.addEventListener('change', function () {
        if (!file.files.length) return;
        var data = new FormData();
        data.append('kind', kind.value);
        data.append('file', file.files[0]);
        delete uploads[index];
        state.textContent = '正在上传…';
        PC.api('POST', '/api/v1/uploads', data).then(function (uploaded) {
          uploads[index] = uploaded.upload_id;
          state.textContent = '已上传';
          state.className = 'pc-upload-state pc-ok';
        }, function (err) {
          state.textContent = '上传失败：' + err.message;
          state.className = 'pc-upload-state pc-error';
        });
      });
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

  function follow(ticket) {
    var box = document.getElementById('pc-ticket');
    var stateNode = document.getElementById('pc-ticket-state');
    var detail = document.getElementById('pc-ticket-detail');
    box.hidden = false;
    if (ticket.state === 'queued') {
      stateNode.textContent = '正在受理，请稍候…';
      detail.textContent = ticket.fairness_notice || '';
      window.setTimeout(function () {
        PC.api('GET', '/api/v1/registrations/tickets/' + encodeURIComponent(ticket.ticket))
          .then(follow, function (err) { PC.say(error, err.message); });
      }, 1500);
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
    newKey();
  }

  form.elements.child_id.addEventListener('change', function () { schools(); documents(); });
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
    }, '正在提交…').then(follow).catch(function (err) {
      if (!PC.showFieldErrors(form, err)) PC.say(error, err.message);
    });
  });

  Promise.all([
    PC.api('GET', '/api/v1/me/children'),
    PC.api('GET', '/api/v1/registrations/requirements'),
    PC.api('GET', '/api/v1/seasons/current').catch(function () { return null; }),
  ]).then(function (found) {
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
    return schools();
  }).catch(function (err) {
    document.getElementById('pc-register-loading').hidden = true;
    PC.say(error, err.message);
  });
})();
