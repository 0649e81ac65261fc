// The upload form: check the image's type, size and pixels in the browser before it is
// sent, then send it with a progress bar. The server checks everything again; these checks
// only spare a long upload that would be refused, and keep the chosen file after an error.
(function () {
  "use strict";
  const ACCEPTED = "JPEG, PNG, WebP or GIF";

  // The same wording as posts.uploads.describe_size on the server.
  function megabytes(size) {
    return (size / (1024 * 1024)).toFixed(2).replace(/\.?0+$/, "");
  }
  function describeSize(size) {
    return megabytes(size) + " MB (" + size.toLocaleString("en-US") + " bytes)";
  }

  function imageSize(file) {
    return new Promise(function (resolve) {
      const url = URL.createObjectURL(file);
      const img = new Image();
      img.onload = function () {
        URL.revokeObjectURL(url);
        resolve([img.naturalWidth, img.naturalHeight]);
      };
      img.onerror = function () {
        URL.revokeObjectURL(url);
        resolve(null);
      };
      img.src = url;
    });
  }

  // Return the problem with a file as a sentence a person can act on, or "" if none.
  async function problem(file, form, input) {
    const accepted = (input.accept || "").split(",").map(function (t) { return t.trim(); });
    if (file.type && accepted.indexOf(file.type) === -1) {
      if (file.type.indexOf("image/") === 0) {
        const kind = file.type.slice(6).replace(/^x-/, "").split("+")[0].toUpperCase();
        return kind + " images are not accepted. Upload a " + ACCEPTED + " image.";
      }
      return "This file is not an image. Upload a " + ACCEPTED + " image.";
    }
    const maxBytes = Number(form.dataset.maxBytes);
    if (file.size > maxBytes) {
      return "The file is " + describeSize(file.size) + "; the limit is " +
        form.dataset.maxSize + ". Upload a smaller image.";
    }
    const size = await imageSize(file);
    if (size === null) return "This file is not an image. Upload a " + ACCEPTED + " image.";
    const maxPixels = Number(form.dataset.maxPixels);
    const pixels = size[0] * size[1];
    if (pixels > maxPixels) {
      return "The image is " + size[0] + " x " + size[1] + " pixels (" +
        Math.round(pixels / 1e6) + " megapixels); the limit is " + (maxPixels / 1e6) +
        " megapixels. Upload a smaller image.";
    }
    return "";
  }

  function setup(form) {
    const input = form.querySelector("input[type=file]");
    const check = form.querySelector("#image-check");
    const button = form.querySelector("button[type=submit]");
    const bar = form.querySelector("#upload-progress");
    const progress = bar.querySelector("progress");
    const progressText = bar.querySelector(".upload-progress-text");
    // The message goes right under the file field, where the server's errors appear too.
    input.after(check);

    async function onChange() {
      check.hidden = true;
      const file = input.files[0];
      if (!file) {
        input.setCustomValidity("");
        return;
      }
      input.setCustomValidity("Checking the image…");
      const message = await problem(file, form, input);
      if (input.files[0] !== file) return; // another file was picked meanwhile
      input.setCustomValidity(message);
      check.textContent = message;
      check.hidden = !message;
    }
    if (!input.dataset.checked) {
      input.dataset.checked = "1";
      input.addEventListener("change", onChange);
    }
    if (input.files.length) onChange();

    function failed(message) {
      bar.hidden = true;
      button.disabled = false;
      check.textContent = message;
      check.hidden = false;
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) return;
        progress.value = Math.floor((e.loaded * 100) / e.total);
        progressText.textContent = "Uploading… " + progress.value + "% (" +
          megabytes(e.loaded) + " of " + megabytes(e.total) + " MB)";
      });
      xhr.upload.addEventListener("load", function () {
        progress.value = 100;
        progressText.textContent = "Uploaded. Checking the image…";
      });
      xhr.addEventListener("load", function () {
        const landed = new URL(xhr.responseURL || form.action, window.location.href);
        const here = new URL(form.action, window.location.href);
        if (landed.pathname !== here.pathname) {
          // Redirected: to the new post, or to sign in again.
          window.location.assign(landed.href);
          return;
        }
        const page = new DOMParser().parseFromString(xhr.responseText, "text/html");
        const fresh = page.querySelector("form.upload");
        if (!fresh) {
          failed("The upload failed (the server answered " + xhr.status + "). Try again.");
          return;
        }
        // The server's form with its errors, but the file input already chosen: a file
        // input cannot be filled in again by the page, only kept.
        fresh.querySelector("input[type=file]").replaceWith(input);
        form.replaceWith(fresh);
        setup(fresh);
      });
      xhr.addEventListener("error", function () {
        failed("The upload was interrupted before it finished. Check your connection and try again.");
      });
      button.disabled = true;
      progress.value = 0;
      progressText.textContent = "Uploading…";
      bar.hidden = false;
      xhr.send(new FormData(form));
    });
  }

  const form = document.querySelector("form.upload");
  if (form) setup(form);
})();
