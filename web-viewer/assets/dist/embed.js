// @ts-check
// Embeddable map (`/embed`): map only, configured by URL parameters and driven
// by the host page through postMessage. See EMBED.md beside this folder.

import { setLang, getLang } from './i18n.js';
import {
  api, buildStyle, createMap, applyLayers, applyFilters, highlightGrid, pick, readUrlState,
  townExtent, onFirstIdle, FILTER_KEYS, defaultLayers, setBearer,
} from './mapcore.js';

/** @typedef {import('./mapcore.js').MaplibreMap} MaplibreMap */

// The kiosk token this frame was opened with (`/embed?token=…`), handed back
// by the server: a frame inside another site gets no cookies, so every request
// of this page carries the token instead.
setBearer(document.querySelector('meta[name="wangge-token"]')?.getAttribute('content') || '');

const url = readUrlState();
setLang(url.lang);
/** @type {{ layers: Set<string>, filters: import('./mapcore.js').Filters, selection: { kind: string, id: string } | null, allowedOrigins: string[], messages: number, rejected: number, grid?: any }} */
const state = {
  // A frame of another site's page: a wall's or a portal's, as the screen sees.
  layers: url.layers || new Set(defaultLayers('screen')),
  filters: { ...url.filters },
  selection: null,
  allowedOrigins: allowedOrigins(),
  messages: 0,
  rejected: 0,
};
/** The map, once created. @type {MaplibreMap | null} */
let map = null;

/** Origins allowed to drive the frame: the server's meta tag plus our own origin. */
function allowedOrigins() {
  const meta = document.querySelector('meta[name="wangge-allowed-origins"]');
  const list = (meta ? meta.getAttribute('content') || '' : '').split(/[\s,]+/).map((s) => s.trim().replace(/\/$/, '')).filter(Boolean);
  return [...new Set([location.origin, ...list])];
}
function originAllowed(/** @type {string} */ origin) {
  return state.allowedOrigins.includes('*') || state.allowedOrigins.includes(origin);
}

// The host's origin, if we may talk to it: from ancestorOrigins (Chromium, WebKit)
// or the referrer; '*' only when the server allows every origin.
function hostOrigin() {
  if (window.parent === window) return null;
  let origin = null;
  if (location.ancestorOrigins?.length) origin = location.ancestorOrigins[0];
  else if (document.referrer) {
    try {
      origin = new URL(document.referrer).origin;
    } catch (_) {
      origin = null;
    }
  }
  if (origin && origin !== 'null' && originAllowed(origin)) return origin;
  if (state.allowedOrigins.includes('*')) return '*';
  return null;
}
function post(/** @type {object} */ msg) {
  const target = hostOrigin();
  if (target) window.parent.postMessage(msg, target);
}

/**
 * Selects and frames a grid (none when `code` is empty) and tells the host.
 *
 * @param {string | number | null | undefined} code
 */
async function selectGrid(code) {
  state.selection = code ? { kind: 'grid', id: String(code) } : null;
  if (!map) return null;
  highlightGrid(map, code ? String(code) : '');
  if (!code) return null;
  const g = await api(`/api/v1/grids/${encodeURIComponent(code)}`);
  if (Array.isArray(g.bbox) && g.bbox.length === 4) {
    map.fitBounds([[g.bbox[0], g.bbox[1]], [g.bbox[2], g.bbox[3]]], { padding: 30, animate: false });
  }
  state.grid = g;
  post({ type: 'wangge:selected', code: g.code, bbox: g.bbox });
  return g;
}

/** @param {Record<string, unknown>} filters */
function setFilters(filters) {
  if (!filters || typeof filters !== 'object') return;
  for (const k of FILTER_KEYS) {
    if (!(k in filters)) continue;
    if (filters[k] == null || filters[k] === '') delete state.filters[k];
    else state.filters[k] = String(filters[k]);
  }
  if (map) applyFilters(map, state.filters);
  post({ type: 'wangge:filters', filters: { ...state.filters } });
}

/** @param {MessageEvent} ev */
function onMessage(ev) {
  const msg = ev.data;
  if (!msg || typeof msg !== 'object' || typeof msg.type !== 'string' || !msg.type.startsWith('wangge:')) return;
  if (!originAllowed(ev.origin)) {
    state.rejected += 1;
    console.warn(`wangge embed: ignored ${msg.type} from origin ${ev.origin} (not in wangge-allowed-origins)`);
    return;
  }
  state.messages += 1;
  if (!map) return;
  switch (msg.type) {
    case 'wangge:select-grid':
      selectGrid(msg.code).catch((e) => console.warn(e.message));
      break;
    case 'wangge:set-filters':
      setFilters(msg.filters);
      break;
    case 'wangge:set-layers':
      if (Array.isArray(msg.layers)) {
        state.layers = new Set(msg.layers);
        applyLayers(map, state.layers);
      }
      break;
    case 'wangge:fly-to':
      if (Array.isArray(msg.center) && msg.center.length === 2) {
        map.flyTo({ center: msg.center, zoom: Number.isFinite(msg.zoom) ? msg.zoom : map.getZoom() });
      }
      break;
    default:
      console.warn(`wangge embed: unknown message ${msg.type}`);
  }
}

async function main() {
  window.addEventListener('message', onMessage);
  const [style, extent] = await Promise.all([buildStyle({ lang: getLang(), filters: state.filters }), townExtent()]);
  const m = await createMap('map', { style, state: url, extent });
  map = m;
  applyLayers(m, state.layers);
  m.on('click', (e) => {
    const hit = pick(m, e.point);
    if (!hit) return;
    post({ type: 'wangge:click', layer: hit.kind, properties: { ...hit.feature.properties } });
  });
  m.on('mousemove', (e) => {
    m.getCanvas().style.cursor = pick(m, e.point) ? 'pointer' : '';
  });
  if (url.grid) {
    try {
      await selectGrid(url.grid);
    } catch (e) {
      console.warn(e.message);
    }
  }
  onFirstIdle(m, () => {
    document.body.dataset.ready = '1';
    post({ type: 'wangge:ready' });
  });
}

main().catch((e) => {
  console.error('embed failed to start:', e);
  document.body.dataset.failed = String(e?.message);
});
