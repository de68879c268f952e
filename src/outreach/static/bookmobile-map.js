// The bookmobile map: the stops listed on the page (their data attributes) as circles,
// each route's stops joined in order by a line. Tiles only when the page names a tile
// server (OUTREACH_MAP_TILES); otherwise a plain background, and no request elsewhere.
// The list stays on the page: it is what screen readers and browsers without scripts get.
(function () {
  "use strict";
  var box = document.getElementById("stops-map");
  var items = document.querySelectorAll("[data-stop-list] li[data-lat]");
  if (!box || !window.L || items.length === 0) {
    return;
  }
  box.hidden = false;
  var map = L.map(box, { zoomControl: false, scrollWheelZoom: false });
  L.control.zoom({ zoomInTitle: box.dataset.zoomIn, zoomOutTitle: box.dataset.zoomOut }).addTo(map);
  if (box.dataset.tiles) {
    L.tileLayer(box.dataset.tiles, { attribution: box.dataset.attribution, maxZoom: 19 }).addTo(map);
  }
  var lines = {};
  var points = [];
  items.forEach(function (item) {
    var point = [parseFloat(item.dataset.lat), parseFloat(item.dataset.lon)];
    points.push(point);
    (lines[item.dataset.route] = lines[item.dataset.route] || []).push(point);
    // A text node, never markup: a stop's name is the library's text.
    var label = document.createElement("span");
    label.textContent = item.dataset.name;
    L.circleMarker(point, { radius: 7, color: "#2a6547", weight: 3, fillColor: "#fff", fillOpacity: 1 })
      .bindTooltip(label)
      .addTo(map);
  });
  Object.keys(lines).forEach(function (key) {
    if (lines[key].length > 1) {
      L.polyline(lines[key], { color: "#2a6547", weight: 3, opacity: 0.6, interactive: false }).addTo(map);
    }
  });
  map.fitBounds(points, { padding: [24, 24], maxZoom: 14 });
})();
