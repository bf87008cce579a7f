// Vigil's only script. Pages work without it; it adds live updates (a
// Server-Sent Events stream per page that says when what the page shows has
// changed; the page then refetches itself and swaps the regions marked
// data-live-region, leaving alone any region the user is typing in) and
// submits a select marked data-autosubmit when it changes.
(function () {
  "use strict";

  // Countdowns to reporting deadlines: elements with data-due (RFC 3339)
  // say "in 2 d 3 h" or "overdue by 40 min", updated every half minute.
  function words(ms) {
    var m = Math.floor(ms / 60000), h = Math.floor(m / 60);
    if (h >= 48) return Math.floor(h / 24) + " d " + (h % 24) + " h";
    if (h >= 1) return h + " h " + (m % 60) + " min";
    return Math.max(1, m) + " min";
  }
  function tick() {
    var els = document.querySelectorAll("[data-due]");
    for (var i = 0; i < els.length; i++) {
      var ms = Date.parse(els[i].getAttribute("data-due")) - Date.now();
      els[i].textContent = ms < 0 ? "overdue by " + words(-ms) : "in " + words(ms);
      els[i].classList.toggle("overdue", ms < 0);
    }
  }
  tick();
  setInterval(tick, 30000);

  var dirty = new WeakSet();
  document.addEventListener("input", function (e) {
    var f = e.target.form;
    if (f) dirty.add(f);
  });
  document.addEventListener("change", function (e) {
    var el = e.target;
    if (el.matches && el.matches("select[data-autosubmit]") && el.form) el.form.requestSubmit();
  });

  function busy(region) {
    var a = document.activeElement;
    if (a && region.contains(a) && a.matches("input, textarea, select")) return true;
    var forms = region.querySelectorAll("form");
    for (var i = 0; i < forms.length; i++) if (dirty.has(forms[i])) return true;
    return false;
  }

  function toast(text) {
    var t = document.getElementById("live-toast");
    if (!t) return;
    t.textContent = text;
    t.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { t.hidden = true; }, 5000);
  }

  function refresh(by) {
    fetch(location.href, { headers: { "Accept": "text/html" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var changed = 0;
        doc.querySelectorAll("[data-live-region]").forEach(function (fresh) {
          var cur = fresh.id && document.getElementById(fresh.id);
          if (!cur || busy(cur) || cur.innerHTML === fresh.innerHTML) return;
          cur.innerHTML = fresh.innerHTML;
          changed++;
        });
        // Forms outside live regions (the edit form) keep the version they
        // were loaded with, so a stale save meets the conflict message.
        var mark = doc.body.getAttribute("data-mark");
        if (mark) document.body.setAttribute("data-mark", mark);
        if (changed) toast(by ? "Updated by " + by : "Updated");
        document.body.setAttribute("data-live-updated", String(Date.now()));
      })
      .catch(function () {});
  }

  function connect() {
    var url = document.body.getAttribute("data-live");
    if (!url || !window.EventSource) return;
    var src;
    function open() {
      var mark = document.body.getAttribute("data-mark") || "";
      src = new EventSource(url + "?mark=" + encodeURIComponent(mark));
      src.addEventListener("change", function (e) {
        var d = {};
        try { d = JSON.parse(e.data); } catch (err) { /* keep going */ }
        if (d.mark) document.body.setAttribute("data-mark", d.mark);
        refresh(d.by);
      });
      src.addEventListener("gone", function () {
        src.close();
        toast("This page is no longer available to you. Reload to see why.");
      });
      src.onopen = function () { document.body.setAttribute("data-live-connected", "1"); };
    }
    open();
    window.addEventListener("pagehide", function () { if (src) src.close(); });
  }

  // Markdown preview: a textarea marked data-markdown gets a Preview
  // button that shows the text as the page will (the server renders and
  // sanitises it; the answer is inserted as that sanitised HTML).
  function previews() {
    var areas = document.querySelectorAll("textarea[data-markdown]");
    for (var i = 0; i < areas.length; i++) {
      (function (ta) {
        var form = ta.form, token = form && form.querySelector("input[name=csrf_token]");
        if (!token || ta.getAttribute("data-preview-ready")) return;
        ta.setAttribute("data-preview-ready", "1");
        var btn = document.createElement("button");
        btn.type = "button";
        btn.className = "small md-preview-button";
        btn.textContent = "Preview";
        var out = document.createElement("div");
        out.className = "md md-preview";
        out.setAttribute("aria-live", "polite");
        out.hidden = true;
        ta.insertAdjacentElement("afterend", out);
        ta.insertAdjacentElement("afterend", btn);
        btn.addEventListener("click", function () {
          var body = new URLSearchParams();
          body.set("csrf_token", token.value);
          body.set("text", ta.value);
          fetch("/markdown/preview", { method: "POST", body: body, credentials: "same-origin" })
            .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
            .then(function (html) { out.innerHTML = html || "<p><em>Nothing to preview.</em></p>"; out.hidden = false; })
            .catch(function () { out.textContent = "The preview could not be loaded."; out.hidden = false; });
        });
      })(areas[i]);
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", previews);
  else previews();

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", connect);
  else connect();
})();

// After logging out of a session that an identity provider started, go on
// to the provider's logout (web/templates/logged_out.html).
(function () {
  "use strict";
  var a = document.querySelector("a[data-follow]");
  if (a) window.location.replace(a.href);
})();
