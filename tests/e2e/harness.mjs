// The end-to-end harness: a real `basalt up` on free ports with a temporary project and data
// folder, generated events, and headless Chromium driven by playwright-core. Each test gets a
// fresh page; a failure saves a screenshot under the build folder.

import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

export function fail(message) {
  throw new Error(message);
}

// playwright-core is one of the web console's npm packages (ui/node_modules).
export function loadPlaywright(uiDir) {
  const require = createRequire(path.join(uiDir, 'package.json'));
  try {
    return require('playwright-core');
  } catch (e) {
    fail(`playwright-core is not installed in ${uiDir}/node_modules: run scripts/setup.sh (npm ci in ui/) — ${e.message}`);
  }
}

export const kChromium = '/usr/bin/chromium';
export const kChromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-dev-shm-usage',
];

export class Basalt {
  constructor({ binary, repo, dags, adminToken = 'e2e-admin-token' }) {
    this.binary = binary;
    this.adminToken = adminToken;
    this.dir = mkdtempSync(path.join(tmpdir(), 'basalt-e2e-'));
    this.project = path.join(this.dir, 'project');
    this.data = path.join(this.dir, 'data');
    // The demo project's tracking plan and models, with the test's own DAGs.
    cpSync(path.join(repo, 'examples', 'demo'), this.project, { recursive: true });
    rmSync(path.join(this.project, 'dags'), { recursive: true, force: true });
    mkdirSync(path.join(this.project, 'dags'));
    for (const [name, text] of Object.entries(dags)) writeFileSync(path.join(this.project, 'dags', name), text);
    this.logText = '';
  }

  async start(uiDir) {
    const env = { ...process.env, BASALT_ADMIN_TOKEN: this.adminToken, BASALT_UI_DIR: uiDir, BASALT_LOG_LEVEL: 'info' };
    this.proc = spawn(this.binary, ['up', this.project, '--data', this.data, '--ingest-port', '0', '--api-port', '0', '--bind', '127.0.0.1'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc.stdout.on('data', (d) => (this.logText += d));
    this.proc.stderr.on('data', (d) => (this.logText += d));
    const exited = new Promise((_, reject) => this.proc.on('exit', (code) => reject(new Error(`basalt up exited with ${code}:\n${this.logText}`))));
    const started = (async () => {
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const ingest = /ingest listening on (http:\/\/[\d.]+:\d+)/.exec(this.logText);
        const api = /console listening on (http:\/\/[\d.]+:\d+)/.exec(this.logText);
        if (ingest && api) {
          this.ingestUrl = ingest[1];
          this.url = api[1];
          const r = await fetch(`${this.url}/healthz`).catch(() => null);
          if (r && r.ok) return;
        }
        await sleep(100);
      }
      fail(`basalt up did not start within 60 s:\n${this.logText}`);
    })();
    await Promise.race([started, exited]);
    this.proc.removeAllListeners('exit');
  }

  // Posts a generated history through the ingest API and waits until the loader stored it.
  async generate({ users = 300, days = 3 }) {
    const r = spawnSync(this.binary, ['gen', '--users', String(users), '--days', String(days), '--post', this.ingestUrl, '--write-key', 'demo-write-key'], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (r.status !== 0) fail(`basalt gen failed (${r.status}): ${r.stderr}`);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const s = await this.api('/api/v1/status');
      if (s.loader && s.loader.lag_events === 0 && s.loader.events > 0) return s;
      await sleep(200);
    }
    fail('the loader did not catch up within 60 s');
  }

  async api(p, body) {
    const r = await fetch(`${this.url}${p}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { Authorization: `Bearer ${this.adminToken}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) throw Object.assign(new Error(`${p}: HTTP ${r.status}: ${text}`), { status: r.status });
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }

  async stop() {
    if (this.proc && this.proc.exitCode === null) {
      this.proc.kill('SIGTERM');
      await new Promise((res) => {
        const t = setTimeout(() => {
          this.proc.kill('SIGKILL');
          res();
        }, 15_000);
        this.proc.on('exit', () => {
          clearTimeout(t);
          res();
        });
      });
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

// Polls `fn` until it returns a truthy value; fails with `what` after `timeout` ms.
export async function eventually(what, fn, timeout = 30_000) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(250);
  }
  fail(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}

// Runs each test with a fresh browser context; prints one line per test and a summary line.
export async function runTests({ tests, browser, baseUrl, shots, only }) {
  mkdirSync(shots, { recursive: true });
  for (const f of readdirSync(shots)) if (f.endsWith('.png')) rmSync(path.join(shots, f));
  let passed = 0;
  let failed = 0;
  for (const [name, fn, opts = {}] of tests) {
    if (only && !name.includes(only)) continue;
    const context = await browser.newContext({ baseURL: baseUrl, viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const consoleErrors = [];
    // Tests that provoke an HTTP error on purpose name the browser's resulting log line.
    page.on('console', (m) => m.type() === 'error' && !(opts.allowConsole && opts.allowConsole.test(m.text())) && consoleErrors.push(m.text()));
    page.on('pageerror', (e) => consoleErrors.push(`page error: ${e.message}`));
    const started = Date.now();
    const file = name.replace(/[^a-z0-9]+/gi, '_').toLowerCase();
    try {
      await fn(page, { shot: (label) => page.screenshot({ path: path.join(shots, `${file}.${label}.png`), fullPage: true }) });
      if (consoleErrors.length) fail(`console errors:\n  ${consoleErrors.join('\n  ')}`);
      passed++;
      console.log(`ok   ${name} (${Date.now() - started} ms)`);
    } catch (e) {
      failed++;
      const shot = path.join(shots, `${file}.FAILED.png`);
      await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
      console.log(`FAIL ${name} (${Date.now() - started} ms): ${e.stack ?? e}\n     screenshot: ${shot}`);
      if (consoleErrors.length) console.log(`     console errors: ${consoleErrors.join(' | ')}`);
    }
    await context.close();
  }
  return { passed, failed };
}

export function requireFile(p, hint) {
  if (!existsSync(p)) fail(`${p} is missing: ${hint}`);
}
