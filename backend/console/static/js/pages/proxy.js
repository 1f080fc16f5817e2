/* 代报名: a family without a smartphone registered at the counter in four steps (guardian →
 * child → school and documents → documents checked and the guardian's consent given in
 * person, to the consent text the mini-program shows too), through the same intake as the
 * mini-program; the ticket followed until the worker accepts or refuses it; the printable
 * claim slip; the list of what was entered, with a new claim code for unclaimed families. */
(function () {
  "use strict";
  var el = C.el;
  var BASE = "/api/v1/staff/proxy-registrations";
  var bureau = C.role === "bureau_admin";
  var options = JSON.parse(document.getElementById("page-options").textContent);
  var form = document.getElementById("proxy-form");
  var steps = Array.prototype.slice.call(form.querySelectorAll("fieldset[data-step]"));
  var current = 1;
  var uploads = [];          // [{upload_id, kind, name}] scanned for this family
  var requirements = null;   // GET /registrations/requirements
  var idempotencyKey = null; // one per family at the counter; a retry reuses it
  var following = null;      // the ticket being followed

  function input(name) { return form.elements[name]; }
  function value(name) { var node = input(name); return node && node.value ? node.value.trim() : ""; }
  function checkedCategories() {
    return Array.prototype.filter.call(form.querySelectorAll('input[name="child.categories"]'), function (c) { return c.checked; })
      .map(function (c) { return c.value; });
  }
  function newKey() {
    var bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return "counter-" + Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  /* --- steps ------------------------------------------------------------------------- */
  function show(step) {
    current = step;
    steps.forEach(function (fieldset) { fieldset.hidden = Number(fieldset.dataset.step) !== step; });
    Array.prototype.forEach.call(document.querySelectorAll("#steps .step"), function (node) {
      var n = Number(node.dataset.step);
      node.className = "step" + (n < step ? " done" : n === step ? " now" : "");
      node.setAttribute("aria-current", n === step ? "step" : "false");
    });
    document.getElementById("prev").hidden = step === 1;
    document.getElementById("next").hidden = step === steps.length;
    document.getElementById("submit").hidden = step !== steps.length;
    if (step === steps.length) summary();
    var first = steps[step - 1].querySelector("input:not([type=hidden]):not([readonly]), select");
    if (first) first.focus();
  }

  /* Client-side checks of one step, each shown next to its field; the API checks again. */
  function problems(step) {
    var found = [];
    function need(name, message) { if (!value(name)) found.push({ field: name, message: message }); }
    if (step === 1) {
      need("guardian.name", "请填写家长姓名");
      need("guardian.relation", "请选择与儿童关系");
      need("guardian.id_number", "请填写证件号码");
      if (value("guardian.phone") && !/^1[3-9]\d{9}$/.test(value("guardian.phone"))) {
        found.push({ field: "guardian.phone", message: "手机号码应为 11 位数字，以 1 开头" });
      }
    } else if (step === 2) {
      need("child.name", "请填写儿童姓名");
      need("child.id_number", "请填写证件号码");
      if (value("child.document_type") !== "resident_id") {
        need("child.birth_date", "请填写出生日期");
        need("child.sex", "请选择性别");
      }
      need("child.hukou.region_code", "请选择户籍所在村或社区");
      if (document.getElementById("has-residence").checked) need("child.residence.region_code", "请选择实际居住的村或社区");
      var groups = checkedCategories();
      if (groups.indexOf("migrant") >= 0) {
        need("child.residence_permit.number", "请填写居住证号码");
        need("child.residence_permit.issued_on", "请填写签发日期");
      }
      if (groups.indexOf("disability") >= 0) need("child.disability.placement_wish", "请选择入学意愿");
    } else if (step === 3) {
      if (bureau) need("school_code", "请选择报名学校");
      need("basis", "请选择报名依据");
    } else if (step === 4) {
      if (!input("documents_checked").checked) found.push({ field: "documents_checked", message: "请先核验证件原件并勾选" });
      if (!input("guardian_consent_given").checked) {
        found.push({ field: "guardian_consent_given", message: "请家长阅读同意书并当面表示同意后勾选" });
      }
    }
    return found;
  }

  function showErrors(fields) {
    var shown = C.showFieldErrors(form, { details: { fields: fields } });
    var invalid = form.querySelector("[aria-invalid]");
    if (invalid) {
      var fieldset = invalid.closest("fieldset[data-step]");
      if (fieldset && Number(fieldset.dataset.step) !== current) {
        show(Number(fieldset.dataset.step));
        C.showFieldErrors(form, { details: { fields: fields } });
      }
      var target = form.querySelector("[aria-invalid]");
      if (target) target.focus();
    }
    return shown;
  }

  document.getElementById("next").addEventListener("click", function () {
    var found = problems(current);
    if (found.length) { showErrors(found); return; }
    C.clearFieldErrors(form);
    show(current + 1);
  });
  document.getElementById("prev").addEventListener("click", function () { C.clearFieldErrors(form); show(current - 1); });
  document.getElementById("reset-form").addEventListener("click", function () {
    C.confirm("清空重填", "将清空已录入的家长、儿童和材料信息，重新开始填写。", function () { restart(); return Promise.resolve(); });
  });
  // Enter in a text field goes to the next step instead of submitting the whole form.
  form.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.tagName === "INPUT" && event.target.type !== "checkbox" && current < steps.length) {
      event.preventDefault();
      document.getElementById("next").click();
    }
  });

  /* --- addresses: town → village/community, from the public region list ----------- */
  function fillTowns(towns) {
    Array.prototype.forEach.call(form.querySelectorAll("select[data-town-for]"), function (townSelect) {
      var villageSelect = input(townSelect.dataset.townFor);
      towns.forEach(function (town) { townSelect.appendChild(el("option", { value: town.code }, town.name)); });
      townSelect.addEventListener("change", function () {
        C.clear(villageSelect).appendChild(el("option", { value: "" }, townSelect.value ? "请选择村或社区" : "请先选择乡镇"));
        var town = towns.find(function (t) { return t.code === townSelect.value; });
        (town ? town.villages : []).forEach(function (v) { villageSelect.appendChild(el("option", { value: v.code }, v.name)); });
      });
    });
  }
  C.api("GET", "/api/v1/regions" + C.query({ authority: C.authority })).then(function (data) { fillTowns(data.items); }).catch(C.fail);

  /* --- the guardian's consent: the same text and version the mini-program shows ---------- */
  C.api("GET", "/api/v1/privacy/consent-text" + C.query({ authority: C.authority })).then(function (data) {
    document.getElementById("consent-name").textContent = data.title;
    document.getElementById("consent-version").textContent = "（版本 " + data.version + "）";
    document.getElementById("consent-text").textContent = data.text;
  }).catch(C.fail);

  /* --- what shows when ----------------------------------------------------------- */
  function toggles() {
    var other = value("child.document_type") !== "resident_id";
    Array.prototype.forEach.call(form.querySelectorAll("[data-other-document]"), function (node) { node.hidden = !other; });
    document.getElementById("residence-fields").hidden = !document.getElementById("has-residence").checked;
    var groups = checkedCategories();
    document.getElementById("permit-fields").hidden = groups.indexOf("migrant") < 0 && value("basis") !== "residence_permit";
    document.getElementById("disability-fields").hidden = groups.indexOf("disability") < 0;
    listRequired();
  }
  form.addEventListener("change", toggles);

  /* --- documents ------------------------------------------------------------------ */
  C.api("GET", "/api/v1/registrations/requirements").then(function (data) {
    requirements = data;
    var kinds = document.getElementById("scan-kind");
    Object.keys(data.document_kinds).forEach(function (kind) { kinds.appendChild(el("option", { value: kind }, data.document_kinds[kind])); });
    listRequired();
  }).catch(C.fail);

  function listRequired() {
    var box = document.getElementById("required-documents");
    if (!requirements) return;
    var basis = requirements.bases.find(function (b) { return b.basis === value("basis"); });
    if (!basis) { C.clear(box).appendChild(document.createTextNode("选择报名依据后，这里会列出需要扫描上传的材料。")); return; }
    var groups = basis.documents.map(function (group) { return group.map(function (d) { return d.name; }).join(" 或 "); });
    checkedCategories().forEach(function (key) {
      var category = requirements.categories.find(function (c) { return c.key === key; });
      if (category) category.required_documents.forEach(function (d) { groups.push(d.name + "（" + category.name + "）"); });
    });
    C.clear(box).appendChild(el("span", null, "需要上传：", groups.join("；"), "。请扫描原件后逐份上传。"));
  }

  function renderUploads() {
    var list = C.clear(document.getElementById("scan-list"));
    if (!uploads.length) { list.appendChild(el("li", { class: "muted" }, "尚未上传材料")); return; }
    uploads.forEach(function (u, index) {
      list.appendChild(el("li", null, C.tag(requirements ? requirements.document_kinds[u.kind] : u.kind, "blue"), " " + u.name + " ",
        el("button", { type: "button", class: "btn btn-link", "aria-label": "移除 " + u.name, onclick: function () {
          uploads.splice(index, 1);
          renderUploads();
        } }, "移除")));
    });
  }

  document.getElementById("scan-upload").addEventListener("click", function (event) {
    var file = document.getElementById("scan-file");
    if (!file.files.length) { C.toast("请先选择要上传的扫描件", "error"); file.focus(); return; }
    var data = new FormData();
    data.append("kind", document.getElementById("scan-kind").value);
    data.append("file", file.files[0]);
    C.busy(event.currentTarget, function () {
      return C.api("POST", BASE + "/uploads", data).then(function (stored) {
        uploads.push({ upload_id: stored.upload_id, kind: stored.kind, name: file.files[0].name });
        file.value = "";
        renderUploads();
        C.toast("材料已上传", "success");
      });
    }, "上传中…").catch(C.fail);
  });

  /* --- the body, the summary --------------------------------------------------------- */
  function address(prefix) {
    return { region_code: value(prefix + ".region_code"), address: value(prefix + ".address") };
  }
  function body() {
    var guardian = { name: value("guardian.name"), document_type: value("guardian.document_type"),
      id_number: value("guardian.id_number"), relation: value("guardian.relation") };
    if (value("guardian.phone")) guardian.phone = value("guardian.phone");
    var child = { name: value("child.name"), document_type: value("child.document_type"),
      id_number: value("child.id_number"), hukou: address("child.hukou"), categories: checkedCategories() };
    if (child.document_type !== "resident_id") { child.birth_date = value("child.birth_date") || null; child.sex = value("child.sex") || null; }
    if (document.getElementById("has-residence").checked) child.residence = address("child.residence");
    if (!document.getElementById("permit-fields").hidden && value("child.residence_permit.number")) {
      child.residence_permit = { number: value("child.residence_permit.number"), issued_on: value("child.residence_permit.issued_on") || null,
        issuing_city: value("child.residence_permit.issuing_city") };
      if (value("child.residence_permit.expires_on")) child.residence_permit.expires_on = value("child.residence_permit.expires_on");
    }
    if (child.categories.indexOf("disability") >= 0) {
      child.disability = { placement_wish: value("child.disability.placement_wish") };
      if (value("child.disability.certificate_number")) child.disability.certificate_number = value("child.disability.certificate_number");
    }
    return { guardian: guardian, child: child, school_code: value("school_code") || null, basis: value("basis"),
      upload_ids: uploads.map(function (u) { return u.upload_id; }), documents_checked: input("documents_checked").checked,
      guardian_consent_given: input("guardian_consent_given").checked };
  }

  function selectedText(name) {
    var node = input(name);
    return node && node.selectedIndex > 0 ? node.options[node.selectedIndex].text : "";
  }
  function summary() {
    var b = body();
    var schoolName = bureau ? selectedText("school_code") : (C.school ? form.querySelector("input[readonly]").value : "");
    C.clear(document.getElementById("summary")).appendChild(C.desc([
      ["家长", b.guardian.name + "（" + selectedText("guardian.relation") + "）"], ["家长证件", selectedText("guardian.document_type") + " " + b.guardian.id_number],
      ["儿童", b.child.name], ["儿童证件", selectedText("child.document_type") + " " + b.child.id_number],
      ["户籍", selectedText("child.hukou.region_code") + " " + b.child.hukou.address],
      ["实际居住地", b.child.residence ? selectedText("child.residence.region_code") + " " + b.child.residence.address : "同户籍地"],
      ["特殊群体", b.child.categories.map(function (k) { return options.categories[k]; }).join("、") || "无"],
      ["报名学校", schoolName], ["报名依据", options.bases[b.basis] || ""], ["已上传材料", uploads.length + " 份"],
    ]));
  }

  /* --- the API's answers next to the fields they concern ---------------------------- */
  var ALIAS = { "child.hukou": "child.hukou.region_code", "child.residence": "child.residence.region_code",
    "child.residence_permit": "child.residence_permit.number", "child.disability": "child.disability.placement_wish" };
  var CODE_FIELD = {
    NOT_ELIGIBLE: "child.id_number", CHILD_ALREADY_BOUND: "child.id_number", ALREADY_REGISTERED: "child.id_number",
    TOO_MANY_CHILDREN: "child.id_number", FAMILY_HAS_WECHAT: "guardian.id_number", IDENTITY_ALREADY_BOUND: "guardian.id_number",
    RESIDENCE_REQUIRED: "child.residence.region_code", RESIDENCE_PERMIT_REQUIRED: "child.residence_permit.number",
    BASIS_NOT_ACCEPTED: "basis", UPLOADS_MISSING: "upload_ids", UPLOAD_NOT_FOUND: "upload_ids",
    SCHOOL_REQUIRED: "school_code", SCHOOL_NOT_FOUND: "school_code",
  };
  function fieldsOf(error) {
    var fields = (error.details && error.details.fields) || [];
    if (!fields.length && CODE_FIELD[error.code]) fields = [{ field: CODE_FIELD[error.code], message: error.message }];
    if (error.code === "OUT_OF_ZONE") {
      fields = [{ field: value("basis") === "hukou" ? "child.hukou.region_code" : "child.residence.region_code", message: error.message }];
    }
    return fields.map(function (f) { return { field: ALIAS[f.field] || f.field, message: f.message }; });
  }
  function answer(error) {
    var box = document.getElementById("form-error");
    if (!(error instanceof C.ApiFailure)) { C.fail(error); return; }
    var fields = fieldsOf(error);
    if (fields.some(function (f) { return f.field.indexOf("child.residence.") === 0; })) {
      document.getElementById("has-residence").checked = true;
    }
    toggles();
    if (fields.length && showErrors(fields)) {
      box.hidden = true;
      return;
    }
    box.textContent = error.message;
    box.hidden = false;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    document.getElementById("form-error").hidden = true;
    var found = problems(4);
    if (found.length) { showErrors(found); return; }
    if (!idempotencyKey) idempotencyKey = newKey();
    C.busy(document.getElementById("submit"), function () {
      return C.api("POST", BASE, body(), { headers: { "Idempotency-Key": idempotencyKey } }).then(received);
    }, "提交中…").catch(answer);
  });

  /* --- the ticket, the slip ------------------------------------------------------------ */
  function received(entry) {
    document.getElementById("entry-card").hidden = true;
    var card = document.getElementById("result-card");
    card.hidden = false;
    document.getElementById("slip").hidden = true;
    document.getElementById("print-slip").hidden = true;
    document.getElementById("back-to-form").hidden = true;
    C.clear(document.getElementById("result-message")).appendChild(el("div", { class: "alert" }, "已提交，正在受理（" + entry.fairness_notice + "）…"));
    follow(entry.ticket, entry.slip);
  }

  function follow(ticket, slip) {
    following = ticket;
    var tries = 0;
    var state = document.getElementById("ticket-state");
    function poll() {
      if (following !== ticket) return;
      C.api("GET", BASE + "/tickets/" + encodeURIComponent(ticket)).then(function (t) {
        if (t.state === "queued") {
          state.textContent = "排队受理中" + (t.position ? "（约第 " + t.position + " 位）" : "");
          if (++tries < 90) { setTimeout(poll, 1000); return; }
          C.clear(document.getElementById("result-message")).appendChild(el("div", { class: "alert warning" },
            "报名仍在排队受理，请稍后在下方列表查看结果；认领码：" + slip.claim_code));
          return;
        }
        if (t.state === "accepted") {
          state.textContent = "已受理";
          idempotencyKey = null;
          C.clear(document.getElementById("result-message")).appendChild(el("div", { class: "alert success", "data-testid": "accepted" },
            "报名已受理，报名编号 " + t.registration_id + "。请打印认领单交给家长。"));
          showSlip(slip, t.registration_id);
        } else {
          state.textContent = "未受理";
          idempotencyKey = null;
          C.clear(document.getElementById("result-message")).appendChild(el("div", { class: "alert error", "data-testid": "rejected" },
            "报名未受理：" + ((t.error && t.error.message) || "请核对信息后重新提交")));
          document.getElementById("back-to-form").hidden = false;
        }
        list.load();
      }).catch(C.fail);
    }
    poll();
  }

  function showSlip(slip, registrationId) {
    document.getElementById("slip-school").textContent = slip.school.name;
    document.getElementById("slip-registration").textContent = String(registrationId);
    document.getElementById("slip-child").textContent = slip.child_name;
    document.getElementById("slip-guardian").textContent = slip.guardian_name;
    document.getElementById("slip-code").textContent = slip.claim_code;
    document.getElementById("slip-expiry").textContent = C.time(slip.claim_code_expires_at).slice(0, 10);
    document.getElementById("slip").hidden = false;
    var print = document.getElementById("print-slip");
    print.hidden = false;
    print.focus();
  }

  document.getElementById("print-slip").addEventListener("click", function () { window.print(); });
  document.getElementById("back-to-form").addEventListener("click", function () {
    document.getElementById("result-card").hidden = true;
    document.getElementById("entry-card").hidden = false;
    show(1);
  });
  document.getElementById("next-family").addEventListener("click", restart);

  function restart() {
    following = null;
    idempotencyKey = null;
    form.reset();
    uploads = [];
    renderUploads();
    C.clearFieldErrors(form);
    Array.prototype.forEach.call(form.querySelectorAll("select[name$='.region_code']"), function (s) {
      C.clear(s).appendChild(el("option", { value: "" }, "请先选择乡镇"));
    });
    document.getElementById("form-error").hidden = true;
    document.getElementById("result-card").hidden = true;
    document.getElementById("entry-card").hidden = false;
    toggles();
    show(1);
  }

  /* --- the list ---------------------------------------------------------------------- */
  function claimTag(row) {
    if (row.claimed) return C.tag("已认领", "green");
    if (row.claim_code_expired) return C.tag("认领码已过期", "red");
    return el("span", null, C.tag("未认领", "orange"), el("span", { class: "muted" }, " 有效期至 " + C.time(row.claim_code_expires_at).slice(0, 10)));
  }

  function reissue(row) {
    C.confirm("重新生成认领码", "将为 " + row.child_name + "（报名编号 " + row.id + "）的家庭生成新的认领码。\n原认领码立即作废，请把新打印的认领单交给家长。", function () {
      return C.api("POST", BASE + "/" + row.id + "/claim-code").then(function (data) {
        document.getElementById("entry-card").hidden = true;
        document.getElementById("result-card").hidden = false;
        document.getElementById("back-to-form").hidden = true;
        document.getElementById("ticket-state").textContent = "新认领码";
        C.clear(document.getElementById("result-message")).appendChild(el("div", { class: "alert success" },
          "已生成新的认领码，原认领码已作废。请打印认领单交给家长。"));
        showSlip(data.slip, data.registration_id);
        document.getElementById("result-card").scrollIntoView({ block: "start" });
        list.load();
      });
    }, { label: "生成新认领码" });
  }

  var list = C.listPage({
    form: "list-filters", table: "list-table", foot: "list-foot", url: BASE, perPage: 10, keepUrl: true,
    empty: "还没有代报名记录：家庭到窗口办理时，在上方按步骤录入即可",
    columns: [
      { title: "报名编号", render: function (r) { return String(r.id); } },
      bureau ? { title: "学校", render: function (r) { return r.school.name; } } : null,
      { title: "儿童", render: function (r) { return r.child_name; } },
      { title: "家长", render: function (r) { return r.guardian_name; } },
      { title: "状态", render: function (r) { return C.statusTag(r.status, r.status_name); } },
      { title: "代报名时间", render: function (r) { return C.time(r.entered_at); } },
      { title: "经办", render: function (r) { return (r.entered_by_role || "") + (r.entered_by_name ? " · " + r.entered_by_name : ""); } },
      { title: "认领", render: function (r) { return el("span", { "data-testid": "claim-state-" + r.id }, claimTag(r)); } },
      { title: "操作", render: function (r) {
        return r.claimed ? "—" : el("button", { type: "button", class: "btn btn-link", "data-testid": "reissue-" + r.id,
          onclick: function () { reissue(r); } }, "重新生成认领码");
      } },
    ].filter(Boolean),
  });

  renderUploads();
  toggles();
  show(1);
})();
