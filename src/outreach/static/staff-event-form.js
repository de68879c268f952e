// The event form's room list follows the chosen branch: rooms of other branches are
// hidden (and a room no longer in the branch is unselected). Without this script every
// room is listed and the server refuses a room outside the branch, naming both.
(function () {
  "use strict";
  var branch = document.getElementById("branch");
  var room = document.getElementById("room");
  if (!branch || !room) { return; }
  function follow() {
    var chosen = branch.value;
    Array.prototype.forEach.call(room.options, function (option) {
      var other = chosen && option.dataset.branch && option.dataset.branch !== chosen;
      option.hidden = Boolean(other);
      option.disabled = Boolean(other);
      if (other && option.selected) { room.value = ""; }
    });
  }
  branch.addEventListener("change", follow);
  follow();
})();
