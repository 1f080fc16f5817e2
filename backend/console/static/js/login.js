/* Sign in through POST /api/v1/auth/staff-login, which sets the web session cookie. */
(function () {
  "use strict";
  var form = document.getElementById("login-form");
  var error = document.getElementById("login-error");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    var username = form.elements.username.value.trim();
    var password = form.elements.password.value;
    if (!username || !password) {
      error.textContent = "请输入用户名和密码";
      error.hidden = false;
      return;
    }
    button.disabled = true;
    error.hidden = true;
    fetch("/api/v1/auth/staff-login", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ username: username, password: password, web_session: true }),
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) throw new Error((body.error && body.error.message) || "登录失败");
        // The bearer token in the answer is not kept: the console uses the cookie only.
        location.href = form.dataset.next || "/console/";
      });
    }).catch(function (e) {
      error.textContent = e.message || "网络异常，请稍后重试";
      error.hidden = false;
      form.elements.password.value = "";
      form.elements.password.focus();
    }).then(function () { button.disabled = false; });
  });
})();
