// Browser check of the import panel of the leader's dashboard (`/dashboard`,
// issue 16): a leader picks a small places file, runs a dry run (the counts
// show, nothing is stored), then imports it while the server keeps serving;
// the summary shows the rows written and the new places are in
// `GET /api/v1/places` at once. A bad file shows its problems and stores
// nothing.

/**
 * @param {import('playwright-core').Browser} browser
 * @param {{ step: Function, assert: Function, newContext: Function, apiJson: Function, BASE: string }} h
 */
export async function importTests(browser, h) {
  const { step, assert, newContext, apiJson, BASE } = h;
  await step('imports: a leader uploads a small file on the dashboard, sees the counts, and the new places are listed', async () => {
    const b = await apiJson('/api/v1/buildings?limit=1');
    let c = b.features[0].geometry.coordinates;
    while (Array.isArray(c[0])) c = c[0];
    const [lon, lat] = c;
    const id1 = 980000 + Math.floor(Math.random() * 9000);
    const id2 = id1 + 1;
    const csv = `id,name,category,lon,lat\n${id1},浏览器导入馆,facility,${lon},${lat}\n${id2},浏览器便民点,poi,${lon + 0.0001},${lat}\n`;
    const ids = async () => (await apiJson('/api/v1/places?limit=10000')).features.map((f) => f.properties.id);
    assert(!(await ids()).includes(id1), `place ${id1} exists before the import`);
    const ctx = await newContext(browser, { role: 'leader' });
    try {
      const p = await ctx.newPage();
      await p.goto(`${BASE}/dashboard`);
      await p.waitForSelector('#imports:not([hidden])', { timeout: 60_000 });
      await p.selectOption('#import-kind', 'places');
      // A bad row first: refused with its problem, nothing stored.
      await p.setInputFiles('#import-file', {
        name: 'bad.csv',
        mimeType: 'text/csv',
        buffer: Buffer.from(`${csv}${id2 + 1},坏的一行,spaceship,${lon},${lat}\n`),
      });
      await p.click('#import-go');
      await p.waitForSelector('body[data-import="refused"]', { timeout: 120_000 });
      const problems = await p.textContent('#import-problems');
      assert(/spaceship/.test(problems || '') || /spaceship/.test((await p.textContent('#import-status')) || ''),
        `the refusal does not name the bad value: ${problems}`);
      assert(!(await ids()).includes(id1), 'a refused file stored a row');
      await p.setInputFiles('#import-file', { name: '新设施.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
      await p.click('#import-dry');
      await p.waitForSelector('body[data-import="dry"]', { timeout: 120_000 });
      const dry = (await p.textContent('#import-status')) || '';
      assert(/2/.test(dry) && /新设施\.csv/.test(dry), `dry-run summary: ${dry}`);
      assert(!(await ids()).includes(id1), 'a dry run stored a row');
      await p.click('#import-go');
      await p.waitForSelector('body[data-import="done"]', { timeout: 120_000 });
      const done = (await p.textContent('#import-status')) || '';
      assert(/已导入/.test(done) && /2 个要素/.test(done), `import summary: ${done}`);
      const after = await ids();
      assert(after.includes(id1) && after.includes(id2), `the imported places are not listed (${id1}, ${id2})`);
      return done;
    } finally {
      await ctx.close();
    }
  });
}
