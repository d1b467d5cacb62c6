/* corscope page probe: served by the corscope mitmproxy addon at /__corscope__/probe.js, and
 * put by it in front of dedicated and shared worker scripts.
 *
 * Tells the proxy what only the page (or worker) knows about its cross-origin fetches: the
 * mode and credentials mode it asked for, whether the fetch failed, and what Resource Timing
 * says about who answered (the network, the HTTP cache, a service worker).
 *
 * Rules it keeps: one global (self.__corscope__); fetch, XHR, EventSource and sendBeacon are
 * wrapped, never replaced in behaviour: the original arguments go through untouched
 * (building a new Request from them would consume a request body); nothing here throws
 * into the page or writes to the console; reports leave in batches with navigator.sendBeacon
 * (in a worker, which has none, with a keepalive fetch). Written to be joined into one line
 * in front of a worker's first line: block comments only, every statement ends with a
 * semicolon.
 */
(function () {
  'use strict';
  var w = self;
  if (w.__corscope__) return;
  var RESERVED = '/__corscope__/';
  /* An about:blank or srcdoc frame (the probe goes into those from its parent, see below)
     has a URL with no origin of its own: it stands where its creator's document does, whose
     origin and base URL it takes (HTML "about:blank" and "srcdoc" documents). */
  var here = w.location;
  if (here.protocol === 'about:' && typeof document !== 'undefined') {
    try { here = new URL(document.baseURI); } catch (e) { return; }
    if (here.protocol !== 'http:' && here.protocol !== 'https:') return;
  }
  /* Absolute now: a <base href> parsed later must not send reports elsewhere. */
  var ENDPOINT = here.origin + RESERVED + 'report';
  var MAX_BATCH = 40;
  var FLUSH_MS = 400;
  var TIMING_WAIT_MS = 300;
  var MAX_TIMINGS = 500;

  var ns = { version: 1, sent: 0, dropped: 0 };
  try {
    Object.defineProperty(w, '__corscope__', { value: ns, configurable: false, enumerable: false });
  } catch (e) {
    return;
  }

  /* The page's fetch and sendBeacon are wrapped below; the probe's own reports take the
     native ones. */
  var nativeFetch = w.fetch;
  var nativeBeacon = null;
  try {
    if (navigator.sendBeacon) nativeBeacon = navigator.sendBeacon.bind(navigator);
  } catch (e) { /* a worker, or a navigator without it: reports go by fetch */ }

  /* The origin calls are made from: a sandboxed document's, and its workers', is opaque
     (self.origin "null"), and then every request is cross-origin, to its own URL's origin
     too (Fetch: a request's origin is its client's origin, not its URL's). */
  var callerOrigin = typeof w.origin === 'string' ? w.origin : here.origin;
  /* A worker's requests go without the UA client hints a document's carry, which shifts
     the order Chromium checks their headers in. */
  var inWorker = typeof WorkerGlobalScope !== 'undefined' && w instanceof WorkerGlobalScope;
  var timeOrigin = (w.performance && w.performance.timeOrigin) || Date.now();
  var queue = [];
  var settled = [];
  var timings = [];
  var flushTimer = null;
  var timingTimer = null;

  function now() {
    try { return timeOrigin + w.performance.now(); } catch (e) { return Date.now(); }
  }

  function absolute(url) {
    try { return new URL(String(url), here.href).href; } catch (e) { return null; }
  }

  function interesting(href) {
    /* Cross-origin http(s) only: same-origin fetches need no CORS check. */
    if (!href) return false;
    try {
      var u = new URL(href);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
      return u.origin !== callerOrigin;
    } catch (e) {
      return false;
    }
  }

  function reserved(href) {
    try {
      var u = new URL(href);
      return u.origin === here.origin && u.pathname.indexOf(RESERVED) === 0;
    } catch (e) {
      return true;
    }
  }

  function controlled() {
    try { return !!(navigator.serviceWorker && navigator.serviceWorker.controller); } catch (e) { return false; }
  }

  function upper(method) {
    var m = String(method || 'GET');
    var u = m.toUpperCase();
    /* Fetch normalizes only these; any other method keeps its case on the wire. */
    return /^(DELETE|GET|HEAD|OPTIONS|POST|PUT)$/.test(u) ? u : m;
  }

  /* ---- Resource Timing: who answered ---- */

  function noteTiming(entry) {
    if (!entry || reserved(entry.name)) return;
    if (ELEMENT_INITIATORS[entry.initiatorType]) {
      noteElement(entry);
      return;
    }
    timings.push({
      name: entry.name,
      start: timeOrigin + entry.startTime,
      deliveryType: typeof entry.deliveryType === 'string' ? entry.deliveryType : null,
      workerStart: typeof entry.workerStart === 'number' ? entry.workerStart : null,
      transferSize: typeof entry.transferSize === 'number' ? entry.transferSize : null,
      responseStatus: typeof entry.responseStatus === 'number' ? entry.responseStatus : null,
      initiatorType: entry.initiatorType || null
    });
    if (timings.length > MAX_TIMINGS) timings.splice(0, timings.length - MAX_TIMINGS);
  }

  /* ---- Elements in CORS mode: the HTTP cache answers them without the proxy ---- */

  /* Resource Timing's initiatorType for loads made by markup and CSS. */
  var ELEMENT_INITIATORS = { img: 1, image: 1, input: 1, script: 1, link: 1, css: 1,
    video: 1, audio: 1, track: 1 };
  var scripted = {};
  var scriptedCount = 0;

  /* An element made by script (new Image(), a script tag never attached) cannot be found
     in the document later: remember its URL and crossorigin value when its src is set. */
  function rememberSrc(proto) {
    try {
      var d = Object.getOwnPropertyDescriptor(proto, 'src');
      if (!d || !d.set || !d.configurable) return;
      Object.defineProperty(proto, 'src', {
        configurable: true, enumerable: d.enumerable, get: d.get,
        set: function (value) {
          try {
            var href = absolute(value);
            if (this.crossOrigin !== null && interesting(href) && scriptedCount < MAX_TIMINGS) {
              scripted[href] = { crossOrigin: this.crossOrigin, module: this.type === 'module' };
              scriptedCount++;
            }
          } catch (e) { /* never into the page */ }
          return d.set.call(this, value);
        }
      });
    } catch (e) { /* a frozen prototype: such elements go unreported */ }
  }
  if (typeof HTMLImageElement !== 'undefined') rememberSrc(HTMLImageElement.prototype);
  if (typeof HTMLScriptElement !== 'undefined') rememberSrc(HTMLScriptElement.prototype);

  /* Fonts: Resource Timing names a font and a CSS background image alike ("css"). A font
     is a URL with a font's extension, one a FontFace was made with, or one an @font-face
     rule of a stylesheet the page may read names (font services serve fonts from URLs
     without an extension). */
  var FONT_URL = /[.](woff2?|ttf|otf|eot)([?#]|$)/i;
  var fontUrls = {};
  var fontCount = 0;
  var scannedSheets = typeof WeakMap === 'function' ? new WeakMap() : null;

  function rememberFonts(source, base) {
    var sources = /url\(\s*(['"]?)(.*?)\1\s*\)/g;
    var m;
    while ((m = sources.exec(String(source))) !== null && fontCount < MAX_TIMINGS) {
      try {
        var href = new URL(m[2], base).href;
        if (!fontUrls[href]) { fontUrls[href] = true; fontCount++; }
      } catch (e) { /* not a URL */ }
    }
  }

  var NativeFontFace = w.FontFace;
  if (typeof NativeFontFace === 'function' && typeof Proxy === 'function') {
    try {
      w.FontFace = new Proxy(NativeFontFace, {
        construct: function (target, args, newTarget) {
          try {
            if (typeof args[1] === 'string') rememberFonts(args[1], here.href);
          } catch (e) { /* never into the page */ }
          return Reflect.construct(target, args, newTarget);
        }
      });
    } catch (e) { /* a frozen global: such fonts go by their extension */ }
  }

  function isFont(href) {
    if (FONT_URL.test(href) || fontUrls[href]) return true;
    if (typeof document === 'undefined' || !scannedSheets) return false;
    for (var i = 0; i < document.styleSheets.length; i++) {
      var sheet = document.styleSheets[i];
      var rules = null;
      try { rules = sheet.cssRules; } catch (e) { continue; /* another origin's, unreadable */ }
      if (!rules || scannedSheets.get(sheet) === rules.length) continue;
      scannedSheets.set(sheet, rules.length);
      for (var j = 0; j < rules.length; j++) {
        if (rules[j].type === 5 /* CSSRule.FONT_FACE_RULE */) {
          rememberFonts(rules[j].style.getPropertyValue('src'), sheet.href || here.href);
        }
      }
    }
    return !!fontUrls[href];
  }

  /* The element that loaded `href`, as { crossOrigin, module, as }, or null; `as` is what a
     link loads ("style" for a stylesheet). Null too when elements that ask for it
     differently share the URL: which of them this load was is not known. */
  function elementFor(href) {
    var found = scripted[href] || null;
    if (typeof document === 'undefined') return found;
    try {
      var all = document.querySelectorAll(
        'img, script[src], link[href], video, audio, track[src], input[src]');
      for (var i = 0; i < all.length; i++) {
        var el = all[i];
        /* The properties are resolved already, as Resource Timing's names are. */
        if (el.currentSrc !== href && el.src !== href && el.href !== href) continue;
        var rel = ' ' + String(el.rel || '').toLowerCase() + ' ';
        var asked = { crossOrigin: el.getAttribute('crossorigin'),
          module: el.type === 'module' || rel.indexOf(' modulepreload ') >= 0,
          as: rel.indexOf(' preload ') >= 0 ? (el.getAttribute('as') || '').toLowerCase() :
            rel.indexOf(' stylesheet ') >= 0 ? 'style' : '' };
        if (found && (found.crossOrigin !== asked.crossOrigin || found.module !== asked.module ||
            (found.as || '') !== asked.as)) return null;
        found = asked;
      }
    } catch (e) { return null; }
    return found;
  }

  /* Fetch's request mode, credentials mode and destination of an element's load; null for
     a no-cors load, which no CORS check can fail. */
  function elementRequest(entry) {
    var type = entry.initiatorType;
    if (type === 'css') {
      /* A font is always fetched in CORS mode; a background image never is. */
      return isFont(entry.name) ? { credentials: 'same-origin', destination: 'font' } : null;
    }
    var el = elementFor(entry.name);
    if (!el) {
      /* No element asked for it: a module script's import, static or `import()`, which
         Resource Timing names "script" too. Its status shows only for a CORS-mode load
         that passed (a no-cors script's opaque answer shows 0; measured, Chromium 156), and
         its credentials are the importing script's, "same-origin" unless a module with
         crossorigin="use-credentials" imported it (HTML "fetch a single imported module
         script"). A 0 says nothing: a refused import, or a classic script removed. */
      var status = entry.responseStatus;
      if (type === 'script' && typeof status === 'number' && status > 0) {
        return { credentials: 'same-origin', destination: 'script' };
      }
      return null;
    }
    var destination = { img: 'image', image: 'image', input: 'image', script: 'script',
      video: 'video', audio: 'audio', track: 'track' }[type];
    if (type === 'link') {
      /* A stylesheet, a module preload or a preload of a kind a page loads; not a prefetch
         or a preload as=fetch, whose requests the wire tells apart from nothing else. */
      destination = el.module ? 'script' : { font: 'font', script: 'script', style: 'style',
        image: 'image', audio: 'audio', video: 'video', track: 'track' }[el.as];
      if (!destination) return null;
    }
    /* A preload without crossorigin, even of a font, goes in no-cors mode. */
    if (el.crossOrigin === null && !el.module) return null;
    var credentials = el.crossOrigin === 'use-credentials' ? 'include' : 'same-origin';
    return { credentials: credentials, destination: destination };
  }

  function noteElement(entry) {
    if (!interesting(entry.name)) return;
    var asked = elementRequest(entry);
    if (!asked) return;
    var status = typeof entry.responseStatus === 'number' ? entry.responseStatus : null;
    queue.push({
      kind: 'element',
      url: entry.name,
      method: 'GET',
      mode: 'cors',
      credentials: asked.credentials,
      destination: asked.destination,
      redirect: 'follow',
      t: timeOrigin + entry.startTime,
      page: here.href,
      controlled: controlled(),
      /* A CORS-mode load shows its status unless it failed: 0 is the browser refusing it. */
      failed: status === 0,
      aborted: false,
      status: status,
      type: null
    });
    sendSoon();
  }

  try {
    if (w.PerformanceObserver) {
      new w.PerformanceObserver(function (list) {
        try { list.getEntries().forEach(noteTiming); } catch (e) { /* keep the page quiet */ }
      }).observe({ type: 'resource', buffered: true });
    }
  } catch (e) { /* no Resource Timing: records go without it */ }

  function takeTiming(rec) {
    var best = -1;
    var bestGap = Infinity;
    for (var i = 0; i < timings.length; i++) {
      var t = timings[i];
      if (t.name !== rec.url) continue;
      var gap = Math.abs(t.start - rec.t);
      if (gap < bestGap && gap < 5000) { best = i; bestGap = gap; }
    }
    if (best < 0) return null;
    var found = timings.splice(best, 1)[0];
    return {
      deliveryType: found.deliveryType,
      workerStart: found.workerStart,
      transferSize: found.transferSize,
      responseStatus: found.responseStatus,
      initiatorType: found.initiatorType
    };
  }

  /* ---- Content Security Policy: a call the policy refused never leaves the browser ---- */

  var violations = [];
  try {
    w.addEventListener('securitypolicyviolation', function (event) {
      try {
        if (event.disposition === 'report') return;
        var uri = String(event.blockedURI || '');
        var directive = String(event.effectiveDirective || '');
        if (refusedElement(uri, directive)) return;
        violations.push({ uri: uri, directive: directive });
        if (violations.length > 50) violations.shift();
      } catch (e) { /* never into the page */ }
    });
  } catch (e) { /* no events here: records go without it */ }

  /* Resource Timing never hears of an element load the policy refused: its violation is
     all there is. Recorded as noteElement would have (CORS-mode loads only). */
  var REFUSED_AS = { 'img-src': 'img', 'script-src': 'script', 'script-src-elem': 'script',
    'style-src': 'link', 'style-src-elem': 'link', 'font-src': 'css' };
  function refusedElement(uri, directive) {
    var type = REFUSED_AS[directive];
    if (!type || !interesting(uri)) return false;
    var asked = elementRequest({ name: uri, initiatorType: type });
    if (!asked) return true;
    queue.push({
      kind: 'element',
      url: uri,
      method: 'GET',
      mode: 'cors',
      credentials: asked.credentials,
      destination: asked.destination,
      redirect: 'follow',
      t: now(),
      page: here.href,
      controlled: controlled(),
      failed: true,
      aborted: false,
      status: 0,
      type: null,
      csp: directive
    });
    sendSoon();
    return true;
  }

  function refusedBy(rec) {
    /* The violation names the URL, or only its origin once a redirect left the page's. An
       event stream learns no failure, so any call without an answer is asked about. */
    if ((rec.status || 0) > 0 || rec.type === 'opaque' || rec.aborted) return null;
    var origin = null;
    try { origin = new URL(rec.url).origin; } catch (e) { origin = null; }
    for (var i = violations.length - 1; i >= 0; i--) {
      var v = violations[i];
      if (v.uri === rec.url || v.uri === origin) {
        violations.splice(i, 1);
        return v.directive;
      }
    }
    return null;
  }

  /* ---- Reporting ---- */

  function send(records) {
    try {
      /* A sandboxed document's calls come from an opaque origin, not its URL's. */
      var body = JSON.stringify({ v: 1, from: 'page', page: here.href, opaque: callerOrigin === 'null',
                                  sent: now(), records: records });
      if (nativeBeacon) {
        if (nativeBeacon(ENDPOINT, body)) ns.sent += records.length;
        else ns.dropped += records.length;
        return;
      }
      /* keepalive: the report outlives a worker its page closes, as a beacon would. */
      nativeFetch.call(w, ENDPOINT, { method: 'POST', body: body, keepalive: true,
        credentials: 'same-origin', headers: { 'Content-Type': 'text/plain;charset=UTF-8' } }
      ).then(function () { ns.sent += records.length; },
             function () { ns.dropped += records.length; });
    } catch (e) {
      ns.dropped += records.length;
    }
  }

  function flush() {
    flushTimer = null;
    while (queue.length) send(queue.splice(0, MAX_BATCH));
  }

  function schedule() {
    /* A worker gets no pagehide to send the rest on when its page closes: it sends at once
       (each batch of calls settled together is one fetch). */
    if (!nativeBeacon) { flush(); return; }
    if (flushTimer === null) flushTimer = setTimeout(flush, FLUSH_MS);
  }

  function drainSettled() {
    /* Resource Timing entries arrive a little after the promise settles: wait for them. */
    timingTimer = null;
    var ready = settled;
    settled = [];
    for (var i = 0; i < ready.length; i++) {
      var timing = ready[i].timing = takeTiming(ready[i]);
      /* A service worker saw the call: how a worker, which has no controller to ask,
         knows it is controlled (its owner's worker handles its fetches too). */
      if (timing && timing.workerStart > 0) ready[i].controlled = true;
      var refused = refusedBy(ready[i]);
      if (refused) ready[i].csp = refused;
      queue.push(ready[i]);
    }
    sendSoon();
  }

  function sendSoon() {
    if (queue.length >= MAX_BATCH) flush(); else schedule();
  }

  function settle(rec, outcome) {
    try {
      rec.failed = outcome.failed;
      rec.aborted = !!outcome.aborted;
      rec.status = outcome.status;
      rec.type = outcome.type || null;
      settled.push(rec);
      if (timingTimer === null) timingTimer = setTimeout(drainSettled, TIMING_WAIT_MS);
    } catch (e) { /* never into the page */ }
  }

  function leaving() {
    try {
      if (timingTimer !== null) { clearTimeout(timingTimer); drainSettled(); }
      if (flushTimer !== null) { clearTimeout(flushTimer); }
      flush();
    } catch (e) { /* never into the page */ }
  }

  try {
    w.addEventListener('pagehide', leaving);
    if (typeof document !== 'undefined') {
      w.addEventListener('visibilitychange', function () {
        if (document.visibilityState === 'hidden') leaving();
      });
    }
  } catch (e) { /* no lifecycle events: timers still flush */ }

  /* ---- the header names a call set ---- */

  /* Lower-case, first occurrence kept, in the order given. Chromium's choice of which
     header to name when a preflight allows several not is decided by every name the
     script set, safelisted ones too, which the wire never shows when the preflight fails.
     Names only, never values. Only arrays, Headers and plain records are read: iterating
     any other iterable (a generator) would use it up before the real call. */
  var MAX_NAMES = 64;
  var TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;

  function addName(names, name) {
    if (typeof name !== 'string' || !TOKEN.test(name) || names.length >= MAX_NAMES) return;
    name = name.toLowerCase();
    if (names.indexOf(name) < 0) names.push(name);
  }

  function headerNames(headers) {
    var names = [];
    if (headers === undefined || headers === null) return names;
    if (typeof Headers !== 'undefined' && headers instanceof Headers) {
      headers.forEach(function (value, name) { addName(names, name); });
    } else if (Array.isArray(headers)) {
      for (var i = 0; i < headers.length && i < MAX_NAMES; i++) {
        if (Array.isArray(headers[i])) addName(names, headers[i][0]);
      }
    } else if (typeof headers === 'object' && typeof headers[Symbol.iterator] !== 'function') {
      Object.keys(headers).forEach(function (name) { addName(names, name); });
    } else {
      return null;
    }
    return names;
  }

  /* The body kinds for which fetch and XHR add a Content-Type of their own when the
     script set none (Fetch "extract a body"): it goes into the same header map (measured,
     Chromium 156). */
  function bodySetsType(body, xhr) {
    if (body === undefined || body === null) return false;
    if (typeof body === 'string') return true;
    if (typeof URLSearchParams !== 'undefined' && body instanceof URLSearchParams) return true;
    if (typeof FormData !== 'undefined' && body instanceof FormData) return true;
    if (typeof Blob !== 'undefined' && body instanceof Blob) return body.type !== '';
    return xhr && typeof Document !== 'undefined' && body instanceof Document;
  }

  function withBodyType(names, body, xhr) {
    if (names !== null && names.indexOf('content-type') < 0 && bodySetsType(body, xhr)) {
      addName(names, 'content-type');
    }
    return names;
  }

  /* ---- fetch ---- */

  function describeFetch(input, init) {
    var isRequest = typeof Request !== 'undefined' && input instanceof Request;
    var rec = {
      kind: 'fetch',
      url: absolute(isRequest ? input.url : input),
      method: isRequest ? input.method : 'GET',
      mode: isRequest ? input.mode : 'cors',
      credentials: isRequest ? input.credentials : 'same-origin',
      redirect: isRequest ? input.redirect : 'follow',
      /* Integrity metadata fails an opaque-redirect answer the wire shows as passing. */
      integrity: isRequest ? input.integrity !== '' : false,
      t: now(),
      page: here.href,  /* now: a single-page app may have changed route by the beacon */
      controlled: controlled()
    };
    var names = isRequest ? headerNames(input.headers) : [];
    if (init && typeof init === 'object') {
      if (init.headers !== undefined) names = headerNames(init.headers);
      names = withBodyType(names, init.body, false);
      if (init.method !== undefined) rec.method = init.method;
      if (init.mode !== undefined) rec.mode = String(init.mode);
      if (init.credentials !== undefined) rec.credentials = String(init.credentials);
      if (init.redirect !== undefined) rec.redirect = String(init.redirect);
      if (init.integrity !== undefined) rec.integrity = String(init.integrity) !== '';
    }
    rec.method = upper(rec.method);
    if (names !== null) rec.headerNames = names;
    if (inWorker) rec.fromWorker = true;
    return interesting(rec.url) ? rec : null;
  }

  if (typeof nativeFetch === 'function') {
    var wrappedFetch = function fetch(input, init) {
      var rec = null;
      try { rec = describeFetch(input, init); } catch (e) { rec = null; }
      var promise = nativeFetch.apply(this, arguments);
      if (rec) {
        try {
          promise.then(function (response) {
            settle(rec, { failed: false, status: response.status, type: response.type });
          }, function (error) {
            var name = error && error.name;
            settle(rec, { failed: name === 'TypeError', aborted: name === 'AbortError', status: 0 });
          });
        } catch (e) { /* a non-promise from a patched fetch: leave it alone */ }
      }
      return promise;
    };
    try {
      Object.defineProperty(wrappedFetch, 'length', { value: nativeFetch.length });
    } catch (e) { /* cosmetic only */ }
    w.fetch = wrappedFetch;
  }

  /* ---- XMLHttpRequest ---- */

  var XHR = w.XMLHttpRequest;
  if (XHR && XHR.prototype && typeof WeakMap === 'function') {
    var calls = new WeakMap();
    var nativeOpen = XHR.prototype.open;
    var nativeSend = XHR.prototype.send;
    var nativeSetRequestHeader = XHR.prototype.setRequestHeader;

    XHR.prototype.open = function (method, url) {
      try {
        var href = absolute(url);
        var call = interesting(href) ? { method: upper(method), url: href, names: [] } : null;
        calls.set(this, call);
      } catch (e) { /* never into the page */ }
      return nativeOpen.apply(this, arguments);
    };

    XHR.prototype.setRequestHeader = function (name) {
      /* The real call first: a name or value it refuses throws, and then nothing was set. */
      var result = nativeSetRequestHeader.apply(this, arguments);
      try {
        var call = calls.get(this);
        if (call) addName(call.names, name);
      } catch (e) { /* never into the page */ }
      return result;
    };

    XHR.prototype.send = function () {
      try {
        var call = calls.get(this);
        if (call) {
          var xhr = this;
          var rec = {
            kind: 'xhr',
            url: call.url,
            method: call.method,
            mode: 'cors',
            credentials: xhr.withCredentials ? 'include' : 'same-origin',
            redirect: 'follow',
            t: now(),
            page: here.href,
            controlled: controlled(),
            headerNames: call.method === 'GET' || call.method === 'HEAD'
              ? call.names : withBodyType(call.names.slice(), arguments[0], true)
          };
          if (inWorker) rec.fromWorker = true;
          var done = false;
          var finish = function (event) {
            if (done) return;
            done = true;
            var failed = event.type === 'error' && xhr.status === 0;
            settle(rec, { failed: failed, aborted: event.type === 'abort', status: xhr.status, type: null });
          };
          xhr.addEventListener('load', finish);
          xhr.addEventListener('error', finish);
          xhr.addEventListener('abort', finish);
          xhr.addEventListener('timeout', finish);
        }
      } catch (e) { /* never into the page */ }
      return nativeSend.apply(this, arguments);
    };
  }

  /* ---- EventSource ---- */

  /* Its credentials mode is withCredentials, which the wire does not show. Its failure
     is not reported: a refused CORS check and a 500 that passed it look the same to the
     page (an error, CLOSED, Resource Timing status 0; measured in Chromium 156). */
  var NativeEventSource = w.EventSource;
  if (typeof NativeEventSource === 'function' && typeof Proxy === 'function') {
    try {
      w.EventSource = new Proxy(NativeEventSource, {
        construct: function (target, args, newTarget) {
          var source = Reflect.construct(target, args, newTarget);
          try { watchEventSource(source); } catch (e) { /* never into the page */ }
          return source;
        }
      });
    } catch (e) { /* a frozen global: event streams go unannotated */ }
  }

  function watchEventSource(source) {
    var href = absolute(source.url);
    if (!interesting(href)) return;
    var rec = {
      kind: 'eventsource',
      url: href,
      method: 'GET',
      mode: 'cors',
      credentials: source.withCredentials ? 'include' : 'same-origin',
      redirect: 'follow',
      t: now(),
      page: here.href,
      controlled: controlled()
    };
    var done = false;
    var finish = function (opened) {
      if (done) return;
      done = true;
      settle(rec, { failed: false, aborted: false, status: opened ? 200 : null, type: null });
    };
    source.addEventListener('open', function () { finish(true); });
    source.addEventListener('error', function () { finish(false); });
  }

  /* ---- navigator.sendBeacon ---- */

  /* Beacon spec: a Blob whose type is not a CORS-safelisted Content-Type goes in CORS mode
     (preflighted); every other body, or none, in no-cors. Credentials always included. */
  function beaconMode(data) {
    if (typeof Blob === 'undefined' || !(data instanceof Blob) || !data.type) return 'no-cors';
    var essence = String(data.type).split(';')[0].trim().toLowerCase();
    var safelisted = essence === 'text/plain' || essence === 'multipart/form-data' ||
      essence === 'application/x-www-form-urlencoded';
    return safelisted ? 'no-cors' : 'cors';
  }

  if (nativeBeacon) {
    var wrappedBeacon = function sendBeacon(url, data) {
      var queued = nativeBeacon.apply(null, arguments);
      try {
        var href = absolute(url);
        if (interesting(href)) {
          /* The page never learns how a beacon ended: no outcome, only what was asked, and
             whether the browser refused to queue it (mixed content, a full quota). */
          settle({
            kind: 'beacon',
            url: href,
            method: 'POST',
            mode: beaconMode(data),
            credentials: 'include',
            redirect: 'follow',
            t: now(),
            page: here.href,
            controlled: controlled()
          }, { failed: !queued, aborted: false, status: null, type: null });
        }
      } catch (e) { /* never into the page */ }
      return queued;
    };
    try {
      navigator.sendBeacon = wrappedBeacon;
    } catch (e) { /* a frozen navigator: beacons go unannotated */ }
  }

  /* ---- frames whose document never crosses the proxy ---- */

  /* A srcdoc frame's markup and an about:blank frame's script come from this document, not
     the wire, so the addon never puts the probe in them. A srcdoc set by script gets the
     probe's script tag in front (parser-blocking: before any of its own scripts run); an
     about:blank frame of this origin gets it once attached (its calls made at once, before
     the probe loads, go without it). A sandboxed frame's document is not ours to reach. */
  var PROBE_TAG = '<script src="' + here.origin + RESERVED + 'probe.js"></script>';

  function withProbe(markup) {
    markup = String(markup);
    return markup.indexOf(PROBE_TAG) >= 0 ? markup : PROBE_TAG + markup;
  }

  function adopt(frame) {
    try {
      var doc = frame.contentDocument;
      var win = frame.contentWindow;
      if (!doc || !win || win.__corscope__ || frame.hasAttribute('srcdoc')) return;
      /* A frame on its way to a URL shows its initial about:blank for now: the document
         it loads from the wire gets the probe there. */
      var src = frame.getAttribute('src');
      if (src && src !== 'about:blank') return;
      if (String(doc.URL) !== 'about:blank' || !doc.documentElement) return;
      var script = doc.createElement('script');
      script.src = here.origin + RESERVED + 'probe.js';
      (doc.head || doc.documentElement).appendChild(script);
    } catch (e) { /* another origin's frame */ }
  }

  if (typeof HTMLIFrameElement !== 'undefined' && typeof document !== 'undefined') {
    try {
      var srcdoc = Object.getOwnPropertyDescriptor(HTMLIFrameElement.prototype, 'srcdoc');
      if (srcdoc && srcdoc.set && srcdoc.configurable) {
        Object.defineProperty(HTMLIFrameElement.prototype, 'srcdoc', {
          configurable: true, enumerable: srcdoc.enumerable, get: srcdoc.get,
          set: function (value) { return srcdoc.set.call(this, withProbe(value)); }
        });
      }
      var nativeSetAttribute = HTMLIFrameElement.prototype.setAttribute;
      HTMLIFrameElement.prototype.setAttribute = function (name, value) {
        if (String(name).toLowerCase() === 'srcdoc') {
          try { value = withProbe(value); } catch (e) { /* left as given */ }
        }
        return nativeSetAttribute.call(this, name, value);
      };
      if (typeof MutationObserver === 'function') {
        new MutationObserver(function (changes) {
          for (var i = 0; i < changes.length; i++) {
            var added = changes[i].addedNodes;
            for (var j = 0; j < added.length; j++) {
              var node = added[j];
              if (node.nodeType !== 1) continue;
              var frames = node.tagName === 'IFRAME' ? [node] : node.querySelectorAll('iframe');
              for (var k = 0; k < frames.length; k++) adopt(frames[k]);
            }
          }
        }).observe(document, { childList: true, subtree: true });
      }
    } catch (e) { /* frames go without the probe */ }
  }

  queue.push({ kind: 'load', t: now(), controlled: controlled() });
  schedule();
})();
