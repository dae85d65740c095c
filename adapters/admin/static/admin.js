// parako-config admin console: small progressive enhancements. Every page works without this
// script; it only makes a few things nicer: revealing a secret in place, keeping a colour's
// swatch and picker in step with its text field, moving focus to the error summary, asking
// before a destructive button (data-confirm) posts, and selecting a new token for copying.
(function () {
  "use strict";

  function csrfOf(form) {
    var input = form && form.querySelector('input[name="_csrf"]');
    return input ? input.value : "";
  }

  function announce(text) {
    var live = document.getElementById("live");
    if (live) { live.textContent = text; }
  }

  // Reveal: ask for the one value as JSON instead of posting the whole editor form.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button.reveal");
    if (!button) { return; }
    event.preventDefault();
    var form = button.form;
    var target = document.getElementById(button.dataset.target);
    var body = new FormData();
    body.append("_csrf", csrfOf(form));
    body.append("reveal", button.value);
    button.disabled = true;
    fetch("/admin/settings/reveal", {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrfOf(form) }
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (result) {
      if (!result.ok) {
        button.disabled = false;
        announce(result.data.error || "The secret could not be revealed.");
        alert(result.data.error || "The secret could not be revealed.");
        return;
      }
      var value = result.data.value;
      target.value = Array.isArray(value) ? value.join("\n") : (value === null ? "" : String(value));
      if (target.tagName === "INPUT") { target.type = "text"; }
      target.dataset.revealed = "true";
      button.textContent = "Revealed";
      announce("Secret revealed; the reveal was recorded in the audit trail.");
      target.focus();
    }).catch(function () {
      button.disabled = false;
      announce("The secret could not be revealed.");
    });
  });

  // Colours: text field → swatch and picker; picker → text field.
  function syncSwatch(text) {
    var row = text.closest(".color-row");
    if (!row) { return; }
    var swatch = row.querySelector(".swatch");
    var picker = row.querySelector(".picker");
    var valid = /^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/.test(text.value);
    swatch.style.backgroundColor = valid ? text.value : "transparent";
    if (picker && valid && text.value.length === 7) { picker.value = text.value.toLowerCase(); }
  }
  document.addEventListener("input", function (event) {
    var el = event.target;
    if (el.classList.contains("color")) { syncSwatch(el); }
    if (el.classList.contains("picker")) {
      var text = document.getElementById(el.dataset.for);
      text.value = el.value;
      syncSwatch(text);
    }
  });

  // Destructive buttons (reset a tenant's section, revoke a token) ask first.
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var message = button && button.dataset ? button.dataset.confirm : "";
    if (message && !window.confirm(message)) { event.preventDefault(); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.getElementById("error-summary") ||
      document.getElementById("create-errors") || document.getElementById("token-errors");
    if (summary) { summary.focus(); }
    var token = document.getElementById("new-token");
    if (token) { token.focus(); token.select(); }
  });
})();
