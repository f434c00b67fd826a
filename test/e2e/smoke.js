#!/usr/bin/env node
'use strict';
// Smoke test of the real-n8n tooling: the cached Node + n8n install of a line (NEMOVIDEO_N8N_LINE, lib/install.js),
// a workflow of built-in nodes run with `n8n execute`, then our package installed from its npm tarball and the
// NemoVideo Credits node run against the emulator.
//   node test/e2e/smoke.js        (NEMOVIDEO_E2E_BUILD=1 to run `npm run build` first; NEMOVIDEO_E2E_VERBOSE=1 for n8n logs)
const fs = require('node:fs');
const { ensureN8n } = require('./lib/install');
const { N8nInstance, packageTarball, nodeOutput, packageLoadErrors, PACKAGE_NAME } = require('./lib/n8n');
const { startEmulator } = require('./lib/emulator');
const { runTests, assert } = require('./lib/runner');

const builtinWorkflow = require('./workflows/smoke-builtin.json');

let n8n;
let emu;

function creditsWorkflow(credentialId) {
  return {
    id: 'e2eSmokeCredits01',
    name: 'e2e smoke: NemoVideo Credits',
    active: false,
    settings: { executionOrder: 'v1' },
    nodes: [
      { id: '5b0e0c4e-0000-4000-8000-000000000001', name: 'Manual Trigger', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
      {
        id: '5b0e0c4e-0000-4000-8000-000000000002',
        name: 'NemoVideo Credits',
        type: `${PACKAGE_NAME}.nemoVideoCredits`,
        typeVersion: 1,
        position: [240, 0],
        parameters: {},
        credentials: { nemoVideoApi: { id: credentialId, name: 'NemoVideo e2e' } },
      },
    ],
    connections: { 'Manual Trigger': { main: [[{ node: 'NemoVideo Credits', type: 'main', index: 0 }]] } },
  };
}

runTests(
  'real n8n smoke',
  [
    {
      name: 'Node and n8n of the line are installed (cached)',
      fn: async () => {
        const t = Date.now();
        const install = await ensureN8n();
        console.log(`     n8n ${install.version} on Node ${install.nodeVersion} (${install.node}, ${((Date.now() - t) / 1000).toFixed(1)} s)`);
        n8n = await N8nInstance.create({ install });
      },
    },
    {
      name: 'a workflow of built-in nodes runs with `n8n execute`',
      fn: async () => {
        assert(n8n, 'no n8n instance');
        const id = await n8n.importWorkflow(builtinWorkflow);
        const r = await n8n.execute(id);
        console.log(`     n8n execute: exit ${r.exitCode ?? r.signal} in ${(r.durationMs / 1000).toFixed(1)} s`);
        assert(r.exitCode === 0, `n8n execute exited ${r.exitCode ?? r.signal}: ${r.errorMessage}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
        assert(r.result, `no JSON result in the output:\n${r.stdout.slice(-2000)}`);
        const out = nodeOutput(r.result, 'Code');
        assert(out.length === 1, `Code node output ${out.length} items: ${JSON.stringify(out)}`);
        assert(out[0].smoke === 'nemovideo-e2e-smoke' && out[0].doubled === 42, `unexpected output ${JSON.stringify(out[0])}`);
      },
    },
    {
      name: 'our package installs from its tarball and its Credits node runs against the emulator',
      fn: async () => {
        assert(n8n, 'no n8n instance');
        const tarball = await packageTarball();
        const installed = await n8n.installPackage(tarball);
        assert(!fs.lstatSync(installed).isSymbolicLink(), 'package installed as a symlink');
        emu = await startEmulator();
        await emu.admin.addToken({ token: 'nmv_usr_own_test', credits: 500, anonymous: false });
        const [credId] = await n8n.importCredentials([
          { name: 'NemoVideo e2e', type: 'nemoVideoApi', data: { accessToken: 'nmv_usr_own_test', baseUrl: emu.baseUrl } },
        ]);
        const id = await n8n.importWorkflow(creditsWorkflow(credId));
        const r = await n8n.execute(id);
        console.log(`     n8n execute: exit ${r.exitCode ?? r.signal} in ${(r.durationMs / 1000).toFixed(1)} s`);
        const loadErrors = packageLoadErrors(r.stdout + r.stderr);
        assert(!loadErrors.length, `n8n failed to load ${PACKAGE_NAME}: ${loadErrors.join(' | ')}`);
        assert(!/Unrecognized node type/i.test(r.stdout + r.stderr), `n8n did not load ${PACKAGE_NAME}:\n${r.stdout.slice(-2000)}`);
        assert(r.exitCode === 0, `n8n execute exited ${r.exitCode ?? r.signal}: ${r.errorMessage}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`);
        const out = nodeOutput(r.result, 'NemoVideo Credits');
        assert(out.length === 1 && out[0].available === 500, `expected available: 500, got ${JSON.stringify(out)}`);
        const calls = await emu.admin.requests();
        assert(calls.length > 0, 'the emulator saw no request');
        const stored = await n8n.exportCredentials();
        const mine = stored.find((c) => c.id === credId);
        assert(mine && mine.data && mine.data.accessToken === 'nmv_usr_own_test', `credential not stored as imported: ${JSON.stringify(mine)}`);
      },
    },
  ],
  {
    afterAll: async () => {
      if (emu) await emu.stop();
      if (n8n) await n8n.dispose();
    },
  },
);
