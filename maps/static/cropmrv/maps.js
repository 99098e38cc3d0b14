/* cropmrv web maps: the planning-review form (our own file, MIT).
 * The form is built in the popup of a conflicting crop zone and POSTs JSON to the API with the
 * reviewer's API key (kept in sessionStorage for the tab only). window.CMRV_REVIEW holds the URL,
 * the labels in the page's language and the review statuses. */
(function () {
  "use strict";
  var COLORS = {unreviewed: "#e31a1c", open: "#ff7f00", conflict: "#6a3d9a", adjustment_proposed: "#1f78b4",
                conforming: "#33a02c", resolved: "#b2df8a"};

  function esc(v) {
    return String(v === null || v === undefined ? "" : v).replace(/[&<>"']/g, function (c) {
      return "&#" + c.charCodeAt(0) + ";";
    });
  }

  function num(v, digits, lang) {
    return new Intl.NumberFormat(lang === "vi" ? "vi-VN" : "en-US",
      {minimumFractionDigits: digits, maximumFractionDigits: digits}).format(v);
  }

  function rowsOf(p, cfg) {
    var L_ = cfg.labels;
    var overlap = num(p.overlap_ha, 2, cfg.lang) + " ha (" + num(100 * p.share, 0, cfg.lang) + " % " + L_.of_area + ")";
    return [[L_.commune, (cfg.communes || {})[p.commune_code] || p.commune_code], [L_.zone, p.zone_code],
            [L_.crop, (cfg.crops || {})[p.crop] || p.crop], [L_.land_use, p.land_use_code],
            [L_.reason, (cfg.reasons || {})[p.reason] || p.reason], [L_.overlap, overlap],
            [L_.status, (cfg.status_names || {})[p.status] || p.status]];
  }

  function styleOf(status, cfg) {
    return {color: "#222222", weight: 1, fillColor: (cfg.colors || COLORS)[status] || "#999999", fillOpacity: 0.85};
  }

  /* TWKB (PostGIS ST_AsTWKB, spec: github.com/TWKB/Specification) in base64 → a GeoJSON geometry.
   * Our own reader because the page must load nothing from outside and the format is small: a
   * header (type, precision), optional size/bbox/id list, then zigzag varint coordinates, each the
   * delta from the previous one across the whole geometry. Extra dimensions (Z, M) are read and
   * dropped. */
  function twkb(b64) {
    var s = window.atob(b64), pos = 0;
    function varint() {
      var v = 0, mul = 1, b;
      do { b = s.charCodeAt(pos++); v += (b & 127) * mul; mul *= 128; } while (b & 128);
      return v;
    }
    function zz() { var v = varint(); return (v % 2) ? -(v + 1) / 2 : v / 2; }
    function geom() {
      var head = s.charCodeAt(pos++), type = head & 15, p = head >> 4, meta = s.charCodeAt(pos++);
      p = (p & 1) ? -((p + 1) >> 1) : p >> 1;
      var dims = 2, i;
      if (meta & 8) { var ext = s.charCodeAt(pos++); dims += (ext & 1) + ((ext >> 1) & 1); }
      if (meta & 2) { varint(); }
      if (meta & 1) { for (i = 0; i < 2 * dims; i++) { zz(); } }
      var names = [null, "Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon",
                   "GeometryCollection"];
      if (meta & 16) { return type === 7 ? {type: names[7], geometries: []} : {type: names[type], coordinates: []}; }
      var f = Math.pow(10, p), last = [0, 0, 0, 0];
      function point() {
        var c = [];
        for (var d = 0; d < dims; d++) { last[d] += zz(); if (d < 2) { c.push(last[d] / f); } }
        return c;
      }
      function line() { var n = varint(), c = []; for (var k = 0; k < n; k++) { c.push(point()); } return c; }
      function poly() { var n = varint(), c = []; for (var k = 0; k < n; k++) { c.push(line()); } return c; }
      if (type === 1) { return {type: "Point", coordinates: point()}; }
      if (type === 2) { return {type: "LineString", coordinates: line()}; }
      if (type === 3) { return {type: "Polygon", coordinates: poly()}; }
      var n = varint(), out = [];
      if (meta & 4) { for (i = 0; i < n; i++) { zz(); } }
      for (i = 0; i < n; i++) {
        out.push(type === 4 ? point() : type === 5 ? line() : type === 6 ? poly() : geom());
      }
      return type === 7 ? {type: names[7], geometries: out} : {type: names[type], coordinates: out};
    }
    return geom();
  }
  window.cmrvTwkb = twkb;

  /* A packed layer (maps/compact.py: {"k": names, "f": [[id, geometry, values…]], "d": {column:
   * [values]}}) → GeoJSON. A geometry given as a number is the one of that earlier row (shared, not
   * copied); a column in "d" holds indexes into its list of values. */
  window.cmrvDecode = function (c) {
    var geoms = [];
    var features = c.f.map(function (r, i) {
      var g = r[1];
      geoms[i] = typeof g === "number" ? geoms[g] : (g ? twkb(g) : null);
      var p = {}, d = c.d || {};
      for (var k = 0; k < c.k.length; k++) {
        var v = r[k + 2];
        p[c.k[k]] = (d[k] && v !== null) ? d[k][v] : v;
      }
      return {type: "Feature", id: r[0], geometry: geoms[i], properties: p};
    });
    return {type: "FeatureCollection", features: features.filter(function (f) { return f.geometry; })};
  };

  function tooltipHtml(p, rows) {
    return '<div class="cmrv-popup"><table>' + rows.map(function (r) {
      return "<tr><th>" + esc(r[1]) + "</th><td>" + esc(p[r[0]]) + "</td></tr>";
    }).join("") + "</table></div>";
  }

  /* The L.geoJson layer of a packed object; o: {style, styleBy: [property, {value: style}], tooltip:
   * [[property, label]], onEach: global function name, radius (points as circle markers), interactive}. */
  window.cmrvLayer = function (c, o) {
    o = o || {};
    var by = o.styleBy;
    return L.geoJson(window.cmrvDecode(c), {
      interactive: o.interactive !== false,
      style: function (f) {
        var st = L.extend({}, o.style || {});
        if (by) { L.extend(st, by[1][f.properties[by[0]]] || {}); }
        if (f.geometry && /LineString/.test(f.geometry.type)) { st.fill = false; }  // a canal is no area
        return st;
      },
      pointToLayer: function (f, ll) { return L.circleMarker(ll, {radius: o.radius || 6}); },
      onEachFeature: function (f, layer) {
        if (o.tooltip && o.interactive !== false) {
          layer.bindTooltip(function () { return tooltipHtml(f.properties, o.tooltip); }, {sticky: true});
        }
        if (o.onEach) { window[o.onEach](f, layer); }
      }
    });
  };

  /* One conflicting crop zone: its colour by review status, a tooltip and the review form. */
  window.cmrvConflict = function (feature, layer) {
    var cfg = window.CMRV_REVIEW;
    var p = feature.properties;
    if (p.crop_zone_id === undefined) { p.crop_zone_id = feature.id; }
    layer.setStyle(styleOf(p.status, cfg));
    layer.bindTooltip(function () {
      return '<div class="cmrv-popup"><table>' + rowsOf(p, cfg).map(function (r) {
        return "<tr><td><b>" + esc(r[0]) + "</b></td><td>" + esc(r[1]) + "</td></tr>";
      }).join("") + "</table></div>";
    }, {sticky: true});
    layer.bindPopup(function () { return window.cmrvReviewForm(p, layer); }, {maxWidth: 320, minWidth: 260});
  };

  window.cmrvReviewForm = function (p, layer) {
    var cfg = window.CMRV_REVIEW || {labels: {}, statuses: []};
    var L_ = cfg.labels;
    var rows = rowsOf(p, cfg).slice(0, 6);
    var html = '<div class="cmrv-popup"><table>' + rows.map(function (r) {
      return "<tr><td><b>" + esc(r[0]) + "</b></td><td>" + esc(r[1]) + "</td></tr>";
    }).join("") + "</table>";
    if (!cfg.url) {
      return html + '<div class="cmrv-note">' + esc(L_.served_only) + "</div></div>";
    }
    var opts = cfg.statuses.map(function (s) {
      var sel = (p.status === s[0] || (p.status === "unreviewed" && s[0] === "conflict")) ? " selected" : "";
      return '<option value="' + esc(s[0]) + '"' + sel + ">" + esc(s[1]) + "</option>";
    }).join("");
    var key = "";
    try { key = window.sessionStorage.getItem("cmrv_api_key") || ""; } catch (e) { key = ""; }
    var div = document.createElement("div");
    div.innerHTML = html + '<form class="cmrv-form" data-zone="' + esc(p.crop_zone_id) + '">' +
      '<div class="cmrv-h2">' + esc(L_.review) + "</div>" +
      "<label>" + esc(L_.status) + '<select name="status">' + opts + "</select></label>" +
      "<label>" + esc(L_.finding) + '<textarea name="finding" rows="2"></textarea></label>' +
      "<label>" + esc(L_.decision) + '<input name="decision" type="text"></label>' +
      "<label>" + esc(L_.api_key) + '<input name="api_key" type="password" autocomplete="off" value="' +
      esc(key) + '"></label>' +
      '<button type="submit" class="btn btn-sm btn-primary">' + esc(L_.submit) + "</button>" +
      '<div class="cmrv-msg" role="status"></div></form></div>';
    var form = div.querySelector("form");
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      submit(form, p, layer, cfg);
    });
    return div;
  };

  function submit(form, p, layer, cfg) {
    var msg = form.querySelector(".cmrv-msg");
    var key = form.elements.api_key.value.trim();
    if (!key) {
      msg.className = "cmrv-msg cmrv-msg-err";
      msg.textContent = cfg.labels.missing_key;
      return;
    }
    try { window.sessionStorage.setItem("cmrv_api_key", key); } catch (e) { /* private mode */ }
    var body = {commune_code: p.commune_code, crop_zone_id: p.crop_zone_id, planning_zone_id: p.planning_zone_id,
                status: form.elements.status.value, finding: form.elements.finding.value || null,
                decision: form.elements.decision.value || null};
    form.querySelector("button").disabled = true;
    fetch(cfg.url, {method: "POST", headers: {"Content-Type": "application/json", "X-API-Key": key},
                    body: JSON.stringify(body)})
      .then(function (r) {
        return r.text().then(function (t) {
          var d = null;
          try { d = JSON.parse(t); } catch (e) { d = {detail: t}; }
          return {ok: r.ok, status: r.status, data: d};
        });
      })
      .then(function (res) {
        form.querySelector("button").disabled = false;
        if (res.ok) {
          msg.className = "cmrv-msg cmrv-msg-ok";
          msg.textContent = cfg.labels.saved + " " + (res.data && res.data.id !== undefined ? res.data.id : "");
          p.status = body.status;
          if (layer && layer.setStyle) {
            layer.setStyle(styleOf(body.status, cfg));
          }
        } else {
          msg.className = "cmrv-msg cmrv-msg-err";
          msg.textContent = cfg.labels.error + " " + res.status + ": " +
            ((res.data && (res.data.detail || res.data.title)) || "");
        }
      })
      .catch(function (err) {
        form.querySelector("button").disabled = false;
        msg.className = "cmrv-msg cmrv-msg-err";
        msg.textContent = cfg.labels.error + ": " + err;
      });
  }
})();
