// Drives the alert-api status page in headless Chromium (Debian's
// /usr/bin/chromium through playwright-core, no bundled browser).
//
//   node status-page.cjs API_URL FIFO SCREENSHOT PROFILE_DIR
//   node status-page.cjs API_URL --token TOKEN SCREENSHOT PROFILE_DIR
//
// The second form is for API_AUTH_READS=true: the page is opened as
// /#token=TOKEN and must load, stream and acknowledge with it.
//
// Checks: the page loads with the firing alerts and the sensors (with a
// sparkline), a new event written to the input FIFO appears without a
// reload, a resolved one disappears, the ack button acknowledges (checked
// through the API too), no console error or CSP violation. Saves a
// screenshot. Exits 0 on success, 1 with a message otherwise.
'use strict';
const fs = require('fs');
const { chromium } = require('playwright-core');

const [apiUrl, fifo, shot, profile] = process.argv.slice(2);
const token = fifo === '--token' ? process.argv[4] : null;
const shotPath = token ? process.argv[5] : shot;
const profileDir = token ? process.argv[6] : profile;
const NEW_ID = 'a0000000-0000-5000-8000-000000000042';

function event(id, kind, status, sensor, value) {
  return JSON.stringify({
    id, event_id: 'e0000000-0000-4000-8000-' + String(Date.now()).padStart(12, '0').slice(-12),
    event: kind, status, rule: 'temp-high', severity: 'critical', measurement: 'env',
    field: 'temperature', tags: { sensor_id: sensor }, value, threshold: 80,
    started_at: new Date().toISOString(), time: new Date().toISOString(),
    message: sensor + ': temperature ' + value + ' above 80',
    summary: sensor + ' is too hot (browser test)', summary_source: 'fallback',
  }) + '\n';
}

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function main() {
  const ctx = await chromium.launchPersistentContext(profileDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
      '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: { width: 1200, height: 800 },
  });
  const errors = [];
  try {
    const page = ctx.pages()[0] || await ctx.newPage();
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(String(e)));
    let navigations = 0;
    page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations++; });

    if (token) {
      await tokenMode(page);
      check(errors.length === 0, 'console errors: ' + errors.join(' | '));
      await page.screenshot({ path: shotPath, fullPage: true });
      console.log('screenshot ' + shotPath);
      return;
    }
    await page.goto(apiUrl + '/', { waitUntil: 'load' });
    await page.waitForSelector('#live.on', { timeout: 10000 });
    await page.waitForFunction(() => document.querySelectorAll('#alerts tbody tr').length === 5,
      null, { timeout: 10000 });
    const ids = await page.$$eval('#alerts tbody tr', (rs) => rs.map((r) => r.dataset.id.slice(-1)));
    check(ids.join('') === '76431', 'firing alerts in order 7 6 4 3 1, got ' + ids.join(' '));
    await page.waitForSelector('#sensors tr[data-sensor="s-1"] svg polyline', { timeout: 10000 });
    const sensors = await page.$$eval('#sensors tbody tr', (rs) => rs.map((r) => r.dataset.sensor));
    check(sensors.includes('s-1') && sensors.includes('s-2'), 'sensors listed: ' + sensors);
    console.log('page loaded: 5 firing alerts, sensors ' + sensors.join(' '));

    // a new alert arrives through the input: shown live, no reload
    fs.appendFileSync(fifo, event(NEW_ID, 'fired', 'firing', 's-browser', 91.5));
    await page.waitForSelector('#alerts tr[data-id="' + NEW_ID + '"]', { timeout: 10000 });
    const first = await page.$eval('#alerts tbody tr', (r) => r.dataset.id);
    check(first === NEW_ID, 'the new alert is on top');
    check((await page.textContent('#nfiring')) === '6', 'count is 6');
    console.log('new event shown live');

    // a resolved alert leaves the list
    fs.appendFileSync(fifo, event('a0000000-0000-5000-8000-000000000003', 'resolved',
      'resolved', 's-2', 70));
    await page.waitForSelector('#alerts tr[data-id="a0000000-0000-5000-8000-000000000003"]',
      { state: 'detached', timeout: 10000 });
    console.log('resolved event removed the row');

    // acknowledge from the page
    await page.fill('#who', 'browser-test');
    await page.click('#alerts tr[data-id="' + NEW_ID + '"] button.ack');
    await page.waitForSelector('#alerts tr[data-id="' + NEW_ID + '"] .acked', { timeout: 10000 });
    const acked = await page.textContent('#alerts tr[data-id="' + NEW_ID + '"] .acked');
    check(acked === 'acked by browser-test', 'ack shown: ' + acked);
    const res = await fetch(apiUrl + '/alerts/' + NEW_ID);
    const body = await res.json();
    check(body.acknowledged && body.acknowledged.by === 'browser-test',
      'ack stored: ' + JSON.stringify(body.acknowledged));
    console.log('ack works');

    check(navigations === 1, 'the page navigated ' + navigations + ' times');
    check(errors.length === 0, 'console errors: ' + errors.join(' | '));
    await page.screenshot({ path: shotPath, fullPage: true });
    console.log('screenshot ' + shotPath);
  } finally {
    await ctx.close();
  }
}

// API_AUTH_READS: everything through the bearer token from #token=
async function tokenMode(page) {
  const plain = await fetch(apiUrl + '/alerts');
  check(plain.status === 401, 'reads need the token: ' + plain.status);
  await page.goto(apiUrl + '/#token=' + encodeURIComponent(token), { waitUntil: 'load' });
  await page.waitForSelector('#live.on', { timeout: 10000 });
  await page.waitForFunction(() => document.querySelectorAll('#alerts tbody tr').length === 5,
    null, { timeout: 10000 });
  check(!page.url().includes('token'), 'the token left the address bar');
  const id = 'a0000000-0000-5000-8000-000000000007';
  await page.click('#alerts tr[data-id="' + id + '"] button.ack');
  await page.waitForSelector('#alerts tr[data-id="' + id + '"] .acked', { timeout: 10000 });
  const res = await fetch(apiUrl + '/alerts/' + id, { headers: { Authorization: 'Bearer ' + token } });
  const body = await res.json();
  check(body.acknowledged && body.acknowledged.by === 'operator', 'ack stored with the token');
  console.log('token mode: page loaded, streamed and acknowledged with the bearer token');
}

main().then(() => process.exit(0), (e) => {
  console.error('FAIL: ' + e.message);
  process.exit(1);
});
