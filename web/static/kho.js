// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // A file dropped anywhere on a drop zone goes into its file input.
  document.querySelectorAll("form[data-dropzone]").forEach(function (form) {
    var zone = form.querySelector(".dropzone");
    var input = form.querySelector("input[type=file]");
    if (!zone || !input) return;
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (ev) { ev.preventDefault(); zone.classList.add("is-dragover"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("is-dragover"); });
    });
    zone.addEventListener("drop", function (ev) {
      ev.preventDefault();
      if (ev.dataTransfer && ev.dataTransfer.files.length) {
        input.files = ev.dataTransfer.files;
        form.requestSubmit ? form.requestSubmit() : form.submit();
      }
    });
  });
  // Focus the error summary so screen readers announce it first.
  var summary = document.querySelector(".error-summary");
  if (summary) summary.focus();
})();
