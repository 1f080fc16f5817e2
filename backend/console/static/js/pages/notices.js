/* 通知送达 (bureau): every notice to a family of the county and how WeChat delivery went,
 * with the count per status; families are shown masked. */
(function () {
  "use strict";
  var el = C.el;
  var options = JSON.parse(document.getElementById("page-options").textContent);
  var COLORS = { pending: "blue", sending: "blue", sent: "green", not_subscribed: "orange", failed: "red", uncertain: "purple" };
  var form = document.getElementById("filters");

  function counts(data) {
    var box = C.clear(document.getElementById("counts"));
    var current = form.elements.status.value;
    var total = Object.keys(data.counts).reduce(function (sum, k) { return sum + data.counts[k]; }, 0);
    function button(key, label, n) {
      return el("button", { type: "button", "aria-pressed": current === key ? "true" : "false", "data-testid": "count-" + (key || "all"),
        onclick: function () { form.elements.status.value = key; list.load(); } }, label, el("strong", null, String(n)));
    }
    box.appendChild(button("", "全部", total));
    options.statuses.forEach(function (pair) { box.appendChild(button(pair[0], pair[1], data.counts[pair[0]] || 0)); });
  }

  var list = C.listPage({
    url: "/api/v1/admin/notices", perPage: 20, perPageKey: "page_size",
    empty: "没有符合条件的通知。可以放宽筛选条件，或按报名编号、回执号查找某个家庭。",
    loaded: counts,
    columns: [
      { title: "生成时间", render: function (n) { return C.time(n.created_at); } },
      { title: "通知", render: function (n) { return n.title; } },
      { title: "学校", render: function (n) { return n.school; } },
      { title: "儿童", render: function (n) { return n.child; } },
      { title: "家庭", render: function (n) {
        return el("span", { style: "white-space:nowrap" }, n.family.guardian_name || "（未实名）",
          n.family.guardian_phone ? el("div", { class: "mono" }, n.family.guardian_phone) : null,
          el("div", { class: "result-line muted" }, "账号 #" + n.family.user_id));
      } },
      { title: "送达状态", render: function (n) {
        return el("span", { "data-testid": "notice-status-" + n.id }, C.tag(n.status_name, COLORS[n.status]),
          n.last_error ? el("div", { class: "result-line muted" }, n.last_error) : null);
      } },
      { title: "发送次数", render: function (n) { return String(n.attempts); } },
      { title: "送达时间", render: function (n) { return C.time(n.sent_at); } },
      { title: "站内已读", render: function (n) { return n.read ? "已读" : "未读"; } },
    ],
  });
})();
