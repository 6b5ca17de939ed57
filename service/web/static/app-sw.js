/* MSC-ROLE participant web app's service worker (served at /app/sw.js, scope /app).
   Network first for the app's pages; the last home page (the calendar) and the report
   form are kept so that they open without a connection. The stylesheet's URL carries
   its hash, so a new version is a new cache entry. */
"use strict";
var CACHE = "msc-role-app-v1";
var STYLE = "__STYLE_URL__";
var KEPT = ["/app", "/app/report"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return cache.add(STYLE);
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (key) { return key !== CACHE; })
      .map(function (key) { return caches.delete(key); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  var path = url.pathname.replace(/\/$/, "");
  if (request.mode === "navigate" && KEPT.indexOf(path) >= 0 && !url.search) {
    event.respondWith(fetch(request).then(function (response) {
      if (response.ok) {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) { cache.put(path, copy); });
      }
      return response;
    }).catch(function () {
      return caches.match(path).then(function (kept) {
        return kept || new Response("Sin conexión / No connection", {
          status: 503, headers: { "Content-Type": "text/plain; charset=utf-8" }
        });
      });
    }));
    return;
  }
  if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(caches.match(request).then(function (kept) {
      return kept || fetch(request);
    }));
  }
});
