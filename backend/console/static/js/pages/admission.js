/* 录取管理: seat plans, lotteries (freeze → draw → evidence), offers and the waitlist —
 * all through the admission API (on-site check-in and classes have their own scripts). */
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

  /* --- 随机派位 --------------------------------------------------------------------- */
  function lotteryPage(season) {
    function load() {
      return C.api("GET", "/api/v1/admin/lotteries?season_id=" + season.id).then(function (data) {
        C.table(document.getElementById("table"), [
          { title: "编号", render: function (l) { return String(l.id); } },
          { title: "学校", render: function (l) { return l.school.name; } },
          { title: "类型", render: function (l) { return l.practice ? C.tag(l.practice_label || "演练", "orange") : C.tag("正式", "blue"); } },
          { title: "状态", render: function (l) { return C.statusTag(l.status === "drawn" || l.status === "settled" ? "approved" : l.status === "cancelled" ? "withdrawn" : "submitted", l.status_name); } },
          { title: "学位 / 报名", class: "num", render: function (l) { return l.seats + " / " + l.applicant_count; } },
          { title: "录取 / 候补", class: "num", render: function (l) { return l.admitted_count + " / " + l.waitlist_count; } },
          { title: "冻结时间", render: function (l) { return C.time(l.frozen_at); } },
          { title: "抽签时间", render: function (l) { return C.time(l.drawn_at); } },
        ], data.items, { onRow: function (l) { show(l.id); }, empty: "尚未冻结任何派位名单" });
      });
    }
    function show(id) {
      C.api("GET", "/api/v1/admin/lotteries/" + id).then(function (l) {
        var body = el("div", null,
          el("h4", { class: "section-title" }, "派位信息"),
          C.desc([["学校", l.school.name], ["状态", l.status_name], ["学位", String(l.seats)], ["报名人数", String(l.applicant_count)],
            ["算法版本", l.algorithm_version], ["确认期限", C.time(l.respond_by)]]),
          el("h4", { class: "section-title" }, "承诺与随机源"),
          C.desc([["名单承诺值", el("span", { class: "mono" }, l.commitment)], ["公开随机源", l.public_value_source],
            ["公开随机数", l.public_value ? el("span", { class: "mono" }, l.public_value) : "待抽签"], ["种子", l.seed ? el("span", { class: "mono" }, l.seed) : "—"]]),
          el("p", null, el("a", { href: "/api/v1/admin/lotteries/" + l.id + "/evidence.json", target: "_blank", rel: "noopener" }, "下载派位证据（JSON）")),
          l.result.length ? el("div", null, el("h4", { class: "section-title" }, "派位结果"), (function () {
            var box = el("div");
            C.table(box, [
              { title: "序号", render: function (r) { return r.position === null ? "—" : String(r.position); } },
              { title: "儿童", render: function (r) { return r.masked_name; } },
              { title: "化名", render: function (r) { return el("span", { class: "mono" }, r.pseudonym); } },
              { title: "优先级", render: function (r) { return String(r.tier); } },
              { title: "派位号", render: function (r) { return r.lottery_number ? el("span", { class: "mono" }, r.lottery_number.slice(0, 16) + "…") : "—"; } },
              { title: "结果", render: function (r) { return r.outcome === "admitted" ? C.tag("录取", "green") : r.outcome === "waitlisted" ? C.tag("候补", "orange") : "—"; } },
            ], l.result);
            return box;
          })()) : null);
        var foot = [];
        if (l.status === "frozen") {
          foot.push(el("button", { class: "btn btn-primary", type: "button", onclick: function () {
            C.modal("抽签", [{ node: el("p", null, "请填写约定的公开随机数（" + l.public_value_source + "）。") },
              { name: "public_value", label: "公开随机数", required: true, maxlength: 200 }], function (v) {
              return C.api("POST", "/api/v1/admin/lotteries/" + l.id + "/draw", { public_value: v.public_value }).then(function () { C.toast("抽签完成", "success"); load(); show(l.id); });
            }, "抽签");
          } }, "抽签"));
          foot.push(el("button", { class: "btn btn-danger", type: "button", onclick: function () {
            C.modal("取消派位", [{ name: "reason", label: "取消原因", type: "textarea", required: true, maxlength: 500 }], function (v) {
              return C.api("POST", "/api/v1/admin/lotteries/" + l.id + "/cancel", { reason: v.reason }).then(function () { C.toast("已取消"); load(); C.drawer.close(); });
            });
          } }, "取消"));
        }
        C.drawer.open("随机派位 · " + l.school.name, body, foot);
      }).catch(C.fail);
    }
    document.getElementById("freeze").addEventListener("click", function () {
      seatPlans(season).then(function (plans) {
        C.modal("冻结名单并提交承诺", [
          { name: "school_id", label: "学校", type: "select", options: plans.items.map(function (p) { return [String(p.school.id), p.school.name]; }) },
          { name: "public_value_source", label: "公开随机源（抽签时使用的公开数值，须事先公布）", required: true, maxlength: 200, placeholder: "例如：某日上海证券交易所综合指数收盘价" },
          { name: "practice", label: "类型", type: "select", options: [["false", "正式派位"], ["true", "演练（不公布、不通知）"]] },
          { name: "respond_by", label: "录取确认期限（可选）", type: "datetime-local" },
        ], function (v) {
          var body = { season_id: season.id, school_id: parseInt(v.school_id, 10), public_value_source: v.public_value_source, practice: v.practice === "true" };
          if (v.respond_by) body.respond_by = C.localIso(v.respond_by);
          return C.api("POST", "/api/v1/admin/lotteries", body).then(function (l) { C.toast("名单已冻结，承诺值已生成", "success"); load(); show(l.id); });
        }, "冻结");
      }).catch(C.fail);
    });
    return load();
  }

  /* --- 录取与候补 ------------------------------------------------------------------- */
  function offersPage(season) {
    var form = document.getElementById("filters");
    var ids = {};
    function load() {
      var v = C.formValues(form);
      var q = { season_id: season.id, status: v.status, school_id: v.school_code ? ids[v.school_code] : "" };
      return C.api("GET", "/api/v1/admin/offers" + C.query(q)).then(function (data) {
        C.table(document.getElementById("table"), [
          { title: "报名编号", render: function (o) { return String(o.registration_id); } },
          { title: "儿童", render: function (o) { return o.child_name; } },
          { title: "学校", render: function (o) { return o.school.name; } },
          { title: "来源", render: function (o) { return { lottery: "随机派位", waitlist: "候补递补", bureau_placement: "教育局统筹" }[o.source]; } },
          { title: "状态", render: function (o) { return C.statusTag(o.status === "confirmed" ? "approved" : o.status === "offered" ? "submitted" : "withdrawn", o.status_name); } },
          { title: "确认期限", render: function (o) { return C.time(o.respond_by); } },
          { title: "操作", render: function (o) { return o.actions.indexOf("withdraw") >= 0 ? el("button", { class: "btn btn-link", type: "button", onclick: function () {
            C.modal("撤销学位", [{ name: "reason", label: "撤销原因", type: "textarea", required: true, maxlength: 500 }], function (x) {
              return C.api("POST", "/api/v1/admin/offers/" + o.id + "/withdraw", { reason: x.reason }).then(function () { C.toast("已撤销"); load(); });
            });
          } }, "撤销") : "—"; } },
        ], data.items, { empty: "暂无学位记录" });
      });
    }
    function unplaced() {
      return C.api("GET", "/api/v1/admin/unplaced?season_id=" + season.id).then(function (data) {
        C.table(document.getElementById("unplaced"), [
          { title: "报名编号", render: function (u) { return String(u.registration_id); } },
          { title: "儿童", render: function (u) { return u.child_name; } },
          { title: "报名学校", render: function (u) { return u.school.name; } },
          { title: "状态", render: function (u) { return u.in_pending_lottery ? C.tag("待派位", "blue") : C.tag("待安置", "orange"); } },
        ], data.items, { empty: "没有待安置的儿童" });
      });
    }
    form.addEventListener("submit", function (e) { e.preventDefault(); load().catch(C.fail); });
    document.getElementById("expire").addEventListener("click", function () {
      C.confirm("处理逾期未确认", "将超过确认期限仍未确认的学位标记为逾期，并依次递补候补。确定执行吗？", function () {
        return C.api("POST", "/api/v1/admin/offers/expire-overdue", { season_id: season.id }).then(function (r) { C.toast("已处理 " + r.expired + " 个逾期学位", "success"); load(); });
      });
    });
    return seatPlans(season).then(function (plans) {
      plans.items.forEach(function (p) { ids[p.school.code] = p.school.id; });
      return Promise.all([load(), unplaced()]);
    });
  }

  var pages = { "seat-plans": seatPlanPage, lotteries: lotteryPage, offers: offersPage };
  C.season().then(function (season) {
    label(season);
    return pages[page](season);
  }).catch(C.fail);
})();
