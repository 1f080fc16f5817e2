/* 随机派位: one school at a time, as guided steps — freeze the list (the SHA-256 commitment
 * and the named public value are published at once), enter the public value when it is
 * known, draw, look at the result, and the public record. Practice runs are marked at every
 * step and can never be made public (the API never serves them publicly).
 * Reads GET /admin/lottery-schools, GET /admin/lotteries(?school_id=), GET /admin/lotteries/{id};
 * writes POST /admin/lotteries, POST /admin/lotteries/{id}/draw|cancel. */
(function () {
  "use strict";
  var el = C.el;
  var STEPS = ["冻结名单", "录入公开随机数", "抽签", "查看结果", "公示"];
  var OUTCOME = { admitted: ["拟录取", "green"], waitlisted: ["候补", "orange"] };
  var params = new URLSearchParams(location.search);
  var state = { season: null, schools: [], school: params.get("school") || "", mode: params.get("mode") === "practice" ? "practice" : "real",
    lotteryId: null, resultPage: 1 };

  function keepUrl() {
    var q = {};
    if (state.school) q.school = state.school;
    if (state.mode === "practice") q.mode = "practice";
    history.replaceState(null, "", location.pathname + C.query(q));
  }

  function row() { return state.schools.filter(function (s) { return s.school.code === state.school; })[0] || null; }

  function lotteryTag(l) {
    if (!l) return C.tag("未冻结", "gray");
    var color = l.status === "frozen" ? "blue" : l.status === "cancelled" ? "gray" : "green";
    return C.tag(l.status_name, l.practice ? "orange" : color);
  }

  /* --- the schools ---------------------------------------------------------------- */
  function loadSchools() {
    return C.api("GET", "/api/v1/admin/lottery-schools?season_id=" + state.season.id).then(function (data) {
      state.schools = data.items;
      state.registrationClosed = data.registration_closed;
      var alertBox = C.clear(document.getElementById("schools-alert"));
      if (!data.registration_closed) {
        alertBox.appendChild(el("div", { class: "alert warning", style: "margin-bottom:12px" },
          "报名尚未结束：正式派位须在报名截止、审核完毕后进行；现在只能演练。"));
      }
      C.table(document.getElementById("schools"), [
        { title: "学校", render: function (s) { return el("span", null, el("strong", null, s.school.name), " ", el("span", { class: "muted" }, s.school.code)); } },
        { title: "剩余 / 计划学位", class: "num", render: function (s) { return s.seats === null ? "未设置计划" : s.free + " / " + s.seats; } },
        { title: "待派位名单", class: "num", render: function (s) { return el("span", { "data-testid": "applicants-" + s.school.code }, String(s.applicants)); } },
        { title: "审核中", class: "num", render: function (s) { return s.pending_review ? C.tag(String(s.pending_review), "orange") : "0"; } },
        { title: "需要抽签", render: function (s) { return s.oversubscribed ? C.tag("超计划，需抽签", "red") : C.tag("未超计划", "green"); } },
        { title: "正式派位", render: function (s) { return el("span", { "data-testid": "lottery-status-" + s.school.code }, lotteryTag(s.lottery)); } },
        { title: "演练", class: "num", render: function (s) { return String(s.practice_runs); } },
        { title: "操作", render: function (s) { return el("button", { type: "button", class: "btn btn-link", "data-testid": "open-" + s.school.code,
          onclick: function () { select(s.school.code); } }, s.school.code === state.school ? "当前" : "进入"); } },
      ], data.items, { onRow: function (s) { select(s.school.code); }, empty: "本季暂无学校，请先在“学校与片区导入”中导入学校" });
      Array.prototype.forEach.call(document.querySelectorAll("#schools tbody tr"), function (tr, i) {
        if (data.items[i] && data.items[i].school.code === state.school) tr.classList.add("selected");
      });
    });
  }

  function select(code) {
    state.school = code;
    state.lotteryId = null;
    state.resultPage = 1;
    keepUrl();
    return refresh();
  }

  function setMode(mode) {
    state.mode = mode;
    state.lotteryId = null;
    state.resultPage = 1;
    keepUrl();
    render();
  }

  function refresh() {
    return loadSchools().then(function () { return render(); });
  }

  /* --- the runs of the school ----------------------------------------------------- */
  function loadRuns(s) {
    return C.api("GET", "/api/v1/admin/lotteries" + C.query({ season_id: state.season.id, school_id: s.school.id })).then(function (data) {
      C.table(document.getElementById("runs"), [
        { title: "编号", render: function (l) { return String(l.id); } },
        { title: "类型", render: function (l) { return l.practice ? C.tag(l.practice_label, "orange") : C.tag("正式", "blue"); } },
        { title: "状态", render: function (l) { return lotteryTag(l); } },
        { title: "学位 / 名单", class: "num", render: function (l) { return l.seats + " / " + l.applicant_count; } },
        { title: "拟录取 / 候补", class: "num", render: function (l) { return l.admitted_count + " / " + l.waitlist_count; } },
        { title: "冻结时间", render: function (l) { return C.time(l.frozen_at); } },
        { title: "抽签时间", render: function (l) { return C.time(l.drawn_at); } },
        { title: "说明", render: function (l) { return l.cancel_reason ? "作废：" + l.cancel_reason : ""; } },
      ], data.items, { empty: "本校尚无派位记录", onRow: function (l) {
        state.mode = l.practice ? "practice" : "real";
        state.lotteryId = l.id;
        state.resultPage = 1;
        keepUrl();
        render();
      } });
      return data.items;
    });
  }

  /* The lottery the steps work on: the chosen run, else the school's real lottery (or the
   * latest practice run that is not cancelled). */
  function current(s, runs) {
    if (state.lotteryId) {
      var chosen = runs.filter(function (l) { return l.id === state.lotteryId; })[0];
      if (chosen && chosen.practice === (state.mode === "practice")) return chosen;
    }
    if (state.mode === "real") return s.lottery;
    var practice = runs.filter(function (l) { return l.practice && l.status !== "cancelled"; });
    return practice.length ? practice[practice.length - 1] : null;
  }

  var rendering = 0;  // the latest render(): an older one's late answer is dropped

  function render() {
    var s = row();
    var card = document.getElementById("steps-card");
    var runsCard = document.getElementById("runs-card");
    if (!s) { card.hidden = true; runsCard.hidden = true; return Promise.resolve(); }
    card.hidden = false;
    runsCard.hidden = false;
    var practice = state.mode === "practice";
    document.getElementById("steps-title").textContent = (practice ? "演练步骤 · " : "派位步骤 · ") + s.school.name;
    document.getElementById("practice-banner").hidden = !practice;
    document.getElementById("mode-real").setAttribute("aria-selected", String(!practice));
    document.getElementById("mode-practice").setAttribute("aria-selected", String(practice));
    card.classList.toggle("practice", practice);
    // Until this mode's step is loaded there is nothing to act on: a form of the other mode
    // (e.g. the real freeze) must never stand under the practice banner, or the reverse.
    var token = ++rendering;
    C.clear(document.getElementById("step-body")).appendChild(el("p", { class: "muted", "data-testid": "step-loading" }, "正在加载…"));
    return loadRuns(s).then(function (runs) {
      if (token !== rendering) return null;
      var l = current(s, runs);
      if (!l || l.status === "cancelled") { steps(null, practice); freezeStep(s, practice, l); return null; }
      return C.api("GET", "/api/v1/admin/lotteries/" + l.id).then(function (detail) {
        if (token !== rendering) return;
        steps(detail, practice);
        if (detail.status === "frozen") frozenStep(s, detail);
        else resultStep(s, detail);
      });
    }).catch(C.fail);
  }

  function steps(l, practice) {
    var status = l ? l.status : "none";
    var marks;
    if (status === "none") marks = ["now", "", "", "", practice ? "locked" : ""];
    else if (status === "frozen") marks = ["done", "now", "", "", practice ? "locked" : ""];
    else if (status === "settled") marks = ["done", "skipped", "skipped", "done", practice ? "locked" : "done"];
    else marks = ["done", "done", "done", "done", practice ? "locked" : "done"];
    var box = C.clear(document.getElementById("steps"));
    STEPS.forEach(function (title, i) {
      var note = marks[i] === "skipped" ? "未超计划，无需抽签" : marks[i] === "locked" ? "演练不能公示" : marks[i] === "done" ? "已完成" : marks[i] === "now" ? "当前步骤" : "";
      box.appendChild(el("div", { class: "step " + (marks[i] === "skipped" ? "done" : marks[i]), "data-testid": "step-" + (i + 1), "data-state": marks[i] || "todo" },
        el("span", { class: "dot" }, marks[i] === "done" || marks[i] === "skipped" ? "✓" : marks[i] === "locked" ? "—" : String(i + 1)),
        el("div", { class: "step-title" }, title), el("div", { class: "step-time" }, note)));
    });
  }

  function evidenceButton(l) {
    return el("button", { type: "button", class: "btn", "data-testid": "evidence", onclick: function () {
      C.download("/api/v1/admin/lotteries/" + l.id + "/evidence.json");
      C.toast("证据文件开始下载", "success");
    } }, l.practice ? "下载演练证据文件（JSON）" : "下载证据文件（JSON）");
  }

  function verifyNote(l) {
    return el("p", { class: "verify-note" }, "复核方法：证据文件可用本平台公开的脚本 ",
      el("code", null, "scripts/verify_lottery"), " 独立复核（只需 Python 3，无需安装任何软件包）：",
      el("br"), el("code", null, "python3 scripts/verify_lottery evidence.json --commitment " + l.commitment),
      el("br"), "脚本重算承诺值、种子、每个派位号、顺序和录取/候补，任一处不符即报告“验证失败”。");
  }

  /* --- step 1: freeze ------------------------------------------------------------- */
  function freezeStep(s, practice, cancelled) {
    var body = C.clear(document.getElementById("step-body"));
    var blocked = !practice && (!state.registrationClosed || s.pending_review > 0 || s.seats === null);
    var notes = [];
    if (cancelled) notes.push(el("div", { class: "alert", style: "margin-bottom:8px" }, "上一次" + (practice ? "演练" : "派位") + "（编号 " + cancelled.id + "）已作废：" + (cancelled.cancel_reason || "") + "。可重新冻结名单。"));
    if (s.seats === null) notes.push(el("div", { class: "alert error" }, "本校尚未设置招生计划，请先在“招生计划”中设置班数和班额。"));
    if (!practice && !state.registrationClosed) notes.push(el("div", { class: "alert warning" }, "报名尚未结束，不能冻结正式名单（可先演练）。"));
    if (!practice && s.pending_review > 0) notes.push(el("div", { class: "alert warning", "data-testid": "pending-review" }, "本校仍有 " + s.pending_review + " 份报名未审核完毕，审核完毕后才能冻结正式名单。"));
    if (!s.oversubscribed && s.seats !== null) notes.push(el("div", { class: "alert success" }, "报名人数（" + s.applicants + "）未超过剩余学位（" + s.free + "）：冻结后全部录取，无需抽签。"));
    var form = el("form", { class: "step-form", novalidate: true, autocomplete: "off" },
      el("div", { class: "form-row" },
        el("label", { class: "field" }, el("span", null, "公开随机数来源" + (s.oversubscribed ? "（必填）" : "（未超计划可不填）")),
          el("input", { name: "public_value_source", maxlength: 200, "data-testid": "public-value-source-input",
            placeholder: "例如：中国福利彩票双色球 2025年8月12日 第2025092期开奖号码" }),
          el("small", { class: "field-hint" }, "须是冻结之后才公布、任何人都能查到的数值，如某一期彩票的开奖号码；冻结时一并公布，之后不能更改。")),
        el("label", { class: "field narrow" }, el("span", null, "确认期限（可选，北京时间）"),
          el("input", { name: "respond_by", type: "datetime-local" }),
          el("small", { class: "field-hint" }, "不填：抽签后第 3 天 23:59"))));
    var button = el("button", { type: "submit", class: "btn btn-primary", "data-testid": "freeze", disabled: blocked },
      practice ? "冻结演练名单" : "冻结名单并公布承诺值");
    form.appendChild(el("div", { class: "form-row" }, button));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var v = C.formValues(form);
      C.clearFieldErrors(form);
      if (s.oversubscribed && !v.public_value_source) {
        C.showFieldErrors(form, new C.FieldError("public_value_source", "报名人数超过学位，须先指定公开随机数来源"));
        return;
      }
      var text = practice
        ? "将冻结一份演练名单（" + s.applicants + " 名儿童、" + s.free + " 个学位）。演练名单不公布、不发通知、不产生录取，可随时重做。"
        : "冻结后名单不可更改：将把本校 " + s.applicants + " 名审核通过、尚无学位的儿童和 " + s.free + " 个学位写入承诺文件，" +
          "并立即公布其 SHA-256 承诺值" + (v.public_value_source ? "和公开随机数来源「" + v.public_value_source + "」" : "") + "。\n" +
          "冻结后不能增删名单、不能修改优先级规则和学位数；如名单有误，只能作废本次派位后重新冻结（作废记录公开保留）。" +
          (s.oversubscribed ? "" : "\n本校未超计划：冻结即全部录取并向家长发送录取通知。");
      C.confirm(practice ? "冻结演练名单" : "冻结名单", text, function () {
        var payload = { season_id: state.season.id, school_id: s.school.id, practice: practice, public_value_source: v.public_value_source || "" };
        if (v.respond_by) payload.respond_by = C.localIso(v.respond_by);
        return C.api("POST", "/api/v1/admin/lotteries", payload).then(function (l) {
          state.lotteryId = l.id;
          C.toast(practice ? "演练名单已冻结" : "名单已冻结，承诺值已公布", "success");
          return refresh();
        }).catch(function (error) {
          if (error.code === "PUBLIC_VALUE_SOURCE_REQUIRED") error = new C.FieldError("public_value_source", error.message);
          if (error.code === "RESPOND_BY_IN_PAST" || error.code === "RESPOND_BY_TOO_FAR") error = new C.FieldError("respond_by", error.message);
          if (C.showFieldErrors(form, error)) return null;
          throw error;
        });
      }, { label: practice ? "冻结演练名单" : "确认冻结", progress: "正在冻结名单并计算承诺值…" });
    });
    body.appendChild(el("div", { class: "step-panel" + (practice ? " practice" : "") },
      el("h4", null, "第 1 步 · 冻结" + (practice ? "演练" : "") + "名单"),
      C.desc([["学校", s.school.name], ["剩余学位", s.seats === null ? "未设置" : String(s.free)],
        ["待派位名单", s.applicants + " 人（审核通过、尚无学位）"], ["审核中", String(s.pending_review)]]),
      el("div", { style: "margin-top:12px;display:flex;flex-direction:column;gap:8px" }, notes), form));
  }

  /* --- steps 2 and 3: the public value, the draw ---------------------------------- */
  function committedPanel(l) {
    return el("div", { class: "step-panel" + (l.practice ? " practice" : "") },
      el("h4", null, "第 1 步 · 名单已冻结" + (l.practice ? "（演练）" : "，承诺值已公布")),
      C.desc([["名单承诺值（SHA-256）", el("span", { class: "mono", "data-testid": "commitment" }, l.commitment)],
        ["公开随机数来源", el("span", { "data-testid": "public-value-source" }, l.public_value_source || "（未超计划，无需）")],
        ["冻结时间（北京时间）", C.time(l.frozen_at, true)], ["学位 / 名单人数", l.seats + " / " + l.applicant_count],
        ["算法", l.algorithm_version], ["状态", el("span", { "data-testid": "lottery-status" }, l.status_name)]]),
      el("div", { class: "form-row" }, evidenceButton(l)), verifyNote(l));
  }

  function frozenStep(s, l) {
    var body = C.clear(document.getElementById("step-body"));
    body.appendChild(committedPanel(l));
    var form = el("form", { class: "step-form", novalidate: true, autocomplete: "off" });
    var input = el("input", { name: "public_value", maxlength: 200, "data-testid": "public-value", placeholder: "例如：03 07 12 19 25 31 + 09" });
    form.appendChild(el("div", { class: "form-row" },
      el("label", { class: "field" }, el("span", null, "公开随机数（" + l.public_value_source + "）"), input,
        el("small", { class: "field-hint" }, "在该数值公布后，照公布的原样逐字录入；多个空格按一个计。"))));
    var draw = el("button", { type: "submit", class: "btn btn-primary", "data-testid": "draw" }, l.practice ? "演练抽签" : "抽签");
    var cancel = el("button", { type: "button", class: "btn btn-danger", "data-testid": "cancel-lottery" }, l.practice ? "作废演练" : "作废本次派位");
    form.appendChild(el("div", { class: "form-row" }, draw, cancel));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var value = input.value.trim();
      C.clearFieldErrors(form);
      if (!value) { C.showFieldErrors(form, new C.FieldError("public_value", "请录入公开随机数")); return; }
      var waitlist = Math.max(0, l.applicant_count - l.seats);
      var text = l.practice
        ? "演练抽签：以「" + value + "」计算演练结果。演练结果不公示、不通知、不录取。"
        : "将以公开随机数「" + value + "」为" + s.school.name + "抽签：\n" +
          "· 种子 = SHA-256(承诺值 ‖ 公开随机数)，每名儿童的派位号由种子和化名算出，按优先级、再按派位号排序；\n" +
          "· 前 " + l.seats + " 名拟录取并通知家长（确认期限见结果），其余 " + waitlist + " 名按顺序候补；\n" +
          "· 抽签结果立即公示，不可撤销、不可重抽。请再次核对随机数与公布的完全一致。";
      C.confirm(l.practice ? "演练抽签" : "抽签", text, function () {
        return C.api("POST", "/api/v1/admin/lotteries/" + l.id + "/draw", { public_value: value }).then(function () {
          state.lotteryId = l.id;
          C.toast(l.practice ? "演练抽签完成（非正式结果）" : "抽签完成，结果已公示", "success");
          return refresh();
        }).catch(function (error) {
          if (error.code === "PUBLIC_VALUE_REQUIRED") error = new C.FieldError("public_value", error.message);
          if (C.showFieldErrors(form, error)) return null;
          throw error;
        });
      }, { label: l.practice ? "开始演练抽签" : "确认抽签", progress: "正在抽签并生成录取与候补…" });
    });
    cancel.addEventListener("click", function () {
      C.modal(l.practice ? "作废演练" : "作废本次派位", [
        { node: el("p", { class: "confirm-text" }, l.practice ? "作废这次演练，之后可重新演练。"
          : "作废后本次名单和承诺值仍保留在公开记录中并注明原因，不会抽签；之后可重新冻结名单。此操作不可恢复。") },
        { name: "reason", label: "作废原因（必填）", type: "textarea", maxlength: 500 },
      ], function (v) {
        if ((v.reason || "").length < 2) throw new C.FieldError("reason", "请填写作废原因（至少 2 个字）");
        return C.api("POST", "/api/v1/admin/lotteries/" + l.id + "/cancel", { reason: v.reason }).then(function () {
          state.lotteryId = null;
          C.toast("已作废");
          return refresh();
        });
      }, "确认作废", { danger: true });
    });
    body.appendChild(el("div", { class: "step-panel" + (l.practice ? " practice" : "") },
      el("h4", null, "第 2、3 步 · 录入公开随机数并抽签"), form));
    var list = el("div");
    body.appendChild(el("div", { class: "step-panel" }, el("h4", null, "已冻结的名单（按化名排序，共 " + l.result.length + " 人）"), list));
    pagedTable(list, committedColumns(l), l.result);
  }

  function tierName(l, rank) {
    var tier = l.tiers.filter(function (t) { return t.rank === rank; })[0];
    return tier ? rank + " · " + tier.label : String(rank);
  }

  function committedColumns(l) {
    return [
      { title: "化名", render: function (r) { return el("span", { class: "mono" }, r.pseudonym); } },
      { title: "儿童", render: function (r) { return r.masked_name; } },
      { title: "优先级", render: function (r) { return tierName(l, r.tier); } },
    ];
  }

  function pagedTable(box, columns, rows) {
    var per = 20;
    var tableBox = el("div");
    var foot = el("div", { class: "table-foot" });
    C.clear(box).appendChild(tableBox);
    box.appendChild(foot);
    function show(n) {
      state.resultPage = n;
      C.table(tableBox, columns, rows.slice((n - 1) * per, n * per), { empty: "名单为空" });
      C.pager(foot, n, per, rows.length, show);
    }
    show(Math.min(state.resultPage, Math.max(1, Math.ceil(rows.length / per))));
  }

  /* --- steps 4 and 5: the result and the public record ---------------------------- */
  function resultStep(s, l) {
    var body = C.clear(document.getElementById("step-body"));
    body.appendChild(committedPanel(l));
    var byTier = {};
    l.result.forEach(function (r) {
      var t = byTier[r.tier] || (byTier[r.tier] = { total: 0, admitted: 0 });
      t.total += 1;
      if (r.outcome === "admitted") t.admitted += 1;
    });
    var tierBox = el("div");
    C.table(tierBox, [
      { title: "优先级", render: function (t) { return String(t.rank); } },
      { title: "规则", render: function (t) { return t.label; } },
      { title: "人数", class: "num", render: function (t) { return String((byTier[t.rank] || {}).total || 0); } },
      { title: "拟录取", class: "num", render: function (t) { return String((byTier[t.rank] || {}).admitted || 0); } },
    ], l.tiers);
    var resultBox = el("div", { "data-testid": "result-table" });
    body.appendChild(el("div", { class: "step-panel" + (l.practice ? " practice" : "") },
      el("h4", null, "第 4 步 · " + (l.practice ? "演练结果（非正式）" : "派位结果")),
      el("div", { class: "summary-row" },
        figure("学位", l.seats), figure("名单人数", l.applicant_count),
        figure("拟录取", l.admitted_count, "admitted-count"), figure("候补", l.waitlist_count, "waitlist-count"),
        el("div", { class: "figure" }, el("strong", { style: "font-size:15px" }, C.time(l.respond_by)), el("span", null, "确认期限（北京时间）"))),
      l.status === "drawn" ? C.desc([["公开随机数", el("span", { class: "mono", "data-testid": "public-value-used" }, l.public_value)],
        ["种子", el("span", { class: "mono" }, l.seed)], ["抽签时间（北京时间）", C.time(l.drawn_at, true)], ["", ""]])
        : el("div", { class: "alert success" }, "未超计划：名单内全部录取，无需抽签。"),
      el("h4", { style: "margin-top:14px" }, "各优先级人数"), tierBox,
      el("h4", { style: "margin-top:14px" }, "录取顺序"), resultBox));
    pagedTable(resultBox, [
      { title: "顺序", class: "num", render: function (r) { return r.position === null ? "—" : String(r.position); } },
      { title: "化名", render: function (r) { return el("span", { class: "mono" }, r.pseudonym); } },
      { title: "儿童", render: function (r) { return r.masked_name; } },
      { title: "优先级", render: function (r) { return tierName(l, r.tier); } },
      { title: "派位号", render: function (r) { return r.lottery_number ? el("span", { class: "mono", title: r.lottery_number }, r.lottery_number.slice(0, 16) + "…") : "—"; } },
      { title: "结果", render: function (r) {
        var o = OUTCOME[r.outcome];
        if (!o) return "—";
        return C.tag(r.outcome === "waitlisted" ? "候补第 " + (r.position - l.seats) + " 位" : o[0], o[1]);
      } },
    ], l.result);
    body.appendChild(publicPanel(l));
  }

  function figure(label, value, testid) {
    return el("div", { class: "figure" }, el("strong", testid ? { "data-testid": testid } : null, String(value)), el("span", null, label));
  }

  function publicPanel(l) {
    if (l.practice) {
      return el("div", { class: "step-panel practice", "data-testid": "publish-step" },
        el("h4", null, "第 5 步 · 公示"),
        el("div", { class: "alert warning" }, "演练结果不能公示：演练只在管理端可见，公开页面和公开接口一律不提供，也不发送任何通知。正式派位请切换到“正式派位”。"),
        el("div", { class: "form-row" }, el("button", { type: "button", class: "btn", disabled: true, "data-testid": "publish-locked" }, "公示（演练不可用）")));
    }
    var publicUrl = "/api/v1/lotteries/" + l.id;
    return el("div", { class: "step-panel", "data-testid": "publish-step" },
      el("h4", null, "第 5 步 · 公示"),
      el("div", { class: "alert success", "data-testid": "published" },
        "已公示：承诺值于 " + C.time(l.published_at) + " 随名单冻结公布，" +
        (l.status === "drawn" ? "抽签结果于 " + C.time(l.drawn_at) + " 抽签时即公布" : "全部录取结果随冻结公布") +
        "，无需登录即可查看；拟录取和候补家庭已收到结果通知。结果在抽签那一刻同时对所有人公开，任何人（包括工作人员）都不能先于公众看到。"),
      el("p", null, "公开结果：", el("a", { href: publicUrl, target: "_blank", rel: "noopener", "data-testid": "public-link" }, publicUrl),
        " · 公开证据文件：", el("a", { href: publicUrl + "/evidence.json", target: "_blank", rel: "noopener" }, publicUrl + "/evidence.json")),
      el("p", { class: "muted" }, "家长确认或放弃学位、候补递补，请到“录取与候补”；确认结束后在“名单公布与学籍”公布录取名单。"));
  }

  document.getElementById("mode-real").addEventListener("click", function () { setMode("real"); });
  document.getElementById("mode-practice").addEventListener("click", function () { setMode("practice"); });

  C.season().then(function (season) {
    state.season = season;
    document.getElementById("season-label").textContent = season.name;
    return refresh();
  }).catch(C.noSeason("schools"));
})();
