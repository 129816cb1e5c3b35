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
  // A live section replaced while focus was in it (the Accept button of an offer that became work) would
  // drop a keyboard user's focus to the page's start: put it on that section's heading instead.
  var focusedSection = null;
  document.addEventListener("focusin", function (e) {
    focusedSection = e.target.closest ? e.target.closest("section[sse-swap]") : null;
  });
  function keepFocus(e) {
    var section = e.target;
    if (section && section === focusedSection && !section.contains(document.activeElement)) {
      var heading = section.querySelector("h2");
      if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
    }
  }
  // A screen reader hears of a new offer through a polite live region (the offers' section itself is not
  // live: its countdown would be read out every second).
  var offered = {};
  function announceOffers(e) {
    if (!e.target || e.target.id !== "offers") return;
    var now = {}, fresh = [];
    e.target.querySelectorAll(".offer").forEach(function (li) {
      var id = li.getAttribute("data-task");
      now[id] = true;
      if (!offered[id]) fresh.push(li.querySelector(".title").textContent.trim());
    });
    offered = now;
    var region = document.getElementById("announce");
    if (region && fresh.length) region.textContent = "New offer: " + fresh.join("; ");
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("#offers .offer").forEach(function (li) { offered[li.getAttribute("data-task")] = true; });
  });
  document.addEventListener("htmx:afterSwap", tick);
  document.addEventListener("htmx:sseMessage", function (e) { keepFocus(e); announceOffers(e); tick(); });
  document.addEventListener("DOMContentLoaded", tick);
  setInterval(tick, 1000);
})();
