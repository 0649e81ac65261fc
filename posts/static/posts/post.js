// Poll the post's status until its thumbnails are ready or have failed; no page reload.
(function () {
  "use strict";
  const post = document.querySelector("article.post[data-status-url]");
  if (!post) return;
  const stateEl = document.getElementById("post-state");
  const failureEl = document.getElementById("post-failure");
  const thumbsEl = document.getElementById("post-thumbnails");
  // 1 s: thumbnails usually take well under a second; polling faster only adds load.
  const POLL_MS = 1000;

  function show(status) {
    stateEl.textContent = status.state_label;
    stateEl.className = "state state-" + status.state;
    failureEl.textContent = status.failure_reason;
    if (status.state !== "ready" || thumbsEl.children.length) return;
    for (const thumb of status.thumbnails) {
      const figure = document.createElement("figure");
      figure.dataset.box = thumb.box;
      const img = document.createElement("img");
      img.src = thumb.url;
      img.width = thumb.width;
      img.height = thumb.height;
      img.alt = "";
      const caption = document.createElement("figcaption");
      caption.textContent = thumb.box + ": " + thumb.width + "×" + thumb.height;
      figure.append(img, caption);
      thumbsEl.append(figure);
    }
  }

  async function poll() {
    try {
      const response = await fetch(post.dataset.statusUrl, { headers: { Accept: "application/json" } });
      if (response.status === 404) {
        stateEl.textContent = "Deleted";
        return;
      }
      if (response.ok) {
        const status = await response.json();
        show(status);
        if (status.state === "ready" || status.state === "failed") return;
      }
    } catch (error) {
      // A dropped connection is retried on the next tick.
    }
    setTimeout(poll, POLL_MS);
  }

  const initial = stateEl.className.replace("state state-", "");
  if (initial !== "ready" && initial !== "failed") setTimeout(poll, POLL_MS);
})();
