/* 失败任务 (bureau): queue messages that kept failing — which, why, when, after how many
 * tries — and replaying one (with a confirmation); the row then follows what became of it. */
(function () {
  "use strict";
  var el = C.el;
  var STREAMS = { "{intake}": "报名队列", jobs: "任务队列" };
  var ID_NAMES = { registration_id: "报名", season_id: "招生季", school_id: "学校", child_id: "儿童", user_id: "账号",
    ticket: "回执号", upload_ids: "材料", announcement_id: "公告", actor_user_id: "操作人", object_id: "对象" };
  var POLL_MS = 2000, POLLS = 30;

  /* Stream ids are unique per stream only: a row is named by both. */
  function key(letter) { return (letter.stream === "jobs" ? "jobs" : "intake") + "-" + letter.id; }

  function ids(letter) {
    var keys = Object.keys(letter.ids);
    if (!keys.length) return "—";
    return el("span", { class: "mono" }, keys.map(function (k) { return (ID_NAMES[k] || k) + " " + letter.ids[k]; }).join("；"));
  }

  function follow(box, stream, messageId, round) {
    C.api("GET", "/api/v1/admin/queue-messages/" + encodeURIComponent(stream) + "/" + messageId).then(function (m) {
      if (m.state === "processed") { C.clear(box).appendChild(C.tag("已处理成功", "green")); return; }
      if (m.state === "failed") {
        C.clear(box).appendChild(el("span", null, C.tag("再次失败", "red"), el("div", { class: "result-line" }, m.reason_text)));
        return;
      }
      C.clear(box).appendChild(el("span", null, C.tag("已重新排队", "blue"), el("div", { class: "result-line mono" }, "新编号 " + messageId)));
      if (round < POLLS) setTimeout(function () { follow(box, stream, messageId, round + 1); }, POLL_MS);
    }).catch(function (error) { C.clear(box).appendChild(C.tag(error.message || "状态未知", "gray")); });
  }

  function replay(letter, button) {
    C.confirm("重放失败任务",
      "将把这条“" + letter.type_name + "”消息（编号 " + letter.id + "）重新放回" + (STREAMS[letter.stream] || letter.stream) +
      "，由后台再处理一次。请确认已查明并修复失败原因（" + letter.reason + "），否则它会再次失败。重放记入操作日志。",
      function () {
        return C.api("POST", "/api/v1/admin/dead-letters/" + encodeURIComponent(letter.stream) + "/" + letter.id + "/replay").then(function (r) {
          C.toast("已重新排队", "success");
          button.disabled = true;
          var box = document.querySelector('[data-testid="replay-result-' + key(letter) + '"]');
          if (box) follow(box, r.stream, r.message_id, 0);
        });
      }, { label: "确认重放" });
  }

  var typeSelect = document.getElementById("job-type");
  var wantedType = new URLSearchParams(location.search).get("type");

  /* The type filter's choices come with the list (the API knows the job types). */
  function types(data) {
    if (typeSelect.options.length > 1) return;
    Object.keys(data.job_types).forEach(function (key) { typeSelect.appendChild(el("option", { value: key }, data.job_types[key])); });
    if (wantedType && typeSelect.value !== wantedType) { typeSelect.value = wantedType; list.load(); }
  }

  var list = C.listPage({
    url: "/api/v1/admin/dead-letters", perPage: 20, perPageKey: "page_size",
    empty: "没有失败任务：后台队列运行正常。",
    loaded: types,
    columns: [
      { title: "失败时间", render: function (d) { return C.time(d.failed_at, true); } },
      { title: "队列", render: function (d) { return STREAMS[d.stream] || d.stream; } },
      { title: "任务", render: function (d) {
        return el("span", null, d.type_name, el("div", { class: "result-line mono muted" }, d.type || "（无类型）"),
          d.scope === "deployment" ? C.tag("全平台", "purple") : null);
      } },
      { title: "涉及编号", render: ids },
      { title: "失败原因", render: function (d) {
        return el("span", { "data-testid": "reason-" + key(d) }, el("span", { class: "mono" }, d.reason), el("div", { class: "result-line muted" }, d.reason_text));
      } },
      { title: "尝试次数", render: function (d) { return d.attempts === null ? "—" : String(d.attempts); } },
      { title: "消息编号", render: function (d) { return el("span", { class: "mono" }, d.id); } },
      { title: "操作", render: function (d) {
        var box = el("div", { "data-testid": "replay-result-" + key(d) });
        var button = el("button", { type: "button", class: "btn btn-sm", "data-testid": "replay-" + key(d),
          onclick: function () { replay(d, button); } }, "重放");
        return el("div", null, button, box);
      } },
    ],
  });
})();
