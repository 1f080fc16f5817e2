/* 报名审核: the queue (GET /staff/registrations), the detail drawer with the document viewer,
 * decisions (POST /staff/registrations/{id}/review) and the audited reveal. */
(function () {
  "use strict";
  var el = C.el;
  var BASE = "/api/v1/staff/registrations";
  var DECISIONS = { approve: "通过", "return": "退回修改", reject: "不通过" };
  var CATEGORIES = JSON.parse(document.getElementById("page-options").textContent).categories;
  var RELATIONS = { father: "父亲", mother: "母亲", grandparent: "祖父母/外祖父母", other_guardian: "其他监护人" };
  var OPEN = ["submitted", "under_review", "returned"];
  var reasons = null;
  var current = null;      // the registration in the drawer
  var decision = null;     // the decision being prepared
  var decisionForm = null;

  function reasonList() {
    if (!reasons) reasons = C.api("GET", "/api/v1/staff/review-reasons");
    return reasons;
  }

  var list = C.listPage({
    url: BASE,
    perPage: 20,
    empty: "没有符合条件的报名。家长在小程序提交的报名会出现在这里；如已设筛选条件，可点“重置”查看全部。",
    onRow: function (row) { open(row.id); },
    loaded: function (data) {
      document.getElementById("list-summary").textContent = "共 " + data.total + " 条 · " + data.fairness_notice;
      highlight();
    },
    columns: [
      { title: "报名编号", render: function (r) { return el("a", { href: "/console/reviews/" + r.id, "data-testid": "row-" + r.id,
        onclick: function (e) { e.preventDefault(); open(r.id); } }, String(r.id)); } },
      { title: "儿童", render: function (r) { return r.child_name; } },
      C.role === "bureau_admin" ? { title: "学校", render: function (r) { return r.school.name; } } : null,
      { title: "报名依据", render: function (r) { return r.basis_name; } },
      { title: "特殊群体", render: function (r) { return r.categories.length ? r.categories.map(function (c) { return C.tag(CATEGORIES[c] || c, "purple"); }) : el("span", { class: "muted" }, "—"); } },
      { title: "片区", render: function (r) { return r.out_of_zone ? C.tag("片区外", "orange") : C.tag("片区内", "green"); } },
      { title: "材料核验", render: function (r) { return r.all_verified ? C.tag("全部已核验", "green") : el("span", { class: "muted" }, "需查看材料"); } },
      { title: "乡镇", render: function (r) { return r.town ? r.town.name : "—"; } },
      { title: "状态", render: function (r) { return el("span", null, C.statusTag(r.status, r.status_name), r.needs_bureau_review && OPEN.indexOf(r.status) >= 0 ? C.tag("需教育局复核", "purple") : null); } },
      { title: "提交时间", render: function (r) { return C.time(r.submitted_at); } },
      { title: "修改期限", render: function (r) { return r.fix_deadline ? C.time(r.fix_deadline) : "—"; } },
    ].filter(Boolean),
  });

  function rows() { return list.rows || []; }

  function highlight() {
    Array.prototype.forEach.call(document.querySelectorAll("#table tbody tr"), function (tr) {
      tr.classList.toggle("selected", current !== null && tr.dataset.id === String(current.id));
    });
  }

  function move(step) {
    var items = rows();
    if (!items.length) return;
    var index = current ? items.findIndex(function (r) { return r.id === current.id; }) : -1;
    var next = index + step;
    if (next < 0) { C.toast("已经是第一条"); return; }
    if (next >= items.length) {
      var data = list.data || {};
      if (data.page * data.per_page < data.total) {
        list.page = data.page + 1;
        list.load().then(function () { if (rows().length) open(rows()[0].id); });
      } else { C.toast("已经是最后一条"); }
      return;
    }
    open(items[next].id);
  }

  /* --- document viewer: zoom and rotate --------------------------------------------- */
  function viewer(registration) {
    var uploads = registration.uploads;
    if (!uploads.length) return el("p", { class: "muted" }, "未上传材料");
    var state = { scale: 1, rotate: 0 };
    var stage = el("div", { class: "viewer-stage", "data-testid": "viewer-stage" });
    var zoom = el("span", { class: "zoom" }, "100%");
    var buttons = el("div", { class: "doc-list" });
    function apply() {
      var img = stage.querySelector("img");
      if (img) img.style.transform = "scale(" + state.scale + ") rotate(" + state.rotate + "deg)";
      zoom.textContent = Math.round(state.scale * 100) + "% · " + state.rotate + "°";
    }
    function show(upload, button) {
      Array.prototype.forEach.call(buttons.children, function (b) { b.classList.toggle("active", b === button); });
      state.scale = 1; state.rotate = 0;
      C.clear(stage);
      if (!upload.available) { stage.appendChild(el("p", { class: "muted" }, "材料已按规定删除")); return; }
      var url = BASE + "/" + registration.id + "/uploads/" + encodeURIComponent(upload.upload_id);
      if (upload.content_type === "application/pdf") stage.appendChild(el("iframe", { src: url, title: upload.kind_name }));
      else stage.appendChild(el("img", { src: url, alt: upload.kind_name, "data-testid": "document-image" }));
      apply();
    }
    uploads.forEach(function (upload, index) {
      var button = el("button", { type: "button" }, upload.kind_name, el("div", { class: "muted" }, Math.round(upload.size / 1024) + " KB"));
      button.addEventListener("click", function () { show(upload, button); });
      buttons.appendChild(button);
      if (index === 0) setTimeout(function () { show(upload, button); }, 0);
    });
    function tool(label, title, action) {
      return el("button", { type: "button", title: title, onclick: function () { action(); apply(); } }, label);
    }
    var tools = el("div", { class: "viewer-tools" },
      tool("＋", "放大", function () { state.scale = Math.min(state.scale + 0.25, 4); }),
      tool("－", "缩小", function () { state.scale = Math.max(state.scale - 0.25, 0.25); }),
      tool("⟲", "向左旋转", function () { state.rotate = (state.rotate + 270) % 360; }),
      tool("⟳", "向右旋转", function () { state.rotate = (state.rotate + 90) % 360; }),
      tool("1:1", "复位", function () { state.scale = 1; state.rotate = 0; }),
      zoom);
    return el("div", { class: "docs" }, buttons, el("div", { class: "viewer" }, tools, stage));
  }

  /* --- each required document: verified by a source, uploaded (and why), or missing --- */
  var STATES = { verified: ["已核验", "green"], uploaded: ["已上传材料", "blue"], missing: ["缺少材料", "red"] };
  var CHECK_STATES = { pending: "正在核验", unavailable: "核验服务暂不可用", not_found: "未查到记录", mismatch: "信息不一致" };

  function requirementLine(q) {
    var v = q.verification;
    var state = STATES[q.state];
    var line = el("li", { "data-testid": "requirement-" + q.kind, "data-state": q.state },
      el("div", null, C.tag(state[0], state[1]), " ", el("strong", null, q.name)));
    if (q.state === "verified" && v) {
      // 已由户籍信息核验 · 参考号 … · 时间
      line.appendChild(el("div", { class: "muted", "data-testid": "requirement-source-" + q.kind },
        "已由" + v.fact_name + "核验" + (v.source ? "（" + v.source + "）" : "") +
        " · 参考号 " + (v.reference || "—") + " · " + C.time(v.checked_at, true)));
    } else if (v && v.status !== "confirmed") {
      line.appendChild(el("div", { class: "why", "data-testid": "requirement-reason-" + q.kind },
        v.fact_name + "核验未通过：" + (v.reason || CHECK_STATES[v.status] || v.status) +
        (q.state === "uploaded" ? "，家长因此上传了材料，请查看" : "")));
    } else if (q.state === "uploaded") {
      line.appendChild(el("div", { class: "muted" }, "未经政府数据核验，请查看上传的材料"));
    }
    return line;
  }

  function requirementList(r) {
    if (!r.requirements || !r.requirements.length) return el("p", { class: "muted" }, "无");
    return el("ul", { class: "requirements", "data-testid": "requirements" }, r.requirements.map(requirementLine));
  }

  /* --- 批量通过: the all-verified registrations of the current filter ------------------- */
  function batchFilter() {
    var p = list.params();
    var body = { verified: "all" };
    if (p.school) body.school = p.school;
    if (p.year) body.year = parseInt(p.year, 10);
    return body;
  }

  function batchApprove() {
    var filter = batchFilter();
    C.api("POST", "/api/v1/admin/registrations/batch-approve", Object.assign({ dry_run: true }, filter)).then(function (preview) {
      var count = preview.candidates.length;
      if (!count) { C.toast("当前范围内没有可批量通过的报名（须全部材料已核验且待审核）"); return; }
      var range = C.role === "bureau_admin" ? (filter.school ? "所选学校" : "全县") : "本校";
      var text = "将通过 " + count + " 条报名：" + range + "待审核报名中全部材料已由政府数据核验的（其他筛选条件不适用）" +
        (preview.more ? "（本次最多 500 条，其余可再次操作）" : "") +
        "。特殊群体报名按规定仍须教育局复核。每条都会记入办理记录并通知家长。确定吗？";
      // One key per confirmation: a repeated click or a retry approves nothing twice.
      var key = "batch-" + Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
      C.confirm("批量通过（全部已核验）", text, function () {
        return C.api("POST", "/api/v1/admin/registrations/batch-approve",
          Object.assign({ items: preview.candidates }, filter), { headers: { "Idempotency-Key": key } }).then(function (done) {
          var message = "已通过 " + done.approved + " 条";
          if (done.forwarded) message += "，转教育局复核 " + done.forwarded + " 条";
          if (done.skipped) message += "，跳过 " + done.skipped + " 条（" + done.skipped_items.slice(0, 3).map(function (s) { return s.id + "：" + s.message; }).join("；") + "）";
          C.toast(message, "success");
          list.load();
        });
      }, { label: "确认通过 " + count + " 条" });
    }).catch(C.fail);
  }

  document.getElementById("batch-approve").addEventListener("click", batchApprove);

  /* --- the audited "show full ID" ----------------------------------------------------- */
  function reveal(registration, box) {
    C.modal("查看完整信息", [
      { node: el("div", { class: "alert warning" }, "完整身份证号、手机号仅供核对材料使用。本次查看将记录操作人、时间和来源，并计入操作日志。") },
      { name: "reason", label: "查看理由", type: "textarea", required: true, maxlength: 200, placeholder: "例如：核对户口簿与身份证号是否一致" },
    ], function (values) {
      if ((values.reason || "").length < 2) throw new Error("请填写查看理由（至少 2 个字）");
      return C.api("POST", "/api/v1/staff/children/" + registration.child.id + "/reveal", { reason: values.reason }).then(function (full) {
        C.clear(box).hidden = false;
        box.appendChild(el("div", { class: "reveal-box", "data-testid": "reveal-box" },
          el("div", null, el("strong", null, "完整信息（已记录查看）"), el("span", { class: "muted" }, "　60 秒后自动隐藏")),
          C.desc([["儿童姓名", full.child_name], ["儿童证件号", full.child_id_number, "reveal-child-id"],
            ["监护人", full.guardian_name], ["监护人证件号", full.guardian_id_number],
            ["监护人电话", full.guardian_phone]])));
        setTimeout(function () { C.clear(box).hidden = true; }, 60000);
      });
    }, "确认查看");
  }

  /* --- the decision panel ------------------------------------------------------------- */
  function defaultDeadline(days) {
    var d = new Date(Date.now() + days * 86400000 + 8 * 3600000);  // Beijing wall clock
    return d.toISOString().slice(0, 10) + "T23:59";
  }

  function decisionPanel(registration) {
    if (!registration.decisions.length) {
      return el("span", { class: "muted", "data-testid": "no-decision" }, "当前状态（" + registration.status_name + "）无需您处理");
    }
    var reasonSelect = el("select", { name: "reason_code", "data-testid": "reason" });
    var deadline = el("input", { type: "datetime-local", name: "fix_deadline", "data-testid": "deadline" });
    var note = el("textarea", { name: "note", maxlength: 500, placeholder: "备注（选择“其他原因”时必填）", "data-testid": "note" });
    var deadlineField = el("label", { class: "field inline" }, el("span", null, "补正期限"), deadline);
    var reasonField = el("label", { class: "field inline" }, el("span", null, "原因"), reasonSelect);
    var submit = el("button", { type: "submit", class: "btn btn-primary", "data-testid": "submit-decision" }, "提交审核意见");
    var choices = el("div", { class: "decision-row" });
    registration.decisions.forEach(function (key) {
      var cls = key === "approve" ? "btn-success" : key === "reject" ? "btn-danger" : "btn-warning";
      choices.appendChild(el("button", { type: "button", class: "btn " + cls, "data-decision": key, "data-testid": "decide-" + key,
        onclick: function () { choose(key); } }, DECISIONS[key]));
    });
    choices.appendChild(el("span", { class: "kbd-hint" }, "A 通过 · R 退回 · X 不通过 · J/K 切换"));
    var details = el("div", { class: "decision-row", hidden: true }, reasonField, deadlineField);
    var form = el("form", { class: "decision", novalidate: true }, choices, details,
      el("div", { class: "decision-row", hidden: true }, note, submit));

    function choose(key) {
      decision = key;
      Array.prototype.forEach.call(choices.querySelectorAll("[data-decision]"), function (b) {
        b.style.boxShadow = b.dataset.decision === key ? "0 0 0 3px rgba(22,119,255,.35)" : "";
      });
      form.children[2].hidden = false;
      details.hidden = key === "approve";
      deadlineField.hidden = key !== "return";
      submit.textContent = "确认" + DECISIONS[key];
      reasonList().then(function (data) {
        C.clear(reasonSelect).appendChild(el("option", { value: "" }, "请选择原因"));
        data.items.filter(function (r) { return r.decisions.indexOf(key) >= 0; }).forEach(function (r) {
          reasonSelect.appendChild(el("option", { value: r.code }, r.label));
        });
        if (!deadline.value) deadline.value = defaultDeadline(data.default_fix_days);
      });
      (key === "approve" ? note : reasonSelect).focus();
    }
    form.choose = choose;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!decision) { C.toast("请先选择审核意见", "error"); return; }
      var body = { decision: decision, expected_status: registration.status, expected_version: registration.version };
      if (note.value.trim()) body.note = note.value.trim();
      if (decision !== "approve") {
        if (!reasonSelect.value) { C.toast("请选择原因", "error"); reasonSelect.focus(); return; }
        body.reason_code = reasonSelect.value;
      }
      if (decision === "return" && deadline.value) body.fix_deadline = deadline.value + ":00";
      submit.disabled = true;
      C.api("POST", BASE + "/" + registration.id + "/review", body).then(function (updated) {
        C.toast("已" + DECISIONS[decision] + "：报名编号 " + updated.id + "（" + updated.status_name + "）", "success");
        var id = updated.id;
        list.load().then(function () {
          var items = rows();
          var index = items.findIndex(function (r) { return r.id === id; });
          var next = items[index + 1] || null;
          if (next) open(next.id); else render(updated);
        });
      }).catch(function (error) {
        C.fail(error);
        if (error.code === "STALE_STATE") open(registration.id);
      }).then(function () { submit.disabled = false; });
    });
    return form;
  }

  /* --- the drawer ------------------------------------------------------------------- */
  function address(a) {
    if (!a) return null;
    return [a.town ? a.town.name : "", a.region.name, a.address].filter(Boolean).join(" ");
  }

  function render(r) {
    current = r;
    decision = null;
    highlight();
    var revealBox = el("div", { hidden: true });
    var child = r.child;
    var body = el("div", { "data-testid": "detail", "data-id": String(r.id) },
      el("h4", { class: "section-title" }, "报名信息"),
      C.desc([["报名编号", String(r.id), "detail-id"], ["回执号", el("span", { class: "mono" }, r.ticket)],
        ["学校", r.school.name], ["状态", C.statusTag(r.status, r.status_name)],
        ["报名依据", r.basis_name], ["片区", r.out_of_zone ? "片区外" : "片区内"],
        ["提交时间", C.time(r.submitted_at)], ["修改期限", r.fix_deadline ? C.time(r.fix_deadline) : null]]),
      el("h4", { class: "section-title" }, "儿童与监护人",
        el("button", { type: "button", class: "btn btn-link", style: "margin-left:12px;font-weight:400", "data-testid": "reveal",
          onclick: function () { reveal(r, revealBox); } }, "查看完整信息"),
        C.role === "bureau_admin" ? el("a", { class: "btn btn-link", style: "font-weight:400", "data-testid": "child-audit",
          href: "/console/settings/audit?child_id=" + child.id }, "该儿童的操作日志") : null),
      C.desc([["儿童姓名", child.name, "child-name"], ["证件号码", child.id_number, "child-id"],
        ["出生日期", child.birth_date], ["性别", child.sex === "male" ? "男" : child.sex === "female" ? "女" : child.sex],
        ["特殊群体", child.categories.length ? child.categories.map(function (c) { return C.tag(c.name, "purple"); }) : "无"],
        ["安置意向", child.disability_placement_wish],
        ["监护人", r.guardian.name], ["关系", RELATIONS[r.guardian.relation] || r.guardian.relation],
        ["监护人电话", r.guardian.phone], ["监护人证件", r.guardian.id_number]]),
      revealBox,
      el("h4", { class: "section-title" }, "户籍与居住地"),
      C.desc([["户籍地", address(r.hukou)], ["实际居住地", address(r.residence)]]),
      el("h4", { class: "section-title" }, "材料核验"),
      requirementList(r),
      el("h4", { class: "section-title" }, "证明材料"),
      viewer(r),
      el("h4", { class: "section-title" }, "办理记录"),
      el("ul", { class: "timeline" }, r.timeline.map(function (t) {
        var who = { parent: "家长", school_staff: "学校", bureau_admin: "教育局" }[t.actor_role] || t.actor_role;
        return el("li", null, el("div", null, C.statusTag(t.status, t.status_name), " ", who,
          t.reason ? el("span", null, " · ", t.reason) : null, t.note ? el("span", { class: "muted" }, " · ", t.note) : null),
          el("div", { class: "when" }, C.time(t.at, true)));
      })));
    decisionForm = decisionPanel(r);
    C.drawer.open("报名详情 · " + r.child_name, body, decisionForm);
  }

  function open(id) {
    return C.api("GET", BASE + "/" + id).then(function (r) {
      history.replaceState(null, "", "/console/reviews/" + id + location.search);
      render(r);
    }).catch(C.fail);
  }

  C.drawer.onclose = function () {
    current = null;
    highlight();
    history.replaceState(null, "", "/console/reviews" + location.search);
  };

  document.addEventListener("keydown", function (event) {
    var typing = event.target.closest && event.target.closest("input, textarea, select");
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && decisionForm && C.drawer.isOpen()) {
      event.preventDefault();
      decisionForm.requestSubmit();
      return;
    }
    if (typing || event.ctrlKey || event.metaKey || event.altKey || document.querySelector(".modal-mask")) return;
    var key = event.key.toLowerCase();
    if (key === "j" || event.key === "ArrowDown") { event.preventDefault(); move(1); }
    else if (key === "k" || event.key === "ArrowUp") { event.preventDefault(); move(-1); }
    else if (decisionForm && decisionForm.choose && C.drawer.isOpen()) {
      var map = { a: "approve", r: "return", x: "reject" };
      if (map[key] && current && current.decisions.indexOf(map[key]) >= 0) { event.preventDefault(); decisionForm.choose(map[key]); }
    }
  });

  document.getElementById("export-current").addEventListener("click", function () {
    C.download("/api/v1/staff/registrations/export.xlsx" + C.query(list.params()));
  });

  var openId = document.getElementById("page-data").dataset.openId;
  if (openId) open(openId);
})();
