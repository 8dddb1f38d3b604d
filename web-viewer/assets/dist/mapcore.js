// @ts-check
// Shared map code of the viewer, big screen and embed pages: the server's
// style (tiles/src/style.rs, the one definition of layers and colours), layer
// toggles and click targets read from its metadata, event filters on tile
// URLs, URL state and small API helpers.
//
// MapLibre GL JS is loaded as a classic script (`/assets/maplibre-gl.js`) before
// the page's module runs, so it is `window.maplibregl` here.

/** @typedef {import('maplibre-gl').Map} MaplibreMap */
/** @typedef {import('maplibre-gl').MapOptions} MapOptions */
/** @typedef {import('maplibre-gl').StyleSpecification} StyleSpecification */
/** @typedef {import('maplibre-gl').MapGeoJSONFeature} MapGeoJSONFeature */
/** @typedef {Record<string, string | undefined>} Filters event filters by key of FILTER_KEYS */

/** The MapLibre namespace. */
export const maplibregl = window.maplibregl;

/** Event filter keys; the same names are query parameters of event/heatmap tiles and the API. */
export const FILTER_KEYS = ['from', 'to', 'category', 'status', 'source'];

/**
 * Layer toggles in the order the layer list shows them (`base` is the base
 * map). Which style layers a toggle shows, and its colours, come from the
 * server's style (`wangge:toggle` on a layer, `wangge:legend` on the style);
 * a toggle of the style missing here is listed at the end.
 */
const TOGGLE_ORDER = [
  'base', 'communities', 'grids-comprehensive', 'grids-micro', 'grids-dedicated', 'compounds', 'buildings',
  'buildings3d', 'places-facility', 'places-public_space', 'places-poi', 'places-parcel', 'hex', 'heatmap',
  'sentiment', 'events', 'mine', 'overdue',
];

/**
 * Layers a page shows when the URL names none, by the signed-in role: what
 * that role's work needs. Every role gets the frame (communities, grids,
 * compounds, buildings; the style names them by zoom). Event heat is one
 * layer among others, turned on by whoever wants it — by default only for
 * planners, whose work is density, and on a wall. A leader sees what is
 * overdue. A worker and a department get only the k-anonymous aggregate in
 * event tiles, so their map shows their own open events instead, exact,
 * from the API (`mine`, filled by {@link fillMine}).
 * @param {string} role
 * @returns {string[]}
 */
export function defaultLayers(role) {
  const frame = ['base', 'communities', 'grids-comprehensive', 'grids-micro', 'grids-dedicated', 'compounds', 'buildings'];
  switch (role) {
    case 'worker':
    case 'department':
      return [...frame, 'places-facility', 'mine'];
    case 'planner':
      return [...frame, 'places-facility', 'hex'];
    case 'screen':
      return [...frame, 'places-facility', 'hex', 'overdue'];
    default:
      return [...frame, 'places-facility', 'overdue'];
  }
}

/** What a click selects, most specific first (the style's `wangge:pick` names it per layer). */
const PICK_ORDER = ['event', 'place', 'building', 'grid', 'compound', 'community'];

/** The event and heatmap tile sources, whose URLs carry the event filters. */
const FILTERED_SOURCES = { events: 'events', heatmap: 'heatmap', overdue: 'events' };

// Credentials. Pages opened after log-in use the session cookie and send its
// CSRF token with every change; the embed page, framed by other sites (no
// cookies there), sends its kiosk token as a bearer header instead.
let bearer = null;
let csrf = null;

/** Makes every request of this page carry `Authorization: Bearer <token>`. */
export function setBearer(token) {
  bearer = token || null;
}

/**
 * Headers that authenticate a request of this page (tiles, style, API).
 *
 * @returns {Record<string, string>}
 */
export function authHeaders() {
  return bearer ? { authorization: `Bearer ${bearer}` } : {};
}

/** Who is signed in (`GET /api/v1/session`), or null. */
export async function whoAmI() {
  const res = await fetch('/api/v1/session', { headers: authHeaders() });
  if (!res.ok) return null;
  const me = await res.json();
  if (me.csrf) csrf = me.csrf;
  return me;
}

/**
 * Signs a wall in with the kiosk token of its address (`/screen?token=…`): the
 * token is kept in this tab's sessionStorage and dropped from the address bar,
 * and exchanged for a read-only session, again whenever the session is gone
 * (a server restart). Resolves to true when signed in.
 */
export async function kioskSession() {
  const params = new URLSearchParams(location.search);
  const fromUrl = params.get('token');
  if (fromUrl) {
    sessionStorage.setItem('wangge-kiosk', fromUrl);
    params.delete('token');
    const q = params.toString();
    history.replaceState(null, '', `${location.pathname}${q ? `?${q}` : ''}${location.hash}`);
  }
  const token = sessionStorage.getItem('wangge-kiosk');
  if (!token) return !!(await whoAmI());
  const res = await fetch('/api/v1/session/kiosk', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  return res.ok;
}

/** Sends the browser to the log-in page, back here afterwards. */
export function toLogin() {
  location.href = `/login?next=${encodeURIComponent(location.pathname + location.search + location.hash)}`;
}

/** Ends the session and shows the log-in page. */
export async function logout() {
  await api('/api/v1/session', { method: 'DELETE' }).catch(() => null);
  location.href = '/login';
}

/**
 * Fetches from the server with this page's credentials: changes (anything but
 * GET) are JSON and carry the session's CSRF token. Resolves to the response.
 */
export async function send(path, init = {}) {
  const method = (init.method || 'GET').toUpperCase();
  const headers = new Headers(init.headers || {});
  for (const [k, v] of Object.entries(authHeaders())) headers.set(k, v);
  if (method !== 'GET' && method !== 'HEAD') {
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    if (!bearer) {
      if (!csrf) await whoAmI();
      if (csrf) headers.set('x-csrf-token', csrf);
    }
  }
  let res = await fetch(path, { ...init, headers });
  if (res.status === 401 && !bearer) {
    // A wall signs itself in again with its kiosk token; anyone else logs in.
    if (sessionStorage.getItem('wangge-kiosk') && (await kioskSession())) {
      res = await fetch(path, { ...init, headers });
    } else {
      toLogin();
    }
  }
  return res;
}

/** Fetches JSON from the server; throws an Error naming the route and status on failure. */
export async function api(path, init) {
  const res = await send(path, init);
  if (!res.ok) {
    let msg = `${res.status} ${res.statusText}`;
    try {
      const body = await res.json();
      if (body?.error) msg = `${body.error.code}: ${body.error.message}`;
    } catch (_) {
      /* not JSON */
    }
    throw new Error(`${path}: ${msg}`);
  }
  return res.status === 204 ? null : res.json();
}

/** Query string of the active event filters (`?from=..&to=..`), empty when none. */
export function filterQuery(filters, keys = FILTER_KEYS) {
  const q = new URLSearchParams();
  for (const k of keys) if (filters?.[k]) q.set(k, filters[k]);
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** Filters of a filtered source: overdue events ignore the time window and status (they are overdue now). */
function sourceQuery(id, filters) {
  if (id === 'overdue') return filterQuery({ ...filters, status: 'overdue' }, ['category', 'source', 'status']);
  return filterQuery(filters);
}

function tileUrl(layer, query = '') {
  return `${location.origin}/tiles/${layer}/{z}/{x}/{y}.mvt${query}`;
}

/**
 * The map style: the server's `/style.json` (the one definition of every
 * layer and colour, tiles/src/style.rs) with the event filters put on the
 * event and heatmap tile URLs.
 *
 * @param {{ filters?: Filters, dark?: boolean, lang?: string }} [opts] `dark`
 *   asks for the wall's palette, `lang` the label language.
 * @returns {Promise<StyleSpecification>}
 */
export async function buildStyle(opts = {}) {
  const q = new URLSearchParams();
  if (opts.lang === 'en') q.set('lang', 'en');
  if (opts.dark) q.set('theme', 'dark');
  const qs = q.toString();
  /** @type {StyleSpecification} */
  const style = await api(`/style.json${qs ? `?${qs}` : ''}`);
  // The server names itself by its Host header; behind a proxy the page's own origin is the one to use.
  const here = (/** @type {string} */ u) => u.replace(/^https?:\/\/[^/]+/, location.origin);
  if (style.glyphs) style.glyphs = here(style.glyphs);
  for (const src of Object.values(style.sources)) if (src.type === 'vector' && src.tiles) src.tiles = src.tiles.map(here);
  for (const [id, layer] of Object.entries(FILTERED_SOURCES)) {
    const src = style.sources[id];
    if (src && src.type === 'vector') src.tiles = [tileUrl(layer, sourceQuery(id, opts.filters || {}))];
  }
  return style;
}

/**
 * What the style says about its layers: the layer ids of each toggle, the
 * clickable layers of each kind (top-most first) and the legend's colours.
 *
 * @typedef {{ toggles: Map<string, string[]>, picks: Array<[string, string[]]>, legend: Record<string, string[]>, dots: Set<string> }} StyleIndex
 * @param {StyleSpecification} style
 * @returns {StyleIndex}
 */
export function styleIndex(style) {
  /** @type {Map<string, string[]>} */
  const toggles = new Map();
  /** @type {Map<string, string[]>} */
  const picks = new Map();
  /** @type {Set<string>} toggles drawn as points (their legend swatch is a dot) */
  const dots = new Set();
  for (const layer of style.layers) {
    const meta = /** @type {Record<string, unknown>} */ (layer.metadata || {});
    const toggle = meta['wangge:toggle'];
    const pickKind = meta['wangge:pick'];
    if (typeof toggle === 'string') toggles.set(toggle, [...(toggles.get(toggle) || []), layer.id]);
    if (typeof toggle === 'string' && layer.type === 'circle') dots.add(toggle);
    if (typeof pickKind === 'string') picks.set(pickKind, [layer.id, ...(picks.get(pickKind) || [])]);
  }
  const styleMeta = /** @type {Record<string, unknown>} */ (style.metadata || {});
  const legend = /** @type {Record<string, string[]>} */ (styleMeta['wangge:legend'] || {});
  const order = PICK_ORDER.filter((k) => picks.has(k)).map((k) => /** @type {[string, string[]]} */ ([k, picks.get(k) || []]));
  return { toggles, picks: order, legend, dots };
}

/** @type {WeakMap<MaplibreMap, StyleIndex>} */
const indexes = new WeakMap();

/** The style index of a map's style (computed once per map). */
function indexOf(/** @type {MaplibreMap} */ map) {
  let ix = indexes.get(map);
  if (!ix) {
    ix = styleIndex(map.getStyle());
    indexes.set(map, ix);
  }
  return ix;
}

/** Toggle keys of a style in display order. */
export function toggleOrder(/** @type {StyleIndex} */ ix) {
  const keys = [...ix.toggles.keys()];
  return [...TOGGLE_ORDER.filter((k) => ix.toggles.has(k)), ...keys.filter((k) => !TOGGLE_ORDER.includes(k))];
}

/**
 * Shows exactly the layers of the toggles in `on`; 2-D footprints hide under 3-D.
 *
 * @param {MaplibreMap} map
 * @param {Set<string>} on toggle keys
 */
export function applyLayers(map, on) {
  /** @type {(id: string, v: boolean) => void} */
  const vis = (id, v) => {
    if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', v ? 'visible' : 'none');
  };
  for (const [key, ids] of indexOf(map).toggles) for (const id of ids) vis(id, on.has(key));
  if (on.has('buildings3d')) for (const id of indexOf(map).toggles.get('buildings') || []) vis(id, false);
}

/** The open events the caller may see, for the `mine` source. */
const MINE_URL = '/api/v1/events?status=open&limit=10000';
/** Maps whose `mine` source was filled. @type {WeakSet<MaplibreMap>} */
const mineFilled = new WeakSet();

/**
 * Fills the `mine` GeoJSON source (the caller's open events, exact where
 * its role sees single events) from the API while its toggle is on; again
 * when called later with `refresh` (the page does it every minute).
 *
 * @param {MaplibreMap} map
 * @param {Set<string>} on toggle keys
 * @param {boolean} [refresh]
 */
export function fillMine(map, on, refresh = false) {
  const src = map.getSource('mine');
  if (!on.has('mine') || !(src instanceof maplibregl.GeoJSONSource)) return;
  if (mineFilled.has(map) && !refresh) return;
  mineFilled.add(map);
  src.setData(MINE_URL);
}

/**
 * Points the event and heatmap tile sources at the filtered URLs.
 *
 * @param {MaplibreMap} map
 * @param {Filters} filters
 */
export function applyFilters(map, filters) {
  for (const [id, layer] of Object.entries(FILTERED_SOURCES)) {
    const src = map.getSource(id);
    if (src instanceof maplibregl.VectorTileSource) src.setTiles([tileUrl(layer, sourceQuery(id, filters))]);
  }
}

/**
 * Outlines the grid `code` (or none).
 *
 * @param {MaplibreMap} map
 * @param {string} code
 */
export function highlightGrid(map, code) {
  if (map.getLayer('wg-grid-selected')) map.setFilter('wg-grid-selected', ['==', ['get', 'code'], code || '']);
}

/**
 * The top-most clickable feature at a screen point, or null.
 *
 * @param {MaplibreMap} map
 * @param {{ x: number, y: number }} point
 * @returns {{ kind: string, feature: MapGeoJSONFeature } | null}
 */
export function pick(map, point) {
  /** @type {[[number, number], [number, number]]} */
  const box = [[point.x - 3, point.y - 3], [point.x + 3, point.y + 3]];
  for (const [kind, ids] of indexOf(map).picks) {
    const layers = ids.filter((id) => map.getLayer(id) && map.getLayoutProperty(id, 'visibility') !== 'none');
    if (!layers.length) continue;
    const fs = map.queryRenderedFeatures(kind === 'event' || kind === 'place' ? box : [point.x, point.y], { layers });
    if (fs.length) return { kind, feature: fs[0] };
  }
  return null;
}

/**
 * The view a page's URL asks for.
 *
 * @typedef {object} UrlState
 * @property {[number, number]} [center]
 * @property {number} [zoom]
 * @property {number} [bearing]
 * @property {number} [pitch]
 * @property {Set<string>} [layers] toggle keys
 * @property {Filters} [filters]
 * @property {string} [grid] a grid to select (embed)
 * @property {string} [sel] a selection `kind:id` (viewer)
 * @property {string} [lang]
 * @property {boolean} [tour] the wall tours the communities
 */

/**
 * Parses the view state from the query string and hash (hash wins).
 *
 * @returns {UrlState}
 */
export function readUrlState() {
  const p = new URLSearchParams(location.search);
  const h = new URLSearchParams(location.hash.replace(/^#/, ''));
  for (const [k, v] of h) p.set(k, v);
  const num = (/** @type {string} */ k) => (p.has(k) && Number.isFinite(Number(p.get(k))) ? Number(p.get(k)) : undefined);
  const c = (p.get('c') || p.get('center') || '').split(',').map(Number);
  /** @type {Filters} */
  const filters = {};
  for (const k of FILTER_KEYS) if (p.get(k)) filters[k] = p.get(k) || undefined;
  return {
    center: c.length === 2 && c.every(Number.isFinite) ? [c[0], c[1]] : undefined,
    zoom: num('z') ?? num('zoom'),
    bearing: num('b'),
    pitch: num('p'),
    layers: p.has('layers') || p.has('l') ? new Set((p.get('layers') ?? p.get('l') ?? '').split(',').filter(Boolean)) : undefined,
    filters,
    grid: p.get('grid') || undefined,
    sel: p.get('sel') || undefined,
    lang: p.get('lang') || undefined,
    tour: p.get('tour') === '1',
  };
}

/** Writes the view state into the hash without adding a history entry. */
export function writeUrlState(map, state) {
  const c = map.getCenter();
  const h = new URLSearchParams();
  h.set('c', `${c.lng.toFixed(5)},${c.lat.toFixed(5)}`);
  h.set('z', map.getZoom().toFixed(2));
  if (Math.abs(map.getBearing()) > 0.1) h.set('b', map.getBearing().toFixed(1));
  if (map.getPitch() > 0.1) h.set('p', map.getPitch().toFixed(0));
  h.set('l', [...state.layers].join(','));
  for (const k of FILTER_KEYS) if (state.filters[k]) h.set(k, state.filters[k]);
  if (state.selection) h.set('sel', `${state.selection.kind}:${state.selection.id}`);
  if (state.lang && state.lang !== 'zh') h.set('lang', state.lang);
  history.replaceState(null, '', `${location.pathname}${location.search}#${h.toString().replace(/%2C/g, ',').replace(/%3A/g, ':')}`);
}

/**
 * The box around the grids `codes` (a worker's own: where its work is), or
 * the town's when none of them can be read.
 * @param {string[]} codes
 * @returns {Promise<number[] | undefined>}
 */
export async function gridsExtent(codes) {
  const boxes = await Promise.all(codes.map((code) => api(`/api/v1/grids/${encodeURIComponent(code)}`)
    .then((g) => /** @type {{bbox?: number[]}} */ (g).bbox)
    .catch(() => undefined)));
  const ok = /** @type {number[][]} */ (boxes.filter((b) => Array.isArray(b) && b.length === 4 && b.every(Number.isFinite)));
  if (!ok.length) return townExtent();
  return [0, 1, 2, 3].map((i) => (i < 2 ? Math.min : Math.max)(...ok.map((b) => b[i])));
}

/** Town extent `[w,s,e,n]` from `/api/v1/info`, or undefined. */
export async function townExtent() {
  try {
    const info = await api('/api/v1/info');
    const e = info.extent || info.bbox;
    return Array.isArray(e) && e.length === 4 && e.every(Number.isFinite) ? e : undefined;
  } catch (e) {
    console.warn('info unavailable:', e.message);
    return undefined;
  }
}

/**
 * What a page passes to {@link createMap}.
 *
 * @typedef {object} MapSetup
 * @property {StyleSpecification} style
 * @property {UrlState} state the view the URL asks for
 * @property {number[]} [extent] the town's `[w, s, e, n]`, framed when the URL names no view
 * @property {boolean} [interactive]
 * @property {number | import('maplibre-gl').PaddingOptions} [padding]
 * @property {number} [pixelRatio]
 */

/**
 * Creates the map in `container` and resolves once the style has loaded.
 *
 * @param {string | HTMLElement} container
 * @param {MapSetup} setup
 * @returns {Promise<MaplibreMap>}
 */
export async function createMap(container, { style, state, extent, interactive = true, padding = 20, pixelRatio }) {
  /** @type {MapOptions} */
  const opts = {
    container,
    style,
    localIdeographFontFamily: '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif',
    attributionControl: false,
    interactive,
    maxPitch: 70,
    fadeDuration: 0,
    // Tiles, TileJSON and glyphs carry the page's bearer token (embed).
    transformRequest: (url) => (bearer && url.startsWith(location.origin) ? { url, headers: authHeaders() } : { url }),
  };
  if (pixelRatio) opts.pixelRatio = pixelRatio;
  if (state.center && state.zoom !== undefined) {
    opts.center = state.center;
    opts.zoom = state.zoom;
  } else if (extent) {
    opts.bounds = [[extent[0], extent[1]], [extent[2], extent[3]]];
    opts.fitBoundsOptions = { padding };
  } else if (style.center) {
    opts.center = style.center;
    opts.zoom = style.zoom ?? 13;
  }
  if (state.bearing !== undefined) opts.bearing = state.bearing;
  if (state.pitch !== undefined) opts.pitch = state.pitch;
  const map = new maplibregl.Map(opts);
  map.on('error', (e) => {
    const msg = (e?.error?.message) || String(e);
    console.error('map error:', msg);
  });
  await new Promise((resolve) => map.once('load', resolve));
  return map;
}

/**
 * Calls `cb()` once the map is idle after its first complete render, and
 * marks that moment in the page's performance timeline as
 * `wangge:first-render` (read it with
 * `performance.getEntriesByName('wangge:first-render')`).
 *
 * @param {MaplibreMap} map
 * @param {() => void} cb
 */
export function onFirstIdle(map, cb) {
  map.once('idle', () => {
    performance.mark('wangge:first-render');
    cb();
  });
}

/**
 * Escapes text for insertion into HTML.
 *
 * @param {unknown} s
 */
export function esc(s) {
  /** @type {Record<string, string>} */
  const ent = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
  return String(s ?? '').replace(/[&<>"']/g, (c) => ent[c]);
}
