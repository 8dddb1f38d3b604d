#!/usr/bin/env node
// Real-browser tests of the Wangge viewer (/), big screen (/screen) and embed
// page (/embed), against a running server:
//
//   node tests/browser/run.mjs --bin target/release/wangge --db demo.duckdb --out target/browser
//   node tests/browser/run.mjs --base http://127.0.0.1:8099 --out target/browser
//
// With --bin and --db the run starts the server itself on a free loopback port
// (and restarts it for the big screen's reconnection test); with --base it uses
// a running server and says that the restart test is skipped.
//
// Drives Debian's Chromium (/usr/bin/chromium, override with --chromium or
// $CHROMIUM) through playwright-core. WebGL must work headless (SwiftShader);
// without it the run fails and says so. Exits non-zero on any failure.
//
// The pages expose no test hook: what they show is read from the URL hash,
// the DOM (documented data attributes, EMBED.md) and the performance timeline
// (`wangge:first-render`). To ask what the map really rendered, the tests wrap
// MapLibre's Map constructor before any page script runs (an init script of the
// browser context) and keep the pages' maps in `window.__testMaps`.
//
// Waits are on conditions, with generous time-outs: a busy machine makes the
// run slower, not red. Times are reported, never asserted (budgets belong in
// benchmarks).

import { chromium } from 'playwright-core';
import { dashboardTests } from './dashboard.mjs';
import { mkdirSync, readFileSync, existsSync, openSync, closeSync } from 'node:fs';
import { join, resolve, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { inboxTests } from './inbox.mjs';
import { householdTests } from './household.mjs';
import { importTests } from './imports.mjs';
import { soakTests, pageMemory } from './soak.mjs';

const args = parseArgs(process.argv.slice(2));
const OUT = resolve(args.out || 'target/browser');
const SERVER_BIN = args.bin ? resolve(args.bin) : null;
const SERVER_DB = args.db ? resolve(args.db) : null;
// Demo accounts as `wangge demo` printed them ("demo account: NAME\tROLE\tSECRET\tSCOPE"):
// one per role and the big screen's kiosk token. Every page is tested after log-in.
const ACCOUNTS = {};
let KIOSK = null;
if (args.accounts) {
  for (const line of readFileSync(resolve(args.accounts), 'utf8').split('\n')) {
    const m = line.match(/^demo account: ([^\t]+)\t([^\t]+)\t([^\t]+)\t/);
    if (!m) continue;
    if (m[1] === 'kiosk token') KIOSK = m[3];
    else ACCOUNTS[m[2]] = { name: m[1], password: m[3] };
  }
}
if (!ACCOUNTS.leader || !KIOSK) {
  console.error(`no demo accounts in ${args.accounts || '(give --accounts demo.log)'}: the pages need a log-in`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
let BASE = (args.base || process.env.WANGGE_BASE || 'http://127.0.0.1:8099').replace(/\/$/, '');
let ORIGIN = new URL(BASE).origin;
/** The server this run started (null with --base). */
let server = null;
const CHROMIUM = args.chromium || process.env.CHROMIUM || '/usr/bin/chromium';
const VIEWPORT = { width: 1920, height: 1080 };
// Screenshots of each page at 1920×1080 and phone size, committed: every
// run rewrites them, so they cannot go stale.
const SCREENS = fileURLToPath(new URL('../../docs/screens/', import.meta.url));
const READY_MS = Number(args['ready-timeout'] || 90_000);
// Development aid: `--assets web-viewer/assets/dist` serves our pages' files from
// disk instead of the copies embedded in the server binary (no rebuild needed).
const ASSETS = args.assets ? resolve(args.assets) : null;
// `--only inbox,dashboard` runs those parts only (viewer, screen, embed,
// inbox, household, regrid, dashboard, imports, soak): a quicker check while working on one
// page; the full run is the default and what CI runs.
const ONLY = args.only ? new Set(String(args.only).split(',')) : null;
/** @param {string} part */
const want = (part) => !ONLY || ONLY.has(part);
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
/** Records a test that cannot run in this set-up, loudly (counted in the summary). */
function skip(name, why) {
  results.push({ name, ok: true, skipped: why });
  console.log(`SKIP ${name} — ${why}`);
}

// ---------------------------------------------------------------- the server (with --bin/--db)
function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}
class Server {
  constructor(bin, db, port, logFile) {
    Object.assign(this, { bin, db, port, logFile, proc: null, starts: 0 });
  }
  async start() {
    const fd = openSync(this.logFile, 'a');
    // No background escalation and no demo feed: each changes deadlines or
    // adds events at moments of its own, so a page and the API read a moment
    // apart could differ (the dashboard's overdue counts did, 135 ≠ 125, when
    // the start-up escalation ran between them). The escalation run the loop
    // repeats is tested through POST /api/v1/escalate (e2e), the feed by
    // cli_files' demo-feed test; here the town changes only by the steps.
    this.proc = spawn(this.bin, ['serve', '--db', this.db, '--addr', `127.0.0.1:${this.port}`, '--escalate-every-s', '0', '--no-demo-feed'], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    this.starts += 1;
    let exited = null;
    this.proc.once('exit', (code, sig) => { exited = `exit ${code ?? sig}`; });
    const t0 = Date.now();
    while (Date.now() - t0 < 120_000) {
      if (exited) throw new Error(`wangge serve ${exited}; log:\n${this.tail()}`);
      try {
        const r = await fetch(`http://127.0.0.1:${this.port}/healthz`);
        if (r.ok) return Date.now() - t0;
      } catch (_) {
        /* not up yet */
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`wangge serve not healthy after 120 s; log:\n${this.tail()}`);
  }
  async stop() {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const done = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
    await done;
    clearTimeout(t);
    this.proc = null;
  }
  tail(n = 40) {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-n).join('\n');
    } catch (_) {
      return '(no log)';
    }
  }
}

/** Session cookie and CSRF token of a role's demo account (logged in once). */
const sessions = {};
async function sessionOf(role) {
  if (sessions[role]) return sessions[role];
  const acc = ACCOUNTS[role];
  assert(acc, `no demo account for role ${role}`);
  const res = await fetch(`${BASE}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: acc.name, password: acc.password }),
  });
  const text = await res.text();
  assert(res.ok, `log-in of ${acc.name} (${role}): ${res.status} ${text}`);
  const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).find((c) => c.startsWith('wangge_session='));
  const me = JSON.parse(text);
  sessions[role] = { cookie, csrf: me.csrf };
  return sessions[role];
}

/**
 * Calls the API from Node: as `init.as` (a role, signed in with its demo
 * account; default leader), or as the public with `as: null`.
 */
async function getJson(path, init = {}, retried = false) {
  const { as = 'leader', ...rest } = init;
  const headers = { ...(rest.headers || {}) };
  if (as) {
    const s = await sessionOf(as);
    headers.cookie = s.cookie;
    if (rest.method && rest.method !== 'GET') headers['x-csrf-token'] = s.csrf;
  }
  const res = await fetch(BASE + path, { ...rest, headers });
  if (res.status === 401 && as && !retried) {
    // Sessions end with the server (the restart test): log in again.
    delete sessions[as];
    return getJson(path, init, true);
  }
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
  const log = { errors: [], requests: [], failed: [], outage: null };
  // During a deliberate outage (`log.outage` is an array) errors are kept apart.
  const err = (m) => (log.outage || log.errors).push(m);
  page.on('console', (m) => {
    if (m.type() === 'error') err(`console.error: ${m.text()}${m.location() && m.location().url ? ` (${m.location().url})` : ''}`);
  });
  page.on('pageerror', (e) => log.errors.push(`uncaught: ${e.message}`));
  page.on('request', (r) => log.requests.push(r.url()));
  page.on('requestfailed', (r) => {
    const f = r.failure();
    // Aborted tile requests are normal when the view or the filters change.
    if (f && /ERR_ABORTED/.test(f.errorText)) return;
    (log.outage || log.failed).push(`${r.url()}: ${f && f.errorText}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) (log.outage || log.failed).push(`${r.request().method()} ${r.url()}: HTTP ${r.status()}`);
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
/** Waits until the page's map (or its `which`-th map) is idle (all tiles loaded and rendered). */
async function idle(target, which = 0) {
  await target.evaluate((i) => new Promise((res) => {
    const map = window.__testMaps.at(i);
    const done = () => setTimeout(res, 50);
    if (map.loaded() && map.areTilesLoaded() && !map.isMoving()) {
      map.once('idle', done);
      map.triggerRepaint();
      setTimeout(done, 3000);
    } else map.once('idle', done);
  }), which);
}
async function renderedBySource(target) {
  return target.evaluate(() => {
    const out = {};
    for (const f of window.__testMaps[0].queryRenderedFeatures()) out[f.source] = (out[f.source] || 0) + 1;
    return out;
  });
}
async function heatMeasure(target) {
  return target.evaluate(() => {
    const map = window.__testMaps[0];
    const n = (v) => (Number.isFinite(Number(v)) ? Number(v) : 1);
    const hex = map.getLayer('wg-hex') ? map.queryRenderedFeatures({ layers: ['wg-hex'] }) : [];
    const src = map.getSource('heatmap');
    const layer = map.getLayer('wg-hex');
    const srcFeatures = src && layer ? map.querySourceFeatures('heatmap', { sourceLayer: layer.sourceLayer }) : [];
    // Heatmap tiles hold hexagons (Polygon) and their count-weighted centroids (Point).
    const hexSrc = srcFeatures.filter((f) => f.geometry.type === 'Polygon');
    const ptSrc = srcFeatures.filter((f) => f.geometry.type === 'Point');
    return {
      hexRendered: hex.length,
      hexSum: hex.reduce((a, f) => a + n(f.properties.count), 0),
      hexSourceSum: hexSrc.reduce((a, f) => a + n(f.properties.count), 0),
      heatPointSum: ptSrc.reduce((a, f) => a + n(f.properties.count), 0),
      tiles: src && src.tiles ? src.tiles[0] : null,
    };
  });
}

// ---------------------------------------------------------------- the tests
async function main() {
  mkdirSync(OUT, { recursive: true });
  mkdirSync(SCREENS, { recursive: true });
  if (SERVER_BIN || SERVER_DB) {
    if (!SERVER_BIN || !SERVER_DB) {
      console.log('FAIL --bin and --db go together (the run starts `wangge serve --db <db>` itself)');
      process.exit(1);
    }
    const port = Number(args.port) || (await freePort());
    server = new Server(SERVER_BIN, SERVER_DB, port, join(OUT, 'serve.log'));
    BASE = `http://127.0.0.1:${port}`;
    ORIGIN = new URL(BASE).origin;
    try {
      const ms = await server.start();
      console.log(`started ${SERVER_BIN} serve on ${BASE} in ${ms} ms (log ${server.logFile})`);
    } catch (e) {
      console.log(`FAIL cannot start the server: ${e.message}`);
      process.exit(1);
    }
  }
  console.log(`browser tests against ${BASE}, screenshots to ${OUT}${ASSETS ? `, page assets from ${ASSETS}` : ''}`);
  let browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  } catch (e) {
    console.log(`FAIL cannot launch Chromium at ${CHROMIUM}: ${e.message.split('\n')[0]}\n(install it with: apt-get install -y chromium)`);
    console.log('0 passed, 1 failed');
    if (server) await server.stop();
    process.exit(1);
  }
  try {
    await run(browser);
  } finally {
    await browser.close();
    if (server) await server.stop();
  }
  const passed = results.filter((r) => r.ok && !r.skipped).length;
  const skipped = results.filter((r) => r.skipped).length;
  const failed = results.length - passed - skipped;
  if (failed) {
    console.log('\nfailures:');
    for (const r of results.filter((x) => !x.ok)) console.log(`- ${r.name}: ${r.error.split('\n')[0]}`);
  }
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  if (failed && server) console.log(`--- server log (tail)\n${server.tail()}`);
  process.exit(failed ? 1 : 0);
}

/**
 * A browser context whose every request to a host other than the server is
 * blocked and recorded in `ctx.foreign` (an intranet has no internet).
 * It is signed in as `opts.role`'s demo account (default: the big screen's
 * `screen` account); `opts.role: null` leaves it signed out.
 */
async function newContext(browser, opts = {}) {
  const ctx = await browser.newContext({
    viewport: opts.viewport || VIEWPORT,
    deviceScaleFactor: 1,
    // A phone's position, for the pages that ask for it (随手拍).
    ...(opts.geolocation ? { geolocation: opts.geolocation, permissions: ['geolocation'] } : {}),
  });
  const role = opts.role === undefined ? 'screen' : opts.role;
  if (role) {
    const acc = ACCOUNTS[role];
    assert(acc, `no demo account for role ${role}`);
    const r = await ctx.request.post(`${BASE}/api/v1/session`, { data: { name: acc.name, password: acc.password } });
    if (!r.ok()) throw new Error(`log-in of ${acc.name} (${role}) in the browser context: ${r.status()} ${await r.text()}`);
  }
  // The tests' own handle on the pages' maps (see the top of this file).
  await ctx.addInitScript(() => {
    const maps = [];
    let ml;
    Object.defineProperty(window, '__testMaps', { value: maps });
    Object.defineProperty(window, 'maplibregl', {
      configurable: true,
      get: () => ml,
      set: (v) => {
        const Base = v.Map;
        const Tracked = class extends Base {
          constructor(o) {
            super(o);
            maps.push(this);
          }
        };
        ml = new Proxy(v, { get: (t, k) => (k === 'Map' ? Tracked : t[k]) });
      },
    });
  });
  ctx.foreign = [];
  await ctx.route((url) => url.origin !== ORIGIN && /^(https?|wss?|ftp):$/.test(url.protocol), (route) => {
    ctx.foreign.push(route.request().url());
    return route.abort('blockedbyclient');
  });
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
function assertNoForeign(ctx, what) {
  assert(!ctx.foreign.length, `${ctx.foreign.length} request(s) from ${what} to hosts other than ${ORIGIN} (blocked):\n${[...new Set(ctx.foreign)].slice(0, 15).join('\n')}`);
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

  if (want('viewer')) {
  // ---- log-in: the page itself, then the viewer as every role
  await step('log-in page: signed out, / goes to /login; a leader logs in with the form and lands on the viewer', async () => {
    const c = await newContext(browser, { role: null });
    const p = await c.newPage();
    await p.goto(`${BASE}/`, { waitUntil: 'domcontentloaded' });
    assert(new URL(p.url()).pathname === '/login', `signed out, / showed ${p.url()}`);
    await p.fill('#name', ACCOUNTS.leader.name);
    await p.fill('#password', 'not the password');
    await p.click('#submit');
    await p.waitForSelector('#error:not([hidden])', { timeout: 60_000 });
    const bad = await p.textContent('#error');
    assert(/错误|Wrong/.test(bad), `wrong password shows "${bad}"`);
    await p.fill('#password', ACCOUNTS.leader.password);
    await Promise.all([p.waitForURL(`${BASE}/`, { timeout: 60_000 }), p.click('#submit')]);
    await waitReady(p, '/ after log-in');
    const who = await p.textContent('#who');
    assert(who.trim().length > 0, 'the viewer does not show who is signed in');
    assert(!(await p.evaluate(() => document.getElementById('regrid-open').hidden)), 'a leader sees no re-gridding button');
    await p.screenshot({ path: join(OUT, 'login-leader.png') });
    await Promise.all([p.waitForURL(/\/login/, { timeout: 60_000 }), p.click('#logout')]);
    const after = await c.request.get(`${BASE}/api/v1/session`);
    assert(after.status() === 401, `after log-out /api/v1/session answers ${after.status()}`);
    await c.close();
    return `"${bad.trim()}" for a wrong password; signed in as ${who.trim()}, logged out`;
  });
  await step('account page: a leader adds a grid worker (password shown once), who logs in; the leader disables it and its session ends; a worker is refused /admin', async () => {
    const c = await newContext(browser, { role: 'leader' });
    const p = await c.newPage();
    await p.goto(`${BASE}/`, { waitUntil: 'domcontentloaded' });
    await p.waitForSelector('#admin-link:not([hidden])', { timeout: 30_000 });
    await Promise.all([p.waitForURL(/\/admin$/, { timeout: 30_000 }), p.click('#admin-link')]);
    await p.waitForSelector(`#accounts tr[data-account="${ACCOUNTS.leader.name}"]`, { timeout: 30_000 });
    const name = `w${Date.now().toString(36)}`;
    await p.fill('#add-name', name);
    await p.fill('#add-display', '新网格员');
    await p.selectOption('#add-role', 'worker');
    await p.fill('#add-grids', code);
    await p.click('#add button[type=submit]');
    await p.waitForSelector('#notice:not([hidden]) #secret', { timeout: 30_000 });
    const password = (await p.textContent('#secret')).trim();
    assert(password.length >= 20, `the new password shown is "${password}"`);
    await p.waitForSelector(`#accounts tr[data-account="${name}"]`, { timeout: 30_000 });
    // The new worker signs in in its own browser.
    const w = await browser.newContext({ viewport: VIEWPORT });
    const login = await w.request.post(`${BASE}/api/v1/session`, { data: { name, password } });
    assert(login.ok(), `the new worker cannot log in: ${login.status()}`);
    assert((await w.request.get(`${BASE}/api/v1/session`)).status() === 200, 'the new worker has no session');
    const refused = await w.request.get(`${BASE}/admin`, { maxRedirects: 0 });
    assert(refused.status() === 403, `a worker opened /admin: ${refused.status()}`);
    // Disabled by the leader: its session ends at once.
    p.once('dialog', (d) => d.accept());
    await p.click(`#accounts tr[data-account="${name}"] button.danger`);
    await p.waitForFunction((n) => {
      const row = document.querySelector(`#accounts tr[data-account="${n}"]`);
      return row && row.querySelector('.off');
    }, name, { timeout: 30_000 });
    const after = await w.request.get(`${BASE}/api/v1/session`);
    assert(after.status() === 401, `the disabled worker's session answers ${after.status()}`);
    await p.screenshot({ path: join(OUT, 'admin-leader.png') });
    await w.close();
    await c.close();
    return `added ${name}, it logged in, disabled it: its session answered ${after.status()}`;
  });
  await step('every page fits a desktop (1920×1080) and a phone (390×844): no sideways scroll; screenshots in docs/screens', async () => {
    // The pages a role opens, each at both sizes (the big screen is a wall:
    // desktop and 4K only, see below).
    const pages = [
      { name: 'login', role: null, path: '/login', ready: '#submit' },
      { name: 'viewer-leader', role: 'leader', path: '/' },
      { name: 'viewer-worker', role: 'worker', path: '/' },
      { name: 'admin', role: 'leader', path: '/admin', ready: '#accounts tr' },
      { name: 'embed', role: 'screen', path: `/embed?grid=${encodeURIComponent(code)}&token=${KIOSK}` },
      { name: 'inbox-worker', role: 'worker', path: '/inbox' },
      { name: 'inbox-department', role: 'department', path: '/inbox' },
    ];
    const sizes = [['1920', VIEWPORT], ['390', { width: 390, height: 844 }]];
    const said = [];
    for (const pg of pages) {
      for (const [size, viewport] of sizes) {
        const c = await newContext(browser, { role: pg.role, viewport });
        const p = await c.newPage();
        await p.goto(`${BASE}${pg.path}`, { waitUntil: 'domcontentloaded' });
        if (pg.ready) await p.waitForSelector(pg.ready, { timeout: 60_000 });
        else await waitReady(p, `${pg.path} at ${size}`);
        const w = await p.evaluate(() => ({ page: document.documentElement.scrollWidth, view: window.innerWidth }));
        assert(w.page <= w.view + 1, `${pg.name} at ${size} px scrolls sideways: the page is ${w.page} px wide in a ${w.view} px window`);
        await p.screenshot({ path: join(SCREENS, `${pg.name}-${size}.jpg`), type: 'jpeg', quality: 70 });
        if (pg.path === '/' && size === '390') {
          // On a phone the layers and filters open from their own button,
          // as a sheet inside the screen.
          const before = await p.evaluate(() => getComputedStyle(document.getElementById('side')).display);
          assert(before === 'none', `${pg.name} at 390 px: the layers panel covers the map before it is asked for (${before})`);
          await p.click('#side-toggle');
          const side = await p.evaluate(() => {
            const r = document.getElementById('side').getBoundingClientRect();
            return { shown: r.width > 0 && r.height > 0, left: r.left, right: r.right, view: window.innerWidth };
          });
          assert(side.shown && side.left >= 0 && side.right <= side.view + 1, `${pg.name} at 390 px: the layers button opens ${JSON.stringify(side)}`);
          await p.screenshot({ path: join(SCREENS, `${pg.name}-${size}-layers.jpg`), type: 'jpeg', quality: 70 });
        }
        assertNoForeign(c, `${pg.path} at ${size}`);
        await c.close();
      }
      said.push(pg.name);
    }
    return `${said.join(', ')} at 1920 and 390 px`;
  });
  await step('cartography: each role opens on what its work needs; names come by zoom, each once, none overlapping; heat only where asked for (screenshots in docs/screens)', async () => {
    // What the map renders, read from MapLibre: label names by kind, the
    // layers shown, the zoom and the view's box.
    const seen = (p) => p.evaluate(() => {
      const map = window.__testMaps[0];
      const labels = map.queryRenderedFeatures(undefined, { layers: ['labels'] })
        .map((f) => ({ kind: f.properties.kind, name: f.properties.name }));
      const shown = (id) => map.getLayer(id) && map.getLayoutProperty(id, 'visibility') !== 'none';
      const b = map.getBounds();
      return {
        zoom: map.getZoom(), labels, hex: shown('wg-hex'), heat: shown('wg-heatmap'),
        events: shown('wg-events'), overdue: shown('wg-overdue'),
        bounds: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()],
      };
    });
    const kindsOf = (v) => [...new Set(v.labels.map((l) => l.kind))].sort().join(',');
    const open = async (role) => {
      const c = await newContext(browser, { role });
      const p = await c.newPage();
      await p.goto(`${BASE}/`, { waitUntil: 'domcontentloaded' });
      await waitReady(p, `/ as ${role}`);
      await idle(p);
      return { c, p };
    };
    // The leader: the town, named by its communities only, each once.
    const L = await open('leader');
    const town = await seen(L.p);
    await L.p.screenshot({ path: join(SCREENS, 'map-leader-town-1920.jpg'), type: 'jpeg', quality: 70 });
    assert(town.zoom < 15, `the leader's town view is at zoom ${town.zoom.toFixed(1)}`);
    assert(town.labels.length > 0 && town.labels.every((l) => l.kind === 'community'), `at town scale (z${town.zoom.toFixed(1)}) labels other than communities show: ${kindsOf(town)}`);
    const names = town.labels.map((l) => l.name);
    assert(new Set(names).size === names.length, `a community is named twice: ${names.join(', ')}`);
    assert(!town.hex && !town.heat, 'event heat washes over the leader\'s town view by default');
    assert(town.overdue, 'the leader does not see overdue events by default');
    // A district's scale: comprehensive grids are named too, micro-grids not yet.
    const grids = await apiJson('/api/v1/grids?kind=comprehensive&limit=1');
    const g0 = grids.features[0];
    const at = interiorPoint(g0.geometry);
    await L.p.evaluate(([c, z]) => window.__testMaps[0].jumpTo({ center: c, zoom: z }), [at, 15.5]);
    await idle(L.p);
    const district = await seen(L.p);
    await L.p.screenshot({ path: join(SCREENS, 'map-leader-z15-1920.jpg'), type: 'jpeg', quality: 70 });
    assert(district.labels.some((l) => l.kind === 'comprehensive'), `at z15.5 no comprehensive grid is named: ${kindsOf(district)}`);
    assert(!district.labels.some((l) => l.kind === 'micro' || l.kind === 'compound'), `at z15.5 micro-grids or compounds are named: ${kindsOf(district)}`);
    // Near street level: micro-grids and compounds named as well.
    await L.p.evaluate(([c, z]) => window.__testMaps[0].jumpTo({ center: c, zoom: z }), [at, 17]);
    await idle(L.p);
    const street = await seen(L.p);
    await L.p.screenshot({ path: join(SCREENS, 'map-leader-z17-1920.jpg'), type: 'jpeg', quality: 70 });
    assert(street.labels.some((l) => l.kind === 'micro' || l.kind === 'compound'), `at z17 neither micro-grids nor compounds are named: ${kindsOf(street)}`);
    await L.c.close();
    // The worker: opens on its own grids.
    const W = await open('worker');
    const me = await (await W.c.request.get(`${BASE}/api/v1/session`)).json();
    assert(me.grids && me.grids.length, `the demo worker has no grids: ${JSON.stringify(me)}`);
    const boxes = await Promise.all(me.grids.map(async (code) => (await apiJson(`/api/v1/grids/${encodeURIComponent(code)}`)).bbox));
    const mine = [0, 1, 2, 3].map((i) => (i < 2 ? Math.min : Math.max)(...boxes.map((b) => b[i])));
    const wv = await seen(W.p);
    await W.p.screenshot({ path: join(SCREENS, 'map-worker-start-1920.jpg'), type: 'jpeg', quality: 70 });
    const [bw, bs, be, bn] = wv.bounds;
    const eps = 1e-6;
    assert(bw <= mine[0] + eps && bs <= mine[1] + eps && be >= mine[2] - eps && bn >= mine[3] - eps, `the worker's view ${wv.bounds.map((x) => x.toFixed(4))} does not hold its grids ${mine.map((x) => x.toFixed(4))}`);
    assert(wv.zoom > town.zoom + 0.5, `the worker opens at zoom ${wv.zoom.toFixed(1)}, no closer than the town (${town.zoom.toFixed(1)})`);
    // Event tiles give a worker the k-anonymous aggregate only: its map
    // shows its own open events instead, exact, from the API — each one.
    assert(!wv.events && !wv.overdue && !wv.hex, `the worker's defaults show aggregate event layers: points ${wv.events}, overdue ${wv.overdue}, heat ${wv.hex}`);
    const openEvents = (await getJson('/api/v1/events?status=open&limit=10000', { as: 'worker' })).body;
    assert(openEvents.total > 0, `the demo worker has no open events to show: ${JSON.stringify(openEvents).slice(0, 200)}`);
    const want = openEvents.features.map((f) => String(f.properties.id)).sort();
    await W.p.waitForFunction((n) => {
      const src = window.__testMaps[0].getSource('mine');
      return src && window.__testMaps[0].querySourceFeatures('mine').length >= n;
    }, want.length, { timeout: 60_000 }).catch(() => { throw new Error(`the worker's map never held its ${want.length} open events`); });
    const onMap = await W.p.evaluate(() => {
      const map = window.__testMaps[0];
      const ids = [...new Set(map.querySourceFeatures('mine').map((f) => String(f.properties.id)))].sort();
      return { ids, shown: map.getLayoutProperty('wg-mine', 'visibility') !== 'none' };
    });
    assert(onMap.shown, 'the worker\'s open events are not shown by default');
    assert(JSON.stringify(onMap.ids) === JSON.stringify(want), `the worker's map shows events ${onMap.ids.slice(0, 8).join(', ')}… (${onMap.ids.length}), the API ${want.slice(0, 8).join(', ')}… (${want.length})`);
    await W.c.close();
    // The planner, whose work is density: heat on.
    const P = await open('planner');
    const pv = await seen(P.p);
    assert(pv.hex, 'the planner opens without the event hexagons');
    await P.c.close();
    return `leader z${town.zoom.toFixed(1)}: ${names.length} community names (z15.5: ${district.labels.length} labels of ${kindsOf(district)}; z17: ${kindsOf(street)}); worker z${wv.zoom.toFixed(1)} on ${me.grids.join(', ')} with its ${want.length} open events; planner with heat`;
  });
  for (const role of ['planner', 'worker', 'department']) {
    await step(`viewer / works after log-in as ${role} (${ACCOUNTS[role] && ACCOUNTS[role].name})`, async () => {
      const c = await newContext(browser, { role });
      const p = await c.newPage();
      const log = watch(p, `/ (${role})`);
      await p.goto(`${BASE}/`, { waitUntil: 'domcontentloaded' });
      await waitReady(p, `/ as ${role}`);
      const st = await p.evaluate(() => ({ role: document.querySelector('meta[name="wangge-role"]').content, regrid: !document.getElementById('regrid-open').hidden }));
      assert(st.role === role, `the page says role ${st.role}`);
      assert(st.regrid === (role === 'planner'), `re-gridding button ${st.regrid ? 'shown' : 'hidden'} for ${role}`);
      assert(!log.errors.length, `${log.errors.length} console error(s):\n${log.errors.slice(0, 10).join('\n')}`);
      assertNoForeign(c, `/ (${role})`);
      await c.close();
      return `role ${st.role}, re-gridding ${st.regrid ? 'offered' : 'not offered'}`;
    });
  }

  // ---- viewer
  const ctx = await newContext(browser);
  const page = await ctx.newPage();
  const vlog = watch(page, '/');
  let viewerReady = await step('viewer / loads and renders (document.body.dataset.ready)', async () => {
    await page.goto(`${BASE}/`, { waitUntil: 'domcontentloaded' });
    await waitReady(page, '/');
    const ms = await page.evaluate(() => performance.getEntriesByName('wangge:first-render')[0]?.startTime);
    assert(Number.isFinite(ms), 'no performance mark wangge:first-render: the page never told its first complete render');
    console.log(`first-render-ms ${Math.round(ms)}`);
    await page.screenshot({ path: join(OUT, 'viewer.png') });
    const rgButton = await page.evaluate(() => ({ role: document.querySelector('meta[name="wangge-role"]')?.content, hidden: document.getElementById('regrid-open').hidden }));
    assert(rgButton.hidden, `the re-gridding button shows for role ${rgButton.role} (leaders and planners only)`);
    return `time to first full render ${Math.round(ms)} ms (performance mark wangge:first-render; not asserted)`;
  });
  if (viewerReady) {
    await step('viewer renders grids and buildings (queryRenderedFeatures)', async () => {
      let by = await renderedBySource(page);
      if (!(by.buildings > 0) || !(by.grids > 0)) {
        // Buildings may only be in tiles from a higher zoom: look at the test grid closely.
        await page.evaluate((b) => window.__testMaps[0].fitBounds([[b[0], b[1]], [b[2], b[3]]], { animate: false, padding: 40 }), gbbox);
        await idle(page);
        by = await renderedBySource(page);
      }
      assert(by.grids > 0, `no rendered features from source grids (/tiles/grids/...); rendered per source: ${JSON.stringify(by)}`);
      assert(by.buildings > 0, `no rendered features from source buildings (/tiles/buildings/...); rendered per source: ${JSON.stringify(by)}`);
      return JSON.stringify(by);
    });

    await step('viewer: the legend and the map paint the colours of /style.json (one definition, tiles/src/style.rs)', async () => {
      const st = await page.evaluate(async () => {
        const style = await (await fetch('/style.json')).json();
        const legend = style.metadata['wangge:legend'];
        const map = window.__testMaps[0];
        const shown = [...document.querySelectorAll('#layer-list input[data-layer]')].map((i) => {
          const sw = i.parentElement.querySelector('.sw');
          return { key: i.dataset.layer, colours: sw.dataset.colours, css: getComputedStyle(sw).backgroundImage !== 'none' ? getComputedStyle(sw).backgroundImage : getComputedStyle(sw).backgroundColor };
        });
        // Every layer the style tags with a key paints what the server's style says.
        const painted = style.layers.filter((l) => l.metadata && l.metadata['wangge:toggle']).map((l) => {
          const prop = { fill: 'fill-color', line: 'line-color', circle: 'circle-color', 'fill-extrusion': 'fill-extrusion-color', symbol: 'text-color', heatmap: 'heatmap-color' }[l.type];
          return { id: l.id, want: JSON.stringify(l.paint[prop]), have: JSON.stringify(map.getPaintProperty(l.id, prop)) };
        });
        return { legend, shown, painted, layers: style.layers.length };
      });
      const keys = Object.keys(st.legend).sort();
      assert(JSON.stringify(st.shown.map((x) => x.key).sort()) === JSON.stringify(keys), `layer list ${st.shown.map((x) => x.key)} differs from the style's legend keys ${keys}`);
      const rgb = (hex) => `rgb(${[1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(', ')})`;
      for (const x of st.shown) {
        const want = st.legend[x.key];
        assert(x.colours === want.join(','), `swatch of ${x.key} shows ${x.colours}, the style says ${want}`);
        for (const c of want) assert(x.css.includes(rgb(c)), `swatch of ${x.key} is painted ${x.css}, not the style's ${c}`);
      }
      const off = st.painted.filter((x) => x.want !== x.have);
      assert(!off.length, `map layers paint other colours than /style.json: ${JSON.stringify(off.slice(0, 5))}`);
      return `${st.shown.length} legend swatches and ${st.painted.length} map layers in the style's colours`;
    });

    await step(`clicking grid ${code} shows its household count (${gridDetail.households})`, async () => {
      assert(point, `no interior point found for grid ${code}`);
      // Show only the base map and this grid's kind, so nothing else takes the click.
      for (const el of await page.$$('#layer-list input[data-layer]')) {
        const k = await el.getAttribute('data-layer');
        await el.setChecked(k === 'base' || k === `grids-${kind}`);
      }
      await page.evaluate((b) => window.__testMaps[0].fitBounds([[b[0], b[1]], [b[2], b[3]]], { animate: false, padding: { top: 120, bottom: 80, left: 320, right: 420 } }), gbbox);
      await idle(page);
      const px = await page.evaluate((p) => {
        const map = window.__testMaps[0];
        const q = map.project(p);
        const r = map.getCanvas().getBoundingClientRect();
        const hit = map.queryRenderedFeatures(q).filter((f) => f.source === 'grids').map((f) => String(f.properties.code));
        return { x: r.left + q.x, y: r.top + q.y, hit };
      }, point);
      assert(px.hit.includes(code), `grid ${code} is not rendered at its interior point ${point} (pixel ${px.x.toFixed(0)},${px.y.toFixed(0)}); grids rendered there: ${JSON.stringify(px.hit)}`);
      await page.mouse.click(px.x, px.y);
      await page.waitForSelector('#panel[data-state="ready"] [data-field="households"]', { timeout: 60_000 }).catch(async () => {
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
      // A window holding some but not all events (the demo's data may end before today).
      for (const d of [30, 60, 90, 120, 180, 270, 7]) {
        const from = new Date(Date.now() - d * 86400e3).toISOString().slice(0, 10);
        const t = total(await apiJson(`/api/v1/heatmap?from=${from}`));
        if (t > 0 && t < allTotal) {
          days = d;
          winTotal = t;
          break;
        }
      }
      assert(days !== null, `/api/v1/heatmap returns no events or all ${allTotal} for every from= window tried: cannot test the time filter`);
      for (const el of await page.$$('#layer-list input[data-layer]')) {
        const k = await el.getAttribute('data-layer');
        await el.setChecked(k === 'base' || k === 'hex' || k === 'heatmap');
      }
      await page.evaluate((e) => {
        const map = window.__testMaps[0];
        if (e) map.fitBounds([[e[0], e[1]], [e[2], e[3]]], { animate: false, padding: 40 });
      }, info && Array.isArray(info.extent) ? info.extent : null);
      await idle(page);
      const before = await heatMeasure(page);
      await page.fill('#time-from', String(-days));
      await page.dispatchEvent('#time-from', 'change');
      await page.waitForFunction(() => /[?&]from=/.test((window.__testMaps[0].getSource('heatmap').tiles || [''])[0]), null, { timeout: 30_000 })
        .catch(() => { throw new Error('heatmap source tiles did not get a from= parameter after moving the time slider'); });
      await idle(page);
      const after = await heatMeasure(page);
      // Only heatmap/hexagon features count here (event points are another layer).
      assert(before.hexRendered > 0, `no hexagons rendered before filtering (layer wg-hex): ${JSON.stringify(before)}`);
      assert(after.hexSum !== before.hexSum, `rendered hexagon counts unchanged (${before.hexSum}) after setting from = ${days} days ago (API totals ${allTotal} → ${winTotal}): before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`);
      assert(after.heatPointSum !== before.heatPointSum, `heatmap (density) source counts unchanged (${before.heatPointSum}) after setting from = ${days} days ago: before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`);
      assert(after.hexSum < before.hexSum, `a shorter window cannot hold more events: rendered hexagon sum ${before.hexSum} → ${after.hexSum}`);
      assert(after.hexRendered > 0, `no hexagon rendered for the last ${days} days although the API counts ${winTotal} events`);
      const hash = await page.evaluate(() => location.hash);
      assert(/[&#]from=\d{4}-\d{2}-\d{2}/.test(hash), `URL hash does not hold the time filter: ${hash}`);
      return `last ${days} days: rendered hexagons ${before.hexRendered} → ${after.hexRendered}, their counts ${before.hexSum} → ${after.hexSum}, density points ${before.heatPointSum} → ${after.heatPointSum} (API ${allTotal} → ${winTotal})`;
    });

    // Building and event panels: click a rendered feature where it alone answers.
    const clickFeature = async (layerKey, layerId, what, pg = page) => {
      for (const el of await pg.$$('#layer-list input[data-layer]')) {
        const k = await el.getAttribute('data-layer');
        await el.setChecked(k === 'base' || k === layerKey);
      }
      await pg.evaluate((b) => window.__testMaps[0].fitBounds([[b[0], b[1]], [b[2], b[3]]], { animate: false, padding: { top: 120, bottom: 80, left: 320, right: 420 } }), gbbox);
      await idle(pg);
      const target = await pg.evaluate((id) => {
        const map = window.__testMaps[0];
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
      await pg.mouse.click(target.x, target.y);
      await pg.waitForFunction(() => ['ready', 'error'].includes(document.getElementById('panel').dataset.state), null, { timeout: 60_000 })
        .catch(() => { throw new Error(`no panel after clicking ${what} ${target.id}`); });
      const panel = await pg.evaluate(() => ({ kind: document.getElementById('panel').dataset.kind, state: document.getElementById('panel').dataset.state, text: document.getElementById('panel-body').textContent.trim().slice(0, 200), aggregate: !!document.querySelector('#panel-body [data-aggregate]'), count: (document.querySelector('#panel-body [data-field="count"]') || {}).textContent }));
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
      // The default role (no personal-data access) sees events rolled up
      // to H3 cells of at least k = 3: the panel shows the cell's figures.
      const agg = await clickFeature('events', 'wg-events', 'event');
      assert(agg.panel.kind === 'event' && agg.panel.state === 'ready' && agg.panel.aggregate, `default role: clicked events point ${agg.id}, panel ${JSON.stringify(agg.panel)}`);
      assert(Number(String(agg.panel.count).replace(/[^\d]/g, '')) >= 3, `default role: aggregated point shows ${agg.panel.count} events (k = 3)`);
      // A leader sees single events and their timelines.
      const lctx = await newContext(browser, { role: 'leader' });
      const lpage = await lctx.newPage();
      const llog = watch(lpage, '/ (leader)');
      await lpage.goto(`${BASE}/`, { waitUntil: 'domcontentloaded' });
      await waitReady(lpage, '/ (leader)');
      const { id, panel } = await clickFeature('events', 'wg-events', 'event', lpage);
      assert(panel.kind === 'event' && !panel.aggregate, `leader: clicked event ${id}, panel ${JSON.stringify(panel)}`);
      const lev = await lctx.request.get(`${BASE}/api/v1/events/${id}`);
      assert(lev.status() === 200, `leader GET /api/v1/events/${id}: ${lev.status()}`);
      const ev = await lev.json();
      const items = await lpage.$$eval('#panel .timeline li', (l) => l.length);
      const want = Array.isArray(ev.timeline) ? ev.timeline.length : 0;
      assert(items === Math.max(1, want), `event ${id}: panel timeline has ${items} entries, API has ${want}`);
      await lpage.screenshot({ path: join(OUT, 'viewer-event.png') });
      // The handler reads as people say it: a department by its name from the rules, never its code.
      const inbox = await (await lctx.request.get(`${BASE}/api/v1/inbox?limit=500`)).json();
      const dept = (inbox.events || []).find((x) => String(x.handler || '').startsWith('dept:'));
      assert(dept, `no event of the leader's inbox is handled by a department: ${JSON.stringify(inbox.counts)}`);
      const dd = await (await lctx.request.get(`${BASE}/api/v1/events/${dept.id}`)).json();
      const name = dd.handler_names?.[dept.handler]?.zh;
      assert(name, `GET /api/v1/events/${dept.id} names no department ${dept.handler}: ${JSON.stringify(dd.handler_names)}`);
      // A link that opens the event (a new page: the same page would only see the hash change).
      const dpage = await lctx.newPage();
      const dlog = watch(dpage, '/ (leader, event link)');
      await dpage.goto(`${BASE}/#sel=event:${dept.id}`, { waitUntil: 'domcontentloaded' });
      await waitReady(dpage, '/ (leader, event link)');
      await dpage.waitForSelector('#panel[data-state="ready"][data-kind="event"] [data-field="handler"]', { timeout: 60_000 });
      const shownHandler = (await dpage.textContent('#panel [data-field="handler"]')).trim();
      assert(dlog.errors.length === 0, `event link: console errors ${JSON.stringify(dlog.errors)}`);
      await dpage.close();
      assert(shownHandler === name, `event ${dept.id}: the panel's handler reads "${shownHandler}", the rules name ${dept.handler} "${name}"`);
      assert(llog.errors.length === 0 && llog.failed.length === 0, `leader page: console errors ${JSON.stringify(llog.errors)}, failed requests ${JSON.stringify(llog.failed)}`);
      await lctx.close();
      return `default role: aggregated point of ${agg.panel.count} events; leader: event ${id}, ${want} timeline entries; event ${dept.id} handled by ${name}`;
    });
    await step(`search for "${code}" flies to the grid and opens it`, async () => {
      await page.evaluate(() => window.__testMaps[0].jumpTo({ center: [0, 0], zoom: 3 }));
      await page.click('#panel-close');
      await page.fill('#search', code);
      await page.waitForSelector('#search-results button[data-i]', { timeout: 30_000 })
        .catch(() => { throw new Error(`no search results for ${code} (GET /api/v1/search?q=${code})`); });
      await page.press('#search', 'Enter');
      await page.waitForSelector('#panel[data-state="ready"][data-kind="grid"] [data-field="code"]', { timeout: 60_000 });
      const shown = (await page.textContent('#panel [data-field="code"]')).trim();
      assert(shown === code, `search opened grid ${shown}, expected ${code}`);
      await page.waitForFunction(() => !window.__testMaps[0].isMoving(), null, { timeout: 60_000 });
      const c = await page.evaluate(() => window.__testMaps[0].getCenter().toArray());
      const [w, so, e, n] = gbbox;
      const dx = e - w;
      const dy = n - so;
      assert(c[0] >= w - dx && c[0] <= e + dx && c[1] >= so - dy && c[1] <= n + dy, `map centre ${c} is not at grid ${code} (bbox ${gbbox})`);
      return `centre ${c.map((x) => x.toFixed(4))}`;
    });
    await step('viewer: a shared URL restores view, layers, filters and selection; English switch', async () => {
      // The hash is written shortly after the map stops moving.
      await page.waitForFunction(() => !window.__testMaps[0].isMoving() && /[#&]sel=grid:/.test(location.hash), null, { timeout: 30_000 });
      // The hash is written 150 ms after the last change: take it once it holds still.
      let shared = await page.evaluate(() => location.href);
      for (let i = 0; i < 100; i++) {
        await page.waitForTimeout(300);
        const now = await page.evaluate(() => location.href);
        if (now === shared) break;
        shared = now;
      }
      const p2 = await ctx.newPage();
      const log2 = watch(p2, '/ (shared link)');
      await p2.goto(shared, { waitUntil: 'domcontentloaded' });
      await waitReady(p2, 'shared link');
      await p2.waitForSelector('#panel[data-state="ready"]', { timeout: 30_000 });
      // What each page shows: its checked layers, filter inputs and open panel (the DOM) and its map's view.
      const [a, b] = await Promise.all([page, p2].map((pg) => pg.evaluate(() => {
        const m = window.__testMaps[0];
        const panel = document.getElementById('panel');
        const code = panel.querySelector('[data-field="code"]');
        return {
          layers: [...document.querySelectorAll('#layer-list input[data-layer]')].filter((i) => i.checked).map((i) => i.dataset.layer).sort().join(','),
          filters: ['f-category', 'f-status', 'f-source', 'time-from', 'time-to'].map((id) => document.getElementById(id).value).join('|'),
          sel: panel.hidden ? null : `${panel.dataset.kind}:${code ? code.textContent.trim() : ''}`,
          z: m.getZoom().toFixed(1),
          c: m.getCenter().toArray().map((x) => x.toFixed(3)).join(','),
        };
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
  await step('viewer: no request leaves the server (others blocked and counted)', async () => {
    assertNoForeign(ctx, '/');
    return `${vlog.requests.length} requests, all to ${ORIGIN}`;
  });
  await ctx.close();
  }

  if (want('screen')) {
  // ---- big screen
  const sctx = await newContext(browser, { role: null });
  const spage = await sctx.newPage();
  const slog = watch(spage, '/screen');
  let posted = 0;
  /** POSTs an event through the API (any role may report); resolves to its JSON. */
  const postEvent = async (title, i = 0) => {
    const jitter = (k) => ((((i * 7919 + k * 104729) % 1000) / 1000) - 0.5) * 0.0004;
    const cats = ['02.05', '02.02', '03.02', '05.01', '04.04'];
    const body = { category: cats[i % cats.length], title, lon: point[0] + jitter(1), lat: point[1] + jitter(2), source: 'resident' };
    // A resident's report: no account, as the public reports.
    const res = await getJson('/api/v1/events', { as: null, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert(res.status === 201, `POST /api/v1/events: expected 201, got ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
    posted += 1;
    idOf.set(title, String(res.body.id));
    return res.body;
  };
  // The wall sees no titles (free text may name people): events are found in
  // its feed by their ID, and the feed must not show the title.
  const idOf = new Map();
  const inFeedNow = (title) => spage.evaluate(([id, t]) => {
    const li = document.querySelector(`#feed li[data-id="${id}"]`);
    if (li && li.textContent.includes(t)) throw new Error(`the wall's feed shows the title "${t}"`);
    return !!li;
  }, [idOf.get(title), title]);
  const inFeed = (title, timeout) => spage.waitForFunction((id) => !!document.querySelector(`#feed li[data-id="${id}"]`), idOf.get(title), { timeout, polling: 50 })
    .then(() => inFeedNow(title));
  const live = () => document.getElementById('conn').dataset.state === 'live';
  const screenReady = await step('big screen /screen loads with KPI tiles', async () => {
    // The wall signs itself in with its kiosk token (wangge token add --role screen).
    await spage.goto(`${BASE}/screen?token=${KIOSK}`, { waitUntil: 'domcontentloaded' });
    await waitReady(spage, '/screen');
    await spage.waitForFunction(() => document.getElementById('kpis').dataset.updated, null, { timeout: 60_000 })
      .catch(() => { throw new Error('KPI tiles never filled from /api/v1/kpi'); });
    const kpi = await apiJson('/api/v1/kpi');
    const shown = (await spage.textContent('.kpi[data-kpi="events_today"] .value')).replace(/[^\d]/g, '');
    assert(Number(shown) >= Number(kpi.events_today) - 5 && Number(shown) <= Number(kpi.events_today) + 5, `KPI events_today shows ${shown}, /api/v1/kpi says ${kpi.events_today}`);
    // The demo's events run up to now: the 30-day handling window has
    // figures, and so has the month's satisfaction once the month is a few
    // days old (a return visit rates an event two days after it is resolved).
    const monthDay = Number(String(kpi.window_end).slice(8, 10));
    assert(kpi.window_is_now === true, `the demo's events do not reach today: ${JSON.stringify(kpi)}`);
    assert(kpi.median_handling_h != null && (kpi.satisfaction_month != null || monthDay <= 3), `KPI windows empty: ${JSON.stringify(kpi)}`);
    const med = (await spage.textContent('.kpi[data-kpi="median_handling_h"] .value')).replace(/[^\d.]/g, '');
    assert(Math.abs(Number(med) - kpi.median_handling_h) < 0.051, `KPI median shows ${med}, /api/v1/kpi says ${kpi.median_handling_h}`);
    return `KPI ${JSON.stringify(kpi)}`;
  });
  if (screenReady) {
    await step('big screen: a POSTed event appears in the live feed (time reported)', async () => {
      await spage.waitForFunction(live, null, { timeout: 60_000 })
        .catch(() => { throw new Error('EventSource /api/v1/stream/events never opened (badge still "reconnecting")'); });
      const title = `浏览器测试 ${Date.now()}`;
      const t0 = Date.now();
      await postEvent(title);
      try {
        await inFeed(title, 30_000);
      } catch (_) {
        throw new Error(`event "${title}" (201 from POST /api/v1/events) not in the feed 30 s later; feed has ${await spage.$$eval('#feed li', (l) => l.length)} items`);
      }
      const ms = Date.now() - t0;
      await idle(spage);
      await spage.screenshot({ path: join(OUT, 'screen.png') });
      return `appeared after ${ms} ms`;
    });

    await step('big screen: lists the overdue and red events (coarse) and opens one from the remote', async () => {
      // The page refreshes its list by itself; the escalation run at start-up
      // may change the API's meanwhile: wait until both agree (bounded).
      let r;
      let red;
      let listed = [];
      const until = Date.now() + 120_000;
      for (;;) {
        r = await getJson('/api/v1/alerts', { as: 'screen' });
        assert(r.status === 200, `GET /api/v1/alerts as screen: ${r.status}`);
        red = r.body.red;
        listed = await spage.$$eval('#alerts button', (bs) => bs.map((b) => Number(b.dataset.id)));
        if (listed.join() === red.slice(0, 12).map((a) => a.id).join() || Date.now() > until) break;
        await spage.waitForFunction((old) => [...document.querySelectorAll('#alerts button')].map((b) => b.dataset.id).join() !== old, listed.join(), { timeout: 30_000 }).catch(() => {});
      }
      assert(red.length > 0, `the demo town has no overdue or red event: ${JSON.stringify(r.body.counts)}`);
      assert(red.every((a) => !('title' in a) && !('handler' in a) && a.coarse === true), 'the screen got an alert with a title or handler');
      assert(listed.join() === red.slice(0, 12).map((a) => a.id).join(), `page order ${listed} ≠ API ${red.map((a) => a.id)}`);
      // The wall's remote: an arrow key opens the first alert on the map.
      await spage.keyboard.press('ArrowDown');
      await spage.waitForSelector(`#focus:not([hidden])[data-id="${red[0].id}"]`, { timeout: 10_000 });
      await spage.waitForFunction(([lon, lat]) => {
        const m = window.__testMaps[0];
        const c = m.getCenter();
        return !m.isMoving() && Math.abs(c.lng - lon) < 1e-3 && Math.abs(c.lat - lat) < 1e-3 && m.getZoom() > 15;
      }, [red[0].lon, red[0].lat], { timeout: 30_000 })
        .catch(async () => { throw new Error(`map centre ${JSON.stringify(await spage.evaluate(() => window.__testMaps[0].getCenter()))}, alert at ${red[0].lon},${red[0].lat}`); });
      await idle(spage);
      await spage.screenshot({ path: join(OUT, 'screen-alert.png') });
      await spage.screenshot({ path: join(SCREENS, 'screen-1920.jpg'), type: 'jpeg', quality: 70 });
      await spage.keyboard.press('Escape');
      await spage.waitForSelector('#focus[hidden]', { state: 'attached', timeout: 10_000 });
      return `${red.length} alerts (${JSON.stringify(r.body.counts)}), opened #${red[0].id}`;
    });

    await step('big screen: the week\'s emerging hotspots beside the escalation alerts, as /api/v1/hotspots; a click flies to one', async () => {
      const r = await getJson('/api/v1/alerts', { as: 'screen' });
      assert(r.status === 200, `GET /api/v1/alerts as screen: ${r.status}`);
      const hs = r.body.hotspots;
      const week = r.body.hotspot_week;
      const api = await getJson(`/api/v1/hotspots${week ? `?week=${week}` : ''}`, { as: 'screen' });
      assert(api.status === 200, `GET /api/v1/hotspots as screen: ${api.status}`);
      const want = api.body.hotspots.slice(0, 10);
      assert(hs.length === want.length && hs.every((x, i) => x.area === want[i].area && x.category === want[i].category && x.count === want[i].count),
        `alerts' hotspots ${JSON.stringify(hs.map((x) => [x.area, x.category]))} ≠ /api/v1/hotspots ${JSON.stringify(want.map((x) => [x.area, x.category]))}`);
      await spage.waitForFunction((n) => document.getElementById('hot-alerts')?.dataset.count === String(n), hs.length, { timeout: 60_000 });
      if (!hs.length) return `week ${week}: no hotspot`;
      const shown = await spage.$$eval('#hot-alerts button', (bs) => bs.map((b) => `${b.dataset.area}/${b.dataset.category}`));
      assert(shown.join() === hs.slice(0, 6).map((x) => `${x.area}/${x.category}`).join(), `screen hotspots ${shown}`);
      await spage.click('#hot-alerts button');
      await spage.waitForSelector(`#focus:not([hidden])[data-hotspot="${hs[0].area}"]`, { timeout: 10_000 });
      await spage.waitForFunction(([lon, lat]) => {
        const m = window.__testMaps[0];
        const c = m.getCenter();
        return !m.isMoving() && Math.abs(c.lng - lon) < 1e-3 && Math.abs(c.lat - lat) < 1e-3;
      }, [hs[0].lon, hs[0].lat], { timeout: 30_000 });
      await idle(spage);
      await spage.screenshot({ path: join(OUT, 'screen-hotspot.png') });
      await spage.keyboard.press('Escape');
      await spage.waitForSelector('#focus[hidden]', { state: 'attached', timeout: 10_000 });
      return `week ${week}: ${hs.length} hotspots, opened ${hs[0].category} at ${hs[0].area}`;
    });

    // A burst of events: the feed keeps exactly its cap, the newest first.
    const FEED_CAP = 50;
    const burst = async (n, tag) => {
      let last;
      for (let i = 0; i < n; i++) {
        last = `${tag} ${i + 1}/${n}`;
        await postEvent(last, posted + i);
      }
      await inFeed(last, 60_000).catch(() => { throw new Error(`the last of ${n} posted events ("${last}") never reached the feed`); });
      return last;
    };
    await step(`big screen: after 60 posted events the feed holds exactly ${FEED_CAP}, newest first`, async () => {
      const last = await burst(60, `批量 ${Date.now()}`);
      await idle(spage);
      const st = await spage.evaluate(() => ({
        dom: document.querySelectorAll('#feed li').length,
        first: document.querySelector('#feed li').dataset.id,
        // Points of the style's `live` source (a point may sit in several tiles: count ids).
        live: new Set(window.__testMaps[0].querySourceFeatures('live').map((f) => f.properties.id)).size,
      }));
      assert(st.dom === FEED_CAP, `feed holds ${st.dom} <li> after 60 new events, expected exactly ${FEED_CAP}`);
      assert(st.first === idOf.get(last), `top of the feed is event ${st.first}, expected the newest "${last}" (${idOf.get(last)})`);
      assert(st.live <= FEED_CAP, `live map source holds ${st.live} points (cap ${FEED_CAP})`);
      return `${st.dom} items, ${st.live} live points, top "${st.first}"`;
    });

    await step('big screen: JS heap and DOM stay bounded over bursts of events and tile refreshes (CDP)', async () => {
      const cdp = await sctx.newCDPSession(spage);
      const measure = () => pageMemory(cdp);
      const round = async (k) => {
        await burst(100, `内存 ${k} ${Date.now()}`);
        for (let i = 0; i < 3; i++) {
          // What the wall does every 5 minutes: set the same tile URLs again.
          await spage.evaluate(() => {
            const map = window.__testMaps[0];
            for (const id of ['events', 'heatmap', 'overdue']) map.getSource(id).setTiles([...map.getSource(id).tiles]);
          });
          await idle(spage);
        }
        // The debounced KPI refresh (3 s after the last event) and the feed animation.
        const kpiAt = await spage.evaluate(() => document.getElementById('kpis').dataset.updated);
        await spage.waitForFunction((t) => document.getElementById('kpis').dataset.updated !== t, kpiAt, { timeout: 60_000 });
        await spage.waitForFunction(() => !document.querySelector('#feed li.fresh') || document.getAnimations().length === 0, null, { timeout: 30_000 });
      };
      await round('warm-up');
      const m = [await measure()];
      for (let k = 1; k <= 3; k++) {
        await round(k);
        m.push(await measure());
      }
      await cdp.detach();
      const mb = (x) => (x / 1048576).toFixed(2);
      const figs = m.map((x, i) => `${i ? `after round ${i}` : 'after warm-up'}: heap ${mb(x.heap)} MB, ${x.nodes} DOM nodes, ${x.listeners} listeners`);
      console.log(`     memory (300 events, 9 tile refreshes after warm-up):\n     ${figs.join('\n     ')}`);
      const growth = m[3].heap - m[0].heap;
      // 300 events of ~1 KB JSON each plus their feed items would be > 0.6 MB if kept.
      assert(growth < 1.5 * 1048576, `JS heap grew by ${mb(growth)} MB over 3 rounds of 100 events and 3 tile refreshes each (${figs.join('; ')})`);
      assert(m[3].nodes - m[0].nodes < 200, `DOM grew by ${m[3].nodes - m[0].nodes} nodes over 300 events (${figs.join('; ')})`);
      assert(m[3].listeners - m[0].listeners < 20, `event listeners grew by ${m[3].listeners - m[0].listeners} over 300 events`);
      return `heap ${mb(m[0].heap)} → ${mb(m[1].heap)} → ${mb(m[2].heap)} → ${mb(m[3].heap)} MB (growth ${mb(growth)} MB), DOM nodes ${m.map((x) => x.nodes).join(' → ')}`;
    });

    const restartName = 'big screen: server restart — the page reconnects by itself, backfills the event it missed, then streams live again';
    if (!server) skip(restartName, 'needs --bin and --db (the run must own the server to restart it)');
    else await step(restartName, async () => {
      const streamUrls = [];
      spage.on('request', (r) => { if (r.url().includes('/api/v1/stream/events')) streamUrls.push(r.url()); });
      const reconnects = () => Number(document.getElementById('conn').dataset.reconnects || 0);
      const rc0 = await spage.evaluate(reconnects);
      slog.outage = [];
      // While the server restarts, a proxy in front of it answers 503: EventSource gives up
      // on such an answer (readyState CLOSED), so only the page's own reconnect can recover.
      let refused = 0;
      await spage.route('**/api/v1/stream/events*', (route) => {
        refused += 1;
        return route.fulfill({ status: 503, contentType: 'text/plain', body: 'restarting' });
      });
      const kpiBefore = await spage.evaluate(() => document.getElementById('kpis').dataset.updated);
      await server.stop();
      await spage.waitForFunction(() => document.getElementById('conn').dataset.state === 'down', null, { timeout: 60_000 })
        .catch(() => { throw new Error('the badge did not turn to "reconnecting" after the server stopped'); });
      const down = await spage.textContent('#conn');
      const upMs = await server.start();
      const missed = `重启期间 ${Date.now()}`;
      await postEvent(missed);
      await spage.waitForTimeout(1500);
      assert(!(await inFeedNow(missed)), 'the event posted while the stream was blocked is already in the feed: the test cannot tell backfill from live delivery');
      await spage.unroute('**/api/v1/stream/events*');
      const t0 = Date.now();
      await inFeed(missed, 40_000).catch(async () => {
        const st = await spage.evaluate(() => ({ ...document.getElementById('conn').dataset }));
        throw new Error(`event "${missed}", posted while the page was cut off, never reached the feed after the stream was let through again (${JSON.stringify(st)}; stream requests ${streamUrls.slice(-5).join(', ')})`);
      });
      const backfillMs = Date.now() - t0;
      await spage.waitForFunction(live, null, { timeout: 60_000 });
      const resumed = streamUrls.filter((u) => /[?&]since=\d+/.test(u));
      assert(resumed.length, `no stream request carried ?since=<id> after the outage: ${streamUrls.join(', ')}`);
      const liveTitle = `重启之后 ${Date.now()}`;
      const t1 = Date.now();
      await postEvent(liveTitle);
      await inFeed(liveTitle, 30_000).catch(() => { throw new Error(`after reconnecting, "${liveTitle}" did not reach the feed within 30 s`); });
      const liveMs = Date.now() - t1;
      const rc = (await spage.evaluate(reconnects)) - rc0;
      // The figures come back too (the page refreshes them when the stream is live again).
      await spage.waitForFunction((t) => document.getElementById('kpis').dataset.updated !== t, kpiBefore, { timeout: 60_000 })
        .catch(() => { throw new Error('the KPI tiles were not refreshed after the server came back'); });
      const outage = slog.outage;
      slog.outage = null;
      // Requests that find the server down fail: the stream, and tiles the map
      // asks for meanwhile ("Failed to fetch (0)" is MapLibre's word for it).
      // The restart ends every session: an API call the page makes before it has
      // signed in again (the 30 s KPI refresh may fall in that window) is answered
      // 401, after which the page signs in with its kiosk token and asks again.
      const unexpected = outage.filter((m) => !/(stream\/events|ERR_CONNECTION_REFUSED|503|EventSource|net::ERR_|Failed to fetch \(0\))/.test(m))
        .filter((m) => !/(\/api\/v1\/[\w/]+(\?\S*)?: HTTP 401|status of 401 \(Unauthorized\) \(\S+\/api\/v1\/)/.test(m));
      assert(!unexpected.length, `unexpected errors during the outage:\n${unexpected.slice(0, 10).join('\n')}`);
      return `badge "${down.trim()}" while down, ${refused} refused connection(s), server back in ${upMs} ms, ${rc} reconnect(s) by the page; missed event backfilled ${backfillMs} ms after the stream was let through (${resumed[resumed.length - 1].replace(ORIGIN, '')}), next live event in ${liveMs} ms`;
    });
  }
  if (!results.find((r) => r.name.startsWith('big screen: a POSTed')) || !results.find((r) => r.name.startsWith('big screen: a POSTed')).ok) {
    await spage.screenshot({ path: join(OUT, 'screen.png') }).catch(() => {});
  }
  await step('big screen: zero console errors', async () => {
    assert(!slog.errors.length, `${slog.errors.length} console error(s) on /screen:\n${slog.errors.slice(0, 15).join('\n')}`);
  });
  await step('big screen: no request leaves the server (others blocked and counted)', async () => assertNoForeign(sctx, '/screen'));
  await sctx.close();

  await step('big screen at 3840×2160: renders, readable, screenshot', async () => {
    const c4 = await newContext(browser, { role: null, viewport: { width: 3840, height: 2160 } });
    const p4 = await c4.newPage();
    const l4 = watch(p4, '/screen 4K');
    await p4.goto(`${BASE}/screen?token=${KIOSK}`, { waitUntil: 'domcontentloaded' });
    await waitReady(p4, '/screen at 4K');
    await p4.waitForFunction(() => document.getElementById('kpis').dataset.updated && document.getElementById('conn').dataset.state === 'live', null, { timeout: 60_000 });
    await postEvent(`大屏4K ${Date.now()}`);
    await p4.waitForFunction(() => document.querySelectorAll('#feed li').length > 0, null, { timeout: 30_000 });
    await idle(p4);
    const m = await p4.evaluate(() => ({
      title: parseFloat(getComputedStyle(document.querySelector('#head h1')).fontSize),
      kpi: parseFloat(getComputedStyle(document.querySelector('.kpi .value')).fontSize),
      feed: parseFloat(getComputedStyle(document.querySelector('#feed li')).fontSize),
      canvas: [window.__testMaps[0].getCanvas().width, window.__testMaps[0].getCanvas().height],
    }));
    await p4.screenshot({ path: join(OUT, 'screen-4k.png') });
    await p4.screenshot({ path: join(SCREENS, 'screen-3840.jpg'), type: 'jpeg', quality: 60 });
    assert(!l4.errors.length, `console errors at 4K:\n${l4.errors.slice(0, 10).join('\n')}`);
    assertNoForeign(c4, '/screen at 4K');
    // Read from 4-5 m away on a 4K wall: text at least as large as 1080p's in screen pixels doubled.
    assert(m.feed >= 24 && m.kpi >= 96, `text too small at 4K: ${JSON.stringify(m)}`);
    await c4.close();
    return `font sizes title ${m.title}px, KPI ${m.kpi}px, feed ${m.feed}px; map canvas ${m.canvas.join('×')}`;
  });

  }
  if (want('embed')) {
  // ---- embed inside a host page (served by request interception on the server's origin)
  const ectx = await newContext(browser, { role: null });
  const hostUrl = `${ORIGIN}/__wangge_browser_test_host.html`;
  const embedSrc = `/embed?grid=${encodeURIComponent(code)}&layers=base,grids-${kind},hex,events&token=${KIOSK}`;
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
    await epage.waitForFunction(() => window.__msgs.some((m) => m && m.type === 'wangge:ready'), null, { timeout: 30_000 })
      .catch(() => { throw new Error('host page never received {type:"wangge:ready"} from the frame'); });
    const st = await frame.evaluate(() => {
      const map = window.__testMaps[0];
      const b = map.getBounds();
      return { view: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()], hl: JSON.stringify(map.getFilter('wg-grid-selected')) };
    });
    const sel = await epage.evaluate(() => window.__msgs.filter((m) => m && m.type === 'wangge:selected').map((m) => String(m.code)));
    assert(sel.includes(code), `the host got no {type:"wangge:selected", code:${code}} (selected: ${JSON.stringify(sel)})`);
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
      await epage.evaluate((o) => document.getElementById('wg').contentWindow.postMessage({ type: 'wangge:set-filters', filters: { category: '02' } }, o), ORIGIN);
      await epage.waitForFunction(() => window.__msgs.some((m) => m && m.type === 'wangge:filters' && m.filters.category === '02'), null, { timeout: 30_000 })
        .catch(() => { throw new Error('the frame did not answer {type:"wangge:set-filters", filters:{category:"02"}} with {type:"wangge:filters"}'); });
      await frame.waitForFunction(() => /[?&]category=02/.test((window.__testMaps[0].getSource('heatmap').tiles || [''])[0]), null, { timeout: 30_000 })
        .catch(() => { throw new Error('the heatmap tiles do not carry category=02 after wangge:set-filters'); });
      await idle(frame);
      const filters = await epage.evaluate(() => window.__msgs.filter((m) => m && m.type === 'wangge:filters').at(-1).filters);
      return `filters now ${JSON.stringify(filters)}`;
    });
    await step('embed: clicking the grid posts wangge:click to the host', async () => {
      await frame.evaluate(() => window.__testMaps[0].setLayoutProperty('wg-events', 'visibility', 'none'));
      await idle(frame);
      const px = await frame.evaluate((p) => {
        const q = window.__testMaps[0].project(p);
        return { x: q.x, y: q.y };
      }, point);
      const box = await (await epage.$('#wg')).boundingBox();
      await epage.mouse.click(box.x + px.x, box.y + px.y);
      await epage.waitForFunction((c) => window.__msgs.some((m) => m && m.type === 'wangge:click' && m.layer === 'grid' && String(m.properties.code) === c), code, { timeout: 30_000 })
        .catch(async () => { throw new Error(`no {type:"wangge:click", layer:"grid", properties.code:${code}} message; host got ${JSON.stringify(await epage.evaluate(() => window.__msgs)).slice(0, 300)}`); });
    });
  }
  await step('embed: zero console errors', async () => {
    assert(!elog.errors.length, `${elog.errors.length} console error(s) on /embed:\n${elog.errors.slice(0, 15).join('\n')}`);
  });
  await step('embed: no request leaves the server (others blocked and counted)', async () => assertNoForeign(ectx, '/embed'));
  await ectx.close();
  }

  if (want('inbox')) await inboxTests({ browser, step, assert, newContext, getJson, watch, assertNoForeign, BASE });
  if (want('household')) await householdTests(browser, { step, assert, skip, newContext, getJson, base: () => BASE, server, bin: SERVER_BIN, db: SERVER_DB });
  if (want('regrid')) await regridCancelTests(browser);
  if (want('regrid')) await regridTests(browser);
  if (want('dashboard')) await dashboardTests(browser, { step, assert, newContext, apiJson, BASE, OUT });
  if (want('imports')) await importTests(browser, { step, assert, newContext, apiJson, BASE });
  // Last: it restarts the server (every session ends).
  if (want('soak')) {
    await soakTests(browser, {
      step, assert, skip, newContext, getJson, server, BASE, KIOSK,
      events: Number(args['soak-events'] || 1000),
      rate: Number(args['soak-rate'] || 100),
    });
  }
}

// ---------------------------------------------------------------- re-gridding: cancelling a long job (issue 17)
async function regridCancelTests(browser) {
  const ROLE = 'planner';
  const rctx = await newContext(browser, { role: ROLE });
  const page = await rctx.newPage();
  const log = watch(page, '/ (planner, cancel)');
  await step(`re-gridding: a ${ROLE} cancels a long job (10–20 households per micro-grid, the whole town) with the panel's Cancel button and reads why it stopped`, async () => {
    await page.goto(`${BASE}/`, { waitUntil: 'domcontentloaded' });
    await waitReady(page, '/ as planner');
    await page.click('#regrid-open');
    await page.waitForFunction(() => document.querySelectorAll('#rg-community option').length > 1, null, { timeout: 60_000 })
      .catch(() => { throw new Error('the community list never filled'); });
    await page.selectOption('#rg-level', 'micro');
    await page.selectOption('#rg-community', '');
    await page.fill('#rg-min', '10');
    await page.fill('#rg-max', '20');
    await page.selectOption('#rg-mode', 'max');
    // The most search effort a request may ask (the form does not offer
    // it): minutes of work, surely running when the button is clicked.
    await page.route('**/api/v1/regrid', (route) => {
      const body = JSON.parse(route.request().postData() || '{}');
      return route.continue({ postData: JSON.stringify({ ...body, moves_per_unit: 10000 }) });
    });
    await page.click('#rg-start');
    await page.waitForFunction(() => document.getElementById('regrid').dataset.status === 'running' && !document.getElementById('rg-cancel').hidden, null, { timeout: 120_000 })
      .catch(() => { throw new Error('the Cancel button never showed while the job ran'); });
    const job = await page.evaluate(() => document.getElementById('regrid').dataset.job);
    const t0 = Date.now();
    await page.click('#rg-cancel');
    await page.waitForFunction(() => document.getElementById('regrid').dataset.status === 'cancelled' && !document.getElementById('rg-error').hidden, null, { timeout: 60_000 })
      .catch(async () => { throw new Error(`job ${job} not shown cancelled: ${JSON.stringify(await page.evaluate(() => ({ status: document.getElementById('regrid').dataset.status, error: document.getElementById('rg-error').textContent })))}`); });
    const shown = await page.evaluate(() => ({ error: document.getElementById('rg-error').textContent, cancel: !document.getElementById('rg-cancel').hidden, text: document.getElementById('rg-progress-text').textContent }));
    assert(/cancelled by planner:/.test(shown.error), `the panel does not say who cancelled: ${shown.error}`);
    assert(!shown.cancel, 'the Cancel button still shows after the job ended');
    const r = await getJson(`/api/v1/regrid/${job}`, { as: ROLE });
    assert(r.status === 200 && r.body.status === 'cancelled', `GET /api/v1/regrid/${job}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
    await page.screenshot({ path: join(OUT, 'regrid-cancelled.png') });
    assert(!log.errors.length, `${log.errors.length} console error(s):\n${log.errors.slice(0, 10).join('\n')}`);
    return `job ${job} cancelled in ${((Date.now() - t0) / 1000).toFixed(1)} s; panel: "${shown.text}" / "${shown.error}"`;
  });
  await rctx.close();
}

// ---------------------------------------------------------------- re-gridding (issue 6), last: adopting changes the grids
async function regridTests(browser) {
  const ROLE = 'planner';
  const api2 = async (path, init = {}) => getJson(path, { ...init, as: ROLE });
  const micro = await apiJson('/api/v1/grids?kind=micro&limit=10000');
  const communities = await apiJson('/api/v1/communities?limit=10000');
  // The community with the most micro-grids today.
  const per = new Map();
  for (const f of micro.features || []) per.set(String(f.properties.community), (per.get(String(f.properties.community)) || 0) + 1);
  const [commId, nToday] = [...per.entries()].sort((a, b) => b[1] - a[1])[0] || [];
  const comm = (communities.features || []).find((f) => String(f.properties.id) === commId);
  if (!comm) {
    await step('re-gridding: the demo town has a community with micro-grids', async () => { throw new Error(`no micro-grids with a community in /api/v1/grids?kind=micro (${(micro.features || []).length} features)`); });
    return;
  }
  const cc = String(comm.properties.code);
  const rctx = await newContext(browser, { role: ROLE });
  const page = await rctx.newPage();
  const log = watch(page, '/ (planner)');
  let job = null;
  let done = null;
  const opened = await step(`re-gridding: a ${ROLE} runs a micro re-grid of community ${comm.properties.name} (${cc}, ${nToday} micro-grids today) from the panel`, async () => {
    await page.goto(`${BASE}/`, { waitUntil: 'domcontentloaded' });
    await waitReady(page, '/ as planner');
    assert(!(await page.evaluate(() => document.getElementById('regrid-open').hidden)), `no re-gridding button for role ${ROLE}`);
    await page.click('#regrid-open');
    await page.waitForFunction((c) => [...document.querySelectorAll('#rg-community option')].some((o) => o.value === c), cc, { timeout: 60_000 })
      .catch(() => { throw new Error(`community ${cc} never appeared in the panel's community list`); });
    await page.selectOption('#rg-level', 'micro');
    await page.selectOption('#rg-community', cc);
    await page.fill('#rg-min', '30');
    await page.fill('#rg-max', '80');
    await page.selectOption('#rg-mode', 'max');
    // The demo has stairwells above 80 households: allow floor ranges so the bounds can hold.
    await page.check('#rg-floors');
    const t0 = Date.now();
    const seen = [];
    await page.click('#rg-start');
    for (;;) {
      const st = await page.evaluate(() => {
        const d = document.getElementById('regrid').dataset;
        return { status: d.status, progress: Number(d.progress), job: d.job, comparing: d.comparing === '1', error: document.getElementById('rg-error').textContent, text: document.getElementById('rg-progress-text').textContent };
      });
      if (!seen.length || seen[seen.length - 1].status !== st.status || seen[seen.length - 1].progress !== st.progress) seen.push(st);
      assert(!st.error, `the panel shows an error: ${st.error}`);
      if (st.status === 'done' && st.comparing) break;
      assert(Date.now() - t0 < 600_000, `job ${st.job} not done after 600 s: ${JSON.stringify(st)}`);
      await page.waitForTimeout(100);
    }
    job = await page.evaluate(() => document.getElementById('regrid').dataset.job);
    const r = await api2(`/api/v1/regrid/${job}`);
    assert(r.status === 200 && r.body.status === 'done', `GET /api/v1/regrid/${job}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
    done = r.body;
    const shown = seen.map((x) => `${x.status} ${Math.round(x.progress * 100)}%`).join(' → ');
    assert(done.params && done.params.allow_floor_split === true, `the job did not get allow_floor_split from the form: params ${JSON.stringify(done.params)}`);
    return `job ${job} in ${((Date.now() - t0) / 1000).toFixed(1)} s; panel showed ${shown}; last line "${seen[seen.length - 1].text}"`;
  });
  if (opened && done) {
    const feats = done.result.geojson.features;
    const rep = done.result.report;
    await step('re-gridding: the proposal renders on the right of the swipe, today\'s grids on the left (queryRenderedFeatures)', async () => {
      await idle(page);
      await idle(page, -1);
      const q = await page.evaluate(() => {
        const m = window.__testMaps[0];
        const c = window.__testMaps.at(-1);
        const x = Number(document.getElementById('swipe').style.left.replace('px', ''));
        const w = m.getCanvas().clientWidth;
        const h = m.getCanvas().clientHeight;
        const labels = (fs) => [...new Set(fs.map((f) => String(f.properties.label)))];
        return {
          x, w,
          clip: document.getElementById('map-compare').style.clipPath,
          proposal: labels(c.queryRenderedFeatures([[x, 0], [w, h]], { layers: ['rg-proposal-fill'] })),
          today: labels(m.queryRenderedFeatures([[0, 0], [x, h]], { layers: ['rg-today-fill'] })),
          sameCamera: Math.abs(m.getZoom() - c.getZoom()) < 1e-6 && m.getCenter().distanceTo(c.getCenter()) < 0.5,
        };
      });
      const hints = new Set(feats.map((f) => String(f.properties.code_hint)));
      assert(q.proposal.length > 0, `no proposed grid rendered right of the divider (x=${q.x} of ${q.w})`);
      assert(q.proposal.every((l) => hints.has(l)), `rendered proposal labels not in the job's GeoJSON: ${q.proposal.filter((l) => !hints.has(l)).slice(0, 5)}`);
      assert(q.today.length > 0, 'no grid of today rendered left of the divider');
      assert(q.clip.includes(`${q.x}px`), `the proposal map is not clipped at the divider: clip-path "${q.clip}", divider ${q.x}px`);
      assert(q.sameCamera, 'the two maps of the comparison are not on the same camera');
      // Both sides move together: pan the main map and look again.
      await page.mouse.move(q.x / 2, 500);
      await page.mouse.down();
      await page.mouse.move(q.x / 2 + 120, 540, { steps: 5 });
      await page.mouse.up();
      await idle(page);
      const still = await page.evaluate(() => {
        const m = window.__testMaps[0];
        const c = window.__testMaps.at(-1);
        return m.getCenter().distanceTo(c.getCenter()) < 0.5 && Math.abs(m.getZoom() - c.getZoom()) < 1e-6;
      });
      assert(still, 'after panning, the proposal map did not follow');
      await page.screenshot({ path: join(OUT, 'regrid-compare.png') });
      return `${q.proposal.length} proposed grids rendered right of x=${q.x}px, ${q.today.length} of today's left of it`;
    });
    await step('re-gridding: the report in the panel equals the job\'s JSON (bounds violations 0 where feasible)', async () => {
      const digits = (s) => Number(String(s).replace(/[^\d.-]/g, ''));
      const f = await page.evaluate(() => {
        const v = (k) => document.querySelector(`#rg-result [data-field="${k}"]`)?.textContent ?? null;
        const rows = [...document.querySelectorAll('#rg-result tr[data-code]')].map((tr) => [tr.dataset.code, tr.querySelector('[data-field="hh"]').textContent]);
        return { rows, feasible: document.querySelector('#rg-result [data-field="verdict"]').dataset.feasible, ...Object.fromEntries(['before-grids', 'after-grids', 'before-over', 'after-over', 'before-under', 'after-under', 'before-violations', 'violations', 'households_moved', 'ari', 'polsby_popper', 'convex_hull_ratio', 'cut_edges', 'compounds_split'].map((k) => [k, v(k)])) };
      });
      const eq = (shown, want, what) => assert(digits(shown) === Number(want), `${what}: panel shows ${shown}, job JSON says ${want}`);
      eq(f['before-grids'], rep.before.grids, 'grids today');
      eq(f['after-grids'], rep.after.grids, 'grids proposed');
      eq(f['before-over'], rep.before.over, 'grids over max today');
      eq(f['after-over'], rep.after.over, 'grids over max proposed');
      eq(f['before-under'], rep.before.under, 'grids under min today');
      eq(f['after-under'], rep.after.under, 'grids under min proposed');
      eq(f['before-violations'], rep.before.over + rep.before.under, 'violations today');
      eq(f.violations, rep.violations, 'bound violations proposed');
      eq(f.households_moved, rep.households_moved, 'households moved');
      eq(f.cut_edges, rep.cut_edges, 'cut edges');
      eq(f.compounds_split, rep.compounds_split, 'compounds split');
      assert(f.ari === Number(rep.adjusted_rand_index).toFixed(3), `ARI: panel ${f.ari}, JSON ${rep.adjusted_rand_index}`);
      const mean = (k) => feats.reduce((a, x) => a + Number(x.properties[k]), 0) / feats.length;
      assert(f.polsby_popper === mean('polsby_popper').toFixed(2), `mean Polsby–Popper: panel ${f.polsby_popper}, JSON ${mean('polsby_popper')}`);
      assert(f.convex_hull_ratio === mean('convex_hull_ratio').toFixed(2), `mean convex-hull ratio: panel ${f.convex_hull_ratio}, JSON ${mean('convex_hull_ratio')}`);
      assert(f.rows.length === feats.length, `panel lists ${f.rows.length} proposed grids, JSON has ${feats.length}`);
      const hh = new Map(feats.map((x) => [String(x.properties.code_hint), Number(x.properties.households)]));
      for (const [c, v] of f.rows) assert(hh.get(c) === digits(v), `grid ${c}: panel shows ${v} households, JSON says ${hh.get(c)}`);
      // Feasible: no part the diagnostics call infeasible and no unit above max kept whole.
      const infeasible = (rep.diagnostics || []).filter((d) => d.kind === 'infeasible' || (d.kind === 'oversized_unit' && !(Number(d.split_into) > 1)));
      assert(f.feasible === (infeasible.length ? '0' : '1'), `panel verdict feasible=${f.feasible}, JSON has ${infeasible.length} infeasible part(s) or whole oversized unit(s)`);
      if (!infeasible.length) {
        assert(Number(rep.violations) === 0, `the report calls the community feasible but has ${rep.violations} bound violations`);
        assert(digits(f.violations) === 0, `feasible, but the panel shows ${f.violations} bound violations`);
      }
      const outside = feats.filter((x) => x.properties.households < 30 || x.properties.households > 80).length;
      assert(outside === Number(rep.violations), `${outside} proposed grids in the GeoJSON are outside 30–80 households, report says ${rep.violations}`);
      return `today ${rep.before.grids} grids (${rep.before.over} over, ${rep.before.under} under) → proposal ${rep.after.grids} (${rep.after.over} over, ${rep.after.under} under); moved ${rep.households_moved} households, ARI ${f.ari}, PP ${f.polsby_popper}; ${infeasible.length ? `${infeasible.length} infeasible part(s)` : 'feasible'}`;
    });
    await step('re-gridding: "采纳" adopts the proposal; the grid tiles and /api/v1/grids show the new version', async () => {
      const beforeCodes = new Set((await apiJson('/api/v1/grids?kind=micro&limit=10000')).features.map((x) => String(x.properties.code)));
      await page.fill('#rg-note', `浏览器测试采纳 ${new Date().toISOString()}`);
      const [resp] = await Promise.all([
        page.waitForResponse((r) => r.url().includes(`/api/v1/regrid/${job}/adopt`) && r.request().method() === 'POST', { timeout: 60_000 }),
        page.click('#rg-adopt-btn'),
      ]);
      const body = await resp.json().catch(() => null);
      assert(resp.status() === 200, `POST /api/v1/regrid/${job}/adopt: ${resp.status()} ${JSON.stringify(body).slice(0, 300)}`);
      assert(Number.isInteger(body.version) && Array.isArray(body.created) && Array.isArray(body.retired), `adopt answer lacks version/created/retired: ${JSON.stringify(body).slice(0, 300)}`);
      assert(body.created.length === feats.length, `adopt created ${body.created.length} grids, the proposal has ${feats.length}`);
      await page.waitForSelector('#rg-adopt-msg[data-version]', { timeout: 30_000 });
      const msg = (await page.textContent('#rg-adopt-msg')).trim();
      assert(msg.includes(String(body.version)), `panel says "${msg}", not version ${body.version}`);
      // The API lists the new codes and not the retired ones.
      const after = new Set((await apiJson('/api/v1/grids?kind=micro&limit=10000')).features.map((x) => String(x.properties.code)));
      const missing = body.created.filter((c) => !after.has(String(c)));
      const stale = body.retired.filter((c) => after.has(String(c)));
      assert(!missing.length, `created grids missing from /api/v1/grids: ${missing.slice(0, 5)}`);
      assert(!stale.length, `retired grids still in /api/v1/grids: ${stale.slice(0, 5)}`);
      assert(body.retired.every((c) => beforeCodes.has(String(c))), 'adopt retired codes that were not grids before');
      // The viewer reloaded the grid tiles: the new codes render, the retired ones do not.
      const tiles = await page.evaluate(() => window.__testMaps[0].getSource('grids').tiles[0]);
      assert(new RegExp(`[?&]v=${body.version}\\b`).test(tiles), `grid tiles not reloaded for version ${body.version}: ${tiles}`);
      const b = bboxOf({ type: 'MultiPolygon', coordinates: feats.flatMap((x) => x.geometry.type === 'Polygon' ? [x.geometry.coordinates] : x.geometry.coordinates) });
      await page.evaluate((bb) => window.__testMaps[0].fitBounds([[bb[0], bb[1]], [bb[2], bb[3]]], { animate: false, padding: { top: 80, bottom: 40, left: 300, right: 460 } }), b);
      await idle(page);
      const rendered = await page.evaluate(() => [...new Set(window.__testMaps[0].queryRenderedFeatures({ layers: ['wg-grids-micro-fill'] }).map((x) => String(x.properties.code)))]);
      const created = new Set(body.created.map(String));
      const retired = new Set(body.retired.map(String));
      assert(rendered.some((c) => created.has(c)), `none of the ${created.size} created grids is rendered from the tiles (rendered: ${rendered.slice(0, 8)})`);
      assert(!rendered.some((c) => retired.has(c)), `retired grids still rendered: ${rendered.filter((c) => retired.has(c)).slice(0, 5)}`);
      // History: the new version is listed by the API and in the panel.
      const hist = await api2('/api/v1/grids/versions');
      assert(hist.status === 200, `GET /api/v1/grids/versions: ${hist.status}`);
      const list = Array.isArray(hist.body) ? hist.body : hist.body.versions || [];
      assert(list.some((v) => Number(v.version) === body.version), `version ${body.version} not in /api/v1/grids/versions: ${JSON.stringify(list).slice(0, 300)}`);
      await page.waitForSelector(`#rg-versions li[data-version="${body.version}"]`, { timeout: 30_000 })
        .catch(() => { throw new Error(`the panel's version list does not show version ${body.version}`); });
      await page.screenshot({ path: join(OUT, 'regrid-adopted.png') });
      return `version ${body.version}: ${body.created.length} created, ${body.retired.length} retired; ${rendered.filter((c) => created.has(c)).length} new grids rendered from the reloaded tiles`;
    });
  }
  await step('re-gridding page: zero console errors', async () => {
    assert(!log.errors.length, `${log.errors.length} console error(s):\n${log.errors.slice(0, 15).join('\n')}${log.failed.length ? `\nfailed requests:\n${log.failed.slice(0, 10).join('\n')}` : ''}`);
  });
  await step('re-gridding page: no request leaves the server', async () => assertNoForeign(rctx, '/ (planner)'));
  await rctx.close();
}

main().catch(async (e) => {
  console.error(`browser tests crashed: ${e.stack || e}`);
  if (server) await server.stop().catch(() => {});
  console.log('0 passed, 1 failed');
  process.exit(1);
});
