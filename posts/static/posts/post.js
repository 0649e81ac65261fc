// Poll the post's status until its thumbnails are ready or have failed; no page reload.
(function () {
  "use strict";
  const post = document.querySelector("article.post[data-status-url]");
  if (!post) return;
  const stateEl = document.getElementById("post-state");
  const failureEl = document.getElementById("post-failure");
  const imageEl = document.getElementById("post-image");
  const sizesSection = document.getElementById("post-sizes-section");
  const sizesEl = document.getElementById("post-sizes");
  const retryForm = document.getElementById("post-retry");
  // 1 s: thumbnails usually take well under a second; polling faster only adds load.
  const POLL_MS = 1000;

  function showImage(thumbnails) {
    // The status lists the largest first: that one is the image, the rest are sizes.
    const large = thumbnails[0];
    const img = document.createElement("img");
    img.src = large.url;
    img.width = large.width;
    img.height = large.height;
    img.alt = document.querySelector("article.post h1").textContent;
    imageEl.append(img);
    for (const thumb of thumbnails) {
      const item = document.createElement("li");
      item.dataset.box = thumb.box;
      const link = document.createElement("a");
      link.href = thumb.url;
      link.textContent = thumb.width + " × " + thumb.height + " px";
      const box = document.createElement("span");
      box.className = "box";
      box.textContent = "(made to fit " + thumb.box_label + ")";
      item.append(link, " ", box);
      sizesEl.append(item);
    }
    sizesSection.hidden = false;
  }

  function show(status) {
    stateEl.textContent = status.state_label;
    stateEl.className = "state state-" + status.state;
    failureEl.textContent = status.failure_reason;
    if (retryForm) retryForm.hidden = status.state !== "failed";
    if (status.state === "ready" && status.thumbnails.length && !imageEl.children.length) {
      showImage(status.thumbnails);
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
