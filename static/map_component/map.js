// The county choropleth of junheng/views/map_component.py. The outlines come once from a versioned URL of the
// app (the browser keeps them); each run sends only the values: codes, colour classes, texts. Every text from
// the data is inserted as text (textContent or a text node), never as HTML.
"use strict";
(function () {
  const HIGHLIGHT = "#d94801";
  const mapBox = document.getElementById("map");
  const legendBox = document.getElementById("legend");
  const problemBox = document.getElementById("problem");
  const outlines = {};  // geometry URL → decoded {codes, names, shapes}, fetched once while this frame lives
  let map = null, layers = {}, shownKey = "", geometryUrl = "", args = null, clicks = 0;
  const started = Date.now().toString(36);

  function send(type, data) {
    window.parent.postMessage(Object.assign({ isStreamlitMessage: true, type: type }, data), "*");
  }
  function setHeight() {
    send("streamlit:setFrameHeight", { height: Math.ceil(document.body.scrollHeight) });
  }

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  // The outlines (junheng/views/map_component.py encode_outlines): a 4-byte length, a JSON header (grid, codes,
  // names, each ring's number of points), then per ring its x steps and its y steps as zigzag varints; the
  // points are the steps added up, times the grid, as [lat, lon].
  function decode(buffer) {
    const bytes = new Uint8Array(buffer);
    const size = new DataView(buffer).getUint32(0);
    const header = JSON.parse(new TextDecoder("utf-8").decode(bytes.subarray(4, 4 + size)));
    const grid = header.grid;
    let at = 4 + size;
    function number() {
      let n = 0, scale = 1, byte;
      do {
        byte = bytes[at++];
        n += (byte & 0x7f) * scale;
        scale *= 128;
      } while (byte >= 0x80);
      return n % 2 === 1 ? -(n + 1) / 2 : n / 2;
    }
    const shapes = header.rings.map(function (polygons) {
      return polygons.map(function (rings) {
        return rings.map(function (count) {
          const xs = new Array(count), points = new Array(count);
          for (let i = 0; i < count; i++) xs[i] = number();
          let x = 0, y = 0;
          for (let i = 0; i < count; i++) {
            x += xs[i]; y += number();
            points[i] = [y * grid, x * grid];
          }
          return points;
        });
      });
    });
    return { codes: header.codes, names: header.names, shapes: shapes };
  }

  function load(url) {
    if (!outlines[url]) {
      outlines[url] = fetch(new URL(url, new URL("../../", window.location.href)), { credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          return response.arrayBuffer();
        })
        .then(decode)
        .catch(function (error) { delete outlines[url]; throw error; });
    }
    return outlines[url];
  }

  function fillOf(i) {
    const cls = args.classes[i];
    return cls >= 0 && cls < args.palette.length ? args.palette[cls] : args.no_data;
  }

  function baseStyle(code, i) {
    const selected = code === args.selected;
    return { fillColor: fillOf(i), fillOpacity: 0.85, color: selected ? HIGHLIGHT : "#555",
             weight: selected ? 3 : 0.8, opacity: 1 };
  }

  function tooltip(code, name) {
    const i = args.index[code];
    const box = element("div", undefined, "junheng-tip");
    const table = box.appendChild(element("table"));
    const rows = [[args.name_label, name], [args.metric_label, i === undefined ? "—" : args.texts[i]]];
    rows.forEach(function (pair) {
      const row = table.appendChild(element("tr"));
      row.appendChild(element("th", pair[0]));
      row.appendChild(element("td", pair[1]));
    });
    return box;
  }

  function drawLegend() {
    legendBox.replaceChildren();
    legendBox.appendChild(element("span", args.legend_title, "title"));
    args.legend.forEach(function (entry) {
      const item = legendBox.appendChild(element("span", undefined, "entry"));
      const swatch = item.appendChild(element("span", undefined, "swatch"));
      swatch.style.background = /^#[0-9a-fA-F]{3,8}$/.test(entry[0]) ? entry[0] : "transparent";
      item.appendChild(document.createTextNode(String(entry[1])));
    });
  }

  function ensureMap() {
    if (map) return;
    map = L.map(mapBox, { preferCanvas: true, zoomSnap: 0.25, attributionControl: false, maxZoom: 18 });
    L.control.scale({ imperial: false }).addTo(map);
  }

  function draw(geometry) {
    const key = geometryUrl + "|" + args.codes.join(",");
    if (key !== shownKey) {  // other counties: new layers from the outlines already here
      Object.values(layers).forEach(function (layer) { layer.remove(); });
      layers = {};
      const bounds = L.latLngBounds([]);
      geometry.codes.forEach(function (code, g) {
        const i = args.index[code];
        if (i === undefined) return;
        const layer = L.polygon(geometry.shapes[g], baseStyle(code, i));
        layer.bindTooltip(function () { return tooltip(code, geometry.names[g]); }, { sticky: true });
        layer.on("mouseover", function () { layer.setStyle({ weight: 2.5, color: HIGHLIGHT }); });
        layer.on("mouseout", function () { layer.setStyle(baseStyle(code, args.index[code])); });
        layer.on("click", function () {
          clicks += 1;  // a stamp per click: a second click on the same county (after another choice) counts too
          send("streamlit:setComponentValue", { value: { code: code, click: started + "-" + clicks }, dataType: "json" });
        });
        layer.addTo(map);
        layers[code] = layer;
        bounds.extend(layer.getBounds());
      });
      if (bounds.isValid()) map.fitBounds(bounds, { animate: false, padding: [4, 4] });
      shownKey = key;
    } else {  // a year or measure changed: new colours and texts on the same layers
      Object.keys(layers).forEach(function (code) { layers[code].setStyle(baseStyle(code, args.index[code])); });
    }
  }

  function render(newArgs) {
    args = newArgs;
    args.index = {};
    args.codes.forEach(function (code, i) { args.index[code] = i; });
    mapBox.style.height = args.height + "px";
    mapBox.setAttribute("aria-label", args.legend_title);
    drawLegend();
    ensureMap();
    map.invalidateSize(false);
    setHeight();
    const url = args.geometry;
    load(url).then(function (geometry) {
      if (url !== args.geometry) return;  // a newer render asked for other outlines
      geometryUrl = url;
      problemBox.hidden = true;
      draw(geometry);
      drawn += 1;
      setHeight();
    }).catch(function () {
      problemBox.textContent = args.problem;
      problemBox.hidden = false;
      drawn += 1;
      setHeight();
    });
  }

  // For the browser tests and the benchmark's waiting (junheng/tools/browser.py): how often values were drawn,
  // how many counties, and whether the canvas still has a paint pending.
  let drawn = 0;
  window.junhengMap = {
    state: function () {
      const pending = map !== null && Object.values(map._layers).some(function (l) { return l._redrawRequest; });
      return { drawn: drawn, counties: Object.keys(layers).length, pending: pending, url: geometryUrl };
    },
    codes: function () { return Object.keys(layers); },
    point: function (code) {  // where a county is in the map box (a test clicks there)
      const layer = layers[code];
      if (!layer) return null;
      const p = map.latLngToContainerPoint(layer.getCenter());
      return [p.x, p.y];
    },
    openTooltip: function (code) {
      const layer = layers[code];
      if (layer) layer.openTooltip(layer.getCenter());
      return Boolean(layer);
    },
  };

  window.addEventListener("message", function (event) {
    if (event.data && event.data.type === "streamlit:render") render(event.data.args);
  });
  new ResizeObserver(function () { if (map) map.invalidateSize(false); setHeight(); }).observe(document.body);
  send("streamlit:componentReady", { apiVersion: 1 });
})();
