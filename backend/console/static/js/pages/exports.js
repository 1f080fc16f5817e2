/* 数据导出: GET /staff/registrations/export.xlsx with the filters (audited by the API). */
(function () {
  "use strict";
  var form = document.getElementById("filters");
  var count = document.getElementById("export-count");

  function params() { return C.formValues(form); }

  function refreshCount() {
    var p = params();
    p.per_page = 1;
    C.api("GET", "/api/v1/staff/registrations" + C.query(p)).then(function (data) {
      count.textContent = "符合条件 " + data.total + " 条";
    }).catch(C.fail);
  }

  form.addEventListener("submit", function (event) { event.preventDefault(); refreshCount(); });
  form.addEventListener("reset", function () { setTimeout(refreshCount, 0); });
  document.getElementById("export-masked").addEventListener("click", function () {
    C.download("/api/v1/staff/registrations/export.xlsx" + C.query(params()));
    C.toast("正在生成脱敏名单，下载将自动开始", "success");
  });
  var full = document.getElementById("export-full");
  if (full) full.addEventListener("click", function () {
    C.confirm("下载完整名单", "完整名单含完整证件号码和电话号码，本次导出将记入操作日志。确定下载吗？", function () {
      var p = params();
      p.full = 1;
      C.download("/api/v1/staff/registrations/export.xlsx" + C.query(p));
    });
  });
  refreshCount();
})();
