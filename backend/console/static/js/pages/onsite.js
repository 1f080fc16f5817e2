/* 现场报到: time slots (create, edit, delete, roster), booking a slot on a family's behalf,
 * check-in by a scanner, a typed code or the camera (BarcodeDetector where the browser has
 * it), and the no-show list — all through the onsite API. */
(function () {
  "use strict";
  var el = C.el;
  var bureau = C.role === "bureau_admin";
  var BASE = "/api/v1/staff/onsite";
  var ROLES = { parent: "家长自约", school_staff: "学校代约", bureau_admin: "教育局代约" };
  var season = null;
  var slots = [];          // the slots in view (for the booking picker)
  var admitted = null;     // the admitted-children list, made when its tab is first shown
  var params = new URLSearchParams(location.search);
  var school = bureau ? (params.get("school") || "") : C.school;
  var schoolOptions = [["", "请选择学校"]].concat(JSON.parse(document.getElementById("page-options").textContent).schools);

  /* --- small helpers -------------------------------------------------------------- */
  function day(iso) { return iso ? iso.slice(0, 10) : ""; }
  function clock(iso) { return iso ? iso.slice(11, 16) : ""; }
  function span(slot) { return day(slot.starts_at) + " " + clock(slot.starts_at) + "–" + clock(slot.ends_at); }
  function state(slot) {
    var now = Date.now();
    if (Date.parse(slot.ends_at) <= now) return "ended";
    return Date.parse(slot.starts_at) <= now ? "running" : "upcoming";
  }
  function stateTag(slot) {
    return { upcoming: C.tag("未开始", "blue"), running: C.tag("进行中", "green"), ended: C.tag("已结束", "gray") }[state(slot)];
  }
  function keepUrl(extra) {
    var q = { tab: current, school: bureau ? school : "" };
    history.replaceState(null, "", location.pathname + C.query(Object.assign(q, extra || {})));
  }
  function schoolQuery() { return bureau && school ? { school: school } : {}; }

  /* --- tabs (kept in the address bar) --------------------------------------------- */
  var current = null;
  var loaders = {};
  function show(tab) {
    var buttons = document.querySelectorAll("#tabs [role=tab]");
    var known = Array.prototype.some.call(buttons, function (b) { return b.dataset.tab === tab; });
    if (!known) tab = buttons[0].dataset.tab;
    current = tab;
    Array.prototype.forEach.call(buttons, function (b) {
      var on = b.dataset.tab === tab;
      b.setAttribute("aria-selected", on ? "true" : "false");
      b.tabIndex = on ? 0 : -1;
      document.getElementById("panel-" + b.dataset.tab).hidden = !on;
    });
    if (tab !== "checkin") camera.stop();
    keepUrl();
    if (loaders[tab] && season) loaders[tab]();
    if (tab === "checkin") document.getElementById("scan").focus();
  }
  document.getElementById("tabs").addEventListener("click", function (e) {
    var button = e.target.closest("[role=tab]");
    if (button) show(button.dataset.tab);
  });
  document.getElementById("tabs").addEventListener("keydown", function (e) {
    if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
    var buttons = Array.prototype.slice.call(document.querySelectorAll("#tabs [role=tab]"));
    var index = buttons.findIndex(function (b) { return b.dataset.tab === current; });
    var next = buttons[(index + (e.key === "ArrowRight" ? 1 : buttons.length - 1)) % buttons.length];
    show(next.dataset.tab);
    next.focus();
  });

  /* --- slots ------------------------------------------------------------------------ */
  function loadSlots() {
    return C.api("GET", BASE + "/slots" + C.query(Object.assign({ season_id: season.id }, schoolQuery()))).then(function (data) {
      slots = data.items;
      C.table(document.getElementById("table"), [
        bureau ? { title: "学校", render: function (s) { return s.school.name; } } : null,
        { title: "时段", render: function (s) { return span(s); } },
        { title: "地点", render: function (s) { return s.place; } },
        { title: "容量", class: "num", render: function (s) { return String(s.capacity); } },
        { title: "已预约", class: "num", render: function (s) { return String(s.booked); } },
        { title: "已报到", class: "num", render: function (s) { return el("span", { "data-testid": "checked-in-" + s.id }, String(s.checked_in)); } },
        { title: "剩余", class: "num", render: function (s) { return String(s.available); } },
        { title: "状态", render: stateTag },
        { title: "说明", render: function (s) { return s.note; } },
        { title: "操作", render: function (s) {
          return el("span", null,
            el("button", { type: "button", class: "btn btn-link", "data-testid": "roster-" + s.id, onclick: function () { roster(s); } }, "名单"),
            el("button", { type: "button", class: "btn btn-link", "data-testid": "edit-" + s.id, onclick: function () { slotForm(s); } }, "编辑"),
            el("button", { type: "button", class: "btn btn-link", "data-testid": "delete-" + s.id, onclick: function () { removeSlot(s); } }, "删除"));
        } },
      ].filter(Boolean), data.items, { empty: bureau && !school ? "全县尚未设置报到时段：选择学校后点击“新增时段”" : "尚未设置报到时段：点击右上角“新增时段”，按日期、时间和地点分批安排家庭到校" });
      return data;
    }).catch(C.fail);
  }
  loaders.slots = loadSlots;

  function slotFields(slot) {
    var fields = [];
    if (bureau && !slot) fields.push({ name: "school", label: "学校", type: "select", options: schoolOptions, value: school });
    fields.push(
      { name: "date", label: "日期", type: "date", required: true, value: slot ? day(slot.starts_at) : "" },
      { name: "start", label: "开始时间", type: "time", required: true, value: slot ? clock(slot.starts_at) : "08:30" },
      { name: "end", label: "结束时间", type: "time", required: true, value: slot ? clock(slot.ends_at) : "09:30" },
      { name: "place", label: "地点", required: true, maxlength: 200, placeholder: "例如：学校一楼报到处", value: slot ? slot.place : "" },
      { name: "capacity", label: "容量（人）", type: "number", min: 1, max: 10000, required: true, value: slot ? slot.capacity : 30,
        hint: slot && slot.booked ? "已有 " + slot.booked + " 户预约，容量不能少于已预约人数" : null },
      { name: "note", label: "说明（可选，随预约通知发给家长）", maxlength: 200, value: slot ? slot.note : "", placeholder: "例如：请携带户口簿原件" });
    return fields;
  }

  /* Client-side checks, each shown next to its field; the API checks the same again. */
  function slotBody(v) {
    if (!v.date) throw C.fieldError("date", "请选择日期");
    if (!v.start) throw C.fieldError("start", "请填写开始时间");
    if (!v.end) throw C.fieldError("end", "请填写结束时间");
    if (v.end <= v.start) throw C.fieldError("end", "结束时间须晚于开始时间");
    if (!v.place) throw C.fieldError("place", "请填写地点");
    var capacity = parseInt(v.capacity, 10);
    if (!(capacity >= 1)) throw C.fieldError("capacity", "容量至少为 1 人");
    return { starts_at: v.date + "T" + v.start + ":00+08:00", ends_at: v.date + "T" + v.end + ":00+08:00",
      place: v.place, capacity: capacity, note: v.note || "" };
  }

  /* The API's answers about one field, shown next to it. */
  var SLOT_FIELD = { SLOT_TIMES_INVALID: "end", SLOT_TOO_LONG: "end", SLOT_IN_PAST: "date", CAPACITY_BELOW_BOOKED: "capacity", SCHOOL_REQUIRED: "school" };
  var API_FIELD = { starts_at: "start", ends_at: "end" };
  function onField(map) {
    return function (error) {
      if (error && map[error.code]) error.field = map[error.code];
      if (error && error.details && error.details.fields) {
        error.details.fields.forEach(function (f) { if (API_FIELD[f.field]) f.field = API_FIELD[f.field]; });
      }
      throw error;
    };
  }

  function slotForm(slot) {
    var fields = slotFields(slot);
    if (slot && slot.booked) {
      fields.unshift({ node: el("div", { class: "alert warning" }, "该时段已有 " + slot.booked + " 户家庭预约。修改时间或地点后，系统会向其中尚未报到的家庭重新发送预约通知。") });
    }
    C.modal(slot ? "编辑报到时段" : "新增报到时段", fields, function (v) {
      var body = slotBody(v);
      if (!slot) {
        body.season_id = season.id;
        if (bureau) {
          if (!v.school) throw C.fieldError("school", "请选择学校");
          body.school = v.school;
        }
        return C.api("POST", BASE + "/slots", body).then(function () { C.toast("已新增时段", "success"); loadSlots(); }, onField(SLOT_FIELD));
      }
      return C.api("PATCH", BASE + "/slots/" + slot.id, body).then(function () { C.toast("已保存时段", "success"); loadSlots(); }, onField(SLOT_FIELD));
    }, slot ? "保存" : "新增");
  }

  function removeSlot(slot) {
    C.confirm("删除报到时段", "将删除 " + span(slot) + "（" + slot.place + "）这个时段，删除后不能恢复。已有家庭预约的时段不能删除。", function () {
      return C.api("DELETE", BASE + "/slots/" + slot.id).then(function () { C.toast("已删除时段", "success"); loadSlots(); });
    });
  }

  function roster(slot) {
    C.api("GET", BASE + "/slots/" + slot.id + "/bookings").then(function (data) {
      var box = el("div");
      C.table(box, [
        { title: "报名编号", render: function (b) { return String(b.registration_id); } },
        { title: "儿童", render: function (b) { return b.child_name; } },
        { title: "预约方式", render: function (b) { return ROLES[b.booked_by_role] || b.booked_by_role; } },
        { title: "报到", render: function (b) {
          if (!b.checked_in) return C.tag(state(slot) === "ended" ? "未到场" : "未报到", state(slot) === "ended" ? "red" : "gray");
          return el("span", null, C.tag("已报到", "green"), " " + C.time(b.checked_in_at).slice(5) + (b.checked_in_by_name ? " · " + b.checked_in_by_name : ""),
            b.off_slot ? C.tag("非预约时段", "orange") : null);
        } },
      ], data.items, { empty: "该时段暂无家庭预约" });
      C.drawer.open("时段名单 · " + span(slot), el("div", null,
        C.desc([["学校", slot.school.name], ["地点", slot.place], ["容量", String(slot.capacity)], ["已预约", String(slot.booked)],
          ["已报到", String(slot.checked_in)], ["状态", stateTag(slot)]]),
        el("h4", { class: "section-title" }, "预约名单（" + data.items.length + "）"), box));
    }).catch(C.fail);
  }

  // Disabled in the page until the season is known: an early click must not go unanswered.
  document.getElementById("new-slot").addEventListener("click", function () { slotForm(null); });

  /* --- booking on a family's behalf ------------------------------------------------- */
  /* Slots a child of `code`'s school can be put in now: not ended, with a place left. */
  function openSlots(code, except) {
    return C.api("GET", BASE + "/slots" + C.query({ season_id: season.id, school: bureau ? code : "" })).then(function (data) {
      return data.items.filter(function (s) { return state(s) !== "ended" && (s.available > 0 || s.id === except); });
    });
  }

  function bookFor(row, done) {
    var currentSlot = row.slot ? row.slot.id : null;
    openSlots(row.slot ? row.slot.school.code : school, currentSlot).then(function (choices) {
      if (!choices.length) {
        C.toast("没有可预约的时段：请先在“报到时段”中新增时段，或为已满的时段增加容量", "error");
        return;
      }
      var fields = [
        { node: C.desc([["儿童", row.child_name], ["报名编号", String(row.registration_id)], ["当前预约", row.slot ? span(row.slot) + " · " + row.slot.place : "未预约"]]) },
        { name: "slot_id", label: "预约时段", type: "select", value: String(currentSlot || choices[0].id),
          options: choices.map(function (s) { return [String(s.id), span(s) + " · " + s.place + " · 剩余 " + s.available]; }) },
        { node: el("div", { class: "alert warning" }, row.slot
          ? "改约后家长原来的入场凭证立即作废，需在小程序中出示新的凭证；家长会收到新的预约通知。此操作记入操作日志。"
          : "将为该家庭预约所选时段，家长会收到预约通知，到校时出示小程序中的入场凭证。此操作记入操作日志。") },
      ];
      C.modal(row.slot ? "为家长改约" : "为家长预约", fields, function (v) {
        if (currentSlot && String(currentSlot) === v.slot_id) throw C.fieldError("slot_id", "已在该时段，请选择其他时段");
        return C.api("POST", BASE + "/bookings", { registration_id: row.registration_id, slot_id: parseInt(v.slot_id, 10) })
          .then(function (b) { C.toast("已为 " + b.child_name + " 预约 " + span(b.slot), "success"); done(); }, onField({ SLOT_FULL: "slot_id", SLOT_CLOSED: "slot_id" }));
      }, "确认预约");
    }).catch(C.fail);
  }

  function admittedList() {
    if (bureau && !school) {
      C.clear(document.getElementById("admitted-table")).appendChild(el("div", { class: "empty-state" }, el("p", null, "请先在上方选择一所学校，再为该校已确认录取的家庭预约时段。")));
      C.clear(document.getElementById("admitted-foot"));
      return;
    }
    if (admitted) { admitted.load(); return; }
    admitted = C.listPage({
      url: BASE + "/admitted", form: "admitted-filters", table: "admitted-table", foot: "admitted-foot",
      keepUrl: true, perPage: 20,
      extra: function () { return Object.assign({ season_id: season.id }, schoolQuery()); },
      empty: "没有符合条件的已确认录取儿童",
      loaded: function (data) { document.getElementById("admitted-summary").textContent = "共 " + data.total + " 人"; },
      columns: [
        { title: "报名编号", render: function (r) { return String(r.registration_id); } },
        { title: "儿童", render: function (r) { return r.child_name; } },
        { title: "预约时段", render: function (r) { return r.slot ? span(r.slot) + " · " + r.slot.place : el("span", { class: "muted" }, "未预约"); } },
        { title: "预约方式", render: function (r) { return r.booked_by_role ? ROLES[r.booked_by_role] || r.booked_by_role : "—"; } },
        { title: "报到", render: function (r) { return r.checked_in ? C.tag("已报到 " + C.time(r.checked_in_at).slice(5), "green") : C.tag("未报到", "gray"); } },
        { title: "操作", render: function (r) {
          if (r.checked_in) return el("span", { class: "muted" }, "已完成报到");
          return el("button", { type: "button", class: "btn btn-link", "data-testid": "book-" + r.registration_id,
            onclick: function () { bookFor(r, function () { admitted.load(); }); } }, r.slot ? "改约" : "预约时段");
        } },
      ],
    });
  }
  loaders.book = admittedList;

  /* --- no-shows ----------------------------------------------------------------------- */
  var noshowForm = document.getElementById("noshow-filters");
  function loadNoShows() {
    var v = C.formValues(noshowForm);
    var q = Object.assign({ season_id: season.id, date: v.date }, schoolQuery());
    keepUrl({ date: v.date });
    return C.api("GET", BASE + "/no-shows" + C.query(q)).then(function (data) {
      var box = C.clear(document.getElementById("noshow-list"));
      document.getElementById("noshow-summary").textContent = "共 " + data.total + " 户未到场";
      if (!data.items.length) {
        box.appendChild(el("div", { class: "empty-state" }, el("p", null, v.date ? "所选日期没有已结束的时段。" : "还没有已结束的时段：时段结束后，预约了但没有报到的家庭会列在这里。")));
        return;
      }
      data.items.forEach(function (group) {
        var s = group.slot;
        var table = el("div");
        C.table(table, [
          { title: "报名编号", render: function (n) { return String(n.registration_id); } },
          { title: "儿童", render: function (n) { return n.child_name; } },
          { title: "预约方式", render: function (n) { return ROLES[n.booked_by_role] || n.booked_by_role; } },
          { title: "操作", render: function (n) {
            return el("button", { type: "button", class: "btn btn-link", "data-testid": "rebook-" + n.registration_id,
              onclick: function () { bookFor({ registration_id: n.registration_id, child_name: n.child_name, slot: s }, loadNoShows); } }, "改约到其他时段");
          } },
        ], group.no_shows, { empty: "该时段预约的家庭均已报到" });
        box.appendChild(el("div", { class: "slot-group", "data-testid": "noshow-slot-" + s.id },
          el("h4", null, (bureau ? s.school.name + " · " : "") + span(s) + " · " + s.place,
            el("span", { class: "muted" }, "　已预约 " + s.booked + " · 已报到 " + s.checked_in + " · 未到场 " + group.no_shows.length)),
          table));
      });
    }).catch(C.fail);
  }
  noshowForm.addEventListener("submit", function (e) { e.preventDefault(); loadNoShows(); });
  noshowForm.addEventListener("reset", function () { setTimeout(loadNoShows, 0); });
  if (params.get("date")) noshowForm.elements.date.value = params.get("date");
  loaders.noshows = loadNoShows;

  /* --- check-in (school staff at the desk) --------------------------------------------- */
  var log = [];
  var busy = false;
  var resultBox = document.getElementById("checkin-result");

  /* What the desk reads for each answer of POST /staff/checkins. */
  function refusal(error) {
    var d = error.details || {};
    switch (error.code) {
      case "TICKET_INVALID":
        return ["error", "凭证无效", "这不是本平台签发的入场凭证，或家长改约后仍在使用旧凭证。请家长在小程序中打开最新的入场凭证后重新扫码。"];
      case "TICKET_OTHER_SCHOOL":
        return ["warning", "不是本校的凭证", "该家庭预约的是其他学校，请家长前往预约的学校报到。本次未做任何记录。"];
      case "TICKET_USED":
        return ["warning", "凭证已使用", "该家庭已于 " + C.time(d.checked_in_at, true) + (d.checked_in_by_name ? " 由 " + d.checked_in_by_name : "") + " 办理报到，无需重复报到。"];
      case "NOT_ADMITTED":
        return ["error", "录取状态已变更", "该儿童目前没有已确认的录取（可能已放弃或被撤销），不能办理报到，请联系教育局核实。"];
      case "VALIDATION_FAILED":
        return ["error", "未识别到凭证码", "请重新扫描，或手工输入家长出示的凭证码（T1- 开头）。"];
      default:
        return ["error", "报到失败", error.message || "请稍后重试"];
    }
  }

  function showResult(kind, title, text, testid, extra) {
    C.clear(resultBox).appendChild(el("div", { class: "alert " + kind, "data-testid": testid },
      el("span", { class: "result-title" }, title), text, extra || null));
  }

  function renderLog() {
    document.getElementById("checkin-count").textContent = "共 " + log.length + " 人";
    C.table(document.getElementById("checkin-log"), [
      { title: "时间", render: function (x) { return C.time(x.checked_in_at, true).slice(11); } },
      { title: "儿童", render: function (x) { return x.child_name; } },
      { title: "报名编号", render: function (x) { return String(x.registration_id); } },
      { title: "时段", render: function (x) { return span(x.slot).slice(5); } },
      { title: "", render: function (x) { return x.off_slot ? C.tag("非预约时段", "orange") : C.tag("准时", "green"); } },
    ], log);
  }

  function checkIn(code, via) {
    code = (code || "").trim();
    if (!code || busy) return Promise.resolve();
    busy = true;
    showResult("", "正在核验…", "", "checkin-pending");
    return C.api("POST", "/api/v1/staff/checkins", { code: code }).then(function (r) {
      showResult(r.off_slot ? "warning" : "success", "报到成功", r.child_name + "（报名编号 " + r.registration_id + "） · 预约时段 " + span(r.slot) + " · " + r.slot.place,
        "checkin-ok", r.warning ? el("div", { "data-testid": "checkin-warning" }, "注意：" + r.warning + "，已记录，请按学校安排办理。") : null);
      log.unshift(r);
      renderLog();
      loadSlots();
    }).catch(function (error) {
      var r = refusal(error);
      showResult(r[0], r[1], r[2], "checkin-error");
      resultBox.firstChild.dataset.code = error.code || "";
    }).then(function () {
      busy = false;
      if (via !== "camera") document.getElementById("scan").focus();
    });
  }

  var camera = { stream: null, timer: null, detector: null, last: "", lastAt: 0,
    stop: function () {
      if (camera.timer) clearTimeout(camera.timer);
      camera.timer = null;
      if (camera.stream) camera.stream.getTracks().forEach(function (t) { t.stop(); });
      camera.stream = null;
      var video = document.getElementById("camera-video");
      if (!video) return;
      video.srcObject = null;
      video.hidden = true;
      document.getElementById("camera-stop").hidden = true;
      document.getElementById("camera-start").hidden = !cameraSupported();
    } };

  function cameraSupported() {
    return typeof window.BarcodeDetector === "function" && !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
  }

  function cameraStatus(text) { document.getElementById("camera-status").textContent = text; }

  function scanFrames(video) {
    camera.timer = setTimeout(function tick() {
      if (!camera.stream) return;
      camera.detector.detect(video).then(function (codes) {
        var value = codes && codes.length ? String(codes[0].rawValue || "").trim() : "";
        // The same code held in front of the camera is read many times a second: once is enough.
        if (value && !busy && !(value === camera.last && Date.now() - camera.lastAt < 5000)) {
          camera.last = value;
          camera.lastAt = Date.now();
          return checkIn(value, "camera");
        }
        return null;
      }).catch(function () { return null; }).then(function () {
        if (camera.stream) camera.timer = setTimeout(tick, 250);
      });
    }, 250);
  }

  function startCamera() {
    var video = document.getElementById("camera-video");
    var Detector = window.BarcodeDetector;
    var formats = typeof Detector.getSupportedFormats === "function" ? Detector.getSupportedFormats() : Promise.resolve(["qr_code"]);
    cameraStatus("正在打开摄像头…");
    Promise.resolve(formats).then(function (list) {
      if (list.indexOf("qr_code") < 0) throw new Error("unsupported");
      camera.detector = new Detector({ formats: ["qr_code"] });
      return navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    }).then(function (stream) {
      camera.stream = stream;
      video.srcObject = stream;
      video.hidden = false;
      document.getElementById("camera-start").hidden = true;
      document.getElementById("camera-stop").hidden = false;
      return video.play();
    }).then(function () {
      cameraStatus("摄像头已打开：请家长将入场凭证二维码对准画面");
      scanFrames(video);
    }).catch(function (error) {
      camera.stop();
      cameraStatus(error && error.name === "NotAllowedError" ? "未获得摄像头权限：请在浏览器地址栏允许使用摄像头，或使用扫码枪、手工输入凭证码。"
        : error && error.message === "unsupported" ? "本设备的浏览器不能识别二维码，请使用扫码枪或手工输入凭证码。"
          : "摄像头无法打开（可能未连接或正被其他程序使用），请使用扫码枪或手工输入凭证码。");
    });
  }

  if (!bureau) {
    document.getElementById("checkin-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var input = document.getElementById("scan");
      var code = input.value;
      input.value = "";
      checkIn(code, "keyboard");
    });
    if (cameraSupported()) {
      document.getElementById("camera-start").hidden = false;
      document.getElementById("camera-start").addEventListener("click", startCamera);
      document.getElementById("camera-stop").addEventListener("click", function () { camera.stop(); cameraStatus(""); document.getElementById("scan").focus(); });
    } else {
      cameraStatus("本浏览器不支持摄像头识别二维码，请使用扫码枪或手工输入凭证码。");
    }
    document.addEventListener("visibilitychange", function () { if (document.hidden) camera.stop(); });
    loaders.checkin = function () { if (!slots.length) loadSlots(); };
  }

  /* --- the bureau's school choice ------------------------------------------------------ */
  var schoolForm = document.getElementById("school-filter");
  if (schoolForm) {
    schoolForm.elements.school.value = school;
    schoolForm.addEventListener("submit", function (e) {
      e.preventDefault();
      school = schoolForm.elements.school.value;
      show(current);
    });
  }

  C.season().then(function (s) {
    season = s;
    document.getElementById("new-slot").disabled = false;
    document.getElementById("season-label").textContent = s.name;
    show(params.get("tab") || (bureau ? "slots" : "checkin"));
  }).catch(function (error) { show("slots"); C.noSeason("table")(error); });
})();
