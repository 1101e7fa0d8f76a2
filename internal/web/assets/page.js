// credserver page: copy buttons and the GitHub device flow without a
// reload. Every form also works without this script.
"use strict";
(function () {
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";
  var base = document.querySelector('link[rel="stylesheet"]').getAttribute("href").replace(/\/static\/style\.css$/, "");

  document.querySelectorAll("button.copy").forEach(function (b) {
    b.hidden = false;
    b.addEventListener("click", function () {
      var pre = document.getElementById(b.getAttribute("data-copy"));
      if (!pre) return;
      var done = function () { b.textContent = "Copied"; setTimeout(function () { b.textContent = "Copy"; }, 1500); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(pre.textContent).then(done, function () { select(pre); });
      } else {
        select(pre);
        try { document.execCommand("copy"); done(); } catch (e) { /* selected: the user copies */ }
      }
    });
  });

  function select(el) {
    var r = document.createRange();
    r.selectNodeContents(el);
    var s = window.getSelection();
    s.removeAllRanges();
    s.addRange(r);
  }

  function post(path, fields) {
    var body = new URLSearchParams(fields || {});
    return fetch(base + path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf },
      body: body
    }).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) throw new Error((j.error && j.error.message) || ("HTTP " + r.status));
        return j;
      });
    });
  }

  document.documentElement.setAttribute("data-ready", "1");

  var linkForm = document.getElementById("gh-link-form");
  var unlinkForm = document.getElementById("gh-unlink-form");
  var flow = document.getElementById("gh-flow");
  var status = document.getElementById("gh-status");
  if (!linkForm || !flow || !status) return;

  function say(text, login) {
    status.textContent = text;
    if (login) {
      status.textContent = "Linked as ";
      var s = document.createElement("strong");
      s.id = "gh-login";
      s.textContent = login;
      status.appendChild(s);
      status.appendChild(document.createTextNode("."));
    }
  }

  linkForm.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var btn = document.getElementById("gh-link");
    btn.disabled = true;
    post("/web/github/login").then(function (l) {
      flow.innerHTML = "";
      var p = document.createElement("p");
      p.appendChild(document.createTextNode("Enter the code "));
      var code = document.createElement("code");
      code.id = "gh-code";
      code.className = "usercode";
      code.textContent = l.user_code;
      p.appendChild(code);
      p.appendChild(document.createTextNode(" at "));
      var a = document.createElement("a");
      a.id = "gh-verify";
      a.href = /^https?:\/\//.test(l.verification_uri) ? l.verification_uri : "#";
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      a.textContent = l.verification_uri;
      p.appendChild(a);
      p.appendChild(document.createTextNode(". This page updates by itself."));
      flow.appendChild(p);
      flow.hidden = false;
      say("Waiting for GitHub…");
      poll(l.login_id, l.interval);
    }).catch(function (e) { btn.disabled = false; say("Could not start the GitHub login: " + e.message); });
  });

  function poll(id, interval) {
    setTimeout(function () {
      post("/web/github/poll", { login_id: id }).then(function (s) {
        if (s.status === "pending") { poll(id, s.interval || interval); return; }
        flow.hidden = true;
        document.getElementById("gh-link").disabled = false;
        if (s.status === "complete") {
          say("", s.login);
          linkForm.hidden = true;
          if (unlinkForm) unlinkForm.hidden = false;
        } else {
          say("The GitHub login " + s.status + ". Press Link GitHub to start again.");
        }
      }).catch(function (e) { say("Checking the GitHub login failed: " + e.message); });
    }, Math.max(1, interval || 5) * 1000);
  }

  if (unlinkForm) {
    unlinkForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      post("/web/github/unlink").then(function () {
        say("Not linked.");
        unlinkForm.hidden = true;
        linkForm.hidden = false;
      }).catch(function (e) { say("Unlinking failed: " + e.message); });
    });
  }
})();
