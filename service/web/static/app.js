/* MSC-ROLE participant web app: the only script, and every page works without it.
   It installs the service worker (the last calendar and the forms open offline),
   and keeps an answer given without a connection on the phone (IndexedDB) until the
   server has it, then forgets it. Each form gets a client submission id when it is
   filled, so sending the queue twice is still one check-in on the server. */
(function () {
  "use strict";
  var DB_NAME = "msc-role-app";
  var STORE = "pending";

  function openDb() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore(STORE, { keyPath: "id" });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function withStore(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var result = work(tx.objectStore(STORE));
        tx.oncomplete = function () { resolve(result && result.result); };
        tx.onerror = function () { reject(tx.error); };
      });
    });
  }

  function newId() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function hidden(form, name, value) {
    var input = form.querySelector("input[name='" + name + "']");
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      form.appendChild(input);
    }
    input.value = value;
  }

  function say(form, which) {
    var status = form && form.querySelector(".pending");
    if (!status) { return; }
    status.textContent = status.getAttribute(which);
    status.hidden = false;
  }

  var sending = false;
  function flush() {
    if (sending || !navigator.onLine || !window.indexedDB) { return; }
    sending = true;
    withStore("readonly", function (store) { return store.getAll(); }).then(function (items) {
      return (items || []).reduce(function (previous, item) {
        return previous.then(function () {
          return fetch(item.url, {
            method: "POST",
            body: item.body,
            credentials: "same-origin",
            headers: { "Content-Type": "application/x-www-form-urlencoded" }
          }).then(function (response) {
            // The server has it (or refused it for good): the phone keeps nothing.
            if (response.status < 500) {
              return withStore("readwrite", function (store) { return store.delete(item.id); })
                .then(function () { say(document.querySelector("form[data-offline-queue]"), "data-sent-text"); });
            }
          });
        });
      }, Promise.resolve());
    }).catch(function () { /* still offline: try again on the next "online" */ })
      .then(function () { sending = false; });
  }

  function queueOffline(form) {
    hidden(form, "client_submission_id", newId());
    form.addEventListener("submit", function (event) {
      hidden(form, "client_time", new Date().toISOString());
      if (navigator.onLine || !window.indexedDB) { return; }
      event.preventDefault();
      var body = new URLSearchParams(new FormData(form)).toString();
      var item = { id: form.querySelector("input[name='client_submission_id']").value,
                   url: form.getAttribute("action"), body: body };
      withStore("readwrite", function (store) { return store.put(item); }).then(function () {
        say(form, "data-pending-text");
        form.querySelector("button[type='submit']").disabled = true;
      });
    });
  }

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/app/sw.js", { scope: "/app" }).catch(function () {});
  }
  if (document.querySelector("form[action='/app/code']") && window.caches) {
    // Signed out: nothing of the participant's stays in the phone's caches.
    caches.keys().then(function (keys) {
      keys.forEach(function (key) { if (key.indexOf("msc-role-app") === 0) { caches.delete(key); } });
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("form[data-offline-queue]"), queueOffline);
  window.addEventListener("online", flush);
  flush();
}());
