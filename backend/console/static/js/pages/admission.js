/* 招生计划 (bureau): each school's seat plan beside its registrations, and its priority tiers,
 * for a season chosen on the page (next year's draft can be planned ahead). Through the
 * admission, seasons and stats APIs. The lottery, offers, admitted-list, on-site and classes
 * pages have their own scripts. */
(function () {
  "use strict";
  var el = C.el;
  var page = document.currentScript.dataset.page;
  var optionsNode = document.getElementById("page-options");
  var options = optionsNode ? JSON.parse(optionsNode.textContent) : {};
  var CONDITIONS = [["hukou_in_zone", "户籍在片区内"], ["residence_in_zone", "实际居住地在片区内"],
    ["residence_permit", "持有居住证（随迁子女）"], ["out_of_zone", "片区外报名（民办学校）"]];
  var LEVELS = { red: ["报名已满额", "red"], yellow: ["接近计划", "orange"], green: ["未满", "green"] };

  function num(value) { return value === null || value === undefined ? "—" : String(value); }

  /* --- 招生计划 --------------------------------------------------------------------- */
  function seatPlanPage() {
    var select = document.getElementById("season-select");
    var state = { season: null, seasons: [], cap: null };

    function choose(id) {
      state.season = state.seasons.filter(function (s) { return s.id === id; })[0] || state.seasons[0];
      select.value = String(state.season.id);
      history.replaceState(null, "", location.pathname + "?season=" + state.season.id);
      return load();
    }

    function load() {
      var s = state.season;
      var alertBox = C.clear(document.getElementById("season-alert"));
      if (s.status === "draft") alertBox.appendChild(el("div", { class: "alert", style: "margin-bottom:12px", "data-testid": "draft-note" },
        "草稿招生季：家长和公众看不到。可以提前设置各校的招生计划和优先顺序，在“招生日程”中发布后生效。"));
      if (s.status === "archived") alertBox.appendChild(el("div", { class: "alert warning", style: "margin-bottom:12px" }, "已归档的招生季，仅供查阅。"));
      return Promise.all([
        C.api("GET", "/api/v1/admin/seat-plans?season_id=" + s.id),
        C.api("GET", "/api/v1/admin/stats" + C.query({ by: "school", season: s.id })).catch(function () { return null; }),
      ]).then(function (answers) {
        var plans = answers[0].items, stats = answers[1];
        var counts = {};
        (stats ? stats.items : []).forEach(function (item) { counts[item.key] = item; });
        if (plans.length) {
          state.cap = plans[0].class_size_cap;
          document.getElementById("cap-hint").textContent = "班额上限 " + state.cap + " 人（系统配置），超过将被拒绝；计划不能少于已录取的学位";
        }
        C.table(document.getElementById("table"), [
          { title: "学校", render: function (p) { return el("span", null, el("strong", null, p.school.name), " ", el("span", { class: "muted" }, p.school.code)); } },
          { title: "班数", class: "num", render: function (p) { return p.classes === null ? el("span", { class: "muted" }, "未设置") : String(p.classes); } },
          { title: "班额", class: "num", render: function (p) { return num(p.class_size); } },
          { title: "计划学位", class: "num", render: function (p) { return el("span", { "data-testid": "seats-" + p.school.code }, num(p.seats)); } },
          { title: "有效报名", class: "num", render: function (p) {
            var c = counts[p.school.code];
            return el("span", { "data-testid": "registrations-" + p.school.code, title: c ? "全部 " + c.registrations + " 条（含已驳回、已撤回）" : null }, c ? String(c.active) : "0");
          } },
          { title: "报名对比计划", render: function (p) {
            var c = counts[p.school.code];
            var level = c && c.shortage_level ? LEVELS[c.shortage_level] : null;
            return level ? C.tag(level[0], level[1]) : el("span", { class: "muted" }, p.seats === null ? "未设计划" : "暂无报名");
          } },
          { title: "已录取", class: "num", render: function (p) { return el("span", { "data-testid": "taken-" + p.school.code }, String(p.taken)); } },
          { title: "剩余学位", class: "num", render: function (p) { return el("span", { "data-testid": "free-" + p.school.code }, num(p.free)); } },
          { title: "操作", render: function (p) {
            // An archived season is history: its plan and tiers are shown, not changed (the API answers 409 SEASON_ARCHIVED).
            if (state.season.status === "archived") return el("span", { class: "muted" }, "仅供查阅");
            return el("span", null,
              el("button", { type: "button", class: "btn btn-link", "data-testid": "plan-" + p.school.code, onclick: function () { planModal(p); } }, "设置计划"),
              el("button", { type: "button", class: "btn btn-link", "data-testid": "tiers-" + p.school.code, onclick: function () { tierEditor(p); } }, "优先顺序"));
          } },
        ], plans, { empty: "本县尚无学校：请先在“学校与片区导入”中导入学校。" });
        document.getElementById("counts-note").textContent = stats
          ? "有效报名不含已驳回、已撤回的报名；统计时间 " + C.time(stats.as_of, true) + "（北京时间）。“报名已满额”：有效报名达到计划学位，需派位或统筹。"
          : "报名统计暂时无法读取。";
      }).catch(C.fail);
    }

    function planModal(p) {
      var cap = p.class_size_cap;
      C.modal("设置招生计划 · " + p.school.name, [
        { name: "classes", label: "班数", type: "number", min: 1, max: 40, value: p.classes === null ? "" : p.classes, required: true },
        { name: "class_size", label: "班额（每班人数，不超过 " + cap + " 人）", type: "number", min: 1, max: cap, value: p.class_size === null ? cap : p.class_size, required: true,
          hint: "计划学位 = 班数 × 班额；已录取 " + p.taken + " 人，计划不能少于此数" },
      ], function (v) {
        var classes = parseInt(v.classes, 10), size = parseInt(v.class_size, 10);
        if (!(classes >= 1)) throw new C.FieldError("classes", "请填写班数（至少 1 个班）");
        if (!(size >= 1)) throw new C.FieldError("class_size", "请填写班额");
        if (size > cap) throw new C.FieldError("class_size", "班额不能超过" + cap + "人");
        return C.api("PUT", "/api/v1/admin/seat-plans/" + state.season.id + "/" + p.school.id, { classes: classes, class_size: size })
          .then(function () { C.toast("招生计划已保存", "success"); load(); })
          .catch(function (error) {
            if (error.code === "CLASS_SIZE_OVER_CAP") throw new C.FieldError("class_size", error.message);
            if (error.code === "PLAN_BELOW_TAKEN") throw new C.FieldError("classes", error.message);
            throw error;
          });
      }, "保存");
    }

    /* The ordered tiers of one school: rank 1 is served first, the last matches everyone. */
    function tierEditor(p) {
      C.api("GET", "/api/v1/admin/priority-tiers/" + state.season.id + "/" + p.school.id).then(function (data) {
        var tiers = data.tiers.map(function (t) { return { key: t.key, label: t.label, rule: JSON.parse(JSON.stringify(t.rule)) }; });
        var form = el("form", { novalidate: true, autocomplete: "off", "data-testid": "tier-form" });
        var problem = el("div", { class: "alert error", role: "alert", hidden: true, style: "margin-bottom:12px", "data-testid": "tier-error" });
        var list = el("div");
        form.appendChild(problem);
        form.appendChild(list);
        form.appendChild(el("button", { type: "button", class: "btn", "data-testid": "add-tier", onclick: function () {
          read();
          var keys = tiers.map(function (t) { return t.key; });
          var n = tiers.length;
          while (keys.indexOf("tier_" + n) >= 0) n++;
          tiers.splice(tiers.length - 1, 0, { key: "tier_" + n, label: "", rule: {} });
          draw();
          form.elements["tiers." + (tiers.length - 2) + ".label"].focus();
        } }, "＋ 添加一档"));

        function read() {
          tiers.forEach(function (t, n) {
            t.label = form.elements["tiers." + n + ".label"].value.trim();
            if (n === tiers.length - 1) { t.rule = {}; return; }
            var rule = {};
            CONDITIONS.forEach(function (c) {
              var value = form.elements["tiers." + n + ".rule." + c[0]].value;
              if (value) rule[c[0]] = value === "true";
            });
            var picked = Array.prototype.filter.call(form.querySelectorAll('input[data-tier="' + n + '"]'), function (box) { return box.checked; })
              .map(function (box) { return box.value; });
            if (picked.length) rule.categories_any = picked;
            t.rule = rule;
          });
        }

        function move(n, by) { read(); var t = tiers.splice(n, 1)[0]; tiers.splice(n + by, 0, t); draw(); }

        function draw() {
          C.clear(list);
          tiers.forEach(function (t, n) {
            var last = n === tiers.length - 1;
            var head = el("div", { class: "tier-head" }, el("span", { class: "rank" }, "第 " + (n + 1) + " 档"),
              el("label", { class: "field" }, el("input", { name: "tiers." + n + ".label", value: t.label, maxlength: 100, "aria-label": "第 " + (n + 1) + " 档名称", "data-testid": "tier-label-" + n, placeholder: "例如：户籍和实际居住地均在片区内" })),
              last ? null : el("button", { type: "button", class: "btn btn-sm", disabled: n === 0, onclick: function () { move(n, -1); } }, "上移"),
              last ? null : el("button", { type: "button", class: "btn btn-sm", disabled: n >= tiers.length - 2, onclick: function () { move(n, 1); } }, "下移"),
              last ? null : el("button", { type: "button", class: "btn btn-sm btn-danger", onclick: function () { read(); tiers.splice(n, 1); draw(); } }, "删除"));
            var row = el("div", { class: "tier-row" + (last ? " fallback" : ""), "data-testid": "tier-" + n }, head);
            if (last) {
              row.appendChild(el("div", { class: "muted" }, "兜底档：不设条件，其余所有报名者都在这一档（每所学校必须有）。"));
            } else {
              row.appendChild(el("div", { class: "conditions" }, CONDITIONS.map(function (c) {
                var input = el("select", { name: "tiers." + n + ".rule." + c[0], "data-testid": "tier-" + n + "-" + c[0] },
                  el("option", { value: "" }, "不限"), el("option", { value: "true" }, "是"), el("option", { value: "false" }, "否"));
                input.value = t.rule[c[0]] === undefined ? "" : String(t.rule[c[0]]);
                return el("label", { class: "field" }, el("span", null, c[1]), input);
              })));
              var chosen = t.rule.categories_any || [];
              row.appendChild(el("div", { class: "categories" }, el("span", { class: "muted" }, "属于以下任一群体："),
                Object.keys(options.categories || {}).map(function (key) {
                  return el("label", null, el("input", { type: "checkbox", value: key, "data-tier": String(n), checked: chosen.indexOf(key) >= 0 }), options.categories[key]);
                })));
            }
            list.appendChild(row);
          });
        }
        draw();

        var save = el("button", { type: "button", class: "btn btn-primary", "data-testid": "save-tiers" }, "保存优先顺序");
        save.addEventListener("click", function () {
          read();
          problem.hidden = true;
          var missing = tiers.map(function (t, n) { return t.label ? null : { field: "tiers." + n + ".label", message: "请填写这一档的名称" }; }).filter(Boolean);
          if (missing.length) { C.showFieldErrors(form, { details: { fields: missing } }); return; }
          C.busy(save, function () {
            return C.api("PUT", "/api/v1/admin/priority-tiers/" + state.season.id + "/" + p.school.id, { tiers: tiers })
              .then(function () { C.toast("优先顺序已保存", "success"); C.drawer.close(); })
              .catch(function (error) {
                if (C.showFieldErrors(form, error)) return;
                problem.textContent = error.message || "保存失败";
                problem.hidden = false;
              });
          }, "保存中…");
        });
        C.drawer.open("优先顺序 · " + p.school.name, [
          el("div", { class: "alert", style: "margin-bottom:12px", "data-testid": "tier-intro" },
            (data.configured ? "本校已单独设置优先顺序。" : "本校尚未单独设置，下面是系统默认顺序；保存后按此执行。") +
            "报名人数超过学位时，按档次从上到下依次录取，同一档内随机派位。每一档的条件须同时满足；冻结派位名单后不能再修改。"),
          form,
        ], [el("button", { type: "button", class: "btn", onclick: C.drawer.close }, "取消"), save]);
      }).catch(C.fail);
    }

    select.addEventListener("change", function () { choose(parseInt(select.value, 10)); });
    Promise.all([C.api("GET", "/api/v1/admin/seasons"), C.season().catch(function () { return null; })]).then(function (answers) {
      state.seasons = answers[0].items;
      if (!state.seasons.length) {
        C.table(document.getElementById("table"), [{ title: "学校" }], [], { empty: "还没有招生季：请先在“招生日程”中创建招生季。" });
        return null;
      }
      state.seasons.forEach(function (s) {
        select.appendChild(el("option", { value: String(s.id) }, s.name + "（" + s.status_name + "）"));
      });
      var wanted = parseInt(new URLSearchParams(location.search).get("season") || "0", 10) || (answers[1] && answers[1].id);
      return choose(wanted);
    }).catch(C.fail);
  }

  var pages = { "seat-plans": seatPlanPage };
  pages[page]();
})();
