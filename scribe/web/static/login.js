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
    // the server checked it (pages.safe_next): only a path of this site, never another site
    location.href = PAGE.next || "/";
  } catch (e) {
    errBox.textContent = e.status === 401 ? T.login_failed : e.message;
    errBox.hidden = false;
  }
});
