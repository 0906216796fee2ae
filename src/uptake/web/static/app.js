// Uptake pages: draw the Plotly charts and maps whose figures the server put in <script type="application/json">
// blocks, again after every htmx swap; submit filter forms that have no htmx wiring when a choice changes.
(function () {
  'use strict';
  var plotConfig = { displaylogo: false, responsive: true,
    modeBarButtonsToRemove: ['select2d', 'lasso2d', 'autoScale2d', 'toggleSpikelines'] };
  var geoCache = {};

  function readSpec(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function drawChart(el) {
    if (el.dataset.drawn || typeof Plotly === 'undefined') return;
    var spec = readSpec(el.dataset.chart);
    if (!spec) return;
    el.dataset.drawn = '1';
    Plotly.newPlot(el, spec.data, spec.layout, plotConfig);
  }

  // A sequential scale from pale to NHS dark blue; reversed for "lower is better" indicators.
  var STOPS = [[0, [232, 237, 238]], [0.25, [200, 227, 245]], [0.5, [65, 182, 230]], [0.75, [0, 94, 184]], [1, [0, 48, 135]]];
  function colourAt(t) {
    t = Math.max(0, Math.min(1, t));
    for (var i = 1; i < STOPS.length; i++) {
      if (t <= STOPS[i][0]) {
        var a = STOPS[i - 1], b = STOPS[i], f = (t - a[0]) / (b[0] - a[0]);
        var c = [0, 1, 2].map(function (k) { return Math.round(a[1][k] + f * (b[1][k] - a[1][k])); });
        return 'rgb(' + c.join(',') + ')';
      }
    }
    return 'rgb(0,48,135)';
  }

  function rings(geometry) {
    if (!geometry) return [];
    if (geometry.type === 'Polygon') return geometry.coordinates;
    if (geometry.type === 'MultiPolygon') return [].concat.apply([], geometry.coordinates);
    return [];
  }

  function drawMap(el, spec, geo) {
    // A categorical map (spec.categories: [{key, label, colour}], each value has .category) colours each area
    // by its category with a legend; otherwise a sequential scale over the values .v.
    var categories = null;
    if (spec.categories) {
      categories = {};
      spec.categories.forEach(function (c) { categories[c.key] = c; });
    }
    var values = spec.values, codes = Object.keys(values);
    var vs = codes.map(function (c) { return values[c].v; }).filter(function (v) { return v !== null; });
    var lo = Math.min.apply(null, vs), hi = Math.max.apply(null, vs);
    if (spec.range) { lo = spec.range[0]; hi = spec.range[1]; }
    var span = hi > lo ? hi - lo : 1;
    var traces = [], latSum = 0, latN = 0;
    geo.features.forEach(function (f) {
      var code = f.properties.code, entry = values[code];
      var x = [], y = [];
      rings(f.geometry).forEach(function (ring) {
        ring.forEach(function (p) { x.push(p[0]); y.push(p[1]); latSum += p[1]; latN += 1; });
        x.push(null); y.push(null);
      });
      var fill;
      if (categories) {
        fill = entry && categories[entry.category] ? categories[entry.category].colour : null;
      } else {
        var t = entry && entry.v !== null ? (entry.v - lo) / span : null;
        if (t !== null && spec.reverse) t = 1 - t;
        fill = t === null ? null : colourAt(t);
      }
      // Areas with no result are white with a grey outline, so they never read as a low value.
      var outline = fill === null ? '#aeb7bd' : '#ffffff';
      if (fill === null) fill = '#ffffff';
      var name = (entry && entry.name) || f.properties.name || code;
      traces.push({ type: 'scatter', mode: 'lines', x: x, y: y, fill: 'toself', hoveron: 'fills',
        fillcolor: fill, line: { color: outline, width: 0.6 },
        text: name + ' (' + code + '): ' + (entry ? entry.label : 'no data'), hoverinfo: 'text',
        showlegend: false, customdata: [code] });
    });
    var lat0 = latN ? latSum / latN : 52.5;
    var scale = STOPS.map(function (s) { return [s[0], colourAt(s[0])]; });
    if (categories) {
      spec.categories.forEach(function (c) {
        var n = codes.filter(function (k) { return values[k].category === c.key; }).length;
        traces.push({ type: 'scatter', mode: 'markers', x: [null], y: [null], hoverinfo: 'skip', showlegend: true,
          name: c.label + ' (' + n + ')', marker: { color: c.colour, size: 14, symbol: 'square' } });
      });
    } else if (vs.length) {
      traces.push({ type: 'scatter', mode: 'markers', x: [null], y: [null], hoverinfo: 'skip', showlegend: false,
        marker: { color: [lo, hi], cmin: lo, cmax: hi, colorscale: scale, reversescale: !!spec.reverse,
          showscale: true, colorbar: { ticksuffix: spec.suffix, thickness: 14, len: 0.6 } } });
    }
    var layout = {
      title: { text: spec.title, font: { size: 16 }, x: 0, xanchor: 'left' },
      font: { family: 'Arial, sans-serif', size: 13, color: '#212b32' },
      margin: { l: 8, r: 8, t: 48, b: 8 }, height: 620, hovermode: 'closest', dragmode: 'pan',
      xaxis: { visible: false }, yaxis: { visible: false, scaleanchor: 'x', scaleratio: 1 / Math.cos(lat0 * Math.PI / 180) },
      paper_bgcolor: '#ffffff', plot_bgcolor: '#ffffff'
    };
    if (categories) layout.legend = { orientation: 'h', x: 0, y: 0, yanchor: 'top' };
    Plotly.newPlot(el, traces, layout, plotConfig).then(function () {
      if (!spec.link || !el.on) return;
      el.on('plotly_click', function (event) {
        var point = event && event.points && event.points[0];
        var code = point && point.data && point.data.customdata && point.data.customdata[0];
        if (code && values[code]) window.location.href = spec.link + encodeURIComponent(code);
      });
    });
  }

  function loadMap(el) {
    if (el.dataset.drawn || typeof Plotly === 'undefined') return;
    var spec = readSpec(el.dataset.map);
    if (!spec) return;
    el.dataset.drawn = '1';
    if (!geoCache[spec.geo]) {
      geoCache[spec.geo] = fetch(spec.geo, { credentials: 'same-origin' }).then(function (r) {
        if (!r.ok) throw new Error('boundaries ' + r.status);
        return r.json();
      });
    }
    geoCache[spec.geo].then(function (geo) { drawMap(el, spec, geo); }).catch(function () {
      el.textContent = 'The map boundaries could not be loaded.';
    });
  }

  function render(root) {
    (root || document).querySelectorAll('[data-chart]').forEach(drawChart);
    (root || document).querySelectorAll('[data-map]').forEach(loadMap);
  }

  function autosubmit(root) {
    (root || document).querySelectorAll('form.uptake-autosubmit select').forEach(function (select) {
      if (select.dataset.wired) return;
      select.dataset.wired = '1';
      select.addEventListener('change', function () { select.form.submit(); });
    });
  }

  // A select with data-shows-kind shows only the fieldsets whose data-kind matches its value (the filing form:
  // plan or justification). Without JavaScript both stay visible and only the chosen one is saved.
  function kindSwitch(root) {
    (root || document).querySelectorAll('select[data-shows-kind]').forEach(function (select) {
      if (select.dataset.wired) return;
      select.dataset.wired = '1';
      var show = function () {
        select.form.querySelectorAll('fieldset[data-kind]').forEach(function (fieldset) {
          fieldset.hidden = fieldset.dataset.kind !== select.value;
        });
      };
      select.addEventListener('change', show);
      show();
    });
  }

  function start() {
    render(document);
    autosubmit(document);
    kindSwitch(document);
    if (window.htmx) {
      document.body.addEventListener('htmx:afterSettle', function (event) {
        render(event.detail.elt);
        autosubmit(event.detail.elt);
      });
    }
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
