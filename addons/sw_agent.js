/* corscope service-worker agent, put in front of service-worker scripts by the corscope
 * mitmproxy addon. Reports what each respondWith answered: a response the worker fetched
 * from the network, one from Cache Storage, one it built itself, or an opaque response to
 * a CORS request (which the browser then fails without any CORS error message).
 * Answers from Cache Storage or built in the worker never reach the proxy; this is the only
 * way it learns of them. A worker has no sendBeacon: reports go with fetch(keepalive).
 * Written without line comments and with explicit semicolons: it is joined into one line
 * so that the worker's own line numbers stay what its source maps say. */
(function (G) {
  'use strict';
  if (G.__corscope_sw__ || typeof FetchEvent === 'undefined' || typeof WeakMap !== 'function') return;
  try {
    Object.defineProperty(G, '__corscope_sw__', { value: { version: 1 }, enumerable: false });
  } catch (e) { return; }
  var ENDPOINT = '/__corscope__/report';
  var RESERVED = '/__corscope__/';
  var MAX_HEADERS = 64;
  var MAX_BATCH = 40;
  var nativeFetch = G.fetch;
  var origin = G.location.origin;
  var tags = new WeakMap();
  var queue = [];
  var timer = null;

  function tag(kind) {
    return function (value) {
      try {
        if (value && typeof value === 'object') {
          if (Array.isArray(value)) { value.forEach(function (r) { if (r && typeof r === 'object') tags.set(r, kind); }); }
          else { tags.set(value, kind); }
        }
      } catch (e) { }
      return value;
    };
  }

  function wrapAsync(proto, name, kind) {
    var native = proto && proto[name];
    if (typeof native !== 'function') return;
    proto[name] = function () {
      var result = native.apply(this, arguments);
      try { return result.then(tag(kind)); } catch (e) { return result; }
    };
  }

  if (typeof Cache !== 'undefined') { wrapAsync(Cache.prototype, 'match', 'cache'); wrapAsync(Cache.prototype, 'matchAll', 'cache'); }
  if (typeof CacheStorage !== 'undefined') { wrapAsync(CacheStorage.prototype, 'match', 'cache'); }
  if (typeof nativeFetch === 'function') {
    G.fetch = function fetch(input, init) {
      var result = nativeFetch.apply(this, arguments);
      /* A fetch with integrity metadata fails in the browser when the answer the proxy saw
         pass does not match it (Fetch §4.1 main fetch): the wire does not show that
         failure, so it stays untagged and the page's fetch is the worker's rejection. */
      try {
        return checked(input, init) ? result.then(tag('network'))
          : result.then(tag('network'), failedFetch);
      } catch (e) { return result; }
    };
  }

  function failedFetch(error) {
    /* The worker's own fetch failed: the proxy saw that request, and why it failed. */
    try { if (error && typeof error === 'object') tags.set(error, 'network-error'); } catch (e) { }
    throw error;
  }
  function checked(input, init) {
    try {
      if (init && init.integrity !== undefined) return !!init.integrity;
      return !!(input && typeof input === 'object' && input.integrity);
    } catch (e) { return false; }
  }
  if (typeof Response !== 'undefined' && typeof Response.prototype.clone === 'function') {
    var nativeClone = Response.prototype.clone;
    Response.prototype.clone = function () {
      var copy = nativeClone.apply(this, arguments);
      try { var kind = tags.get(this); if (kind) tags.set(copy, kind); } catch (e) { }
      return copy;
    };
  }

  function reserved(url) {
    try { var u = new URL(url); return u.origin === origin && u.pathname.indexOf(RESERVED) === 0; }
    catch (e) { return true; }
  }

  function headerList(headers) {
    var out = [];
    try { headers.forEach(function (value, name) { if (out.length < MAX_HEADERS) out.push([name, value]); }); } catch (e) { }
    return out;
  }

  function failure(request, response) {
    /* Fetch, HTTP fetch step 5: which worker answers the browser turns into a network error. */
    var type = response.type;
    if (type === 'error') return 'error-response';
    if (request.mode === 'same-origin' && type === 'cors') return 'cors-response-for-same-origin-request';
    if (request.mode !== 'no-cors' && type === 'opaque') return 'opaque-response-for-cors-request';
    if (request.redirect !== 'manual' && type === 'opaqueredirect') return 'opaque-redirect';
    if (request.redirect !== 'follow' && response.redirected) return 'redirected-response';
    return null;
  }

  function flush() {
    timer = null;
    while (queue.length) {
      var records = queue.splice(0, MAX_BATCH);
      try {
        nativeFetch.call(G, origin + ENDPOINT, {
          method: 'POST',
          body: JSON.stringify({ v: 1, from: 'worker', page: G.location.href, sent: Date.now(), records: records }),
          keepalive: true,
          credentials: 'omit',
          cache: 'no-store',
          headers: { 'Content-Type': 'text/plain;charset=UTF-8' }
        }).then(null, function () { });
      } catch (e) { }
    }
  }

  function report(rec) {
    queue.push(rec);
    if (queue.length >= MAX_BATCH) { flush(); }
    else if (timer === null) { timer = setTimeout(flush, 50); }
  }

  function describe(request) {
    return {
      kind: 'sw',
      url: request.url,
      method: request.method,
      mode: request.mode,
      credentials: request.credentials,
      redirect: request.redirect,
      destination: request.destination,
      t: Date.now(),
      requestHeaders: headerList(request.headers)
    };
  }

  var nativeRespondWith = FetchEvent.prototype.respondWith;
  FetchEvent.prototype.respondWith = function (answer) {
    var rec = null;
    try {
      var request = this.request;
      if (request.mode !== 'navigate' && !reserved(request.url)) rec = describe(request);
    } catch (e) { rec = null; }
    if (!rec) return nativeRespondWith.apply(this, arguments);
    var accepted = false;
    var watched = Promise.resolve(answer).then(function (response) {
      try {
        if (accepted) {
          var isResponse = typeof Response !== 'undefined' && response instanceof Response;
          rec.answer = isResponse ? (tags.get(response) || 'synthetic') : 'invalid';
          if (isResponse) {
            rec.type = response.type;
            rec.status = response.status;
            rec.statusText = response.statusText;
            rec.redirected = response.redirected;
            rec.headers = headerList(response.headers);
          }
          rec.failure = isResponse ? failure(request, response) : 'not-a-response';
          report(rec);
        }
      } catch (e) { }
      return response;
    }, function (error) {
      try {
        if (accepted) {
          rec.answer = 'rejected';
          rec.failure = tags.get(error) === 'network-error' ? 'network-error' : 'rejected';
          rec.error = String(error && error.name || error);
          report(rec);
        }
      } catch (e) { }
      throw error;
    });
    var result = nativeRespondWith.call(this, watched);
    accepted = true;
    try { this.waitUntil(watched.then(null, function () { })); } catch (e) { }
    return result;
  };
})(self);
