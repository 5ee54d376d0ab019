// The dashboard's map (问题地图): reads the page's settings (#map-config: the tile source or
// none, and the words of the page's language), fetches the findings of the page's filter
// (#map[data-points], the ledger's query) and draws them with Leaflet on one canvas, coloured
// by status, overdue ones ringed red; a click opens a popup with the number, status, site and
// a link to the finding. With no tile source it draws a plain street plan from the sites:
// each street's sites outlined and named, the sites named from zoom 15. When every point is
// drawn it sets the performance mark `fc-map-drawn` and #map[data-ready] with the counts.
(function () {
  'use strict';
  var el = document.getElementById('map');
  var summary = document.getElementById('map-summary');
  if (!el || !window.L) return;
  var cfg = JSON.parse(document.getElementById('map-config').textContent);
  var text = cfg.text;
  var COLORS = {
    open: '#e6a23c', dispatched: '#2f7fc1', rectified: '#8e5cc4',
    verified: '#3e9b57', closed: '#1b5e20', sent_back: '#d9534f'
  };

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, k) { return values[k]; });
  }

  var tiles = cfg.tiles;
  var map = L.map(el, { preferCanvas: true, maxZoom: tiles ? tiles.max_zoom : 19, worldCopyJump: false });
  map.attributionControl.setPrefix('Leaflet');
  L.control.scale({ imperial: false }).addTo(map);
  if (tiles) {
    var options = { maxZoom: tiles.max_zoom, attribution: esc(tiles.attribution) };
    if (tiles.subdomains.length) options.subdomains = tiles.subdomains;
    L.tileLayer(tiles.tiles, options).addTo(map);
    if (tiles.labels) {
      var over = { maxZoom: tiles.max_zoom };
      if (tiles.subdomains.length) over.subdomains = tiles.subdomains;
      L.tileLayer(tiles.labels, over).addTo(map);
    }
  } else {
    el.classList.add('street-plan');
    map.attributionControl.addAttribution(esc(text.plan));
  }
  // Site names only when close enough to read them.
  function labelsByZoom() {
    el.classList.toggle('far', map.getZoom() < 15);
  }
  map.on('zoomend', labelsByZoom);

  function convexHull(points) {
    // Andrew's monotone chain over [lon, lat] pairs; fine at a county's scale.
    var p = points.slice().sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; });
    if (p.length < 3) return p;
    function cross(o, a, b) { return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]); }
    var lower = [], upper = [], i;
    for (i = 0; i < p.length; i++) {
      while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], p[i]) <= 0) lower.pop();
      lower.push(p[i]);
    }
    for (i = p.length - 1; i >= 0; i--) {
      while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], p[i]) <= 0) upper.pop();
      upper.push(p[i]);
    }
    upper.pop(); lower.pop();
    return lower.concat(upper);
  }

  function draw(data) {
    var sitesLayer = L.featureGroup();
    var streetsLayer = L.layerGroup();
    var findingsLayer = L.featureGroup();
    var bounds = L.latLngBounds([]);
    var siteBounds = L.latLngBounds([]);
    var streets = {};
    data.sites.forEach(function (s) {
      if (s[4] === null || s[5] === null) return;
      var at = [s[4], s[5]];
      siteBounds.extend(at);
      var key = s[2] + ' · ' + s[3];
      (streets[key] = streets[key] || { name: s[3], points: [] }).points.push([s[5], s[4]]);
      var m = L.circleMarker(at, {
        radius: 4, color: '#37474f', weight: 1.5, fillColor: '#ffffff', fillOpacity: 1
      });
      m.bindTooltip(esc(s[1]), tiles ? { direction: 'right' } :
        { permanent: true, direction: 'right', className: 'site-label', offset: [6, 0] });
      sitesLayer.addLayer(m);
    });
    if (!tiles) {
      Object.keys(streets).forEach(function (key) {
        var st = streets[key];
        var hull = convexHull(st.points);
        if (hull.length >= 3) {
          streetsLayer.addLayer(L.polygon(hull.map(function (q) { return [q[1], q[0]]; }), {
            color: '#8d99a6', weight: 1, dashArray: '4 4', fillColor: '#dfe6ee', fillOpacity: 0.45,
            interactive: false
          }));
        }
        var lon = 0, lat = 0;
        st.points.forEach(function (q) { lon += q[0]; lat += q[1]; });
        streetsLayer.addLayer(L.marker([lat / st.points.length, lon / st.points.length], {
          icon: L.divIcon({ className: 'street-label', html: '<span>' + esc(st.name) + '</span>', iconSize: null }),
          interactive: false, keyboard: false
        }));
      });
    }
    var pts = data.points;
    for (var i = 0; i < pts.length; i++) {
      var p = pts[i];
      var overdue = (p[6] & 1) === 1;
      bounds.extend([p[2], p[3]]);
      findingsLayer.addLayer(L.circleMarker([p[2], p[3]], {
        radius: 6, weight: overdue ? 3 : 1, color: overdue ? '#b3261e' : '#ffffff',
        fillColor: COLORS[data.statuses[p[4]][0]] || '#5b6b7c', fillOpacity: 0.9, index: i
      }));
    }
    findingsLayer.on('click', function (e) {
      var p = pts[e.layer.options.index];
      var site = p[5] >= 0 ? data.sites[p[5]] : null;
      var box = document.createElement('div');
      box.className = 'map-popup';
      var head = document.createElement('strong');
      head.textContent = p[1] || text.pending_number;
      box.appendChild(head);
      var status = document.createElement('span');
      status.className = 'badge status status-' + data.statuses[p[4]][0];
      status.textContent = data.statuses[p[4]][1];
      box.appendChild(document.createTextNode(' '));
      box.appendChild(status);
      if (p[6] & 1) {
        var late = document.createElement('span');
        late.className = 'badge overdue';
        late.textContent = text.overdue;
        box.appendChild(document.createTextNode(' '));
        box.appendChild(late);
      }
      if (site) {
        var where = document.createElement('div');
        where.textContent = site[1] + ' · ' + site[3];
        box.appendChild(where);
      }
      if (p[6] & 2) {
        var note = document.createElement('div');
        note.className = 'muted';
        note.textContent = text.at_site;
        box.appendChild(note);
      }
      var link = document.createElement('a');
      link.href = '/dashboard/findings/' + encodeURIComponent(p[0]);
      link.className = 'popup-link';
      link.textContent = text.open_finding;
      box.appendChild(link);
      L.popup({ offset: [0, -4] }).setLatLng(e.latlng).setContent(box).openOn(map);
    });
    if (bounds.isValid()) {
      map.fitBounds(bounds, { padding: [24, 24], maxZoom: 17 });
    } else if (siteBounds.isValid()) {
      map.fitBounds(siteBounds, { padding: [24, 24], maxZoom: 16 });
    } else {
      map.setView([35, 105], 4);
    }
    labelsByZoom();
    if (!tiles) streetsLayer.addTo(map);
    sitesLayer.addTo(map);
    findingsLayer.addTo(map);
    var overlays = {};
    overlays[esc(text.findings) + ' (' + pts.length + ')'] = findingsLayer;
    overlays[esc(text.sites)] = sitesLayer;
    if (!tiles) overlays[esc(text.streets)] = streetsLayer;
    L.control.layers(null, overlays, { collapsed: false }).addTo(map);

    var lines = [fill(text.shown, { n: pts.length })];
    if (data.total > data.listed) lines.push(fill(text.capped, { total: data.total, n: data.listed }));
    if (data.unplaced > 0) lines.push(fill(text.unplaced, { n: data.unplaced }));
    summary.textContent = lines.join(text.sep);
    summary.classList.remove('muted');
    // Leaflet draws the canvas in the next animation frame, before this callback.
    requestAnimationFrame(function () {
      el.dataset.drawnPoints = String(findingsLayer.getLayers().length);
      el.dataset.drawnSites = String(sitesLayer.getLayers().length);
      el.dataset.ready = '1';
      if (window.performance && performance.mark) performance.mark('fc-map-drawn');
    });
  }

  // For tests and the browser's console: the Leaflet map.
  el.leafletMap = map;
  fetch(el.dataset.points, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
    .then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.message || r.status);
        return body;
      });
    })
    .then(draw)
    .catch(function (e) {
      summary.textContent = text.failed + e.message;
      summary.className = 'error';
      el.dataset.ready = 'failed';
    });
})();
