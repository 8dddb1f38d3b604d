// The map viewer (`/`): layers with toggles and legend, event filters driving the
// event/heatmap tiles, detail panels on click, search, shareable URL state.

import { t, setLang, getLang, translateDom, vocab, vocabValues, categoryName, GROUPS, CATEGORIES } from './i18n.js';
import {
  api, buildStyle, createMap, applyLayers, applyFilters, highlightGrid, pick, readUrlState,
  writeUrlState, townExtent, onFirstIdle, esc, COLORS, TOGGLE_ORDER, DEFAULT_LAYERS, FILTER_KEYS, maplibregl, logout,
} from './mapcore.js';
import { gridPanel, buildingPanel, eventPanel, eventGroupPanel, placePanel } from './panels.js';
import { initRegrid, handleCompareClick, relabelRegrid } from './regrid.js';

const DAY = 86400e3;
const url = readUrlState();
setLang(url.lang);

/** Everything the page shows; exposed as `window.__wangge.state` for tests. */
const state = {
  layers: url.layers || new Set(DEFAULT_LAYERS),
  filters: { ...url.filters },
  selection: null,
  lang: getLang(),
  detail: null,
};
window.__wangge = { map: null, compare: null, state, style: null, baseIds: [], firstRenderMs: null };

const $ = (id) => document.getElementById(id);

// Who is signed in (the server wrote it into the page) and log-out.
$('who').textContent = document.querySelector('meta[name="wangge-user"]')?.content || '';
$('logout').addEventListener('click', () => logout());
// Leaders administer accounts (the server refuses everyone else anyway).
$('admin-link').hidden = document.querySelector('meta[name="wangge-role"]')?.content !== 'leader';

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
function swatch(key) {
  if (key === 'base') return '<i class="sw" style="background:#e8e4dc"></i>';
  if (key === 'hex' || key === 'heatmap') return `<i class="sw" style="background:linear-gradient(90deg,${COLORS.hex.join(',')})"></i>`;
  const c = COLORS[key] || '#999';
  const round = key.startsWith('places') || key === 'events' || key === 'overdue';
  return `<i class="sw${round ? ' dot' : ''}" style="background:${c}"></i>`;
}
function renderLayerList() {
  $('layer-list').innerHTML = TOGGLE_ORDER.map((k) => `<li><label><input type="checkbox" data-layer="${k}"${state.layers.has(k) ? ' checked' : ''}>${swatch(k)}<span>${esc(t(k))}</span></label></li>`).join('');
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
  applyFilters(window.__wangge.map, state.filters);
  saveUrl();
}

// ---- panels ----
async function showPanel(kind, id, fallbackProps) {
  const map = window.__wangge.map;
  state.selection = { kind, id: String(id) };
  highlightGrid(map, kind === 'grid' ? String(id) : '');
  saveUrl();
  const panel = $('panel');
  const body = $('panel-body');
  panel.hidden = false;
  panel.dataset.kind = kind;
  panel.dataset.state = 'loading';
  body.innerHTML = '<p class="muted">…</p>';
  try {
    let html;
    let detail;
    if (kind === 'grid') html = gridPanel((detail = await api(`/api/v1/grids/${encodeURIComponent(id)}`)));
    else if (kind === 'building') html = buildingPanel((detail = await api(`/api/v1/buildings/${encodeURIComponent(id)}`)));
    else if (kind === 'event' && fallbackProps && fallbackProps.count != null) html = eventGroupPanel((detail = fallbackProps));
    else if (kind === 'event') html = eventPanel((detail = await api(`/api/v1/events/${encodeURIComponent(id)}`)));
    else if (kind === 'place') html = placePanel((detail = fallbackProps || { id }));
    else html = `<h2><small>${esc(t(kind === 'community' ? 'communities' : 'compounds'))}</small>${esc((fallbackProps && fallbackProps.name) || id)}</h2>`;
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
  highlightGrid(window.__wangge.map, '');
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
      const b = ev.target.closest('button[data-i]');
      if (!b) return;
      goTo(items[Number(b.dataset.i)]);
      list.hidden = true;
    };
  } catch (e) {
    console.warn(e.message);
  }
}
function goTo(r) {
  const map = window.__wangge.map;
  if (Array.isArray(r.bbox) && r.bbox.length === 4) map.fitBounds([[r.bbox[0], r.bbox[1]], [r.bbox[2], r.bbox[3]]], { padding: 60, maxZoom: 18 });
  else if (Array.isArray(r.center)) map.flyTo({ center: r.center, zoom: Math.max(map.getZoom(), 16) });
  if (r.type === 'grid' && r.code) showPanel('grid', r.code);
  else if (r.type === 'building' && r.id != null) showPanel('building', r.id);
}

// ---- URL state ----
let urlTimer = 0;
function saveUrl() {
  clearTimeout(urlTimer);
  urlTimer = setTimeout(() => window.__wangge.map && writeUrlState(window.__wangge.map, state), 150);
}

async function main() {
  translateDom();
  document.title = t('title');
  renderLayerList();
  renderFilterOptions();
  const [built, extent] = await Promise.all([buildStyle({ lang: getLang(), filters: state.filters }), townExtent()]);
  // A pristine copy for the proposal side of the re-gridding comparison.
  window.__wangge.style = structuredClone(built.style);
  const map = await createMap('map', { style: built.style, state: url, extent, padding: { top: 70, bottom: 30, left: 280, right: 30 } });
  window.__wangge.map = map;
  window.__wangge.baseIds = built.baseIds;
  map.addControl(new maplibregl.NavigationControl({ visualizePitch: true }), 'bottom-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
  applyLayers(map, state.layers, built.baseIds);
  if (state.layers.has('buildings3d') && url.pitch === undefined) map.setPitch(50);
  onFirstIdle(map, (ms) => {
    window.__wangge.firstRenderMs = ms;
    console.info('first-render-ms', ms);
    document.body.dataset.ready = '1';
  });

  $('layer-list').addEventListener('change', (ev) => {
    const k = ev.target.dataset.layer;
    if (!k) return;
    if (ev.target.checked) state.layers.add(k);
    else state.layers.delete(k);
    if (k === 'buildings3d' && ev.target.checked && map.getPitch() < 20) map.easeTo({ pitch: 50 });
    applyLayers(map, state.layers, built.baseIds);
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
  $('f-category').addEventListener('change', (e) => setFilters({ category: e.target.value }));
  $('f-status').addEventListener('change', (e) => setFilters({ status: e.target.value }));
  $('f-source').addEventListener('change', (e) => setFilters({ source: e.target.value }));
  $('f-reset').addEventListener('click', () => setFilters({ from: '', to: '', category: '', status: '', source: '' }));
  $('panel-close').addEventListener('click', closePanel);
  let searchTimer = 0;
  $('search').addEventListener('input', (e) => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => runSearch(e.target.value), 250);
  });
  $('search').addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      const first = $('search-results').querySelector('button[data-i]');
      if (first) first.click();
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
  $('share').addEventListener('click', async () => {
    writeUrlState(map, state);
    try {
      await navigator.clipboard.writeText(location.href);
      $('share').textContent = t('copied');
      setTimeout(() => ($('share').textContent = t('shareView')), 1500);
    } catch (_) {
      /* clipboard refused (not a secure context): the address bar holds the link */
    }
  });

  map.on('click', (e) => {
    if (handleCompareClick(e)) return;
    const hit = pick(map, e.point);
    if (!hit) {
      closePanel();
      return;
    }
    showPanel(hit.kind, featureId(hit.kind, hit.feature), hit.feature.properties);
  });
  let hovered = null;
  map.on('mousemove', (e) => {
    const hit = pick(map, e.point);
    map.getCanvas().style.cursor = hit ? 'pointer' : '';
    const next = hit && hit.kind === 'grid' && hit.feature.id != null ? { id: hit.feature.id, sourceLayer: hit.feature.sourceLayer } : null;
    if ((next && next.id) === (hovered && hovered.id)) return;
    if (hovered) map.setFeatureState({ source: 'wg-grids', ...hovered }, { hover: false });
    hovered = next;
    if (hovered) map.setFeatureState({ source: 'wg-grids', ...hovered }, { hover: true });
  });
  map.on('moveend', saveUrl);
  initRegrid();

  // Restore a shared selection.
  const sel = url.sel ? url.sel.split(':') : url.grid ? ['grid', url.grid] : null;
  if (sel && sel.length >= 2) {
    const [kind, ...rest] = sel;
    const id = rest.join(':');
    showPanel(kind, id);
    if (kind === 'grid' && !url.center) {
      try {
        const g = await api(`/api/v1/grids/${encodeURIComponent(id)}`);
        if (Array.isArray(g.bbox)) map.fitBounds([[g.bbox[0], g.bbox[1]], [g.bbox[2], g.bbox[3]]], { padding: 60, animate: false });
      } catch (e) {
        console.warn(e.message);
      }
    }
  }
  saveUrl();
}

main().catch((e) => {
  console.error('viewer failed to start:', e);
  document.body.dataset.failed = String(e && e.message);
});
