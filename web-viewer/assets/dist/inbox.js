// @ts-check
// "My events" (`/inbox`, 我的事件): the events a grid worker, a department or
// a leader works on (`GET /api/v1/inbox`, scoped by the server), most urgent
// first, with counts per status as filters; an event's detail
// (`GET /api/v1/events/{id}`: place, masked text, timeline, photos) with one
// button per move the state machine allows from its status (`allowed`), each
// a JSON POST to `/api/v1/events/{id}/transition` with the session's CSRF
// token; photos are uploaded as the raw image body to
// `/api/v1/events/{id}/photos`. Refusals are shown with their error code.
// A department assisting an event (named on dispatch besides the lead) sees it
// marked 协办, without moves, and adds notes and feedback
// (`POST /api/v1/events/{id}/notes`), as every handler may.
// 随手拍 (`#report`): a worker's report from the spot — category, what is the
// matter, a photo from the phone's camera and the phone's position
// (`navigator.geolocation`, which browsers give only over HTTPS or on
// localhost; the form says so when it is missing) — filed as a `patrol`
// event (`POST /api/v1/events`), its photo added to it, then opened.
// Built for phones first: one column, large touch targets.

import { CATEGORIES, categoryName, getLang, handlerName, setLang, t, translateDom, vocab, vocabValues } from './i18n.js';

/**
 * @typedef {{level: string, remaining_h: number, deadline: string, since?: string, used?: number}} Sla
 * @typedef {{id: number, category: string, title: string, reported_at: string, source: string,
 *   status: string, grade: string, deadline: string|null, handler: string|null, satisfaction: number|null,
 *   grids: {comprehensive: string|null, micro: string|null, dedicated: string|null},
 *   lon: number, lat: number, sla: Sla|null, allowed: string[], assisting?: boolean}} Item
 * @typedef {{scope: string, of: string[], counts: Record<string, number>, total: number, matched: number,
 *   events: Item[], handlers: string[], handler_names?: Record<string, {zh: string, en: string}>}} Inbox
 * @typedef {{status: string, from: string|null, at: string|null, actor: string|null, note: string}} Step
 * @typedef {{sha256: string, content_type: string, bytes: number, width: number, height: number,
 *   actor: string, at: string}} Photo
 * @typedef {{at: string, actor: string, department?: string, note: string}} Note
 * @typedef {Item & {timeline: Step[], photos?: Photo[], assisting?: string[], you_assist?: boolean, notes?: Note[]}} Detail
 */

/** @param {string} id @returns {HTMLElement} */
function $(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing`);
  return el;
}

/** @param {string} tag @param {string} [cls] @param {string} [text] @returns {HTMLElement} */
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

let csrf = '';
/** Statuses listed: `open` (the server's default), `all`, or one status. */
let filter = 'open';
/** @type {Inbox|null} */
let inbox = null;
/** @type {Detail|null} */
let detail = null;
/** The move being prepared in the form. */
let move = '';
let satisfaction = 0;

/** An answer's error as `code: message`. */
class ApiError extends Error {
  /** @param {number} status @param {any} data */
  constructor(status, data) {
    super(data?.error ? `${data.error.code}: ${data.error.message}` : `HTTP ${status}`);
    this.status = status;
    this.code = data?.error?.code || '';
  }
}

/** @param {string} path @param {RequestInit} [init] */
async function call(path, init) {
  const res = await fetch(path, init);
  const data = await res.json().catch(() => null);
  if (res.status === 401) location.replace(`/login?next=${encodeURIComponent(location.pathname + location.hash)}`);
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

/** @param {string} path @param {object} body */
function post(path, body) {
  return call(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
    body: JSON.stringify(body),
  });
}

/** @param {string} text */
function notice(text) {
  const n = $('notice');
  n.textContent = text;
  n.hidden = false;
  $('error').hidden = true;
}

/** @param {unknown} e @param {string} [what] */
function fail(e, what) {
  const box = $('error');
  const msg = e instanceof Error ? e.message : String(e);
  box.textContent = what ? `${what} — ${msg}` : msg;
  box.hidden = false;
  $('notice').hidden = true;
}

/** @param {string|null} iso */
function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return d.toLocaleString(getLang() === 'en' ? 'en-GB' : 'zh-CN', { month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/** @param {Sla|null} sla */
function slaText(sla) {
  if (!sla) return t('ibNoLimit');
  const h = Math.abs(sla.remaining_h).toFixed(1);
  if (sla.remaining_h < 0) return t('ibOver', h);
  return `${t(`ibSla_${sla.level}`)} · ${t('ibLeft', h)}`;
}

/** A handler as people read it (`handlerName` of i18n.js with the inbox's department names).
 * @param {string|null} h */
function handlerOf(h) {
  return handlerName(h, inbox?.handler_names);
}

/** @param {{comprehensive: string|null, micro: string|null, dedicated: string|null}} g */
function gridsText(g) {
  return [g.comprehensive, g.micro, g.dedicated].filter(Boolean).join(' / ');
}

// ---------------------------------------------------------------- the list

async function loadList() {
  const q = filter === 'open' ? '' : `?status=${encodeURIComponent(filter)}`;
  inbox = /** @type {Inbox} */ (await call(`/api/v1/inbox${q}`));
  renderList();
}

function renderList() {
  const data = inbox;
  if (!data) return;
  const scope = data.scope === 'grids' ? t('ibScopeGrids', data.of.join('、'))
    : data.scope === 'department' ? t('ibScopeDepartment', data.of.join('、')) : t('ibScopeTown');
  $('ib-scope').textContent = scope;
  const open = Object.entries(data.counts)
    .filter(([s]) => !['closed', 'rejected', 'merged'].includes(s))
    .reduce((n, [, c]) => n + c, 0);
  /** @type {Array<[string, string, number]>} */
  const chips = [['open', t('ibOpen'), open], ['all', t('ibAll'), data.total]];
  for (const s of vocabValues('status')) {
    if (data.counts[s]) chips.push([s, vocab('status', s), data.counts[s]]);
  }
  $('counts').replaceChildren(...chips.map(([key, label, n]) => {
    const b = /** @type {HTMLButtonElement} */ (el('button'));
    b.type = 'button';
    b.dataset.status = key;
    b.setAttribute('aria-pressed', String(filter === key));
    b.append(label, el('b', 'n', String(n)));
    b.addEventListener('click', () => {
      filter = key;
      loadList().catch((e) => fail(e));
    });
    return b;
  }));
  $('shown').textContent = data.events.length ? t('ibShown', data.events.length, data.matched) : t('ibNone');
  $('events').replaceChildren(...data.events.map((ev) => {
    const li = el('li');
    li.dataset.id = String(ev.id);
    li.dataset.status = ev.status;
    li.dataset.level = ev.sla?.level || 'none';
    if (ev.assisting) li.dataset.assisting = 'true';
    const b = /** @type {HTMLButtonElement} */ (el('button'));
    b.type = 'button';
    if (detail && detail.id === ev.id) b.setAttribute('aria-current', 'true');
    b.append(
      el('span', `bar lvl-${ev.sla?.level || 'none'}`),
      el('span', 'title', `${ev.assisting ? `[${t('ibAssisting')}] ` : ''}${ev.title || categoryName(ev.category)}`),
      el('span', 'when', slaText(ev.sla)),
      el('span', 'meta', `#${ev.id} · ${categoryName(ev.category)} · ${vocab('status', ev.status)} · ${gridsText(ev.grids)} · ${handlerOf(ev.handler)}`),
    );
    b.addEventListener('click', () => { location.hash = `event=${ev.id}`; });
    li.append(b);
    return li;
  }));
}

// ---------------------------------------------------------------- the detail

/** @param {number} id */
async function openDetail(id) {
  detail = /** @type {Detail} */ (await call(`/api/v1/events/${id}`));
  move = '';
  renderDetail();
  renderList();
}

function closeDetail() {
  detail = null;
  $('detail').hidden = true;
  document.body.classList.remove('detail-open');
  renderList();
}

function renderDetail() {
  const d = detail;
  if (!d) return;
  const pane = $('detail');
  pane.hidden = false;
  pane.dataset.id = String(d.id);
  pane.dataset.status = d.status;
  document.body.classList.add('detail-open');
  $('d-title').textContent = `#${d.id} ${d.title || categoryName(d.category)}`;
  const sla = $('d-sla');
  sla.className = `sla lvl-${d.sla?.level || 'none'}`;
  sla.dataset.level = d.sla?.level || 'none';
  // A renewed deadline (reopening, escalation) is measured from its renewal.
  const renewed = d.sla?.since && Date.parse(d.sla.since) > Date.parse(d.reported_at);
  sla.dataset.since = d.sla?.since || '';
  sla.textContent = slaText(d.sla) + (renewed ? ` · ${t('ibSince', when(d.sla?.since || null))}` : '');
  /** @type {Array<[string, string]>} */
  const facts = [
    [t('status'), vocab('status', d.status)],
    [t('category'), categoryName(d.category)],
    [t('ibGrade'), vocab('grade', d.grade)],
    [t('ibSource'), vocab('source', d.source)],
    [t('ibReported'), when(d.reported_at)],
    [t('ibDeadline'), d.deadline ? when(d.deadline) : t('ibNoLimit')],
    [t('ibHandler'), handlerOf(d.handler)],
    ...(d.assisting?.length ? [/** @type {[string, string]} */ ([t('ibAssistingDepts'), d.assisting.map((x) => handlerOf(`dept:${x}`)).join('、')])] : []),
    [t('ibPlace'), `${gridsText(d.grids)} (${d.lon.toFixed(5)}, ${d.lat.toFixed(5)})`],
  ];
  if (d.satisfaction) facts.push([t('ibSatisfaction'), '★'.repeat(d.satisfaction)]);
  $('d-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', '', k), el('dd', '', v)]));
  const moves = d.allowed.filter((m) => m !== 'merged');
  $('moves').replaceChildren(...(moves.length ? moves.map((m) => {
    const b = /** @type {HTMLButtonElement} */ (el('button', '', t(`ibMove_${m}`)));
    b.type = 'button';
    b.dataset.move = m;
    b.addEventListener('click', () => prepare(m));
    return b;
  }) : [el('p', 'muted', t(d.you_assist ? 'ibAssistingHint' : 'ibNoActions'))]));
  pane.dataset.assisting = String(!!d.you_assist);
  // An assisting department adds notes, not photos (the server refuses it).
  $('photo-upload').style.display = d.you_assist ? 'none' : '';
  renderForm();
  const notes = d.notes || [];
  $('notes').replaceChildren(...(notes.length ? notes.map((n) => {
    const li = el('li');
    li.append(el('div', 'by', `${when(n.at)} · ${n.actor}${n.department ? ` · ${handlerOf(`dept:${n.department}`)}` : ''}`), el('div', 'note', n.note));
    return li;
  }) : [el('li', 'muted', t('ibNoNotes'))]));
  const photos = d.photos || [];
  $('photos').replaceChildren(...(photos.length ? photos.map((p) => {
    const li = el('li');
    const a = /** @type {HTMLAnchorElement} */ (el('a'));
    a.href = `/api/v1/events/${d.id}/photos/${p.sha256}`;
    a.target = '_blank';
    const img = /** @type {HTMLImageElement} */ (el('img'));
    img.src = `/api/v1/events/${d.id}/photos/${p.sha256}/thumb`;
    img.alt = `${t('ibPhotos')} ${when(p.at)} ${p.actor}`;
    img.dataset.sha256 = p.sha256;
    a.append(img);
    li.append(a);
    return li;
  }) : [el('li', 'muted', t('ibNoPhotos'))]));
  $('timeline').replaceChildren(...d.timeline.map((s) => {
    const li = el('li');
    li.dataset.status = s.status;
    li.append(el('div', 'st', vocab('status', s.status)), el('div', 'by', `${when(s.at)} · ${s.actor || ''}`));
    if (s.note) li.append(el('div', 'note', s.note));
    return li;
  }));
}

/** @param {string} m */
function prepare(m) {
  move = m;
  satisfaction = 0;
  /** @type {HTMLTextAreaElement} */ ($('f-note')).value = '';
  renderForm();
  $('f-note').focus();
}

function renderForm() {
  const form = /** @type {HTMLFormElement} */ ($('move-form'));
  form.hidden = !move;
  if (!move || !detail) return;
  $('move-what').textContent = t(`ibMove_${move}`);
  $('f-grade-l').hidden = move !== 'accepted';
  $('f-handler-l').hidden = move !== 'dispatched';
  $('f-assist-l').hidden = move !== 'dispatched';
  $('f-sat-l').hidden = move !== 'reviewed';
  $('f-note-label').textContent = move === 'rejected' ? t('ibReason') : t('ibNote');
  /** @type {HTMLTextAreaElement} */ ($('f-note')).required = move === 'rejected';
  const grade = /** @type {HTMLSelectElement} */ ($('f-grade'));
  grade.replaceChildren(...vocabValues('grade').map((g) => {
    const o = /** @type {HTMLOptionElement} */ (el('option', '', vocab('grade', g)));
    o.value = g;
    o.selected = g === detail?.grade;
    return o;
  }));
  const handler = /** @type {HTMLSelectElement} */ ($('f-handler'));
  handler.replaceChildren(...(inbox?.handlers || ['grid', 'community', 'town']).map((h) => {
    const o = /** @type {HTMLOptionElement} */ (el('option', '', handlerOf(h)));
    o.value = h;
    o.selected = h === detail?.handler;
    return o;
  }));
  const assist = /** @type {HTMLSelectElement} */ ($('f-assist'));
  assist.replaceChildren(...(inbox?.handlers || []).filter((h) => h.startsWith('dept:')).map((h) => {
    const o = /** @type {HTMLOptionElement} */ (el('option', '', handlerOf(h)));
    o.value = h.slice(5);
    o.selected = !!detail?.assisting?.includes(o.value);
    return o;
  }));
  $('f-sat').replaceChildren(...[1, 2, 3, 4, 5].map((n) => {
    const b = /** @type {HTMLButtonElement} */ (el('button', '', `${n}★`));
    b.type = 'button';
    b.dataset.satisfaction = String(n);
    b.setAttribute('aria-pressed', String(n === satisfaction));
    b.addEventListener('click', () => {
      satisfaction = n;
      for (const x of $('f-sat').querySelectorAll('button')) x.setAttribute('aria-pressed', String(x === b));
    });
    return b;
  }));
}

async function submitMove() {
  const d = detail;
  if (!d || !move) return;
  /** @type {Record<string, unknown>} */
  const body = { to: move, note: /** @type {HTMLTextAreaElement} */ ($('f-note')).value.trim() };
  if (move === 'accepted') body.grade = /** @type {HTMLSelectElement} */ ($('f-grade')).value;
  if (move === 'dispatched') {
    body.handler = /** @type {HTMLSelectElement} */ ($('f-handler')).value;
    body.assisting = [.../** @type {HTMLSelectElement} */ ($('f-assist')).selectedOptions].map((o) => o.value);
  }
  if (move === 'reviewed') {
    if (!satisfaction) throw new Error(t('ibSatisfaction'));
    body.satisfaction = satisfaction;
  }
  const done = move;
  await post(`/api/v1/events/${d.id}/transition`, body);
  notice(t('ibDone', t(`ibMove_${done}`)));
  await Promise.all([openDetail(d.id), loadList()]);
}

async function submitNote() {
  const d = detail;
  if (!d) return;
  const text = /** @type {HTMLTextAreaElement} */ ($('note-text'));
  await post(`/api/v1/events/${d.id}/notes`, { note: text.value.trim() });
  text.value = '';
  notice(t('ibDone', t('ibAddNote')));
  await openDetail(d.id);
}

/** @param {File} file */
async function upload(file) {
  const d = detail;
  if (!d) return;
  notice(t('ibUploading'));
  await call(`/api/v1/events/${d.id}/photos`, {
    method: 'POST',
    headers: { 'content-type': file.type || 'application/octet-stream', 'x-csrf-token': csrf },
    body: file,
  });
  notice(t('ibUploaded'));
  await openDetail(d.id);
}

// ---------------------------------------------------------------- 随手拍

/** @type {{lon: number, lat: number, accuracy: number}|null} */
let here = null;

/** @param {'none'|'wait'|'ok'|'error'} state @param {string} text */
function where(state, text) {
  const w = $('rp-where');
  w.dataset.state = state;
  w.textContent = text;
}

function locate() {
  here = null;
  if (!('geolocation' in navigator) || !window.isSecureContext) {
    where('error', t('rpNoGeo', window.isSecureContext ? 'geolocation' : 'HTTP'));
    pickOnMap().catch((err) => fail(err));
    return;
  }
  where('wait', t('rpLocating'));
  navigator.geolocation.getCurrentPosition(
    (p) => {
      here = { lon: p.coords.longitude, lat: p.coords.latitude, accuracy: p.coords.accuracy };
      where('ok', t('rpLocated', here.lon.toFixed(6), here.lat.toFixed(6), Math.round(here.accuracy)));
    },
    (e) => {
      where('error', t('rpNoGeo', e.message || String(e.code)));
      pickOnMap().catch((err) => fail(err));
    },
    { enableHighAccuracy: true, timeout: 20_000, maximumAge: 60_000 },
  );
}

/** @type {import('maplibre-gl').Map | null} */
let pickMap = null;
/** @type {import('maplibre-gl').Marker | null} */
let pickMarker = null;

/** Loads MapLibre (served by our binary) the first time a page needs it. */
async function loadMaplibre() {
  if (!(/** @type {any} */ (window).maplibregl)) {
    const css = document.createElement('link');
    css.rel = 'stylesheet';
    css.href = '/assets/maplibre-gl.css';
    document.head.append(css);
    await new Promise((resolve, reject) => {
      const js = document.createElement('script');
      js.src = '/assets/maplibre-gl.js';
      js.onload = resolve;
      js.onerror = () => reject(new Error('maplibre-gl.js'));
      document.head.append(js);
    });
  }
  return import('./mapcore.js');
}

/**
 * Where the phone gives no position (plain HTTP, permission refused, no
 * fix indoors): the worker taps the place on a map of the town.
 */
async function pickOnMap() {
  const box = $('rp-map');
  box.hidden = false;
  if (!here) where('wait', t('rpPickHint'));
  if (pickMap) {
    pickMap.resize();
    return;
  }
  const core = await loadMaplibre();
  const [style, extent] = await Promise.all([core.buildStyle({ lang: getLang() }), pickExtent(core)]);
  const map = await core.createMap('rp-map', { style, state: {}, extent, padding: 10 });
  pickMap = map;
  map.on('click', (ev) => {
    const { lng, lat } = ev.lngLat;
    here = { lon: lng, lat, accuracy: 0 };
    if (!pickMarker) pickMarker = new core.maplibregl.Marker({ color: '#d00000' });
    pickMarker.setLngLat([lng, lat]).addTo(map);
    where('ok', t('rpPicked', lng.toFixed(6), lat.toFixed(6)));
  });
  // Taps count from here on (the map has loaded).
  box.dataset.ready = '1';
}

/**
 * The map a worker picks on opens on its own grids (what it reports is
 * there, and it can follow it), anyone else's on the town.
 * @param {typeof import('./mapcore.js')} core
 * @returns {Promise<number[] | undefined>}
 */
async function pickExtent(core) {
  if (inbox?.scope !== 'grids' || !inbox.of.length) return core.townExtent();
  return core.gridsExtent(inbox.of);
}

function openReport() {
  const sel = /** @type {HTMLSelectElement} */ ($('rp-category'));
  if (!sel.options.length) {
    sel.replaceChildren(...CATEGORIES.map(([code]) => {
      const o = /** @type {HTMLOptionElement} */ (el('option', '', `${code} ${categoryName(code)}`));
      o.value = code;
      return o;
    }));
  }
  $('report').hidden = false;
  $('rp-text').focus();
  locate();
}

function closeReport() {
  $('report').hidden = true;
  $('rp-map').hidden = true;
  pickMarker?.remove();
  /** @type {HTMLFormElement} */ ($('report-form')).reset();
  here = null;
}

async function sendReport() {
  if (!here) throw new Error(t('rpNeedPlace'));
  const body = {
    category: /** @type {HTMLSelectElement} */ ($('rp-category')).value,
    title: /** @type {HTMLTextAreaElement} */ ($('rp-text')).value.trim(),
    lon: here.lon,
    lat: here.lat,
    source: 'patrol',
  };
  const created = await post('/api/v1/events', body);
  const file = /** @type {HTMLInputElement} */ ($('rp-photo')).files?.[0];
  closeReport();
  let photoError = '';
  if (file) {
    await call(`/api/v1/events/${created.id}/photos`, {
      method: 'POST',
      headers: { 'content-type': file.type || 'application/octet-stream', 'x-csrf-token': csrf },
      body: file,
    }).catch((e) => { photoError = e instanceof Error ? e.message : String(e); });
  }
  await loadList();
  location.hash = `event=${created.id}`;
  if (photoError) fail(t('rpPhotoFailed', created.id, photoError));
  else notice(t('rpSent', created.id));
}

// ---------------------------------------------------------------- wiring

function route() {
  const m = location.hash.match(/event=(\d+)/);
  if (m) openDetail(Number(m[1])).catch((e) => fail(e));
  else closeDetail();
}

function render() {
  translateDom();
  document.title = t('ibTitle');
  $('lang').textContent = getLang() === 'zh' ? 'EN' : '中文';
  renderList();
  renderDetail();
}

$('move-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const b = /** @type {HTMLButtonElement} */ ($('move-ok'));
  b.disabled = true;
  submitMove().catch((e) => fail(e, t('ibRefused'))).finally(() => { b.disabled = false; });
});
$('note-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const b = /** @type {HTMLButtonElement} */ ($('note-ok'));
  b.disabled = true;
  submitNote().catch((e) => fail(e, t('ibRefused'))).finally(() => { b.disabled = false; });
});
$('move-cancel').addEventListener('click', () => {
  move = '';
  renderForm();
});
$('back').addEventListener('click', () => { location.hash = ''; });
$('report-open').addEventListener('click', openReport);
$('rp-cancel').addEventListener('click', closeReport);
$('rp-locate').addEventListener('click', locate);
$('rp-pick').addEventListener('click', () => pickOnMap().catch((e) => fail(e)));
$('report-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const b = /** @type {HTMLButtonElement} */ ($('rp-send'));
  b.disabled = true;
  sendReport().catch((e) => fail(e, t('ibRefused'))).finally(() => { b.disabled = false; });
});
$('photo-input').addEventListener('change', (ev) => {
  const input = /** @type {HTMLInputElement} */ (ev.target);
  const file = input.files?.[0];
  if (file) upload(file).catch((e) => fail(e, t('ibRefused'))).finally(() => { input.value = ''; });
});
window.addEventListener('hashchange', route);
$('lang').addEventListener('click', () => {
  setLang(getLang() === 'zh' ? 'en' : 'zh');
  localStorage.setItem('wangge-lang', getLang());
  render();
});
$('logout').addEventListener('click', async () => {
  await fetch('/api/v1/session', { method: 'DELETE', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf } });
  location.replace('/login');
});

setLang(new URLSearchParams(location.search).get('lang') || localStorage.getItem('wangge-lang') || 'zh');
render();
call('/api/v1/session')
  .then(async (me) => {
    csrf = me.csrf || '';
    await loadList();
    route();
    document.body.dataset.ready = '1';
  })
  .catch((e) => {
    fail(e);
    document.body.dataset.failed = e instanceof Error ? e.message : String(e);
  });
