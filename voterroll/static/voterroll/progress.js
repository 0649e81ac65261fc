// Poll each active run's progress and update its bar, state, counts, failure reason and
// download link (shown only to users who may download). On a run's own page, the
// stations section is fetched again once the voters are assigned and once the run ends,
// and its centers can be filtered, jumped to, opened and closed.
(function () {
  "use strict";
  var FINISHED = ["done", "failed", "cancelled"];
  // 500 ms: smooth enough to watch, a handful of tiny queries per second per viewer.
  var INTERVAL = 500;

  function setText(root, selector, value) {
    var node = root.querySelector(selector);
    if (node && value !== undefined && value !== null) node.textContent = String(value);
  }

  function centerTools(section) {
    var filter = section.querySelector(".center-filter");
    var centers = Array.prototype.slice.call(section.querySelectorAll("details.center"));
    var noMatch = section.querySelector(".no-match");
    if (filter) {
      filter.addEventListener("input", function () {
        var words = filter.value.trim().toLowerCase();
        var shown = 0;
        centers.forEach(function (center) {
          var match = !words || center.dataset.search.indexOf(words) !== -1;
          center.hidden = !match;
          if (match) shown += 1;
        });
        // One center left: open it, that is what was looked for.
        if (words && shown === 1) centers.forEach(function (c) { if (!c.hidden) c.open = true; });
        if (noMatch) noMatch.hidden = shown > 0;
      });
    }
    function setAll(open) { centers.forEach(function (c) { if (!c.hidden) c.open = open; }); }
    var openAll = section.querySelector(".open-all");
    var closeAll = section.querySelector(".close-all");
    if (openAll) openAll.addEventListener("click", function () { setAll(true); });
    if (closeAll) closeAll.addEventListener("click", function () { setAll(false); });
  }

  function openTarget() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    var target = id && document.getElementById(id);
    if (target && target.tagName === "DETAILS") {
      target.hidden = false;
      target.open = true;
      target.scrollIntoView();
    }
  }

  function refreshStations(pageUrl) {
    var section = document.getElementById("stations");
    var opened = Array.prototype.map.call(
      section.querySelectorAll("details.center[open]"), function (d) { return d.id; });
    return fetch(pageUrl, { credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("stations");
        if (!fresh) return;
        section.innerHTML = fresh.innerHTML;
        opened.forEach(function (id) {
          var center = document.getElementById(id);
          if (center) center.open = true;
        });
        centerTools(section);
      });
  }

  function watch(row) {
    var state = row.querySelector(".state");
    if (FINISHED.indexOf(state.textContent.trim()) !== -1) return;
    var bar = row.querySelector("progress");
    var zip = row.querySelector("a.zip");
    var error = row.querySelector(".error");
    var pageUrl = row.dataset.pageUrl;
    var stationsShown = Number((row.querySelector(".stations") || {}).textContent || 0);
    function poll() {
      fetch(row.dataset.progressUrl, { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (data) {
          bar.value = data.percent;
          bar.setAttribute("value", String(data.percent));
          setText(row, ".percent", data.percent + "%");
          state.textContent = data.state;
          setText(row, ".pages", data.pages);
          setText(row, ".voters", data.voters);
          setText(row, ".centers", data.centers);
          setText(row, ".stations", data.stations);
          if (error && data.error && data.state !== "done") {
            error.textContent = data.error;
            error.hidden = false;
          }
          if (zip && data.zip_url) { zip.href = data.zip_url; zip.hidden = false; }
          var finished = FINISHED.indexOf(data.state) !== -1;
          if (pageUrl && ((data.stations && !stationsShown) || finished)) {
            stationsShown = data.stations;
            refreshStations(pageUrl);
          }
          if (!finished) setTimeout(poll, INTERVAL);
        })
        .catch(function () { setTimeout(poll, INTERVAL * 4); });
    }
    poll();
  }

  var section = document.getElementById("stations");
  if (section) {
    centerTools(section);
    window.addEventListener("hashchange", openTarget);
    openTarget();
  }
  document.querySelectorAll("[data-progress-url]").forEach(watch);
})();
