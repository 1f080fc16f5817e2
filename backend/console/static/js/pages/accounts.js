/* 账号管理 (bureau): the county's staff accounts — filter, create, edit (name, role, school),
 * disable or enable, and reset a password (a generated one is shown once). */
(function () {
  "use strict";
  var el = C.el;
  var options = JSON.parse(document.getElementById("page-options").textContent);
  var BASE = "/api/v1/admin/staff-accounts";
  var me = null;
  var schoolNames = {};
  options.schools.forEach(function (s) { schoolNames[s[0]] = s[1]; });
  var ROLES = [["school_staff", "学校工作人员"], ["bureau_admin", "教育局管理员"]];

  function roleTag(u) { return u.role === "bureau_admin" ? C.tag("教育局", "blue") : C.tag("学校", "gray"); }
  function stateTag(u) { return u.is_active ? C.tag("正常", "green") : C.tag("已停用", "red"); }

  var list = C.listPage({
    url: BASE, perPage: 20, perPageKey: "page_size",
    empty: "没有符合条件的账号。可以放宽筛选条件，或点“新建账号”。",
    onRow: function (u) { edit(u); },
    columns: [
      { title: "用户名", render: function (u) { return el("span", { class: "mono" }, u.username, me && u.id === me.id ? C.tag("本人", "purple") : null); } },
      { title: "姓名", render: function (u) { return u.display_name; } },
      { title: "角色", render: roleTag },
      { title: "所属学校", render: function (u) { return u.school ? u.school_name || schoolNames[u.school] || u.school : "—"; } },
      { title: "状态", render: function (u) { return el("span", { "data-testid": "account-state-" + u.username }, stateTag(u)); } },
      { title: "最近登录", render: function (u) { return C.time(u.last_login_at); } },
      { title: "操作", render: function (u) {
        return el("span", null,
          el("button", { type: "button", class: "btn btn-sm", "data-testid": "edit-" + u.username, onclick: function () { edit(u); } }, "编辑"),
          " ",
          el("button", { type: "button", class: "btn btn-sm", "data-testid": "reset-" + u.username, disabled: me && u.id === me.id,
            title: me && u.id === me.id ? "自己的密码请由其他管理员重置" : null, onclick: function () { reset(u); } }, "重置密码"));
      } },
    ],
  });
  C.api("GET", "/api/v1/me").then(function (user) { me = user; list.load(); }).catch(C.fail);

  function edit(u) {
    var self = me && u.id === me.id;
    C.modal("编辑账号 · " + u.username, [
      { name: "display_name", label: "姓名", maxlength: 64, value: u.display_name || "" },
      { name: "role", label: "角色", type: "select", options: ROLES, value: u.role,
        hint: self ? "不能取消自己的管理员权限" : "改变角色或学校后，该账号需要重新登录" },
      { name: "school_code", label: "所属学校（学校账号必填）", type: "select", options: [["", "—"]].concat(options.schools), value: u.school || "" },
      { name: "is_active", label: "状态", type: "select", options: [["true", "正常"], ["false", "停用（立即退出所有设备）"]], value: String(u.is_active),
        hint: self ? "不能停用自己的账号" : null },
    ], function (v) {
      var body = { display_name: v.display_name || null, role: v.role, is_active: v.is_active === "true",
        school_code: v.role === "school_staff" ? v.school_code || null : null };
      if (v.role === "school_staff" && !body.school_code) throw C.fieldError("school_code", "学校账号必须选择所属学校");
      function send() {
        return C.api("PATCH", BASE + "/" + u.id, body).then(function () {
          C.toast(body.is_active ? "账号已保存" : "账号已停用，已在所有设备上退出登录", "success");
          list.load();
        });
      }
      if (u.is_active && !body.is_active) {
        // Disabling is immediate: this form closes and a confirmation says so first.
        setTimeout(function () {
          C.confirm("确认停用账号", "停用后，" + u.username + " 立即在所有设备上退出登录，不能再登录，直到重新启用。此操作记入操作日志。",
            send, { label: "确认停用", danger: true });
        }, 0);
        return null;
      }
      return send();
    }, "保存");
  }

  function showOnce(u, password) {
    var copy = el("button", { type: "button", class: "btn btn-sm", onclick: function () {
      if (navigator.clipboard) navigator.clipboard.writeText(password).then(function () { C.toast("已复制", "success"); });
    } }, "复制");
    C.modal("新密码（只显示这一次）", [{ node: el("div", null,
      el("p", null, "请把新密码当面或通过电话告诉 " + u.username + "，并提醒其妥善保管。关闭后无法再次查看。"),
      el("div", { class: "once-box", "data-testid": "new-password" }, password), copy) }],
      function () { return null; }, "我已记下");
  }

  function reset(u) {
    C.modal("重置密码 · " + u.username, [
      { node: el("p", { class: "confirm-text", "data-testid": "confirm-text" },
        "重置后旧密码立即失效，" + u.username + " 在所有设备上退出登录。留空则由系统生成新密码并只显示一次。此操作记入操作日志。") },
      { name: "password", label: "新密码（可留空）", type: "password", maxlength: 256, hint: "至少 10 位，须包含字母和数字或符号" },
    ], function (v) {
      return C.api("POST", BASE + "/" + u.id + "/reset-password", v.password ? { password: v.password } : {}).then(function (r) {
        C.toast("密码已重置，该账号已退出登录", "success");
        list.load();
        if (r.generated) setTimeout(function () { showOnce(u, r.password); }, 0);
      }).catch(function (e) {
        if (e && e.code === "WEAK_PASSWORD") throw C.fieldError("password", e.message);
        throw e;
      });
    }, "确认重置", { danger: true });
  }

  document.getElementById("new-account").addEventListener("click", function () {
    C.modal("新建账号", [
      { name: "role", label: "角色", type: "select", options: ROLES },
      { name: "school_code", label: "所属学校（学校账号必填）", type: "select", options: [["", "—"]].concat(options.schools) },
      { name: "username", label: "用户名", required: true, maxlength: 64, placeholder: "字母、数字、下划线、点或横线" },
      { name: "display_name", label: "姓名", maxlength: 64 },
      { name: "password", label: "初始密码", type: "password", required: true, maxlength: 256 },
    ], function (v) {
      var body = { username: v.username, password: v.password, role: v.role, display_name: v.display_name || null,
        school_code: v.role === "school_staff" ? v.school_code || null : null };
      return C.api("POST", BASE, body).then(function () { C.toast("账号已创建", "success"); list.load(); });
    }, "创建");
  });
})();
