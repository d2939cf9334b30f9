// The upload page, enhanced: drag-and-drop onto the file box, a size/type check before
// sending, and a real progress bar (XMLHttpRequest upload.onprogress).  Without this
// script the form posts as a plain multipart form and everything still works.
(function () {
  "use strict";

  var ACCEPTED = /^(image\/|application\/pdf$)/;

  function init() {
    var form = document.getElementById("upload-form");
    if (!form || form.dataset.enhanced) { return; }
    form.dataset.enhanced = "1";
    var input = document.getElementById("file");
    var zone = document.getElementById("dropzone");
    var box = document.getElementById("progress-box");
    var bar = document.getElementById("upload-progress");
    var text = document.getElementById("progress-text");
    var clientError = document.getElementById("file-client-error");
    var submit = document.getElementById("upload-submit");
    var maxBytes = parseInt(form.dataset.maxBytes || "0", 10);

    function showError(message) {
      clientError.textContent = message;
      clientError.hidden = !message;
      if (message) { input.setAttribute("aria-invalid", "true"); input.focus(); }
      else { input.removeAttribute("aria-invalid"); }
    }

    function check(file) {
      if (!file) { return true; }
      if (maxBytes && file.size > maxBytes) { showError(clientError.dataset.tooLarge); return false; }
      if (file.type && !ACCEPTED.test(file.type)) { showError(clientError.dataset.type); return false; }
      showError("");
      return true;
    }

    input.addEventListener("change", function () { check(input.files[0]); });
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
        check(input.files[0]);
      }
    });

    function setProgress(pct) {
      bar.value = pct;
      bar.textContent = pct + "%";
      text.textContent = pct + "%";
    }

    form.addEventListener("submit", function (ev) {
      if (!window.XMLHttpRequest || !window.FormData) { return; }
      if (!check(input.files[0])) { ev.preventDefault(); return; }
      ev.preventDefault();
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      box.hidden = false;
      submit.disabled = true;
      setProgress(0);
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) { setProgress(Math.round((e.loaded / e.total) * 100)); }
      };
      xhr.upload.onload = function () { setProgress(100); };
      xhr.onload = function () {
        if (xhr.status < 400 && xhr.responseURL && xhr.responseURL.indexOf("/upload") === -1) {
          setProgress(100);
          window.location.assign(xhr.responseURL);
          return;
        }
        // an error page: show its form (with the error summary) in place of ours
        var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
        var main = doc.getElementById("main");
        if (!main) { showError(clientError.dataset.failed); submit.disabled = false; return; }
        document.getElementById("main").innerHTML = main.innerHTML;
        document.title = doc.title;
        init();
        var summary = document.querySelector(".error-summary");
        if (summary) { summary.focus(); }
      };
      xhr.onerror = function () {
        box.hidden = true;
        submit.disabled = false;
        showError(clientError.dataset.failed);
      };
      xhr.send(new FormData(form));
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); }
  else { init(); }
})();
