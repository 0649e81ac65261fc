// Tell the server the browser's time zone (a cookie), so pages print times in it. The
// first page a browser opens is shown in the site's zone and reloaded once, if it was a
// plain GET and the viewer has not picked a zone of their own on the time zone page.
(function () {
  "use strict";
  const script = document.currentScript;
  let detected = "";
  try {
    detected = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (error) {
    return;
  }
  // IANA names ("America/New_York") are cookie-safe as they are; the server does not
  // percent-decode cookies, so nothing is encoded.
  if (!/^[A-Za-z0-9_+\-\/]+$/.test(detected)) return;
  const match = document.cookie.match(/(?:^|;\s*)tz_detected=([^;]*)/);
  if (match && match[1] === detected) return;
  const secure = window.location.protocol === "https:" ? "; secure" : "";
  // A year: the zone changes when the computer travels, and then this runs again.
  document.cookie = "tz_detected=" + detected +
    "; path=/; max-age=31536000; samesite=lax" + secure;
  if (script.dataset.source !== "chosen" && script.dataset.reload && script.dataset.zone !== detected) {
    window.location.reload();
  }
})();
