/*
 * 投诉与申诉 on the PC, through the mini-program's API: the family's complaints
 * (GET /complaints) and one with the bureau's answer and its history (GET /complaints/{id});
 * a new one (POST /complaints): the type, the registration it concerns or else the school
 * (GET /registrations, GET /schools), the text, documents uploaded as soon as they are chosen
 * (POST /uploads, kind `other`) and 对学校匿名. The API's errors appear next to their field.
 */
(function () {
  'use strict';
  var form = document.getElementById('pc-complaint-form');
  var error = document.getElementById('pc-complaints-error');
  var submit = document.getElementById('pc-complaint-submit');
  var detail = document.getElementById('pc-complaint-detail');
  var panel = document.getElementById('pc-complaints-panel');
  var fileList = document.getElementById('pc-complaint-files');
  var MAX_FILES = 10;
  var uploads = []; // {id, row} of the documents uploaded for this form

  function when(iso) {
    return String(iso || '').replace('T', ' ').slice(0, 16);
  }

  function show(view) {
    form.hidden = view !== 'form';
    detail.hidden = view !== 'detail';
    panel.hidden = view === 'detail';
    document.getElementById('pc-complaint-new').hidden = view !== 'list';
  }

  function item(c) {
    var row = PC.el('li', { class: 'pc-child pc-complaint', 'data-complaint-id': String(c.id) });
    var open = PC.el('button', { type: 'button', class: 'pc-link-button' }, c.type_name + ' · ' + c.school.name);
    open.addEventListener('click', function () { openComplaint(c.id); });
    row.appendChild(open);
    row.appendChild(PC.el('span', { class: 'pc-complaint-status pc-status-tag' }, c.status_name));
    row.appendChild(PC.el('div', { class: 'muted' }, when(c.filed_at) + ' 提交，' + when(c.due_at) + ' 前答复'));
    return row;
  }

  function load() {
    return PC.api('GET', '/api/v1/complaints').then(function (data) {
      var list = document.getElementById('pc-complaints-list');
      document.getElementById('pc-complaints-loading').hidden = true;
      document.getElementById('pc-complaints-empty').hidden = data.items.length > 0;
      list.textContent = '';
      data.items.forEach(function (c) { list.appendChild(item(c)); });
    }, function (err) {
      document.getElementById('pc-complaints-loading').hidden = true;
      PC.say(error, err.message);
    });
  }

  function openComplaint(id) {
    PC.say(error, '');
    return PC.api('GET', '/api/v1/complaints/' + id).then(function (c) {
      detail.setAttribute('data-complaint-id', String(c.id));
      document.getElementById('pc-complaint-title').textContent = c.type_name + ' · ' + c.school.name;
      document.getElementById('pc-complaint-status').textContent = c.status_name;
      document.getElementById('pc-complaint-filed').textContent = when(c.filed_at);
      document.getElementById('pc-complaint-due').textContent = when(c.due_at);
      document.getElementById('pc-complaint-text').textContent = c.text;
      var files = document.getElementById('pc-complaint-attachments');
      files.textContent = '';
      c.attachments.forEach(function (a, n) {
        var li = PC.el('li');
        li.appendChild(PC.el('a', { href: a.url, target: '_blank', rel: 'noopener' }, '附件 ' + (n + 1)));
        files.appendChild(li);
      });
      var answer = document.getElementById('pc-complaint-answer');
      answer.textContent = c.answer ? c.answer + '（' + when(c.answered_at) + ' 答复）' : '正在处理，请耐心等待。';
      answer.classList.toggle('muted', !c.answer);
      var history = document.getElementById('pc-complaint-history');
      history.textContent = '';
      c.history.forEach(function (e) {
        history.appendChild(PC.el('li', {}, when(e.at) + '　' + e.status_name + (e.note ? '：' + e.note : '')));
      });
      show('detail');
      detail.scrollIntoView();
    }, function (err) { PC.say(error, err.message); });
  }

  function fileRow(file) {
    var row = PC.el('li', { class: 'pc-document' });
    row.appendChild(PC.el('span', { class: 'pc-field' }, file.name));
    var state = PC.el('span', { class: 'pc-upload-state' }, '正在上传…');
    row.appendChild(state);
    var remove = PC.el('button', { type: 'button', class: 'pc-button' }, '移除');
    row.appendChild(remove);
    fileList.appendChild(row);
    var entry = { id: null, row: row };
    uploads.push(entry);
    remove.addEventListener('click', function () {
      uploads = uploads.filter(function (u) { return u !== entry; });
      row.remove();
    });
    var data = new FormData();
    data.append('kind', 'other');
    data.append('file', file);
    PC.api('POST', '/api/v1/uploads', data).then(function (uploaded) {
      entry.id = uploaded.upload_id;
      state.textContent = '已上传';
      state.className = 'pc-upload-state pc-ok';
    }, function (err) {
      uploads = uploads.filter(function (u) { return u !== entry; });
      state.textContent = '上传失败：' + err.message;
      state.className = 'pc-upload-state pc-error';
    });
  }

  form.elements.upload_ids.addEventListener('change', function () {
    var input = form.elements.upload_ids;
    Array.prototype.forEach.call(input.files, function (file) {
      if (uploads.length < MAX_FILES) fileRow(file);
    });
    input.value = '';
  });

  form.elements.registration_id.addEventListener('change', function () {
    // A registration names its school; the school is chosen only without one.
    document.getElementById('pc-complaint-school').hidden = Boolean(form.elements.registration_id.value);
  });

  function body() {
    var data = {
      type: form.querySelector('input[name=type]:checked').value,
      text: form.elements.text.value,
      anonymous: form.elements.anonymous.checked,
      upload_ids: uploads.filter(function (u) { return u.id; }).map(function (u) { return u.id; }),
    };
    if (form.elements.registration_id.value) data.registration_id = Number(form.elements.registration_id.value);
    else if (form.elements.school_code.value) data.school_code = form.elements.school_code.value;
    return data;
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    PC.say(error, '');
    PC.clearFieldErrors(form);
    if (uploads.some(function (u) { return !u.id; })) {
      PC.say(error, '附件还在上传，请稍候再提交');
      return;
    }
    PC.busy(submit, function () { return PC.api('POST', '/api/v1/complaints', body()); }, '正在提交…')
      .then(function (made) {
        form.reset();
        uploads = [];
        fileList.textContent = '';
        document.getElementById('pc-complaint-school').hidden = false;
        return load().then(function () { return openComplaint(made.id); });
      }).catch(function (err) {
        // The subject rule names no field: it concerns the school (or registration) choice.
        if (err.code === 'COMPLAINT_SUBJECT_REQUIRED') err.details = { field: 'school_code' };
        if (!PC.showFieldErrors(form, err)) PC.say(error, err.message);
      });
  });

  document.getElementById('pc-complaint-new').addEventListener('click', function () {
    show('form');
    form.elements.type[0].focus();
  });
  document.getElementById('pc-complaint-cancel').addEventListener('click', function () { show('list'); });
  document.getElementById('pc-complaint-back').addEventListener('click', function () { show('list'); });

  Promise.all([
    PC.api('GET', '/api/v1/registrations').catch(function () { return { items: [] }; }),
    PC.api('GET', '/api/v1/schools').catch(function () { return { items: [] }; }),
  ]).then(function (found) {
    found[0].items.forEach(function (r) {
      form.elements.registration_id.appendChild(PC.el('option', { value: String(r.id) },
        PC.mask(r.child.name) + ' · ' + r.school.name + '（' + r.status_name + '，报名编号 ' + r.id + '）'));
    });
    found[1].items.forEach(function (s) {
      form.elements.school_code.appendChild(PC.el('option', { value: s.code }, s.name));
    });
  });
  show('list');
  var wanted = Number(new URLSearchParams(window.location.search).get('id'));
  load().then(function () { if (wanted > 0) openComplaint(wanted); });
})();
