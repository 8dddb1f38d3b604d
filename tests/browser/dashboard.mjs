// Browser checks of the indicators dashboard (`/dashboard`): a leader opens it
// from the viewer; the ranking table holds exactly the rows and figures of
// `GET /api/v1/indicators` for the window the page shows, at two levels; the
// choropleth colours one area per row; the Excel download is a workbook; the
// hotspot list equals `GET /api/v1/hotspots`; the 15-minute coverage's what-if
// (a planned canteen placed by a click on the map where most households are
// beyond reach) raises the covered share exactly as `GET /api/v1/coverage?add=`
// says; element lists download as GeoParquet and Excel (people masked, for
// leaders only on this page); a worker is refused the page.
// Screenshots of the page at 1920×1080 and phone size go to docs/screens/.

import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';

const SCREENS = fileURLToPath(new URL('../../docs/screens/', import.meta.url));

/** The files of a zip archive (an .xlsx), by name, from its central directory. */
function unzip(buf) {
  const out = new Map();
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error('not a zip file');
  const n = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  for (let i = 0; i < n; i++) {
    const method = buf.readUInt16LE(at + 10);
    const size = buf.readUInt32LE(at + 20);
    const nameLen = buf.readUInt16LE(at + 28);
    const extra = buf.readUInt16LE(at + 30);
    const comment = buf.readUInt16LE(at + 32);
    const local = buf.readUInt32LE(at + 42);
    const name = buf.subarray(at + 46, at + 46 + nameLen).toString('utf8');
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const data = buf.subarray(start, start + size);
    out.set(name, method === 8 ? inflateRawSync(data) : data);
    at += 46 + nameLen + extra + comment;
  }
  return out;
}

/** The first sheet of an .xlsx as rows of cell texts (shared strings resolved). */
function xlsxRows(buf) {
  const files = unzip(buf);
  const xml = (name) => (files.get(name) || Buffer.alloc(0)).toString('utf8');
  const unescape = (t) => t.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
  const shared = [...xml('xl/sharedStrings.xml').matchAll(/<si>([\s\S]*?)<\/si>/g)]
    .map((m) => unescape([...m[1].matchAll(/<t[^>]*>([\s\S]*?)<\/t>/g)].map((t) => t[1]).join('')));
  const col = (ref) => [...ref.replace(/\d+$/, '')].reduce((n, ch) => n * 26 + ch.charCodeAt(0) - 64, 0) - 1;
  return [...xml('xl/worksheets/sheet1.xml').matchAll(/<row[^>]*>([\s\S]*?)<\/row>/g)].map((row) => {
    const cells = [];
    for (const c of row[1].matchAll(/<c r="([A-Z]+\d+)"([^>]*?)(?:\/>|>([\s\S]*?)<\/c>)/g)) {
      const v = (c[3] || '').match(/<v>([\s\S]*?)<\/v>/);
      const raw = v ? v[1] : '';
      cells[col(c[1])] = /t="s"/.test(c[2]) ? shared[Number(raw)] : unescape(raw);
    }
    return cells;
  });
}

/**
 * @param {import('playwright-core').Browser} browser
 * @param {{ step: Function, assert: Function, newContext: Function, apiJson: Function, BASE: string, OUT: string }} h
 */
export async function dashboardTests(browser, h) {
  const { step, assert, newContext, apiJson, BASE, OUT } = h;
  mkdirSync(SCREENS, { recursive: true });

  await step('dashboard: a leader opens it from the viewer; ranking table and choropleth equal /api/v1/indicators at two levels; Excel download; hotspots equal /api/v1/hotspots', async () => {
    const ctx = await newContext(browser, { role: 'leader' });
    try {
      const p = await ctx.newPage();
      await p.goto(`${BASE}/`);
      await p.waitForSelector('#dashboard-link:not([hidden])', { timeout: 30_000 });
      await Promise.all([p.waitForURL(/\/dashboard$/, { timeout: 30_000 }), p.click('#dashboard-link')]);
      await p.waitForSelector('body[data-ready="indicators"]', { timeout: 60_000 });
      const from = await p.inputValue('#from');
      const to = await p.inputValue('#to');
      assert(from && to, 'the page shows its time window');

      const compare = async (level, apiLevel) => {
        const api = await apiJson(`/api/v1/indicators?level=${level}&from=${from}&to=${to}`);
        const want = api.rows.filter((r) => r.area.level === apiLevel);
        assert(want.length > 0, `the demo has ${apiLevel} rows`);
        await p.waitForFunction((n) => document.querySelectorAll('#rank tbody tr[data-id]').length === n, want.length, { timeout: 30_000 });
        const shown = await p.$$eval('#rank tbody tr[data-id]', (trs) => trs.map((tr) => ({
          id: Number(tr.dataset.id),
          cells: [...tr.children].map((c) => c.textContent.trim()),
        })));
        for (const r of want) {
          const s = shown.find((x) => x.id === r.area.id);
          assert(s, `${apiLevel} ${r.area.id} (${r.name}) missing from the table`);
          assert(s.cells[1].includes(r.name), `${r.area.id}: name ${s.cells[1]} ≠ ${r.name}`);
          assert(s.cells[2] === String(r.events), `${r.name}: events ${s.cells[2]} ≠ ${r.events}`);
          assert(s.cells[6] === String(r.overdue), `${r.name}: overdue ${s.cells[6]} ≠ ${r.overdue}`);
          const share = r.satisfaction_share === null ? '–' : `${(r.satisfaction_share * 100).toFixed(1)}%`;
          assert(s.cells[7] === share, `${r.name}: satisfaction ${s.cells[7]} ≠ ${share}`);
        }
        // Ranked by the default indicator (events per 1,000 households, lowest first).
        const key = (id) => want.find((r) => r.area.id === id).events_per_1000_households;
        const order = shown.map((s) => key(s.id)).filter((v) => v !== null);
        for (let i = 1; i < order.length; i++) assert(order[i - 1] <= order[i], `rank order broken at ${i}: ${order[i - 1]} > ${order[i]}`);
        // The choropleth holds one area per row.
        await p.waitForFunction((n) => document.getElementById('dash-map').dataset.areas === String(n), want.length, { timeout: 30_000 });
        return want.length;
      };
      const communities = await compare('community', 'community');
      await p.selectOption('#level', 'grid');
      const grids = await compare('grid', 'comprehensive');
      // The map draws the coloured areas.
      await p.waitForFunction(() => {
        const m = window.__testMaps?.[0];
        return !!m && m.loaded() && m.queryRenderedFeatures({ layers: ['dash-areas-fill'] }).length > 0;
      }, null, { timeout: 60_000 });

      // Ranking by another indicator re-orders the table (satisfaction, highest first).
      await p.selectOption('#indicator', 'satisfaction_share');
      const sat = await p.$$eval('#rank tbody tr[data-id] td:nth-child(8)', (tds) => tds.map((td) => td.textContent.trim()).filter((t) => t !== '–').map((t) => Number.parseFloat(t)));
      for (let i = 1; i < sat.length; i++) assert(sat[i - 1] >= sat[i], `satisfaction order broken at ${i}: ${sat[i - 1]} < ${sat[i]}`);

      // The download is the same rows as an Excel workbook.
      const [dl] = await Promise.all([p.waitForEvent('download', { timeout: 30_000 }), p.click('#xlsx')]);
      const file = join(OUT, 'dashboard-indicators.xlsx');
      await dl.saveAs(file);
      const bytes = readFileSync(file);
      assert(bytes.subarray(0, 2).toString() === 'PK', 'the download is not an xlsx (zip) file');
      assert(/indicators-comprehensive\.xlsx$/.test(dl.suggestedFilename()), `file name ${dl.suggestedFilename()}`);
      // Exactly what is shown: the table's rows in the table's order, with its figures.
      const sheet = xlsxRows(bytes);
      const head = sheet[0];
      const table = await p.$$eval('#rank tbody tr[data-id]', (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent.trim())));
      assert(sheet.length - 1 === table.length, `the workbook has ${sheet.length - 1} rows, the table ${table.length}`);
      const ix = (k) => head.indexOf(k);
      assert(ix('rank') === 0 && ix('name') === 1 && ix('satisfaction_share') > 0, `workbook columns ${head}`);
      table.forEach((cells, i) => {
        const x = sheet[i + 1];
        assert(Number(x[ix('rank')]) === i + 1, `row ${i + 1}: rank ${x[ix('rank')]}`);
        assert(cells[1].includes(x[ix('name')]), `row ${i + 1}: name ${x[ix('name')]} not in "${cells[1]}"`);
        assert(String(Number(x[ix('events')])) === cells[2], `row ${i + 1}: events ${x[ix('events')]} ≠ ${cells[2]}`);
        assert(String(Number(x[ix('overdue')])) === cells[6], `row ${i + 1}: overdue ${x[ix('overdue')]} ≠ ${cells[6]}`);
        const sat = x[ix('satisfaction_share')];
        const shownSat = sat === undefined || sat === '' ? '–' : `${(Number(sat) * 100).toFixed(1)}%`;
        assert(shownSat === cells[7], `row ${i + 1}: satisfaction ${shownSat} ≠ ${cells[7]}`);
        assert(x[ix('ranked_by')] === 'satisfaction_share', `row ${i + 1}: ranked by ${x[ix('ranked_by')]}`);
      });

      // Per worker (leaders only): the table equals the API's worker rows; a worker's row colours its grid.
      const workersApi = await apiJson(`/api/v1/indicators?level=worker&from=${from}&to=${to}`);
      const wrows = workersApi.rows.filter((r) => r.area.level === 'worker');
      assert(wrows.length > 0 && wrows.every((r) => r.name && r.code && r.worker_role), 'worker rows carry a name, a grid code and a role');
      const personal = ['phone', 'national_id', 'birth_year', 'sex', 'tags'];
      assert(wrows.every((r) => personal.every((k) => !(k in r))), 'a worker row carries personal data beyond the name');
      await p.selectOption('#level', 'worker');
      await p.waitForFunction((n) => document.querySelectorAll('#rank tbody tr[data-id]').length === n, wrows.length, { timeout: 30_000 });
      const wshown = await p.$$eval('#rank tbody tr[data-id]', (trs) => trs.map((tr) => ({ id: Number(tr.dataset.id), cells: [...tr.children].map((c) => c.textContent.trim()) })));
      for (const r of wrows) {
        const sh = wshown.find((x) => x.id === r.area.id);
        assert(sh && sh.cells[1].includes(r.name) && sh.cells[1].includes(r.code), `worker ${r.area.id} (${r.name}, ${r.code}) not in the table`);
        assert(sh.cells[2] === String(r.events) && sh.cells[6] === String(r.overdue), `worker ${r.name}: ${sh.cells[2]}/${sh.cells[6]} ≠ ${r.events}/${r.overdue}`);
      }
      const workerGrids = new Set(wrows.map((r) => r.code)).size;
      await p.waitForFunction((n) => document.getElementById('dash-map').dataset.areas === String(n), workerGrids, { timeout: 60_000 });
      await p.screenshot({ path: join(SCREENS, 'dashboard-workers-1920.jpg'), type: 'jpeg', quality: 70 });
      const [wdl] = await Promise.all([p.waitForEvent('download', { timeout: 30_000 }), p.click('#xlsx')]);
      const wfile = join(OUT, 'dashboard-workers.xlsx');
      await wdl.saveAs(wfile);
      const wsheet = xlsxRows(readFileSync(wfile));
      assert(wsheet.length - 1 === wrows.length, `the worker workbook has ${wsheet.length - 1} rows, the API ${wrows.length}`);
      const wtable = await p.$$eval('#rank tbody tr[data-id] td:nth-child(2)', (tds) => tds.map((td) => td.textContent.trim()));
      wtable.forEach((cell, i) => assert(cell.includes(wsheet[i + 1][1]), `worker row ${i + 1}: ${wsheet[i + 1][1]} not in "${cell}"`));
      await p.selectOption('#level', 'grid');
      await p.waitForSelector('body[data-ready="indicators"]');

      // Hotspots: the list equals the API's for the week the page picked.
      await p.waitForSelector('#hot[data-count]', { timeout: 30_000 });
      const week = await p.inputValue('#week');
      const hot = await apiJson(`/api/v1/hotspots${week ? `?week=${week}` : ''}`);
      const count = Number(await p.getAttribute('#hot', 'data-count'));
      assert(count === hot.hotspots.length, `hotspots shown ${count} ≠ API ${hot.hotspots.length}`);
      // The map layer holds one circle per hotspot with a place; a click on one lists its events.
      const placed = hot.hotspots.filter((x) => Number.isFinite(x.lon) && Number.isFinite(x.lat)).length;
      await p.waitForFunction((n) => document.getElementById('dash-map').dataset.hotspots === String(n), placed, { timeout: 30_000 });
      if (count > 0) {
        await p.click('#hot tbody tr:first-child button');
        await p.waitForSelector('#hot-events:not([hidden])', { timeout: 30_000 });
        // The category filter narrows the list to the API's for that category.
        const cat = hot.hotspots[0].category;
        await p.selectOption('#category', cat);
        const only = await apiJson(`/api/v1/hotspots?week=${week}&category=${cat}`);
        await p.waitForFunction((n) => document.getElementById('hot').dataset.count === String(n) && document.querySelectorAll('#hot tbody tr').length === n, only.hotspots.length, { timeout: 30_000 });
        const cats = await p.$$eval('#hot tbody tr td:first-child', (tds) => tds.length);
        assert(cats === only.hotspots.length, `filtered list ${cats} ≠ API ${only.hotspots.length}`);
        // A click on the map's circle lists the events of that hotspot.
        await p.evaluate(() => { document.getElementById('hot-events').hidden = true; });
        await p.locator('#dash-map').scrollIntoViewIfNeeded();
        const px = await p.evaluate((h) => {
          const m = window.__testMaps[0];
          m.jumpTo({ center: [h.lon, h.lat], zoom: 15 });
          const q = m.project([h.lon, h.lat]);
          const r = m.getCanvas().getBoundingClientRect();
          return { x: r.left + q.x, y: r.top + q.y };
        }, only.hotspots[0]);
        await p.waitForFunction(() => window.__testMaps[0].loaded() && window.__testMaps[0].queryRenderedFeatures({ layers: ['dash-hot'] }).length > 0, null, { timeout: 30_000 });
        await p.mouse.click(px.x, px.y);
        await p.waitForSelector('#hot-events:not([hidden])', { timeout: 30_000 });
        await p.selectOption('#category', '');
        await p.waitForFunction((n) => document.getElementById('hot').dataset.count === String(n), count, { timeout: 30_000 });
      }
      await p.screenshot({ path: join(SCREENS, 'dashboard-leader-1920.jpg'), type: 'jpeg', quality: 70 });
      await p.setViewportSize({ width: 390, height: 844 });
      await p.waitForSelector('#rank tbody tr[data-id]');
      await p.screenshot({ path: join(SCREENS, 'dashboard-leader-phone.jpg'), type: 'jpeg', quality: 70 });
      return `${communities} communities and ${grids} grids as the API ranks them; ${count} hotspots`;
    } finally {
      await ctx.close();
    }
  });

  await step('dashboard: a leader downloads an element list as GeoParquet and as Excel (people masked); a planner is offered no people kinds', async () => {
    const ctx = await newContext(browser, { role: 'leader' });
    try {
      const p = await ctx.newPage();
      await p.goto(`${BASE}/dashboard`);
      await p.waitForSelector('body[data-ready="indicators"]', { timeout: 60_000 });
      await p.selectOption('#export-kind', 'buildings');
      const want = await apiJson('/api/v1/buildings?limit=1');
      const [dl] = await Promise.all([p.waitForEvent('download', { timeout: 60_000 }), p.click('#export-parquet')]);
      assert(dl.suggestedFilename() === 'buildings.parquet', `file name ${dl.suggestedFilename()}`);
      const file = join(OUT, 'dashboard-buildings.parquet');
      await dl.saveAs(file);
      const bytes = readFileSync(file);
      assert(bytes.length > 1000, `the GeoParquet has ${bytes.length} bytes`);
      assert(bytes.subarray(0, 4).toString() === 'PAR1' && bytes.subarray(-4).toString() === 'PAR1', 'the download is not a Parquet file');
      // The footer's key-value metadata holds the GeoParquet `geo` key.
      assert(bytes.includes(Buffer.from('"primary_column":"geometry"')), 'no GeoParquet geo metadata');
      const head = await ctx.request.get(`${BASE}${await p.getAttribute('#export-parquet', 'href')}`);
      assert(head.headers()['content-type'] === 'application/vnd.apache.parquet', `content type ${head.headers()['content-type']}`);
      assert(want.total > 0, 'the demo has buildings');

      // People: no GeoParquet offered; the Excel is masked and holds every person in scope.
      await p.selectOption('#export-kind', 'persons');
      assert(await p.isHidden('#export-parquet'), 'GeoParquet offered for persons (no geometry)');
      const [xdl] = await Promise.all([p.waitForEvent('download', { timeout: 60_000 }), p.click('#export-xlsx')]);
      assert(xdl.suggestedFilename() === 'persons.xlsx', `file name ${xdl.suggestedFilename()}`);
      const xfile = join(OUT, 'dashboard-persons.xlsx');
      await xdl.saveAs(xfile);
      const xbytes = readFileSync(xfile);
      assert(xbytes.subarray(0, 2).toString() === 'PK', 'the download is not an xlsx (zip) file');
      const rows = xlsxRows(xbytes);
      const info = await apiJson('/api/v1/info');
      assert(rows.length - 1 === info.elements.persons, `the workbook has ${rows.length - 1} people, /api/v1/info ${info.elements.persons}`);
      const nid = rows[0].findIndex((h) => /national_id$/.test(h || ''));
      assert(nid >= 0, `no national_id column in ${rows[0]}`);
      const ids = rows.slice(1).map((r) => r[nid]).filter(Boolean);
      assert(ids.length > 0 && ids.every((v) => /^\d{6}\*{12}$/.test(v)), `ID numbers not masked: ${ids.slice(0, 3)}`);
    } finally {
      await ctx.close();
    }
    const planner = await newContext(browser, { role: 'planner' });
    try {
      const p = await planner.newPage();
      await p.goto(`${BASE}/dashboard`);
      await p.waitForSelector('body[data-ready="indicators"]', { timeout: 60_000 });
      const kinds = await p.$$eval('#export-kind option', (os) => os.map((o) => /** @type {HTMLOptionElement} */ (o).value));
      assert(kinds.includes('buildings') && !kinds.includes('persons') && !kinds.includes('households'), `planner offered ${kinds}`);
    } finally {
      await planner.close();
    }
  });

  await step('dashboard: coverage counts every key population as the API; what-if — a canteen planned by a click where most households are beyond reach raises the covered share as the API computes it', async () => {
    const ctx = await newContext(browser, { role: 'leader' });
    try {
      const p = await ctx.newPage();
      await p.goto(`${BASE}/dashboard`);
      await p.waitForSelector('body[data-coverage="ready"]', { timeout: 120_000 });
      // Every key population the store tags: households and those beyond, as the API counts them.
      // (The page sums the grids of the map layer, as it does for the covered share.)
      const covMap = await apiJson('/api/v1/coverage?service=elderly_canteen&minutes=15&format=geojson');
      const sums = new Map();
      for (const f of covMap.features) {
        for (const k of f.properties.key_populations) {
          const x = sums.get(k.tag) || { tag: k.tag, households: 0, households_beyond: 0 };
          x.households += k.households;
          x.households_beyond += k.households_beyond;
          sums.set(k.tag, x);
        }
      }
      const keys = [...sums.values()].filter((k) => k.households > 0);
      assert(keys.length > 1, `the demo tags more than one key population: ${JSON.stringify(keys)}`);
      const shownKeys = await p.$$eval('#cov-keys tbody tr', (trs) => trs.map((tr) => ({ tag: tr.dataset.tag, cells: [...tr.children].map((c) => c.textContent.trim()) })));
      assert(shownKeys.length === keys.length, `the page lists ${shownKeys.length} key populations, the API ${keys.length}`);
      for (const k of keys) {
        const row = shownKeys.find((x) => x.tag === k.tag);
        assert(row && row.cells[1] === String(k.households) && row.cells[2] === String(k.households_beyond), `${k.tag}: page ${row?.cells}, API ${k.households}/${k.households_beyond}`);
      }
      const totals = (fc) => {
        let hh = 0;
        let beyond = 0;
        for (const f of fc.features) {
          hh += f.properties.households;
          beyond += f.properties.households_beyond;
        }
        return hh > 0 ? (hh - beyond) / hh : null;
      };
      const base = await apiJson('/api/v1/coverage?service=elderly_canteen&minutes=15&format=geojson');
      const baseShare = totals(base);
      const shownBase = Number(await p.getAttribute('#cov-summary', 'data-share'));
      assert(Math.abs(shownBase - baseShare) < 1e-9, `page shows ${shownBase}, API ${baseShare}`);
      // The grid with the most households beyond reach, at a point inside it.
      const worst = [...base.features].sort((a, b) => b.properties.households_beyond - a.properties.households_beyond)[0];
      assert(worst && worst.properties.households_beyond > 0, 'every household is already within reach: nothing to plan');
      const grids = await apiJson(`/api/v1/grids?kind=comprehensive&limit=1000`);
      const g = grids.features.find((f) => f.properties.code === worst.properties.code);
      assert(g && g.properties.interior_point, `grid ${worst.properties.code} has no interior point`);
      const [lon, lat] = g.properties.interior_point;
      const planned = await apiJson(`/api/v1/coverage?service=elderly_canteen&minutes=15&format=geojson&add=${lon.toFixed(6)},${lat.toFixed(6)}`);
      const wantShare = totals(planned);
      assert(wantShare > baseShare, `the API's what-if does not raise coverage: ${baseShare} → ${wantShare}`);
      // Click the map there (the section is below the fold: bring it into view first).
      await p.$eval('#cov-map', (el) => el.scrollIntoView({ block: 'center' }));
      const xy = await p.evaluate(([x, y]) => {
        const m = window.__testMaps[1];
        m.jumpTo({ center: [x, y], zoom: 15 });
        const pt = m.project([x, y]);
        const r = m.getCanvas().getBoundingClientRect();
        return [r.left + pt.x, r.top + pt.y];
      }, [lon, lat]);
      await p.mouse.click(xy[0], xy[1]);
      await p.waitForSelector('#cov-summary[data-planned="1"]', { timeout: 120_000 });
      const shown = Number(await p.getAttribute('#cov-summary', 'data-share'));
      assert(Math.abs(shown - wantShare) < 0.01, `page shows ${shown} after the click, the API ${wantShare} for the same place`);
      assert(shown > baseShare, `covered share did not rise: ${baseShare} → ${shown}`);
      await p.screenshot({ path: join(SCREENS, 'dashboard-coverage-whatif-1920.jpg'), type: 'jpeg', quality: 70 });
      return `covered ${(baseShare * 100).toFixed(1)}% → ${(shown * 100).toFixed(1)}% with a canteen planned in grid ${worst.properties.code}`;
    } finally {
      await ctx.close();
    }
  });

  await step('dashboard: a worker and the big screen are refused the page', async () => {
    for (const role of ['worker', 'screen']) {
      const ctx = await newContext(browser, { role });
      try {
        const r = await ctx.request.get(`${BASE}/dashboard`, { maxRedirects: 0 });
        assert(r.status() === 403, `${role} opened /dashboard: ${r.status()}`);
      } finally {
        await ctx.close();
      }
    }
  });
}
