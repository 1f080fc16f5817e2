/* 投诉举报: the bureau's inbox (/admin/complaints: assign, answer, close) or a school's
 * assigned cases (/staff/complaints: answer). */
(function () {
  "use strict";
  var el = C.el;
  var bureau = C.role === "bureau_admin";
  var BASE = bureau ? "/api/v1/admin/complaints" : "/api/v1/staff/complaints";
  var staff = null;

  function staffAccounts() {
    if (!staff) staff = C.api("GET", "/api/v1/admin/staff-accounts");
    return staff;
  }

  var list = C.listPage({
    url: BASE, perPage: 20, perPageKey: "page_size", onRow: function (row) { open(row.id); },
    empty: bureau ? "没有符合条件的投诉举报。家长和公众在小程序提交的投诉、申诉和举报会出现在这里，收到后请指派办理并按期答复。"
      : "没有指派给本校的投诉举报。教育局指派后会出现在这里，请在答复期限内办理。",
    columns: [
      { title: "编号", render: function (c) { return String(c.id); } },
      { title: "类型", render: function (c) { return C.tag(c.type_name, c.type === "report" ? "red" : c.type === "appeal" ? "purple" : "blue"); } },
      { title: "涉及学校", render: function (c) { return c.school.name; } },
      { title: "内容摘要", render: function (c) { return c.text.length > 36 ? c.text.slice(0, 36) + "…" : c.text; } },
      { title: "状态", render: function (c) { return el("span", null, C.statusTag(c.status === "submitted" ? "open" : c.status, c.status_name), c.overdue ? C.tag("已超期", "red") : null); } },
      { title: "提交时间", render: function (c) { return C.time(c.filed_at); } },
      { title: "答复期限", render: function (c) { return C.time(c.due_at); } },
    ],
  });

  function after(promise, message) {
    return promise.then(function (c) { C.toast(message, "success"); list.load(); render(c); });
  }

  function render(c) {
    var person = c.anonymous ? "匿名" : c.complainant ? [c.complainant.name, c.complainant.phone].filter(Boolean).join(" · ") : "—";
    var body = el("div", null,
      el("h4", { class: "section-title" }, "来件信息"),
      C.desc([["类型", c.type_name], ["状态", C.statusTag(c.status === "submitted" ? "open" : c.status, c.status_name)],
        ["涉及学校", c.school.name], ["关联报名", c.registration ? c.registration.id + "（" + c.registration.child_name + "）" : null],
        ["反映人", person], ["答复期限", C.time(c.due_at)]]),
      el("h4", { class: "section-title" }, "反映内容"),
      el("div", { style: "white-space:pre-wrap;border:1px solid #f0f0f0;border-radius:6px;padding:12px 16px" }, c.text),
      c.attachments.length ? el("div", null, el("h4", { class: "section-title" }, "附件"),
        c.attachments.map(function (a, i) { return el("a", { href: a.url, target: "_blank", rel: "noopener", style: "margin-right:12px" }, "附件 " + (i + 1)); })) : null,
      c.answer ? el("div", null, el("h4", { class: "section-title" }, "答复"), el("div", { class: "alert success", style: "white-space:pre-wrap" }, c.answer)) : null,
      el("h4", { class: "section-title" }, "办理记录"),
      el("ul", { class: "timeline" }, c.history.map(function (h) {
        return el("li", null, el("div", null, h.status_name, h.note ? el("span", { class: "muted" }, " · " + h.note) : null), el("div", { class: "when" }, C.time(h.at, true)));
      })));
    var foot = [];
    if (c.status !== "closed") {
      foot.push(el("button", { class: "btn btn-primary", type: "button", onclick: function () {
        C.modal("答复", [{ name: "answer", label: "答复内容（将告知反映人）", type: "textarea", required: true, maxlength: 2000, value: c.answer || "" }], function (v) {
          return after(C.api("POST", BASE + "/" + c.id + "/answer", { answer: v.answer }), "已答复");
        });
      } }, "答复"));
    }
    if (bureau && c.status !== "closed") {
      foot.push(el("button", { class: "btn", type: "button", onclick: function () {
        staffAccounts().then(function (data) {
          var choices = data.items.filter(function (u) { return u.is_active && (u.role === "bureau_admin" || u.school === c.school.code); })
            .map(function (u) { return [String(u.id), (u.display_name || u.username) + (u.school ? "（学校）" : "（教育局）")]; });
          C.modal("指派办理人", [{ name: "assignee_user_id", label: "办理人", type: "select", options: choices }], function (v) {
            return after(C.api("POST", BASE + "/" + c.id + "/assign", { assignee_user_id: parseInt(v.assignee_user_id, 10) }), "已指派");
          });
        }).catch(C.fail);
      } }, "指派"));
      foot.push(el("button", { class: "btn btn-warning", type: "button", onclick: function () {
        C.modal("办结", [{ name: "note", label: "办结说明（可选）", type: "textarea", maxlength: 500 }], function (v) {
          return after(C.api("POST", BASE + "/" + c.id + "/close", { note: v.note || "" }), "已办结");
        });
      } }, "办结"));
    }
    C.drawer.open(c.type_name + " · 编号 " + c.id, body, foot);
  }

  function open(id) { return C.api("GET", BASE + "/" + id).then(render).catch(C.fail); }
})();
