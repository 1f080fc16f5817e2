/* 公告管理: GET/POST /staff/announcements, publish (with WeChat's content check), release,
 * reject and withdraw — every rule is the API's. */
(function () {
  "use strict";
  var el = C.el;
  var BASE = "/api/v1/staff/announcements";
  var options = JSON.parse(document.getElementById("page-options").textContent);
  var CHECK_NAMES = { pass: "检测通过", review: "需人工复核", risky: "存在风险", unavailable: "检测服务不可用",
    unchecked: "未配置检测账号", error: "检测出错" };
  var CHECK_COLORS = { pass: "green", review: "orange", risky: "red", unavailable: "orange", unchecked: "orange", error: "red" };

  function checkTag(check) {
    if (!check || !check.result) return el("span", { class: "muted" }, "未检测");
    return C.tag(CHECK_NAMES[check.result] || check.result, CHECK_COLORS[check.result]);
  }

  var list = C.listPage({
    url: BASE, perPage: 20, perPageKey: "page_size", onRow: function (row) { show(row); },
    empty: "没有符合条件的公告。点击右上角“新建公告”发布招生政策、报名须知等；如已设筛选条件，可点“重置”查看全部。",
    columns: [
      { title: "标题", render: function (a) { return el("a", { href: "#", "data-testid": "announcement-" + a.id,
        onclick: function (e) { e.preventDefault(); show(a); } }, a.title); } },
      { title: "级别", render: function (a) { return a.level === "county" ? C.tag("县级", "blue") : C.tag("学校", "gray"); } },
      { title: "学校", render: function (a) { return a.school ? a.school.name : "教育局"; } },
      { title: "分类", render: function (a) { return a.category_name; } },
      { title: "状态", render: function (a) { return el("span", { "data-testid": "status-" + a.id }, C.statusTag(a.status, a.status_name)); } },
      { title: "内容安全", render: function (a) { return checkTag(a.content_check); } },
      { title: "发布时间", render: function (a) { return C.time(a.publish_at); } },
      { title: "更新时间", render: function (a) { return C.time(a.updated_at); } },
    ],
  });

  function categoryOptions() {
    return Object.keys(options.categories).map(function (k) { return [k, options.categories[k]]; });
  }

  function editor(existing) {
    var fields = [
      { name: "category", label: "分类", type: "select", options: categoryOptions(), value: existing ? existing.category : "policy" },
      { name: "title", label: "标题", required: true, maxlength: 100, value: existing ? existing.title : "", placeholder: "2 至 100 个字" },
      { name: "body", label: "正文", type: "textarea", required: true, maxlength: 20000, value: existing ? existing.body : "",
        placeholder: "公告正文（不得包含身份证号、手机号等个人信息）" },
      { name: "publish_at", label: "定时发布（可选，北京时间）", type: "datetime-local" },
    ];
    if (!existing && C.role === "bureau_admin") {
      fields.unshift({ name: "school_code", label: "发布单位", type: "select",
        options: [["", "教育局（县级公告）"]].concat(options.schools) });
    }
    C.modal(existing ? "编辑公告" : "新建公告", fields, function (v) {
      var body = { category: v.category, title: v.title, body: v.body };
      if (v.publish_at) body.publish_at = v.publish_at + ":00+08:00";
      if (!existing && v.school_code) body.school_code = v.school_code;
      var call = existing ? C.api("PATCH", BASE + "/" + existing.id, body) : C.api("POST", BASE, body);
      return call.then(function (a) {
        C.toast(existing ? "已保存" : "草稿已创建，请确认后发布", "success");
        list.load();
        show(a);
      });
    }, existing ? "保存" : "保存草稿");
  }

  function action(a, path, body, done) {
    return C.api("POST", BASE + "/" + a.id + "/" + path, body).then(function (updated) {
      C.toast(done(updated), updated.status === "published" || updated.status === "scheduled" ? "success" : null);
      list.load();
      show(updated);
    });
  }

  function noteAction(a, title, path, required) {
    C.modal(title, [{ name: "note", label: required ? "理由（必填）" : "说明（可选）", type: "textarea", maxlength: 500 }], function (v) {
      if (required && (v.note || "").length < 2) throw new Error("请填写理由");
      return action(a, path, { note: v.note || "" }, function (u) { return "公告状态：" + u.status_name; });
    });
  }

  function show(a) {
    var check = a.content_check || {};
    var body = el("div", { "data-testid": "announcement-detail" },
      el("h4", { class: "section-title" }, "基本信息"),
      C.desc([["标题", a.title], ["分类", a.category_name], ["发布单位", a.school ? a.school.name : "教育局（县级）"],
        ["状态", el("span", { "data-testid": "detail-status" }, C.statusTag(a.status, a.status_name))],
        ["发布时间", C.time(a.publish_at)], ["撤回时间", C.time(a.withdrawn_at)]]),
      el("h4", { class: "section-title" }, "内容安全检测"),
      el("div", { class: "alert " + (check.result === "pass" ? "success" : check.result ? "warning" : ""), "data-testid": "content-check" },
        checkTag(check), " ", check.message || (check.result ? "" : "发布时自动检测"),
        check.label ? el("span", { class: "muted" }, "（标签 " + check.label + "）") : null),
      a.review_note ? el("p", null, "审核意见：", a.review_note) : null,
      el("h4", { class: "section-title" }, "正文"),
      el("div", { style: "white-space:pre-wrap;line-height:1.9;border:1px solid #f0f0f0;border-radius:6px;padding:12px 16px" }, a.body));
    var foot = [];
    if (a.status === "draft" || a.status === "rejected") {
      foot.push(el("button", { class: "btn btn-primary", type: "button", "data-testid": "publish", onclick: function () {
        action(a, "publish", null, function (u) { return "发布结果：" + u.status_name + (u.content_check.message ? "（" + u.content_check.message + "）" : ""); }).catch(C.fail);
      } }, "检测并发布"));
      foot.push(el("button", { class: "btn", type: "button", onclick: function () { editor(a); } }, "编辑"));
    }
    if (a.status === "held" && C.role === "bureau_admin") {
      foot.push(el("button", { class: "btn btn-success", type: "button", "data-testid": "release", onclick: function () { noteAction(a, "人工审核通过并发布", "release", false); } }, "审核通过并发布"));
      foot.push(el("button", { class: "btn btn-danger", type: "button", onclick: function () { noteAction(a, "驳回公告", "reject", true); } }, "驳回"));
    }
    if (a.status === "published" || a.status === "scheduled" || a.status === "held") {
      foot.push(el("button", { class: "btn btn-warning", type: "button", onclick: function () { noteAction(a, "撤回公告", "withdraw", false); } }, "撤回"));
    }
    C.drawer.open("公告 · " + a.title, body, foot);
  }

  document.getElementById("new-announcement").addEventListener("click", function () { editor(null); });
})();
