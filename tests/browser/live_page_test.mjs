// The live order screen in a real headless Chromium (/usr/bin/chromium,
// driven by playwright-core; no browser download). Starts `txmon demo` (an
// embedded Kafka and a simulated shop) on a free port with a rule that fires
// at once, then checks that the page loads without console errors, that its
// figures follow new events within a second or so, and that the firing alert
// shows; saves a screenshot. Prints what it measured.
//
//   node tests/browser/live_page_test.mjs --txmon build/txmon --artifacts build/artifacts
//
// Registered with ctest as live_page_browser_test. Exits non-zero on any
// failure, including a missing Chromium or a missing `npm ci`.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const sourceDir = path.resolve(here, '../..');
const CHROMIUM = process.env.TXMON_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const ALERT_NAME = 'LiveScreenOrdersFlowing';
// Generous bounds: the machine may be busy; the figures printed are the real ones.
const FIRST_FRAME_TIMEOUT_MS = 15000;
const CHANGE_TIMEOUT_MS = 5000;
const ALERT_TIMEOUT_MS = 30000;

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

function fail(message) {
  throw new Error(message);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function loadPlaywright() {
  try {
    return await import('playwright-core');
  } catch (e) {
    fail(`playwright-core is not installed: run "npm ci" in ${here} (scripts/setup.sh does): ${e.message}`);
  }
}

// A config like the shipped txmon.yml, with one rule file whose alert fires
// on the first evaluation that sees an order.
function writeConfig(dir) {
  const rules = `groups:
  - name: live-screen-test
    rules:
      - alert: ${ALERT_NAME}
        expr: sum(shop_orders_created_total) > 0
        labels:
          severity: chat
        annotations:
          summary: "Orders are flowing: {{ $value | humanize }} created so far"
`;
  fs.writeFileSync(path.join(dir, 'live_rules.yml'), rules);
  const shipped = fs.readFileSync(path.join(sourceDir, 'txmon.yml'), 'utf8');
  const config = shipped.replace(/^rule_files:.*$/m, 'rule_files: [live_rules.yml]');
  if (config === shipped) fail('txmon.yml has no rule_files line to replace');
  const file = path.join(dir, 'txmon.yml');
  fs.writeFileSync(file, config);
  return file;
}

// Starts `txmon demo` on a port it picks; resolves with its base URL once it
// prints "txmon: serving http://HOST:PORT/metrics".
function startTxmon(binary, configFile, logDir) {
  const child = spawn(binary, ['demo', `--config.file=${configFile}`, '--web.listen-address=127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', fs.openSync(path.join(logDir, 'txmon.err'), 'w')],
  });
  const url = new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`txmon did not serve within 30 s; stdout: ${out}`)), 30000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = out.match(/serving (http:\/\/[^\s]+)\/metrics/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`txmon exited (${code}) before serving; see ${logDir}/txmon.err`)));
    child.on('error', reject);
  });
  return { child, url };
}

async function ordersInStore(baseUrl) {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('shop_orders_created_total{')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

// Records every value the "orders today" figure shows, with the time it changed.
async function watchOrdersFigure(page) {
  await page.evaluate(() => {
    const element = document.querySelector('[data-figure="orders_today"]');
    window.ordersSeen = [];
    const record = () => window.ordersSeen.push([Date.now(), Number(element.textContent.replace(/,/g, ''))]);
    new MutationObserver(record).observe(element, { childList: true, characterData: true, subtree: true });
    record();
  });
}

// Store → screen: for each new total seen on /metrics, how long until the
// page shows at least that many orders.
async function measureLatency(page, baseUrl, durationMs) {
  const increases = [];
  let last = await ordersInStore(baseUrl);
  const end = Date.now() + durationMs;
  while (Date.now() < end) {
    const now = await ordersInStore(baseUrl);
    if (now > last) increases.push([Date.now(), now]);
    last = now;
    await sleep(20);
  }
  await sleep(1500);
  const seen = await page.evaluate(() => window.ordersSeen);
  const latencies = [];
  for (const [at, total] of increases) {
    const shown = seen.find(([time, value]) => value >= total && time >= at - 1000);
    if (shown) latencies.push(Math.max(0, shown[0] - at));
  }
  latencies.sort((a, b) => a - b);
  return { samples: latencies.length, increases: increases.length, latencies };
}

function percentile(sorted, q) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN;
}

async function run() {
  const binary = path.resolve(option('txmon', path.join(sourceDir, 'build/txmon')));
  const artifacts = path.resolve(option('artifacts', path.join(sourceDir, 'build/artifacts')));
  fs.mkdirSync(artifacts, { recursive: true });
  if (!fs.existsSync(binary)) fail(`no txmon binary at ${binary}: build it first`);
  if (!fs.existsSync(CHROMIUM)) fail(`no Chromium at ${CHROMIUM}: scripts/setup.sh installs it`);
  const { chromium } = await loadPlaywright();

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'txmon-live-'));
  const txmon = startTxmon(binary, writeConfig(work), work);
  let browser;
  try {
    const baseUrl = await txmon.url;
    console.log(`txmon demo serving ${baseUrl} (logs in ${work})`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    const errors = [];
    page.on('console', (message) => message.type() === 'error' && errors.push(`console: ${message.text()}`));
    page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));

    await page.goto(`${baseUrl}/`, { waitUntil: 'load' });
    await page.waitForFunction(() => window.txmonLive && window.txmonLive.frames > 0, null, { timeout: FIRST_FRAME_TIMEOUT_MS });
    const timing = await page.evaluate(() => ({
      load: performance.timing.loadEventEnd - performance.timing.navigationStart,
      firstFrame: Math.round(window.txmonLive.firstFrameMs),
    }));
    console.log(`page loaded in ${timing.load} ms; first frame ${timing.firstFrame} ms after navigation start`);

    // The headline figure follows new events.
    await watchOrdersFigure(page);
    const before = await page.textContent('[data-figure="orders_today"]');
    const changeStart = Date.now();
    await page.waitForFunction(
      (text) => document.querySelector('[data-figure="orders_today"]').textContent !== text,
      before, { timeout: CHANGE_TIMEOUT_MS, polling: 10 });
    console.log(`orders today changed ${before} -> ${await page.textContent('[data-figure="orders_today"]')} after ${Date.now() - changeStart} ms`);

    const latency = await measureLatency(page, baseUrl, 5000);
    if (latency.samples === 0) fail(`no store increase was seen on the page (${latency.increases} increases on /metrics)`);
    console.log(`store -> screen latency over ${latency.samples} increases: median ${percentile(latency.latencies, 0.5)} ms, ` +
      `p90 ${percentile(latency.latencies, 0.9)} ms, max ${latency.latencies[latency.latencies.length - 1]} ms`);
    if (percentile(latency.latencies, 0.5) > 3000) fail('the page lags the store by more than 3 s');

    const framesBefore = await page.evaluate(() => window.txmonLive.frames);
    await sleep(3000);
    const frameRate = ((await page.evaluate(() => window.txmonLive.frames)) - framesBefore) / 3;
    console.log(`SSE frames: ${frameRate.toFixed(1)}/s`);
    if (frameRate < 1) fail(`only ${frameRate} frames/s`);

    await page.waitForSelector(`[data-alert="${ALERT_NAME}"].firing`, { timeout: ALERT_TIMEOUT_MS });
    console.log(`firing alert ${ALERT_NAME} is on the page`);

    const figures = await page.$$eval('[data-figure]', (elements) =>
      Object.fromEntries(elements.map((e) => [e.dataset.figure, e.textContent])));
    console.log('figures:', JSON.stringify(figures));
    for (const name of ['orders_today', 'gmv_today', 'orders_per_second', 'conversion']) {
      if (figures[name] === '—' || figures[name] === '') fail(`figure ${name} shows nothing`);
    }
    const channels = await page.$$eval('#channels li .label', (e) => e.length);
    const provinces = await page.$$eval('#provinces li .label', (e) => e.length);
    if (channels === 0 || provinces === 0) fail(`breakdowns are empty (channels ${channels}, provinces ${provinces})`);

    const screenshot = path.join(artifacts, 'live_page.png');
    await page.screenshot({ path: screenshot });
    console.log(`screenshot: ${screenshot}`);
    if (errors.length) fail(`the page logged errors:\n  ${errors.join('\n  ')}`);
    console.log('PASS live page');
  } finally {
    if (browser) await browser.close();
    txmon.child.kill('SIGTERM');
  }
}

run().then(
  () => process.exit(0),
  (error) => {
    console.error(`FAIL live page: ${error.message}`);
    process.exit(1);
  });
