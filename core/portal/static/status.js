// Keeps a delivery's timeline live: polls its status JSON until the delivery is done.
(function () {
  "use strict";
  var list = document.getElementById("timeline");
  if (!list || list.dataset.done === "true") { return; }
  var url = list.dataset.statusUrl;
  var stateEl = document.getElementById("state");

  function item(step) {
    var li = document.createElement("li");
    li.className = "step step-" + step.step;
    if (step.at) {
      var t = document.createElement("time");
      t.textContent = step.at;
      li.appendChild(t);
      li.appendChild(document.createTextNode(" "));
    }
    var span = document.createElement("span");
    span.textContent = step.text;  // text, never HTML: names come from deliveries
    li.appendChild(span);
    return li;
  }

  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (s) {
        list.textContent = "";
        s.timeline.forEach(function (step) { list.appendChild(item(step)); });
        stateEl.textContent = s.state.replace(/_/g, " ");
        stateEl.className = "state state-" + s.state;
        if (s.done) {
          list.dataset.done = "true";
          window.location.reload();  // the page as rendered for a finished delivery: its reports, grouped
        } else {
          setTimeout(poll, 1000);
        }
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1000);
})();
