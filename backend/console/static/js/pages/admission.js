/* 录取管理: seat plans, on-site slots and check-in, class assignment — through the
 * admission, onsite and classes APIs. The lottery, offers and admitted-list pages have their
 * own scripts (lotteries.js, offers.js, admitted-lists.js). */
(function () {
  "use strict";
  var el = C.el;
  var page = document.currentScript.dataset.page;
  var optionsNode = document.getElementById("page-options");
  var options = optionsNode ? JSON.parse(optionsNode.textContent) : {};
  var bureau = C.role === "bureau_admin";

  function label(season) {
    var node = document.getElementById("season-label");
    if (node) node.textContent = season.name;
  }

  function seatPlans(season) {
    return C.api("GET", "/api/v1/admin/seat-plans?season_id=" + season.id);
  }

  /* --- 招生计划 --------------------------------------------------------------------- */
  function seatPlanPage(season) {
    function load() {
      return seatPlans(season).then(function (data) {
        C.table(document.getElementById("table"), [
          { title: "学校", render: function (p) { return el("span", null, el("strong", null, p.school.name), " ", el("span", { class: "muted" }, p.school.code)); } },
          { title: "班数", class: "num", render: function (p) { return p.classes === null ? "未设置" : String(p.classes); } },
          { title: "班额", class: "num", render: function (p) { return p.class_size === null ? "—" : String(p.class_size); } },
          { title: "计划学位", class: "num", render: function (p) { return p.seats === null ? "—" : String(p.seats); } },
          { title: "已占用", class: "num", render: function (p) { return String(p.taken); } },
          { title: "剩余", class: "num", render: function (p) { return p.free === null ? "—" : String(p.free); } },
          { title: "操作", render: function (p) { return el("button", { type: "button", class: "btn btn-link", onclick: function () {
            C.modal("设置招生计划 · " + p.school.name, [
              { name: "classes", label: "班数", type: "number", min: 0, max: 60, value: p.classes === null ? "" : p.classes, required: true },
              { name: "class_size", label: "班额（不超过 " + p.class_size_cap + " 人）", type: "number", min: 1, max: p.class_size_cap, value: p.class_size === null ? 45 : p.class_size, required: true },
            ], function (v) {
              return C.api("PUT", "/api/v1/admin/seat-plans/" + season.id + "/" + p.school.id,
                { classes: parseInt(v.classes, 10), class_size: parseInt(v.class_size, 10) }).then(function () { C.toast("已保存", "success"); load(); });
            });
          } }, "设置"); } },
        ], data.items, { empty: "本季暂无学校" });
      });
    }
    return load();
  }

  /* --- 现场报到 --------------------------------------------------------------------- */
  function onsitePage(season) {
    var log = document.getElementById("checkin-log");
    var logged = [];
    function load() {
      return C.api("GET", "/api/v1/staff/onsite/slots?season_id=" + season.id).then(function (data) {
        C.table(document.getElementById("table"), [
          { title: "学校", render: function (s) { return s.school.name; } },
          { title: "时段", render: function (s) { return C.time(s.starts_at) + " – " + C.time(s.ends_at).slice(11); } },
          { title: "地点", render: function (s) { return s.place; } },
          { title: "容量", class: "num", render: function (s) { return String(s.capacity); } },
          { title: "已预约", class: "num", render: function (s) { return String(s.booked); } },
          { title: "已报到", class: "num", render: function (s) { return String(s.checked_in); } },
          { title: "剩余", class: "num", render: function (s) { return String(s.available); } },
          { title: "说明", render: function (s) { return s.note; } },
        ], data.items, { empty: "尚未设置报到时段" });
      });
    }
    document.getElementById("checkin-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var input = document.getElementById("scan");
      var code = input.value.trim();
      input.value = "";
      if (!code) return;
      var box = document.getElementById("checkin-result");
      C.api("POST", "/api/v1/staff/checkins", { code: code }).then(function (r) {
        C.clear(box).appendChild(el("div", { class: "alert " + (r.off_slot ? "warning" : "success"), "data-testid": "checkin-ok" },
          el("strong", null, "报到成功："), r.child_name, "（报名编号 " + r.registration_id + "）", el("br"),
          "预约时段 " + C.time(r.slot.starts_at) + " · " + r.slot.place, r.warning ? el("div", null, r.warning) : null));
        logged.unshift(r);
        C.table(log, [
          { title: "时间", render: function (x) { return C.time(x.checked_in_at, true).slice(11); } },
          { title: "儿童", render: function (x) { return x.child_name; } },
          { title: "报名编号", render: function (x) { return String(x.registration_id); } },
          { title: "", render: function (x) { return x.off_slot ? C.tag("非预约时段", "orange") : C.tag("准时", "green"); } },
        ], logged);
        load();
      }).catch(function (error) {
        C.clear(box).appendChild(el("div", { class: "alert error", "data-testid": "checkin-error" }, error.message || "报到失败"));
      }).then(function () { input.focus(); });
    });
    document.getElementById("new-slot").addEventListener("click", function () {
      var fields = [
        { name: "date", label: "日期", type: "date", required: true },
        { name: "start", label: "开始时间", type: "time", required: true, value: "08:30" },
        { name: "end", label: "结束时间", type: "time", required: true, value: "09:30" },
        { name: "place", label: "地点", required: true, maxlength: 200, placeholder: "例如：学校一楼报到处" },
        { name: "capacity", label: "容量（人）", type: "number", min: 1, max: 10000, value: 30, required: true },
        { name: "note", label: "说明（可选）", maxlength: 200 },
      ];
      if (bureau) fields.unshift({ name: "school", label: "学校", type: "select", options: options.schools });
      C.modal("新增报到时段", fields, function (v) {
        var body = { season_id: season.id, starts_at: v.date + "T" + v.start + ":00+08:00", ends_at: v.date + "T" + v.end + ":00+08:00",
          place: v.place, capacity: parseInt(v.capacity, 10), note: v.note || "" };
        if (bureau) body.school = v.school;
        return C.api("POST", "/api/v1/staff/onsite/slots", body).then(function () { C.toast("已新增时段", "success"); load(); });
      });
    });
    return load();
  }

  /* --- 均衡分班 --------------------------------------------------------------------- */
  function classesPage(season) {
    var STATUS = { committed: "已冻结待分班", published: "已公布", cancelled: "已取消" };
    function load() {
      return C.api("GET", "/api/v1/staff/classes/assignments?season_id=" + season.id).then(function (data) {
        C.table(document.getElementById("table"), [
          { title: "编号", render: function (a) { return String(a.id); } },
          { title: "学校", render: function (a) { return a.school.name; } },
          { title: "范围", render: function (a) { return a.scope === "checked_in" ? "已报到学生" : "已确认学位"; } },
          { title: "班级", class: "num", render: function (a) { return a.classes + " 班 × " + a.class_size; } },
          { title: "学生数", class: "num", render: function (a) { return String(a.pupil_count); } },
          { title: "状态", render: function (a) { return C.statusTag(a.status === "published" ? "approved" : a.status === "cancelled" ? "withdrawn" : "submitted", STATUS[a.status]); } },
          { title: "冻结时间", render: function (a) { return C.time(a.committed_at); } },
        ], data.items, { onRow: function (a) { show(a.id); }, empty: "尚未分班" });
      });
    }
    function show(id) {
      C.api("GET", "/api/v1/staff/classes/assignments/" + id).then(function (a) {
        var summary = el("div");
        if (a.summary) C.table(summary, [
          { title: "班级", render: function (s) { return s.class_no + " 班"; } },
          { title: "人数", class: "num", render: function (s) { return String(s.size); } },
          { title: "男", class: "num", render: function (s) { return String(s.male); } },
          { title: "女", class: "num", render: function (s) { return String(s.female); } },
          { title: "特殊需要", class: "num", render: function (s) { return String(s.special); } },
          { title: "平均出生月", class: "num", render: function (s) { return s.mean_birth_month === null ? "—" : s.mean_birth_month.toFixed(1); } },
        ], a.summary);
        var body = el("div", null,
          el("h4", { class: "section-title" }, "承诺与随机源"),
          C.desc([["名单承诺值", el("span", { class: "mono" }, a.commitment)], ["公开随机源", a.public_value_source],
            ["公开随机数", a.public_value || "待分班"], ["规则版本", a.rules_version]]),
          el("p", null, el("a", { href: a.evidence_path, target: "_blank", rel: "noopener" }, "查看分班证据")),
          a.summary ? el("div", null, el("h4", { class: "section-title" }, "各班概况"), summary) : null);
        var foot = [];
        if (a.status === "committed") foot.push(el("button", { class: "btn btn-primary", type: "button", onclick: function () {
          C.modal("分班", [{ name: "public_value", label: "公开随机数（" + a.public_value_source + "）", required: true, maxlength: 200 }], function (v) {
            return C.api("POST", "/api/v1/staff/classes/assignments/" + a.id + "/draw", { public_value: v.public_value }).then(function () { C.toast("分班完成", "success"); load(); show(a.id); });
          }, "分班");
        } }, "分班"));
        C.drawer.open("均衡分班 · " + a.school.name, body, foot);
      }).catch(C.fail);
    }
    document.getElementById("commit-classes").addEventListener("click", function () {
      var fields = [
        { name: "scope", label: "分班范围", type: "select", options: [["checked_in", "已现场报到的学生"], ["confirmed", "已确认学位的学生"]] },
        { name: "public_value_source", label: "公开随机源（须事先公布）", required: true, maxlength: 200 },
      ];
      if (bureau) fields.unshift({ name: "school", label: "学校", type: "select", options: options.schools });
      C.modal("冻结分班名单", fields, function (v) {
        var body = { season_id: season.id, scope: v.scope, public_value_source: v.public_value_source };
        if (bureau) body.school = v.school;
        return C.api("POST", "/api/v1/staff/classes/assignments", body).then(function (a) { C.toast("名单已冻结", "success"); load(); show(a.id); });
      }, "冻结");
    });
    return load();
  }

  var pages = { "seat-plans": seatPlanPage, onsite: onsitePage, classes: classesPage };
  C.season().then(function (season) {
    label(season);
    return pages[page](season);
  }).catch(C.fail);
})();
