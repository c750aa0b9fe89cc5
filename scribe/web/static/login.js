"use strict";
document.getElementById("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const errBox = document.getElementById("login-error");
  errBox.hidden = true;
  try {
    await api("POST", "/api/auth/login", {
      username: document.getElementById("username").value,
      password: document.getElementById("password").value,
    });
    const next = new URLSearchParams(location.search).get("next");
    // only same-site paths: an open redirect would help phishing
    location.href = next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
  } catch (e) {
    errBox.textContent = e.status === 401 ? T.login_failed : e.message;
    errBox.hidden = false;
  }
});
