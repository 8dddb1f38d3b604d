// Shared map code of the viewer, big screen and embed pages: the style (the
// server's offline base map plus our own governance layers), layer toggles,
// event filters on tile URLs, URL state and small API helpers.
//
// MapLibre GL JS is loaded as a classic script (`/assets/maplibre-gl.js`) before
// the page's module runs, so it is `window.maplibregl` here.

/** The MapLibre namespace. */
export const maplibregl = window.maplibregl;

/** Tile layers of the server (`/tiles/{layer}/{z}/{x}/{y}.mvt`) the pages draw themselves. */
export const GOV_LAYERS = ['communities', 'grids', 'compounds', 'buildings', 'places', 'events', 'heatmap'];

/** Event filter keys; the same names are query parameters of event/heatmap tiles and the API. */
export const FILTER_KEYS = ['from', 'to', 'category', 'status', 'source'];

/** Colours shared by the layers and the legend. */
export const COLORS = {
  communities: '#7b61ff',
  'grids-comprehensive': '#1f6feb',
  'grids-micro': '#2da44e',
  'grids-dedicated': '#d4731c',
  compounds: '#8c6d46',
  buildings: '#9aa4b1',
  buildings3d: '#b7bec8',
  'places-facility': '#0a9396',
  'places-public_space': '#52b788',
  'places-poi': '#6c757d',
  'places-parcel': '#c9ada7',
  events: '#e85d04',
  overdue: '#d00000',
  selected: '#ffd400',
  hex: ['#ffffb2', '#fecc5c', '#fd8d3c', '#f03b20', '#bd0026'],
};

/** Toggle keys → the style layer ids they show or hide (`base` is every server layer kept). */
export const TOGGLES = {
  communities: ['wg-communities-fill', 'wg-communities-line', 'wg-communities-label'],
  'grids-comprehensive': ['wg-grids-comprehensive-fill', 'wg-grids-comprehensive-line'],
  'grids-micro': ['wg-grids-micro-fill', 'wg-grids-micro-line'],
  'grids-dedicated': ['wg-grids-dedicated-fill', 'wg-grids-dedicated-line'],
  compounds: ['wg-compounds-fill', 'wg-compounds-line'],
  buildings: ['wg-buildings-fill'],
  buildings3d: ['wg-buildings-3d'],
  'places-facility': ['wg-places-facility-area', 'wg-places-facility'],
  'places-public_space': ['wg-places-public_space-area', 'wg-places-public_space'],
  'places-poi': ['wg-places-poi-area', 'wg-places-poi'],
  'places-parcel': ['wg-places-parcel-area', 'wg-places-parcel'],
  hex: ['wg-hex'],
  heatmap: ['wg-heatmap'],
  events: ['wg-events'],
  overdue: ['wg-overdue-halo', 'wg-overdue'],
};

/** Every toggle key in display order, `base` first. */
export const TOGGLE_ORDER = ['base', ...Object.keys(TOGGLES)];

/** Layers the viewer shows when the URL names none. */
export const DEFAULT_LAYERS = [
  'base', 'communities', 'grids-comprehensive', 'grids-micro', 'grids-dedicated', 'compounds',
  'buildings', 'places-facility', 'hex', 'overdue',
];

/** Layers answering clicks, most specific first. */
export const CLICK_ORDER = [
  ['event', ['wg-overdue', 'wg-events']],
  ['place', ['wg-places-facility', 'wg-places-public_space', 'wg-places-poi', 'wg-places-parcel']],
  ['building', ['wg-buildings-3d', 'wg-buildings-fill']],
  ['grid', ['wg-grids-micro-fill', 'wg-grids-dedicated-fill', 'wg-grids-comprehensive-fill']],
  ['compound', ['wg-compounds-fill']],
  ['community', ['wg-communities-fill']],
];

// Credentials. Pages opened after log-in use the session cookie and send its
// CSRF token with every change; the embed page, framed by other sites (no
// cookies there), sends its kiosk token as a bearer header instead.
let bearer = null;
let csrf = null;

/** Makes every request of this page carry `Authorization: Bearer <token>`. */
export function setBearer(token) {
  bearer = token || null;
}

/** Headers that authenticate a request of this page (tiles, style, API). */
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
      if (body && body.error) msg = `${body.error.code}: ${body.error.message}`;
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
  for (const k of keys) if (filters && filters[k]) q.set(k, filters[k]);
  const s = q.toString();
  return s ? `?${s}` : '';
}

function overdueQuery(filters) {
  return filterQuery({ ...filters, status: 'overdue' }, ['category', 'source', 'status']);
}

function tileUrl(layer, query = '') {
  return `${location.origin}/tiles/${layer}/{z}/{x}/{y}.mvt${query}`;
}

// Reads `/tiles/{layer}.json` to learn the vector layer id and zoom range; falls
// back to the layer name when the server has no TileJSON for it.
async function tileJson(layer) {
  try {
    const tj = await api(`/tiles/${layer}.json`);
    const ids = (tj.vector_layers || []).map((v) => v.id);
    return {
      sourceLayer: ids.includes(layer) ? layer : ids[0] || layer,
      minzoom: Number.isFinite(tj.minzoom) ? tj.minzoom : 0,
      maxzoom: Number.isFinite(tj.maxzoom) ? tj.maxzoom : 16,
    };
  } catch (_) {
    return { sourceLayer: layer, minzoom: 0, maxzoom: 16 };
  }
}

const FALLBACK_STYLE = {
  version: 8,
  sources: {},
  layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#eef0f2' } }],
};

function usesGovLayer(layer) {
  const sl = layer['source-layer'];
  if (sl && GOV_LAYERS.includes(sl)) return true;
  if (typeof layer.source === 'string' && /^wg-/.test(layer.source)) return true;
  return false;
}

function absolutise(style) {
  const abs = (u) => (typeof u === 'string' && u.startsWith('/') ? location.origin + u : u);
  if (style.glyphs) style.glyphs = abs(style.glyphs);
  if (style.sprite && typeof style.sprite === 'string') style.sprite = abs(style.sprite);
  for (const src of Object.values(style.sources || {})) {
    if (src.url) src.url = abs(src.url);
    if (Array.isArray(src.tiles)) src.tiles = src.tiles.map(abs);
    if (typeof src.data === 'string') src.data = abs(src.data);
  }
  return style;
}

function firstFont(style) {
  for (const l of style.layers || []) {
    const f = l.layout && l.layout['text-font'];
    if (Array.isArray(f) && f.every((x) => typeof x === 'string')) return f;
  }
  return ['Noto Sans Regular'];
}

// Re-colours a base-map layer for the dark big screen (the server's base map is light).
function darken(layer) {
  const l = structuredClone(layer);
  const p = (l.paint = l.paint || {});
  if (l.type === 'background') p['background-color'] = '#0a1224';
  else if (l.type === 'fill') {
    const water = /water|river|lake/i.test(`${l.id} ${l['source-layer'] || ''}`);
    p['fill-color'] = water ? '#0f2a4a' : '#101a30';
    delete p['fill-pattern'];
  } else if (l.type === 'line') {
    const road = /road|street|highway|transport/i.test(`${l.id} ${l['source-layer'] || ''}`);
    p['line-color'] = road ? '#24344f' : '#1b2944';
  } else if (l.type === 'symbol') {
    p['text-color'] = '#7f93b2';
    p['text-halo-color'] = '#0a1224';
  } else if (l.type === 'fill-extrusion') p['fill-extrusion-color'] = '#1c2840';
  return l;
}

const isOverdue = ['any',
  ['==', ['get', 'overdue'], true],
  ['==', ['get', 'overdue'], 1],
  ['==', ['get', 'overdue'], 'true'],
];

/**
 * Builds the page style: the server's `/style.json` with its governance layers
 * removed (the base map stays: background, water, roads, labels), and our own
 * layers over sources `wg-{layer}`.
 *
 * `opts.filters` sets the event filters of the event and heatmap tiles;
 * `opts.dark` picks the big-screen palette; `opts.lang` the base-map label language.
 */
export async function buildStyle(opts = {}) {
  const filters = opts.filters || {};
  let base;
  try {
    base = absolutise(await api(`/style.json${opts.lang === 'en' ? '?lang=en' : ''}`));
  } catch (e) {
    console.warn('style.json unavailable, using a blank base map:', e.message);
    base = structuredClone(FALLBACK_STYLE);
  }
  const tj = Object.fromEntries(await Promise.all(GOV_LAYERS.map(async (l) => [l, await tileJson(l)])));
  const font = firstFont(base);
  const baseLayers = (base.layers || []).filter((l) => !usesGovLayer(l)).map((l) => (opts.dark ? darken(l) : l));
  // Base-map labels (streets, the server's name points) go on top of our layers.
  const baseBelow = baseLayers.filter((l) => l.type !== 'symbol');
  const baseAbove = baseLayers.filter((l) => l.type === 'symbol');
  const serverLabels = baseAbove.some((l) => l['source-layer'] === 'labels');
  const baseIds = baseLayers.map((l) => l.id);
  const sources = { ...(base.sources || {}) };
  for (const l of GOV_LAYERS) {
    const q = l === 'events' || l === 'heatmap' ? filterQuery(filters) : '';
    sources[`wg-${l}`] = { type: 'vector', tiles: [tileUrl(l, q)], minzoom: tj[l].minzoom, maxzoom: tj[l].maxzoom };
    // Grids are addressed by code (selection, hover state); other features by their tile feature id.
    if (l === 'grids') sources[`wg-${l}`].promoteId = 'code';
  }
  // Overdue events ignore the time window and status filter (they are overdue now) but follow category and source.
  sources['wg-overdue'] = { type: 'vector', tiles: [tileUrl('events', overdueQuery(filters))], minzoom: tj.events.minzoom, maxzoom: tj.events.maxzoom };
  const sl = (l) => tj[l].sourceLayer;
  const dark = !!opts.dark;
  const labels = !!base.glyphs && !serverLabels;
  const gridKind = (k) => ['==', ['get', 'kind'], k];
  const place = (c) => ['==', ['get', 'category'], c];
  const layers = [...baseBelow];
  const push = (l) => layers.push(l);

  push({ id: 'wg-communities-fill', type: 'fill', source: 'wg-communities', 'source-layer': sl('communities'), paint: { 'fill-color': COLORS.communities, 'fill-opacity': dark ? 0.06 : 0.05 } });
  push({ id: 'wg-places-parcel-area', type: 'fill', source: 'wg-places', 'source-layer': sl('places'), filter: ['all', ['==', ['geometry-type'], 'Polygon'], place('parcel')], paint: { 'fill-color': COLORS['places-parcel'], 'fill-opacity': 0.35 } });
  push({ id: 'wg-places-public_space-area', type: 'fill', source: 'wg-places', 'source-layer': sl('places'), filter: ['all', ['==', ['geometry-type'], 'Polygon'], place('public_space')], paint: { 'fill-color': COLORS['places-public_space'], 'fill-opacity': 0.35 } });
  push({ id: 'wg-places-facility-area', type: 'fill', source: 'wg-places', 'source-layer': sl('places'), filter: ['all', ['==', ['geometry-type'], 'Polygon'], place('facility')], paint: { 'fill-color': COLORS['places-facility'], 'fill-opacity': 0.3 } });
  push({ id: 'wg-places-poi-area', type: 'fill', source: 'wg-places', 'source-layer': sl('places'), filter: ['all', ['==', ['geometry-type'], 'Polygon'], place('poi')], paint: { 'fill-color': COLORS['places-poi'], 'fill-opacity': 0.25 } });
  push({ id: 'wg-compounds-fill', type: 'fill', source: 'wg-compounds', 'source-layer': sl('compounds'), paint: { 'fill-color': COLORS.compounds, 'fill-opacity': 0.08 } });
  push({ id: 'wg-compounds-line', type: 'line', source: 'wg-compounds', 'source-layer': sl('compounds'), paint: { 'line-color': COLORS.compounds, 'line-width': 1, 'line-dasharray': [3, 2] } });
  for (const k of ['comprehensive', 'dedicated', 'micro']) {
    const c = COLORS[`grids-${k}`];
    push({ id: `wg-grids-${k}-fill`, type: 'fill', source: 'wg-grids', 'source-layer': sl('grids'), filter: gridKind(k), paint: { 'fill-color': c, 'fill-opacity': ['case', ['boolean', ['feature-state', 'hover'], false], 0.22, k === 'comprehensive' ? 0.05 : 0.08] } });
  }
  push({ id: 'wg-hex', type: 'fill', source: 'wg-heatmap', 'source-layer': sl('heatmap'), filter: ['==', ['geometry-type'], 'Polygon'], paint: {
    'fill-color': ['interpolate', ['linear'], ['to-number', ['coalesce', ['get', 'count'], 0]], 1, COLORS.hex[0], 20, COLORS.hex[1], 80, COLORS.hex[2], 250, COLORS.hex[3], 800, COLORS.hex[4]],
    'fill-opacity': dark ? 0.6 : 0.45, 'fill-outline-color': 'rgba(255,255,255,0.4)' } });
  push({ id: 'wg-buildings-fill', type: 'fill', source: 'wg-buildings', 'source-layer': sl('buildings'), paint: { 'fill-color': dark ? '#3a4456' : COLORS.buildings, 'fill-opacity': 0.85, 'fill-outline-color': dark ? '#56627a' : '#7d8793' } });
  push({ id: 'wg-buildings-3d', type: 'fill-extrusion', source: 'wg-buildings', 'source-layer': sl('buildings'), paint: {
    'fill-extrusion-color': dark ? '#4a5568' : COLORS.buildings3d,
    'fill-extrusion-height': ['case',
      ['has', 'height'], ['to-number', ['get', 'height'], 6],
      ['has', 'height_m'], ['to-number', ['get', 'height_m'], 6],
      ['has', 'levels'], ['*', 3, ['to-number', ['get', 'levels'], 2]],
      6],
    'fill-extrusion-base': ['to-number', ['coalesce', ['get', 'min_height'], 0], 0],
    'fill-extrusion-opacity': 0.85 } });
  for (const k of ['comprehensive', 'dedicated', 'micro']) {
    push({ id: `wg-grids-${k}-line`, type: 'line', source: 'wg-grids', 'source-layer': sl('grids'), filter: gridKind(k), paint: { 'line-color': COLORS[`grids-${k}`], 'line-width': k === 'micro' ? 0.8 : 1.6, 'line-dasharray': k === 'micro' ? [2, 2] : [1, 0] } });
  }
  push({ id: 'wg-communities-line', type: 'line', source: 'wg-communities', 'source-layer': sl('communities'), paint: { 'line-color': COLORS.communities, 'line-width': 2.5 } });
  push({ id: 'wg-grid-selected', type: 'line', source: 'wg-grids', 'source-layer': sl('grids'), filter: ['==', ['get', 'code'], ''], paint: { 'line-color': COLORS.selected, 'line-width': 4 } });
  // Density from the heatmap tiles' count-weighted cell centroids (`kind: point`).
  push({ id: 'wg-heatmap', type: 'heatmap', source: 'wg-heatmap', 'source-layer': sl('heatmap'), filter: ['==', ['geometry-type'], 'Point'], maxzoom: 18, paint: {
    'heatmap-weight': ['interpolate', ['linear'], ['to-number', ['coalesce', ['get', 'count'], 1], 1], 0, 0, 200, 1],
    'heatmap-intensity': ['interpolate', ['linear'], ['zoom'], 10, 0.6, 16, 1],
    'heatmap-radius': ['interpolate', ['linear'], ['zoom'], 10, 20, 13, 40, 16, 90],
    'heatmap-opacity': 0.75,
    'heatmap-color': ['interpolate', ['linear'], ['heatmap-density'], 0, 'rgba(0,0,0,0)', 0.2, COLORS.hex[0], 0.4, COLORS.hex[1], 0.6, COLORS.hex[2], 0.8, COLORS.hex[3], 1, COLORS.hex[4]] } });
  for (const c of ['parcel', 'public_space', 'poi', 'facility']) {
    push({ id: `wg-places-${c}`, type: 'circle', source: 'wg-places', 'source-layer': sl('places'), filter: ['all', ['==', ['geometry-type'], 'Point'], place(c)], paint: { 'circle-color': COLORS[`places-${c}`], 'circle-radius': 4.5, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1 } });
  }
  push({ id: 'wg-events', type: 'circle', source: 'wg-events', 'source-layer': sl('events'), filter: ['==', ['geometry-type'], 'Point'], paint: { 'circle-color': COLORS.events, 'circle-radius': ['interpolate', ['linear'], ['zoom'], 12, 2, 17, 5], 'circle-stroke-color': '#fff', 'circle-stroke-width': 0.6 } });
  push({ id: 'wg-overdue-halo', type: 'circle', source: 'wg-overdue', 'source-layer': sl('events'), filter: ['all', ['==', ['geometry-type'], 'Point'], isOverdue], paint: { 'circle-color': COLORS.overdue, 'circle-opacity': 0.2, 'circle-radius': ['interpolate', ['linear'], ['zoom'], 12, 4, 17, 14] } });
  push({ id: 'wg-overdue', type: 'circle', source: 'wg-overdue', 'source-layer': sl('events'), filter: ['all', ['==', ['geometry-type'], 'Point'], isOverdue], paint: { 'circle-color': COLORS.overdue, 'circle-radius': ['interpolate', ['linear'], ['zoom'], 12, 2, 17, 6], 'circle-stroke-color': '#fff', 'circle-stroke-width': ['interpolate', ['linear'], ['zoom'], 12, 0.5, 17, 1.2] } });
  if (labels) {
    const halo = dark ? '#0b1220' : '#ffffff';
    const text = dark ? '#e6edf3' : '#24292f';
    push({ id: 'wg-grids-label', type: 'symbol', source: 'wg-grids', 'source-layer': sl('grids'), minzoom: 14.5, filter: ['!=', ['get', 'kind'], 'micro'], layout: { 'text-field': ['coalesce', ['get', 'name'], ['get', 'code']], 'text-font': font, 'text-size': 12 }, paint: { 'text-color': text, 'text-halo-color': halo, 'text-halo-width': 1.5 } });
    push({ id: 'wg-communities-label', type: 'symbol', source: 'wg-communities', 'source-layer': sl('communities'), maxzoom: 15, layout: { 'text-field': ['coalesce', ['get', 'name'], ''], 'text-font': font, 'text-size': 15 }, paint: { 'text-color': dark ? '#c9b8ff' : COLORS.communities, 'text-halo-color': halo, 'text-halo-width': 2 } });
  }
  layers.push(...baseAbove);
  const style = { ...base, sources, layers };
  delete style.terrain;
  return { style, baseIds };
}

/** Shows exactly the layers of `on` (a Set of toggle keys); `base` covers `baseIds`. */
export function applyLayers(map, on, baseIds) {
  const vis = (id, v) => {
    if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', v ? 'visible' : 'none');
  };
  for (const id of baseIds) if (id !== 'background') vis(id, on.has('base'));
  for (const [key, ids] of Object.entries(TOGGLES)) for (const id of ids) vis(id, on.has(key));
  // The grid label follows whichever grid layer is on; 2-D footprints hide under 3-D.
  vis('wg-grids-label', on.has('grids-comprehensive') || on.has('grids-dedicated'));
  if (on.has('buildings3d')) vis('wg-buildings-fill', false);
}

/** Points the event and heatmap tile sources at the filtered URLs. */
export function applyFilters(map, filters) {
  const set = (id, layer, keys) => {
    const src = map.getSource(id);
    if (src && src.setTiles) src.setTiles([tileUrl(layer, filterQuery(filters, keys))]);
  };
  set('wg-events', 'events');
  set('wg-heatmap', 'heatmap');
  const src = map.getSource('wg-overdue');
  if (src && src.setTiles) src.setTiles([tileUrl('events', overdueQuery(filters))]);
}

/** Outlines the grid `code` (or none). */
export function highlightGrid(map, code) {
  if (map.getLayer('wg-grid-selected')) map.setFilter('wg-grid-selected', ['==', ['get', 'code'], code || '']);
}

/** The top-most clickable feature at a screen point: `{kind, feature}` or null. */
export function pick(map, point) {
  const box = [[point.x - 3, point.y - 3], [point.x + 3, point.y + 3]];
  for (const [kind, ids] of CLICK_ORDER) {
    const layers = ids.filter((id) => map.getLayer(id) && map.getLayoutProperty(id, 'visibility') !== 'none');
    if (!layers.length) continue;
    const fs = map.queryRenderedFeatures(kind === 'event' || kind === 'place' ? box : point, { layers });
    if (fs.length) return { kind, feature: fs[0] };
  }
  return null;
}

/** Parses the view state from the query string and hash (hash wins). */
export function readUrlState() {
  const p = new URLSearchParams(location.search);
  const h = new URLSearchParams(location.hash.replace(/^#/, ''));
  for (const [k, v] of h) p.set(k, v);
  const num = (k) => (p.has(k) && Number.isFinite(Number(p.get(k))) ? Number(p.get(k)) : undefined);
  const c = (p.get('c') || p.get('center') || '').split(',').map(Number);
  const filters = {};
  for (const k of FILTER_KEYS) if (p.get(k)) filters[k] = p.get(k);
  return {
    center: c.length === 2 && c.every(Number.isFinite) ? c : undefined,
    zoom: num('z') ?? num('zoom'),
    bearing: num('b'),
    pitch: num('p'),
    layers: p.has('layers') || p.has('l') ? new Set((p.get('layers') ?? p.get('l')).split(',').filter(Boolean)) : undefined,
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

/** Creates the map in `container` and resolves once the style has loaded. */
export async function createMap(container, { style, state, extent, interactive = true, padding = 20, pixelRatio }) {
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
    const msg = (e && e.error && e.error.message) || String(e);
    console.error('map error:', msg);
  });
  await new Promise((resolve) => map.once('load', resolve));
  return map;
}

/** Calls `cb(ms)` once the map is idle after its first complete render. */
export function onFirstIdle(map, cb) {
  map.once('idle', () => cb(Math.round(performance.now())));
}

/** Escapes text for insertion into HTML. */
export function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}
