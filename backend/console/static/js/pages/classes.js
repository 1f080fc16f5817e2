/* 均衡分班: together requests, commit (freeze the list, publish the commitment), draw with
 * the public value, the per-class balance, the children (paged by the API), the audited
 * correction (bureau) and the evidence that scripts/verify_classes checks — all through the
 * classes API. */
(function () {
  "use strict";
  var el = C.el;
  var bureau = C.role === "bureau_admin";
  var BASE = "/api/v1/staff/classes";
  var STATUS = { committed: "已冻结，待分班", published: "已公布", cancelled: "已取消" };
  var SCOPES = { checked_in: "已现场报到的儿童", confirmed: "全部已确认录取的儿童" };
  var SEX = { male: "男", female: "女" };
  var params = new URLSearchParams(location.search);
  var school = bureau ? (params.get("school") || "") : C.school;
  var schoolOptions = [["", "请选择学校"]].concat(JSON.parse(document.getElementById("page-options").textContent).schools);
  var season = null;
  var assignments = [];
  var selected = null;     // the assignment shown below the list
  var pupils = null;       // its children's list (C.listPage), made on first use
  var pupilConfig = null;
  var reasons = null;

  function className(n) { return n === null || n === undefined ? "—" : "一年级" + n + "班"; }
  function birthMonth(months) {
    if (months === null || months === undefined) return "—";
    var m = Math.round(months);
    var year = Math.floor(m / 12);
    return year + "年" + (m - year * 12 + 1) + "月";
  }
  function keepUrl() {
    history.replaceState(null, "", location.pathname + C.query({ school: bureau ? school : "", assignment: selected ? selected.id : "" }));
  }
  function reasonList() {
    if (!reasons) reasons = C.api("GET", BASE + "/correction-reasons").then(function (d) { return d.items; });
    return reasons;
  }
  function live() {
    return assignments.find(function (a) { return a.status !== "cancelled" && (!bureau || a.school.code === school); }) || null;
  }

  /* --- the steps bar ------------------------------------------------------------------ */
  function steps(a) {
    var order = ["together", "commit", "draw", "review", "correct", "evidence"];
    var done = [];
    var now = "together";
    if (a && a.status === "committed") { done = ["together", "commit"]; now = "draw"; }
    if (a && a.status === "published") {
      done = ["together", "commit", "draw", "review"].concat(a.corrections ? ["correct"] : []);
      now = "evidence";
    }
    order.forEach(function (key) {
      var node = document.querySelector('#steps [data-step="' + key + '"]');
      node.classList.toggle("done", done.indexOf(key) >= 0);
      node.classList.toggle("now", key === now);
    });
  }

  /* --- the list of assignments -------------------------------------------------------- */
  function load() {
    return C.api("GET", BASE + "/assignments" + C.query({ season_id: season.id, school: bureau ? school : "" })).then(function (data) {
      assignments = data.items;
      C.table(document.getElementById("table"), [
        { title: "编号", render: function (a) { return String(a.id); } },
        bureau ? { title: "学校", render: function (a) { return a.school.name; } } : null,
        { title: "范围", render: function (a) { return SCOPES[a.scope]; } },
        { title: "班级", class: "num", render: function (a) { return a.classes + " 班 × " + a.class_size + " 人"; } },
        { title: "儿童", class: "num", render: function (a) { return String(a.pupil_count); } },
        { title: "状态", render: function (a) { return C.statusTag(a.status === "published" ? "approved" : a.status === "cancelled" ? "withdrawn" : "submitted", STATUS[a.status]); } },
        { title: "更正", class: "num", render: function (a) { return String(a.corrections); } },
        { title: "冻结时间", render: function (a) { return C.time(a.committed_at); } },
        { title: "公布时间", render: function (a) { return C.time(a.published_at); } },
      ].filter(Boolean), data.items, {
        onRow: function (a) { select(a.id); },
        empty: "尚未分班：先登记同班申请（如有），现场报到结束后点击右上角“冻结名单并公布承诺值”",
      });
      var wanted = selected ? selected.id : parseInt(params.get("assignment") || "0", 10);
      var keep = assignments.find(function (a) { return a.id === wanted; }) || live();
      if (keep) select(keep.id); else { selected = null; document.getElementById("detail").hidden = true; steps(null); keepUrl(); }
      loadTogether();
    }).catch(C.fail);
  }

  /* --- one assignment ------------------------------------------------------------------ */
  function select(id) {
    var a = assignments.find(function (x) { return x.id === id; });
    if (!a) return;
    selected = a;
    keepUrl();
    steps(a);
    Array.prototype.forEach.call(document.querySelectorAll("#table tbody tr"), function (tr) {
      tr.classList.toggle("selected", tr.dataset.id === String(a.id));
    });
    document.getElementById("detail").hidden = false;
    document.getElementById("detail-title").textContent = "分班详情 · " + a.school.name + "（编号 " + a.id + "）";
    C.clear(document.getElementById("detail-info")).appendChild(C.desc([
      ["状态", C.statusTag(a.status === "published" ? "approved" : a.status === "cancelled" ? "withdrawn" : "submitted", STATUS[a.status]), "detail-status"],
      ["分班范围", SCOPES[a.scope]], ["班级", a.classes + " 个班，班额 " + a.class_size + " 人"], ["儿童", a.pupil_count + " 人", "detail-pupils"],
      ["名单承诺值", el("span", { class: "mono", "data-testid": "detail-commitment" }, a.commitment)], ["公开随机源", a.public_value_source],
      ["公开随机数", a.public_value || "待分班"], ["种子", a.seed ? el("span", { class: "mono" }, a.seed) : "—"],
      ["冻结时间", C.time(a.committed_at)], ["公布时间", C.time(a.published_at)],
      ["规则版本", a.rules_version], ["取消原因", a.cancel_reason],
    ]));
    actions(a);
    evidenceNote(a);
    balance(a);
    pupilList(a);
    corrections(a);
  }

  function actions(a) {
    var box = C.clear(document.getElementById("detail-actions"));
    box.appendChild(el("a", { class: "btn", href: a.evidence_path, download: "class-evidence-" + a.school.code + "-" + a.id + ".json",
      "data-testid": "evidence-download" }, "下载分班证据（JSON）"));
    if (a.status === "committed") {
      box.appendChild(el("button", { class: "btn btn-primary", type: "button", "data-testid": "draw", onclick: function () { draw(a); } }, "填写公开随机数并分班"));
      box.appendChild(el("button", { class: "btn btn-danger", type: "button", "data-testid": "cancel", onclick: function () { cancel(a); } }, "取消本次冻结"));
    }
  }

  function evidenceNote(a) {
    var box = C.clear(document.getElementById("evidence-note"));
    box.appendChild(el("strong", null, "如何复核："));
    box.appendChild(document.createTextNode(a.status === "published"
      ? "分班证据包含冻结的名单（化名、性别、出生年月、随班就读、同班组）、承诺值、公开随机数、种子、分班结果和更正记录。任何人都可以下载后用平台公开的脚本重新计算："
      : "名单已冻结并公开，家长可以在证据中核对孩子的化名；分班后证据会加上公开随机数、种子和结果。复核命令："));
    box.appendChild(el("div", { class: "mono" }, "python3 scripts/verify_classes " + "class-evidence-" + a.school.code + "-" + a.id + ".json --commitment " + a.commitment));
    box.appendChild(document.createTextNode("结果一致时显示 OK、退出码为 0；名单、结果或更正被改动过则报告差异并以 1 退出。"));
  }

  function spread(rows, key) {
    var values = rows.map(function (r) { return r[key]; });
    return Math.max.apply(null, values) - Math.min.apply(null, values);
  }

  function balance(a) {
    var card = document.getElementById("balance-card");
    card.hidden = !a.summary;
    if (!a.summary) return;
    var rows = a.summary;
    var placed = rows.reduce(function (n, r) { return n + r.size; }, 0);
    var diffs = { size: spread(rows, "size"), male: spread(rows, "male"), female: spread(rows, "female"), special: spread(rows, "special") };
    C.table(document.getElementById("balance"), [
      { title: "班级", render: function (r) { return r.class_no === "diff" ? el("strong", null, "最多相差") : el("button", { type: "button", class: "btn btn-link", onclick: function () { filterClass(r.class_no); } }, className(r.class_no)); } },
      { title: "人数", class: "num", render: function (r) { return String(r.size); } },
      { title: "男生", class: "num", render: function (r) { return String(r.male); } },
      { title: "女生", class: "num", render: function (r) { return String(r.female); } },
      { title: "随班就读", class: "num", render: function (r) { return String(r.special); } },
      { title: "平均出生年月", class: "num", render: function (r) { return r.class_no === "diff" ? "" : birthMonth(r.mean_birth_month); } },
    ], rows.concat([{ class_no: "diff", size: diffs.size, male: diffs.male, female: diffs.female, special: diffs.special }]));
    var even = diffs.size <= 1 && diffs.male <= 1 && diffs.female <= 1 && diffs.special <= 1;
    var verdict = C.clear(document.getElementById("balance-verdict"));
    verdict.appendChild(even ? C.tag("均衡：各班人数、男女生、随班就读相差均不超过 1 人", "green")
      : C.tag("有一项相差超过 1 人：多由同班申请或更正造成，请核对", "orange"));
    if (placed < a.pupil_count) verdict.appendChild(el("span", { class: "muted" }, "　已离校 " + (a.pupil_count - placed) + " 人"));
  }

  function filterClass(n) {
    var form = document.getElementById("pupil-filters");
    form.elements.class_no.value = String(n);
    form.requestSubmit();
  }

  function pupilList(a) {
    var select_ = document.getElementById("class-filter");
    var chosen = select_.value;
    C.clear(select_).appendChild(el("option", { value: "" }, "全部班级"));
    for (var n = 1; n <= a.classes; n++) select_.appendChild(el("option", { value: String(n) }, className(n)));
    if (a.status === "published") select_.appendChild(el("option", { value: "0" }, "已离校"));
    select_.value = chosen;
    if (select_.value !== chosen) select_.value = "";
    var correctable = bureau && a.status === "published";
    document.getElementById("pupil-hint").textContent = a.status !== "published" ? "分班后显示每个儿童的班级"
      : correctable ? "如需调整某个儿童的班级，点击该行的“更正”，须选择原因" : "分班公布后如需调整，请联系教育局办理更正";
    var url = BASE + "/assignments/" + a.id + "/pupils";
    if (pupils) {
      var same = pupilConfig.url === url;
      pupilConfig.url = url;
      pupilConfig.columns = pupilColumns(a);
      if (same) { pupils.load(); return; }  // e.g. after a correction: keep filters and page
      document.getElementById("pupil-filters").reset();
      return;  // the form's reset reloads the first page
    }
    pupilConfig = {
      url: url, form: "pupil-filters", table: "pupils", foot: "pupils-foot", keepUrl: true, perPage: 20,
      columns: pupilColumns(a), empty: "没有符合条件的儿童",
      loaded: function (data) { document.getElementById("pupil-summary").textContent = "共 " + data.total + " 人"; },
    };
    pupils = C.listPage(pupilConfig);
  }

  function pupilColumns(a) {
    var correctable = bureau && a.status === "published";
    return [
      { title: "化名", render: function (p) { return el("span", { class: "mono" }, p.pseudonym); } },
      { title: "报名编号", render: function (p) { return String(p.registration_id); } },
      { title: "儿童", render: function (p) { return p.child_name; } },
      { title: "性别", render: function (p) { return SEX[p.sex]; } },
      { title: "出生年月", render: function (p) { return p.birth; } },
      { title: "随班就读", render: function (p) { return p.special ? C.tag("是", "purple") : "—"; } },
      { title: "同班组", render: function (p) { return p.group ? C.tag(p.group, "blue") : "—"; } },
      { title: "抽签班级", render: function (p) { return a.status === "published" ? className(p.drawn_class_no) : "待分班"; } },
      { title: "当前班级", render: function (p) {
        if (a.status !== "published") return "待分班";
        if (p.class_no === null) return C.tag("已离校", "gray");
        return el("span", { "data-testid": "class-of-" + p.registration_id }, className(p.class_no), p.class_no !== p.drawn_class_no ? C.tag("已更正", "orange") : null);
      } },
      correctable ? { title: "操作", render: function (p) {
        return p.class_no === null ? "—" : el("button", { type: "button", class: "btn btn-link", "data-testid": "correct-" + p.registration_id,
          onclick: function () { correct(a, p); } }, "更正");
      } } : null,
    ].filter(Boolean);
  }

  function corrections(a) {
    var card = document.getElementById("corrections-card");
    card.hidden = a.status !== "published";
    if (card.hidden) return;
    C.api("GET", BASE + "/assignments/" + a.id + "/corrections").then(function (data) {
      C.table(document.getElementById("corrections"), [
        { title: "时间", render: function (c) { return C.time(c.corrected_at); } },
        { title: "化名", render: function (c) { return el("span", { class: "mono" }, c.pseudonym); } },
        { title: "报名编号", render: function (c) { return String(c.registration_id); } },
        { title: "原班级", render: function (c) { return className(c.from_class); } },
        { title: "新班级", render: function (c) { return c.to_class === null ? "移出（离校）" : className(c.to_class); } },
        { title: "原因", render: function (c) { return c.reason; } },
        { title: "说明（不公开）", render: function (c) { return c.note; } },
        { title: "操作人", render: function (c) { return c.corrected_by_name || String(c.corrected_by_user_id); } },
      ], data.items, { empty: "没有更正：分班结果与抽签结果一致" });
    }).catch(C.fail);
  }

  /* --- the irreversible steps ------------------------------------------------------------ */
  function commit() {
    var fields = [];
    if (bureau) fields.push({ name: "school", label: "学校", type: "select", options: schoolOptions, value: school });
    fields.push(
      { name: "scope", label: "分班范围", type: "select", options: [["checked_in", "已现场报到的儿童（现场报到全部结束后）"], ["confirmed", "全部已确认录取的儿童（未组织现场报到时）"]] },
      { name: "public_value_source", label: "公开随机源（分班时使用的、现在还不知道的公开数值）", required: true, maxlength: 200,
        placeholder: "例如：8月25日中国福利彩票“3D”开奖号码" },
      { node: el("div", { class: "alert warning" }, "冻结后：参加分班的名单（化名、性别、出生年月、随班就读、同班组）和承诺值立即公开，任何人都可下载核对；不能再登记或撤回同班申请。分班前可以取消并重新冻结。") });
    C.modal("冻结分班名单并公布承诺值", fields, function (v) {
      if (bureau && !v.school) throw C.fieldError("school", "请选择学校");
      if ((v.public_value_source || "").length < 4) throw C.fieldError("public_value_source", "请写明公开随机源（至少 4 个字）");
      var body = { season_id: season.id, scope: v.scope, public_value_source: v.public_value_source };
      if (bureau) body.school = v.school;
      return C.api("POST", BASE + "/assignments", body).then(function (a) {
        C.toast("名单已冻结，承诺值已公布", "success");
        if (bureau) { school = v.school; syncSchool(); }
        selected = a;
        return load();
      }, function (error) {
        if (["CHECKIN_OPEN", "NO_ONSITE_SLOTS", "NO_PUPILS"].indexOf(error.code) >= 0) error.field = "scope";
        if (error.code === "OVER_PLAN" && error.details) error.message += "：" + error.details.pupils + " 人，计划 " + error.details.seats + " 个学位";
        if (error.code === "SCHOOL_REQUIRED") error.field = "school";
        throw error;
      });
    }, "冻结并公布");
  }

  function draw(a) {
    C.modal("分班 · 填写公开随机数", [
      { node: el("p", null, "请填写约定的公开随机源（" + a.public_value_source + "）公布的数值，照原样填写。") },
      { name: "public_value", label: "公开随机数", required: true, maxlength: 200 },
    ], function (v) {
      if (!v.public_value) throw C.fieldError("public_value", "请填写公开随机数");
      // Checked once more before anything happens: the draw cannot be undone.
      setTimeout(function () {
        C.confirm("确认分班", "将以公开随机数「" + v.public_value + "」计算 " + a.pupil_count + " 名儿童的班级，并立即公布结果。公布后不能重新分班，只能由教育局逐一更正并公开记录。确定分班吗？", function () {
          return C.api("POST", BASE + "/assignments/" + a.id + "/draw", { public_value: v.public_value }).then(function () {
            C.toast("分班完成，结果已公布", "success");
            return load();
          });
        });
      }, 0);
    }, "下一步");
  }

  function cancel(a) {
    C.modal("取消本次冻结", [
      { node: el("div", { class: "alert warning" }, "取消后本次冻结作废：公开列表中标记为已取消（记录保留），可以重新登记同班申请并重新冻结。只能在分班前取消。") },
      { name: "reason", label: "取消原因（公开）", type: "textarea", required: true, maxlength: 500 },
    ], function (v) {
      if ((v.reason || "").length < 2) throw C.fieldError("reason", "请填写取消原因（至少 2 个字）");
      return C.api("POST", BASE + "/assignments/" + a.id + "/cancel", { reason: v.reason }).then(function () {
        C.toast("已取消本次冻结");
        return load();
      });
    }, "确认取消");
  }

  function correct(a, p) {
    reasonList().then(function (items) {
      var targets = [];
      for (var n = 1; n <= a.classes; n++) if (n !== p.class_no) targets.push([String(n), className(n)]);
      targets.push(["", "移出班级（儿童放弃入学或转学）"]);
      var form = C.modal("更正分班 · " + p.child_name, [
        { node: C.desc([["儿童", p.child_name], ["化名", el("span", { class: "mono" }, p.pseudonym)], ["报名编号", String(p.registration_id)], ["当前班级", className(p.class_no)]]) },
        { name: "reason_code", label: "更正原因（必选，随证据公开）", type: "select", required: true,
          options: [["", "请选择更正原因"]].concat(items.map(function (r) { return [r.code, r.label]; })) },
        { name: "to_class", label: "调整到", type: "select", options: targets },
        { name: "note", label: "说明（记入操作日志，不公开）", type: "textarea", maxlength: 500, hint: "选择“其他原因”时必须填写；请勿写入身份证号等个人信息" },
        { node: el("div", { class: "alert warning" }, "更正立即生效，不能撤销：记入操作日志，公开的分班证据会列出该儿童的化名、原班级、新班级和原因，并标记为“已更正”。") },
      ], function (v) {
        if (!v.reason_code) throw C.fieldError("reason_code", "请选择更正原因");
        if (v.reason_code === "other" && !v.note) throw C.fieldError("note", "选择“其他原因”时请填写说明");
        var body = { registration_id: p.registration_id, to_class: v.to_class ? parseInt(v.to_class, 10) : null,
          reason_code: v.reason_code, note: v.note || "" };
        return C.api("POST", BASE + "/assignments/" + a.id + "/corrections", body).then(function () {
          C.toast("已更正并记录", "success");
          return load();
        }, function (error) {
          var field = { NOTE_REQUIRED: "note", UNKNOWN_REASON: "reason_code", TARGET_CLASS_MISMATCH: "to_class", CLASS_FULL: "to_class", CLASS_NOT_IN_PLAN: "to_class", NO_CHANGE: "to_class" }[error.code];
          if (field) error.field = field;
          throw error;
        });
      }, "确认更正");
      // Leaving the school goes with its own reason; any other reason moves to a class.
      form.elements.reason_code.addEventListener("change", function () {
        var leaving = form.elements.reason_code.value === "left_school";
        if (leaving) form.elements.to_class.value = "";
        else if (!form.elements.to_class.value) form.elements.to_class.value = targets[0][0];
      });
    }).catch(C.fail);
  }

  /* --- together requests ------------------------------------------------------------------ */
  function loadTogether() {
    var box = document.getElementById("together");
    var frozen = !!live();
    document.getElementById("new-together").disabled = frozen || (bureau && !school);
    if (bureau && !school) {
      C.clear(box).appendChild(el("p", { class: "muted" }, "选择一所学校后查看和登记该校的同班申请。"));
      return;
    }
    C.api("GET", BASE + "/together-requests" + C.query({ season_id: season.id, school: bureau ? school : "" })).then(function (data) {
      C.table(box, [
        { title: "编号", render: function (r) { return String(r.id); } },
        { title: "儿童", render: function (r) { return r.members.map(function (m) { return m.child_name + "（" + m.registration_id + "）"; }).join("、"); } },
        { title: "说明", render: function (r) { return r.note; } },
        { title: "登记时间", render: function (r) { return C.time(r.created_at); } },
        { title: "操作", render: function (r) {
          return frozen ? el("span", { class: "muted" }, "名单已冻结") : el("button", { type: "button", class: "btn btn-link", onclick: function () {
            C.confirm("撤回同班申请", "撤回后，这些儿童分班时不再保证同班。确定撤回吗？", function () {
              return C.api("DELETE", BASE + "/together-requests/" + r.id).then(function () { C.toast("已撤回"); loadTogether(); });
            });
          } }, "撤回");
        } },
      ], data.items, { empty: frozen ? "本次分班没有同班申请" : "暂无同班申请：家长申请双胞胎或兄弟姐妹同班时，在冻结名单前登记" });
    }).catch(C.fail);
  }

  document.getElementById("new-together").addEventListener("click", function () {
    C.modal("登记同班申请", [
      { name: "registration_ids", label: "报名编号（2–6 个，用逗号或空格分隔）", required: true, placeholder: "例如：1023, 1024",
        hint: "须为同一监护人的子女，且均已确认录取到本校；报名编号可在“现场报到 → 代家长预约”中查到" },
      { name: "note", label: "说明（可选）", maxlength: 200, placeholder: "例如：双胞胎，家长申请同班" },
    ], function (v) {
      var ids = (v.registration_ids || "").split(/[\s,，、]+/).filter(Boolean).map(function (x) { return parseInt(x, 10); });
      if (ids.length < 2 || ids.length > 6 || ids.some(function (x) { return !(x > 0); })) throw C.fieldError("registration_ids", "请填写 2–6 个报名编号");
      var body = { season_id: season.id, registration_ids: ids, note: v.note || "" };
      if (bureau) body.school = school;
      return C.api("POST", BASE + "/together-requests", body).then(function () { C.toast("已登记同班申请", "success"); loadTogether(); }, function (error) {
        if (["NOT_SIBLINGS", "ADMITTED_REGISTRATION_NOT_FOUND", "ALREADY_REQUESTED"].indexOf(error.code) >= 0) error.field = "registration_ids";
        throw error;
      });
    }, "登记");
  });

  /* --- the bureau's school choice --------------------------------------------------------- */
  var schoolForm = document.getElementById("school-filter");
  function syncSchool() { if (schoolForm) schoolForm.elements.school.value = school; }
  if (schoolForm) {
    syncSchool();
    schoolForm.addEventListener("submit", function (e) {
      e.preventDefault();
      school = schoolForm.elements.school.value;
      selected = null;
      load();
    });
  }
  // Disabled in the page until the season is known: an early click must not go unanswered.
  document.getElementById("commit-classes").addEventListener("click", commit);

  C.season().then(function (s) {
    season = s;
    document.getElementById("commit-classes").disabled = false;
    document.getElementById("season-label").textContent = s.name;
    return load();
  }).catch(C.noSeason("table"));
})();
