/* 录取管理: seat plans, through the admission API. The lottery, offers, admitted-list,
 * on-site and classes pages have their own scripts. */
(function () {
  "use strict";
  var el = C.el;
  var page = document.currentScript.dataset.page;

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

  var pages = { "seat-plans": seatPlanPage };
  C.season().then(function (season) {
    label(season);
    return pages[page](season);
  }).catch(C.fail);
})();
