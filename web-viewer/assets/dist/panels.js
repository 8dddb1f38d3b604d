// @ts-check
// Detail panels of a grid, a building, an event and a place, and the small
// hand-drawn SVG chart of events per week.

import { t, vocab, categoryName, getLang, handlerName } from './i18n.js';
import { esc } from './mapcore.js';

const num = (v, digits = 0) => (v == null || Number.isNaN(Number(v)) ? '—' : Number(v).toLocaleString(getLang() === 'en' ? 'en' : 'zh-CN', { maximumFractionDigits: digits }));
const pct = (v) => {
  if (v == null || Number.isNaN(Number(v))) return '—';
  const x = Number(v);
  return `${(x <= 1 ? x * 100 : x).toFixed(1)}%`;
};
const when = (s) => {
  if (!s) return '—';
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? esc(s) : d.toLocaleString(getLang() === 'en' ? 'en-GB' : 'zh-CN', { hour12: false });
};
const row = (key, value, field) => `<tr><th>${esc(t(key))}</th><td${field ? ` data-field="${field}"` : ''}>${value}</td></tr>`;

/** SVG bar chart of `[{week, count}]`, drawn by hand (no chart library). */
export function weekChart(series, { width = 300, height = 90 } = {}) {
  const data = Array.isArray(series) ? series.slice(-26) : [];
  if (!data.length) return '<svg class="chart" role="img"></svg>';
  const max = Math.max(1, ...data.map((d) => Number(d.count) || 0));
  const pad = { l: 24, r: 4, t: 6, b: 16 };
  const w = width - pad.l - pad.r;
  const h = height - pad.t - pad.b;
  const bw = w / data.length;
  const bars = data.map((d, i) => {
    const c = Number(d.count) || 0;
    const bh = (c / max) * h;
    const x = pad.l + i * bw + 1;
    const y = pad.t + h - bh;
    return `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(1, bw - 2).toFixed(1)}" height="${bh.toFixed(1)}"><title>${esc(d.week)}: ${c}</title></rect>`;
  }).join('');
  const first = esc(String(data[0].week ?? ''));
  const last = esc(String(data[data.length - 1].week ?? ''));
  return `<svg class="chart" role="img" aria-label="${esc(t('perWeek'))}" viewBox="0 0 ${width} ${height}" width="100%" preserveAspectRatio="none">
    <line x1="${pad.l}" y1="${pad.t + h}" x2="${width - pad.r}" y2="${pad.t + h}" class="axis"/>
    <text x="${pad.l - 3}" y="${pad.t + 8}" text-anchor="end">${max}</text>
    <text x="${pad.l - 3}" y="${pad.t + h}" text-anchor="end">0</text>
    ${bars}
    <text x="${pad.l}" y="${height - 3}">${first}</text>
    <text x="${width - pad.r}" y="${height - 3}" text-anchor="end">${last}</text>
  </svg>`;
}

/** HTML of a grid detail (`GET /api/v1/grids/{code}`). */
export function gridPanel(g) {
  const workers = (g.workers || []).map((w) => `${esc(w.name)}（${esc(vocab('role', w.role))}）`).join('、') || '—';
  const community = g.community ? esc(g.community.name || g.community.code || g.community.id) : '—';
  const parent = g.parent ? esc(typeof g.parent === 'object' ? g.parent.code || g.parent.name : g.parent) : '—';
  return `<h2><small>${esc(vocab('gridKind', g.kind)) || esc(t('grid'))}</small>${esc(g.name || g.code)}</h2>
  <table class="kv">
    ${row('code', esc(g.code), 'code')}
    ${row('community', community, 'community')}
    ${row('parent', parent, 'parent')}
    ${row('workers', workers, 'workers')}
    ${row('households', num(g.households), 'households')}
    ${row('residents', num(g.residents), 'residents')}
    ${row('aged60', pct(g.aged60_share), 'aged60_share')}
    ${row('elderlyAlone', num(g.elderly_alone), 'elderly_alone')}
    ${row('openEvents', num(g.open_events), 'open_events')}
    ${row('overdueEvents', `<span class="${g.overdue_events > 0 ? 'bad' : ''}">${num(g.overdue_events)}</span>`, 'overdue_events')}
    ${row('medianHandling', g.median_handling_h == null ? '—' : `${num(g.median_handling_h, 1)} ${esc(t('hours'))}`, 'median_handling_h')}
    ${row('satisfaction', pct(g.satisfaction), 'satisfaction')}
  </table>
  <h3>${esc(t('perWeek'))}</h3>
  ${weekChart(g.events_per_week)}`;
}

/** HTML of a building detail (`GET /api/v1/buildings/{id}`). */
export function buildingPanel(b) {
  // `grids` is {community: id, comprehensive: code, micro: code, dedicated: code}; any may be null.
  const grids = Object.entries(b.grids || {})
    .filter(([k, v]) => k !== 'community' && v != null)
    .map(([k, v]) => `${esc(vocab('gridKind', k))} ${esc(typeof v === 'object' ? v.code || v.name : v)}`)
    .join('<br>');
  return `<h2><small>${esc(t('building'))}</small>${esc(b.address || `#${b.id}`)}</h2>
  <table class="kv">
    ${row('usage', esc(vocab('usage', b.usage)), 'usage')}
    ${row('levels', num(b.levels), 'levels')}
    ${row('height', b.height_m == null ? '—' : `${num(b.height_m, 1)} ${esc(t('metres'))}`, 'height_m')}
    ${row('units', num(b.units), 'units')}
    ${row('households', num(b.households), 'households')}
    ${row('compound', b.compound ? esc(b.compound.name || b.compound.id) : '—', 'compound')}
    ${row('grid', grids || '—', 'grids')}
  </table>${householdLinks(b.household_list || [])}`;
}

/**
 * Links to the files (一户一档) of a building's households, for the roles
 * the API gives them to (leader, worker in own grids): room numbers, no names.
 * @param {{id: number, unit: number|null, floor: number, room: string}[]} list
 */
function householdLinks(list) {
  if (!list.length) return '';
  const links = list
    .map((h) => `<a class="hh" href="/household?id=${encodeURIComponent(h.id)}" data-household="${esc(h.id)}">${esc(h.unit ? `${h.unit}-${h.room}` : h.room)}</a>`)
    .join(' ');
  return `<h3>${esc(t('hhHouseholds'))}</h3><p class="households">${links}</p>`;
}

/**
 * HTML of an aggregated events point: roles without personal-data access get
 * the `events` layer rolled up to H3 cells of at least k events (tiles/LAYERS.md),
 * so there is no single event to open, only the cell's figures.
 */
export function eventGroupPanel(p) {
  return `<h2 data-aggregate="1"><small>${esc(t('eventGroup'))}</small>${esc(categoryName(p.group) || t('events'))}</h2>
  <table class="kv">
    ${row('eventCount', num(p.count), 'count')}
    ${row('isOverdue', p.overdue ? t('yes') : t('no'), 'overdue')}
    ${row('grade', esc(vocab('grade', p.grade) || '—'), 'grade')}
  </table>
  <p class="muted">${esc(t('eventGroupNote'))}</p>`;
}

/** HTML of an event detail with its timeline (`GET /api/v1/events/{id}`). */
export function eventPanel(ev) {
  const e = ev.properties ? { ...ev.properties, ...ev } : ev;
  const tl = (e.timeline || []).map((s) => `<li><b>${esc(vocab('status', s.status))}</b> <time>${when(s.at)}</time><br>${esc(s.actor || '')}${s.note ? ` — ${esc(s.note)}` : ''}</li>`).join('');
  return `<h2><small>${esc(categoryName(e.category))}</small>${esc(e.title || `#${e.id}`)}</h2>
  <table class="kv">
    ${row('status', `<span class="${e.overdue ? 'bad' : ''}">${esc(vocab('status', e.status))}</span>`, 'status')}
    ${row('source', esc(vocab('source', e.source)), 'source')}
    ${row('grade', esc(vocab('grade', e.grade) || '—'), 'grade')}
    ${row('reportedAt', when(e.reported_at), 'reported_at')}
    ${row('deadline', when(e.deadline), 'deadline')}
    ${row('handler', esc(handlerName(e.handler, e.handler_names)), 'handler')}
    ${e.assisting?.length ? row('ibAssistingDepts', esc(e.assisting.map((d) => handlerName(`dept:${d}`, e.handler_names)).join('、')), 'assisting') : ''}
  </table>
  <h3>${esc(t('timeline'))}</h3>
  <ol class="timeline">${tl || '<li>—</li>'}</ol>`;
}

/** HTML of a place, from its tile properties (there is no place detail route). */
export function placePanel(p) {
  return `<h2><small>${esc(t('place'))}</small>${esc(p.name || `#${p.id}`)}</h2>
  <table class="kv">
    ${row('kind', esc(t(`places-${p.category}`)), 'category')}
    ${row('service', esc(p.service || p.kind || '—'), 'service')}
  </table>`;
}
