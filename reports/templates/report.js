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

  // --- A link to a closed <details> opens it --------------------------------------------------
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[href^='#']") : null;
    var target = link ? document.getElementById(link.getAttribute("href").slice(1)) : null;
    if (target && target.tagName === "DETAILS") target.open = true;
  });

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
  // The listed rows arrive as gzip-compressed JSON columns in base64 (see reports/rows.py),
  // unpacked by the browser's DecompressionStream: nothing is fetched.
  var dataNode = document.getElementById("corscope-data");
  var body = document.getElementById("exchange-rows");
  if (!dataNode || !body) return;
  var search = document.getElementById("filter-text");
  var verdictSelect = document.getElementById("filter-verdict");
  var findingSelect = document.getElementById("filter-finding");
  var countNode = document.getElementById("filter-count");
  var moreButton = document.getElementById("more-rows");

  function unreadable() {
    // Keep the server-rendered rows and say why there are no more.
    document.querySelectorAll("#exchanges [data-js]").forEach(function (el) { el.hidden = true; });
    document.querySelectorAll("#exchanges [data-nojs]").forEach(function (el) { el.hidden = false; });
  }
  if (typeof DecompressionStream === "undefined" || typeof Response === "undefined") {
    unreadable();
    return;
  }

  // Decoded on first use, so the first screen never waits for it. The server rendered the
  // first rows, the counts and the "more" button already.
  var data = null;
  var loading = null;
  var lowered = null;   // lower-case strings, made on the first search
  var matches = null;   // row indexes that pass the filters, or null for "all rows"
  var shown = body.children.length;

  function load() {
    if (loading === null) loading = decode(dataNode.textContent.trim()).then(function (d) { data = d; return d; });
    return loading;
  }

  function decode(base64) {
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text().then(function (text) {
      var d = JSON.parse(text);
      var c = d.cols;
      var n = d.n;
      var ids = new Array(n);
      var t = 0;
      var num = 0;
      for (var k = 0; k < n; k++) {
        if (c.t[k] !== null) { t += c.t[k]; c.t[k] = t; }
        var id = d.strings[c.id[k]];
        if (c["in"][k] !== null) { num += c["in"][k]; id += num; }
        ids[k] = id;
      }
      c.ident = ids;
      return d;
    });
  }

  function whenReady(then) {
    load().then(then, function (error) {
      unreadable();
      countNode.textContent = "The table data could not be read: " + error;
    });
  }

  function total() { return matches === null ? data.n : matches.length; }
  function rowAt(i) { return matches === null ? i : matches[i]; }

  function clock(ms) {
    if (data.t0 === null || ms === null) return "";
    return new Date(data.t0 + ms).toISOString().slice(11, 23);
  }

  function cell(tr, value, className) {
    var td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = value;
    tr.appendChild(td);
    return td;
  }

  function rowElement(i) {
    var d = data;
    var c = d.cols;
    var s = d.strings;
    var tr = document.createElement("tr");
    tr.title = c.ident[i];
    cell(tr, clock(c.t[i]), "t");
    var url = cell(tr, " " + s[c.u[i]], "url");
    var method = document.createElement("b");
    method.textContent = s[c.m[i]];
    url.insertBefore(method, url.firstChild);
    cell(tr, c.s[i] === null ? "" : String(c.s[i]), "st");
    cell(tr, s[c.p[i]], "page").title = s[c.p[i]];
    var verdict = cell(tr, "", "vd");
    var badge = document.createElement("span");
    badge.className = "v v-" + d.classes[c.v[i]];
    badge.textContent = d.verdicts[c.v[i]];
    verdict.appendChild(badge);
    if (c.g[i] & 1) {
      var ok = document.createElement("span");
      ok.className = "ok";
      ok.title = "confirmed by the browser";
      ok.textContent = " \u2713";
      verdict.appendChild(ok);
    }
    cell(tr, s[c.r[i]], "reason").title = s[c.r[i]];
    var finding = cell(tr, "", "f");
    if (c.f[i] > 0) {
      var link = document.createElement("a");
      var rank = Number(c.f[i]);
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

  function number(n) { return n.toLocaleString("en-US"); }

  function update() {
    var listed = data.n;
    var n = total();
    var all = listed === data.total;
    if (n === listed) {
      countNode.textContent = all ? number(listed) + " requests"
        : number(listed) + " of " + number(data.total) + " requests listed";
    } else {
      countNode.textContent = number(n) + " of " + number(listed) + (all ? " requests match" : " listed requests match");
    }
    moreButton.hidden = shown >= n;
    moreButton.textContent = "Show " + number(Math.min(PAGE, n - shown)) + " more";
  }

  function passes(i, verdict, finding) {
    var v = data.cols.v[i];
    var g = data.cols.g[i];
    switch (verdict) {
      case "blocked": if (v !== 1) return false; break;
      case "conditional": if (v !== 2 && v !== 3) return false; break;
      case "fault": if (v !== 4) return false; break;
      case "allowed": if (v !== 0) return false; break;
      case "warnings": if (!(g & 2)) return false; break;
      case "problems": if (v === 0 && !(g & 2)) return false; break;
      default: break;
    }
    var f = data.cols.f[i];
    if (finding === "none") return f === 0;
    if (finding !== "all") return f === Number(finding);
    return true;
  }

  // Does row i say `word` anywhere? Each distinct string is tested once per word, not once
  // per row, so a search stays fast at hundreds of thousands of rows.
  function matcher(word) {
    var d = data;
    var c = d.cols;
    if (lowered === null) lowered = d.strings.map(function (s) { return s.toLowerCase(); });
    var inString = new Uint8Array(lowered.length);
    for (var k = 0; k < lowered.length; k++) inString[k] = lowered[k].indexOf(word) !== -1 ? 1 : 0;
    var inVerdict = d.verdicts.map(function (v) { return v.toLowerCase().indexOf(word) !== -1; });
    var inFinding = [false].concat(d.findings.map(function (f, k) {
      return ("#" + (k + 1)).indexOf(word) !== -1 || f[0].toLowerCase().indexOf(word) !== -1;
    }));
    return function (i) {
      return inString[c.m[i]] || inString[c.u[i]] || inString[c.p[i]] || inString[c.r[i]]
        || inString[c.src[i]] || inVerdict[c.v[i]] || inFinding[c.f[i]]
        || (c.s[i] !== null && String(c.s[i]).indexOf(word) !== -1)
        || c.ident[i].toLowerCase().indexOf(word) !== -1;
    };
  }

  function apply() {
    var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    var verdict = verdictSelect.value;
    var finding = findingSelect.value;
    if (!words.length && verdict === "all" && finding === "all") {
      matches = null;
    } else {
      var tests = words.map(matcher);
      matches = [];
      for (var i = 0; i < data.n; i++) {
        if (!passes(i, verdict, finding)) continue;
        var ok = true;
        for (var w = 0; w < tests.length && ok; w++) ok = tests[w](i);
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
    timer = setTimeout(function () { whenReady(apply); }, 120);
  });
  verdictSelect.addEventListener("change", function () { whenReady(apply); });
  findingSelect.addEventListener("change", function () { whenReady(apply); });
  moreButton.addEventListener("click", function () { whenReady(function () { renderMore(PAGE); }); });

  // Keep appending while the end of the table scrolls into view.
  var sentinel = document.getElementById("rows-end");
  if (sentinel && "IntersectionObserver" in window) {
    new IntersectionObserver(function (entries) {
      if (!entries[0].isIntersecting) return;
      whenReady(function () { if (shown < total()) renderMore(PAGE); });
    }, { rootMargin: "400px" }).observe(sentinel);
  }
})();
