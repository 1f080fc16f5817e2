/* 绑定争议 (bureau): ID numbers bound to another WeChat account. The list and the drawer
 * show masked facts only; a transfer or a rejection needs a reason and a confirmation. */
(function () {
  "use strict";
  var el = C.el;
  var BASE = "/api/v1/admin/identity-disputes";
  var STATUS = { open: ["待处理", "orange"], transferred: ["已转移绑定", "green"], rejected: ["已驳回", "gray"] };

  function statusTag(d) { var s = STATUS[d.status] || [d.status, "gray"]; return C.tag(s[0], s[1]); }

  var list = C.listPage({
    url: BASE, perPage: 20, perPageKey: "page_size",
    empty: "没有符合条件的申诉。家长在小程序中提交的绑定申诉会出现在这里。",
    onRow: function (d) { render(d); },
    columns: [
      { title: "编号", render: function (d) { return String(d.id); } },
      { title: "申诉人填写的姓名", key: "claimed_name" },
      { title: "证件号码", render: function (d) { return el("span", { class: "mono" }, d.id_number); } },
      { title: "当前绑定", render: function (d) { return d.bound_name + "（账号 #" + d.bound_user_id + "）"; } },
      { title: "申诉人账号", render: function (d) { return "#" + d.requester_user_id; } },
      { title: "状态", render: statusTag },
      { title: "提交时间", render: function (d) { return C.time(d.created_at); } },
      { title: "操作", render: function (d) {
        return el("button", { type: "button", class: "btn btn-sm", "data-testid": "open-dispute-" + d.id,
          onclick: function () { render(d); } }, d.status === "open" ? "处理" : "查看");
      } },
    ],
  });

  function decide(d, decision) {
    var transfer = decision === "transfer";
    var text = transfer
      ? "转移后，该证件的实名绑定、名下 " + d.children + " 名儿童的信息、报名记录和上传的材料将转到申诉人的微信账号（#" +
        d.requester_user_id + "）；原微信账号（#" + d.bound_user_id + "）立即退出登录，不能再查看这些信息。此操作不可撤销，并记入操作日志。"
      : "驳回后绑定保持不变（仍在账号 #" + d.bound_user_id + "），本申诉结束。处理说明记入操作日志。";
    C.modal(transfer ? "确认转移绑定" : "确认驳回申诉", [
      { node: el("p", { class: "confirm-text", "data-testid": "confirm-text" }, text) },
      { name: "note", label: "处理说明（必填：核实了什么、依据是什么）", type: "textarea", required: true, maxlength: 500 },
    ], function (values) {
      if (!values.note || values.note.length < 2) throw C.fieldError("note", "请填写处理说明（至少 2 个字）");
      return C.api("POST", BASE + "/" + d.id + "/resolve", { decision: decision, note: values.note }).then(function (done) {
        C.toast(transfer ? "已转移绑定，原账号已退出登录" : "已驳回申诉", "success");
        list.load();
        render(done);
      });
    }, transfer ? "确认转移" : "确认驳回", { danger: transfer });
  }

  function render(d) {
    var body = el("div", { "data-testid": "dispute-detail" },
      d.requester_bound && d.status === "open"
        ? el("div", { class: "alert error", "data-testid": "requester-bound" }, "申诉人的微信账号已绑定其他证件，不能转移；请先与申诉人核实。") : null,
      el("h4", { class: "section-title" }, "申诉"),
      C.desc([["状态", statusTag(d), "dispute-state"], ["提交时间", C.time(d.created_at)],
        ["申诉人填写的姓名", d.claimed_name], ["证件号码", el("span", { class: "mono" }, d.id_number)],
        ["申诉人联系电话", d.contact_phone], ["申诉人账号", "#" + d.requester_user_id]]),
      el("h4", { class: "section-title" }, "申诉说明"),
      el("div", { style: "white-space:pre-wrap;border:1px solid #f0f0f0;border-radius:6px;padding:12px 16px" }, d.note || "（未填写）"),
      el("h4", { class: "section-title" }, "当前绑定"),
      C.desc([["监护人姓名", d.bound_name], ["手机号", d.bound_phone], ["绑定账号", "#" + d.bound_user_id],
        ["名下儿童", d.children + " 名（转移时一并转移）"]]),
      d.status !== "open" ? el("div", null, el("h4", { class: "section-title" }, "处理结果"),
        C.desc([["结果", statusTag(d)], ["处理时间", C.time(d.resolved_at)],
          ["处理人", d.resolved_by_user_id ? "#" + d.resolved_by_user_id : null], ["处理说明", d.resolution_note]])) : null);
    var foot = d.status === "open" ? [
      el("button", { class: "btn btn-primary", type: "button", "data-testid": "dispute-transfer", disabled: d.requester_bound,
        onclick: function () { decide(d, "transfer"); } }, "转移绑定"),
      el("button", { class: "btn btn-danger", type: "button", "data-testid": "dispute-reject",
        onclick: function () { decide(d, "reject"); } }, "驳回"),
    ] : null;
    C.drawer.open("绑定申诉 · 编号 " + d.id, body, foot);
  }
})();
