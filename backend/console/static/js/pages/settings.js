/* 系统设置 (bureau): the season timeline and catalogue imports with a dry run (staff
 * accounts and the audit log have their own scripts). */
(function () {
  "use strict";
  var el = C.el;
  var page = document.currentScript.dataset.page;
  var STATES = { upcoming: "未开始", in_progress: "进行中", registration_open: "报名中", finished: "已结束", archived: "已归档" };

  function seasonPage() {
    var box = document.getElementById("seasons");
    C.api("GET", "/api/v1/seasons" + C.query({ authority: C.authority })).then(function (data) {
      C.clear(box);
      if (!data.items.length) box.appendChild(el("section", { class: "card" }, el("p", { class: "muted" }, "尚未发布招生季")));
      data.items.forEach(function (s) {
        var now = Date.now();
        var steps = el("div", { class: "steps" }, s.phases.map(function (p, i) {
          var start = Date.parse(p.starts_at), end = Date.parse(p.ends_at);
          var cls = now > end ? "done" : now >= start ? "now" : "";
          return el("div", { class: "step " + cls }, el("span", { class: "dot" }, String(i + 1)),
            el("div", { class: "step-title" }, p.name),
            el("div", { class: "step-time" }, C.time(p.starts_at)), el("div", { class: "step-time" }, "至 " + C.time(p.ends_at)));
        }));
        box.appendChild(el("section", { class: "card" },
          el("div", { class: "card-head" }, el("h3", null, s.name, s.is_sample ? C.tag("示例数据", "orange") : null),
            C.tag(STATES[s.state] || s.state, s.state === "registration_open" ? "green" : "blue")),
          C.desc([["年度", String(s.year)], ["学段", s.stage === "primary" ? "小学" : s.stage],
            ["入学年龄", s.age_cutoff + " 前（含）出生"], ["报名时间", C.time(s.registration_opens_at) + " 至 " + C.time(s.registration_closes_at)]]),
          el("h4", { class: "section-title", style: "margin-top:18px" }, "时间节点"), steps));
      });
    }).catch(C.fail);
  }

  function importsPage() {
    var form = document.getElementById("import-form");
    var kind = document.getElementById("kind");
    var commit = document.getElementById("commit");
    var KINDS = { regions: "乡镇与村（社区）", schools: "学校", zones: "招生片区" };
    kind.addEventListener("change", function () {
      document.getElementById("template").href = "/api/v1/admin/imports/templates/" + kind.value;
      commit.disabled = true;
    });
    document.getElementById("file").addEventListener("change", function () { commit.disabled = true; });
    function send(dryRun) {
      var file = document.getElementById("file").files[0];
      if (!file) { C.toast("请选择文件", "error"); return; }
      var data = new FormData();
      data.append("file", file);
      data.append("dry_run", dryRun ? "true" : "false");
      C.api("POST", "/api/v1/admin/imports/" + kind.value, data).then(function (r) {
        document.getElementById("report-note").textContent = (r.dry_run ? "检查结果（未写入）" : "导入完成") + " · " + KINDS[r.kind];
        var report = C.clear(document.getElementById("report"));
        report.appendChild(el("div", { class: "grid grid-4", "data-testid": "import-report" }, [
          ["数据行", r.rows], ["新增", r.created], ["更新", r.updated], ["无变化", r.unchanged],
        ].map(function (x) { return el("div", { class: "card stat-card" }, el("div", { class: "label" }, x[0]), el("div", { class: "value" }, String(x[1]))); })));
        if (r.errors.length) {
          var box = el("div", { style: "margin-top:16px" });
          report.appendChild(el("div", { class: "alert error", style: "margin-top:16px" }, "发现 " + r.errors.length + " 处错误，请修改文件后重新检查。"));
          report.appendChild(box);
          C.table(box, [{ title: "行号", key: "row" }, { title: "列", key: "column" }, { title: "问题", key: "message" }], r.errors);
        } else if (r.dry_run) {
          report.appendChild(el("div", { class: "alert success", style: "margin-top:16px" }, "检查通过，可以确认导入。"));
        }
        commit.disabled = !r.dry_run || r.errors.length > 0;
        if (!r.dry_run) C.toast("导入完成", "success");
      }).catch(C.fail);
    }
    form.addEventListener("submit", function (event) { event.preventDefault(); send(true); });
    commit.addEventListener("click", function () {
      C.confirm("确认导入", "将按检查结果写入" + KINDS[kind.value] + "数据。确定吗？", function () { send(false); });
    });
  }

  ({ season: seasonPage, imports: importsPage })[page]();
})();
