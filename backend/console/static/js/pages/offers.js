/* 录取与候补: the season's offers (paged and filtered by the API) with their deadlines in
 * Beijing time, withdrawal and expiry with confirmation, a school's waitlist with where each
 * applicant stands, and placement (统筹) of approved children without a seat, with a reason.
 * Reads GET /admin/offers, /admin/waitlist, /admin/unplaced, /admin/seat-plans;
 * writes POST /admin/offers/{id}/withdraw, /admin/offers/expire-overdue, /admin/placements. */
(function () {
  "use strict";
  var el = C.el;
  var form = document.getElementById("filters");
  var STATUS_COLORS = { offered: "blue", confirmed: "green", declined: "gray", expired: "red", withdrawn: "gray" };
  var WAIT_COLORS = { waiting: "orange", offered: "blue", confirmed: "green", declined: "gray", expired: "red", withdrawn: "gray",
    placed_elsewhere: "purple", inactive: "gray" };
  var season = null;
  var list = null;
  var unplacedPage = 1;

  function deadline(o) {
    if (!o.respond_by) return "—";
    return el("span", null, C.time(o.respond_by), o.overdue ? [" ", C.tag("已过期限", "red")] : null);
  }

  function reloadAll() {
    return Promise.all([list.load(), waitlist(), unplaced()]);
  }

  function withdraw(o) {
    C.modal("撤销学位", [
      { node: el("p", { class: "confirm-text" }, "将撤销 " + o.child_name + "（报名编号 " + o.registration_id + "）在" + o.school.name +
        "的学位：学位立即释放并递补给本校下一位候补，家长会收到通知。此操作不可恢复。") },
      { name: "reason", label: "撤销原因（必填）", type: "textarea", maxlength: 500, placeholder: "例如：经核实户籍信息不实" },
    ], function (v) {
      if ((v.reason || "").length < 2) throw new C.FieldError("reason", "请填写撤销原因（至少 2 个字）");
      return C.api("POST", "/api/v1/admin/offers/" + o.id + "/withdraw", { reason: v.reason }).then(function () {
        C.toast("已撤销，学位已递补给候补", "success");
        return reloadAll();
      });
    }, "确认撤销", { danger: true, progress: "正在撤销并递补候补…" });
  }

  /* --- offers ------------------------------------------------------------------------ */
  function offers() {
    list = C.listPage({
      url: "/api/v1/admin/offers", perPage: 20, perPageKey: "page_size",
      extra: function () { return { season_id: season.id }; },
      empty: "暂无学位记录：正式派位抽签后，拟录取的儿童会出现在这里",
      columns: [
        { title: "报名编号", render: function (o) { return String(o.registration_id); } },
        { title: "儿童", class: "nowrap", render: function (o) { return o.child_name; } },
        { title: "化名", class: "nowrap", render: function (o) { return el("span", { class: "mono" }, o.pseudonym); } },
        { title: "学校", render: function (o) { return o.school.name; } },
        { title: "来源", class: "nowrap", render: function (o) { return o.source_name; } },
        { title: "状态", class: "nowrap", render: function (o) { return el("span", { "data-testid": "offer-status-" + o.id }, C.tag(o.status_name, STATUS_COLORS[o.status])); } },
        { title: "确认期限（北京时间）", render: deadline },
        { title: "处理时间", render: function (o) { return C.time(o.decided_at); } },
        { title: "统筹理由", render: function (o) { return o.placement_reason; } },
        { title: "操作", render: function (o) {
          return o.actions.indexOf("withdraw") >= 0 ? el("button", { class: "btn btn-link", type: "button", "data-testid": "withdraw-" + o.id,
            onclick: function () { withdraw(o); } }, "撤销") : "—";
        } },
      ],
    });
    form.addEventListener("submit", function () { waitlist(); });
    form.addEventListener("reset", function () { setTimeout(waitlist, 0); });
  }

  /* --- the waitlist of the chosen school --------------------------------------------- */
  function waitlist() {
    var box = document.getElementById("waitlist");
    var schoolId = C.formValues(form).school_id;
    if (!schoolId) {
      C.clear(box).appendChild(el("p", { class: "muted" }, "在上方选择一所学校，查看该校的候补顺序和每人当前情况。"));
      return Promise.resolve();
    }
    return C.api("GET", "/api/v1/admin/waitlist" + C.query({ season_id: season.id, school_id: schoolId })).then(function (w) {
      if (!w.lottery_id) {
        C.clear(box).appendChild(el("p", { class: "muted" }, w.school.name + "没有候补：尚未抽签，或报名人数未超过计划。"));
        return;
      }
      var tableBox = el("div");
      C.clear(box).appendChild(el("p", { "data-testid": "waitlist-summary" }, w.school.name + "：计划 " + w.seats + " 个学位，已占用 " + w.taken +
        "，空余 " + w.free + "；仍在候补 " + w.waiting + " 人。"));
      box.appendChild(tableBox);
      C.table(tableBox, [
        { title: "候补序号", class: "num", render: function (r) { return String(r.waitlist_position); } },
        { title: "派位顺序", class: "num", render: function (r) { return String(r.position); } },
        { title: "化名", render: function (r) { return el("span", { class: "mono" }, r.pseudonym); } },
        { title: "儿童", render: function (r) { return r.masked_name; } },
        { title: "优先级", class: "num", render: function (r) { return String(r.tier); } },
        { title: "当前情况", render: function (r) { return el("span", { "data-testid": "waitlist-state-" + r.waitlist_position }, C.tag(r.state_name, WAIT_COLORS[r.state])); } },
        { title: "确认期限（北京时间）", render: function (r) { return C.time(r.respond_by); } },
      ], w.items, { empty: "候补名单为空" });
    }).catch(C.fail);
  }

  /* --- placement (统筹) ---------------------------------------------------------------- */
  function place(u) {
    C.api("GET", "/api/v1/admin/seat-plans?season_id=" + season.id).then(function (plans) {
      var open = plans.items.filter(function (p) { return p.free !== null && p.free > 0 && !p.lottery_pending; });
      if (!open.length) { C.toast("目前没有空余学位的学校（或其派位尚未开奖），请先调整招生计划", "error"); return; }
      C.modal("统筹安置 · " + u.child_name, [
        { node: el("p", { class: "confirm-text" }, "为报名编号 " + u.registration_id + "（原报名" + u.school.name + "）安排学位：将占用所选学校一个学位，" +
          "家长会收到“统筹安排”通知并须在期限内确认；安置理由记入学位记录和操作日志。") },
        { name: "school_id", label: "安置学校（仅列出有空余学位的学校）", type: "select",
          options: open.map(function (p) { return [String(p.school.id), p.school.name + "（空余 " + p.free + "）"]; }) },
        { name: "reason", label: "安置理由（必填）", type: "textarea", maxlength: 500, hint: "例如：户籍所在片区学校学位已满，按就近原则统筹安排" },
        { name: "respond_by", label: "确认期限（可选，北京时间；不填为 3 天后 23:59）", type: "datetime-local" },
      ], function (v) {
        if ((v.reason || "").length < 2) throw new C.FieldError("reason", "请填写安置理由（至少 2 个字）");
        var body = { registration_id: u.registration_id, school_id: parseInt(v.school_id, 10), reason: v.reason };
        if (v.respond_by) body.respond_by = C.localIso(v.respond_by);
        return C.api("POST", "/api/v1/admin/placements", body).then(function () {
          C.toast("已统筹安置，已通知家长确认", "success");
          return reloadAll();
        }).catch(function (error) {
          if (error.code === "SCHOOL_FULL" || error.code === "LOTTERY_PENDING") throw new C.FieldError("school_id", error.message);
          if (error.code === "RESPOND_BY_IN_PAST" || error.code === "RESPOND_BY_TOO_FAR") throw new C.FieldError("respond_by", error.message);
          throw error;
        });
      }, "确认安置", { progress: "正在安置…" });
    }).catch(C.fail);
  }

  function unplaced() {
    var q = { season_id: season.id, page: unplacedPage, page_size: 20 };
    return C.api("GET", "/api/v1/admin/unplaced" + C.query(q)).then(function (data) {
      C.table(document.getElementById("unplaced"), [
        { title: "报名编号", render: function (u) { return String(u.registration_id); } },
        { title: "儿童", render: function (u) { return u.child_name; } },
        { title: "化名", render: function (u) { return el("span", { class: "mono" }, u.pseudonym); } },
        { title: "报名学校", render: function (u) { return u.school.name; } },
        { title: "状态", render: function (u) { return u.in_pending_lottery ? C.tag("在待抽签名单中", "blue") : C.tag("待安置", "orange"); } },
        { title: "操作", render: function (u) {
          return el("button", { class: "btn btn-link", type: "button", disabled: u.in_pending_lottery, "data-testid": "place-" + u.registration_id,
            title: u.in_pending_lottery ? "抽签后再统筹" : null, onclick: function () { place(u); } }, "统筹安置");
        } },
      ], data.items, { empty: "没有待安置的儿童：审核通过的儿童都已获得学位" });
      C.pager(document.getElementById("unplaced-foot"), data.page, data.page_size, data.total, function (n) { unplacedPage = n; unplaced(); });
    }).catch(C.fail);
  }

  document.getElementById("expire").addEventListener("click", function () {
    var button = this;
    C.busy(button, function () {
      return C.api("GET", "/api/v1/admin/offers" + C.query({ season_id: season.id, overdue: "true", page_size: 1 }));
    }).then(function (data) {
      if (!data) return;
      if (!data.total) { C.toast("没有超过确认期限仍未确认的学位"); return; }
      C.confirm("处理逾期未确认", "将把 " + data.total + " 个已超过确认期限（北京时间）仍未确认的学位标记为“逾期未确认”，" +
        "学位依次递补给各校候补并通知家长。逾期的学位不能恢复。确定执行吗？", function () {
        return C.api("POST", "/api/v1/admin/offers/expire-overdue", { season_id: season.id }).then(function (r) {
          C.toast("已处理 " + r.expired + " 个逾期学位", "success");
          return reloadAll();
        });
      }, { label: "确认处理", progress: "正在处理逾期学位并递补候补…" });
    }).catch(C.fail);
  });

  C.season().then(function (s) {
    season = s;
    document.getElementById("season-label").textContent = s.name;
    offers();
    return Promise.all([waitlist(), unplaced()]);
  }).catch(C.noSeason("table"));
})();
