// Poll each active run's progress and update its bar, state and download link (shown
// only to users who may download).
(function () {
  "use strict";
  var FINISHED = ["done", "failed", "cancelled"];
  // 500 ms: smooth enough to watch, a handful of tiny queries per second per viewer.
  var INTERVAL = 500;

  function watch(row) {
    var state = row.querySelector(".state");
    if (FINISHED.indexOf(state.textContent.trim()) !== -1) return;
    var bar = row.querySelector("progress");
    var percent = row.querySelector(".percent");
    var zip = row.querySelector("a.zip");
    var pages = row.querySelector(".pages");
    function poll() {
      fetch(row.dataset.progressUrl, { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (data) {
          bar.value = data.percent;
          bar.setAttribute("value", String(data.percent));
          percent.textContent = data.percent + "%";
          state.textContent = data.state;
          if (pages) pages.textContent = data.pages;
          if (zip && data.zip_url) { zip.href = data.zip_url; zip.hidden = false; }
          if (FINISHED.indexOf(data.state) === -1) setTimeout(poll, INTERVAL);
        })
        .catch(function () { setTimeout(poll, INTERVAL * 4); });
    }
    poll();
  }

  document.querySelectorAll("[data-progress-url]").forEach(watch);
})();
