// 一户一档 in a real browser (issue 15): the demo leader opens a household
// file, sees its members masked, reveals one with a reason, and the reveal is
// in the audit log (`wangge audit --action reveal`, the product's own reader
// of the log: the server is stopped for it and started again); the demo
// grid worker, on a phone (390×844), opens the overdue list, records a night
// visit with a need and a photo and sees them in the file (the photo's
// thumbnail in the visit timeline; planner and screen refused it), then
// closes the need.
// Screenshots of the page at 1920×1080 and 390×844 go to docs/screens/.
//
// Called from run.mjs with the harness's helpers; waits are on conditions.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCREENS = fileURLToPath(new URL('../../docs/screens/', import.meta.url));
const PHONE = { width: 390, height: 844 };
const WAIT = 90_000;

/** Runs `wangge audit --action reveal` on the store; its stdout. */
function audit(bin, db) {
  return new Promise((res, rej) => {
    execFile(bin, ['audit', '--db', db, '--action', 'reveal'], { timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) rej(new Error(`wangge audit: ${err.message}\n${stderr}`));
      else res(stdout);
    });
  });
}

/** Waits for the page's first answer (`body[data-ready="1"]`), failing with the page's own error. */
async function ready(page, what) {
  await page.waitForFunction(() => document.body.dataset.ready === '1' || document.body.dataset.failed, null, { timeout: WAIT });
  const failed = await page.evaluate(() => document.body.dataset.failed);
  if (failed) throw new Error(`${what}: ${failed}`);
}

/**
 * @param {import('playwright-core').Browser} browser
 * @param {{step: Function, assert: Function, skip: Function, newContext: Function, getJson: Function,
 *   base: () => string, server: any, bin: string|null, db: string|null}} h
 */
export async function householdTests(browser, h) {
  const { step, assert, skip, newContext, getJson } = h;
  mkdirSync(SCREENS, { recursive: true });
  const lateLeader = await getJson('/api/v1/visits/overdue?limit=50', { as: 'leader' });
  const lateWorker = await getJson('/api/v1/visits/overdue?limit=50', { as: 'worker' });
  let household = null;
  let member = null;
  const reason = '核实低保复核材料';

  const lctx = await newContext(browser, { role: 'leader' });
  await step('household file: the leader opens a file and sees its members masked (1920×1080)', async () => {
    assert(lateLeader.status === 200, `GET /api/v1/visits/overdue as leader: ${lateLeader.status}`);
    // A household with more than one member shows one revealed among masked ones.
    for (const o of lateLeader.body.households) {
      const f = await getJson(`/api/v1/households/${o.household}/file`, { as: 'leader' });
      if (f.status === 200 && f.body.members.length > 1) {
        household = o.household;
        break;
      }
    }
    assert(household, 'no overdue household with two members in the leader\'s list');
    const page = await lctx.newPage();
    await page.goto(`${h.base()}/household?id=${household}`);
    await ready(page, '/household');
    await page.waitForSelector('#hh-members tbody tr', { timeout: WAIT });
    const names = await page.$$eval('#hh-members tbody tr td:first-child', (tds) => tds.map((td) => td.textContent || ''));
    assert(names.length > 1 && names.every((n) => n.includes('*')), `members not masked: ${names.join(', ')}`);
    const tags = await page.$$eval('#hh-tags span', (s) => s.map((x) => x.textContent));
    assert(tags.length > 0, 'a care-list household shows no tags');
    await page.screenshot({ path: join(SCREENS, 'household-file-1920.png'), fullPage: true });
    lctx.page = page;
    return `household ${household}: ${names.length} members masked, tags ${tags.join('、')}`;
  });

  if (household) {
    await step('household file: the leader reveals one member with a reason; the others stay masked', async () => {
      const page = lctx.page;
      const row = page.locator('#hh-members tbody tr').first();
      member = Number(await row.getAttribute('data-person'));
      await row.locator('button').click();
      await page.waitForSelector('#reveal[open]', { timeout: WAIT });
      await page.fill('#reveal-reason', reason);
      const answer = page.waitForResponse((r) => r.url().includes(`/households/${household}/file?person=${member}`), { timeout: WAIT });
      await page.click('#reveal-ok');
      const r = await answer;
      assert(r.status() === 200, `reveal: HTTP ${r.status()}`);
      await page.waitForSelector(`#hh-members tr[data-person="${member}"][data-revealed="true"]`, { timeout: WAIT });
      const name = await page.textContent(`#hh-members tr[data-person="${member}"] td:first-child`);
      assert(name && !name.includes('*'), `revealed name still masked: ${name}`);
      const others = await page.$$eval('#hh-members tbody tr[data-revealed="false"] td:first-child', (tds) => tds.map((td) => td.textContent || ''));
      assert(others.length > 0 && others.every((n) => n.includes('*')), `other members not masked: ${others}`);
      return `person ${member} shown, ${others.length} still masked`;
    });
    await step('household page: the leader\'s overdue list (1920×1080)', async () => {
      const page = await lctx.newPage();
      await page.goto(`${h.base()}/household`);
      await ready(page, '/household');
      await page.waitForSelector('#overdue-list li[data-household]', { timeout: WAIT });
      const n = await page.$$eval('#overdue-grids tbody tr', (r) => r.length);
      assert(n > 1, `the leader sees ${n} grid rows of overdue visits`);
      await page.screenshot({ path: join(SCREENS, 'household-overdue-1920.png') });
      return `${n} grids`;
    });
    await step('民情 layer: the viewer draws the grids of /api/v1/grids/sentiment as its toggle layer', async () => {
      const layer = await getJson('/api/v1/grids/sentiment', { as: 'leader' });
      assert(layer.status === 200 && layer.body.features.length > 0, `GET /api/v1/grids/sentiment: ${layer.status}`);
      const hot = layer.body.features.filter((f) => f.properties.attention_per_100 > 0).length;
      assert(hot > 0, 'no grid needs attention on the 民情 layer');
      const page = await lctx.newPage();
      await page.goto(`${h.base()}/#layers=base,grids-comprehensive,sentiment`);
      await page.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: WAIT });
      await page.waitForFunction(() => {
        const map = window.__testMaps && window.__testMaps[0];
        return map && map.getLayer('wg-sentiment-fill') && map.queryRenderedFeatures({ layers: ['wg-sentiment-fill'] }).length > 0;
      }, null, { timeout: WAIT, polling: 250 });
      const drawn = await page.evaluate(() => new Set(window.__testMaps[0].queryRenderedFeatures({ layers: ['wg-sentiment-fill'] }).map((f) => f.properties.code)).size);
      const legend = await page.evaluate(() => document.body.innerText.includes('民情'));
      assert(legend, 'the layer list does not name the 民情 layer');
      await page.screenshot({ path: join(SCREENS, 'viewer-sentiment-1920.png') });
      return `${drawn} grids drawn of ${layer.body.features.length}; ${hot} need attention`;
    });
    // The server restarts for the audit reader: this context's session ends.
    await lctx.close();
    const name = 'household file: the reveal is in the audit log (wangge audit --action reveal)';
    if (!h.server || !h.bin || !h.db) skip(name, 'the run did not start the server (--base), which holds the store');
    else await step(name, async () => {
      await h.server.stop();
      let out;
      try {
        out = await audit(h.bin, h.db);
      } finally {
        await h.server.start();
      }
      const line = out.split('\n').find((l) => l.includes(`household ${household} file, person ${member}`));
      assert(line, `no audit line for the reveal of person ${member} in household ${household}:\n${out.split('\n').slice(-5).join('\n')}`);
      assert(line.includes('leader:') && line.includes(reason), `audit line without the actor or the reason: ${line}`);
      return line.trim();
    });
  }
  if (!household) await lctx.close();

  const wctx = await newContext(browser, { role: 'worker', viewport: PHONE });
  const page = await wctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  let opened = null;
  await step('household page: the worker\'s overdue list on a phone (390×844)', async () => {
    assert(lateWorker.status === 200 && lateWorker.body.total > 0, `worker's overdue list: ${lateWorker.status} ${JSON.stringify(lateWorker.body).slice(0, 200)}`);
    await page.goto(`${h.base()}/household`);
    await ready(page, '/household');
    await page.waitForSelector('#overdue-list li[data-household] a', { timeout: WAIT });
    const total = Number(await page.getAttribute('#overdue', 'data-total'));
    assert(total === lateWorker.body.total, `page shows ${total} overdue, the API ${lateWorker.body.total}`);
    await page.screenshot({ path: join(SCREENS, 'household-overdue-390.png') });
    opened = Number(await page.getAttribute('#overdue-list li[data-household]', 'data-household'));
    await page.click('#overdue-list li[data-household] a');
    await page.waitForURL(`**/household?id=${opened}`, { timeout: WAIT });
    await ready(page, `/household?id=${opened}`);
    return `${total} overdue; opened household ${opened}`;
  });
  if (opened) {
    await step('household page: the worker records a night visit with a need on a phone and sees both in the file', async () => {
      const notes = `夜访测试 ${Date.now()}`;
      const need = '需要家庭医生上门';
      await page.selectOption('#visit-kind', 'night');
      await page.fill('#visit-notes', notes);
      await page.selectOption('#need-category', 'health');
      await page.fill('#need-text', need);
      // A photo taken on the visit (a PNG of the page itself), uploaded after the visit is saved.
      const png = await page.screenshot({ clip: { x: 0, y: 0, width: 320, height: 240 } });
      await page.setInputFiles('#visit-photos', { name: 'visit.png', mimeType: 'image/png', buffer: png });
      const answer = page.waitForResponse((r) => r.url().endsWith(`/households/${opened}/visits`), { timeout: WAIT });
      await page.click('#visit-submit');
      const r = await answer;
      assert(r.status() === 201, `visit POST: HTTP ${r.status()} ${await r.text()}`);
      const rec = await r.json();
      const vid = rec.visit.id;
      const nid = rec.needs[0].id;
      await page.waitForSelector(`#hh-timeline li.visit[data-visit="${vid}"]`, { timeout: WAIT });
      const text = await page.textContent(`#hh-timeline li.visit[data-visit="${vid}"]`);
      assert(text.includes('夜访') && text.includes(need), `timeline entry: ${text}`);
      const first = await page.getAttribute('#hh-timeline li:first-child', 'data-visit');
      assert(Number(first) === vid, `the new visit is not at the top of the timeline (${first})`);
      // Its photo in the timeline: a thumbnail the browser could load.
      await page.waitForFunction((v) => {
        const i = document.querySelector(`#hh-timeline li.visit[data-visit="${v}"] .photos img[data-sha256]`);
        return i instanceof HTMLImageElement && i.complete && i.naturalWidth > 0;
      }, vid, { timeout: WAIT }).catch(async () => { throw new Error(`no visit photo shown; error ${await page.textContent('#error')}`); });
      const fileNow = await getJson(`/api/v1/households/${opened}/file`, { as: 'worker' });
      const v = fileNow.body.visits.find((x) => x.id === vid);
      assert(v && v.photos.length === 1 && v.photos[0].content_type === 'image/png', `the file's visit photos: ${JSON.stringify(v?.photos)}`);
      const sha = v.photos[0].sha256;
      const own = await getJson(`/api/v1/visits/${vid}/photos/${sha}/thumb`, { as: 'worker' });
      assert(own.status === 200, `the worker's thumbnail: ${own.status}`);
      for (const role of ['planner', 'screen']) {
        const r = await getJson(`/api/v1/visits/${vid}/photos/${sha}`, { as: role });
        assert(r.status === 403, `a visit photo as ${role}: ${r.status}`);
      }
      await page.waitForSelector(`#hh-needs li[data-need="${nid}"][data-open="true"]`, { timeout: WAIT });
      const late = await page.getAttribute('#hh-schedule', 'class');
      assert(!late.includes('late'), 'the household is still overdue after the visit');
      await page.screenshot({ path: join(SCREENS, 'household-file-390.png'), fullPage: true });
      await page.click(`#hh-needs li[data-need="${nid}"] button`);
      await page.waitForSelector(`#hh-needs li[data-need="${nid}"][data-open="false"]`, { timeout: WAIT });
      return `visit ${vid} with its photo and need ${nid} shown; need closed`;
    });
  }
  await step('household page: zero console errors (worker, phone)', async () => {
    assert(!errors.length, `${errors.length} console error(s):\n${errors.slice(0, 10).join('\n')}`);
  });
  await wctx.close();
}
