// Small enhancements on top of htmx; every page works without them.
// No inline scripts anywhere: the Content-Security-Policy forbids them.
(function () {
  "use strict";

  // After htmx swaps new content in, move the focus to the first field that
  // wants it (autofocus), else to the first error, so keyboard and screen
  // reader users land where the next step is.
  document.addEventListener("htmx:afterSettle", function (e) {
    var root = e.detail.elt || document;
    var target = root.querySelector("[autofocus]") || root.querySelector("[aria-invalid=true]") || root.querySelector(".alert");
    if (target) {
      if (!target.hasAttribute("tabindex") && !/^(INPUT|SELECT|TEXTAREA|BUTTON|A)$/.test(target.tagName)) {
        target.setAttribute("tabindex", "-1");
      }
      target.focus();
    }
  });

  // htmx does not swap error answers by default; the server answers form
  // errors with 4xx and the form to show them in, so swap those too.
  document.addEventListener("htmx:beforeSwap", function (e) {
    var status = e.detail.xhr.status;
    if (status >= 400 && status < 500 && e.detail.xhr.getResponseHeader("Content-Type").indexOf("text/html") === 0) {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });

  // Copy and download buttons (backup codes): data-copy names the element
  // whose text to copy; data-download the element and data-filename the file.
  document.addEventListener("click", function (e) {
    var el = e.target.closest("[data-copy],[data-download]");
    if (!el) return;
    var src = document.getElementById(el.getAttribute("data-copy") || el.getAttribute("data-download"));
    if (!src) return;
    var text = src.innerText.trim() + "\n";
    if (el.hasAttribute("data-copy")) {
      if (navigator.clipboard) {
        navigator.clipboard.writeText(text).then(function () { el.textContent = "Copied"; });
      }
      return;
    }
    var a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
    a.download = el.getAttribute("data-filename") || "backup-codes.txt";
    document.body.appendChild(a);
    a.click();
    a.remove();
  });

  // Buttons that need JavaScript are hidden until it runs.
  document.documentElement.classList.add("js");
})();
