// Browser checks of the indicators dashboard (`/dashboard`): a leader opens it
// from the viewer; the ranking table holds exactly the rows and figures of
// `GET /api/v1/indicators` for the window the page shows, at two levels; the
// choropleth colours one area per row; the Excel download is a workbook; the
// hotspot list equals `GET /api/v1/hotspots`; the 15-minute coverage's what-if
// (a planned canteen placed by a click on the map where most households are
// beyond reach) raises the covered share exactly as `GET /api/v1/coverage?add=`
// says; a worker is refused the page.
// Screenshots of the page at 1920×1080 and phone size go to docs/screens/.

import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const SCREENS = fileURLToPath(new URL('../../docs/screens/', import.meta.url));

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

      // Hotspots: the list equals the API's for the week the page picked.
      await p.waitForSelector('#hot[data-count]', { timeout: 30_000 });
      const week = await p.inputValue('#week');
      const hot = await apiJson(`/api/v1/hotspots${week ? `?week=${week}` : ''}`);
      const count = Number(await p.getAttribute('#hot', 'data-count'));
      assert(count === hot.hotspots.length, `hotspots shown ${count} ≠ API ${hot.hotspots.length}`);
      if (count > 0) {
        await p.click('#hot tbody tr:first-child button');
        await p.waitForSelector('#hot-events:not([hidden])', { timeout: 30_000 });
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

  await step('dashboard: coverage what-if — a canteen planned by a click where most households are beyond reach raises the covered share as the API computes it', async () => {
    const ctx = await newContext(browser, { role: 'leader' });
    try {
      const p = await ctx.newPage();
      await p.goto(`${BASE}/dashboard`);
      await p.waitForSelector('body[data-coverage="ready"]', { timeout: 120_000 });
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
