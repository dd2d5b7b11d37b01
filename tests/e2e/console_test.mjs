// End-to-end tests of the web console against a real `basalt up` (see harness.mjs).
// Usage: node console_test.mjs --basalt BUILD/basalt --ui BUILD/ui --shots BUILD/e2e-screenshots [--only NAME]

import { writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Basalt, eventually, fail, kChromium, kChromiumArgs, loadPlaywright, requireFile, runTests } from './harness.mjs';
import { exploreTests } from './explore_tests.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const binary = args.basalt ?? path.join(repo, 'build', 'basalt');
const uiDir = args.ui ?? path.join(repo, 'build', 'ui');
const shots = args.shots ?? path.join(repo, 'build', 'e2e-screenshots');

requireFile(binary, 'build basalt first (make build)');
requireFile(path.join(uiDir, 'index.html'), 'build the web console first (make build)');
requireFile(kChromium, "install Debian's chromium package (scripts/setup.sh)");

let markerDir;
const dags = {
  'e2e_pipeline.yaml': `dag: e2e_pipeline
description: Three shell steps for the end-to-end test
owner: e2e
schedule: none
tasks:
  - id: extract
    type: shell
    command: sleep 3; echo "extracted 42 rows for {{ ds }}"
  - id: transform
    type: shell
    upstream: [extract]
    command: echo "transformed"
  - id: load
    type: shell
    upstream: [transform]
    command: echo "loaded"
`,
  'e2e_daily.yaml': `dag: e2e_daily
description: A daily DAG for backfills
owner: e2e
schedule: "@daily"
start_date: 2026-11-01
catchup: false
tasks:
  - id: work
    type: shell
    command: echo "day {{ ds }}"
`,
};

const basalt = new Basalt({ binary, repo, dags });
markerDir = basalt.dir;
const marker = path.join(markerDir, 'fixed.marker');
writeFileSync(
  path.join(basalt.project, 'dags', 'e2e_fixable.yaml'),
  `dag: e2e_fixable
description: Fails until a marker file exists; the test clears it after creating the file
owner: e2e
schedule: none
defaults: {retries: 0}
tasks:
  - id: needs_marker
    type: shell
    command: test -f ${marker} && echo "marker found" || { echo "marker missing"; exit 1; }
  - id: report
    type: shell
    upstream: [needs_marker]
    command: echo "report written"
`,
);

async function signIn(page, token = basalt.adminToken) {
  await page.goto('/');
  await page.waitForURL(/\/sign-in/);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForSelector('[data-testid="role"]');
}

const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

const tests = [
  [
    'sign in: a wrong token is refused in words, the admin token shows its role',
    async (page, { shot }) => {
      await page.goto('/domino');
      await page.waitForURL(/\/sign-in\?next=%2Fdomino/);
      await page.getByLabel('Token').fill('wrong-token');
      await page.getByRole('button', { name: 'Sign in' }).click();
      const alert = page.getByRole('alert');
      await alert.waitFor();
      const text = await alert.innerText();
      if (!/not valid|unknown token/i.test(text)) fail(`unexpected sign-in error: ${text}`);
      await shot('refused');
      await page.getByLabel('Token').fill(basalt.adminToken);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(/\/domino$/);
      const role = await page.getByTestId('role').innerText();
      if (role.trim().toLowerCase() !== 'admin') fail(`role shown: ${role}`);
      // The token lives in this tab's session: a reload keeps it.
      await page.reload();
      await page.getByTestId('role').waitFor();
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL(/\/sign-in/);
    },
    { allowConsole: /status of 401/ },
  ],
  [
    'overview shows the server numbers',
    async (page, { shot }) => {
      await signIn(page);
      const status = await basalt.api('/api/v1/status');
      const accepted = page.getByTestId('accepted-rejected');
      await eventually('accepted count', async () => (await accepted.innerText()).includes(fmt.format(status.loader.events)));
      const counts = await basalt.api('/api/v1/sql', { sql: 'SELECT count(*) FROM events' });
      const wh = page.getByTestId('warehouse-size');
      await eventually('warehouse counts', async () => (await wh.innerText()).includes(`${fmt.format(counts.rows[0][0])} events`));
      await eventually('WAL size', async () => /\d+(\.\d)? (B|KB|MB|GB)/.test(await page.getByTestId('wal-size').innerText()));
      await eventually('events per second', async () => !(await page.getByTestId('events-per-second').innerText()).includes('…'), 15_000);
      await shot('overview');
    },
  ],
  [
    'open a DAG, trigger it, watch its tasks turn green, open a log',
    async (page, { shot }) => {
      await signIn(page);
      await page.getByRole('link', { name: 'Domino' }).click();
      await page.getByRole('link', { name: 'e2e_pipeline' }).click();
      await page.getByRole('heading', { name: 'e2e_pipeline' }).waitFor();
      await page.getByRole('button', { name: 'Trigger…' }).click();
      const dialog = page.getByRole('dialog', { name: 'Trigger e2e_pipeline' });
      await dialog.getByRole('button', { name: 'Trigger' }).click();
      await dialog.waitFor({ state: 'hidden' });
      const graph = page.getByTestId('dag-graph');
      // Watch the graph: extract runs first, then all three turn green.
      await eventually('extract running', async () => (await graph.locator('.react-flow__node.state-running').count()) > 0, 20_000);
      await shot('running');
      await eventually('all tasks green', async () => (await graph.locator('.react-flow__node.state-success').count()) === 3, 30_000);
      await shot('success');
      const runs = await basalt.api('/api/v1/domino/runs?dag=e2e_pipeline');
      if (runs.runs.length !== 1 || runs.runs[0].state !== 'success') fail(`runs: ${JSON.stringify(runs)}`);
      await graph.locator('.react-flow__node', { hasText: 'extract' }).click();
      const log = page.getByTestId('task-log');
      await eventually('the log', async () => /extracted 42 rows for \d{4}-\d{2}-\d{2}/.test(await log.innerText()));
      await shot('log');
      // The runs × tasks grid shows the same states.
      const cells = page.getByRole('table', { name: 'Runs by tasks' }).getByRole('button', { name: /in .*: success/ });
      if ((await cells.count()) !== 3) fail(`grid cells in success: ${await cells.count()}`);
    },
  ],
  [
    'clear a failed task and see it rerun',
    async (page, { shot }) => {
      await signIn(page);
      await basalt.api('/api/v1/domino/dags/e2e_fixable/trigger', {});
      await page.goto('/domino/e2e_fixable');
      const graph = page.getByTestId('dag-graph');
      await eventually('needs_marker failed', async () => (await graph.locator('.react-flow__node.state-failed').count()) === 1, 30_000);
      await eventually('report upstream_failed', async () => (await graph.locator('.react-flow__node.state-upstream_failed').count()) === 1, 30_000);
      await graph.locator('.react-flow__node', { hasText: 'needs_marker' }).click();
      await eventually('the failure log', async () => (await page.getByTestId('task-log').innerText()).includes('marker missing'));
      await page.getByTestId('why').waitFor();
      await shot('failed');
      writeFileSync(marker, 'ok');
      await page.getByRole('button', { name: 'Clear…' }).click();
      const dialog = page.getByRole('dialog', { name: 'Clear needs_marker?' });
      await dialog.getByRole('button', { name: 'Clear' }).click();
      await eventually('both tasks green after the clear', async () => (await graph.locator('.react-flow__node.state-success').count()) === 2, 30_000);
      await eventually('the new attempt log', async () => (await page.getByTestId('task-log').innerText()).includes('marker found'));
      const attempts = page.getByRole('table', { name: 'Attempts' }).locator('tbody tr');
      if ((await attempts.count()) !== 2) fail(`attempts listed: ${await attempts.count()}`);
      await shot('rerun');
    },
  ],
  [
    'pause, backfill and mark a task, each after a confirmation',
    async (page, { shot }) => {
      await signIn(page);
      await page.goto('/domino');
      const row = page.getByTestId('dag-row-e2e_daily');
      await row.waitFor();
      if (!/\d{4}-\d{2}-\d{2} \d{2}:\d{2}/.test(await row.locator('td').nth(5).innerText())) fail('no next run shown for a daily DAG');
      await page.getByRole('link', { name: 'e2e_daily' }).click();
      // Pause asks first; cancelling changes nothing.
      await page.getByRole('button', { name: 'Pause' }).click();
      const pause = page.getByRole('dialog', { name: 'Pause e2e_daily?' });
      await pause.getByRole('button', { name: 'Cancel' }).click();
      if ((await basalt.api('/api/v1/domino/dags/e2e_daily')).paused) fail('paused without a confirmation');
      await page.getByRole('button', { name: 'Pause' }).click();
      await pause.getByRole('button', { name: 'Pause' }).click();
      await page.locator('.badge.paused').waitFor();
      if (!(await basalt.api('/api/v1/domino/dags/e2e_daily')).paused) fail('not paused');
      await page.getByRole('button', { name: 'Unpause' }).click();
      await page.getByRole('dialog', { name: 'Unpause e2e_daily?' }).getByRole('button', { name: 'Unpause' }).click();
      await page.locator('.badge.paused').waitFor({ state: 'detached' });
      // Backfill three days: three runs, each green.
      await page.getByRole('button', { name: 'Backfill…' }).click();
      const bf = page.getByRole('dialog', { name: 'Backfill e2e_daily' });
      await bf.getByLabel('From').fill('2026-11-01');
      await bf.getByLabel('To').fill('2026-11-03');
      await bf.getByRole('button', { name: 'Create runs' }).click();
      await bf.waitFor({ state: 'hidden' });
      await eventually('three backfilled runs succeeded', async () => {
        const runs = (await basalt.api('/api/v1/domino/runs?dag=e2e_daily')).runs.filter((r) => r.type === 'backfill');
        return runs.length === 3 && runs.every((r) => r.state === 'success');
      }, 30_000);
      const grid = page.getByRole('table', { name: 'Runs by tasks' });
      for (const day of ['2026-11-01', '2026-11-02', '2026-11-03']) {
        await eventually(`the grid cell of ${day} green`, async () => (await grid.getByRole('button', { name: new RegExp(`^work in .*${day}.*: success`) }).count()) === 1);
      }
      // Mark one task instance failed from its drawer.
      await grid.getByRole('button', { name: /^work in .*2026-11-02.*: success/ }).click();
      await page.getByRole('button', { name: 'Mark failed…' }).click();
      await page.getByRole('dialog', { name: 'Mark work failed?' }).getByRole('button', { name: 'Mark failed' }).click();
      await eventually('the task shows failed', async () => (await page.getByTestId('task-state').innerText()).includes('failed'));
      await shot('marked');
    },
  ],
  [
    'browse the quarantine: a refused event shows with its reason and raw JSON',
    async (page, { shot }) => {
      // An event over ingest.max_event_bytes (32 KB) is refused into the quarantine, whole.
      const big = 'x'.repeat(40 * 1024);
      const r = await fetch(`${basalt.ingestUrl}/v1/track`, {
        method: 'POST',
        headers: { Authorization: `Basic ${Buffer.from('demo-write-key:').toString('base64')}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ userId: 'e2e-user', event: 'chat', properties: { text: big, marker: 'e2e-quarantine' } }),
      });
      if (!r.ok && r.status !== 400) fail(`ingest answered ${r.status}: ${await r.text()}`);
      await eventually('the event in the quarantine table', async () => {
        const q = await basalt.api('/api/v1/sql', { sql: "SELECT count(*) FROM quarantine WHERE raw LIKE '%e2e-quarantine%'" });
        return q.rows[0][0] === 1;
      });
      const expected = await basalt.api('/api/v1/sql', { sql: "SELECT reason FROM quarantine WHERE raw LIKE '%e2e-quarantine%'" });
      await signIn(page);
      await page.getByRole('link', { name: 'Quarantine' }).click();
      const table = page.getByTestId('quarantine-table');
      await table.waitFor();
      const row = table.locator('tbody tr', { hasText: expected.rows[0][0].slice(0, 40) }).first();
      await row.waitFor();
      await row.getByRole('button', { name: /show/ }).click();
      await eventually('the raw JSON', async () => (await row.locator('pre').innerText()).includes('e2e-quarantine'));
      await page.getByLabel('Reason contains').fill('no-such-reason-at-all');
      await page.getByText('Nothing in quarantine matches these filters.').waitFor();
      await shot('quarantine');
    },
  ],
  [
    'a viewer key signs in as viewer and can read but not trigger, edit or query',
    async (page, { shot }) => {
      const key = await basalt.api('/api/v1/keys', { name: 'e2e-viewer', role: 'viewer' });
      if (!key.secret) fail(`no secret in ${JSON.stringify(key)}`);
      await signIn(page, key.secret);
      if ((await page.getByTestId('role').innerText()).trim().toLowerCase() !== 'viewer') fail('the role shown is not viewer');
      await page.goto('/domino/e2e_pipeline');
      await page.getByRole('heading', { name: 'e2e_pipeline' }).waitFor();
      await page.getByText('read-only: your role cannot trigger or change DAGs').waitFor();
      if ((await page.getByRole('button', { name: 'Trigger…' }).count()) !== 0) fail('a viewer sees Trigger');
      await page.goto('/domino');
      await page.getByTestId('dag-row-e2e_pipeline').waitFor();
      if (!(await page.getByLabel('Pause e2e_pipeline').isDisabled())) fail('a viewer can pause');
      await page.goto('/explore');
      await page.getByText('Your role can read saved charts and dashboards, but not run new queries.').waitFor();
      await page.goto('/charts');
      await page.getByRole('heading', { name: 'Charts' }).waitFor();
      await page.waitForLoadState('networkidle');
      if ((await page.getByRole('button', { name: 'Delete…' }).count()) !== 0) fail('a viewer can delete charts');
      // The server refuses too, whatever the page shows.
      const r = await fetch(`${basalt.url}/api/v1/domino/dags/e2e_pipeline/trigger`, { method: 'POST', headers: { Authorization: `Bearer ${key.secret}` } });
      if (r.status !== 403) fail(`a viewer's trigger answered ${r.status}`);
      await page.goto('/');
      await page.getByText('shown to admins').waitFor();
      await shot('viewer');
    },
  ],
  [
    'data APIs: try a published API with its parameters, and create a service key',
    async (page, { shot }) => {
      await signIn(page);
      await page.getByRole('link', { name: 'Data APIs' }).click();
      await page.getByRole('button', { name: 'revenue_by_channel' }).click();
      const day = (n) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
      await page.locator('#revenue_by_channel-start').fill(day(14));
      await page.locator('#revenue_by_channel-end').fill(day(0));
      await page.getByRole('button', { name: 'Try it' }).click();
      const answer = page.getByTestId('api-answer');
      await answer.waitFor({ state: 'attached' });
      await page.getByRole('table', { name: 'Answer of revenue_by_channel' }).waitFor();
      const shown = JSON.parse(await answer.textContent());
      const direct = await basalt.api(`/data/v1/revenue_by_channel?start=${day(14)}&end=${day(0)}`);
      if (JSON.stringify(shown.rows) !== JSON.stringify(direct.rows)) fail(`try-it rows differ from a direct call`);
      if (!shown.columns.some((c) => c.name === 'revenue')) fail('no revenue column');
      await page.getByLabel('Key name').fill('e2e-partner');
      await page.getByLabel('Role').selectOption('service');
      await page.getByLabel('APIs the key may call').fill('revenue_by_channel');
      await page.getByRole('button', { name: 'Create key' }).click();
      const secret = (await page.getByRole('status').filter({ hasText: 'New key' }).locator('code').innerText()).trim();
      const r = await fetch(`${basalt.url}/data/v1/revenue_by_channel?start=${day(14)}&end=${day(0)}`, { headers: { Authorization: `Bearer ${secret}` } });
      if (r.status !== 200) fail(`the new service key got ${r.status}`);
      await page.getByRole('table', { name: 'API keys' }).getByText('e2e-partner').waitFor();
      await shot('apis');
    },
  ],
  [
    'tracking plan and catalogue: events with live volume, a table with its columns and lineage',
    async (page, { shot }) => {
      await signIn(page);
      await page.getByRole('link', { name: 'Tracking plan' }).click();
      const events = page.getByRole('table', { name: 'Events' });
      await events.waitFor();
      const plan = await basalt.api('/api/v1/tracking');
      const pay = plan.events.find((e) => e.name === 'pay');
      if (!pay || !(pay.stats.last_7_days > 0)) fail(`no pay volume in /api/v1/tracking: ${JSON.stringify(pay)}`);
      const row = events.locator('tbody tr', { has: page.getByRole('button', { name: 'pay', exact: true }) });
      await eventually('pay volume shown', async () => (await row.innerText()).includes(fmt.format(pay.stats.last_7_days)));
      await row.getByRole('button', { name: 'pay', exact: true }).click();
      await page.getByRole('table', { name: 'Properties of pay' }).getByText('amount', { exact: true }).waitFor();
      await shot('tracking');
      await page.getByRole('link', { name: 'Catalogue' }).click();
      await page.getByLabel('Search the catalogue').fill('amount');
      await page.getByRole('table', { name: 'Tables' }).getByRole('link', { name: 'events', exact: true }).click();
      await page.getByRole('heading', { name: 'events', exact: true }).waitFor();
      await page.getByRole('table', { name: 'Columns' }).getByText('p_amount', { exact: true }).waitFor();
      const lineage = page.getByTestId('lineage-graph');
      await lineage.getByText('the loader').waitFor();
      await lineage.getByText('model events').waitFor();
      await lineage.getByText('API revenue_by_channel').waitFor();
      await shot('catalogue');
    },
  ],
  [
    'an unknown page and a failing API call show messages, not a blank page',
    async (page) => {
      await signIn(page);
      await page.goto('/no/such/page');
      await page.getByRole('heading', { name: 'Page not found' }).waitFor();
      await page.goto('/domino/no_such_dag');
      const alert = page.getByRole('alert');
      await alert.waitFor();
      if (!(await alert.innerText()).includes("no DAG 'no_such_dag'")) fail(`alert: ${await alert.innerText()}`);
    },
    { allowConsole: /status of 404/ },
  ],
];

tests.push(...exploreTests({ basalt, signIn }));

const { chromium } = loadPlaywright(path.join(repo, 'ui'));
let result = { passed: 0, failed: 1 };
let browser;
try {
  await basalt.start(uiDir);
  await basalt.generate({ users: 300, days: 3 });
  browser = await chromium.launch({ executablePath: kChromium, headless: true, args: kChromiumArgs });
  result = await runTests({ tests, browser, baseUrl: basalt.url, shots, only: args.only });
} catch (e) {
  console.log(`FAIL setup: ${e.stack ?? e}`);
} finally {
  await browser?.close().catch(() => {});
  await basalt.stop();
}
console.log(`${result.passed} passed, ${result.failed} failed`);
if (!existsSync(shots)) console.log('no screenshots');
process.exit(result.failed === 0 && result.passed > 0 ? 0 : 1);
