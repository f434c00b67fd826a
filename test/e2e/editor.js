#!/usr/bin/env node
'use strict';
// The n8n editor in headless Chromium: starts `n8n start` (optionally with our package installed from its npm
// tarball), sets up the owner, signs in, opens a workflow, screenshots the canvas, double-clicks a node of a given
// type, screenshots its parameter panel, and checks that every node icon rendered and that the panel shows a given
// parameter label. Throws (exits 1 from the CLI) with a clear message otherwise.
//
//   node test/e2e/editor.js [--workflow file.json] [--node-type type] [--label "Parameter label"]
//                           [--canvas out.png] [--panel out.png] [--package [tarball]] [--credentials file.json]
// Defaults: a workflow of built-in nodes, the Set node, "Fields to Set", screenshots in the OS temp dir.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ensureN8n, log } = require('./lib/install');
const { ensureChromium, launchChromium } = require('./lib/browser');
const { N8nInstance, packageTarball } = require('./lib/n8n');

const OWNER = { email: 'owner@example.com', firstName: 'E2E', lastName: 'Owner', password: 'E2e-Passw0rd!' };

async function setupOwner(url) {
  const res = await fetch(`${url}/rest/owner/setup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(OWNER),
    signal: AbortSignal.timeout(30000),
  });
  const text = await res.text();
  if (res.ok) return;
  if (res.status === 400 && /already/i.test(text)) return; // owner set up earlier: sign in below
  throw new Error(`owner setup failed: POST /rest/owner/setup -> HTTP ${res.status}: ${text.slice(0, 500)}`);
}

async function signIn(page, url) {
  await page.goto(`${url}/signin`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#emailOrLdapLoginId', { timeout: 60000 });
  await page.fill('#emailOrLdapLoginId', OWNER.email);
  await page.fill('#password', OWNER.password);
  await page.click('[data-test-id="form-submit-button"]');
  await page.waitForURL((u) => !String(u).includes('/signin'), { timeout: 60000 }).catch(async () => {
    throw new Error(`sign-in did not leave /signin; page says: ${(await page.innerText('body')).slice(0, 500)}`);
  });
}

/** Per canvas node: its icon element and whether it rendered (a loaded <img> or an <svg>). */
function iconReport(page, scope) {
  return page.evaluate((scope) => {
    const nodes = scope === 'ndv'
      ? [document.querySelector('[data-test-id="ndv"]')].filter(Boolean)
      : [...document.querySelectorAll('[data-test-id="canvas-node"]')];
    return nodes.map((n) => {
      const icon = n.querySelector('.n8n-node-icon');
      const imgs = icon ? [...icon.querySelectorAll('img')] : [];
      const svgs = icon ? icon.querySelectorAll('svg').length : 0;
      return {
        name: scope === 'ndv' ? 'parameter panel' : n.getAttribute('data-node-name'),
        type: n.getAttribute('data-node-type'),
        hasIcon: !!icon,
        imgs: imgs.map((i) => ({ src: i.currentSrc || i.src, complete: i.complete, naturalWidth: i.naturalWidth })),
        svgs,
        text: icon ? icon.textContent.trim().slice(0, 20) : '',
      };
    });
  }, scope);
}

function iconProblems(report) {
  const problems = [];
  for (const r of report) {
    if (!r.hasIcon) problems.push(`${r.name} (${r.type}): no node icon element`);
    else if (r.imgs.some((i) => i.complete && i.naturalWidth === 0)) {
      problems.push(`${r.name} (${r.type}): icon image failed to load: ${r.imgs.filter((i) => !i.naturalWidth).map((i) => i.src).join(', ')}`);
    } else if (!r.imgs.some((i) => i.naturalWidth > 0) && r.svgs === 0) {
      problems.push(
        r.text === '?'
          ? `${r.name} (${r.type}): n8n shows "?" — it does not know this node type (package not installed or failed to load)`
          : `${r.name} (${r.type}): icon element is empty (no loaded <img>, no <svg>)`,
      );
    }
  }
  return problems;
}

/** Waits (bounded) until no icon image is still loading and every icon rendered; returns the last report either way. */
async function waitForIcons(page, scope, timeoutMs = 20000) {
  const t0 = Date.now();
  for (;;) {
    const report = await iconReport(page, scope);
    const pending = report.some((r) => r.imgs.some((i) => !i.complete));
    if ((!pending && !iconProblems(report).length) || Date.now() - t0 > timeoutMs) return report;
    await page.waitForFunction(() => [...document.images].every((img) => img.complete), null, { timeout: Math.max(1, timeoutMs - (Date.now() - t0)), polling: 100 }).catch(() => {});
  }
}

/**
 * The page-side record of waitForStill (a property of the page's window between animation frames).
 * @typedef {Window & { __nemovideoStill?: { sel: string, last: string, frames: number } }} StillWindow
 */

/**
 * Waits until `selector` stops moving: its box and transform unchanged over 10 animation frames (n8n animates the
 * canvas's fit-to-view and slides the parameter panel in), so a screenshot shows the settled picture.
 */
async function waitForStill(page, selector, timeoutMs = 10000) {
  await page
    .waitForFunction(
      (sel) => {
        const el = document.querySelector(sel);
        if (!el) return false;
        const box = el.getBoundingClientRect();
        const now = `${getComputedStyle(el).transform} ${box.x} ${box.y} ${box.width} ${box.height}`;
        const win = /** @type {StillWindow} */ (window);
        const state = (win.__nemovideoStill = win.__nemovideoStill && win.__nemovideoStill.sel === sel ? win.__nemovideoStill : { sel, last: '', frames: 0 });
        state.frames = now === state.last ? state.frames + 1 : 0;
        state.last = now;
        return state.frames >= 10;
      },
      selector,
      { polling: 'raf', timeout: timeoutMs },
    )
    .catch(() => {
      throw new Error(`${selector} kept moving for ${timeoutMs} ms: no settled picture to take`);
    });
  await page.evaluate(() => delete /** @type {StillWindow} */ (window).__nemovideoStill);
}

/** Opens a workflow in the editor and waits until every node of it is on the canvas. */
async function openCanvas(page, url, workflowId, workflow, pageErrors) {
  await page.goto(`${url}/workflow/${workflowId}`, { waitUntil: 'domcontentloaded' });
  const expectedNodes = workflow.nodes.filter((n) => n.type !== 'n8n-nodes-base.stickyNote').length;
  await page
    .waitForFunction((count) => document.querySelectorAll('[data-test-id="canvas-node"]').length >= count, expectedNodes, { timeout: 60000 })
    .catch(async () => {
      const found = await page.locator('[data-test-id="canvas-node"]').count();
      throw new Error(`the canvas shows ${found} of ${expectedNodes} nodes of workflow ${workflowId}${pageErrors.length ? `; page errors: ${pageErrors.join(' | ')}` : ''}`);
    });
  await page.keyboard.press('Escape'); // any welcome popup
}

/**
 * @param {{workflow: object, nodeType: string, parameterLabel: string, canvasScreenshot: string,
 *          panelScreenshot: string, tarball?: string, installPackage?: boolean, credentials?: object[],
 *          env?: object, nodeName?: string, canvasViewport?: {width: number, height: number},
 *          moreWorkflows?: object[]}} opts
 */
async function runEditorCheck(opts) {
  const t0 = Date.now();
  const timings = {};
  const install = await ensureN8n();
  await ensureChromium();
  const n8n = await N8nInstance.create({ install, env: opts.env });
  let browser;
  try {
    if (opts.tarball || opts.installPackage) await n8n.installPackage(opts.tarball || (await packageTarball()));
    if (opts.credentials && opts.credentials.length) await n8n.importCredentials(opts.credentials);
    const workflowId = await n8n.importWorkflow(opts.workflow);
    const moreIds = [];
    for (const workflow of opts.moreWorkflows || []) moreIds.push(await n8n.importWorkflow(workflow));
    const started = await n8n.start();
    timings.n8nStartMs = started.startMs;
    await setupOwner(n8n.url);

    browser = await launchChromium();
    const page = await browser.context.newPage();
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('dialog', (dialog) => dialog.accept().catch(() => {})); // "leave the page?" when moving to the next workflow
    await signIn(page, n8n.url);

    const tEditor = Date.now();
    const fullViewport = page.viewportSize();
    // A shorter window for the canvas picture: the workflow is one row of nodes, n8n fits it to the window.
    if (opts.canvasViewport) await page.setViewportSize(opts.canvasViewport);
    await openCanvas(page, n8n.url, workflowId, opts.workflow, pageErrors);
    const canvasIcons = await waitForIcons(page, 'canvas');
    await waitForStill(page, '.vue-flow__transformationpane'); // the fit-view animation
    fs.mkdirSync(path.dirname(opts.canvasScreenshot), { recursive: true });
    await page.screenshot({ path: opts.canvasScreenshot });
    if (opts.canvasViewport) await page.setViewportSize(fullViewport);
    timings.editorOpenMs = Date.now() - tEditor;
    const problems = iconProblems(canvasIcons);
    if (problems.length) throw new Error(`node icons did not render on the canvas (screenshot ${opts.canvasScreenshot}):\n  ${problems.join('\n  ')}`);
    if (!canvasIcons.some((r) => r.type === opts.nodeType)) {
      throw new Error(`no node of type ${opts.nodeType} on the canvas; found ${canvasIcons.map((r) => r.type).join(', ')}`);
    }

    const sel = opts.nodeName
      ? `[data-test-id="canvas-node"][data-node-name="${opts.nodeName}"]`
      : `[data-test-id="canvas-node"][data-node-type="${opts.nodeType}"]`;
    await page.locator(sel).first().dblclick();
    await page.waitForSelector('[data-test-id="ndv"] [data-test-id="node-parameters"]', { timeout: 30000 }).catch(() => {
      throw new Error(`double-clicking ${opts.nodeType} did not open its parameter panel`);
    });
    const labelsOf = () =>
      page.evaluate(() => [
        ...new Set(
          [...document.querySelectorAll('[data-test-id="ndv"] [data-test-id="node-parameters"] [data-test-id="input-label"] label, [data-test-id="ndv"] [data-test-id="node-parameters"] label')]
            .map((e) => e.textContent.replace(/\s+/g, ' ').trim())
            .filter(Boolean),
        ),
      ]);
    const hasLabel = (list) => list.some((l) => l === opts.parameterLabel || l.startsWith(`${opts.parameterLabel} `));
    // The panel renders its parameters after it opens: wait (bounded) for the label, then read them all.
    await page
      .waitForFunction(
        (label) => [...document.querySelectorAll('[data-test-id="ndv"] [data-test-id="node-parameters"] label')].some((e) => e.textContent.replace(/\s+/g, ' ').trim().startsWith(label)),
        opts.parameterLabel,
        { timeout: 15000, polling: 100 },
      )
      .catch(() => {});
    const labels = await labelsOf();
    const ndvIcons = await waitForIcons(page, 'ndv');
    await waitForStill(page, '[data-test-id="ndv"] [data-test-id="node-parameters"]'); // the panel's slide-in
    fs.mkdirSync(path.dirname(opts.panelScreenshot), { recursive: true });
    await page.screenshot({ path: opts.panelScreenshot });
    if (!hasLabel(labels)) {
      throw new Error(`the parameter panel of ${opts.nodeType} does not show "${opts.parameterLabel}" (screenshot ${opts.panelScreenshot}); labels: ${labels.join(' | ') || '(none)'}`);
    }
    const ndvProblems = iconProblems(ndvIcons);
    if (ndvProblems.length) throw new Error(`the parameter panel's node icon did not render (screenshot ${opts.panelScreenshot}): ${ndvProblems.join('; ')}`);
    // More workflows (e.g. the other examples): each opened on the canvas, every node icon must render.
    const more = [];
    for (const [i, workflow] of (opts.moreWorkflows || []).entries()) {
      await page.keyboard.press('Escape'); // close the parameter panel
      await openCanvas(page, n8n.url, moreIds[i], workflow, pageErrors);
      const icons = await waitForIcons(page, 'canvas');
      const iconIssues = iconProblems(icons);
      if (iconIssues.length) throw new Error(`node icons did not render on the canvas of "${workflow.name}":\n  ${iconIssues.join('\n  ')}`);
      more.push({ name: workflow.name, icons });
    }
    timings.totalMs = Date.now() - t0;
    return { timings, canvasIcons, labels, pageErrors, workflowId, more };
  } finally {
    if (browser) await browser.close();
    await n8n.dispose();
  }
}

function parseArgs(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '--workflow') o.workflowFile = next();
    else if (a === '--node-type') o.nodeType = next();
    else if (a === '--node-name') o.nodeName = next();
    else if (a === '--label') o.parameterLabel = next();
    else if (a === '--canvas') o.canvasScreenshot = next();
    else if (a === '--panel') o.panelScreenshot = next();
    else if (a === '--credentials') o.credentialsFile = next();
    else if (a === '--package') {
      o.installPackage = true;
      if (argv[i + 1] && !argv[i + 1].startsWith('--')) o.tarball = next();
    } else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

module.exports = { runEditorCheck, setupOwner, signIn, iconReport, iconProblems, OWNER };

if (require.main === module) {
  const args = parseArgs(process.argv.slice(2));
  const workflowFile = args.workflowFile || path.join(__dirname, 'workflows', 'smoke-builtin.json');
  const opts = {
    workflow: JSON.parse(fs.readFileSync(workflowFile, 'utf8')),
    nodeType: args.nodeType || 'n8n-nodes-base.set',
    nodeName: args.nodeName,
    parameterLabel: args.parameterLabel || 'Fields to Set',
    canvasScreenshot: path.resolve(args.canvasScreenshot || path.join(os.tmpdir(), 'n8n-editor-canvas.png')),
    panelScreenshot: path.resolve(args.panelScreenshot || path.join(os.tmpdir(), 'n8n-editor-panel.png')),
    installPackage: args.installPackage,
    tarball: args.tarball,
    credentials: args.credentialsFile ? JSON.parse(fs.readFileSync(args.credentialsFile, 'utf8')) : undefined,
  };
  runEditorCheck(opts).then(
    (r) => {
      console.log(`ok   editor: ${opts.nodeType} panel shows "${opts.parameterLabel}"; icons rendered for ${r.canvasIcons.length} nodes`);
      console.log(`     n8n start ${(r.timings.n8nStartMs / 1000).toFixed(1)} s, editor open ${(r.timings.editorOpenMs / 1000).toFixed(1)} s, total ${(r.timings.totalMs / 1000).toFixed(1)} s`);
      console.log(`     screenshots: ${opts.canvasScreenshot} ${opts.panelScreenshot}`);
      console.log('1 passed, 0 failed');
    },
    (e) => {
      console.log(`FAIL editor: ${e.message}`);
      console.log('0 passed, 1 failed');
      log(e.stack);
      process.exitCode = 1;
    },
  );
}
