// The offers' countdowns to RONA: each [data-expires] shows the seconds left, ticking once a second.
// Our only script besides the vendored htmx; no eval, no inline code (the pages' CSP allows none).
(function () {
  "use strict";
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-expires]").forEach(function (el) {
      var left = Math.max(0, Math.round((Date.parse(el.getAttribute("data-expires")) - now) / 1000));
      el.textContent = left + " s";
      el.classList.toggle("urgent", left <= 10);
    });
  }
  document.addEventListener("htmx:afterSwap", tick);
  document.addEventListener("htmx:sseMessage", tick);
  document.addEventListener("DOMContentLoaded", tick);
  setInterval(tick, 1000);
})();
