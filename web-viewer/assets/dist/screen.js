// @ts-check
// Big screen (`/screen`): KPI tiles refreshed every 30 s, a dark map with the
// event density and today's overdue events, and a live feed of events from the
// server-sent event stream. Runs for days: the feed keeps at most FEED_MAX DOM
// items and the live map source at most LIVE_MAX points; the stream reconnects
// by itself (with back-off) and fetches what it missed while it was away.
// The connection badge (`#conn`) carries the stream's state: `data-state`
// (`live` / `down`), `data-reconnects` and `data-last-id`; the KPI tiles'
// container carries `data-updated` once figures arrived.
// Overdue and red events (`GET /api/v1/alerts`, refreshed with the figures)
// are listed beside the feed with the count of open escalations; a click, or
// the wall's remote (arrow keys to move, Enter to open, Escape to close),
// flies the map to the event and shows its card (`#focus`, `data-id`).

import { t, setLang, getLang, translateDom, categoryName, vocab } from './i18n.js';
import { api, buildStyle, createMap, applyLayers, readUrlState, townExtent, onFirstIdle, esc, kioskSession, maplibregl } from './mapcore.js';

const FEED_MAX = 50;
const LIVE_MAX = 50;
const KPI_EVERY_MS = 30_000;
const TOUR_EVERY_MS = 20_000;
const LAYERS = new Set(['base', 'communities', 'grids-comprehensive', 'heatmap', 'overdue']);

const url = readUrlState();
setLang(url.lang);
/** @type {{ layers: Set<string>, filters: import('./mapcore.js').Filters, kpi: any, feed: any[], connected: boolean, errors: number, reconnects: number }} */
const state = { layers: url.layers || LAYERS, filters: { ...url.filters }, kpi: null, feed: [], connected: false, errors: 0, reconnects: 0 };
/** The map, once created. @type {import('./mapcore.js').MaplibreMap | null} */
let map = null;
const $ = /** @type {(id: string) => HTMLElement} */ ((id) => /** @type {HTMLElement} */ (document.getElementById(id)));

// ---- clock ----
function tick() {
  $('clock').textContent = new Date().toLocaleString(getLang() === 'en' ? 'en-GB' : 'zh-CN', { hour12: false });
}

// ---- KPI tiles ----
function fmtKpi(key, v) {
  if (v == null || Number.isNaN(Number(v))) return `—<span class="unit">${esc(t('noData'))}</span>`;
  const n = Number(v);
  if (key === 'median_handling_h') return `${n.toFixed(1)}<span class="unit">${esc(t('hours'))}</span>`;
  if (key === 'satisfaction_month') return `${(n <= 1 ? n * 100 : n).toFixed(1)}<span class="unit">%</span>`;
  return n.toLocaleString('zh-CN');
}
async function refreshKpi() {
  try {
    const k = await api('/api/v1/kpi');
    state.kpi = k;
    $('kpis').dataset.updated = new Date().toISOString();
    for (const el of document.querySelectorAll('.kpi')) {
      const key = el.getAttribute('data-kpi') || '';
      const value = el.querySelector('.value');
      if (value) value.innerHTML = fmtKpi(key, k[key]);
    }
    // When the newest event is older than the 30-day window (a demo town, an
    // archive), the server ends the windows at that event: say so on the tile.
    const stale = k.window_is_now === false;
    const day = stale ? String(k.window_end || '').slice(0, 10) : '';
    const label = (key) => document.querySelector(`.kpi[data-kpi="${key}"] .label`);
    const med = label('median_handling_h');
    const sat = label('satisfaction_month');
    if (med) med.textContent = stale ? t('kpiMedianUntil').replace('{d}', day) : t('kpiMedian');
    if (sat) sat.textContent = stale && k.satisfaction_month_of ? t('kpiSatisfactionOf').replace('{m}', k.satisfaction_month_of) : t('kpiSatisfaction');
  } catch (e) {
    console.warn('kpi:', e.message);
  }
}

// ---- alerts: overdue and red events ----
/** @type {any[]} */
let alerts = [];
let alertAt = -1;
/** Until when the tour leaves the map on an opened event. */
let focusUntil = 0;
/** @param {any} a */
function alertWhen(a) {
  const h = Math.abs(Number(a.sla?.remaining_h ?? 0)).toFixed(1);
  return Number(a.sla?.remaining_h) < 0 ? t('ibOver', h) : t('ibLeft', h);
}
/** @param {any} a */
function gridOf(a) {
  const g = a.grids || {};
  return g.micro || g.comprehensive || g.dedicated || '—';
}
async function refreshAlerts() {
  try {
    const a = await api('/api/v1/alerts');
    const openId = alertAt >= 0 ? alerts[alertAt]?.id : null;
    alerts = a.red || [];
    alertAt = alerts.findIndex((x) => x.id === openId);
    const c = a.counts || {};
    $('alert-counts').textContent = t('alertCounts', c.overdue ?? 0, c.red ?? 0, c.yellow ?? 0);
    $('escalations').textContent = t('alertEscalated', (a.escalated || []).length);
    renderHotspots(a.hotspot_week || null, a.hotspots || []);
    const list = $('alerts');
    list.dataset.count = String(alerts.length);
    if (!alerts.length) {
      list.innerHTML = `<li class="none">${esc(t('alertNone'))}</li>`;
      return;
    }
    list.replaceChildren(...alerts.slice(0, 12).map((x, i) => {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button';
      b.className = `lvl-${x.sla?.level || 'none'}`;
      b.dataset.id = String(x.id);
      b.setAttribute('aria-current', String(i === alertAt));
      b.dataset.index = String(i);
      b.innerHTML = `<span class="when">${esc(alertWhen(x))}</span>${esc(categoryName(x.category))} · ${esc(gridOf(x))}`;
      li.append(b);
      return li;
    }));
  } catch (e) {
    console.warn('alerts:', e.message);
  }
}
/**
 * The week's emerging hotspots beside the alerts; a click flies the map to
 * the cell and shows its card (aggregates only: a cell, a category, counts).
 * @param {string|null} week @param {any[]} hs
 */
function renderHotspots(week, hs) {
  hotspots = hs;
  $('hot-week').textContent = week ? t('hotAlertWeek', week) : '';
  const list = $('hot-alerts');
  list.dataset.count = String(hs.length);
  if (!hs.length) {
    list.innerHTML = `<li class="none">${esc(t('hotAlertNone'))}</li>`;
    return;
  }
  list.replaceChildren(...hs.slice(0, 6).map((h) => {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.dataset.area = String(h.area);
    b.dataset.category = String(h.category);
    b.dataset.index = String(hotspots.indexOf(h));
    b.innerHTML = `<span class="when">${esc(t('hotAlertCount', h.count, Number(h.baseline).toFixed(1)))}</span>${esc(categoryName(h.category))}`;
    li.append(b);
    return li;
  }));
}
/** The hotspots listed now. @type {any[]} */
let hotspots = [];
// One listener per list (the lists are redrawn on every refresh, so the
// page's listeners stay as many however long it runs).
$('alerts').addEventListener('click', (ev) => {
  const b = /** @type {HTMLElement} */ (ev.target).closest('button');
  if (b?.dataset.index) openAlert(Number(b.dataset.index));
});
$('hot-alerts').addEventListener('click', (ev) => {
  const b = /** @type {HTMLElement} */ (ev.target).closest('button');
  if (b?.dataset.index && hotspots[Number(b.dataset.index)]) openHotspot(hotspots[Number(b.dataset.index)], b);
});
/** @param {any} h @param {HTMLElement} b */
function openHotspot(h, b) {
  for (const x of $('hot-alerts').querySelectorAll('button')) x.setAttribute('aria-current', String(x === b));
  const card = $('focus');
  card.dataset.id = '';
  card.dataset.hotspot = String(h.area);
  card.innerHTML = `<h3>${esc(t('hotAlertsTitle'))} · ${esc(categoryName(h.category))}</h3><dl>
    <dt>${esc(t('hotAlertWeek', h.week_start))}</dt><dd>${esc(t('hotAlertCount', h.count, Number(h.baseline).toFixed(1)))}</dd>
    <dt>q</dt><dd>${esc(Number(h.q_value).toFixed(3))}</dd></dl>`;
  card.hidden = false;
  focusUntil = Date.now() + 60_000;
  if (map && Number.isFinite(Number(h.lon)) && Number.isFinite(Number(h.lat))) {
    map.flyTo({ center: [Number(h.lon), Number(h.lat)], zoom: 15, duration: 1500 });
  }
}
/** Flies the map to alert `i` and shows its card. @param {number} i */
function openAlert(i) {
  const a = alerts[i];
  if (!a) return;
  alertAt = i;
  for (const b of $('alerts').querySelectorAll('button')) b.setAttribute('aria-current', String(b.dataset.id === String(a.id)));
  const card = $('focus');
  card.dataset.id = String(a.id);
  delete card.dataset.hotspot;
  card.innerHTML = `<h3>#${esc(String(a.id))} ${esc(categoryName(a.category))}</h3><dl>
    <dt>${esc(t('alertGrid'))}</dt><dd>${esc(gridOf(a))}</dd>
    <dt>${esc(t('alertStatus'))}</dt><dd>${esc(vocab('status', a.status))} · ${esc(vocab('grade', a.grade))}</dd>
    <dt>${esc(t('alertDeadline'))}</dt><dd>${esc(alertWhen(a))}</dd></dl>`;
  card.hidden = false;
  focusUntil = Date.now() + 60_000;
  if (map && Number.isFinite(Number(a.lon)) && Number.isFinite(Number(a.lat))) {
    map.flyTo({ center: [Number(a.lon), Number(a.lat)], zoom: 16, duration: 1500 });
  }
}
function closeAlert() {
  $('focus').hidden = true;
  focusUntil = 0;
}
document.addEventListener('keydown', (ev) => {
  if (!alerts.length) return;
  const n = Math.min(alerts.length, 12);
  if (ev.key === 'ArrowDown' || ev.key === 'ArrowRight') openAlert((alertAt + 1) % n);
  else if (ev.key === 'ArrowUp' || ev.key === 'ArrowLeft') openAlert((alertAt - 1 + n) % n);
  else if (ev.key === 'Enter') openAlert(Math.max(alertAt, 0));
  else if (ev.key === 'Escape') closeAlert();
  else return;
  ev.preventDefault();
});

// ---- live feed ----
function eventOf(data) {
  const e = data?.event ? data.event : data;
  if (!e) return null;
  const p = e.properties ? { ...e.properties } : { ...e };
  if (p.id == null && e.id != null) p.id = e.id;
  if (e.geometry && Array.isArray(e.geometry.coordinates)) [p.lon, p.lat] = e.geometry.coordinates;
  else if (Array.isArray(p.location)) [p.lon, p.lat] = p.location;
  else if (p.location && Array.isArray(p.location.coordinates)) [p.lon, p.lat] = p.location.coordinates;
  return p;
}
function feedItem(e) {
  const li = document.createElement('li');
  li.dataset.id = String(e.id ?? '');
  if (e.overdue) li.classList.add('overdue');
  const at = e.reported_at ? new Date(e.reported_at) : new Date();
  const today = at.toDateString() === new Date().toDateString();
  const loc = getLang() === 'en' ? 'en-GB' : 'zh-CN';
  const time = Number.isNaN(at.getTime()) ? ''
    : today ? at.toLocaleTimeString(loc, { hour12: false, hour: '2-digit', minute: '2-digit', second: '2-digit' })
      : at.toLocaleString(loc, { hour12: false, month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
  li.innerHTML = `<span class="title">${esc(e.title || categoryName(e.category) || `#${e.id}`)}</span>
    <span class="meta">${esc(time)} · ${esc(categoryName(e.category))} · ${esc(vocab('status', e.status))} · ${esc(vocab('source', e.source))}</span>`;
  return li;
}
function pushFeed(e, fresh = true) {
  const list = $('feed');
  if (e.id != null) {
    const old = list.querySelector(`li[data-id="${CSS.escape(String(e.id))}"]`);
    if (old) old.remove();
  }
  const li = feedItem(e);
  if (fresh) li.classList.add('fresh');
  list.prepend(li);
  while (list.lastElementChild && list.children.length > FEED_MAX) list.lastElementChild.remove();
  state.feed = [e, ...state.feed.filter((x) => x.id !== e.id)].slice(0, FEED_MAX);
  pushLive(e);
}
/** @type {GeoJSON.FeatureCollection<GeoJSON.Point>} */
const live = { type: 'FeatureCollection', features: [] };
/** Shows an event on the map's live layer (the style's `live` GeoJSON source). @param {any} e */
function pushLive(e) {
  if (!map || !Number.isFinite(Number(e.lon)) || !Number.isFinite(Number(e.lat))) return;
  /** @type {GeoJSON.Feature<GeoJSON.Point>} */
  const point = { type: 'Feature', geometry: { type: 'Point', coordinates: [Number(e.lon), Number(e.lat)] }, properties: { id: e.id, t: Date.now() } };
  live.features = [point, ...live.features.filter((f) => f.properties?.id !== e.id)].slice(0, LIVE_MAX);
  const src = map.getSource('live');
  if (src instanceof maplibregl.GeoJSONSource) src.setData(live);
}
function setConn(ok) {
  if (state.connected === ok && $('conn').dataset.state === (ok ? 'live' : 'down')) return;
  state.connected = ok;
  const b = $('conn');
  b.dataset.state = ok ? 'live' : 'down';
  b.className = `badge ${ok ? 'live' : 'down'}`;
  b.textContent = t(ok ? 'live' : 'reconnecting');
}

// The stream: `event: hello` on (re)connect, `event: event` per new or changed
// event with `id:` = the stream position, `event: ping` when idle, `event: resync`
// when this page fell behind. On any error the page closes the EventSource and
// opens a new one itself after a back-off (1 s doubling to 30 s, with jitter),
// asking for what it missed with `?since=<last id>`; a connection silent for
// longer than SILENCE_MS (a proxy that dropped it without telling) is treated
// the same way.
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30_000;
const SILENCE_MS = 45_000;
/** @type {{ es: EventSource | null, lastId: string | null, retryMs: number, timer: number, lastMsgAt: number }} */
const stream = { es: null, lastId: null, retryMs: RETRY_MIN_MS, timer: 0, lastMsgAt: 0 };

/** @param {MessageEvent | Event} msg */
function heard(msg) {
  stream.lastMsgAt = Date.now();
  if (msg instanceof MessageEvent && msg.lastEventId) {
    stream.lastId = msg.lastEventId;
    $('conn').dataset.lastId = msg.lastEventId;
  }
}
let kpiSoon = 0;
function onEventData(msg) {
  heard(msg);
  try {
    const e = eventOf(JSON.parse(msg.data));
    if (e) pushFeed(e);
  } catch (err) {
    console.warn('stream: bad event data', err.message);
  }
  // Figures follow the feed (debounced: a burst makes one request).
  clearTimeout(kpiSoon);
  kpiSoon = setTimeout(refreshKpi, 3000);
}
function connect() {
  clearTimeout(stream.timer);
  if (stream.es) stream.es.close();
  const q = stream.lastId != null ? `?since=${encodeURIComponent(stream.lastId)}` : '';
  const es = new EventSource(`/api/v1/stream/events${q}`);
  stream.es = es;
  es.addEventListener('hello', (msg) => {
    heard(msg);
    const wasDown = state.errors > 0 && !state.connected;
    stream.retryMs = RETRY_MIN_MS;
    setConn(true);
    if (wasDown) refreshKpi();
  });
  es.addEventListener('event', onEventData);
  es.onmessage = onEventData;
  es.addEventListener('ping', heard);
  es.addEventListener('resync', (msg) => {
    heard(msg);
    reconnect(0);
  });
  es.onopen = () => {
    stream.lastMsgAt = Date.now();
  };
  es.onerror = () => {
    if (stream.es !== es) return;
    state.errors += 1;
    setConn(false);
    // After a server restart the session is gone: a wall signs in again.
    kioskSession().catch(() => false).finally(() => reconnect());
  };
  return es;
}
/** Closes the stream and opens it again after `delay` ms (default: the back-off). */
function reconnect(delay) {
  if (stream.es) stream.es.close();
  stream.es = null;
  clearTimeout(stream.timer);
  let ms = delay;
  if (ms === undefined) {
    ms = Math.round(stream.retryMs * (0.75 + Math.random() * 0.5));
    stream.retryMs = Math.min(RETRY_MAX_MS, stream.retryMs * 2);
  }
  state.reconnects += 1;
  $('conn').dataset.reconnects = String(state.reconnects);
  stream.timer = window.setTimeout(connect, ms);
}
function watchdog() {
  if (stream.es && stream.es.readyState === EventSource.OPEN && Date.now() - stream.lastMsgAt > SILENCE_MS) {
    console.warn(`stream: nothing heard for ${SILENCE_MS / 1000} s, reconnecting`);
    setConn(false);
    reconnect(0);
  }
}

// ---- tour through communities ----
function bboxOf(geom) {
  let w = Infinity, s = Infinity, e = -Infinity, n = -Infinity;
  const walk = (c) => {
    if (typeof c[0] === 'number') {
      w = Math.min(w, c[0]); e = Math.max(e, c[0]); s = Math.min(s, c[1]); n = Math.max(n, c[1]);
    } else c.forEach(walk);
  };
  walk(geom.coordinates);
  return [[w, s], [e, n]];
}
async function tour(map, extent) {
  let stops = [];
  try {
    const fc = await api('/api/v1/communities?limit=100');
    stops = (fc.features || []).filter((f) => f.geometry).map((f) => bboxOf(f.geometry));
  } catch (e) {
    console.warn('tour:', e.message);
  }
  if (extent) stops.push([[extent[0], extent[1]], [extent[2], extent[3]]]);
  if (!stops.length) return;
  let i = 0;
  setInterval(() => {
    if (Date.now() < focusUntil) return;
    map.fitBounds(stops[i % stops.length], { padding: 40, duration: 4000, pitch: 0 });
    i += 1;
  }, TOUR_EVERY_MS);
}

// On walls bigger than 1920x1080 the map is laid out at 1080p size and scaled up
// (rendered at the full pixel density), so symbols and lines stay readable at 4K.
function wallScale() {
  return Math.max(1, Math.min(window.innerWidth / 1920, window.innerHeight / 1080));
}
function fitMapToWall() {
  const s = wallScale();
  const inner = $('map-inner');
  inner.style.width = `${100 / s}%`;
  inner.style.height = `${100 / s}%`;
  inner.style.transform = s > 1 ? `scale(${s})` : '';
  return s;
}

// Re-setting the same URLs reloads the tiles (the server's cache headers decide freshness).
/** @param {import('./mapcore.js').MaplibreMap} m */
function refreshTiles(m) {
  for (const id of ['events', 'heatmap', 'overdue']) {
    const src = m.getSource(id);
    if (src instanceof maplibregl.VectorTileSource && Array.isArray(src.tiles)) src.setTiles([...src.tiles]);
  }
}

// The latest events, so the feed is not empty before the first live one arrives.
async function seedFeed() {
  try {
    const fc = await api('/api/v1/events?limit=20');
    const items = (fc.features || []).map(eventOf).filter(Boolean);
    for (const e of items.reverse()) if (!state.feed.some((x) => x.id === e.id)) pushFeed(e, false);
  } catch (err) {
    console.warn('feed:', err.message);
  }
}

async function main() {
  translateDom();
  document.title = t('screenTitle');
  tick();
  setInterval(tick, 1000);
  refreshKpi();
  setInterval(refreshKpi, KPI_EVERY_MS);
  refreshAlerts();
  setInterval(refreshAlerts, KPI_EVERY_MS);
  await seedFeed();
  connect();
  setInterval(watchdog, 5000);
  // The wall's palette, community names only and the live layer are the dark style's.
  const [style, extent] = await Promise.all([buildStyle({ lang: getLang(), filters: state.filters, dark: true }), townExtent()]);
  const scale = fitMapToWall();
  const m = await createMap('map-inner', { style, state: url, extent, interactive: false, pixelRatio: (window.devicePixelRatio || 1) * scale });
  map = m;
  window.addEventListener('resize', () => {
    const s = fitMapToWall();
    m.setPixelRatio((window.devicePixelRatio || 1) * s);
    m.resize();
  });
  applyLayers(m, state.layers);
  for (const e of state.feed) pushLive(e);
  onFirstIdle(m, () => {
    document.body.dataset.ready = '1';
  });
  if (url.tour) tour(m, extent);
  // Keep the heat and overdue layers current on a wall that runs for days.
  setInterval(() => refreshTiles(m), 5 * 60_000);
}

kioskSession()
  .catch(() => false)
  .then(() => main())
  .catch((e) => {
  console.error('screen failed to start:', e);
  document.body.dataset.failed = String(e?.message);
});
