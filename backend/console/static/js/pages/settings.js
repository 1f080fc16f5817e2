/* 系统设置 (bureau): the seasons (create from the previous one, edit, timeline, publish,
 * archive) and catalogue imports with a dry run (staff accounts and the audit log have
 * their own scripts). */
(function () {
  "use strict";
  var el = C.el;
  var page = document.currentScript.dataset.page;
  var STATES = { upcoming: "未开始", in_progress: "进行中", registration_open: "报名中", finished: "已结束", archived: "已归档" };

  /* --- 招生日程: the seasons, one selected for editing ----------------------------------- */
  var STATUS_COLORS = { draft: "gray", published: "green", archived: "blue" };
  var STAGES = { primary: "小学", junior: "初中" };

  function local(iso) { return iso ? iso.slice(0, 16) : ""; }

  function seasonPage() {
    var state = { seasons: [], current: null, copied: null };
    var tableBox = document.getElementById("season-table");
    var detail = document.getElementById("season-detail");
    var form = document.getElementById("season-form");
    var phaseForm = document.getElementById("phase-form");
    var notice = form.elements.must_read_notice;

    function load(selectId) {
      return C.api("GET", "/api/v1/admin/seasons").then(function (data) {
        state.seasons = data.items;
        C.table(tableBox, [
          { title: "招生季", render: function (s) { return el("span", null, el("strong", null, s.name), s.is_sample ? " " : null, s.is_sample ? C.tag("示例数据", "orange") : null); } },
          { title: "年度", render: function (s) { return String(s.year); } },
          { title: "学段", render: function (s) { return STAGES[s.stage] || s.stage; } },
          { title: "状态", render: function (s) { return el("span", { "data-testid": "status-" + s.id }, C.tag(s.status_name, STATUS_COLORS[s.status])); } },
          { title: "进度", render: function (s) { return s.status === "draft" ? "未发布" : STATES[s.state] || s.state; } },
          { title: "报名时间（北京时间）", render: function (s) { return C.time(s.registration_opens_at) + " 至 " + C.time(s.registration_closes_at); } },
          { title: "操作", render: function (s) { return el("button", { type: "button", class: "btn btn-link", "data-testid": "edit-" + s.id, onclick: function () { show(s); } }, s.status === "archived" ? "查看" : "编辑"); } },
        ], data.items, { empty: "还没有招生季：点击右上角“从上一季复制新建”，创建第一个招生季（可不复制）。", onRow: function (s) { show(s); } });
        var wanted = selectId || parseInt(new URLSearchParams(location.search).get("season") || "0", 10) || (state.current && state.current.id);
        var found = data.items.filter(function (s) { return s.id === wanted; })[0] || data.items[0];
        if (found) show(found); else detail.hidden = true;
      }).catch(C.fail);
    }

    function notes(s) {
      var box = C.clear(document.getElementById("detail-notes"));
      var opened = Date.parse(s.registration_opens_at) <= Date.now();
      var text = s.status === "draft" ? ["", "草稿：家长和公众看不到，发布前可以随意修改。"]
        : s.status === "archived" ? ["", "已归档：作为历史记录保留，设置不能再修改。"]
        : opened ? ["warning", "已发布且报名已经开始：报名开始时间和入学年龄已固定；截止时间可以延后，也可以提前但不能早于现在。每次修改都记入操作日志。"]
        : ["", "已发布：家长和公众可以看到本招生季的日程和须知。报名开始前仍可修改各项设置。"];
      box.appendChild(el("div", { class: "alert " + text[0], style: "margin-bottom:12px", "data-testid": "season-note" }, text[1]));
      if (state.copied && state.copied.seasonId === s.id) {
        var c = state.copied.summary;
        box.appendChild(el("div", { class: "alert success", style: "margin-bottom:12px", "data-testid": "copy-summary" },
          "已从上一季复制：" + c.seat_plans + " 所学校的招生计划、" + c.priority_tiers + " 所学校的优先顺序、" + c.phases + " 个时间节点和报名须知。" +
          (c.seat_plans_over_cap ? c.seat_plans_over_cap + " 所学校的班额超过现行上限，未复制，请重新设置。" : "") + c.shared + "。 ",
          el("a", { href: "/console/admission/seat-plans?season=" + s.id }, "去核对招生计划 →")));
      }
      return opened;
    }

    function show(s) {
      state.current = s;
      history.replaceState(null, "", location.pathname + "?season=" + s.id);
      Array.prototype.forEach.call(tableBox.querySelectorAll("tbody tr"), function (tr) { tr.classList.toggle("selected", tr.dataset.id === String(s.id)); });
      detail.hidden = false;
      document.getElementById("detail-title").textContent = s.name;
      C.append(C.clear(document.getElementById("detail-status")), C.tag(s.status_name, STATUS_COLORS[s.status]));
      document.getElementById("publish").hidden = s.status !== "draft";
      document.getElementById("archive").hidden = s.status !== "published";
      var opened = notes(s);
      C.clearFieldErrors(form);
      form.elements.name.value = s.name;
      form.elements.registration_opens_at.value = local(s.registration_opens_at);
      form.elements.registration_closes_at.value = local(s.registration_closes_at);
      form.elements.age_cutoff.value = s.age_cutoff;
      form.elements.purge_personal_data_after.value = s.purge_personal_data_after || "";
      notice.value = s.must_read_notice || "";
      countNotice();
      var archived = s.status === "archived";
      var fixed = s.status === "published" && opened;
      Array.prototype.forEach.call(form.elements, function (input) { input.disabled = archived; });
      form.elements.registration_opens_at.disabled = archived || fixed;
      form.elements.age_cutoff.disabled = archived || fixed;
      phases(s);
    }

    function countNotice() {
      document.getElementById("notice-count").textContent = notice.value.length + " / 5000 字";
    }
    notice.addEventListener("input", countNotice);

    /* The timeline editor: one row per phase; the registration phase is the window. */
    var rows = [];
    function phases(s) {
      rows = s.phases.map(function (p) { return { key: p.key, name: p.name, starts_at: local(p.starts_at), ends_at: local(p.ends_at) }; });
      drawPhases();
    }
    function readPhases() {
      rows.forEach(function (row, n) {
        ["name", "starts_at", "ends_at"].forEach(function (field) {
          var input = phaseForm.elements["phases." + n + "." + field];
          if (input && !input.disabled) row[field] = input.value.trim();
        });
      });
    }
    function drawPhases() {
      var s = state.current;
      var locked = s.status === "archived";
      C.clearFieldErrors(phaseForm);
      C.table(document.getElementById("phase-table"), [
        { title: "序号", render: function (r, n) { return String(n + 1); } },
        { title: "阶段名称", render: function (r, n) { return el("label", { class: "field" }, el("input", { name: "phases." + n + ".name", value: r.name, maxlength: 100, disabled: locked, "aria-label": "第 " + (n + 1) + " 阶段名称", "data-testid": "phase-name-" + n })); } },
        { title: "开始（北京时间）", render: function (r, n) { return el("label", { class: "field" }, el("input", { type: "datetime-local", name: "phases." + n + ".starts_at", value: r.key === "registration" ? local(s.registration_opens_at) : r.starts_at, disabled: locked || r.key === "registration", "aria-label": "第 " + (n + 1) + " 阶段开始时间" })); } },
        { title: "结束（北京时间）", render: function (r, n) { return el("label", { class: "field" }, el("input", { type: "datetime-local", name: "phases." + n + ".ends_at", value: r.key === "registration" ? local(s.registration_closes_at) : r.ends_at, disabled: locked || r.key === "registration", "aria-label": "第 " + (n + 1) + " 阶段结束时间" })); } },
        { title: "", render: function (r, n) {
          if (r.key === "registration") return el("span", { class: "muted" }, "即报名时间");
          return el("button", { type: "button", class: "btn btn-link", disabled: locked, onclick: function () { readPhases(); rows.splice(n, 1); drawPhases(); } }, "删除");
        } },
      ], rows, { empty: "尚无时间节点：点击“添加阶段”，如“招生方案公示”“现场报到”。" });
      phaseForm.querySelector("#add-phase").disabled = locked;
      phaseForm.querySelector("#save-phases").disabled = locked;
    }
    document.getElementById("add-phase").addEventListener("click", function () {
      readPhases();
      var keys = rows.map(function (r) { return r.key; });
      var n = rows.length + 1;
      while (keys.indexOf("phase_" + n) >= 0) n++;
      rows.push({ key: "phase_" + n, name: "", starts_at: "", ends_at: "" });
      drawPhases();
      phaseForm.elements["phases." + (rows.length - 1) + ".name"].focus();
    });
    phaseForm.addEventListener("submit", function (event) {
      event.preventDefault();
      readPhases();
      var s = state.current;
      var missing = [];
      rows.forEach(function (r, n) {
        if (!r.name) missing.push({ field: "phases." + n + ".name", message: "请填写阶段名称" });
        if (r.key !== "registration" && !r.starts_at) missing.push({ field: "phases." + n + ".starts_at", message: "请选择开始时间" });
        if (r.key !== "registration" && !r.ends_at) missing.push({ field: "phases." + n + ".ends_at", message: "请选择结束时间" });
      });
      if (missing.length) { C.showFieldErrors(phaseForm, { details: { fields: missing } }); return; }
      var body = { phases: rows.map(function (r) {
        return r.key === "registration"
          ? { key: r.key, name: r.name, starts_at: s.registration_opens_at, ends_at: s.registration_closes_at }
          : { key: r.key, name: r.name, starts_at: C.localIso(r.starts_at), ends_at: C.localIso(r.ends_at) };
      }) };
      C.busy(document.getElementById("save-phases"), function () {
        return C.api("PUT", "/api/v1/admin/seasons/" + s.id + "/phases", body).then(function (saved) {
          C.toast("时间节点已保存", "success");
          return load(saved.id);
        }).catch(function (error) { if (!C.showFieldErrors(phaseForm, error)) C.fail(error); });
      }, "保存中…");
    });

    var FIELD_OF = { REGISTRATION_ALREADY_OPENED: "registration_opens_at", AGE_CUTOFF_FIXED: "age_cutoff",
      WINDOW_OVERLAP: "registration_opens_at", PERSONAL_DATA_PURGED: "purge_personal_data_after" };
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var s = state.current;
      var v = C.formValues(form);
      var missing = ["name", "registration_opens_at", "registration_closes_at", "age_cutoff"].filter(function (f) {
        return !form.elements[f].disabled && !v[f];
      }).map(function (f) { return { field: f, message: "此项必填" }; });
      if (missing.length) { C.showFieldErrors(form, { details: { fields: missing } }); return; }
      var body = { name: v.name, must_read_notice: v.must_read_notice, registration_closes_at: C.localIso(v.registration_closes_at),
        purge_personal_data_after: v.purge_personal_data_after || null };
      if (!form.elements.registration_opens_at.disabled) body.registration_opens_at = C.localIso(v.registration_opens_at);
      if (!form.elements.age_cutoff.disabled) body.age_cutoff = v.age_cutoff;
      C.busy(document.getElementById("save-season"), function () {
        return C.api("PATCH", "/api/v1/admin/seasons/" + s.id, body).then(function (saved) {
          C.toast("设置已保存", "success");
          return load(saved.id);
        }).catch(function (error) {
          if (FIELD_OF[error.code]) error = new C.FieldError(FIELD_OF[error.code], error.message);
          if (!C.showFieldErrors(form, error)) C.fail(error);
        });
      }, "保存中…");
    });

    document.getElementById("publish").addEventListener("click", function () {
      var s = state.current;
      C.confirm("发布招生季", "发布后，家长和公众即可在小程序和门户网站看到“" + s.name + "”的报名时间（" + C.time(s.registration_opens_at) + " 至 " +
        C.time(s.registration_closes_at) + "）、时间节点和报名须知，报名时间一到即可提交报名。发布后不能退回草稿；报名开始后，开始时间和入学年龄不能再修改。",
      function () {
        return C.api("POST", "/api/v1/admin/seasons/" + s.id + "/publish").then(function (saved) {
          C.toast("已发布", "success");
          return load(saved.id);
        });
      }, { label: "确认发布" });
    });
    document.getElementById("archive").addEventListener("click", function () {
      var s = state.current;
      C.confirm("归档招生季", "归档后“" + s.name + "”作为历史记录保留：不再作为当前招生季向家长显示，报名时间、须知和时间节点都不能再修改，也不能取消归档。报名进行中不能归档。",
        function () {
          return C.api("POST", "/api/v1/admin/seasons/" + s.id + "/archive").then(function (saved) {
            C.toast("已归档", "success");
            return load(saved.id);
          });
        }, { label: "确认归档", danger: true });
    });

    document.getElementById("new-season").addEventListener("click", function () {
      var seasons = state.seasons;
      var source = seasons[0];
      var year = source ? source.year + 1 : new Date().getFullYear();
      var dialog = C.modal("从上一季复制新建", [
        { name: "copy_from_season_id", label: "复制自", type: "select", value: source ? String(source.id) : "",
          options: seasons.map(function (s) { return [String(s.id), s.name + "（" + s.status_name + "）"]; }).concat([["", "不复制，新建空白招生季"]]),
          hint: "复制招生计划、优先顺序、时间节点（顺延到新年度）和报名须知；学校和片区各季共用，无需复制" },
        { name: "year", label: "年度", type: "number", min: 2000, max: 2100, value: String(year), required: true },
        { name: "name", label: "名称", maxlength: 100, required: true, value: source ? source.name.split(String(source.year)).join(String(year)) : year + "年小学招生" },
        { name: "registration_opens_at", label: "报名开始（北京时间）", type: "datetime-local", hint: "复制时可留空：按所选招生季的报名时间顺延到新年度" },
        { name: "registration_closes_at", label: "报名截止（北京时间）", type: "datetime-local" },
      ], function (v) {
        var body = { year: parseInt(v.year, 10), name: v.name };
        if (v.copy_from_season_id) body.copy_from_season_id = parseInt(v.copy_from_season_id, 10);
        if (v.registration_opens_at) body.registration_opens_at = C.localIso(v.registration_opens_at);
        if (v.registration_closes_at) body.registration_closes_at = C.localIso(v.registration_closes_at);
        if (!v.name) throw new C.FieldError("name", "请填写名称");
        return C.api("POST", "/api/v1/admin/seasons", body).then(function (created) {
          if (created.copied) state.copied = { seasonId: created.id, summary: created.copied };
          C.toast("已创建草稿“" + created.name + "”", "success");
          return load(created.id);
        }).catch(function (error) {
          if (error.code === "SEASON_YEAR_TAKEN") throw new C.FieldError("year", error.message);
          throw error;
        });
      }, "创建草稿");
      // The name follows the year and the source until it is typed in by hand.
      var named = false;
      dialog.elements.name.addEventListener("input", function () { named = true; });
      function rename() {
        if (named) return;
        var from = seasons.filter(function (s) { return String(s.id) === dialog.elements.copy_from_season_id.value; })[0];
        var y = dialog.elements.year.value;
        dialog.elements.name.value = from ? from.name.split(String(from.year)).join(y) : y + "年小学招生";
      }
      dialog.elements.year.addEventListener("input", rename);
      dialog.elements.copy_from_season_id.addEventListener("change", function () {
        var from = seasons.filter(function (s) { return String(s.id) === dialog.elements.copy_from_season_id.value; })[0];
        if (from) dialog.elements.year.value = String(from.year + 1);
        rename();
      });
    });

    load();
  }

  function importsPage() {
    var form = document.getElementById("import-form");
    var kind = document.getElementById("kind");
    var commit = document.getElementById("commit");
    var KINDS = { regions: "乡镇与村（社区）", schools: "学校", zones: "招生片区" };
    kind.addEventListener("change", function () {
      document.getElementById("template").href = "/api/v1/admin/imports/templates/" + kind.value;
      commit.disabled = true;
    });
    document.getElementById("file").addEventListener("change", function () { commit.disabled = true; });
    function errorTable(report, rows, truncated, total) {
      var box = el("div", { style: "margin-top:12px", "data-testid": "import-errors" });
      report.appendChild(box);
      C.table(box, [{ title: "行号", class: "num", render: function (e) { return String(e.row); } },
        { title: "列", render: function (e) { return e.column || "（整行）"; } }, { title: "问题", key: "message" }], rows);
      if (truncated) report.appendChild(el("p", { class: "muted" }, "仅列出前 " + rows.length + " 处错误（共 " + total + " 行有误），请修改后重新检查。"));
    }
    /* A refused file: what is wrong, row by row where the API says so; nothing was written. */
    function refused(error) {
      var report = C.clear(document.getElementById("report"));
      var details = error.details || {};
      document.getElementById("report-note").textContent = "检查未通过（未写入任何数据） · " + KINDS[kind.value];
      report.appendChild(el("div", { class: "alert error", role: "alert", "data-testid": "import-refused" }, error.message));
      if (details.errors) {
        errorTable(report, details.errors, details.truncated, details.error_rows);
      } else if (details.expected) {
        report.appendChild(C.desc([["缺少的列", (details.missing || []).join("、") || "—"], ["无法识别的列", (details.unknown || []).join("、") || "—"],
          ["重复的列", (details.duplicate || []).join("、") || "—"], ["模板的表头", details.expected.join("、")]]));
      }
    }
    function send(dryRun) {
      var file = document.getElementById("file").files[0];
      C.clearFieldErrors(form);
      if (!file) { C.showFieldErrors(form, new C.FieldError("file", "请选择要导入的文件")); return Promise.resolve(null); }
      var data = new FormData();
      data.append("file", file);
      data.append("dry_run", dryRun ? "true" : "false");
      commit.disabled = true;
      return C.api("POST", "/api/v1/admin/imports/" + kind.value, data).then(function (r) {
        document.getElementById("report-note").textContent = (r.dry_run ? "检查结果（未写入）" : "导入完成") + " · " + KINDS[r.kind];
        var report = C.clear(document.getElementById("report"));
        report.appendChild(el("div", { class: "grid grid-4", "data-testid": "import-report" }, [
          ["数据行", r.rows], ["新增", r.created], ["更新", r.updated], ["无变化", r.unchanged],
        ].map(function (x) { return el("div", { class: "card stat-card" }, el("div", { class: "label" }, x[0]), el("div", { class: "value" }, String(x[1]))); })));
        if (r.errors.length) {
          report.appendChild(el("div", { class: "alert error", style: "margin-top:16px" }, "发现 " + r.errors.length + " 处错误，请修改文件后重新检查。"));
          errorTable(report, r.errors, false, r.errors.length);
        } else if (r.dry_run) {
          report.appendChild(el("div", { class: "alert success", style: "margin-top:16px" }, "检查通过，可以确认导入。"));
        }
        commit.disabled = !r.dry_run || r.errors.length > 0;
        if (!r.dry_run) C.toast("导入完成", "success");
      }).catch(function (error) {
        if (error.code === "IMPORT_FILE_MISSING" || error.code === "IMPORT_TOO_LARGE") {
          C.showFieldErrors(form, new C.FieldError("file", error.message));
        } else if (error instanceof C.ApiFailure && error.status === 422) {
          refused(error);
        } else {
          C.fail(error);
        }
      });
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      C.busy(form.querySelector("[data-testid=dry-run]"), function () { return send(true); }, "检查中…");
    });
    commit.addEventListener("click", function () {
      C.confirm("确认导入", "将按检查结果写入" + KINDS[kind.value] + "数据。确定吗？", function () { return send(false); });
    });
  }

  ({ season: seasonPage, imports: importsPage })[page]();
})();
