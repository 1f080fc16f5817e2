/* 操作日志 (bureau): who did what, when (Beijing time), about which object or child — the
 * actor chosen from the county's staff, a child shown masked only. */
(function () {
  "use strict";
  var el = C.el;
  var ROLES = { school_staff: "学校", bureau_admin: "教育局", parent: "家长" };
  var actor = document.getElementById("actor");
  var wanted = new URLSearchParams(location.search).get("actor_user_id");
  var note = document.getElementById("child-note");

  function who(e) {
    if (!e.actor_user_id) return "—";
    return el("span", null, e.actor_display_name || e.actor_username || "#" + e.actor_user_id,
      el("div", { class: "result-line muted" }, (ROLES[e.actor_role] || e.actor_role || "") + " · " + (e.actor_username || "#" + e.actor_user_id)));
  }

  var list = C.listPage({
    url: "/api/v1/admin/audit-events", perPage: 50, perPageKey: "page_size",
    empty: "没有符合条件的操作记录。可以放宽日期范围或清除操作人、儿童等筛选条件后再查询。",
    loaded: function (data) {
      note.hidden = !data.child;
      if (data.child) C.clear(note).appendChild(el("span", null, "正在查看儿童 ", el("strong", null, data.child.name),
        "（编号 " + data.child.id + "）本人及其报名、材料、录取和报到的操作记录，共 " + data.total + " 条。"));
    },
    columns: [
      { title: "时间", render: function (e) { return C.time(e.occurred_at, true); } },
      { title: "操作", render: function (e) { return el("span", null, e.action_name, el("div", { class: "result-line mono muted" }, e.action)); } },
      { title: "操作人", render: who },
      { title: "对象", render: function (e) { return e.object_type ? el("span", { class: "mono" }, e.object_type + " #" + e.object_id) : "—"; } },
      { title: "详情", render: function (e) { var text = JSON.stringify(e.details); return el("span", { class: "mono", title: text }, text.length > 80 ? text.slice(0, 80) + "…" : text); } },
      { title: "来源", render: function (e) { return e.client_fingerprint ? el("span", { class: "mono" }, e.client_fingerprint.slice(0, 10)) : "—"; } },
    ],
  });

  // The actor select: the county's staff accounts (bureau first), from the API.
  C.api("GET", "/api/v1/admin/staff-accounts?page_size=200").then(function (data) {
    data.items.slice().sort(function (a, b) { return a.role === b.role ? 0 : a.role === "bureau_admin" ? -1 : 1; }).forEach(function (u) {
      actor.appendChild(el("option", { value: String(u.id) }, (u.display_name || u.username) + "（" + u.username + (u.role === "bureau_admin" ? "，教育局" : "，" + (u.school_name || "学校")) + "）"));
    });
    if (wanted) { actor.value = wanted; list.load(); }
  }).catch(C.fail);
})();
