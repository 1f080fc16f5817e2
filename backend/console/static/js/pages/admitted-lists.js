/* 名单公布与学籍: each school's admitted list (confirmed and open offers, published or not),
 * publishing it with confirmation, the link to its public page, and the student-registry
 * export. Reads GET /admin/admitted-lists; writes POST /admin/admitted-lists; downloads
 * GET /admin/student-registry.xlsx (audited by the API). */
(function () {
  "use strict";
  var el = C.el;
  var season = null;

  function publish(row, button) {
    C.confirm("公布录取名单 · " + row.school.name,
      "将公布" + row.school.name + "的新生录取名单：目前已确认 " + row.confirmed + " 人" +
      (row.offered ? "（另有 " + row.offered + " 人待确认，确认后自动列入）" : "") + "。\n" +
      "公布后名单（化名、隐去部分字的姓名、录取方式）向社会公开，家长可凭儿童证件号后四位和出生日期查询是否录取。公布后不能撤回。确定公布吗？",
      function () {
        return C.api("POST", "/api/v1/admin/admitted-lists", { season_id: season.id, school_id: row.school.id }).then(function () {
          C.toast("已公布" + row.school.name + "录取名单", "success");
          return load();
        });
      }, { label: "确认公布", progress: "正在公布名单…" });
  }

  function load() {
    return C.api("GET", "/api/v1/admin/admitted-lists?season_id=" + season.id).then(function (data) {
      C.table(document.getElementById("table"), [
        { title: "学校", render: function (r) { return el("span", null, el("strong", null, r.school.name), " ", el("span", { class: "muted" }, r.school.code)); } },
        { title: "计划学位", class: "num", render: function (r) { return r.seats === null ? "未设置" : String(r.seats); } },
        { title: "已确认", class: "num", render: function (r) { return el("span", { "data-testid": "confirmed-" + r.school.code }, String(r.confirmed)); } },
        { title: "待确认", class: "num", render: function (r) { return String(r.offered); } },
        { title: "公布状态", render: function (r) {
          return el("span", { "data-testid": "list-status-" + r.school.code },
            r.published_at ? C.tag("已公布 " + C.time(r.published_at), "green") : C.tag("未公布", "gray"));
        } },
        { title: "操作", render: function (r) {
          if (r.published_at) {
            return el("span", null, el("a", { href: r.public_page_url, target: "_blank", rel: "noopener", "data-testid": "public-page-" + r.school.code }, "公开页面（含查询）"),
              " · ", el("a", { href: r.public_list_url, target: "_blank", rel: "noopener" }, "公开数据"));
          }
          return el("button", { class: "btn btn-sm btn-primary", type: "button", "data-testid": "publish-" + r.school.code, disabled: !r.confirmed,
            title: r.confirmed ? null : "尚无已确认学位的儿童", onclick: function () { publish(r, this); } }, "公布名单");
        } },
      ], data.items, { empty: "本季暂无学校" });
    }).catch(C.fail);
  }

  document.getElementById("registry-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var v = C.formValues(this);
    var select = this.elements.school_id;
    var name = select.options[select.selectedIndex].text;
    C.confirm("下载学籍名单", "将导出" + name + "已确认学位新生的完整学籍信息（含完整证件号码和电话），本次导出记入操作日志。确定下载吗？", function () {
      C.download("/api/v1/admin/student-registry.xlsx" + C.query({ season_id: season.id, school_id: v.school_id }));
      C.toast("正在生成学籍名单，下载将自动开始", "success");
    }, { label: "下载" });
  });

  C.season().then(function (s) {
    season = s;
    document.getElementById("season-label").textContent = s.name;
    return load();
  }).catch(C.noSeason("table"));
})();
