// @ts-check
// Re-gridding in the viewer (issue 6). A planner or leader picks the level,
// community, household bounds and mode, starts a job (`POST /api/v1/regrid`),
// follows its progress (`GET /api/v1/regrid/{job}`), compares today's grids
// with the proposal on a swipe map (left of the divider today, right the
// proposal, both coloured by households against the bounds), reads the report
// and adopts the proposal (`POST /api/v1/regrid/{job}/adopt`), which makes a
// new version of the grids; the grid tiles are then reloaded. While a job runs
// the Cancel button stops it (`POST /api/v1/regrid/{job}/cancel`); a failed or
// cancelled job's reason (the server's time budget, who cancelled it, a
// restart) is shown under the progress.
//
// The server tells the page the caller's role (`<meta name="wangge-role">`);
// the panel is offered to the roles the access matrix lets re-grid (REGRID_ROLES
// of the generated vocab.js), and the API checks again. The panel (`#regrid`)
// carries the job's state: `data-job`, `data-status`, `data-progress` and
// `data-comparing`.

import { t, getLang } from './i18n.js';
import { api, send, applyLayers, createMap, esc, maplibregl } from './mapcore.js';
import { REGRID_ROLES } from './vocab.js';

/** Fill colours of a grid by load: fewer than min, within, more than max households. */
export const LOAD_COLORS = { under: '#2f7fd8', ok: '#2da44e', over: '#d1242f' };
/** Default bounds per level (households per grid). */
const DEFAULT_BOUNDS = { micro: [30, 80], comprehensive: [300, 500] };
const POLL_MS = 400;
/** Layers kept under the comparison (grids come from the two GeoJSON sides). */
const COMPARE_LAYERS = new Set(['base', 'communities', 'buildings']);
/** Width reserved on the right for the panel, in CSS pixels. */
const PANEL_W = 420;

const $ = /** @type {(id: string) => HTMLElement & HTMLInputElement & HTMLSelectElement} */ ((id) => /** @type {any} */ (document.getElementById(id)));

/**
 * The viewer's map and what the comparison needs of it.
 *
 * @typedef {object} Host
 * @property {import('./mapcore.js').MaplibreMap} map
 * @property {import('./mapcore.js').StyleSpecification} style a pristine copy of the style
 * @property {() => Set<string>} layers the viewer's layer toggles
 */
/** @type {Host | null} */
let host = null;
/** The version of the grids the map shows, once known. @type {number | string | null} */
let gridVersion = null;

/** Everything the re-gridding panel holds. @type {any} */
const rg = {
  open: false,
  communities: [],
  request: null,
  job: null,
  status: null,
  progress: 0,
  result: null,
  error: null,
  comparing: false,
  compare: null,
  pos: 0.5,
  today: null,
  selected: null,
  adopted: null,
  versions: null,
  startedAt: 0,
};

/** The caller's role as the server put it into the page. */
export function pageRole() {
  const m = document.querySelector('meta[name="wangge-role"]');
  return (m?.getAttribute('content')) || 'screen';
}

/** True when the caller may re-grid (the API says the same). */
export function regridAllowed() {
  return REGRID_ROLES.includes(pageRole());
}

const nf = () => (getLang() === 'en' ? 'en' : 'zh-CN');
const int = (v) => (v == null || Number.isNaN(Number(v)) ? '—' : Number(v).toLocaleString(nf(), { maximumFractionDigits: 0 }));
const dec = (v, d) => (v == null || Number.isNaN(Number(v)) ? '—' : Number(v).toFixed(d));
const mean = (xs) => {
  const v = xs.map(Number).filter(Number.isFinite);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
};
const loadOf = (hh, min, max) => (hh < min ? 'under' : hh > max ? 'over' : 'ok');

function fontOf(style) {
  for (const l of style.layers || []) {
    const f = l.layout?.['text-font'];
    if (Array.isArray(f) && f.every((x) => typeof x === 'string')) return f;
  }
  return ['Noto Sans Regular'];
}

function bboxOfFeatures(features) {
  let w = Infinity;
  let s = Infinity;
  let e = -Infinity;
  let n = -Infinity;
  const walk = (c) => {
    if (typeof c[0] === 'number') {
      w = Math.min(w, c[0]);
      e = Math.max(e, c[0]);
      s = Math.min(s, c[1]);
      n = Math.max(n, c[1]);
    } else c.forEach(walk);
  };
  for (const f of features) if (f.geometry) walk(f.geometry.coordinates);
  return Number.isFinite(w) ? [w, s, e, n] : null;
}

// ---------------------------------------------------------------- the form
function fillCommunities() {
  const sel = $('rg-community');
  const keep = sel.value;
  sel.innerHTML = [`<option value="">${esc(t('rgWholeTown'))}</option>`,
    ...rg.communities.map((c) => `<option value="${esc(c.code)}" data-id="${esc(c.id)}">${esc(c.name)}（${esc(c.code)}）</option>`)].join('');
  sel.value = keep && rg.communities.some((c) => c.code === keep) ? keep : rg.communities.length ? rg.communities[0].code : '';
}

async function loadCommunities() {
  if (rg.communities.length) return;
  try {
    const fc = await api('/api/v1/communities?limit=10000');
    rg.communities = (fc.features || []).map((f) => ({ id: f.properties.id, code: String(f.properties.code), name: f.properties.name, geometry: f.geometry }))
      .sort((a, b) => a.code.localeCompare(b.code));
  } catch (e) {
    console.warn('communities:', e.message);
  }
  fillCommunities();
}

function setBoundsForLevel(level) {
  const [a, b] = DEFAULT_BOUNDS[level] || DEFAULT_BOUNDS.micro;
  $('rg-min').value = String(a);
  $('rg-max').value = String(b);
}

function readForm() {
  const level = $('rg-level').value;
  const min = Number($('rg-min').value);
  const max = Number($('rg-max').value);
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max < min) throw new Error(t('rgBadBounds'));
  let mode = $('rg-mode').value;
  if (mode === 'count') {
    const n = Number($('rg-count').value);
    if (!Number.isInteger(n) || n < 1) throw new Error(t('rgBadCount'));
    mode = `count:${n}`;
  }
  const seed = Number($('rg-seed').value || 1);
  if (!Number.isInteger(seed) || seed < 0) throw new Error(t('rgBadSeed'));
  const code = $('rg-community').value;
  const req = { level, min, max, mode, seed };
  if (code) req.community = code;
  if ($('rg-floors').checked) req.allow_floor_split = true;
  return req;
}

// ---------------------------------------------------------------- the job
async function start(ev) {
  ev.preventDefault();
  let req;
  try {
    req = readForm();
  } catch (e) {
    showError(e.message);
    return;
  }
  showError('');
  stopCompare();
  rg.request = req;
  rg.result = null;
  rg.adopted = null;
  rg.selected = null;
  rg.status = 'starting';
  rg.progress = 0;
  rg.startedAt = Date.now();
  $('rg-result').hidden = true;
  $('rg-adopt').hidden = true;
  $('rg-adopt-msg').textContent = '';
  $('rg-start').disabled = true;
  renderProgress();
  try {
    const res = await api('/api/v1/regrid', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(req) });
    rg.job = String(res.job);
    rg.status = 'running';
    renderProgress();
    await poll(rg.job);
  } catch (e) {
    if (rg.status !== 'cancelled') rg.status = 'failed';
    showError(e.message);
  } finally {
    $('rg-start').disabled = false;
    renderProgress();
  }
}

/** Stops the running job; the poll then sees it `cancelled` and shows why. */
async function cancelJob() {
  const job = rg.job;
  if (!job) return;
  $('rg-cancel').disabled = true;
  try {
    const res = await send(`/api/v1/regrid/${encodeURIComponent(job)}/cancel`, { method: 'POST', body: '{}' });
    let body = null;
    try {
      body = await res.json();
    } catch (_) {
      /* not JSON */
    }
    if (!res.ok) {
      // 409 not_running: it ended meanwhile; the poll shows how.
      if (res.status !== 409) showError(body?.error ? body.error.message || body.error.code : `${res.status} ${res.statusText}`);
      return;
    }
    if (rg.job === job && body) {
      rg.status = body.status;
      renderProgress();
    }
  } catch (e) {
    showError(e.message);
  } finally {
    $('rg-cancel').disabled = false;
  }
}

async function poll(job) {
  for (;;) {
    const v = await api(`/api/v1/regrid/${encodeURIComponent(job)}`);
    if (rg.job !== job) return;
    rg.progress = Number(v.progress) || 0;
    rg.status = v.status;
    renderProgress();
    if (v.status === 'done') {
      rg.result = v.result;
      renderResult();
      await startCompare();
      return;
    }
    if (v.status === 'failed') throw new Error(`${t('rgFailed')}: ${v.error || ''}`);
    if (v.status === 'cancelled') throw new Error(`${t('rgCancelled')}: ${v.error || ''}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function renderProgress() {
  publish();
  const box = $('rg-progress');
  box.hidden = !rg.status;
  const bar = box.querySelector('progress');
  if (bar) bar.value = rg.progress;
  const secs = rg.startedAt ? ((Date.now() - rg.startedAt) / 1000).toFixed(1) : '0';
  const label = rg.status === 'done' ? t('rgDone') : rg.status === 'failed' ? t('rgFailed') : rg.status === 'cancelled' ? t('rgCancelled') : t('rgRunning');
  $('rg-cancel').hidden = !(rg.job && rg.status === 'running');
  $('rg-progress-text').textContent = `${label} ${Math.round(rg.progress * 100)}% · ${secs} ${t('seconds')}${rg.job ? ` · ${t('rgJob')} ${rg.job}` : ''}`;
  box.dataset.status = rg.status || '';
}

function showError(msg) {
  $('rg-error').textContent = msg;
  $('rg-error').hidden = !msg;
}

// ---------------------------------------------------------------- the report
/** The figures the panel shows, from the job's result (the test compares them with the JSON). */
export function figures(result, req) {
  const r = result.report || {};
  const feats = (result.geojson?.features) || [];
  const before = r.before || {};
  const after = r.after || {};
  const diags = r.diagnostics || [];
  // Units above max kept whole and parts that cannot meet the bounds make grids
  // outside them by necessity; everything else must be within.
  const keptWhole = diags.filter((d) => d.kind === 'oversized_unit' && !(Number(d.split_into) > 1)).length;
  const infeasible = diags.filter((d) => d.kind === 'infeasible').length;
  return {
    keptWhole,
    infeasible,
    grids: feats.length,
    before,
    after,
    beforeViolations: (Number(before.over) || 0) + (Number(before.under) || 0),
    violations: Number(r.violations),
    feasible: !keptWhole && !infeasible,
    moved: r.households_moved,
    ari: r.adjusted_rand_index,
    pp: mean(feats.map((f) => f.properties.polsby_popper)),
    chr: mean(feats.map((f) => f.properties.convex_hull_ratio)),
    cutEdges: r.cut_edges,
    compoundsSplit: r.compounds_split,
    runtimeMs: r.runtime_ms,
    seed: r.seed,
    diags,
    min: req.min,
    max: req.max,
  };
}

function diagText(d) {
  return `<li class="diag-${esc(d.kind)}"><b>${esc(t(`diag_${d.kind}`))}</b>${d.message ? ` — ${esc(d.message)}` : ''}</li>`;
}

function renderResult() {
  const box = $('rg-result');
  if (!rg.result) {
    box.hidden = true;
    return;
  }
  const f = figures(rg.result, rg.request);
  const feats = rg.result.geojson.features || [];
  const fill = (k, o) => Object.entries(o).reduce((a, [x, v]) => a.replace(`{${x}}`, v), t(k));
  let verdict;
  if (f.feasible && f.violations === 0) {
    verdict = `<div class="verdict ok" data-field="verdict" data-feasible="1">✓ ${esc(t('rgFeasible'))}：${esc(fill('rgAllWithin', { n: int(f.grids), min: f.min, max: f.max }))}</div>`;
  } else if (f.feasible) {
    verdict = `<div class="verdict warn" data-field="verdict" data-feasible="1">⚠ ${esc(fill('rgViolationsLeft', { n: int(f.violations) }))}</div>`;
  } else {
    const why = [];
    if (f.keptWhole) why.push(fill('rgKeptWhole', { n: int(f.keptWhole), max: f.max }));
    if (f.infeasible) why.push(fill('rgInfeasibleParts', { n: int(f.infeasible) }));
    const rest = fill('rgRestWithin', { n: int(f.grids - f.violations), min: f.min, max: f.max });
    verdict = `<div class="verdict warn" data-field="verdict" data-feasible="0">⚠ ${why.map(esc).join('；')}。${esc(rest)}${f.keptWhole ? `<br><small>${esc(t('rgTryFloors'))}</small>` : ''}</div>`;
  }
  const cell = (v, field, bad) => `<td data-field="${field}"${bad ? ' class="bad"' : ''}>${int(v)}</td>`;
  const rows = [...feats].sort((a, b) => String(a.properties.code_hint).localeCompare(String(b.properties.code_hint)))
    .map((x) => {
      const p = x.properties;
      const load = loadOf(Number(p.households), f.min, f.max);
      return `<tr data-code="${esc(p.code_hint)}" class="load-${load}${rg.selected === p.code_hint ? ' sel' : ''}"><td>${esc(p.code_hint)}${p.floor_part ? ` <small>${esc(p.floor_part)}</small>` : ''}</td><td data-field="hh">${int(p.households)}</td><td>${int(p.residents)}</td><td>${dec(p.workload, 1)}</td><td>${dec(p.polsby_popper, 2)}</td></tr>`;
    }).join('');
  box.innerHTML = `${verdict}
  <table class="kv cmp">
    <thead><tr><th></th><th>${esc(t('rgToday'))}</th><th>${esc(t('rgProposal'))}</th></tr></thead>
    <tbody>
      <tr><th>${esc(t('rgGrids'))}</th>${cell(f.before.grids, 'before-grids')}${cell(f.after.grids, 'after-grids')}</tr>
      <tr><th>${esc(t('rgOver').replace('{max}', f.max))}</th>${cell(f.before.over, 'before-over', f.before.over > 0)}${cell(f.after.over, 'after-over', f.after.over > 0)}</tr>
      <tr><th>${esc(t('rgUnder').replace('{min}', f.min))}</th>${cell(f.before.under, 'before-under', f.before.under > 0)}${cell(f.after.under, 'after-under', f.after.under > 0)}</tr>
      <tr class="total"><th>${esc(t('rgViolations'))}</th>${cell(f.beforeViolations, 'before-violations', f.beforeViolations > 0)}${cell(f.violations, 'violations', f.violations > 0)}</tr>
    </tbody>
  </table>
  <table class="kv">
    <tr><th>${esc(t('rgMoved'))}</th><td data-field="households_moved">${int(f.moved)}</td></tr>
    <tr><th title="Adjusted Rand Index">${esc(t('rgAri'))}</th><td data-field="ari">${dec(f.ari, 3)}</td></tr>
    <tr><th>${esc(t('rgPolsby'))}</th><td data-field="polsby_popper">${dec(f.pp, 2)}</td></tr>
    <tr><th>${esc(t('rgHull'))}</th><td data-field="convex_hull_ratio">${dec(f.chr, 2)}</td></tr>
    <tr><th>${esc(t('rgCutEdges'))}</th><td data-field="cut_edges">${int(f.cutEdges)}</td></tr>
    <tr><th>${esc(t('rgCompoundsSplit'))}</th><td data-field="compounds_split">${int(f.compoundsSplit)}</td></tr>
    <tr><th>${esc(t('rgRuntime'))}</th><td data-field="runtime">${dec(Number(f.runtimeMs) / 1000, Number(f.runtimeMs) < 1000 ? 3 : 1)} ${esc(t('seconds'))} · ${esc(t('rgSeed'))} ${esc(f.seed)}</td></tr>
  </table>
  <div class="load-legend"><span><i style="background:${LOAD_COLORS.under}"></i>${esc(t('rgLoadUnder'))}</span><span><i style="background:${LOAD_COLORS.ok}"></i>${esc(t('rgLoadOk'))}</span><span><i style="background:${LOAD_COLORS.over}"></i>${esc(t('rgLoadOver'))}</span></div>
  <h3>${esc(t('rgProposedGrids'))} <small class="muted">(${int(feats.length)})</small></h3>
  <div class="grid-list-box"><table class="grid-list"><thead><tr><th>${esc(t('code'))}</th><th>${esc(t('households'))}</th><th>${esc(t('residents'))}</th><th>${esc(t('rgWorkload'))}</th><th title="Polsby–Popper">${esc(t('rgCompact'))}</th></tr></thead><tbody>${rows}</tbody></table></div>
  ${f.diags.length ? `<h3>${esc(t('rgDiagnostics'))} <small class="muted">(${int(f.diags.length)})</small></h3><ul class="diag">${f.diags.slice(0, 50).map(diagText).join('')}</ul>` : ''}`;
  box.hidden = false;
  box.querySelector('.grid-list tbody')?.addEventListener('click', (e) => {
    const tr = e.target instanceof Element ? e.target.closest('tr[data-code]') : null;
    if (tr instanceof HTMLElement && tr.dataset.code) selectProposed(tr.dataset.code, true);
  });
  $('rg-adopt').hidden = false;
  adoptForm().hidden = !!rg.adopted;
}

// ---------------------------------------------------------------- the comparison
function withLoad(f, min, max, label) {
  const hh = Number(f.properties.households) || 0;
  return { type: 'Feature', id: undefined, geometry: f.geometry, properties: { ...f.properties, label, households: hh, load: loadOf(hh, min, max) } };
}

function addSide(map, id, fc, style) {
  if (map.getSource(id)) {
    map.getSource(id).setData(fc);
    return;
  }
  map.addSource(id, { type: 'geojson', data: fc });
  const color = ['match', ['get', 'load'], 'under', LOAD_COLORS.under, 'over', LOAD_COLORS.over, LOAD_COLORS.ok];
  map.addLayer({ id: `${id}-fill`, type: 'fill', source: id, paint: { 'fill-color': color, 'fill-opacity': 0.28 } });
  map.addLayer({ id: `${id}-line`, type: 'line', source: id, paint: { 'line-color': '#1f2328', 'line-width': 1.4, 'line-opacity': 0.8 } });
  map.addLayer({ id: `${id}-sel`, type: 'line', source: id, filter: ['==', ['get', 'label'], ''], paint: { 'line-color': '#ffd400', 'line-width': 4 } });
  if (style.glyphs) {
    map.addLayer({ id: `${id}-label`, type: 'symbol', source: id, layout: {
      'text-field': ['format', ['get', 'label'], { 'font-scale': 0.8 }, '\n', {}, ['to-string', ['get', 'households']], { 'font-scale': 1.15 }],
      'text-font': fontOf(style), 'text-size': 13, 'text-allow-overlap': false, 'text-padding': 1,
    }, paint: { 'text-color': ['match', ['get', 'load'], 'under', '#124a8c', 'over', '#8f1119', '#14532d'], 'text-halo-color': '#ffffff', 'text-halo-width': 1.6 } });
  }
}

// The base map's name points label today's grids too: while comparing, keep
// community and compound names only, so each side shows its own grids' labels.
const BASE_LABEL_FILTER = ['match', ['get', 'kind'], ['community', 'compound'], true, false];
function baseLabels(map, comparing) {
  if (!map?.getLayer('labels')) return;
  if (comparing) {
    if (rg.labelFilter === undefined) rg.labelFilter = map.getFilter('labels') || null;
    map.setFilter('labels', BASE_LABEL_FILTER);
  } else map.setFilter('labels', rg.labelFilter === undefined ? null : rg.labelFilter);
}

function removeSide(map, id) {
  if (!map) return;
  for (const l of ['label', 'sel', 'line', 'fill']) if (map.getLayer(`${id}-${l}`)) map.removeLayer(`${id}-${l}`);
  if (map.getSource(id)) map.removeSource(id);
}

/** The viewer's side (the panel only opens after the viewer made its map). */
function theHost() {
  if (!host) throw new Error('re-gridding: initRegrid() was not called');
  return host;
}

/** The viewer's map. */
function hostMap() {
  return theHost().map;
}

/** The note and button of the adoption. */
function adoptForm() {
  return /** @type {HTMLElement} */ ($('rg-adopt').querySelector('.adopt-form'));
}

/** Writes the job's state onto the panel. */
function publish() {
  const el = $('regrid');
  el.dataset.job = rg.job ?? '';
  el.dataset.status = rg.status ?? '';
  el.dataset.progress = String(rg.progress ?? 0);
  el.dataset.comparing = rg.comparing ? '1' : '0';
}

function syncCompare() {
  const m = hostMap();
  if (!rg.compare) return;
  rg.compare.jumpTo({ center: m.getCenter(), zoom: m.getZoom(), bearing: m.getBearing(), pitch: m.getPitch() });
}

function setSwipe(pos) {
  rg.pos = Math.max(0.02, Math.min(0.98, pos));
  const w = hostMap().getCanvas().clientWidth || window.innerWidth;
  const x = Math.round(w * rg.pos);
  $('map-compare').style.clipPath = `inset(0 0 0 ${x}px)`;
  $('swipe').style.left = `${x}px`;
}

/** Screen x of the divider (CSS pixels from the map's left edge). */
export function swipeX() {
  const w = hostMap().getCanvas().clientWidth || window.innerWidth;
  return Math.round(w * rg.pos);
}

async function todayGrids(req) {
  const fc = await api(`/api/v1/grids?kind=${encodeURIComponent(req.level)}&limit=10000`);
  const comm = req.community ? rg.communities.find((c) => c.code === req.community) : null;
  const feats = (fc.features || []).filter((f) => !comm || String(f.properties.community) === String(comm.id));
  return { type: 'FeatureCollection', features: feats.map((f) => withLoad(f, req.min, req.max, String(f.properties.code))) };
}

async function startCompare() {
  const { map, style } = theHost();
  const req = rg.request;
  rg.today = await todayGrids(req);
  const proposal = { type: 'FeatureCollection', features: (rg.result.geojson.features || []).map((f) => withLoad(f, req.min, req.max, String(f.properties.code_hint))) };
  applyLayers(map, COMPARE_LAYERS);
  addSide(map, 'rg-today', rg.today, style);
  baseLabels(map, true);
  document.body.classList.add('comparing');
  const el = $('map-compare');
  el.hidden = false;
  if (!rg.compare) {
    const c = map.getCenter();
    rg.compare = await createMap('map-compare', {
      style: structuredClone(style),
      state: { center: [c.lng, c.lat], zoom: map.getZoom(), bearing: map.getBearing(), pitch: map.getPitch() },
      interactive: false,
    });
    map.on('move', syncCompare);
  }
  applyLayers(rg.compare, COMPARE_LAYERS);
  if (rg.compare.getLayer('labels')) rg.compare.setFilter('labels', BASE_LABEL_FILTER);
  addSide(rg.compare, 'rg-proposal', proposal, style);
  $('swipe').hidden = false;
  rg.comparing = true;
  publish();
  const b = bboxOfFeatures(proposal.features.length ? proposal.features : rg.today.features);
  if (b) map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: { top: 70, bottom: 40, left: 40, right: PANEL_W + 30 }, animate: false });
  const w = map.getCanvas().clientWidth || window.innerWidth;
  setSwipe((w - PANEL_W) / 2 / w);
  syncCompare();
  rg.compare.resize();
}

/** Leaves the comparison: the viewer's own layers come back. */
export function stopCompare() {
  if (!host) return;
  const map = host.map;
  removeSide(map, 'rg-today');
  if (rg.comparing) baseLabels(map, false);
  if (rg.compare) {
    map.off('move', syncCompare);
    rg.compare.remove();
    rg.compare = null;
  }
  $('map-compare').hidden = true;
  $('swipe').hidden = true;
  document.body.classList.remove('comparing');
  if (rg.comparing) applyLayers(map, host.layers());
  rg.comparing = false;
  publish();
}

function selectProposed(code, fly) {
  rg.selected = code;
  for (const tr of document.querySelectorAll('#rg-result tr[data-code]')) tr.classList.toggle('sel', tr.getAttribute('data-code') === code);
  const row = document.querySelector(`#rg-result tr[data-code="${CSS.escape(code)}"]`);
  if (row) row.scrollIntoView({ block: 'nearest' });
  if (rg.compare?.getLayer('rg-proposal-sel')) rg.compare.setFilter('rg-proposal-sel', ['==', ['get', 'label'], code]);
  if (fly && rg.result) {
    const f = rg.result.geojson.features.find((x) => String(x.properties.code_hint) === code);
    const b = f && bboxOfFeatures([f]);
    if (b) {
      const map = hostMap();
      map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: { top: 120, bottom: 120, left: 120, right: PANEL_W + 120 }, maxZoom: 18 });
      // Put the divider left of the grid, so the proposal shows it.
      map.once('moveend', () => {
        const q = map.project([b[0], (b[1] + b[3]) / 2]);
        const w = map.getCanvas().clientWidth;
        if (q.x < swipeX()) setSwipe(Math.max(0.05, (q.x - 20) / w));
      });
    }
  }
}

/** Click on the map while comparing: picks a grid of the side clicked. Returns true when handled. */
export function handleCompareClick(e) {
  if (!rg.comparing) return false;
  if (e.point.x >= swipeX() && rg.compare) {
    const fs = rg.compare.queryRenderedFeatures(e.point, { layers: ['rg-proposal-fill'] });
    if (fs.length) selectProposed(String(fs[0].properties.label), false);
  } else {
    const map = hostMap();
    const fs = map.queryRenderedFeatures(e.point, { layers: ['rg-today-fill'] });
    const code = fs.length ? String(fs[0].properties.label) : '';
    if (map.getLayer('rg-today-sel')) map.setFilter('rg-today-sel', ['==', ['get', 'label'], code]);
    $('rg-picked').textContent = code ? `${t('rgToday')} ${code}：${int(fs[0].properties.households)} ${t('householdsUnit')}` : '';
  }
  return true;
}

function initSwipe() {
  const bar = $('swipe');
  let dragging = false;
  const move = (ev) => {
    if (!dragging) return;
    const r = hostMap().getCanvas().getBoundingClientRect();
    setSwipe((ev.clientX - r.left) / r.width);
  };
  $('swipe-handle').addEventListener('pointerdown', (ev) => {
    dragging = true;
    ev.preventDefault();
    bar.classList.add('dragging');
  });
  window.addEventListener('pointermove', move);
  window.addEventListener('pointerup', () => {
    dragging = false;
    bar.classList.remove('dragging');
  });
  window.addEventListener('resize', () => {
    if (!rg.comparing) return;
    setSwipe(rg.pos);
    if (rg.compare) rg.compare.resize();
  });
  // Keyboard: the handle is focusable; arrows move the divider.
  $('swipe-handle').addEventListener('keydown', (ev) => {
    if (ev.key === 'ArrowLeft' || ev.key === 'ArrowRight') {
      setSwipe(rg.pos + (ev.key === 'ArrowLeft' ? -0.02 : 0.02));
      ev.preventDefault();
    }
  });
}

// ---------------------------------------------------------------- adopt and versions
/** Reloads the grid tiles (after the server made a new version of the grids). */
export function reloadGridTiles(version) {
  for (const map of [host?.map, rg.compare]) {
    const src = map?.getSource('grids');
    if (!(src instanceof maplibregl.VectorTileSource) || !Array.isArray(src.tiles)) continue;
    const base = src.tiles[0].replace(/([?&])v=[^&]*(&|$)/, '$1').replace(/[?&]$/, '');
    src.setTiles([`${base}${base.includes('?') ? '&' : '?'}v=${encodeURIComponent(version)}`]);
  }
  gridVersion = version;
  showVersionBadge();
}

function showVersionBadge() {
  const b = $('grid-version');
  if (!b) return;
  const v = gridVersion;
  b.hidden = v == null;
  if (v != null) b.textContent = t('rgVersionN').replace('{n}', v);
}

function reassignedText(r) {
  if (r == null) return '';
  if (typeof r === 'number') return int(r);
  if (Array.isArray(r)) return int(r.length);
  const entries = Object.entries(r);
  if (entries.every(([, v]) => typeof v === 'number')) return entries.map(([k, v]) => {
    const l = t(`re_${k}`);
    return `${esc(l.startsWith('re_') ? k : l)} ${int(v)}`;
  }).join('、');
  return int(entries.length);
}

async function adopt() {
  const note = $('rg-note').value.trim();
  const msg = $('rg-adopt-msg');
  if (!note) {
    msg.className = 'bad';
    msg.textContent = t('rgNoteNeeded');
    $('rg-note').focus();
    return;
  }
  const job = rg.job;
  $('rg-adopt-btn').disabled = true;
  msg.className = 'muted';
  msg.textContent = '…';
  try {
    const res = await send(`/api/v1/regrid/${encodeURIComponent(job)}/adopt`, { method: 'POST', body: JSON.stringify({ note }) });
    let body = null;
    try {
      body = await res.json();
    } catch (_) {
      /* not JSON */
    }
    if (!res.ok) {
      const why = body?.error ? body.error.message || body.error.code : `${res.status} ${res.statusText}`;
      msg.className = 'bad';
      msg.textContent = `${res.status === 409 ? t('rgAdoptRefused') : t('rgAdoptFailed')}：${why}`;
      return;
    }
    rg.adopted = body;
    msg.className = 'ok';
    msg.innerHTML = `${esc(t('rgAdopted').replace('{n}', body.version))}<br>${esc(t('rgCreated'))} ${int((body.created || []).length)} · ${esc(t('rgRetired'))} ${int((body.retired || []).length)}${body.reassigned != null ? ` · ${esc(t('rgReassigned'))} ${reassignedText(body.reassigned)}` : ''}`;
    msg.dataset.version = String(body.version);
    adoptForm().hidden = true;
    stopCompare();
    reloadGridTiles(body.version);
    await loadVersions();
  } catch (e) {
    msg.className = 'bad';
    msg.textContent = `${t('rgAdoptFailed')}：${e.message}`;
  } finally {
    $('rg-adopt-btn').disabled = false;
  }
}

async function loadVersions() {
  const box = $('rg-versions');
  try {
    const v = await api('/api/v1/grids/versions');
    const list = Array.isArray(v) ? v : v.versions || [];
    rg.versions = list;
    const sorted = [...list].sort((a, b) => Number(b.version) - Number(a.version));
    const current = v.current ?? (sorted.length ? sorted[0].version : null);
    if (current != null && (gridVersion == null || Number(current) > Number(gridVersion))) {
      gridVersion = current;
      showVersionBadge();
    }
    // `created_at` is unix seconds.
    const when = (x) => {
      const d = typeof x === 'number' ? new Date(x * 1000) : x ? new Date(x) : null;
      return d && !Number.isNaN(d.getTime()) ? d.toLocaleString(getLang() === 'en' ? 'en-GB' : 'zh-CN', { hour12: false }) : '';
    };
    const counts = (x) => (Array.isArray(x.created) && x.created.length ? ` · ${esc(t('rgCreated'))} ${int(x.created.length)} · ${esc(t('rgRetired'))} ${int((x.retired || []).length)}` : '');
    box.innerHTML = `<h3>${esc(t('rgVersions'))}</h3><ol class="versions">${sorted.slice(0, 20).map((x) => `<li data-version="${esc(x.version)}"${Number(x.version) === Number(current) ? ' class="current"' : ''}><b>${esc(t('rgVersionN').replace('{n}', x.version))}</b> <time>${esc(when(x.created_at))}</time>${counts(x)}${x.note ? `<br>${esc(x.note)}` : ''}</li>`).join('') || '<li class="muted">—</li>'}</ol>`;
  } catch (e) {
    console.warn('versions:', e.message);
    box.innerHTML = '';
  }
}

// ---------------------------------------------------------------- open / close
export function openRegrid() {
  rg.open = true;
  $('regrid').hidden = false;
  document.body.classList.add('regrid-open');
  $('panel').hidden = true;
  loadCommunities();
  loadVersions();
}

export function closeRegrid() {
  rg.open = false;
  rg.job = null;
  stopCompare();
  publish();
  $('regrid').hidden = true;
  document.body.classList.remove('regrid-open');
}

/** Re-renders what depends on the language. */
export function relabelRegrid() {
  if (rg.communities.length) fillCommunities();
  renderResult();
  if (rg.status) renderProgress();
  showVersionBadge();
  if (rg.open) loadVersions();
}

/**
 * Wires the panel to the viewer's map; the button shows for the roles that may re-grid.
 *
 * @param {Host} h
 */
export function initRegrid(h) {
  host = h;
  const btn = $('regrid-open');
  btn.hidden = !regridAllowed();
  if (!regridAllowed()) return;
  btn.addEventListener('click', () => (rg.open ? closeRegrid() : openRegrid()));
  $('regrid-close').addEventListener('click', closeRegrid);
  $('rg-form').addEventListener('submit', start);
  $('rg-level').addEventListener('change', () => setBoundsForLevel($('rg-level').value));
  $('rg-mode').addEventListener('change', () => {
    $('rg-count-row').hidden = $('rg-mode').value !== 'count';
  });
  $('rg-adopt-btn').addEventListener('click', adopt);
  $('rg-cancel').addEventListener('click', cancelJob);
  setBoundsForLevel($('rg-level').value);
  initSwipe();
}
