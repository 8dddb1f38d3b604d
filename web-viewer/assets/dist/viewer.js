// @ts-check
// The map viewer (`/`): layers with toggles and legend, event filters driving the
// event/heatmap tiles, detail panels on click, search, shareable URL state.
// What the page shows is in the URL hash (view, layers, filters, selection) and
// the DOM; the map's layers and colours are the server's style.

import { t, setLang, getLang, translateDom, vocab, vocabValues, categoryName, GROUPS, CATEGORIES } from './i18n.js';
import {
  api, buildStyle, createMap, applyLayers, applyFilters, highlightGrid, pick, readUrlState,
  writeUrlState, townExtent, gridsExtent, fillMine, onFirstIdle, esc, styleIndex, toggleOrder, defaultLayers, FILTER_KEYS, maplibregl, logout,
} from './mapcore.js';
import { gridPanel, buildingPanel, eventPanel, eventGroupPanel, placePanel } from './panels.js';
import { initRegrid, handleCompareClick, relabelRegrid } from './regrid.js';

const DAY = 86400e3;
const url = readUrlState();
setLang(url.lang);

/** The signed-in role (the server wrote it into the page). */
const signedInRole = document.querySelector('meta[name="wangge-role"]')?.getAttribute('content') || '';

/**
 * Everything the page shows (written into the URL hash).
 *
 * @type {{ layers: Set<string>, filters: import('./mapcore.js').Filters, selection: { kind: string, id: string } | null, lang: string, detail: any }}
 */
const state = {
  layers: url.layers || new Set(defaultLayers(signedInRole)),
  filters: { ...url.filters },
  selection: null,
  lang: getLang(),
  detail: null,
};
/** The map, once created. @type {import('./mapcore.js').MaplibreMap | null} */
let map = null;
/** What the style says about its layers (toggles, legend). @type {import('./mapcore.js').StyleIndex} */
let ix = { toggles: new Map(), picks: [], legend: {}, dots: new Set() };

const $ = /** @type {(id: string) => HTMLElement & HTMLInputElement} */ ((id) => /** @type {any} */ (document.getElementById(id)));

// Who is signed in (the server wrote it into the page) and log-out.
$('who').textContent = document.querySelector('meta[name="wangge-user"]')?.getAttribute('content') || '';
$('logout').addEventListener('click', () => logout());
// Leaders administer accounts; leaders and planners read the indicators
// dashboard; those who handle events have an inbox (the server refuses
// everyone else anyway).
$('admin-link').hidden = signedInRole !== 'leader';
$('dashboard-link').hidden = !['leader', 'planner'].includes(signedInRole);
$('inbox-link').hidden = !['leader', 'worker', 'department'].includes(signedInRole);

function isoDay(offsetDays) {
  const d = new Date(Date.now() + offsetDays * DAY);
  return d.toISOString().slice(0, 10);
}
function dayOffset(iso) {
  const d = Date.parse(iso.length === 10 ? `${iso}T00:00:00Z` : iso);
  if (Number.isNaN(d)) return 0;
  return Math.round((d - Date.parse(`${isoDay(0)}T00:00:00Z`)) / DAY);
}

// ---- layer list and legend ----
/** The legend swatch of a toggle, in the style's colours (`data-colours` lists them). */
function swatch(/** @type {string} */ key) {
  const cs = ix.legend[key] || ['#999999'];
  const bg = cs.length > 1 ? `linear-gradient(90deg,${cs.join(',')})` : cs[0];
  return `<i class="sw${ix.dots.has(key) ? ' dot' : ''}" data-colours="${esc(cs.join(','))}" style="background:${esc(bg)}"></i>`;
}
function renderLayerList() {
  $('layer-list').innerHTML = toggleOrder(ix).map((k) => `<li><label><input type="checkbox" data-layer="${k}"${state.layers.has(k) ? ' checked' : ''}>${swatch(k)}<span>${esc(t(k))}</span></label></li>`).join('');
  $('heat-legend').hidden = !(state.layers.has('hex') || state.layers.has('heatmap'));
}

// ---- filters ----
function renderFilterOptions() {
  const cat = [`<option value="">${esc(t('all'))}</option>`];
  for (const [g] of GROUPS) {
    cat.push(`<optgroup label="${esc(categoryName(g))}"><option value="${g}">${esc(categoryName(g))}（${esc(t('all'))}）</option>`);
    for (const [c] of CATEGORIES.filter((r) => r[0].startsWith(`${g}.`))) cat.push(`<option value="${c}">${esc(c)} ${esc(categoryName(c))}</option>`);
    cat.push('</optgroup>');
  }
  $('f-category').innerHTML = cat.join('');
  const opts = (kind) => [`<option value="">${esc(t('all'))}</option>`, ...vocabValues(kind).map((v) => `<option value="${v}">${esc(vocab(kind, v))}</option>`)].join('');
  $('f-status').innerHTML = opts('statusClass');
  $('f-source').innerHTML = opts('source');
  syncFilterInputs();
}
function syncFilterInputs() {
  const f = state.filters;
  $('f-category').value = f.category || '';
  $('f-status').value = f.status || '';
  $('f-source').value = f.source || '';
  $('time-from').value = f.from ? String(Math.max(-365, dayOffset(f.from))) : '-365';
  $('time-to').value = f.to ? String(Math.min(0, dayOffset(f.to))) : '0';
  updateTimeLabel();
}
function updateTimeLabel() {
  const f = state.filters;
  $('time-label').textContent = `${f.from || t('allTime')} — ${f.to || t('today')}`;
}
function readTimeInputs() {
  let a = Number($('time-from').value);
  let b = Number($('time-to').value);
  if (a > b) [a, b] = [b, a];
  state.filters.from = a <= -365 ? undefined : isoDay(a);
  state.filters.to = b >= 0 ? undefined : isoDay(b);
  updateTimeLabel();
}

/** Sets event filters (undefined/empty values clear a key) and refreshes the tiles. */
function setFilters(patch) {
  for (const k of FILTER_KEYS) {
    if (!(k in patch)) continue;
    if (patch[k]) state.filters[k] = String(patch[k]);
    else delete state.filters[k];
  }
  for (const k of FILTER_KEYS) if (!state.filters[k]) delete state.filters[k];
  syncFilterInputs();
  if (map) applyFilters(map, state.filters);
  saveUrl();
}

// ---- panels ----
/**
 * The panel's HTML for a feature and the detail it shows (kept for a language switch).
 *
 * @param {string} kind
 * @param {string | number} id
 * @param {any} [props] the clicked feature's properties
 * @returns {Promise<{ html: string, detail: any }>}
 */
async function panelOf(kind, id, props) {
  const get = (/** @type {string} */ what) => api(`/api/v1/${what}/${encodeURIComponent(id)}`);
  if (kind === 'grid') {
    const detail = await get('grids');
    return { html: gridPanel(detail), detail };
  }
  if (kind === 'building') {
    const detail = await get('buildings');
    return { html: buildingPanel(detail), detail };
  }
  if (kind === 'event' && props && props.count != null) return { html: eventGroupPanel(props), detail: props };
  if (kind === 'event') {
    const detail = await get('events');
    return { html: eventPanel(detail), detail };
  }
  if (kind === 'place') {
    const detail = props || { id };
    return { html: placePanel(detail), detail };
  }
  const title = esc(t(kind === 'community' ? 'communities' : 'compounds'));
  return { html: `<h2><small>${title}</small>${esc(props?.name || id)}</h2>`, detail: null };
}

/**
 * Opens the detail panel of a grid, building, event, place, compound or community.
 *
 * @param {string} kind
 * @param {string | number} id
 * @param {any} [fallbackProps] the clicked feature's properties
 */
async function showPanel(kind, id, fallbackProps) {
  state.selection = { kind, id: String(id) };
  if (map) highlightGrid(map, kind === 'grid' ? String(id) : '');
  saveUrl();
  const panel = $('panel');
  const body = $('panel-body');
  panel.hidden = false;
  panel.dataset.kind = kind;
  panel.dataset.state = 'loading';
  body.innerHTML = '<p class="muted">…</p>';
  try {
    const { html, detail } = await panelOf(kind, id, fallbackProps);
    if (!state.selection || state.selection.id !== String(id)) return;
    state.detail = detail || null;
    body.innerHTML = html;
    panel.dataset.state = 'ready';
  } catch (e) {
    console.warn(e.message);
    body.innerHTML = `<p class="bad">${esc(t('loadFailed'))}: ${esc(e.message)}</p>`;
    panel.dataset.state = 'error';
  }
}
function closePanel() {
  state.selection = null;
  state.detail = null;
  $('panel').hidden = true;
  if (map) highlightGrid(map, '');
  saveUrl();
}
function featureId(kind, f) {
  const p = f.properties || {};
  if (kind === 'grid') return p.code ?? f.id;
  return p.id ?? f.id;
}

// ---- search ----
let searchSeq = 0;
async function runSearch(q) {
  const list = $('search-results');
  const seq = ++searchSeq;
  if (!q.trim()) {
    list.hidden = true;
    return;
  }
  try {
    const res = await api(`/api/v1/search?q=${encodeURIComponent(q.trim())}`);
    if (seq !== searchSeq) return;
    const items = Array.isArray(res) ? res : res.results || [];
    list.innerHTML = items.length
      ? items.slice(0, 12).map((r, i) => `<li><button type="button" data-i="${i}"><small>${esc(t({ grid: 'grid', community: 'communities', compound: 'compounds', building: 'building' }[r.type] || r.type))}</small> ${esc(r.label)}</button></li>`).join('')
      : `<li class="muted">${esc(t('noResults'))}</li>`;
    list.hidden = false;
    list.onclick = (ev) => {
      const b = ev.target instanceof Element ? ev.target.closest('button[data-i]') : null;
      if (!(b instanceof HTMLElement)) return;
      goTo(items[Number(b.dataset.i)]);
      list.hidden = true;
    };
  } catch (e) {
    console.warn(e.message);
  }
}
/** Frames a search result and opens its panel. @param {any} r */
function goTo(r) {
  if (!map) return;
  if (Array.isArray(r.bbox) && r.bbox.length === 4) map.fitBounds([[r.bbox[0], r.bbox[1]], [r.bbox[2], r.bbox[3]]], { padding: 60, maxZoom: 18 });
  else if (Array.isArray(r.center)) map.flyTo({ center: r.center, zoom: Math.max(map.getZoom(), 16) });
  if (r.type === 'grid' && r.code) showPanel('grid', r.code);
  else if (r.type === 'building' && r.id != null) showPanel('building', r.id);
}

// ---- URL state ----
let urlTimer = 0;
function saveUrl() {
  clearTimeout(urlTimer);
  urlTimer = window.setTimeout(() => map && writeUrlState(map, state), 150);
}

/**
 * Where the map opens when the URL names no view: a worker on its own grids
 * (its work is there), everyone else on the town.
 * @returns {Promise<number[] | undefined>}
 */
async function startExtent() {
  if (signedInRole !== 'worker') return townExtent();
  try {
    const me = await api('/api/v1/session');
    return me?.grids?.length ? gridsExtent(me.grids) : townExtent();
  } catch (e) {
    console.warn('session unavailable:', /** @type {Error} */ (e).message);
    return townExtent();
  }
}

async function main() {
  translateDom();
  document.title = t('title');
  renderFilterOptions();
  const [style, extent] = await Promise.all([buildStyle({ lang: getLang(), filters: state.filters }), startExtent()]);
  ix = styleIndex(style);
  renderLayerList();
  // A pristine copy for the proposal side of the re-gridding comparison.
  const pristine = structuredClone(style);
  // The town fits beside the layers panel; on a phone the panel is a sheet
  // behind its button and the top bar wraps, so the town takes the width.
  const phone = window.matchMedia('(max-width: 760px)').matches;
  const padding = phone ? { top: 200, bottom: 30, left: 20, right: 20 } : { top: 70, bottom: 30, left: 280, right: 30 };
  const m = await createMap('map', { style, state: url, extent, padding });
  map = m;
  m.addControl(new maplibregl.NavigationControl({ visualizePitch: true }), 'bottom-right');
  m.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
  applyLayers(m, state.layers);
  fillMine(m, state.layers);
  // The open events move on: read them again every minute while shown.
  window.setInterval(() => fillMine(m, state.layers, true), 60_000);
  if (state.layers.has('buildings3d') && url.pitch === undefined) m.setPitch(50);
  onFirstIdle(m, () => {
    document.body.dataset.ready = '1';
  });

  $('layer-list').addEventListener('change', (ev) => {
    const box = /** @type {HTMLInputElement} */ (ev.target);
    const k = box.dataset.layer;
    if (!k) return;
    if (box.checked) state.layers.add(k);
    else state.layers.delete(k);
    if (k === 'buildings3d' && box.checked && m.getPitch() < 20) m.easeTo({ pitch: 50 });
    applyLayers(m, state.layers);
    fillMine(m, state.layers);
    $('heat-legend').hidden = !(state.layers.has('hex') || state.layers.has('heatmap'));
    saveUrl();
  });
  for (const id of ['time-from', 'time-to']) {
    $(id).addEventListener('input', readTimeInputs);
    $(id).addEventListener('change', () => {
      readTimeInputs();
      setFilters({ from: state.filters.from, to: state.filters.to });
    });
  }
  $('f-category').addEventListener('change', () => setFilters({ category: $('f-category').value }));
  $('f-status').addEventListener('change', () => setFilters({ status: $('f-status').value }));
  $('f-source').addEventListener('change', () => setFilters({ source: $('f-source').value }));
  $('f-reset').addEventListener('click', () => setFilters({ from: '', to: '', category: '', status: '', source: '' }));
  $('panel-close').addEventListener('click', closePanel);
  let searchTimer = 0;
  $('search').addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = window.setTimeout(() => runSearch($('search').value), 250);
  });
  $('search').addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      const first = $('search-results').querySelector('button[data-i]');
      if (first instanceof HTMLButtonElement) first.click();
    }
  });
  $('lang').addEventListener('click', () => {
    setLang(getLang() === 'zh' ? 'en' : 'zh');
    state.lang = getLang();
    translateDom();
    document.title = t('title');
    renderLayerList();
    renderFilterOptions();
    if (state.selection) showPanel(state.selection.kind, state.selection.id, state.detail);
    relabelRegrid();
    saveUrl();
  });
  // On a phone the layers and filters open from their own button.
  $('side-toggle').addEventListener('click', () => {
    const open = $('side').classList.toggle('open');
    $('side-toggle').setAttribute('aria-expanded', String(open));
  });
  $('share').addEventListener('click', async () => {
    writeUrlState(m, state);
    try {
      await navigator.clipboard.writeText(location.href);
      $('share').textContent = t('copied');
      setTimeout(() => ($('share').textContent = t('shareView')), 1500);
    } catch (_) {
      /* clipboard refused (not a secure context): the address bar holds the link */
    }
  });

  m.on('click', (e) => {
    if (handleCompareClick(e)) return;
    const hit = pick(m, e.point);
    if (!hit) {
      closePanel();
      return;
    }
    showPanel(hit.kind, featureId(hit.kind, hit.feature), hit.feature.properties);
  });
  let hovered = null;
  m.on('mousemove', (e) => {
    const hit = pick(m, e.point);
    m.getCanvas().style.cursor = hit ? 'pointer' : '';
    const next = hit && hit.kind === 'grid' && hit.feature.id != null ? { id: hit.feature.id, sourceLayer: hit.feature.sourceLayer } : null;
    if ((next?.id) === (hovered?.id)) return;
    if (hovered) m.setFeatureState({ source: 'grids', ...hovered }, { hover: false });
    hovered = next;
    if (hovered) m.setFeatureState({ source: 'grids', ...hovered }, { hover: true });
  });
  m.on('moveend', saveUrl);
  initRegrid({ map: m, style: pristine, layers: () => state.layers });

  // Restore a shared selection.
  const sel = url.sel ? url.sel.split(':') : url.grid ? ['grid', url.grid] : null;
  if (sel && sel.length >= 2) {
    const [kind, ...rest] = sel;
    const id = rest.join(':');
    showPanel(kind, id);
    if (kind === 'grid' && !url.center) {
      try {
        const g = await api(`/api/v1/grids/${encodeURIComponent(id)}`);
        if (Array.isArray(g.bbox)) m.fitBounds([[g.bbox[0], g.bbox[1]], [g.bbox[2], g.bbox[3]]], { padding: 60, animate: false });
      } catch (e) {
        console.warn(e.message);
      }
    }
  }
  saveUrl();
}

main().catch((e) => {
  console.error('viewer failed to start:', e);
  document.body.dataset.failed = String(e?.message);
});
