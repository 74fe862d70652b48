// Operations → Import: a step (the check, the import) is posted in the background while its
// progress is polled into the <progress> bar; the page is then reloaded with what it found.
(function () {
  "use strict";
  var box = document.getElementById("import-status");
  if (!box) return;
  var bar = document.getElementById("import-progress");
  var count = document.getElementById("import-progress-count");

  function poll(onDone) {
    fetch(box.dataset.progress, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (p) {
        bar.value = p.percent;
        bar.textContent = p.percent + " %";
        count.textContent = p.done.toLocaleString("en-US") + " of " + p.total.toLocaleString("en-US") + " rows (" + p.percent + " %)";
        if (onDone && p.status !== "checking" && p.status !== "importing") onDone();
      })
      .catch(function () { /* the next poll tries again */ });
  }

  document.querySelectorAll("form[data-import-step]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      box.classList.remove("d-none");
      // What the last step found is not what this one will find.
      document.querySelectorAll("[data-import-stale]").forEach(function (e) { e.classList.add("d-none"); });
      var label = document.getElementById("import-step");
      if (form.dataset.step) label.textContent = form.dataset.step;
      bar.value = 0;
      var timer = setInterval(poll, 400);
      fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" })
        .then(function (r) { clearInterval(timer); window.location.assign(r.url); })
        .catch(function () { clearInterval(timer); form.submit(); });
    });
    if (form.hasAttribute("data-autostart")) form.requestSubmit();
  });

  // A step run by a worker elsewhere: follow it until it ends, then show what it found.
  if (box.hasAttribute("data-import-running")) {
    setInterval(function () { poll(function () { window.location.reload(); }); }, 1000);
  }
})();
