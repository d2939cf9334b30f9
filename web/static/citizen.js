// Progressive enhancement only: without this file the link is still there to select.
(function () {
  "use strict";
  // A "copy" button next to a read-only field: shown only when it can work.
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var input = document.getElementById(button.getAttribute("data-copy"));
    var status = document.querySelector("[data-copy-status]");
    if (!input) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var done = function () {
        if (status) status.textContent = button.getAttribute("data-copied-text") || "";
      };
      input.focus();
      input.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () {
          if (document.execCommand("copy")) done();
        });
      } else if (document.execCommand("copy")) {
        done();
      }
    });
  });
  // A read-only link field selects itself whole on focus (easy to copy by hand).
  document.querySelectorAll("input.link-input[readonly]").forEach(function (input) {
    input.addEventListener("focus", function () { input.select(); });
  });
  // The agency code field shows only when "one agency" is picked (GOV.UK conditional
  // reveal); it stays visible when it holds a value or an error.
  document.querySelectorAll("[data-reveal-when]").forEach(function (box) {
    var radio = document.getElementById(box.getAttribute("data-reveal-when"));
    if (!radio || !radio.form) return;
    var input = box.querySelector("input");
    var sync = function () {
      box.hidden = !radio.checked && !(input && (input.value || input.getAttribute("aria-invalid")));
    };
    if (box.id) radio.setAttribute("aria-controls", box.id);
    radio.form.querySelectorAll("input[name='" + radio.name + "']").forEach(function (r) {
      r.addEventListener("change", sync);
    });
    sync();
  });
})();
