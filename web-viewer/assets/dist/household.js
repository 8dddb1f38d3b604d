// @ts-check
// 一户一档 (`/household?id=…`, leaders and grid workers): a household's file —
// address, members (masked; one revealed with a reason the server audits),
// tags, visit schedule, needs (closable), a visit form (kind, time, notes, a
// need found), the timeline of visits and linked events, satisfaction — and,
// without `id`, the caller's overdue visits (a worker's grids). Every change
// is a JSON POST with the session's CSRF token; the actor is the session's.

import { t, setLang, getLang, translateDom, vocab, vocabValues, categoryName } from './i18n.js';

/**
 * @typedef {{id: number, name: string, national_id: string|null, phone: string|null, birth_year: number,
 *   age: number, sex: string, tags: string[], revealed: boolean}} Member
 * @typedef {{id: number, visit: number|null, category: string, text: string, opened_at: string,
 *   closed_at: string|null, closed_by: string|null, open: boolean}} Need
 * @typedef {{sha256: string, at: string, actor: string}} Photo
 * @typedef {{id: number, at: string, kind: string, notes: string, actor: string, needs: number[], photos?: Photo[]}} Visit
 * @typedef {{id: number, category: string, title: string, status: string, reported_at: string, link: string,
 *   satisfaction: number|null}} LinkedEvent
 * @typedef {{interval_days: number, last_visit: string|null, due_at: string, overdue: boolean, days_overdue: number}} Schedule
 * @typedef {{id: number, address: string, floor: number, room: string, size: number, tenure: string,
 *   party_member: boolean, group_rented: boolean, grids: {comprehensive: string|null, micro: string|null},
 *   members: Member[], tags: string[], schedule: Schedule|null, needs: Need[], visits: Visit[],
 *   events: LinkedEvent[], satisfaction: {event: number, at: string, score: number}[], revealed: string}} HouseholdFile
 * @typedef {Schedule & {household: number, address: string, grid: string|null, tags: string[]}} OverdueVisit
 * @typedef {{as_of: string, rules: {tag: string, interval_days: number}[], total: number,
 *   grids: {grid: string|null, name: string|null, scheduled: number, overdue: number}[], households: OverdueVisit[]}} OverdueList
 */

/** @param {string} id @returns {HTMLElement} */
function $(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing`);
  return el;
}

/** @param {string} key @param {Record<string, string|number>} [args] */
function tr(key, args = {}) {
  return t(key).replace(/\{(\w+)\}/g, (_, k) => String(args[k] ?? ''));
}

/** @param {string} iso */
function when(iso) {
  const d = new Date(iso);
  return d.toLocaleString(getLang() === 'en' ? 'en-GB' : 'zh-CN', { dateStyle: 'medium', timeStyle: 'short' });
}

let csrf = '';
const params = new URLSearchParams(location.search);
const householdId = params.get('id');

/**
 * @param {string} path
 * @param {{body?: object, headers?: Record<string, string>}} [opts]
 */
async function call(path, opts = {}) {
  /** @type {RequestInit} */
  const init = { headers: { ...(opts.headers || {}) } };
  if (opts.body !== undefined) {
    init.method = 'POST';
    init.headers = { ...init.headers, 'content-type': 'application/json', 'x-csrf-token': csrf };
    init.body = JSON.stringify(opts.body);
  }
  const res = await fetch(path, init);
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const msg = data?.error ? `${data.error.code}: ${data.error.message}` : `${res.status}`;
    throw new Error(msg);
  }
  return data;
}

/** @param {string} text */
function notice(text) {
  const n = $('notice');
  n.textContent = text;
  n.hidden = false;
  $('error').hidden = true;
}

/** @param {unknown} e */
function fail(e) {
  const el = $('error');
  el.textContent = e instanceof Error ? e.message : String(e);
  el.hidden = false;
}

/** @param {string} tag @param {...(string|Node)} kids */
function el(tag, ...kids) {
  const x = document.createElement(tag);
  x.append(...kids);
  return x;
}

/** @param {string} cls @param {string} text */
function span(cls, text) {
  const s = el('span', text);
  s.className = cls;
  return s;
}

/** @param {string} label @param {() => Promise<void>} act */
function button(label, act) {
  const b = /** @type {HTMLButtonElement} */ (el('button', label));
  b.type = 'button';
  b.addEventListener('click', () => {
    b.disabled = true;
    act().catch(fail).finally(() => { b.disabled = false; });
  });
  return b;
}

/** @type {HouseholdFile|null} */
let current = null;
/** Reveal reason of the member shown unmasked (kept for reloads after a change). */
let revealed = /** @type {{person: number, reason: string}|null} */ (null);

async function loadFile() {
  if (!householdId) return;
  /** @type {Record<string, string>} */
  const headers = {};
  let path = `/api/v1/households/${encodeURIComponent(householdId)}/file`;
  if (revealed) {
    path += `?person=${revealed.person}`;
    headers['x-wangge-reveal-reason'] = encodeURIComponent(revealed.reason);
  }
  current = /** @type {HouseholdFile} */ (await call(path, { headers }));
  renderFile(current);
}

/** @param {HouseholdFile} f */
function renderFile(f) {
  $('file').hidden = false;
  $('file').dataset.household = String(f.id);
  $('hh-address').textContent = f.address;
  const grid = f.grids.micro || f.grids.comprehensive || '';
  $('hh-facts').textContent = tr('hhFacts', {
    floor: f.floor, size: f.size, tenure: t(`tenure_${f.tenure}`), grid,
  }) + (f.party_member ? ` · ${t('hhPartyHousehold')}` : '') + (f.group_rented ? ` · ${t('hhGroupRented')}` : '');
  $('hh-tags').replaceChildren(...f.tags.map((tag) => span('tag', vocab('personTag', tag))));
  const s = $('hh-schedule');
  s.className = `schedule${f.schedule?.overdue ? ' late' : ''}`;
  s.textContent = f.schedule
    ? tr(f.schedule.overdue ? 'hhScheduleLate' : 'hhScheduleOk', {
      days: f.schedule.interval_days,
      last: f.schedule.last_visit ? when(f.schedule.last_visit) : t('hhNever'),
      due: when(f.schedule.due_at),
      late: f.schedule.days_overdue,
    })
    : t('hhNoSchedule');
  $('hh-members').querySelector('tbody')?.replaceChildren(...f.members.map((m) => {
    const row = el('tr');
    row.dataset.person = String(m.id);
    row.dataset.revealed = String(m.revealed);
    const acts = m.revealed ? span('ok', t('hhShown')) : button(t('hhReveal'), async () => askReveal(m));
    for (const c of [m.name, String(m.age), m.national_id || '', m.phone || '', m.tags.map((x) => vocab('personTag', x)).join('、'), acts]) {
      row.append(el('td', c));
    }
    return row;
  }));
  $('hh-needs').replaceChildren(...(f.needs.length ? f.needs.map((n) => {
    const li = el('li', span('kind', vocab('needCategory', n.category)), span(n.open ? 'text' : 'text closed', n.text),
      span('when', when(n.opened_at)));
    li.dataset.need = String(n.id);
    li.dataset.open = String(n.open);
    if (n.open) {
      li.append(button(t('hhCloseNeed'), async () => {
        await call(`/api/v1/needs/${n.id}/close`, { body: {} });
        notice(tr('hhNeedClosed', { text: n.text }));
        await loadFile();
      }));
    } else if (n.closed_at) li.append(span('when', tr('hhClosedAt', { at: when(n.closed_at) })));
    return li;
  }) : [el('li', t('hhNone'))]));
  /** @type {{at: string, node: HTMLElement}[]} */
  const items = [];
  for (const v of f.visits) {
    const li = el('li', span('when', when(v.at)), span('kind', vocab('visitKind', v.kind)), span('text', v.notes));
    const found = f.needs.filter((n) => v.needs.includes(n.id));
    if (found.length) li.append(span('text', `${t('hhNeeds')}：${found.map((n) => n.text).join('；')}`));
    li.className = 'visit';
    li.dataset.visit = String(v.id);
    if (v.photos?.length) {
      const row = el('div');
      row.className = 'photos';
      for (const p of v.photos) {
        const a = /** @type {HTMLAnchorElement} */ (document.createElement('a'));
        a.href = `/api/v1/visits/${v.id}/photos/${p.sha256}`;
        a.target = '_blank';
        const img = /** @type {HTMLImageElement} */ (document.createElement('img'));
        img.src = `/api/v1/visits/${v.id}/photos/${p.sha256}/thumb`;
        img.alt = `${t('hhPhotoAlt')} ${when(p.at)}`;
        img.dataset.sha256 = p.sha256;
        img.loading = 'lazy';
        a.append(img);
        row.append(a);
      }
      li.append(row);
    }
    items.push({ at: v.at, node: li });
  }
  for (const e of f.events) {
    const li = el('li', span('when', when(e.reported_at)), span('kind', `${categoryName(e.category)} · ${vocab('status', e.status)}`),
      span('text', e.title), span('when', t(e.link === 'reported' ? 'hhReported' : 'hhAtBuilding')));
    li.className = 'event';
    li.dataset.event = String(e.id);
    items.push({ at: e.reported_at, node: li });
  }
  items.sort((a, b) => b.at.localeCompare(a.at));
  $('hh-timeline').replaceChildren(...(items.length ? items.map((i) => i.node) : [el('li', t('hhNone'))]));
  $('hh-satisfaction').replaceChildren(...(f.satisfaction.length
    ? f.satisfaction.map((r) => el('li', span('when', when(r.at)), span('kind', '★'.repeat(r.score) + '☆'.repeat(5 - r.score)), span('text', `#${r.event}`)))
    : [el('li', t('hhNone'))]));
}

/** @param {Member} m */
function askReveal(m) {
  const d = /** @type {HTMLDialogElement} */ ($('reveal'));
  $('reveal-who').textContent = tr('hhRevealWho', { name: m.name });
  d.dataset.person = String(m.id);
  /** @type {HTMLInputElement} */ ($('reveal-reason')).value = '';
  d.showModal();
  return Promise.resolve();
}

async function loadOverdue() {
  const list = /** @type {OverdueList} */ (await call('/api/v1/visits/overdue?limit=100'));
  $('overdue').hidden = false;
  $('overdue').dataset.total = String(list.total);
  $('overdue-rules').textContent = `${tr('hhRules')}${list.rules.map((r) => tr('hhRule', { tag: vocab('personTag', r.tag), days: r.interval_days })).join('，')}`;
  $('overdue-grids').querySelector('tbody')?.replaceChildren(...list.grids.map((g) => {
    const row = el('tr', el('td', g.name ? `${g.name} ${g.grid}` : t('hhNoGrid')), el('td', String(g.scheduled)), el('td', String(g.overdue)));
    return row;
  }));
  $('overdue-list').replaceChildren(...(list.households.length ? list.households.map((o) => {
    const a = /** @type {HTMLAnchorElement} */ (el('a', o.address));
    a.href = `/household?id=${o.household}`;
    const li = el('li', a, span('tag', o.tags.map((x) => vocab('personTag', x)).join('、')),
      span('when', o.last_visit ? tr('hhLastVisit', { at: when(o.last_visit) }) : t('hhNever')),
      span('late', tr('hhDaysLate', { n: o.days_overdue })));
    li.dataset.household = String(o.household);
    return li;
  }) : [el('li', t('hhNone'))]));
}

function fillSelects() {
  const kind = /** @type {HTMLSelectElement} */ ($('visit-kind'));
  const keep = kind.value;
  kind.replaceChildren(...vocabValues('visitKind').map((k) => new Option(vocab('visitKind', k), k)));
  if (keep) kind.value = keep;
  const cat = /** @type {HTMLSelectElement} */ ($('need-category'));
  const keepCat = cat.value;
  cat.replaceChildren(...vocabValues('needCategory').map((k) => new Option(vocab('needCategory', k), k)));
  if (keepCat) cat.value = keepCat;
}

function render() {
  document.title = `${t('hhTitle')} · ${t('title')}`;
  translateDom();
  $('lang').textContent = getLang() === 'zh' ? 'EN' : '中文';
  fillSelects();
  if (current) renderFile(current);
}

$('visit').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const at = /** @type {HTMLInputElement} */ ($('visit-at')).value;
  const text = /** @type {HTMLInputElement} */ ($('need-text')).value.trim();
  const body = {
    kind: /** @type {HTMLSelectElement} */ ($('visit-kind')).value,
    notes: /** @type {HTMLTextAreaElement} */ ($('visit-notes')).value,
    needs: text ? [{ text, category: /** @type {HTMLSelectElement} */ ($('need-category')).value }] : [],
    ...(at ? { at: new Date(at).toISOString() } : {}),
  };
  const files = [.../** @type {HTMLInputElement} */ ($('visit-photos')).files || []];
  const button = /** @type {HTMLButtonElement} */ ($('visit-submit'));
  button.disabled = true;
  call(`/api/v1/households/${encodeURIComponent(householdId || '')}/visits`, { body })
    .then(async (r) => {
      // The photos go one by one as raw bodies, after the visit exists.
      for (const file of files) {
        const res = await fetch(`/api/v1/visits/${r.visit.id}/photos`, {
          method: 'POST',
          headers: { 'content-type': file.type || 'application/octet-stream', 'x-csrf-token': csrf },
          body: file,
        });
        if (!res.ok) {
          const data = await res.json().catch(() => null);
          throw new Error(data?.error ? `${data.error.code}: ${data.error.message}` : `${res.status}`);
        }
      }
      notice(files.length ? tr('hhPhotosSaved', { n: files.length }) : tr('hhVisitSaved', { n: r.needs.length }));
      /** @type {HTMLFormElement} */ ($('visit')).reset();
      await loadFile();
    })
    .catch(fail)
    .finally(() => { button.disabled = false; });
});
$('reveal-cancel').addEventListener('click', () => /** @type {HTMLDialogElement} */ ($('reveal')).close());
$('reveal-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const d = /** @type {HTMLDialogElement} */ ($('reveal'));
  const reason = /** @type {HTMLInputElement} */ ($('reveal-reason')).value.trim();
  if (!reason) return;
  revealed = { person: Number(d.dataset.person), reason };
  d.close();
  loadFile().then(() => notice(t('hhRevealLogged'))).catch(fail);
});
$('lang').addEventListener('click', () => {
  setLang(getLang() === 'zh' ? 'en' : 'zh');
  localStorage.setItem('wangge-lang', getLang());
  render();
  if (!householdId) loadOverdue().catch(fail);
});
$('logout').addEventListener('click', async () => {
  await fetch('/api/v1/session', { method: 'DELETE', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf } });
  location.replace('/login');
});

setLang(params.get('lang') || localStorage.getItem('wangge-lang') || 'zh');
render();
call('/api/v1/session')
  .then(async (me) => {
    csrf = me.csrf || '';
    if (householdId) await loadFile();
    else await loadOverdue();
    document.body.dataset.ready = '1';
  })
  .catch((e) => {
    fail(e);
    document.body.dataset.failed = e instanceof Error ? e.message : String(e);
  });
