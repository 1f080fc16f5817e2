/*
 * Live counts per school from GET /api/v1/stats/public (no login, no personal data),
 * refreshed every minute. Without the script the table still shows plans and zones.
 */
(function () {
  'use strict';
  var table = document.getElementById('school-list');
  if (!table) return;
  var authority = table.getAttribute('data-authority') || '';
  var LEVELS = { red: '学位紧张', yellow: '接近计划' };

  function render(body) {
    var season = body && body.seasons && body.seasons[0];
    if (!season) return;
    var bySchool = {};
    season.schools.forEach(function (school) { bySchool[school.code] = school; });
    var rows = table.querySelectorAll('tr.school');
    Array.prototype.forEach.call(rows, function (row) {
      var cell = row.querySelector('.live-count');
      var school = bySchool[row.getAttribute('data-school')];
      if (!cell || !school) return;
      cell.textContent = school.active + ' 人' + (LEVELS[school.shortage_level] ? '（' + LEVELS[school.shortage_level] + '）' : '');
      cell.className = 'live-count' + (school.shortage_level ? ' level-' + school.shortage_level : '');
      cell.setAttribute('data-active', String(school.active));
    });
    var asOf = document.getElementById('counts-as-of');
    if (asOf && season.as_of) asOf.textContent = '（截至 ' + season.as_of.slice(11, 16) + '）';
  }

  function refresh() {
    var request = new XMLHttpRequest();
    request.open('GET', '/api/v1/stats/public' + (authority ? '?authority=' + encodeURIComponent(authority) : ''));
    request.onload = function () {
      if (request.status === 200) {
        try { render(JSON.parse(request.responseText)); } catch (err) { /* keep the last counts */ }
      }
    };
    request.send();
  }

  refresh();
  setInterval(refresh, 60000);
})();
