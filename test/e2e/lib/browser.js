'use strict';
// Debian's Chromium for playwright-core (never Playwright's own browser download, which fails on these machines).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { run, log } = require('./install');

const CHROMIUM = process.env.NEMOVIDEO_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-dev-shm-usage',
];

/** Installs Debian's chromium with apt-get when /usr/bin/chromium is missing (as root, or with sudo). */
async function ensureChromium() {
  if (fs.existsSync(CHROMIUM)) return CHROMIUM;
  const t0 = Date.now();
  log(`${CHROMIUM} missing: installing Debian's chromium with apt-get`);
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const pre = asRoot ? [] : ['sudo', '-n'];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = async (...args) => {
    const [cmd, ...rest] = [...pre, 'apt-get', ...args];
    await run(cmd, rest, { env, label: 'apt-get', timeoutMs: 900000 });
  };
  await apt('update');
  await apt('install', '-y', '--no-install-recommends', 'chromium');
  if (!fs.existsSync(CHROMIUM)) throw new Error(`apt-get installed chromium but ${CHROMIUM} is still missing`);
  log(`chromium installed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return CHROMIUM;
}

/** Launches headless Chromium with a fresh user-data-dir. Returns { browser (a BrowserContext), close() }. */
async function launchChromium({ viewport = { width: 1600, height: 1000 } } = {}) {
  const executablePath = await ensureChromium();
  const { chromium } = require('playwright-core');
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nemovideo-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
    timeout: 60000,
  });
  // Registered after launch so that it runs after Playwright's own exit handler has killed Chromium (Ctrl-C, SIGTERM).
  process.once('exit', () => fs.rmSync(userDataDir, { recursive: true, force: true, maxRetries: 3 }));
  return {
    context,
    close: async () => {
      await context.close().catch(() => {});
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

module.exports = { ensureChromium, launchChromium, CHROMIUM, CHROMIUM_ARGS };

if (require.main === module) {
  ensureChromium().then((p) => console.log(p), (e) => { console.error(e); process.exit(1); });
}
