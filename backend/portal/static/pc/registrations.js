/*
 * 我的报名 on the PC (GET /api/v1/registrations): each registration's school, child, status
 * and timeline (when, what, the reason a school gave), what a returned one needs fixed and
 * by when; 打印本页 prints it (the print style drops the navigation).
 */
(function () {
  'use strict';
  var list = document.getElementById('pc-registrations-list');
  var error = document.getElementById('pc-registrations-error');

  function when(iso) {
    return String(iso || '').replace('T', ' ').slice(0, 16);
  }

  function card(r) {
    var box = PC.el('article', { class: 'pc-registration', 'data-registration-id': String(r.id) });
    box.appendChild(PC.el('h2', {}, r.school.name + '　' + PC.mask(r.child.name)));
    box.appendChild(PC.el('p', { class: 'pc-registration-status pc-status' }, r.status_name));
    box.appendChild(PC.el('p', { class: 'muted' }, '报名编号 ' + r.id + '　提交于 ' + when(r.submitted_at)));
    if (r.correction) {
      var fix = PC.el('div', { class: 'pc-correction' });
      fix.appendChild(PC.el('strong', {}, '学校要求修改：'));
      fix.appendChild(PC.el('span', {}, [r.correction.reason, r.correction.note].filter(Boolean).join('；')));
      if (r.correction.fix_deadline) fix.appendChild(PC.el('div', {}, '请在 ' + when(r.correction.fix_deadline) + ' 前修改'));
      box.appendChild(fix);
    }
    var steps = PC.el('ol', { class: 'pc-timeline' });
    r.timeline.forEach(function (t) {
      var text = when(t.at) + '　' + t.status_name + (t.reason ? '（' + t.reason + '）' : '') + (t.note ? '：' + t.note : '');
      steps.appendChild(PC.el('li', {}, text));
    });
    box.appendChild(steps);
    return box;
  }

  document.getElementById('pc-print').addEventListener('click', function () { window.print(); });

  PC.api('GET', '/api/v1/registrations').then(function (data) {
    document.getElementById('pc-registrations-loading').hidden = true;
    document.getElementById('pc-registrations-empty').hidden = data.items.length > 0;
    data.items.forEach(function (r) { list.appendChild(card(r)); });
  }, function (err) {
    document.getElementById('pc-registrations-loading').hidden = true;
    PC.say(error, err.message);
  });
})();
