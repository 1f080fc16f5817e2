/* 招生总览: GET /api/v1/admin/stats in every grouping, polled without reloading the page. */
(function () {
  "use strict";
  var el = C.el;
  var REFRESH_MS = 1000 * parseInt(document.getElementById("overview").dataset.refreshSeconds || "15", 10);
  var PENDING = ["submitted", "under_review", "bureau_review"];
  var COLORS = ["#1677ff", "#52c41a", "#faad14", "#722ed1", "#13c2c2", "#eb2f96", "#fa8c16", "#2f54eb", "#a0d911", "#8c8c8c"];
  var LEVEL_NAMES = { red: "已满", yellow: "紧张", green: "充足" };
  var trendBy = "day";
  var charts = {};

  function chart(id) {
    if (!charts[id]) charts[id] = echarts.init(document.getElementById(id), null, { renderer: "canvas" });
    return charts[id];
  }
  window.addEventListener("resize", function () { Object.keys(charts).forEach(function (k) { charts[k].resize(); }); });

  function stats(by) { return C.api("GET", "/api/v1/admin/stats?by=" + by); }

  function todayKey() {
    // The authority's day (Asia/Shanghai), as the API keys its days.
    var parts = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date());
    return parts;
  }

  function number(n) { return (n || 0).toLocaleString("zh-CN"); }

  function renderTotals(bySchool, byStatus, byDay) {
    document.getElementById("season-name").textContent = bySchool.season.name;
    document.getElementById("as-of").textContent = C.time(bySchool.as_of, true);
    document.getElementById("yellow-percent").textContent = bySchool.yellow_percent;
    document.getElementById("total-registrations").textContent = number(bySchool.totals.registrations);
    document.getElementById("total-active").textContent = number(bySchool.totals.active);
    var today = todayKey();
    var todayItem = byDay.items.filter(function (i) { return i.key === today; })[0];
    document.getElementById("today").textContent = number(todayItem ? todayItem.registrations : 0);
    document.getElementById("today-label").textContent = today + "（北京时间）";
    var pending = byStatus.items.filter(function (i) { return PENDING.indexOf(i.key) >= 0; })
      .reduce(function (sum, i) { return sum + i.registrations; }, 0);
    document.getElementById("pending").textContent = number(pending);
  }

  function renderSchools(bySchool) {
    var rows = bySchool.items;
    C.table(document.getElementById("schools-table"), [
      { title: "学校", render: function (r) { return el("span", null, el("strong", null, r.label), " ", el("span", { class: "muted" }, r.key)); } },
      { title: "性质", render: function (r) { return r.school_type === "private" ? C.tag("民办", "purple") : C.tag("公办", "blue"); } },
      { title: "所在乡镇", render: function (r) { return r.town ? r.town.name : "—"; } },
      { title: "招生计划", class: "num", render: function (r) { return r.plan ? r.plan.classes + " 班 × " + r.plan.class_size + " 人 = " + r.plan.seats : "未设置"; } },
      { title: "报名（全部）", class: "num", render: function (r) { return el("span", { "data-testid": "school-registrations-" + r.key }, number(r.registrations)); } },
      { title: "有效报名", class: "num", render: function (r) { return el("span", { "data-testid": "school-active-" + r.key }, number(r.active)); } },
      { title: "已核验 / 需看材料", class: "num", render: function (r) {
        // 有效报名中：全部材料已由政府数据核验的 / 仍需审核人查看材料的
        return el("span", { "data-testid": "school-verified-" + r.key, title: "全部已核验 / 需查看材料" },
          number(r.all_verified || 0), " / ", number(r.needs_documents || 0));
      } },
      { title: "计划占用", render: function (r) {
        if (!r.plan) return el("span", { class: "muted" }, "—");
        var percent = r.plan.seats ? Math.round(r.active * 100 / r.plan.seats) : 0;
        return el("div", { style: "display:flex;align-items:center;gap:8px" },
          el("div", { class: "bar " + (r.shortage_level || "") }, el("i", { style: "width:" + Math.min(percent, 100) + "%" })),
          el("span", { class: "muted" }, percent + "%"));
      } },
      { title: "余量预警", render: function (r) {
        return r.shortage_level ? el("span", { class: "level " + r.shortage_level, "data-testid": "level-" + r.key }, LEVEL_NAMES[r.shortage_level]) : el("span", { class: "muted" }, "无计划");
      } },
    ], rows, { empty: "本季暂无学校" });
  }

  function renderTrend(data) {
    var items = data.items;
    chart("chart-trend").setOption({
      color: ["#1677ff", "#52c41a"], grid: { left: 40, right: 16, top: 36, bottom: 40 },
      tooltip: { trigger: "axis" }, legend: { data: ["报名", "有效"], right: 0, top: 0 },
      xAxis: { type: "category", data: items.map(function (i) { return i.label; }), axisLabel: { hideOverlap: true } },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: "报名", type: trendBy === "hour" ? "line" : "bar", smooth: true, barMaxWidth: 36, areaStyle: trendBy === "hour" ? { opacity: 0.12 } : null,
          data: items.map(function (i) { return i.registrations; }) },
        { name: "有效", type: "line", smooth: trendBy === "hour", data: items.map(function (i) { return i.active; }) },
      ],
    }, true);
  }

  function renderStatus(data) {
    chart("chart-status").setOption({
      color: ["#1677ff", "#fa8c16", "#faad14", "#722ed1", "#52c41a", "#ff4d4f", "#bfbfbf"],
      tooltip: { trigger: "item", formatter: "{b}：{c}（{d}%）" },
      legend: { orient: "vertical", right: 0, top: "middle" },
      series: [{ type: "pie", radius: ["45%", "72%"], center: ["38%", "52%"], avoidLabelOverlap: true, label: { show: false },
        data: data.items.map(function (i) { return { name: i.label, value: i.registrations }; }) }],
    }, true);
  }

  function renderBasis(data) {
    chart("chart-basis").setOption({
      color: COLORS, tooltip: { trigger: "item", formatter: "{b}：{c}（{d}%）" },
      legend: { bottom: 0 },
      series: [{ type: "pie", radius: "55%", center: ["50%", "45%"], label: { formatter: "{b}\n{c}", overflow: "none" },
        data: data.items.map(function (i) { return { name: i.label, value: i.registrations }; }) }],
    }, true);
  }

  function renderCategory(data) {
    var items = data.items;
    chart("chart-category").setOption({
      color: ["#722ed1"], grid: { left: 8, right: 36, top: 10, bottom: 20, containLabel: true }, tooltip: { trigger: "axis" },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", inverse: true, data: items.map(function (i) { return i.label; }) },
      series: [{ type: "bar", barMaxWidth: 16, label: { show: true, position: "right" }, data: items.map(function (i) { return i.registrations; }) }],
    }, true);
  }

  function noSeason(error) {
    document.getElementById("season-name").textContent = error.message;
    C.noSeason("schools-table")(error);
  }

  function refresh() {
    return Promise.all([stats("school"), stats("status"), stats("day"), stats("basis"), stats("category"), stats(trendBy)])
      .then(function (all) {
        renderTotals(all[0], all[1], all[2]);
        renderSchools(all[0]);
        renderStatus(all[1]);
        renderBasis(all[3]);
        renderCategory(all[4]);
        renderTrend(all[5]);
        document.body.dataset.loadedAt = String(Date.now());
      })
      .catch(function (error) { if (error instanceof C.ApiFailure && error.status === 404) noSeason(error); else C.fail(error); });
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-trend]"), function (button) {
    button.addEventListener("click", function () {
      trendBy = button.dataset.trend;
      Array.prototype.forEach.call(document.querySelectorAll("[data-trend]"), function (b) { b.classList.toggle("btn-primary", b === button); });
      stats(trendBy).then(renderTrend).catch(C.fail);
    });
  });
  document.querySelector('[data-trend="day"]').classList.add("btn-primary");
  document.getElementById("refresh").addEventListener("click", refresh);
  refresh();
  setInterval(function () { if (!document.hidden) refresh(); }, REFRESH_MS);
})();
