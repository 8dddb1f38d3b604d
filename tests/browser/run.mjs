#!/usr/bin/env node
// Real-browser tests of the Wangge viewer (/), big screen (/screen) and embed
// page (/embed), against a running server:
//
//   node tests/browser/run.mjs --base http://127.0.0.1:8099 --out target/browser
//
// Drives Debian's Chromium (/usr/bin/chromium, override with --chromium or
// $CHROMIUM) through playwright-core. WebGL must work headless (SwiftShader);
// without it the run fails and says so. Exits non-zero on any failure.

import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { join, resolve, extname } from 'node:path';

const args = parseArgs(process.argv.slice(2));
const BASE = (args.base || process.env.WANGGE_BASE || 'http://127.0.0.1:8099').replace(/\/$/, '');
const ORIGIN = new URL(BASE).origin;
const OUT = resolve(args.out || 'target/browser');
const CHROMIUM = args.chromium || process.env.CHROMIUM || '/usr/bin/chromium';
const VIEWPORT = { width: 1920, height: 1080 };
const READY_MS = Number(args['ready-timeout'] || 90_000);
// Development aid: `--assets web-viewer/assets/dist` serves our pages' files from
// disk instead of the copies embedded in the server binary (no rebuild needed).
const ASSETS = args.assets ? resolve(args.assets) : null;
const LAUNCH_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
  '--use-gl=swiftshader', '--enable-unsafe-swiftshader',
];

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    const [k, v] = a.slice(2).split('=');
    out[k] = v !== undefined ? v : argv[i + 1] && !argv[i + 1].startsWith('--') ? argv[++i] : 'true';
  }
  return out;
}

// ---------------------------------------------------------------- harness
const results = [];
async function step(name, fn) {
  const t0 = Date.now();
  try {
    const note = await fn();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - t0} ms)${note ? ` — ${note}` : ''}`);
    return true;
  } catch (e) {
    results.push({ name, ok: false, error: e.message });
    console.log(`FAIL ${name} (${Date.now() - t0} ms)\n     ${String(e.message).split('\n').join('\n     ')}`);
    return false;
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function getJson(path, init = {}) {
  const res = await fetch(BASE + path, init);
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch (_) {
    body = text;
  }
  return { status: res.status, body };
}
async function apiJson(path) {
  const { status, body } = await getJson(path);
  assert(status === 200, `GET ${path}: expected 200, got ${status}: ${JSON.stringify(body).slice(0, 300)}`);
  return body;
}

// ---------------------------------------------------------------- geometry
function outerRings(geom) {
  if (!geom) return [];
  if (geom.type === 'Polygon') return [geom.coordinates];
  if (geom.type === 'MultiPolygon') return geom.coordinates;
  return [];
}
function inRing(pt, ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if ((yi > pt[1]) !== (yj > pt[1]) && pt[0] < ((xj - xi) * (pt[1] - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}
function segDist(p, a, b) {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const l2 = dx * dx + dy * dy;
  let t = l2 ? ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / l2 : 0;
  t = Math.max(0, Math.min(1, t));
  return Math.hypot(p[0] - (a[0] + t * dx), p[1] - (a[1] + t * dy));
}
/** A point well inside the largest polygon of `geom` (grid search maximising edge distance). */
function interiorPoint(geom) {
  let best = null;
  for (const poly of outerRings(geom)) {
    const outer = poly[0];
    const xs = outer.map((c) => c[0]);
    const ys = outer.map((c) => c[1]);
    const [w, e, s, n] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const N = 40;
    for (let i = 1; i < N; i++) {
      for (let j = 1; j < N; j++) {
        const p = [w + ((e - w) * i) / N, s + ((n - s) * j) / N];
        if (!inRing(p, outer) || poly.slice(1).some((h) => inRing(p, h))) continue;
        let d = Infinity;
        for (const ring of poly) for (let k = 1; k < ring.length; k++) d = Math.min(d, segDist(p, ring[k - 1], ring[k]));
        if (!best || d > best.d) best = { p, d };
      }
    }
  }
  return best && best.p;
}
function bboxOf(geom) {
  const xs = [];
  const ys = [];
  for (const poly of outerRings(geom)) for (const c of poly[0]) {
    xs.push(c[0]);
    ys.push(c[1]);
  }
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

// ---------------------------------------------------------------- page helpers
function watch(page, label) {
  const log = { errors: [], requests: [], foreign: [], failed: [] };
  page.on('console', (m) => {
    if (m.type() === 'error') log.errors.push(`console.error: ${m.text()}${m.location() && m.location().url ? ` (${m.location().url})` : ''}`);
    if (m.type() === 'info' && m.text().startsWith('first-render-ms')) log.firstRender = m.text();
  });
  page.on('pageerror', (e) => log.errors.push(`uncaught: ${e.message}`));
  page.on('request', (r) => {
    const u = r.url();
    log.requests.push(u);
    if (/^(data|blob|about):/.test(u)) return;
    if (new URL(u).origin !== ORIGIN) log.foreign.push(u);
  });
  page.on('requestfailed', (r) => {
    const f = r.failure();
    // Aborted tile requests are normal when the view or the filters change.
    if (f && /ERR_ABORTED/.test(f.errorText)) return;
    log.failed.push(`${r.url()}: ${f && f.errorText}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) log.failed.push(`${r.request().method()} ${r.url()}: HTTP ${r.status()}`);
  });
  log.label = label;
  return log;
}
async function waitReady(target, what) {
  try {
    await target.waitForFunction(() => document.body && (document.body.dataset.ready === '1' || document.body.dataset.failed), null, { timeout: READY_MS, polling: 200 });
  } catch (_) {
    throw new Error(`${what}: not ready after ${READY_MS} ms (document.body.dataset.ready never became "1")`);
  }
  const failed = await target.evaluate(() => document.body.dataset.failed);
  assert(!failed, `${what}: page failed to start: ${failed}`);
}
/** Waits until the map is idle (all tiles loaded and rendered). */
async function idle(target) {
  await target.evaluate(() => new Promise((res) => {
    const map = window.__wangge.map;
    const done = () => setTimeout(res, 50);
    if (map.loaded() && map.areTilesLoaded() && !map.isMoving()) {
      map.once('idle', done);
      map.triggerRepaint();
      setTimeout(done, 3000);
    } else map.once('idle', done);
  }));
}
async function renderedBySource(target) {
  return target.evaluate(() => {
    const out = {};
    for (const f of window.__wangge.map.queryRenderedFeatures()) out[f.source] = (out[f.source] || 0) + 1;
    return out;
  });
}
async function heatMeasure(target) {
  return target.evaluate(() => {
    const map = window.__wangge.map;
    const n = (v) => (Number.isFinite(Number(v)) ? Number(v) : 1);
    const hex = map.getLayer('wg-hex') ? map.queryRenderedFeatures({ layers: ['wg-hex'] }) : [];
    const src = map.getSource('wg-heatmap');
    const layer = map.getLayer('wg-hex');
    const srcFeatures = src && layer ? map.querySourceFeatures('wg-heatmap', { sourceLayer: layer.sourceLayer }) : [];
    const ev = map.getLayer('wg-events') ? map.queryRenderedFeatures({ layers: ['wg-events'] }) : [];
    return {
      hexRendered: hex.length,
      hexSum: hex.reduce((a, f) => a + n(f.properties.count), 0),
      sourceSum: srcFeatures.reduce((a, f) => a + n(f.properties.count), 0),
      eventsRendered: ev.length,
      tiles: src && src.tiles ? src.tiles[0] : null,
    };
  });
}

// ---------------------------------------------------------------- the tests
async function main() {
  mkdirSync(OUT, { recursive: true });
  console.log(`browser tests against ${BASE}, screenshots to ${OUT}${ASSETS ? `, page assets from ${ASSETS}` : ''}`);
  let browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  } catch (e) {
    console.log(`FAIL cannot launch Chromium at ${CHROMIUM}: ${e.message.split('\n')[0]}\n(install it with: apt-get install -y chromium)`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  try {
    await run(browser);
  } finally {
    await browser.close();
  }
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  if (failed) {
    console.log('\nfailures:');
    for (const r of results.filter((x) => !x.ok)) console.log(`- ${r.name}: ${r.error.split('\n')[0]}`);
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

async function newContext(browser) {
  const ctx = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1 });
  if (ASSETS) {
    const types = { '.js': 'text/javascript', '.css': 'text/css', '.html': 'text/html; charset=utf-8' };
    await ctx.route(/\/assets\/[\w.-]+$/, (route) => {
      const name = new URL(route.request().url()).pathname.replace('/assets/', '');
      const file = join(ASSETS, name);
      if (name.startsWith('maplibre-gl') || !existsSync(file)) return route.continue();
      return route.fulfill({ status: 200, contentType: types[extname(name)] || 'application/octet-stream', body: readFileSync(file) });
    });
  }
  return ctx;
}

async function run(browser) {
  // WebGL first: without it nothing else can pass, so stop with the reason.
  const webglOk = await step('headless Chromium has WebGL', async () => {
    const page = await browser.newPage();
    const gl = await page.evaluate(() => {
      const c = document.createElement('canvas');
      const g = c.getContext('webgl2') || c.getContext('webgl');
      if (!g) return null;
      const dbg = g.getExtension('WEBGL_debug_renderer_info');
      return { version: g.getParameter(g.VERSION), renderer: dbg ? g.getParameter(dbg.UNMASKED_RENDERER_WEBGL) : g.getParameter(g.RENDERER) };
    });
    await page.close();
    assert(gl, `WebGL is unavailable in headless Chromium (${CHROMIUM}) with ${LAUNCH_ARGS.join(' ')}: the map cannot render`);
    return `${gl.version}, ${gl.renderer}`;
  });
  if (!webglOk) return;

  let grid;
  let gridDetail;
  let info;
  const serverOk = await step('server answers /healthz, /api/v1/info, /api/v1/grids?limit=1', async () => {
    const h = await apiJson('/healthz');
    assert(h.status === 'ok', `/healthz: expected status "ok", got ${JSON.stringify(h)}`);
    info = await apiJson('/api/v1/info');
    const fc = await apiJson('/api/v1/grids?limit=1');
    assert(Array.isArray(fc.features) && fc.features.length === 1, `/api/v1/grids?limit=1: expected a FeatureCollection with 1 feature, got ${JSON.stringify(fc).slice(0, 200)}`);
    grid = fc.features[0];
    assert(grid.properties && grid.properties.code, `/api/v1/grids?limit=1: feature has no properties.code: ${JSON.stringify(grid.properties)}`);
    assert(outerRings(grid.geometry).length, `/api/v1/grids?limit=1: geometry is not a (Multi)Polygon: ${grid.geometry && grid.geometry.type}`);
    gridDetail = await apiJson(`/api/v1/grids/${encodeURIComponent(grid.properties.code)}`);
    assert(Number.isFinite(Number(gridDetail.households)), `/api/v1/grids/${grid.properties.code}: households is not a number: ${gridDetail.households}`);
    return `grid ${grid.properties.code} (${grid.properties.kind}), ${gridDetail.households} households`;
  });
  if (!serverOk) return;
  const code = String(grid.properties.code);
  const kind = grid.properties.kind || gridDetail.kind || 'comprehensive';
  const point = interiorPoint(grid.geometry);
  const gbbox = Array.isArray(gridDetail.bbox) && gridDetail.bbox.length === 4 ? gridDetail.bbox : bboxOf(grid.geometry);

  // ---- viewer
  const ctx = await newContext(browser);
  const page = await ctx.newPage();
  const vlog = watch(page, '/');
  let viewerReady = await step('viewer / loads and renders (document.body.dataset.ready)', async () => {
    await page.goto(`${BASE}/`, { waitUntil: 'domcontentloaded' });
    await waitReady(page, '/');
    const ms = await page.evaluate(() => window.__wangge.firstRenderMs);
    assert(Number.isFinite(ms), `window.__wangge.firstRenderMs is not set: ${ms}`);
    console.log(`first-render-ms ${ms}`);
    await page.screenshot({ path: join(OUT, 'viewer.png') });
    return `time to first full render ${ms} ms`;
  });
  if (viewerReady) {
    await step('viewer renders grids and buildings (queryRenderedFeatures)', async () => {
      let by = await renderedBySource(page);
      if (!(by['wg-buildings'] > 0) || !(by['wg-grids'] > 0)) {
        // Buildings may only be in tiles from a higher zoom: look at the test grid closely.
        await page.evaluate((b) => window.__wangge.map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { animate: false, padding: 40 }), gbbox);
        await idle(page);
        by = await renderedBySource(page);
      }
      assert(by['wg-grids'] > 0, `no rendered features from source wg-grids (/tiles/grids/...); rendered per source: ${JSON.stringify(by)}`);
      assert(by['wg-buildings'] > 0, `no rendered features from source wg-buildings (/tiles/buildings/...); rendered per source: ${JSON.stringify(by)}`);
      return JSON.stringify(by);
    });

    await step(`clicking grid ${code} shows its household count (${gridDetail.households})`, async () => {
      assert(point, `no interior point found for grid ${code}`);
      // Show only the base map and this grid's kind, so nothing else takes the click.
      for (const el of await page.$$('#layer-list input[data-layer]')) {
        const k = await el.getAttribute('data-layer');
        await el.setChecked(k === 'base' || k === `grids-${kind}`);
      }
      await page.evaluate((b) => window.__wangge.map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { animate: false, padding: { top: 120, bottom: 80, left: 320, right: 420 } }), gbbox);
      await idle(page);
      const px = await page.evaluate((p) => {
        const map = window.__wangge.map;
        const q = map.project(p);
        const r = map.getCanvas().getBoundingClientRect();
        const hit = map.queryRenderedFeatures(q).filter((f) => f.source === 'wg-grids').map((f) => String(f.properties.code));
        return { x: r.left + q.x, y: r.top + q.y, hit };
      }, point);
      assert(px.hit.includes(code), `grid ${code} is not rendered at its interior point ${point} (pixel ${px.x.toFixed(0)},${px.y.toFixed(0)}); grids rendered there: ${JSON.stringify(px.hit)}`);
      await page.mouse.click(px.x, px.y);
      await page.waitForSelector('#panel[data-state="ready"] [data-field="households"]', { timeout: 10_000 }).catch(async () => {
        const st = await page.evaluate(() => ({ state: document.getElementById('panel').dataset.state, html: document.getElementById('panel-body').textContent.slice(0, 200) }));
        throw new Error(`grid panel did not show after clicking at ${px.x.toFixed(0)},${px.y.toFixed(0)}: ${JSON.stringify(st)}`);
      });
      const shownCode = await page.textContent('#panel [data-field="code"]');
      const shown = await page.textContent('#panel [data-field="households"]');
      assert(shownCode.trim() === code, `panel shows grid ${shownCode}, expected ${code}`);
      const n = Number(shown.replace(/[^\d.]/g, ''));
      assert(n === Number(gridDetail.households), `panel shows ${shown} households, API /api/v1/grids/${code} says ${gridDetail.households}`);
      await page.screenshot({ path: join(OUT, 'viewer-grid.png') });
      const sel = await page.evaluate(() => location.hash);
      assert(sel.includes(`sel=grid:${code}`), `URL hash does not hold the selection: ${sel}`);
      return `panel shows ${shown.trim()}`;
    });

    await step('changing the time filter changes the heatmap', async () => {
      // Pick a window whose API total differs from the unfiltered one.
      const all = await apiJson('/api/v1/heatmap');
      const total = (r) => (r.cells || []).reduce((a, c) => a + Number(c.count || 0), 0);
      const allTotal = total(all);
      let days = null;
      let winTotal = null;
      for (const d of [30, 7, 90, 180, 1]) {
        const from = new Date(Date.now() - d * 86400e3).toISOString().slice(0, 10);
        const t = total(await apiJson(`/api/v1/heatmap?from=${from}`));
        if (t !== allTotal) {
          days = d;
          winTotal = t;
          break;
        }
      }
      assert(days !== null, `/api/v1/heatmap returns the same total (${allTotal}) for every from= window tried: cannot test the time filter`);
      for (const el of await page.$$('#layer-list input[data-layer]')) {
        const k = await el.getAttribute('data-layer');
        await el.setChecked(k === 'base' || k === 'hex' || k === 'events');
      }
      await page.evaluate((e) => {
        const map = window.__wangge.map;
        if (e) map.fitBounds([[e[0], e[1]], [e[2], e[3]]], { animate: false, padding: 40 });
      }, info && Array.isArray(info.extent) ? info.extent : null);
      await idle(page);
      const before = await heatMeasure(page);
      await page.fill('#time-from', String(-days));
      await page.dispatchEvent('#time-from', 'change');
      await page.waitForFunction(() => /[?&]from=/.test((window.__wangge.map.getSource('wg-heatmap').tiles || [''])[0]), null, { timeout: 5000 })
        .catch(() => { throw new Error('heatmap source tiles did not get a from= parameter after moving the time slider'); });
      await idle(page);
      const after = await heatMeasure(page);
      const changed = before.sourceSum !== after.sourceSum || before.hexSum !== after.hexSum || before.eventsRendered !== after.eventsRendered;
      assert(changed, `heatmap unchanged after setting from = ${days} days ago (API totals ${allTotal} → ${winTotal}): before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`);
      const hash = await page.evaluate(() => location.hash);
      assert(/[&#]from=\d{4}-\d{2}-\d{2}/.test(hash), `URL hash does not hold the time filter: ${hash}`);
      return `last ${days} days: hex sum ${before.hexSum} → ${after.hexSum}, source sum ${before.sourceSum} → ${after.sourceSum}, event points ${before.eventsRendered} → ${after.eventsRendered} (API ${allTotal} → ${winTotal})`;
    });

    // Building and event panels: click a rendered feature where it alone answers.
    const clickFeature = async (layerKey, layerId, what) => {
      for (const el of await page.$$('#layer-list input[data-layer]')) {
        const k = await el.getAttribute('data-layer');
        await el.setChecked(k === 'base' || k === layerKey);
      }
      await page.evaluate((b) => window.__wangge.map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { animate: false, padding: { top: 120, bottom: 80, left: 320, right: 420 } }), gbbox);
      await idle(page);
      const target = await page.evaluate((id) => {
        const map = window.__wangge.map;
        const r = map.getCanvas().getBoundingClientRect();
        for (const f of map.queryRenderedFeatures({ layers: [id] }).slice(0, 200)) {
          if (f.id == null) continue;
          const g = f.geometry;
          const ring = g.type === 'Point' ? [g.coordinates] : g.type === 'Polygon' ? g.coordinates[0] : g.type === 'MultiPolygon' ? g.coordinates[0][0] : null;
          if (!ring) continue;
          const pts = ring.length > 1 ? ring.slice(0, -1) : ring;
          const c = [pts.reduce((a, p) => a + p[0], 0) / pts.length, pts.reduce((a, p) => a + p[1], 0) / pts.length];
          const q = map.project(c);
          if (q.x < 330 || q.y < 130 || q.x > r.width - 430 || q.y > r.height - 90) continue;
          const top = map.queryRenderedFeatures([[q.x - 3, q.y - 3], [q.x + 3, q.y + 3]], { layers: [id] });
          if (top.length && top[0].id === f.id) return { id: f.id, x: r.left + q.x, y: r.top + q.y };
        }
        return null;
      }, layerId);
      assert(target, `no clickable ${what} with a tile feature id rendered in layer ${layerId} around grid ${code}`);
      await page.mouse.click(target.x, target.y);
      await page.waitForFunction(() => ['ready', 'error'].includes(document.getElementById('panel').dataset.state), null, { timeout: 10_000 })
        .catch(() => { throw new Error(`no panel after clicking ${what} ${target.id}`); });
      const panel = await page.evaluate(() => ({ kind: document.getElementById('panel').dataset.kind, state: document.getElementById('panel').dataset.state, text: document.getElementById('panel-body').textContent.trim().slice(0, 200) }));
      assert(panel.state === 'ready', `panel for ${what} ${target.id} failed: ${panel.text}`);
      return { id: target.id, panel };
    };
    await step('clicking a building shows GET /api/v1/buildings/{id}', async () => {
      const { id, panel } = await clickFeature('buildings', 'wg-buildings-fill', 'building');
      assert(panel.kind === 'building', `clicked building ${id}, panel shows a ${panel.kind}`);
      const b = await apiJson(`/api/v1/buildings/${id}`);
      const shown = (await page.textContent('#panel [data-field="households"]')).replace(/[^\d]/g, '');
      assert(Number(shown) === Number(b.households), `building ${id}: panel shows ${shown} households, API says ${b.households}`);
      return `building ${id}, ${shown} households`;
    });
    await step('clicking an event shows its timeline (GET /api/v1/events/{id})', async () => {
      const { id, panel } = await clickFeature('events', 'wg-events', 'event');
      assert(panel.kind === 'event', `clicked event ${id}, panel shows a ${panel.kind}`);
      const ev = await apiJson(`/api/v1/events/${id}`);
      const items = await page.$$eval('#panel .timeline li', (l) => l.length);
      const want = Array.isArray(ev.timeline) ? ev.timeline.length : 0;
      assert(items === Math.max(1, want), `event ${id}: panel timeline has ${items} entries, API has ${want}`);
      await page.screenshot({ path: join(OUT, 'viewer-event.png') });
      return `event ${id}, ${want} timeline entries`;
    });
    await step(`search for "${code}" flies to the grid and opens it`, async () => {
      await page.evaluate(() => window.__wangge.map.jumpTo({ center: [0, 0], zoom: 3 }));
      await page.click('#panel-close');
      await page.fill('#search', code);
      await page.waitForSelector('#search-results button[data-i]', { timeout: 5000 })
        .catch(() => { throw new Error(`no search results for ${code} (GET /api/v1/search?q=${code})`); });
      await page.press('#search', 'Enter');
      await page.waitForSelector('#panel[data-state="ready"][data-kind="grid"] [data-field="code"]', { timeout: 10_000 });
      const shown = (await page.textContent('#panel [data-field="code"]')).trim();
      assert(shown === code, `search opened grid ${shown}, expected ${code}`);
      await page.waitForFunction(() => !window.__wangge.map.isMoving(), null, { timeout: 10_000 });
      const c = await page.evaluate(() => window.__wangge.map.getCenter().toArray());
      const [w, so, e, n] = gbbox;
      const dx = e - w;
      const dy = n - so;
      assert(c[0] >= w - dx && c[0] <= e + dx && c[1] >= so - dy && c[1] <= n + dy, `map centre ${c} is not at grid ${code} (bbox ${gbbox})`);
      return `centre ${c.map((x) => x.toFixed(4))}`;
    });
    await step('viewer: a shared URL restores view, layers, filters and selection; English switch', async () => {
      // The hash is written shortly after the map stops moving.
      await page.waitForTimeout(600);
      const shared = await page.evaluate(() => location.href);
      const p2 = await ctx.newPage();
      const log2 = watch(p2, '/ (shared link)');
      await p2.goto(shared, { waitUntil: 'domcontentloaded' });
      await waitReady(p2, 'shared link');
      const [a, b] = await Promise.all([page, p2].map((pg) => pg.evaluate(() => {
        const s = window.__wangge.state;
        const m = window.__wangge.map;
        return { layers: [...s.layers].sort().join(','), filters: JSON.stringify(s.filters), sel: s.selection && `${s.selection.kind}:${s.selection.id}`, z: m.getZoom().toFixed(1), c: m.getCenter().toArray().map((x) => x.toFixed(3)).join(',') };
      })));
      assert(JSON.stringify(a) === JSON.stringify(b), `shared link ${shared} restored ${JSON.stringify(b)}, expected ${JSON.stringify(a)}`);
      await p2.click('#lang');
      const h1 = (await p2.textContent('#topbar h1')).trim();
      assert(h1 === 'Grid governance map', `after the language switch the title reads "${h1}"`);
      assert(!log2.errors.length, `console errors on the shared link:\n${log2.errors.join('\n')}`);
      await p2.close();
      return `${JSON.stringify(b)}`;
    });
  }
  await step('viewer: zero console errors', async () => {
    assert(!vlog.errors.length, `${vlog.errors.length} console error(s) on /:\n${vlog.errors.slice(0, 15).join('\n')}${vlog.failed.length ? `\nfailed requests:\n${vlog.failed.slice(0, 15).join('\n')}` : ''}`);
  });
  await step('viewer: no request leaves the server', async () => {
    assert(!vlog.foreign.length, `${vlog.foreign.length} request(s) to other hosts:\n${[...new Set(vlog.foreign)].slice(0, 15).join('\n')}`);
    return `${vlog.requests.length} requests, all to ${ORIGIN}`;
  });
  await ctx.close();

  // ---- big screen
  const sctx = await newContext(browser);
  const spage = await sctx.newPage();
  const slog = watch(spage, '/screen');
  const screenReady = await step('big screen /screen loads with KPI tiles', async () => {
    await spage.goto(`${BASE}/screen`, { waitUntil: 'domcontentloaded' });
    await waitReady(spage, '/screen');
    await spage.waitForFunction(() => window.__wangge.state.kpi, null, { timeout: 10_000 })
      .catch(() => { throw new Error('KPI tiles never filled from /api/v1/kpi'); });
    const kpi = await apiJson('/api/v1/kpi');
    const shown = (await spage.textContent('.kpi[data-kpi="events_today"] .value')).replace(/[^\d]/g, '');
    assert(Number(shown) >= Number(kpi.events_today) - 5 && Number(shown) <= Number(kpi.events_today) + 5, `KPI events_today shows ${shown}, /api/v1/kpi says ${kpi.events_today}`);
    return `KPI ${JSON.stringify(kpi)}`;
  });
  if (screenReady) {
    await step('big screen: a POSTed event appears in the live feed within 2 s', async () => {
      await spage.waitForFunction(() => window.__wangge.state.connected, null, { timeout: 10_000 })
        .catch(() => { throw new Error('EventSource /api/v1/stream/events never opened (badge still "reconnecting")'); });
      const title = `浏览器测试 ${Date.now()}`;
      const body = { category: '02.05', title, lon: point[0], lat: point[1], source: 'resident' };
      const t0 = Date.now();
      let res = await getJson('/api/v1/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      let role = 'default';
      if (res.status === 401 || res.status === 403) {
        role = 'public';
        res = await getJson('/api/v1/events', { method: 'POST', headers: { 'content-type': 'application/json', 'x-wangge-role': 'public' }, body: JSON.stringify(body) });
      }
      assert(res.status === 201, `POST /api/v1/events (role ${role}): expected 201, got ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
      try {
        await spage.waitForFunction((t) => [...document.querySelectorAll('#feed li')].some((li) => li.textContent.includes(t)), title, { timeout: 2000, polling: 50 });
      } catch (_) {
        throw new Error(`event "${title}" (201 from POST /api/v1/events) not in the feed 2 s later; feed has ${await spage.$$eval('#feed li', (l) => l.length)} items`);
      }
      const ms = Date.now() - t0;
      await spage.waitForTimeout(300);
      await spage.screenshot({ path: join(OUT, 'screen.png') });
      return `appeared after ${ms} ms`;
    });
    await step('big screen: feed keeps at most 50 items', async () => {
      const n = await spage.evaluate(() => document.querySelectorAll('#feed li').length);
      assert(n <= 50, `feed holds ${n} items`);
      return `${n} item(s)`;
    });
  }
  if (!results.find((r) => r.name.startsWith('big screen: a POSTed')) || !results.find((r) => r.name.startsWith('big screen: a POSTed')).ok) {
    await spage.screenshot({ path: join(OUT, 'screen.png') }).catch(() => {});
  }
  await step('big screen: zero console errors', async () => {
    assert(!slog.errors.length, `${slog.errors.length} console error(s) on /screen:\n${slog.errors.slice(0, 15).join('\n')}`);
  });
  await sctx.close();

  // ---- embed inside a host page (served by request interception on the server's origin)
  const ectx = await newContext(browser);
  const hostUrl = `${ORIGIN}/__wangge_browser_test_host.html`;
  const embedSrc = `/embed?grid=${encodeURIComponent(code)}&layers=base,grids-${kind},hex,events`;
  await ectx.route(hostUrl, (route) => route.fulfill({
    status: 200,
    contentType: 'text/html; charset=utf-8',
    body: `<!doctype html><html><head><meta charset="utf-8"><style>html,body{margin:0;height:100%}iframe{border:0;width:100%;height:100%;display:block}</style></head>
<body><iframe id="wg" src="${embedSrc}"></iframe>
<script>window.__msgs=[];window.addEventListener('message',(e)=>{if(e.origin===${JSON.stringify(ORIGIN)})window.__msgs.push(e.data)});</script></body></html>`,
  }));
  const epage = await ectx.newPage();
  const elog = watch(epage, '/embed');
  let frame;
  const embedReady = await step(`embed ${embedSrc} selects and frames grid ${code}`, async () => {
    await epage.goto(hostUrl);
    const handle = await epage.waitForSelector('#wg');
    frame = await handle.contentFrame();
    await waitReady(frame, '/embed');
    await epage.waitForFunction(() => window.__msgs.some((m) => m && m.type === 'wangge:ready'), null, { timeout: 5000 })
      .catch(() => { throw new Error('host page never received {type:"wangge:ready"} from the frame'); });
    const st = await frame.evaluate(() => {
      const map = window.__wangge.map;
      const b = map.getBounds();
      return { sel: window.__wangge.state.selection, view: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()], hl: JSON.stringify(map.getFilter('wg-grid-selected')) };
    });
    assert(st.sel && st.sel.id === code, `frame selection is ${JSON.stringify(st.sel)}, expected grid ${code}`);
    assert(st.hl.includes(code), `grid ${code} is not highlighted (wg-grid-selected filter ${st.hl})`);
    const [w, s, e, n] = st.view;
    const contains = gbbox[0] >= w - 1e-9 && gbbox[1] >= s - 1e-9 && gbbox[2] <= e + 1e-9 && gbbox[3] <= n + 1e-9;
    const fill = Math.max((gbbox[2] - gbbox[0]) / (e - w), (gbbox[3] - gbbox[1]) / (n - s));
    assert(contains, `view ${st.view.map((x) => x.toFixed(5))} does not contain grid bbox ${gbbox.map((x) => x.toFixed(5))}`);
    assert(fill > 0.4, `grid ${code} fills only ${(fill * 100).toFixed(0)}% of the view: not framed`);
    await epage.screenshot({ path: join(OUT, 'embed.png') });
    return `grid fills ${(fill * 100).toFixed(0)}% of the view`;
  });
  if (embedReady) {
    await step('embed: host postMessage wangge:set-filters changes the filter', async () => {
      const before = await frame.evaluate(() => ({ ...window.__wangge.state.filters }));
      await epage.evaluate((o) => document.getElementById('wg').contentWindow.postMessage({ type: 'wangge:set-filters', filters: { category: '02' } }, o), ORIGIN);
      await frame.waitForFunction(() => window.__wangge.state.filters.category === '02' && /[?&]category=02/.test((window.__wangge.map.getSource('wg-heatmap').tiles || [''])[0]), null, { timeout: 5000 })
        .catch(() => { throw new Error('filter did not change after postMessage {type:"wangge:set-filters", filters:{category:"02"}}'); });
      await idle(frame);
      return `filters ${JSON.stringify(before)} → ${JSON.stringify(await frame.evaluate(() => window.__wangge.state.filters))}`;
    });
    await step('embed: clicking the grid posts wangge:click to the host', async () => {
      await frame.evaluate(() => window.__wangge.map.setLayoutProperty('wg-events', 'visibility', 'none'));
      await idle(frame);
      const px = await frame.evaluate((p) => {
        const q = window.__wangge.map.project(p);
        return { x: q.x, y: q.y };
      }, point);
      const box = await (await epage.$('#wg')).boundingBox();
      await epage.mouse.click(box.x + px.x, box.y + px.y);
      await epage.waitForFunction((c) => window.__msgs.some((m) => m && m.type === 'wangge:click' && m.layer === 'grid' && String(m.properties.code) === c), code, { timeout: 5000 })
        .catch(async () => { throw new Error(`no {type:"wangge:click", layer:"grid", properties.code:${code}} message; host got ${JSON.stringify(await epage.evaluate(() => window.__msgs)).slice(0, 300)}`); });
    });
  }
  await step('embed: zero console errors', async () => {
    assert(!elog.errors.length, `${elog.errors.length} console error(s) on /embed:\n${elog.errors.slice(0, 15).join('\n')}`);
  });
  await ectx.close();
}

main().catch((e) => {
  console.error(`browser tests crashed: ${e.stack || e}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
});
