// parako-config console: the section pages and the setting search. Everything here is an
// enhancement of pages that work without it:
//  - a prompt before leaving a section page with unsaved edits (and before a reset discards them);
//  - the groups around a setting linked by its #f-… fragment are opened;
//  - the search page filters the settings index as you type.
(function () {
  "use strict";

  // --- unsaved edits ----------------------------------------------------------------------
  var editor = document.querySelector("form.editor");
  var leaving = false;

  // Only what the person typed or picked counts: a revealed secret changes its input's value,
  // but nobody edited it.
  function touched(event) {
    var el = event.target;
    if (el && el.form === editor) { el.dataset.touched = "true"; }
  }

  function differs(el) {
    if (el.type === "checkbox" || el.type === "radio") { return el.checked !== el.defaultChecked; }
    if (el.tagName === "SELECT") {
      return Array.prototype.some.call(el.options, function (o) { return o.selected !== o.defaultSelected; });
    }
    return el.value !== el.defaultValue;
  }

  function dirty() {
    if (!editor) { return false; }
    var edited = editor.querySelectorAll("[data-touched='true']");
    return Array.prototype.some.call(edited, differs);
  }

  if (editor) {
    editor.addEventListener("input", touched);
    editor.addEventListener("change", touched);
    editor.addEventListener("submit", function (event) {
      var button = event.submitter;
      if (button && button.classList.contains("reset") && dirty() &&
          !window.confirm("Resetting this setting discards your unsaved edits on this page. Reset anyway?")) {
        event.preventDefault();
        return;
      }
      leaving = true;
    });
    window.addEventListener("beforeunload", function (event) {
      if (leaving || !dirty()) { return; }
      event.preventDefault();
      event.returnValue = "";  // older browsers need a value to show their prompt
    });
    // coming back through the history: the page may be restored with the flag still set
    window.addEventListener("pageshow", function () { leaving = false; });
  }

  // --- a linked setting: open the groups around it ----------------------------------------
  function reveal(hash) {
    if (!hash || hash.length < 2) { return; }
    var target = document.getElementById(decodeURIComponent(hash.slice(1)));
    if (!target) { return; }
    for (var node = target.parentElement; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") { node.open = true; }
    }
    var field = target.closest(".field");
    if (field) { field.classList.add("targeted"); }
    target.scrollIntoView({ block: "center" });
    target.focus({ preventScroll: true });
  }
  document.addEventListener("DOMContentLoaded", function () { reveal(window.location.hash); });
  window.addEventListener("hashchange", function () { reveal(window.location.hash); });

  // --- search as you type ---------------------------------------------------------------------
  var results = document.getElementById("search-results");
  var box = document.getElementById("setting-search-q");
  if (!results || !box) { return; }
  var list = results.querySelector("ol.hits");
  var heading = document.getElementById("results-title");
  var index = null;
  var pending = null;

  function score(entry, words, query) {
    var label = entry.label.toLowerCase(), path = entry.path.toLowerCase();
    var title = entry.title.toLowerCase(), help = entry.help.toLowerCase();
    var total = 0;
    for (var i = 0; i < words.length; i++) {
      var word = words[i];
      if (label.indexOf(word) >= 0) { total += 8; }
      else if (path.indexOf(word) >= 0) { total += 4; }
      else if (title.indexOf(word) >= 0) { total += 2; }
      else if (help.indexOf(word) >= 0) { total += 1; }
      else { return 0; }
    }
    if (query === path) { total += 40; } else if (query === label) { total += 20; }
    return total;
  }

  function element(tag, className, text) {
    var el = document.createElement(tag);
    if (className) { el.className = className; }
    if (text !== undefined) { el.textContent = text; }
    return el;
  }

  function render(query) {
    var text = query.trim().toLowerCase().slice(0, 200);
    var words = text.split(/\s+/).filter(Boolean);
    var hits = [];
    if (words.length) {
      index.forEach(function (entry) {
        var s = score(entry, words, text);
        if (s) { hits.push({ entry: entry, score: s }); }
      });
      hits.sort(function (a, b) {
        return b.score - a.score || (a.entry.path < b.entry.path ? -1 : 1);
      });
      hits = hits.slice(0, 50);
    }
    list.textContent = "";
    hits.forEach(function (hit) {
      var item = element("li");
      var link = element("a", "", hit.entry.label);
      link.href = hit.entry.url;
      item.appendChild(link);
      item.appendChild(document.createTextNode(" "));
      item.appendChild(element("span", "trail", hit.entry.title));
      item.appendChild(element("code", "path", hit.entry.path));
      item.appendChild(element("p", "help", hit.entry.help));
      list.appendChild(item);
    });
    heading.textContent = words.length
      ? hits.length + " setting" + (hits.length === 1 ? "" : "s") + " found"
      : "Type what you are looking for";
    var url = new URL(window.location.href);
    url.searchParams.set("q", query);
    window.history.replaceState(null, "", url.toString());
  }

  function load() {
    if (index || pending) { return pending; }
    pending = fetch("/admin/settings/search.json", {
      credentials: "same-origin", headers: { "Accept": "application/json" }
    }).then(function (response) {
      if (!response.ok) { throw new Error("index unavailable"); }
      return response.json();
    }).then(function (data) { index = data; results.dataset.live = "true"; return data; });
    return pending;
  }

  var timer = null;
  box.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      load().then(function () { render(box.value); }).catch(function () { /* the form still submits */ });
    }, 120);
  });
  load();
})();
