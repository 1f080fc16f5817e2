/*
 * 我的报名 on the PC (GET /api/v1/registrations): each registration's school, child, status
 * and timeline (when, what, the reason a school gave), what a returned one needs fixed and
 * by when, and the seat offers (GET /api/v1/offers) still waiting for an answer; each card
 * links to the registration's own page (fix, withdraw, results). 打印本页 prints it (the
 * print style drops the navigation).
 */
(function () {
  'use strict';
  var list = document.getElementById('pc-registrations-list');
  var error = document.getElementById('pc-registrations-error');

  function when(iso) {
    return String(iso || '').replace('T', ' ').slice(0, 16);
  }

  var ACTION = { returned: '修改材料并重新提交', approved: '查看录取结果' };

  function card(r, offers) {
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
    offers.filter(function (o) { return o.registration_id === r.id; }).forEach(function (o) {
      var line = '学位：' + o.school.name + '　' + o.status_name;
      if (o.actions.indexOf('confirm') >= 0 && o.respond_by) line += '，请在 ' + when(o.respond_by) + ' 前确认';
      box.appendChild(PC.el('p', { class: 'pc-offer-line' }, line));
    });
    box.appendChild(PC.el('p', { class: 'pc-no-print' })).appendChild(PC.el('a', {
      href: '/pc/registrations/' + r.id, class: 'pc-button pc-registration-link',
    }, ACTION[r.status] || '查看详情'));
    return box;
  }

  document.getElementById('pc-print').addEventListener('click', function () { window.print(); });

  Promise.all([
    PC.api('GET', '/api/v1/registrations'),
    // Offers only add a line to the cards: without them the list still shows.
    PC.api('GET', '/api/v1/offers').then(function (data) { return data.items; }, function () { return []; }),
  ]).then(function (found) {
    var data = found[0];
    document.getElementById('pc-registrations-loading').hidden = true;
    document.getElementById('pc-registrations-empty').hidden = data.items.length > 0;
    data.items.forEach(function (r) { list.appendChild(card(r, found[1])); });
  }, function (err) {
    document.getElementById('pc-registrations-loading').hidden = true;
    PC.say(error, err.message);
  });
})();
