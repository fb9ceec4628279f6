/* riskline dashboard — the duty officer's screen. Plain ES2020, no build step, no network beyond this origin.
 * State comes from /api/state once, then from Server-Sent Events (/api/events); the server decides alarms,
 * roles and deadlines, the page only shows them and sends the operator's actions (with the CSRF token). */
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const AIR = 1, MILITARY = 2, TRANSPONDER_OFF = 4;
  const PARTY_COLOURS = { RU: "#ff5a4f", EE: "#4da3ff", US: "#3ecf8e", civil: "#7d8b99", UA: "#ffd24d", PL: "#d08cff",
    FI: "#79e0ff", SE: "#ffe066", DE: "#c0c0c0", GB: "#ff9ecd", CN: "#ff8c42", NO: "#9ad1ff", LT: "#b4f06e", LV: "#f7a072" };
  const EXTRA = ["#e377c2", "#17becf", "#bcbd22", "#ff7f0e", "#9467bd", "#8c564b"];
  const SEVERITY_COLOURS = { critical: "#ff2d2d", high: "#ff4d4d", medium: "#ffb020", low: "#4da3ff" };
  const rl = (window.rl = { stats: { frames: 0, lastLatencyMs: null, latencies: [], endToEnd: [], received: 0 }, ready: false });

  let session = null, state = null, map = null, source = null;
  let live = true, lastFrame = null, shownFrame = null, nodeClockOffset = 0;
  let span = null, liveEnd = null, openEncounters = [], alarms = new Map(), incidents = [], channel = null;
  let currentIncident = null, currentThread = null, seenRaised = new Set();
  const trails = new Map(); // platform id → [[lon, lat], …]
  const TRAIL_POINTS = 12;

  // ------------------------------------------------------------------ helpers
  function iso(t) { return t == null ? "—" : new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19) + "Z"; }
  function hms(t) { return t == null ? "—" : new Date(t * 1000).toISOString().slice(11, 19); }
  function dur(s) {
    if (s == null || !isFinite(s)) return "—";
    const sign = s < 0 ? "−" : ""; s = Math.abs(Math.round(s));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    return sign + (h ? `${h}h${String(m).padStart(2, "0")}m` : m ? `${m}m${String(r).padStart(2, "0")}s` : `${r}s`);
  }
  function metres(m) { return m == null ? "—" : m >= 10000 ? (m / 1852).toFixed(1) + " NM" : Math.round(m).toLocaleString("en") + " m"; }
  function esc(text) { return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c])); }
  function partyColour(party) {
    if (PARTY_COLOURS[party]) return PARTY_COLOURS[party];
    let h = 0; for (const c of party) h = (h * 31 + c.charCodeAt(0)) >>> 0;
    return EXTRA[h % EXTRA.length];
  }
  function toast(text, bad) {
    const el = $("toast"); el.textContent = text; el.className = "toast" + (bad ? " bad" : ""); el.hidden = false;
    clearTimeout(toast.timer); toast.timer = setTimeout(() => (el.hidden = true), bad ? 8000 : 4000);
  }
  async function api(path, options = {}) {
    const init = { credentials: "same-origin", headers: {}, ...options };
    if (init.body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(init.body); }
    if (init.method && init.method !== "GET" && session) init.headers["X-CSRF-Token"] = session.csrf;
    const response = await fetch(path, init);
    let data = null; try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) { const error = new Error((data && data.detail) || response.statusText); error.status = response.status; throw error; }
    return data;
  }
  async function act(path, body) {
    try { const result = await api(path, { method: "POST", body: body || {} }); return result; }
    catch (error) { toast(error.message, true); if (error.status === 401) showLogin(); return null; }
  }

  // ------------------------------------------------------------------ login
  function showLogin(message) {
    $("app").hidden = true; $("login").hidden = false; $("login-error").textContent = message || "";
  }
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      session = await api("/api/login", { method: "POST", body: { name: $("login-name").value, password: $("login-password").value } });
      $("login-password").value = ""; start();
    } catch (error) { $("login-error").textContent = error.message; }
  });
  $("logout").addEventListener("click", async () => { await act("/api/logout"); session = null; location.href = "/"; });

  // ------------------------------------------------------------------ map
  function arrowImage(size) {
    const c = document.createElement("canvas"); c.width = c.height = size; const g = c.getContext("2d");
    g.fillStyle = "#fff"; g.beginPath(); g.moveTo(size / 2, 1); g.lineTo(size - 3, size - 2); g.lineTo(size / 2, size * 0.7);
    g.lineTo(3, size - 2); g.closePath(); g.fill();
    return g.getImageData(0, 0, size, size);
  }
  function hullImage(size) {
    const c = document.createElement("canvas"); c.width = c.height = size; const g = c.getContext("2d");
    g.fillStyle = "#fff"; g.beginPath(); g.moveTo(size / 2, 1); g.lineTo(size * 0.78, size * 0.4); g.lineTo(size * 0.7, size - 2);
    g.lineTo(size * 0.3, size - 2); g.lineTo(size * 0.22, size * 0.4); g.closePath(); g.fill();
    return g.getImageData(0, 0, size, size);
  }
  const EMPTY = { type: "FeatureCollection", features: [] };
  function setupMap() {
    maplibregl.setWorkerUrl("/static/vendor/maplibre-gl/maplibre-gl-csp-worker.js");
    map = new maplibregl.Map({
      container: "map", center: [21.5, 57.5], zoom: 5, attributionControl: false, fadeDuration: 0,
      style: { version: 8, sources: {}, layers: [{ id: "sea", type: "background", paint: { "background-color": "#0b1a2a" } }] },
    });
    rl.map = map;
    map.addControl(new maplibregl.NavigationControl({ showCompass: true }), "bottom-right");
    map.addControl(new maplibregl.ScaleControl({ unit: "nautical" }), "bottom-left");
    map.on("dragstart", () => (fitted = true));
    map.on("load", () => {
      map.addImage("air", arrowImage(24), { sdf: true });
      map.addImage("sea", hullImage(20), { sdf: true });
      map.addSource("land", { type: "geojson", data: "/static/basemap/land-50m.geojson" });
      map.addLayer({ id: "land", type: "fill", source: "land", paint: { "fill-color": "#1d2a22", "fill-outline-color": "#3a4d40" } });
      map.addSource("areas", { type: "geojson", data: EMPTY });
      map.addLayer({ id: "areas-fill", type: "fill", source: "areas",
        paint: { "fill-color": "#ffb020", "fill-opacity": ["case", ["get", "active"], 0.25, 0.08] } });
      map.addLayer({ id: "areas-line", type: "line", source: "areas",
        paint: { "line-color": "#ffb020", "line-width": 1.5, "line-dasharray": ["case", ["get", "active"], ["literal", [1, 0]], ["literal", [3, 2]]] } });
      map.on("click", "areas-fill", (e) => {
        const p = e.features[0].properties;
        new maplibregl.Popup().setLngLat(e.lngLat).setHTML(`<b>hazard area</b> (${esc(p.party)}): ${esc(p.nature)}<br>` +
          `${iso(p.start)} → ${iso(p.end)}${p.navwarn && p.navwarn !== "null" ? "<br>" + esc(p.navwarn) : ""}`).addTo(map);
      });
      map.addSource("exercises", { type: "geojson", data: EMPTY });
      map.addLayer({ id: "exercises-fill", type: "fill", source: "exercises",
        paint: { "fill-color": ["get", "colour"], "fill-opacity": ["case", ["get", "active"], 0.06, 0.02] } });
      map.addLayer({ id: "exercises-line", type: "line", source: "exercises",
        paint: { "line-color": ["get", "colour"], "line-width": ["case", ["get", "active"], 2.5, 1.5],
          "line-dasharray": ["case", ["get", "active"], ["literal", [1, 0]], ["literal", [4, 3]]] } });
      map.on("click", "exercises-fill", (e) => {
        const shown = e.features[0].properties, declared = exerciseAreas.find((f) => f.properties.message === shown.message);
        if (!declared) return;
        const p = declared.properties;
        const counts = Object.entries(p.counts).map(([name, n]) => `${esc(name.replace("_", " "))} ${n.toLocaleString("en")}`).join(" · ");
        const phase = shown.phase ? `<br>phase in force: ${esc(shown.phase)}` : "";
        new maplibregl.Popup().setLngLat(e.lngLat).setHTML(`<b>declared exercise area</b> (${esc(p.party)}): ${esc(p.designation)}<br>` +
          `${esc(p.purpose)}<br>${iso(p.start)} → ${iso(p.end)}${phase}${counts ? "<br>declared: " + counts : ""}`).addTo(map);
      });
      drawAreas();
      for (const name of ["trails", "encounter-tracks", "encounter-links", "cpa", "platforms", "incident-tracks", "incident-now"]) {
        map.addSource(name, { type: "geojson", data: EMPTY });
      }
      map.addLayer({ id: "trails", type: "line", source: "trails", paint: { "line-color": ["get", "colour"], "line-width": 1.2, "line-opacity": 0.6 } });
      map.addLayer({ id: "encounter-tracks", type: "line", source: "encounter-tracks",
        paint: { "line-color": ["get", "colour"], "line-width": 3, "line-opacity": 0.9 } });
      map.addLayer({ id: "encounter-links", type: "line", source: "encounter-links",
        paint: { "line-color": ["get", "colour"], "line-width": 1.5, "line-dasharray": [2, 2] } });
      map.addLayer({ id: "platforms-off", type: "circle", source: "platforms", filter: ["==", ["get", "off"], true],
        paint: { "circle-radius": 9, "circle-color": "rgba(0,0,0,0)", "circle-stroke-color": "#ff2d2d", "circle-stroke-width": 2 } });
      // Civil traffic, most of the picture, as plain circles (no symbol layout); military platforms as rotated
      // arrows and hulls with a halo. One source, one update per frame for both.
      map.addLayer({ id: "platforms-civil", type: "circle", source: "platforms", filter: ["!", ["get", "mil"]],
        paint: { "circle-radius": ["case", ["get", "air"], 2.5, 2], "circle-color": ["get", "colour"], "circle-opacity": 0.85 } });
      map.addLayer({ id: "platforms", type: "symbol", source: "platforms", filter: ["get", "mil"],
        layout: { "icon-image": ["get", "icon"], "icon-size": 0.8,
          "icon-rotate": ["get", "course"], "icon-rotation-alignment": "map", "icon-allow-overlap": true, "icon-ignore-placement": true },
        paint: { "icon-color": ["get", "colour"], "icon-halo-color": "#ffffff", "icon-halo-width": 1.2 } });
      map.addLayer({ id: "cpa", type: "circle", source: "cpa",
        paint: { "circle-radius": 7, "circle-color": "rgba(0,0,0,0)", "circle-stroke-color": ["get", "colour"], "circle-stroke-width": 3 } });
      map.addLayer({ id: "incident-tracks", type: "line", source: "incident-tracks",
        paint: { "line-color": ["get", "colour"], "line-width": 2.5 } });
      map.addLayer({ id: "incident-now", type: "circle", source: "incident-now",
        paint: { "circle-radius": 6, "circle-color": ["get", "colour"], "circle-stroke-color": "#fff", "circle-stroke-width": 2 } });
      map.on("click", ["platforms", "platforms-civil"], (e) => {
        const p = e.features[0].properties;
        new maplibregl.Popup({ closeButton: true }).setLngLat(e.lngLat).setHTML(
          `<b>${esc(p.id)}</b><br>${esc(p.party)} · ${p.mil ? "military" : "civil"} · ${p.air ? "air" : "sea"}` +
          `${p.off ? " · <b>transponder off</b>" : ""}<br>${Math.round(p.course)}° · ${(p.speed * 1.943844).toFixed(0)} kn` +
          (p.alt != null && p.air ? ` · ${Math.round(p.alt)} m` : "")).addTo(map);
      });
      map.on("mouseenter", ["platforms", "platforms-civil"], () => (map.getCanvas().style.cursor = "pointer"));
      map.on("mouseleave", ["platforms", "platforms-civil"], () => (map.getCanvas().style.cursor = ""));
      if (lastFrame) drawFrame(lastFrame, performance.now());
      drawEncounters();
      rl.ready = true;
    });
  }

  function frameFeatures(frame) {
    const showCivil = $("show-civil").checked, features = [];
    for (let i = 0; i < frame.ids.length; i++) {
      const flags = frame.flags[i], party = frame.parties[frame.party[i]], mil = (flags & MILITARY) !== 0;
      if (!mil && !showCivil) continue;
      features.push({ type: "Feature", geometry: { type: "Point", coordinates: [frame.lon[i], frame.lat[i]] },
        properties: { id: frame.ids[i], party, colour: partyColour(party), icon: flags & AIR ? "air" : "sea", air: (flags & AIR) !== 0,
          mil, off: (flags & TRANSPONDER_OFF) !== 0, course: frame.course[i], speed: frame.speed[i], alt: frame.alt[i] } });
    }
    return features;
  }
  function updateTrails(frame) {
    const present = new Set(frame.ids);
    for (const id of trails.keys()) if (!present.has(id)) trails.delete(id);
    for (let i = 0; i < frame.ids.length; i++) {
      let trail = trails.get(frame.ids[i]);
      if (!trail) trails.set(frame.ids[i], (trail = []));
      const last = trail[trail.length - 1], point = [frame.lon[i], frame.lat[i]];
      if (!last || last[0] !== point[0] || last[1] !== point[1]) { trail.push(point); if (trail.length > TRAIL_POINTS) trail.shift(); }
    }
  }
  function trailFeatures(frame) {
    const civil = $("show-civil-trails").checked, features = [];
    for (let i = 0; i < frame.ids.length; i++) {
      if (!civil && !(frame.flags[i] & MILITARY)) continue;
      const trail = trails.get(frame.ids[i]);
      if (!trail || trail.length < 2) continue;
      features.push({ type: "Feature", geometry: { type: "LineString", coordinates: trail },
        properties: { colour: partyColour(frame.parties[frame.party[i]]) } });
    }
    return features;
  }
  function drawFrame(frame, receivedAt) {
    shownFrame = frame;
    $("data-time").textContent = "picture " + iso(frame.t);
    if (!map || !map.getSource("platforms")) return;
    map.getSource("platforms").setData({ type: "FeatureCollection", features: frameFeatures(frame) });
    map.getSource("trails").setData({ type: "FeatureCollection", features: live ? trailFeatures(frame) : [] });
    drawEncounters();
    drawAreas();
    if (receivedAt != null) {
      map.once("render", () => {
        const latency = performance.now() - receivedAt;
        rl.stats.lastLatencyMs = latency; rl.stats.latencies.push(latency); rl.stats.frames += 1;
        if (rl.stats.latencies.length > 1000) rl.stats.latencies.shift();
        if (frame.sent_ms) rl.stats.endToEnd.push(Date.now() - frame.sent_ms); // set by bench_dashboard.py
      });
    }
  }
  let fitted = false;
  function fitTo(frame) {
    if (!map || !frame.ids.length) return;
    let w = 180, e = -180, so = 90, n = -90;
    for (let i = 0; i < frame.ids.length; i++) {
      w = Math.min(w, frame.lon[i]); e = Math.max(e, frame.lon[i]); so = Math.min(so, frame.lat[i]); n = Math.max(n, frame.lat[i]);
    }
    fitted = true;
    map.fitBounds([[w, so], [e, n]], { padding: 80, maxZoom: 9, duration: 0 });
  }
  function positionOf(id) {
    const f = shownFrame; if (!f) return null;
    const i = f.ids.indexOf(id); return i < 0 ? null : [f.lon[i], f.lat[i]];
  }
  function drawEncounters() {
    if (!map || !map.getSource("cpa")) return;
    const cpa = [], links = [], tracks = [];
    for (const e of live ? openEncounters : []) {
      const colour = SEVERITY_COLOURS[e.severity] || "#fff";
      cpa.push({ type: "Feature", geometry: { type: "Point", coordinates: [e.lon, e.lat] }, properties: { colour } });
      const a = positionOf(e.a), b = positionOf(e.b);
      if (a && b) links.push({ type: "Feature", geometry: { type: "LineString", coordinates: [a, b] }, properties: { colour } });
      for (const id of [e.a, e.b]) {
        const trail = trails.get(id);
        if (trail && trail.length > 1) tracks.push({ type: "Feature", geometry: { type: "LineString", coordinates: trail }, properties: { colour } });
      }
    }
    map.getSource("cpa").setData({ type: "FeatureCollection", features: cpa });
    map.getSource("encounter-links").setData({ type: "FeatureCollection", features: links });
    map.getSource("encounter-tracks").setData({ type: "FeatureCollection", features: tracks });
  }
  let areas = [], exerciseAreas = [];
  function exerciseShape(f, now) {
    // the phase in force at the picture's time, else the whole declared area (solid inside the window, dashed before)
    const p = f.properties, phase = p.phases.find((x) => x.start <= now && now <= x.end);
    const active = p.start <= now && now <= p.end;
    return { type: "Feature", geometry: phase ? phase.geometry : f.geometry,
      properties: { message: p.message, party: p.party, designation: p.designation, colour: partyColour(p.party), active, phase: phase ? phase.name || iso(phase.start) : "" } };
  }
  function drawAreas() {
    if (!map || !map.getSource("areas") || !map.getSource("exercises")) return;
    const now = shownFrame ? shownFrame.t : Date.now() / 1000 + nodeClockOffset;
    const features = areas.map((f) => ({ ...f, properties: { ...f.properties, active: f.properties.start <= now && now <= f.properties.end } }));
    const exercises = exerciseAreas.map((f) => exerciseShape(f, now));
    const key = JSON.stringify([features.map((f) => [f.properties.message, f.properties.active]), exercises.map((f) => [f.properties.message, f.properties.active, f.properties.phase])]);
    if (key === drawAreas.key) return;  // redraw only when something changed: the slider moves many times a second
    drawAreas.key = key;
    map.getSource("areas").setData({ type: "FeatureCollection", features });
    map.getSource("exercises").setData({ type: "FeatureCollection", features: exercises });
    rl.exercises = exercises;
  }
  function drawLegend(frame) {
    const parties = frame ? [...new Set(frame.party)].map((i) => frame.parties[i]).sort() : [];
    $("legend").innerHTML = parties.map((p) => `<div><i style="background:${partyColour(p)}"></i>${esc(p)}</div>`).join("") +
      `<div class="muted">military: ▲ air · ⬟ sea (white halo) · civil: dots · <span style="color:#ff2d2d">◯</span> transponder off</div>` +
      (areas.length ? `<div><span style="color:#ffb020">▭</span> hazard areas announced: ${areas.length}</div>` : "") +
      (exerciseAreas.length ? `<div><span style="color:#9ad">▭</span> exercise areas declared: ${exerciseAreas.length} (outlined in the party's colour)</div>` : "");
  }

  // ------------------------------------------------------------------ time slider
  function updateSlider() {
    const s = $("slider");
    const start = span ? span.start : (lastFrame ? lastFrame.t : 0);
    const end = Math.max(span ? span.end : 0, liveEnd || 0, lastFrame ? lastFrame.t : 0);
    s.min = Math.floor(start); s.max = Math.ceil(end);
    if (live) { s.value = s.max; $("slider-time").textContent = "live " + iso(lastFrame ? lastFrame.t : end); }
  }
  let scrubTimer = null;
  $("slider").addEventListener("input", () => {
    live = false; $("live").classList.remove("on");
    const t = Number($("slider").value); $("slider-time").textContent = "history " + iso(t);
    clearTimeout(scrubTimer);
    scrubTimer = setTimeout(async () => {
      try { const data = await api(`/api/frame?t=${t}`); trails.clear(); drawFrame(data.frame, null); drawLegend(data.frame);
        $("slider-time").textContent = `history ${iso(t)} (${data.from}, ${data.frame.ids.length} platforms)`; }
      catch (error) { toast(error.message, true); }
    }, 120);
  });
  $("live").addEventListener("click", () => {
    live = true; $("live").classList.add("on"); trails.clear();
    if (lastFrame) { updateTrails(lastFrame); drawFrame(lastFrame, null); }
    updateSlider();
  });
  for (const id of ["show-civil", "show-civil-trails"]) $(id).addEventListener("change", () => shownFrame && drawFrame(shownFrame, null));

  // ------------------------------------------------------------------ lists
  function renderAlarms() {
    const list = [...alarms.values()];
    const order = { raised: 0, snoozed: 1, acknowledged: 2, resolved: 3 };
    list.sort((a, b) => order[a.state] - order[b.state] || b.raised_at - a.raised_at);
    const raised = list.filter((a) => a.state === "raised").length;
    const silenced = list.filter((a) => a.state === "snoozed").length;
    const badge = $("alarm-badge"); badge.hidden = raised === 0; badge.textContent = `${raised} alarm${raised === 1 ? "" : "s"}`;
    badge.classList.toggle("blink", raised > 0);
    $("count-alarms").textContent = `${raised}` + (silenced ? ` · ${silenced} silenced` : "");
    const canAct = session && session.can_act;
    $("tab-alarms").innerHTML = list.length === 0 ? `<p class="muted">No alarms.</p>` : list.slice(0, 300).map((a) => `
      <div class="alarm ${a.state}" data-alarm="${a.id}" data-testid="alarm-${a.id}">
        <div class="row"><span class="state" data-testid="alarm-state">${a.state === "snoozed" ? "silenced" : a.state}</span>
          <span class="sev sev-${esc(a.severity)}">${esc(a.severity)}</span><b>${esc(a.rule)}</b>
          <span>${esc(a.party_a)}–${esc(a.party_b)}</span><span class="muted">${esc(a.a)} / ${esc(a.b)}</span>
          ${a.occurred ? "" : `<span class="muted">(predicted)</span>`}</div>
        <div class="muted">raised ${iso(a.raised_at)} — ${esc(a.reason)}
          ${a.acknowledged_by ? ` · acknowledged by <b>${esc(a.acknowledged_by)}</b> ${iso(a.acknowledged_at)}` : ""}
          ${a.resolved_by ? ` · resolved by <b>${esc(a.resolved_by)}</b> ${iso(a.resolved_at)}${a.note ? ": " + esc(a.note) : ""}` : ""}</div>
        ${a.state === "snoozed" ? `<div class="silenced">SILENCED by ${esc(a.snoozed_by)} until ${iso(a.snoozed_until)}: ${esc(a.snooze_reason)}</div>` : ""}
        <div class="actions">
          ${a.incident_id ? `<button class="small" data-open-incident="${a.incident_id}">Incident ${a.incident_id}</button>` : ""}
          ${canAct && (a.state === "raised" || a.state === "snoozed") ? `<button class="small primary" data-ack="${a.id}">Acknowledge</button>` : ""}
          ${canAct && a.state !== "resolved" && a.state !== "snoozed" ? `<button class="small" data-snooze="${a.id}">Snooze…</button>` : ""}
          ${canAct && a.state !== "resolved" ? `<button class="small" data-resolve="${a.id}">Resolve</button>` : ""}
        </div>
        <form class="form" data-snooze-form="${a.id}" hidden>
          <select name="duration"><option value="300">5 min</option><option value="900" selected>15 min</option>
            <option value="1800">30 min</option><option value="3600">1 h</option><option value="14400">4 h</option></select>
          <input name="reason" placeholder="reason (required)" required size="28">
          <button class="small" type="submit">Snooze</button></form>
      </div>`).join("");
  }
  $("tab-alarms").addEventListener("click", async (event) => {
    const t = event.target;
    if (t.dataset.ack) { const r = await act(`/api/alarms/${t.dataset.ack}/acknowledge`); if (r) { alarms.set(r.id, r); renderAlarms(); } }
    if (t.dataset.resolve) { const r = await act(`/api/alarms/${t.dataset.resolve}/resolve`, { note: "" }); if (r) { alarms.set(r.id, r); renderAlarms(); } }
    if (t.dataset.snooze) { const f = document.querySelector(`[data-snooze-form="${t.dataset.snooze}"]`); f.hidden = !f.hidden; }
    if (t.dataset.openIncident) openIncident(Number(t.dataset.openIncident), true);
  });
  $("tab-alarms").addEventListener("submit", async (event) => {
    event.preventDefault(); const f = event.target, id = f.dataset.snoozeForm;
    const r = await act(`/api/alarms/${id}/snooze`, { duration_s: Number(f.duration.value), reason: f.reason.value });
    if (r) { alarms.set(r.id, r); renderAlarms(); }
  });

  function renderEncounters() {
    const now = lastFrame ? lastFrame.t : null;
    $("count-encounters").textContent = openEncounters.length || "";
    $("tab-encounters").innerHTML = `<h3>Open and predicted (live, data time ${iso(now)})</h3>` + (openEncounters.length === 0
      ? `<p class="muted">None open.</p>` : `<table><tr><th>rule</th><th>sev.</th><th>parties</th><th class="num">closest</th>
        <th class="num">to CPA</th><th class="num">lead</th><th>state</th></tr>` + openEncounters.map((e, i) => `
        <tr class="click" data-fly="${i}" data-testid="encounter-row"><td>${esc(e.rule)}</td><td class="sev sev-${esc(e.severity)}">${esc(e.severity)}</td>
        <td>${esc(e.party_a)}–${esc(e.party_b)}<br><span class="muted">${esc(e.a)} / ${esc(e.b)}</span></td>
        <td class="num">${metres(e.min_distance_m)}${e.min_vertical_m != null ? `<br><span class="muted">${metres(e.min_vertical_m)} vert.</span>` : ""}</td>
        <td class="num">${dur(e.time_to_cpa_s)}</td><td class="num">${dur(e.lead_time_s)}</td>
        <td>${e.occurred ? "breach" : "predicted"}</td></tr>`).join("") + `</table>`);
  }
  $("tab-encounters").addEventListener("click", (event) => {
    const row = event.target.closest("[data-fly]"); if (!row) return;
    const e = openEncounters[Number(row.dataset.fly)]; if (e && map) map.flyTo({ center: [e.lon, e.lat], zoom: 10 });
  });

  function renderIncidents() {
    $("count-incidents").textContent = incidents.length || "";
    $("tab-incidents").innerHTML = incidents.length === 0 ? `<p class="muted">No stored incidents.</p>` :
      `<table><tr><th>#</th><th>rule</th><th>sev.</th><th>parties</th><th class="num">closest</th><th>CPA (UTC)</th><th class="num">lead</th></tr>` +
      incidents.map((e) => `<tr class="click" data-incident="${e.id}" data-testid="incident-row">
        <td>${e.id}</td><td>${esc(e.rule)}${e.occurred ? "" : " <span class='muted'>(predicted only)</span>"}</td>
        <td class="sev sev-${esc(e.severity)}">${esc(e.severity)}</td><td>${esc(e.party_a)}–${esc(e.party_b)}</td>
        <td class="num">${metres(e.min_distance_m)}</td><td>${iso(e.t_cpa)}</td><td class="num">${dur(e.lead_time_s)}</td></tr>`).join("") + `</table>`;
  }
  $("tab-incidents").addEventListener("click", (event) => {
    const row = event.target.closest("[data-incident]"); if (row) openIncident(Number(row.dataset.incident), true);
  });

  // ------------------------------------------------------------------ incident page
  async function openIncident(id, push) {
    let data;
    try { data = await api(`/api/incidents/${id}`); } catch (error) { toast(error.message, true); return; }
    currentIncident = data; showTab("incident");
    if (push) history.pushState({ incident: id }, "", `/incident/${id}`);
    const ev = data.evidence, canAct = session && session.can_act;
    const t0 = ev ? ev.separation_t[0] : data.start, t1 = ev ? ev.separation_t[ev.separation_t.length - 1] : data.end;
    $("incident").innerHTML = `
      <div class="form"><button class="small" id="incident-back">← back</button><h2>Incident ${data.id}: ${esc(data.rule)}
        <span class="sev sev-${esc(data.severity)}">${esc(data.severity)}</span></h2></div>
      <div class="kv">
        <div>parties</div><div>${esc(data.party_a)} ${esc(data.a)} — ${esc(data.party_b)} ${esc(data.b)}</div>
        <div>closest</div><div>${metres(data.min_distance_m)} (horizontal ${metres(data.min_horizontal_m)}${data.min_vertical_m != null ? `, vertical ${metres(data.min_vertical_m)}` : ""}) at ${iso(data.t_cpa)}</div>
        <div>breach</div><div>${data.occurred ? `${iso(data.start)} → ${iso(data.end)}` : "predicted only; it did not happen"}</div>
        <div>lead time</div><div>${dur(data.lead_time_s)}</div>
        <div>threshold</div><div>${data.threshold_m != null ? metres(data.threshold_m) : "—"}</div>
        <div>rule source</div><div data-testid="rule-source">${esc(data.source || "—")}${data.mark ? ` (${esc(data.mark)})` : ""}</div>
        <div>alarm</div><div>${data.alarm ? `${esc(data.alarm.state)}${data.alarm.acknowledged_by ? " by " + esc(data.alarm.acknowledged_by) : ""}` : "—"}</div>
      </div>
      <h3>Replay around the closest approach</h3>
      <div class="form"><input type="range" id="incident-slider" min="${t0}" max="${t1}" step="1" value="${data.t_cpa}" style="flex:1" data-testid="incident-slider">
        <span id="incident-time" class="clock"></span></div>
      <canvas id="separation" class="chart" width="520" height="180" data-testid="separation"></canvas>
      ${data.channels.length && canAct ? `<h3>Send the incident report</h3>
        <form class="form" id="report-form"><select name="channel" data-testid="report-channel">${data.channels.map((c) => `<option>${esc(c)}</option>`).join("")}</select>
        <textarea name="narrative" placeholder="narrative (optional: one is written from the facts)"></textarea>
        ${data.reports.length ? `<label><input type="checkbox" name="again"> send another report</label>` : ""}
        <button class="primary" type="submit" data-testid="send-report">Send report</button></form>` : ""}
      ${data.reports.length ? `<div data-testid="reports">reported: ${data.reports.map((r) =>
        `${esc(r.channel)} ${esc(r.message.slice(0, 8))} at ${iso(r.at)}`).join("; ")}</div>` : ""}
      <h3>Log</h3><div data-testid="incident-log">${data.actions.length ? data.actions.map((a) =>
        `<div>${iso(a.at)} <b>${esc(a.operator)}</b> (${esc(a.role)}) ${esc(a.action)} ${esc(JSON.stringify(a.detail))}</div>`).join("") : `<span class="muted">nothing yet</span>`}</div>`;
    $("incident-back").addEventListener("click", () => { closeIncident(); history.pushState({}, "", "/"); });
    $("incident-slider").addEventListener("input", () => drawIncidentAt(Number($("incident-slider").value)));
    const form = $("report-form");
    if (form) form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const r = await act(`/api/incidents/${data.id}/report`, { channel: form.channel.value,
        narrative: form.narrative.value || null, again: Boolean(form.again && form.again.checked) });
      if (r) { toast(`report ${r.message.slice(0, 8)} signed, logged and queued on ${r.channel}`); openIncident(data.id, false); }
    });
    if (ev && map) {
      const features = [[ev.a, data.party_a], [ev.b, data.party_b]].filter(([s]) => s).map(([s, party]) => ({ type: "Feature",
        geometry: { type: "LineString", coordinates: s.t.map((_, i) => [s.lon[i], s.lat[i]]) }, properties: { colour: partyColour(party) } }));
      map.getSource("incident-tracks").setData({ type: "FeatureCollection", features });
      map.flyTo({ center: [data.lon, data.lat], zoom: 9 });
    }
    drawIncidentAt(data.t_cpa);
  }
  function closeIncident() {
    currentIncident = null; showTab("incidents");
    if (map && map.getSource("incident-tracks")) { map.getSource("incident-tracks").setData(EMPTY); map.getSource("incident-now").setData(EMPTY); }
  }
  function interp(s, t) {
    if (!s || !s.t.length || t < s.t[0] || t > s.t[s.t.length - 1]) return null;
    let i = 1; while (i < s.t.length && s.t[i] < t) i++;
    if (i >= s.t.length) return [s.lon[s.t.length - 1], s.lat[s.t.length - 1]];
    const f = (t - s.t[i - 1]) / ((s.t[i] - s.t[i - 1]) || 1);
    return [s.lon[i - 1] + f * (s.lon[i] - s.lon[i - 1]), s.lat[i - 1] + f * (s.lat[i] - s.lat[i - 1])];
  }
  function drawIncidentAt(t) {
    const data = currentIncident; if (!data) return;
    $("incident-time").textContent = `${iso(t)} (CPA ${dur(t - data.t_cpa)})`;
    const ev = data.evidence; if (!ev) return;
    if (map && map.getSource("incident-now")) {
      const points = [[ev.a, data.party_a], [ev.b, data.party_b]].map(([s, party]) => [interp(s, t), party]).filter(([p]) => p)
        .map(([p, party]) => ({ type: "Feature", geometry: { type: "Point", coordinates: p }, properties: { colour: partyColour(party) } }));
      map.getSource("incident-now").setData({ type: "FeatureCollection", features: points });
    }
    const canvas = $("separation"), g = canvas.getContext("2d"), W = canvas.width, H = canvas.height, P = 34;
    g.clearRect(0, 0, W, H);
    const ts = ev.separation_t, ms = ev.separation_m; if (!ts.length) return;
    const tMin = ts[0], tMax = ts[ts.length - 1], top = Math.max(...ms, data.threshold_m || 0) * 1.1 || 1;
    const x = (v) => P + ((v - tMin) / ((tMax - tMin) || 1)) * (W - P - 6), y = (v) => H - 16 - (v / top) * (H - 26);
    g.strokeStyle = "#26374d"; g.fillStyle = "#8ea3b8"; g.font = "10px system-ui"; g.lineWidth = 1;
    for (let k = 0; k <= 4; k++) { const v = (top / 4) * k; g.beginPath(); g.moveTo(P, y(v)); g.lineTo(W - 6, y(v)); g.stroke();
      g.fillText(v >= 10000 ? (v / 1852).toFixed(1) + "NM" : Math.round(v) + "m", 2, y(v) + 3); }
    if (data.threshold_m != null) { g.strokeStyle = "#ffb020"; g.setLineDash([5, 4]); g.beginPath(); g.moveTo(P, y(data.threshold_m));
      g.lineTo(W - 6, y(data.threshold_m)); g.stroke(); g.setLineDash([]); g.fillStyle = "#ffb020"; g.fillText("threshold", W - 60, y(data.threshold_m) - 3); }
    g.strokeStyle = "#4da3ff"; g.lineWidth = 2; g.beginPath();
    ts.forEach((tt, i) => (i ? g.lineTo(x(tt), y(ms[i])) : g.moveTo(x(tt), y(ms[i])))); g.stroke();
    g.strokeStyle = "#fff"; g.lineWidth = 1; g.beginPath(); g.moveTo(x(t), 4); g.lineTo(x(t), H - 16); g.stroke();
    g.fillStyle = "#8ea3b8"; g.fillText(hms(tMin), P, H - 3); g.fillText(hms(tMax), W - 50, H - 3);
  }

  // ------------------------------------------------------------------ channel
  function deadlineCell(m) {
    if (m.deadline == null) return `<td class="num muted">—</td>`;
    const left = m.deadline - (Date.now() / 1000 + nodeClockOffset);
    const overdue = m.status === "open" && left <= 0;
    return `<td class="num ${overdue ? "overdue" : ""}" data-deadline="${m.deadline}" data-status="${esc(m.status)}">${m.status === "open" ? (overdue ? "OVERDUE " + dur(-left) : dur(left)) : esc(m.status)}</td>`;
  }
  function renderChannel() {
    const el = $("tab-channel");
    if (!channel) { el.innerHTML = `<p class="muted">No node: this dashboard shows a watch database only.</p>`; return; }
    const inbox = channel.inbox.messages.slice().reverse(), outbox = channel.outbox.messages.slice().reverse();
    $("count-channel").textContent = (channel.inbox.overdue + channel.outbox.overdue) ? `${channel.inbox.overdue + channel.outbox.overdue} overdue` : (channel.inbox.awaiting || "");
    const rows = (list, dir) => list.map((m) => `<tr class="click" data-thread="${esc(m.id)}" data-testid="${dir}-row">
      <td>${esc(m.type)}<br><span class="muted">${esc(m.channel)} · ${esc(m.id.slice(0, 8))}</span></td>
      <td>${esc(dir === "in" ? m.party + " " + m.author : m.author)}<br><span class="muted">${esc(m.level)}</span></td>
      <td>${esc(m.summary)}</td>${deadlineCell(m)}
      <td>${dir === "out" ? m.deliveries.map((d) => `<div class="${d.state === "delivered" ? "ok" : d.state === "pending" ? "" : "overdue"}">${esc(d.peer)}: ${esc(d.state)}${d.attempts > 1 ? ` (${d.attempts})` : ""}</div>`).join("") : iso(m.logged)}</td></tr>`).join("");
    el.innerHTML = `<h2>Inbox <span class="muted">${channel.inbox.awaiting} awaiting our answer, ${channel.inbox.overdue} overdue</span></h2>
      <table><tr><th>type</th><th>from</th><th>summary</th><th class="num">deadline</th><th>received</th></tr>${rows(inbox, "in")}</table>
      <h2>Outbox <span class="muted">${channel.outbox.awaiting} awaiting their answer, ${channel.outbox.pending_deliveries} deliveries pending, ${channel.outbox.failed_deliveries} failed</span></h2>
      <table><tr><th>type</th><th>author</th><th>summary</th><th class="num">deadline</th><th>delivery / receipt</th></tr>${rows(outbox, "out")}</table>
      <h2>Escalations</h2>${channel.escalations.length ? `<table><tr><th>original</th><th>step</th><th>from → to</th><th>overdue since</th><th>note</th></tr>` +
        channel.escalations.slice().reverse().map((e) => `<tr class="click" data-thread="${esc(e.original)}"><td>${esc(e.original.slice(0, 8))}</td><td>${e.step}</td>
        <td>${esc(e.from_level)} → ${esc(e.to_level)}</td><td>${iso(e.overdue_since)}</td><td>${esc(e.note)}</td></tr>`).join("") + `</table>` : `<p class="muted">None.</p>`}`;
  }
  function tickDeadlines() {
    for (const cell of document.querySelectorAll("[data-deadline]")) {
      if (cell.dataset.status !== "open") continue;
      const left = Number(cell.dataset.deadline) - (Date.now() / 1000 + nodeClockOffset);
      cell.textContent = left <= 0 ? "OVERDUE " + dur(-left) : dur(left); cell.classList.toggle("overdue", left <= 0);
    }
    $("node-clock").textContent = "node " + iso(Date.now() / 1000 + nodeClockOffset);
  }
  setInterval(tickDeadlines, 1000);
  $("tab-channel").addEventListener("click", (event) => { const row = event.target.closest("[data-thread]"); if (row) openThread(row.dataset.thread); });

  async function openThread(reference) {
    let entries; try { entries = await api(`/api/thread/${encodeURIComponent(reference)}`); } catch (error) { toast(error.message, true); return; }
    currentThread = reference; showTab("thread");
    const canAct = session && session.can_act;
    const answerable = entries.filter((e) => e.message.direction === "in" && e.message.status === "open");
    $("thread").innerHTML = `<div class="form"><button class="small" id="thread-back">← channel</button><h2>Thread ${esc(entries[0].message.thread.slice(0, 8))}</h2></div>` +
      entries.map((e) => `<div class="msg" data-testid="thread-message"><b>${esc(e.message.type)}</b> ${e.message.direction === "in" ? "from" : "to"} ${esc(e.message.channel)}
        · ${esc(e.message.party)} ${esc(e.message.author)} · ${iso(e.message.logged)} · <span class="${e.message.overdue ? "overdue" : ""}">${esc(e.message.status)}</span>
        <pre>${esc(JSON.stringify(e.body, null, 1))}</pre></div>`).join("") +
      (canAct && answerable.length ? `<h3>Answer ${esc(answerable[answerable.length - 1].message.id.slice(0, 8))}</h3>
        <form class="form" id="reply-form" data-ref="${esc(answerable[answerable.length - 1].message.id)}"><textarea name="text" placeholder="reply" data-testid="reply-text"></textarea>
        <button class="primary" type="submit" data-testid="reply">Reply</button><button type="button" id="ack-message" data-testid="acknowledge-message">Acknowledge receipt</button></form>` : "");
    $("thread-back").addEventListener("click", () => showTab("channel"));
    const form = $("reply-form");
    if (form) {
      form.addEventListener("submit", async (event) => { event.preventDefault();
        const r = await act(`/api/messages/${form.dataset.ref}/reply`, { text: form.text.value }); if (r) { toast("reply signed and queued"); openThread(reference); } });
      $("ack-message").addEventListener("click", async () => {
        const r = await act(`/api/messages/${form.dataset.ref}/acknowledge`, {}); if (r) { toast("acknowledgement signed and queued"); openThread(reference); } });
    }
  }

  async function renderLog() {
    try { const actions = await api("/api/actions");
      $("tab-log").innerHTML = `<table><tr><th>time (server)</th><th>who</th><th>action</th><th>target</th><th>detail</th></tr>` + actions.map((a) =>
        `<tr><td>${iso(a.at)}</td><td>${esc(a.operator)} <span class="muted">${esc(a.role)}</span></td><td>${esc(a.action)}</td><td>${esc(a.target || "")}</td><td>${esc(JSON.stringify(a.detail))}</td></tr>`).join("") + `</table>`;
    } catch (error) { toast(error.message, true); }
  }

  // ------------------------------------------------------------------ tabs
  function showTab(name) {
    for (const tab of document.querySelectorAll(".side .tab")) tab.hidden = tab.id !== "tab-" + name && tab.id !== name;
    for (const b of document.querySelectorAll(".tabs button")) b.classList.toggle("on", b.dataset.tab === name);
    if (name === "log") renderLog();
    if (name !== "incident" && currentIncident) { currentIncident = null; if (map && map.getSource("incident-tracks")) { map.getSource("incident-tracks").setData(EMPTY); map.getSource("incident-now").setData(EMPTY); } }
  }
  for (const b of document.querySelectorAll(".tabs button")) b.addEventListener("click", () => showTab(b.dataset.tab));
  window.addEventListener("popstate", () => { const m = location.pathname.match(/^\/incident\/(\d+)/); if (m) openIncident(Number(m[1]), false); else closeIncident(); });

  // ------------------------------------------------------------------ events
  function beep() {
    try { const ctx = beep.ctx || (beep.ctx = new AudioContext()); const o = ctx.createOscillator(), g = ctx.createGain();
      o.frequency.value = 880; g.gain.value = 0.08; o.connect(g).connect(ctx.destination); o.start(); o.stop(ctx.currentTime + 0.25); } catch (e) { /* no sound */ }
  }
  let channelTimer = null;
  async function refreshChannel() {
    clearTimeout(channelTimer);
    channelTimer = setTimeout(async () => {
      try { channel = await api("/api/channel"); nodeClockOffset = channel.now - Date.now() / 1000; renderChannel(); if (currentThread && !$("thread").hidden) openThread(currentThread);
        areas = await api("/api/areas"); exerciseAreas = await api("/api/exercise-areas"); drawAreas(); }
      catch (error) { /* shown on the next state */ }
    }, 200);
  }
  function connect(seq) {
    const events = new EventSource(`/api/events?since=${seq}`);
    rl.events = events;
    events.onopen = () => { $("link").textContent = "live"; $("link").className = "link ok"; };
    events.onerror = () => { $("link").textContent = "reconnecting…"; $("link").className = "link down"; };
    events.addEventListener("frame", (e) => {
      const receivedAt = performance.now(); rl.stats.received += 1;
      const frame = JSON.parse(e.data); lastFrame = frame; liveEnd = frame.t; updateTrails(frame);
      if (live) {
        drawFrame(frame, receivedAt);
        const key = [...new Set(frame.party)].join(",") + "|" + frame.parties.join(",");
        if (key !== drawLegend.key) { drawLegend(frame); drawLegend.key = key; }
        if (!fitted) fitTo(frame);
      }
      updateSlider();
    });
    events.addEventListener("encounters", (e) => { openEncounters = JSON.parse(e.data).open; renderEncounters(); drawEncounters(); });
    events.addEventListener("alarm", (e) => {
      const a = JSON.parse(e.data); alarms.set(a.id, a); renderAlarms();
      if (a.state === "raised" && !seenRaised.has(a.id + a.reason)) { seenRaised.add(a.id + a.reason); beep(); }
    });
    events.addEventListener("incident", (e) => {
      const i = JSON.parse(e.data); if (!incidents.some((x) => x.id === i.id)) { incidents.unshift(i); renderIncidents(); }
      if (span) span.end = Math.max(span.end, i.end); else span = { start: i.start - 300, end: i.end };
    });
    events.addEventListener("channel", () => refreshChannel());
    events.addEventListener("reset", () => { events.close(); load(); });
  }

  async function load() {
    try { state = await api("/api/state"); }
    catch (error) { if (error.status === 401) { showLogin(); return; } toast(error.message, true); return; }
    $("title").textContent = state.title; $("who").textContent = `${state.operator.name} (${state.operator.role.replace("_", " ")})`;
    $("logout").hidden = state.read_only;
    span = state.span; openEncounters = state.open_encounters; incidents = state.incidents; channel = state.channel;
    areas = state.areas || []; exerciseAreas = state.exercise_areas || []; drawAreas();
    if (channel) nodeClockOffset = channel.now - Date.now() / 1000; else nodeClockOffset = state.server_time - Date.now() / 1000;
    alarms = new Map(state.alarms.map((a) => [a.id, a])); for (const a of state.alarms) seenRaised.add(a.id + a.reason);
    trails.clear();
    for (const [id, points] of Object.entries(state.trails)) trails.set(id, points.map((p) => [p[2], p[1]]));
    if (state.frame) { lastFrame = state.frame; liveEnd = state.frame.t; drawFrame(state.frame, null); drawLegend(state.frame); fitTo(state.frame); }
    else drawLegend(null);
    renderAlarms(); renderEncounters(); renderIncidents(); renderChannel(); updateSlider(); tickDeadlines();
    connect(state.seq);
    const m = location.pathname.match(/^\/incident\/(\d+)/); if (m) openIncident(Number(m[1]), false);
  }

  function start() {
    $("login").hidden = true; $("app").hidden = false;
    if (!map) setupMap();
    load();
  }

  (async function boot() {
    try { session = await api("/api/session"); start(); }
    catch (error) { if (error.status === 401) showLogin(); else showLogin(error.message); }
  })();
})();
