// corscope report: copy buttons, print expansion, and the searchable exchange table.
// Captured values reach the page only through textContent; nothing here writes HTML.
(function () {
  "use strict";
  var PAGE = 200;

  document.querySelectorAll("[data-js]").forEach(function (el) { el.hidden = false; });
  document.querySelectorAll("[data-nojs]").forEach(function (el) { el.hidden = true; });

  // --- Copy buttons --------------------------------------------------------------------
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-copy]") : null;
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.textContent;
    var done = function () {
      button.textContent = "Copied";
      button.classList.add("done");
      setTimeout(function () { button.textContent = "Copy"; button.classList.remove("done"); }, 1500);
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(source); done(); });
    } else {
      fallbackCopy(source);
      done();
    }
  });

  function fallbackCopy(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    try { document.execCommand("copy"); } catch (e) { /* the text stays selected */ }
  }

  // --- Print: every <details> open, then back as it was ---------------------------------
  var closedForPrint = [];
  window.addEventListener("beforeprint", function () {
    closedForPrint = Array.prototype.filter.call(document.querySelectorAll("details"), function (d) { return !d.open; });
    closedForPrint.forEach(function (d) { d.open = true; });
  });
  window.addEventListener("afterprint", function () {
    closedForPrint.forEach(function (d) { d.open = false; });
    closedForPrint = [];
  });

  // --- Exchange table -----------------------------------------------------------------------
  var dataNode = document.getElementById("corscope-data");
  var body = document.getElementById("exchange-rows");
  if (!dataNode || !body) return;
  var search = document.getElementById("filter-text");
  var verdictSelect = document.getElementById("filter-verdict");
  var findingSelect = document.getElementById("filter-finding");
  var countNode = document.getElementById("filter-count");
  var moreButton = document.getElementById("more-rows");

  // Parsed on first use, so the first screen never waits for megabytes of JSON. The server
  // rendered the first rows, the count and the "more" button already.
  var data = null;
  var haystack = null;  // lower-case text per row, built on the first search
  var matches = null;   // row indexes that pass the filters, or null for "all rows"
  var shown = body.children.length;

  function load() {
    if (data === null) data = JSON.parse(dataNode.textContent);
    return data;
  }

  function total() { return matches === null ? load().rows.length : matches.length; }
  function rowAt(i) { return load().rows[matches === null ? i : matches[i]]; }

  function clock(ms) {
    var d = load();
    if (d.t0 === null || ms === null) return "";
    return new Date(d.t0 + ms).toISOString().slice(11, 23);
  }

  function text(row) {
    var s = load().strings;
    var parts = [row[0], s[row[2]], s[row[3]] + s[row[4]], row[5] === null ? "" : String(row[5]),
      s[row[6]], load().verdicts[row[7]], s[row[8]], row[9] ? "#" + row[9] : "", s[row[11]]];
    if (row[9]) parts.push(load().findings[row[9] - 1][0]);
    return parts.join(" ").toLowerCase();
  }

  function cell(tr, value, className) {
    var td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = value;
    tr.appendChild(td);
    return td;
  }

  function rowElement(row) {
    var d = load();
    var s = d.strings;
    var tr = document.createElement("tr");
    tr.title = row[0];
    cell(tr, clock(row[1]), "t");
    var url = cell(tr, " " + s[row[3]] + s[row[4]], "url");
    var method = document.createElement("b");
    method.textContent = s[row[2]];
    url.insertBefore(method, url.firstChild);
    cell(tr, row[5] === null ? "" : String(row[5]), "st");
    cell(tr, s[row[6]], "page").title = s[row[6]];
    var verdict = cell(tr, "", "vd");
    var badge = document.createElement("span");
    badge.className = "v v-" + d.classes[row[7]];
    badge.textContent = d.verdicts[row[7]];
    verdict.appendChild(badge);
    if (row[10] & 1) {
      var ok = document.createElement("span");
      ok.className = "ok";
      ok.title = "confirmed by the browser";
      ok.textContent = " \u2713";
      verdict.appendChild(ok);
    }
    cell(tr, s[row[8]], "reason").title = s[row[8]];
    var finding = cell(tr, "", "f");
    if (row[9] > 0) {
      var link = document.createElement("a");
      var rank = Number(row[9]);
      link.setAttribute("href", "#finding-" + rank);
      link.textContent = "#" + rank;
      link.title = d.findings[rank - 1][0];
      finding.appendChild(link);
    }
    return tr;
  }

  function renderMore(count) {
    var end = Math.min(total(), shown + count);
    var fragment = document.createDocumentFragment();
    for (var i = shown; i < end; i++) fragment.appendChild(rowElement(rowAt(i)));
    body.appendChild(fragment);
    shown = end;
    update();
  }

  function update() {
    var all = load().rows.length;
    var n = total();
    countNode.textContent = (n === all ? all.toLocaleString("en-US") + " requests"
      : n.toLocaleString("en-US") + " of " + all.toLocaleString("en-US") + " requests match");
    moreButton.hidden = shown >= n;
    moreButton.textContent = "Show " + Math.min(PAGE, n - shown).toLocaleString("en-US") + " more";
  }

  function passes(row, verdict, finding) {
    switch (verdict) {
      case "blocked": if (row[7] !== 1) return false; break;
      case "conditional": if (row[7] !== 2 && row[7] !== 3) return false; break;
      case "fault": if (row[7] !== 4) return false; break;
      case "allowed": if (row[7] !== 0) return false; break;
      case "warnings": if (!(row[10] & 2)) return false; break;
      case "problems": if (row[7] === 0 && !(row[10] & 2)) return false; break;
      default: break;
    }
    if (finding === "none") return row[9] === 0;
    if (finding !== "all") return row[9] === Number(finding);
    return true;
  }

  function apply() {
    var d = load();
    var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    var verdict = verdictSelect.value;
    var finding = findingSelect.value;
    if (!words.length && verdict === "all" && finding === "all") {
      matches = null;
    } else {
      if (words.length && haystack === null) haystack = d.rows.map(text);
      matches = [];
      for (var i = 0; i < d.rows.length; i++) {
        var row = d.rows[i];
        if (!passes(row, verdict, finding)) continue;
        var ok = true;
        for (var w = 0; w < words.length && ok; w++) ok = haystack[i].indexOf(words[w]) !== -1;
        if (ok) matches.push(i);
      }
    }
    body.textContent = "";
    shown = 0;
    renderMore(PAGE);
  }

  var timer = null;
  search.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(apply, 120);
  });
  verdictSelect.addEventListener("change", apply);
  findingSelect.addEventListener("change", apply);
  moreButton.addEventListener("click", function () { renderMore(PAGE); });

  // Keep appending while the end of the table scrolls into view.
  var sentinel = document.getElementById("rows-end");
  if (sentinel && "IntersectionObserver" in window) {
    new IntersectionObserver(function (entries) {
      if (entries[0].isIntersecting && shown < total()) renderMore(PAGE);
    }, { rootMargin: "400px" }).observe(sentinel);
  }
})();
