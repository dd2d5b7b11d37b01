// End-to-end tests of the self-service analysis (Explore, charts, dashboards) on the metrics
// layer's query API. Imported by console_test.mjs.

import { eventually, fail } from './harness.mjs';

// Drags with the mouse, in small steps, as a person does (dnd-kit listens to pointer moves),
// then waits for the field to show in the drop zone. On a slow machine (a sanitizer build, a
// loaded CI) a drop made while the page re-renders after the previous one can be missed: the
// drag is then made again, as a person would, up to three times.
async function drag(page, source, target) {
  const testId = await source.getAttribute('data-testid');
  const name = testId ? testId.replace(/^field-(metric|dimension)-/, '') : '';
  for (let attempt = 0; attempt < 3; ++attempt) {
    const a = await source.boundingBox();
    const b = await target.boundingBox();
    if (!a || !b) fail('drag: source or target is not visible');
    await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
    await page.mouse.down();
    await page.mouse.move(a.x + a.width / 2 + 8, a.y + a.height / 2 + 8, { steps: 4 });
    await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 12 });
    await page.mouse.up();
    if (!name) return;
    for (let i = 0; i < 30; ++i) {
      if ((await target.innerText()).includes(name)) return;
      await page.waitForTimeout(100);
    }
  }
  fail(`drag: ${name} did not land in the drop zone after three drags`);
}

function chartOption(text) {
  try {
    return JSON.parse(text);
  } catch {
    fail(`the chart's data-option is not JSON: ${text?.slice(0, 200)}`);
  }
}

export function exploreTests({ basalt, signIn }) {
  return [
    [
      'a newcomer builds "revenue by channel, last 14 days, as a stacked bar" with two drags',
      async (page, { shot }) => {
        await signIn(page);
        const started = Date.now();
        await page.getByRole('link', { name: 'Explore' }).click();
        await drag(page, page.getByTestId('field-metric-revenue'), page.getByTestId('zone-metrics'));
        await drag(page, page.getByTestId('field-dimension-channel'), page.getByTestId('zone-dimensions'));
        // The defaults are the last 14 days by day, and the picker suggests the stacked bar.
        if ((await page.getByLabel('Time range', { exact: true }).inputValue()) !== 'last_14_days') fail('the default range is not the last 14 days');
        const stacked = page.getByRole('button', { name: /^Bar \(stacked\)/ });
        // The suggestion follows the drop once React has rendered it: wait for it, on a loaded
        // machine that takes a moment.
        try {
          await page.locator('button[aria-pressed="true"]', { hasText: /^Bar \(stacked\)/ }).waitFor({ timeout: 10000 });
        } catch {
          fail('the stacked bar is not the chosen chart');
        }
        const chart = page.getByTestId('result').locator('.echart');
        const option = await eventually('the stacked bar', async () => {
          const o = chartOption(await chart.getAttribute('data-option'));
          return o.series?.length > 0 && o.series.every((x) => x.type === 'bar' && x.stack === 'total') ? o : null;
        });
        const expected = await basalt.api('/api/v1/query', {
          model: 'events',
          metrics: ['revenue'],
          dimensions: ['channel'],
          time: { range: 'last_14_days', grain: 'day' },
          limit: 1000,
        });
        const channels = new Set(expected.rows.map((r) => String(r[expected.columns.findIndex((c) => c.name === 'channel')] ?? '(none)')));
        const shown = new Set(option.series.map((x) => x.name));
        if ([...channels].sort().join() !== [...shown].sort().join()) fail(`channels ${[...shown]} != ${[...channels]}`);
        const total = (rows, i) => rows.reduce((a, r) => a + (Number(r[i]) || 0), 0);
        const want = total(expected.rows, expected.columns.findIndex((c) => c.name === 'revenue'));
        const got = option.series.reduce((a, x) => a + x.data.reduce((b, v) => b + (v ?? 0), 0), 0);
        if (Math.abs(want - got) > 1e-6 * Math.max(1, want)) fail(`revenue drawn ${got} != ${want}`);
        if (want <= 0) fail('no revenue in the generated data');
        if (Date.now() - started > 60_000) fail('slower than a minute');
        await shot('newcomer');
      },
    ],
    [
      'Explore: drag two metrics and a dimension, choose bar, query; the chart shows what /api/v1/query answers; save it and put it on a dashboard; change the dashboard range',
      async (page, { shot }) => {
        await signIn(page);
        await page.getByRole('link', { name: 'Explore' }).click();
        const metricsZone = page.getByTestId('zone-metrics');
        await metricsZone.waitFor();
        await drag(page, page.getByTestId('field-metric-events'), metricsZone);
        await drag(page, page.getByTestId('field-metric-dau'), metricsZone);
        await drag(page, page.getByTestId('field-dimension-event'), page.getByTestId('zone-dimensions'));
        for (const n of ['events', 'dau']) await metricsZone.getByRole('button', { name: `Remove ${n}` }).waitFor();
        await page.getByTestId('zone-dimensions').getByRole('button', { name: 'Remove event' }).waitFor();
        await page.getByLabel('Time range', { exact: true }).selectOption('last_30_days');
        await page.getByLabel('Grain').selectOption('none');
        await page.getByRole('button', { name: /^Bar \(grouped\)/ }).click();
        await page.getByRole('button', { name: 'Query', exact: true }).click();
        const chart = page.getByTestId('result').locator('.echart');
        await chart.waitFor();
        const expected = await basalt.api('/api/v1/query', {
          model: 'events',
          metrics: ['events', 'dau'],
          dimensions: ['event'],
          time: { range: 'last_30_days' },
          limit: 1000,
        });
        if (expected.rows.length === 0) fail('the query API answered no rows on the generated data');
        const option = await eventually('the chart option', async () => {
          const o = chartOption(await chart.getAttribute('data-option'));
          return o.series?.length === 2 ? o : null;
        });
        const col = (n) => expected.columns.findIndex((c) => c.name === n);
        const wantCats = expected.rows.map((r) => (r[col('event')] === null ? '(none)' : String(r[col('event')])));
        if (JSON.stringify(option.xAxis.data) !== JSON.stringify(wantCats)) fail(`categories ${JSON.stringify(option.xAxis.data)} != ${JSON.stringify(wantCats)}`);
        for (const [i, m] of ['events', 'dau'].entries()) {
          const want = expected.rows.map((r) => (r[col(m)] === null ? null : Number(r[col(m)])));
          const got = option.series[i].data;
          if (option.series[i].name !== m || option.series[i].type !== 'bar' || JSON.stringify(got) !== JSON.stringify(want)) {
            fail(`series ${i}: ${JSON.stringify(option.series[i])} != ${m} ${JSON.stringify(want)}`);
          }
        }
        await page.getByText('Generated SQL').click();
        if (!(await page.getByTestId('generated-sql').innerText()).includes('SELECT')) fail('no SQL shown');
        await shot('explore');

        // Save as chart.
        await page.getByRole('button', { name: 'Save as chart…' }).click();
        const dialog = page.getByRole('dialog', { name: 'Save as chart' });
        await dialog.getByLabel('Name').fill('Events and DAU by event');
        await dialog.getByLabel('Description').fill('e2e');
        await dialog.getByRole('button', { name: 'Save' }).click();
        await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
        await page.getByRole('link', { name: 'Charts' }).click();
        await page.getByTestId('chart-card-Events and DAU by event').waitFor();

        // A dashboard with it; then every chart follows the dashboard's range.
        await page.getByRole('link', { name: 'Dashboards' }).click();
        await page.getByRole('button', { name: 'New dashboard…' }).click();
        const nd = page.getByRole('dialog', { name: 'New dashboard' });
        await nd.getByLabel('Name').fill('E2E board');
        await nd.getByRole('button', { name: 'Create' }).click();
        await page.getByRole('heading', { name: 'E2E board' }).waitFor();
        await page.getByLabel('Add a chart').selectOption({ label: 'Events and DAU by event' });
        await page.getByRole('button', { name: 'Add', exact: true }).click();
        await page.getByRole('button', { name: 'Save layout' }).click();
        await page.getByRole('button', { name: 'Saved' }).waitFor();
        const item = page.getByTestId('dash-item-Events and DAU by event');
        await item.locator('.echart').waitFor();
        const sent = page.waitForRequest((r) => r.url().endsWith('/api/v1/query') && r.postData()?.includes('"last_7_days"'));
        await page.getByLabel('Time range (every chart)').selectOption('last_7_days');
        await sent;
        if (!page.url().includes('range=last_7_days')) fail(`the address does not carry the range: ${page.url()}`);
        const week = await basalt.api('/api/v1/query', {
          model: 'events',
          metrics: ['events', 'dau'],
          dimensions: ['event'],
          time: { range: 'last_7_days' },
          limit: 1000,
        });
        const wantWeek = week.rows.map((r) => (r[col('events')] === null ? null : Number(r[col('events')])));
        await eventually('the dashboard chart on the new range', async () => {
          const o = chartOption(await item.locator('.echart').getAttribute('data-option'));
          return JSON.stringify(o.series?.[0]?.data) === JSON.stringify(wantWeek);
        });
        // The shared address opens the same view after a reload.
        await page.reload();
        await item.locator('.echart').waitFor();
        if ((await page.getByLabel('Time range (every chart)').inputValue()) !== 'last_7_days') fail('the range is lost on reload');
        await shot('dashboard');
      },
    ],
  ];
}
