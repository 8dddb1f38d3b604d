// @ts-check
// The leader's and planner's dashboard (`/dashboard`): indicators per
// community, comprehensive grid, micro-grid or (leaders only) grid worker over
// a chosen time window, as a ranking table and a choropleth on the map
// (`GET /api/v1/indicators`, the same rows; a worker's row colours the grid
// they serve; the download is the same request with `format=xlsx&rank=`, the
// table as shown), and the
// week's emerging hotspots (`GET /api/v1/hotspots`) with the events near each,
// and the 15-minute coverage of a service per comprehensive grid
// (`GET /api/v1/coverage?format=geojson`) with a what-if: a click on its map
// places a planned facility (`add=lon,lat;…`, never stored) and the page shows
// the covered share before and after; and the element lists as GeoParquet
// or Excel (`GET /api/v1/{kind}?format=geoparquet|xlsx`, scoped and masked).

import { setLang, getLang, categoryName } from './i18n.js';
import { api, buildStyle, createMap, esc, logout, send, townExtent, whoAmI } from './mapcore.js';
import { CATEGORIES, GROUPS, VOCAB } from './vocab.js';

/** Strings of this page (Chinese first). */
const TEXT = {
  zh: {
    heading: '治理指标', backToMap: '返回地图', logout: '退出', level: '层级', lvCommunity: '社区',
    lvGrid: '综合网格', lvMicro: '微网格', lvWorker: '网格员', from: '开始日期', to: '结束日期', indicator: '排名指标',
    download: '下载 Excel', ranking: '排名', area: '区域', events: '事件', per1000: '每千户',
    inGrid: '小事不出网格', handling: '处置时长(中位,时)', overdue: '超期', satisfaction: '满意率',
    mapTitle: '分级着色', hotspots: '新发热点', week: '周（任选一天）', category: '类别',
    allCategories: '全部类别', count: '本周', baseline: '基线', show: '查看事件', noData: '无数据',
    weekOf: '{0} 起的一周：{1} 个热点', noHotspots: '该周没有新发热点', eventsNear: '{0} · {1} 附近的事件（{2} 件）',
    lang: 'EN', window: '{0} 至 {1}',
    coverage: '15 分钟生活圈', service: '服务设施', minutes: '步行分钟', clearPlanned: '清除拟建设施',
    whatIfHint: '在地图上点击，放置一处拟建设施，看覆盖如何变化（不会保存）。',
    covSummary: '{0} 分钟内可步行到达{1}的住户：{2}（{3} 户在圈外；圈外独居老人 {4} 人）',
    covWhatIf: '加上 {0} 处拟建设施：{1}，{2}',
    covered: '覆盖率', planned: '拟建设施',
    keyPop: '重点人群', keyHouseholds: '户数', keyBeyond: '圈外户数', keyBeyondShare: '圈外占比',
    exportHeading: '导出要素清单', exportKind: '要素', dlParquet: '下载 GeoParquet',
    exportHint: '整份清单，按您的权限范围；个人信息已脱敏。',
    importHeading: '导入数据', importKind: '类型', importFile: '文件', importCrs: '坐标系',
    importDry: '试导入', importGo: '导入', importHint: '全部导入或全不导入；地图和大屏不必停。试导入只检查，不保存。',
    importNoFile: '请先选择文件', importSending: '正在上传并导入 {0}…',
    importDone: '已导入 {0}：{1} 个要素，写入 {2} 行，{3} 个有位置，{4} 个不在任何网格内（{5} 秒）',
    importDryDone: '试导入 {0}：可导入 {1} 个要素，{2} 个有位置，{3} 个不在任何网格内；未保存',
    importRefused: '未导入，数据未改动：{0}',
    osm: 'OpenStreetMap', sentiments: '民情',
    kinds: {
      communities: '社区', grids: '网格', compounds: '小区', buildings: '楼栋', units: '单元', places: '场所',
      organisations: '组织', roads: '道路', events: '事件', households: '住户', persons: '人口',
    },
    ind: {
      events_per_1000_households: '每千户事件数', closed_in_grid_share: '小事不出网格率',
      median_handling_h: '处置时长中位数（时）', overdue: '超期事件数', satisfaction_share: '满意率', events: '事件数',
    },
  },
  en: {
    heading: 'Indicators', backToMap: 'Back to map', logout: 'Log out', level: 'Level', lvCommunity: 'Community',
    lvGrid: 'Comprehensive grid', lvMicro: 'Micro-grid', lvWorker: 'Grid worker', from: 'From', to: 'To', indicator: 'Rank by',
    download: 'Download Excel', ranking: 'Ranking', area: 'Area', events: 'Events', per1000: 'Per 1,000 hh',
    inGrid: 'Closed in grid', handling: 'Handling (median, h)', overdue: 'Overdue', satisfaction: 'Satisfied',
    mapTitle: 'Choropleth', hotspots: 'Emerging hotspots', week: 'Week (any day)', category: 'Category',
    allCategories: 'All categories', count: 'This week', baseline: 'Baseline', show: 'Events', noData: 'no data',
    weekOf: 'Week of {0}: {1} hotspots', noHotspots: 'No emerging hotspot that week', eventsNear: '{0} · events near {1} ({2})',
    lang: '中文', window: '{0} to {1}',
    coverage: '15-minute coverage', service: 'Service', minutes: 'Walking minutes', clearPlanned: 'Clear planned',
    whatIfHint: 'Click the map to place a planned facility and see how coverage changes (nothing is stored).',
    covSummary: 'Households within {0} minutes\' walk of a {1}: {2} ({3} beyond; {4} elderly living alone beyond)',
    covWhatIf: 'With {0} planned: {1}, {2}',
    covered: 'Covered', planned: 'Planned',
    keyPop: 'Key population', keyHouseholds: 'Households', keyBeyond: 'Beyond', keyBeyondShare: 'Beyond share',
    exportHeading: 'Export element lists', exportKind: 'Elements', dlParquet: 'Download GeoParquet',
    exportHint: 'The whole list within your scope; personal data masked.',
    importHeading: 'Import data', importKind: 'Kind', importFile: 'File', importCrs: 'Coordinates',
    importDry: 'Dry run', importGo: 'Import', importHint: 'All or nothing; the map and the big screen keep running. A dry run only checks and stores nothing.',
    importNoFile: 'Choose a file first', importSending: 'Uploading and importing {0}…',
    importDone: 'Imported {0}: {1} elements, {2} rows written, {3} located, {4} inside no grid ({5} s)',
    importDryDone: 'Dry run of {0}: {1} elements would be stored, {2} located, {3} inside no grid; nothing stored',
    importRefused: 'Not imported, nothing changed: {0}',
    osm: 'OpenStreetMap', sentiments: 'Sentiments',
    kinds: {
      communities: 'Communities', grids: 'Grids', compounds: 'Compounds', buildings: 'Buildings', units: 'Units',
      places: 'Places', organisations: 'Organisations', roads: 'Roads', events: 'Events', households: 'Households',
      persons: 'People',
    },
    ind: {
      events_per_1000_households: 'Events per 1,000 households', closed_in_grid_share: 'Closed in the grid',
      median_handling_h: 'Median handling time (h)', overdue: 'Overdue events', satisfaction_share: 'Satisfaction', events: 'Events',
    },
  },
};

/** Indicators offered for ranking and colouring; `up` = higher is better. */
const INDICATORS = [
  { key: 'events_per_1000_households', up: false, share: false },
  { key: 'closed_in_grid_share', up: true, share: true },
  { key: 'median_handling_h', up: false, share: false },
  { key: 'overdue', up: false, share: false },
  { key: 'satisfaction_share', up: true, share: true },
  { key: 'events', up: false, share: false },
];

/** Five classes, good (green) to bad (red). */
const RAMP = ['#1a9850', '#91cf60', '#fee08b', '#fc8d59', '#d73027'];

/** Which layer each level's areas come from. */
const AREAS = {
  community: { path: '/api/v1/communities', level: 'community' },
  grid: { path: '/api/v1/grids?kind=comprehensive', level: 'comprehensive' },
  micro: { path: '/api/v1/grids?kind=micro', level: 'micro' },
  // A worker's row colours the grid they serve (matched by its code).
  worker: { path: '/api/v1/grids?limit=10000', level: 'worker' },
};

/**
 * @typedef {{ area: { level: string, id: number }, name: string, code?: string, worker_role?: string } & Record<string, any>} Row
 * @typedef {{ from: string, to: string, level: string, rows: Row[] }} Answer
 */

/** @param {string} id @returns {HTMLElement} */
function $(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing`);
  return el;
}

/** @param {string} id @returns {HTMLInputElement | HTMLSelectElement} */
function field(id) {
  return /** @type {HTMLInputElement | HTMLSelectElement} */ ($(id));
}

/** @param {string} id @returns {HTMLSelectElement} */
function select(id) {
  return /** @type {HTMLSelectElement} */ ($(id));
}

/** @param {string} key @param {...(string|number)} args @returns {string} */
function tr(key, ...args) {
  const dict = /** @type {Record<string, any>} */ (TEXT[getLang() === 'en' ? 'en' : 'zh']);
  const s = String(dict[key] ?? key);
  return s.replace(/\{(\d)\}/g, (_, i) => String(args[Number(i)] ?? ''));
}

/** @param {string} key */
function indName(key) {
  return TEXT[getLang() === 'en' ? 'en' : 'zh'].ind[/** @type {keyof typeof TEXT.zh.ind} */ (key)] || key;
}

/** @param {unknown} e */
function fail(e) {
  const el = $('error');
  el.textContent = e instanceof Error ? e.message : String(e);
  el.hidden = false;
}

/** @param {number | null | undefined} v @param {boolean} share */
function fmt(v, share) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  if (share) return `${(v * 100).toFixed(1)}%`;
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

/** @param {Date} d */
function isoDate(d) {
  return d.toISOString().slice(0, 10);
}

/** A worker role's name in the page's language. @param {string} code */
function roleName(code) {
  const names = VOCAB.role?.[code];
  return names ? names[getLang() === 'en' ? 1 : 0] : code;
}

/** The query of the indicator request the controls describe. */
function indicatorQuery() {
  const q = new URLSearchParams({ level: field('level').value });
  if (field('from').value) q.set('from', field('from').value);
  if (field('to').value) q.set('to', field('to').value);
  return q;
}

/** @type {import('maplibre-gl').Map | null} */
let map = null;
/** @type {Answer | null} */
let answer = null;
/** @type {{ features: any[] } | null} the areas on the map now */
let shown = null;
/** @type {Map<string, any>} area geometries by level, fetched once each */
const areaCache = new Map();

/** The rows of the chosen level, ranked by the chosen indicator (best first). */
function ranked() {
  if (!answer) return [];
  const spec = INDICATORS.find((i) => i.key === field('indicator').value) || INDICATORS[0];
  const level = AREAS[/** @type {keyof typeof AREAS} */ (field('level').value)].level;
  const rows = answer.rows.filter((r) => r.area.level === level);
  const val = (/** @type {Row} */ r) => (Number.isFinite(r[spec.key]) ? r[spec.key] : null);
  return rows.sort((a, b) => {
    const x = val(a);
    const y = val(b);
    if (x === null) return y === null ? 0 : 1;
    if (y === null) return -1;
    return spec.up ? y - x : x - y;
  });
}

/** Class breaks (quantiles of the values) and the colour of a value. */
function classes(/** @type {number[]} */ values, /** @type {boolean} */ up) {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  const breaks = v.length ? [0.2, 0.4, 0.6, 0.8].map((q) => v[Math.min(v.length - 1, Math.floor(q * v.length))]) : [];
  const colour = (/** @type {number|null} */ x) => {
    if (x === null || !Number.isFinite(x)) return '#d0d5db';
    let k = breaks.filter((b) => x > b).length;
    if (up) k = RAMP.length - 1 - k;
    return RAMP[k];
  };
  return { breaks, colour };
}

function renderTable() {
  const spec = INDICATORS.find((i) => i.key === field('indicator').value) || INDICATORS[0];
  const rows = ranked();
  const { colour } = classes(rows.map((r) => r[spec.key]), spec.up);
  const body = /** @type {HTMLTableSectionElement} */ ($('rank').querySelector('tbody'));
  body.innerHTML = rows.length ? '' : `<tr><td colspan="8">${esc(tr('noData'))}</td></tr>`;
  rows.forEach((r, i) => {
    const tr_ = document.createElement('tr');
    tr_.dataset.id = String(r.area.id);
    const c = colour(r[spec.key]);
    const small = [r.code, r.worker_role ? roleName(r.worker_role) : ''].filter(Boolean).join(' · ');
    tr_.innerHTML = `<td class="num">${i + 1}</td><td><i class="sw" style="background:${c}"></i>${esc(r.name)}${small ? ` <small>${esc(small)}</small>` : ''}</td>`
      + `<td class="num">${fmt(r.events, false)}</td><td class="num">${fmt(r.events_per_1000_households, false)}</td>`
      + `<td class="num">${fmt(r.closed_in_grid_share, true)}</td><td class="num">${fmt(r.median_handling_h, false)}</td>`
      + `<td class="num">${fmt(r.overdue, false)}</td><td class="num">${fmt(r.satisfaction_share, true)}</td>`;
    tr_.addEventListener('click', () => focusArea(r.area.id));
    tr_.dataset.map = String(mapId(r));
    body.append(tr_);
  });
  if (answer) $('window').textContent = tr('window', answer.from.slice(0, 10), answer.to.slice(0, 10));
}

/** Grid IDs by grid code, for the worker rows (filled with the grids). @type {Map<string, number>} */
const gridIdByCode = new Map();

/** The ID of a row's area on the map: its own, or a worker's grid. @param {Row} r */
function mapId(r) {
  if (r.area.level !== 'worker') return r.area.id;
  return gridIdByCode.get(String(r.code)) ?? -1;
}

/** Highlights an area in the table and frames it on the map. */
function focusArea(/** @type {number} */ id) {
  const row = answer?.rows.find((r) => r.area.id === id && r.area.level === AREAS[/** @type {keyof typeof AREAS} */ (field('level').value)].level);
  const onMap = row ? mapId(row) : id;
  for (const el of $('rank').querySelectorAll('tbody tr')) {
    el.classList.toggle('on', el instanceof HTMLElement && el.dataset.id === String(id));
  }
  if (!map) return;
  const f = shown?.features.find((/** @type {any} */ x) => x.properties.id === onMap);
  if (f) {
    /** @type {number[]} */
    const xs = [];
    /** @type {number[]} */
    const ys = [];
    const walk = (/** @type {any} */ c) => {
      if (typeof c[0] === 'number') {
        xs.push(c[0]);
        ys.push(c[1]);
      } else c.forEach(walk);
    };
    walk(f.geometry.coordinates);
    map.fitBounds([[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]], { padding: 60, maxZoom: 16, duration: 0 });
  }
  map.setFilter('dash-areas-focus', ['==', ['get', 'id'], onMap]);
}

/** Areas go under the hotspots' circles. */
function below() {
  return map?.getLayer('dash-hot') ? 'dash-hot' : undefined;
}

async function renderMap() {
  if (!map || !answer) return;
  const levelKey = /** @type {keyof typeof AREAS} */ (field('level').value);
  let areas = areaCache.get(levelKey);
  if (!areas) {
    areas = await api(AREAS[levelKey].path);
    areaCache.set(levelKey, areas);
    if (levelKey === 'worker') {
      for (const f of areas.features) gridIdByCode.set(String(f.properties.code), f.properties.id);
    }
  }
  const spec = INDICATORS.find((i) => i.key === field('indicator').value) || INDICATORS[0];
  const rows = ranked();
  // One area per row; a grid with several workers takes its best-ranked worker's colour.
  /** @type {Map<number, Row>} */
  const byId = new Map();
  for (const r of rows) if (!byId.has(mapId(r))) byId.set(mapId(r), r);
  const { breaks, colour } = classes(rows.map((r) => r[spec.key]), spec.up);
  const features = areas.features
    .filter((/** @type {any} */ f) => byId.has(f.properties.id))
    .map((/** @type {any} */ f) => {
      const r = byId.get(f.properties.id);
      const value = r && Number.isFinite(r[spec.key]) ? r[spec.key] : null;
      return { type: 'Feature', geometry: f.geometry, properties: { id: f.properties.id, name: r?.name || '', value, colour: colour(value) } };
    });
  const data = /** @type {any} */ ({ type: 'FeatureCollection', features });
  shown = data;
  const src = /** @type {any} */ (map.getSource('dash-areas'));
  if (src) src.setData(data);
  else {
    map.addSource('dash-areas', { type: 'geojson', data });
    map.addLayer({ id: 'dash-areas-fill', type: 'fill', source: 'dash-areas', paint: { 'fill-color': ['get', 'colour'], 'fill-opacity': 0.72 } }, below());
    map.addLayer({ id: 'dash-areas-line', type: 'line', source: 'dash-areas', paint: { 'line-color': '#33414f', 'line-width': 0.8 } }, below());
    map.addLayer({ id: 'dash-areas-focus', type: 'line', source: 'dash-areas', filter: ['==', ['get', 'id'], -1], paint: { 'line-color': '#0b57d0', 'line-width': 3 } }, below());
    map.on('click', 'dash-areas-fill', (e) => {
      const id = e.features?.[0]?.properties?.id;
      if (id !== undefined) focusArea(Number(id));
    });
  }
  const legend = $('legend');
  legend.innerHTML = `<strong>${esc(indName(spec.key))}</strong>`;
  const edges = [null, ...breaks, null];
  for (let k = 0; k < RAMP.length && breaks.length; k++) {
    const lo = edges[k];
    const hi = edges[k + 1];
    const label = lo === null ? `≤ ${fmt(hi, spec.share)}` : hi === null ? `> ${fmt(lo, spec.share)}` : `${fmt(lo, spec.share)}–${fmt(hi, spec.share)}`;
    legend.insertAdjacentHTML('beforeend', `<span><i style="background:${RAMP[spec.up ? RAMP.length - 1 - k : k]}"></i>${esc(label)}</span>`);
  }
  $('dash-map').dataset.areas = String(features.length);
}

/** Element kinds offered for export; `geo` = has a geometry (so GeoParquet); `people` = leaders and workers only. */
const EXPORT_KINDS = [
  { kind: 'buildings', geo: true }, { kind: 'communities', geo: true }, { kind: 'grids', geo: true },
  { kind: 'compounds', geo: true }, { kind: 'units', geo: true }, { kind: 'places', geo: true },
  { kind: 'organisations', geo: true }, { kind: 'roads', geo: true }, { kind: 'events', geo: true },
  { kind: 'households', geo: false, people: true }, { kind: 'persons', geo: false, people: true },
];
/** The signed-in role, for the kinds offered. */
let myRole = '';

/** The element export links (`GET /api/v1/{kind}?format=geoparquet|xlsx`) of the chosen kind. */
function setExportLinks() {
  const kind = select('export-kind').value || EXPORT_KINDS[0].kind;
  const spec = EXPORT_KINDS.find((k) => k.kind === kind) || EXPORT_KINDS[0];
  const parquet = /** @type {HTMLAnchorElement} */ ($('export-parquet'));
  parquet.href = `/api/v1/${spec.kind}?format=geoparquet`;
  parquet.hidden = !spec.geo;
  (/** @type {HTMLAnchorElement} */ ($('export-xlsx'))).href = `/api/v1/${spec.kind}?format=xlsx`;
}

/** The kinds' options in the page's language (people for leaders and workers only). */
function renderExportKinds() {
  const sel = select('export-kind');
  const chosen = sel.value || EXPORT_KINDS[0].kind;
  const names = /** @type {Record<string, string>} */ (TEXT[getLang() === 'en' ? 'en' : 'zh'].kinds);
  sel.innerHTML = '';
  for (const k of EXPORT_KINDS) {
    if (k.people && myRole !== 'leader' && myRole !== 'worker') continue;
    sel.add(new Option(names[k.kind] || k.kind, k.kind, false, k.kind === chosen));
  }
  setExportLinks();
}

/** The download link: the request of the table, ranked as it shows. */
function setDownload() {
  const q = indicatorQuery();
  q.set('format', 'xlsx');
  q.set('rank', field('indicator').value || INDICATORS[0].key);
  (/** @type {HTMLAnchorElement} */ ($('xlsx'))).href = `/api/v1/indicators?${q}`;
}

async function loadIndicators() {
  $('error').hidden = true;
  const q = indicatorQuery();
  setDownload();
  try {
    answer = await api(`/api/v1/indicators?${q}`);
    renderTable();
    await renderMap();
    document.body.dataset.ready = 'indicators';
  } catch (e) {
    fail(e);
  }
}

async function loadHotspots() {
  const q = new URLSearchParams();
  if (field('week').value) q.set('week', field('week').value);
  if (field('category').value) q.set('category', field('category').value);
  try {
    const h = await api(`/api/v1/hotspots?${q}`);
    const body = /** @type {HTMLTableSectionElement} */ ($('hot').querySelector('tbody'));
    body.innerHTML = '';
    $('hot-week').textContent = h.week_start ? tr('weekOf', h.week_start, h.hotspots.length) : tr('noHotspots');
    if (h.week_start && !field('week').value) field('week').value = h.week_start;
    for (const s of h.hotspots) {
      const row = document.createElement('tr');
      row.innerHTML = `<td>${esc(categoryName(s.category))}</td><td class="num">${s.count}</td><td class="num">${fmt(s.baseline, false)}</td><td class="num">${s.q_value.toFixed(3)}</td>`;
      const cell = document.createElement('td');
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = tr('show');
      b.addEventListener('click', () => hotspotEvents(s).catch(fail));
      cell.append(b);
      row.append(cell);
      body.append(row);
    }
    $('hot').dataset.count = String(h.hotspots.length);
    drawHotspots(h.hotspots);
  } catch (e) {
    fail(e);
  }
}

/** The week's hotspots as a layer of the map (a circle per cell, sized by its count); a click lists its events. @param {any[]} hs */
function drawHotspots(hs) {
  if (!map) return;
  const data = /** @type {any} */ ({
    type: 'FeatureCollection',
    features: hs.filter((s) => Number.isFinite(s.lon) && Number.isFinite(s.lat)).map((s, i) => ({
      type: 'Feature', geometry: { type: 'Point', coordinates: [s.lon, s.lat] }, properties: { i, count: s.count, category: s.category },
    })),
  });
  const src = /** @type {any} */ (map.getSource('dash-hot'));
  if (src) src.setData(data);
  else {
    map.addSource('dash-hot', { type: 'geojson', data });
    map.addLayer({
      id: 'dash-hot', type: 'circle', source: 'dash-hot',
      paint: {
        'circle-radius': ['interpolate', ['linear'], ['get', 'count'], 1, 7, 20, 18],
        'circle-color': '#b3261e', 'circle-opacity': 0.8, 'circle-stroke-color': '#fff', 'circle-stroke-width': 2,
      },
    });
    map.on('click', 'dash-hot', (e) => {
      const i = e.features?.[0]?.properties?.i;
      if (i !== undefined && shownHotspots[Number(i)]) hotspotEvents(shownHotspots[Number(i)]).catch(fail);
    });
  }
  shownHotspots = hs;
  $('dash-map').dataset.hotspots = String(data.features.length);
}

/** The hotspots on the map now, by their index in the layer. @type {any[]} */
let shownHotspots = [];

/** The events of a hotspot's week and category near its cell, and the cell on the map. */
async function hotspotEvents(/** @type {any} */ s) {
  if (!Number.isFinite(s.lon) || !Number.isFinite(s.lat)) return;
  const d = 0.0025;
  const from = new Date(`${s.week_start}T00:00:00+08:00`);
  const to = new Date(from.getTime() + 7 * 86400e3);
  const q = new URLSearchParams({
    bbox: [s.lon - d, s.lat - d, s.lon + d, s.lat + d].map((x) => x.toFixed(6)).join(','),
    category: s.category, from: from.toISOString(), to: to.toISOString(), limit: '200',
  });
  const list = await api(`/api/v1/events?${q}`);
  const box = $('hot-events');
  box.hidden = false;
  $('hot-events-title').textContent = tr('eventsNear', s.week_start, categoryName(s.category), list.features.length);
  const ul = /** @type {HTMLUListElement} */ (box.querySelector('ul'));
  ul.innerHTML = '';
  for (const f of list.features) {
    const p = f.properties;
    const li = document.createElement('li');
    li.textContent = `${String(p.reported_at || '').slice(0, 16).replace('T', ' ')} · ${categoryName(p.category)}${p.title ? ` · ${p.title}` : ''} · ${p.status}`;
    ul.append(li);
  }
  map?.flyTo({ center: [s.lon, s.lat], zoom: 16, duration: 0 });
}

function render() {
  for (const el of document.querySelectorAll('[data-t]')) el.textContent = tr(el.getAttribute('data-t') || '');
  $('lang').textContent = tr('lang');
  const ind = select('indicator');
  const chosen = ind.value || INDICATORS[0].key;
  ind.innerHTML = '';
  for (const i of INDICATORS) ind.add(new Option(indName(i.key), i.key, false, i.key === chosen));
  const cat = select('category');
  const was = cat.value;
  while (cat.options.length > 1) cat.remove(1);
  for (const [code] of GROUPS) cat.add(new Option(categoryName(code), code, false, code === was));
  for (const [code] of CATEGORIES) cat.add(new Option(`· ${categoryName(code)}`, code, false, code === was));
  renderExportKinds();
  renderImportKinds();
  renderTable();
}

// ---------------------------------------------------------------- imports

/** What the import panel offers (`wangge import KIND`). */
const IMPORT_KINDS = ['persons', 'households', 'buildings', 'units', 'compounds', 'places', 'organisations',
  'roads', 'events', 'sentiments', 'grids', 'communities', 'osm'];

function renderImportKinds() {
  const sel = select('import-kind');
  const chosen = sel.value || IMPORT_KINDS[0];
  const dict = /** @type {Record<string, any>} */ (TEXT[getLang() === 'en' ? 'en' : 'zh']);
  sel.innerHTML = '';
  for (const k of IMPORT_KINDS) {
    const name = dict.kinds[k] || dict[k] || k;
    sel.add(new Option(`${name} (${k})`, k, false, k === chosen));
  }
}

/**
 * Uploads the chosen file to `POST /api/v1/imports` (the body is the file
 * itself, so no form can start an import) and shows the summary or the
 * problems. @param {boolean} dry
 */
async function runImport(dry) {
  const input = /** @type {HTMLInputElement} */ ($('import-file'));
  const file = input.files?.[0];
  const status = $('import-status');
  const problems = $('import-problems');
  problems.replaceChildren();
  if (!file) {
    status.textContent = tr('importNoFile');
    return;
  }
  const q = new URLSearchParams({ kind: select('import-kind').value, filename: file.name, crs: select('import-crs').value });
  if (dry) q.set('dry_run', '1');
  status.textContent = tr('importSending', file.name);
  document.body.dataset.import = 'running';
  const res = await send(`/api/v1/imports?${q}`, {
    method: 'POST',
    body: file,
    headers: { 'content-type': 'application/octet-stream' },
  });
  /** @type {any} */
  let v = null;
  try {
    v = await res.json();
  } catch (_) {
    /* not JSON */
  }
  if (res.ok && v) {
    status.textContent = v.dry_run
      ? tr('importDryDone', file.name, v.elements, v.located, v.outside_every_grid)
      : tr('importDone', file.name, v.elements, v.rows, v.located, v.outside_every_grid, Number(v.seconds).toFixed(1));
    const lines = [...(v.messages || [])];
    problems.replaceChildren(...lines.map((/** @type {string} */ l) => {
      const li = document.createElement('li');
      li.textContent = l;
      return li;
    }));
    document.body.dataset.import = v.dry_run ? 'dry' : 'done';
    if (!v.dry_run) loadIndicators();
  } else {
    const err = v?.error;
    status.textContent = tr('importRefused', err?.message?.split('\n')[0] || `${res.status} ${res.statusText}`);
    problems.replaceChildren(...(err?.problems || []).map((/** @type {string} */ l) => {
      const li = document.createElement('li');
      li.textContent = l;
      return li;
    }));
    document.body.dataset.import = 'refused';
  }
}

// ---------------------------------------------------------------- coverage

/** @type {import('maplibre-gl').Map | null} */
let covMap = null;
/** Planned facilities of the what-if, `[lon, lat]`. @type {number[][]} */
let planned = [];
/** The covered share without planned facilities, for the comparison. @type {number | null} */
let baseShare = null;

/** @param {any} fc @returns {{ households: number, beyond: number, aloneBeyond: number, share: number | null }} */
function coverageTotals(fc) {
  let households = 0;
  let beyond = 0;
  let aloneBeyond = 0;
  for (const f of fc.features || []) {
    households += Number(f.properties.households) || 0;
    beyond += Number(f.properties.households_beyond) || 0;
    aloneBeyond += Number(f.properties.elderly_alone_beyond) || 0;
  }
  return { households, beyond, aloneBeyond, share: households > 0 ? (households - beyond) / households : null };
}

async function loadCoverage() {
  if (!covMap) return;
  const service = select('cov-service').value;
  const minutes = field('cov-minutes').value || '15';
  const q = new URLSearchParams({ service, minutes, format: 'geojson' });
  if (planned.length) q.set('add', planned.map(([x, y]) => `${x.toFixed(6)},${y.toFixed(6)}`).join(';'));
  const fc = await api(`/api/v1/coverage?${q}`);
  const tot = coverageTotals(fc);
  if (!planned.length) baseShare = tot.share;
  const features = (fc.features || []).map((/** @type {any} */ f) => {
    const s = f.properties.covered_share;
    const k = s === null || s === undefined ? -1 : Math.min(4, Math.floor((1 - s) * 5));
    return { ...f, properties: { ...f.properties, colour: k < 0 ? '#b8c2cc' : RAMP[k] } };
  });
  const data = /** @type {any} */ ({ type: 'FeatureCollection', features });
  const points = /** @type {any} */ ({
    type: 'FeatureCollection',
    features: planned.map((p) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: p }, properties: {} })),
  });
  const src = /** @type {any} */ (covMap.getSource('cov-grids'));
  if (src) {
    src.setData(data);
    /** @type {any} */ (covMap.getSource('cov-planned')).setData(points);
  } else {
    covMap.addSource('cov-grids', { type: 'geojson', data });
    covMap.addLayer({ id: 'cov-fill', type: 'fill', source: 'cov-grids', paint: { 'fill-color': ['get', 'colour'], 'fill-opacity': 0.6 } });
    covMap.addLayer({ id: 'cov-line', type: 'line', source: 'cov-grids', paint: { 'line-color': '#33414f', 'line-width': 0.6 } });
    covMap.addSource('cov-planned', { type: 'geojson', data: points });
    covMap.addLayer({ id: 'cov-planned', type: 'circle', source: 'cov-planned', paint: { 'circle-radius': 9, 'circle-color': '#0b57d0', 'circle-stroke-color': '#fff', 'circle-stroke-width': 3 } });
  }
  const label = (VOCAB.service?.[service]?.[getLang() === 'en' ? 1 : 0]) || service;
  const summary = $('cov-summary');
  const shareText = `<b>${esc(fmt(tot.share, true))}</b>`;
  summary.innerHTML = esc(tr('covSummary', minutes, label, '\u0000', tot.beyond, tot.aloneBeyond)).replace('\u0000', shareText);
  if (planned.length && baseShare !== null && tot.share !== null) {
    const pts = ((tot.share - baseShare) * 100).toFixed(1);
    summary.insertAdjacentHTML('beforeend', `<br><span class="up">${esc(tr('covWhatIf', planned.length, fmt(tot.share, true), `${Number(pts) >= 0 ? '+' : ''}${pts} pp`))}</span>`);
  }
  renderKeyPopulations(fc);
  summary.dataset.share = tot.share === null ? '' : String(tot.share);
  summary.dataset.base = baseShare === null ? '' : String(baseShare);
  summary.dataset.planned = String(planned.length);
  const legend = $('cov-legend');
  legend.innerHTML = `<strong>${esc(tr('covered'))}</strong>`;
  const bands = ['≥ 80%', '60–80%', '40–60%', '20–40%', '< 20%'];
  for (const [k, l] of bands.entries()) legend.insertAdjacentHTML('beforeend', `<span><i style="background:${RAMP[k]}"></i>${l}</span>`);
  legend.insertAdjacentHTML('beforeend', `<span><i style="background:#0b57d0;border-radius:50%"></i>${esc(tr('planned'))}</span>`);
}

/**
 * Every key population the store tags: households with a member so tagged,
 * and those beyond the walking time, summed over the grids (`key_populations`
 * of each feature). @param {any} fc
 */
function renderKeyPopulations(fc) {
  /** @type {Map<string, {households: number, beyond: number}>} */
  const sum = new Map();
  for (const f of fc.features || []) {
    for (const k of f.properties.key_populations || []) {
      const s = sum.get(k.tag) || { households: 0, beyond: 0 };
      s.households += Number(k.households) || 0;
      s.beyond += Number(k.households_beyond) || 0;
      sum.set(k.tag, s);
    }
  }
  const body = /** @type {HTMLTableSectionElement} */ ($('cov-keys').querySelector('tbody'));
  body.replaceChildren(...[...sum].filter(([, s]) => s.households > 0).map(([tag, s]) => {
    const row = document.createElement('tr');
    row.dataset.tag = tag;
    const name = VOCAB.personTag?.[tag]?.[getLang() === 'en' ? 1 : 0] || tag;
    row.innerHTML = `<td>${esc(name)}</td><td class="num">${s.households}</td><td class="num">${s.beyond}</td><td class="num">${fmt(s.households ? s.beyond / s.households : null, true)}</td>`;
    return row;
  }));
}

async function initCoverage(/** @type {any} */ style, /** @type {any} */ extent) {
  const sel = select('cov-service');
  for (const [code, names] of Object.entries(VOCAB.service || {})) {
    sel.add(new Option(names[getLang() === 'en' ? 1 : 0], code, false, code === 'elderly_canteen'));
  }
  covMap = await createMap('cov-map', { style, state: {}, extent });
  covMap.on('click', (e) => {
    if (planned.length >= 10) return;
    planned.push([e.lngLat.lng, e.lngLat.lat]);
    loadCoverage().catch(fail);
  });
  $('cov-clear').addEventListener('click', () => {
    planned = [];
    loadCoverage().catch(fail);
  });
  for (const id of ['cov-service', 'cov-minutes']) {
    field(id).addEventListener('change', () => {
      planned = [];
      loadCoverage().catch(fail);
    });
  }
  await loadCoverage();
  document.body.dataset.coverage = 'ready';
}

async function main() {
  setLang(new URLSearchParams(location.search).get('lang') || localStorage.getItem('wangge-lang') || 'zh');
  const me = await whoAmI();
  if (!me) {
    location.href = `/login?next=${encodeURIComponent('/dashboard')}`;
    return;
  }
  // Per-worker indicators name people: offered to leaders only (the API refuses the others).
  /** @type {HTMLOptionElement} */ (select('level').querySelector('option[value="worker"]')).hidden = me.role !== 'leader';
  myRole = me.role;
  // Imports are the leaders' (the API refuses the others).
  $('imports').hidden = me.role !== 'leader';
  const today = new Date();
  field('to').value = isoDate(today);
  field('from').value = isoDate(new Date(today.getTime() - 90 * 86400e3));
  render();
  $('lang').addEventListener('click', () => {
    setLang(getLang() === 'en' ? 'zh' : 'en');
    localStorage.setItem('wangge-lang', getLang());
    render();
    renderMap().catch(fail);
  });
  $('logout').addEventListener('click', () => logout());
  for (const id of ['level', 'from', 'to']) field(id).addEventListener('change', () => loadIndicators());
  field('indicator').addEventListener('change', () => {
    setDownload();
    renderTable();
    renderMap().catch(fail);
  });
  for (const id of ['week', 'category']) field(id).addEventListener('change', () => loadHotspots());
  select('export-kind').addEventListener('change', () => setExportLinks());
  $('import-dry').addEventListener('click', () => runImport(true).catch(fail));
  $('import-go').addEventListener('click', () => runImport(false).catch(fail));
  try {
    const [style, extent] = await Promise.all([buildStyle({ lang: getLang() }), townExtent()]);
    map = await createMap('dash-map', { style, state: {}, extent });
    initCoverage(style, extent).catch(fail);
  } catch (e) {
    fail(e);
  }
  await Promise.all([loadIndicators(), loadHotspots()]);
}

main().catch(fail);
