const path = require('node:path');
(async () => {
const { startRunner } = require('/work/wt/runner/dist/runner/startRunner.js');
const appDir = '/work/wt/runner/test/fixtures/durable-app';
const r = await startRunner({ appDir, port: 0, clock: 'virtual', log: false, settingsFile: path.join(appDir,'fixture.settings.json') });
const { InvocationContext } = require('@azure/functions'); const df = require('durable-functions');
const input = df.input.durableClient();
const context = new InvocationContext({ functionName: 'test', options: { trigger: { type: 'httpTrigger', name: 'req' }, extraInputs: [input], extraOutputs: [] } });
context.extraInputs.set(input, r.durableClientData);
const c = df.getClient(context);
await c.startNew('child', { instanceId: 'x2' });
await c.startNew('child');
await r.waitForTerminal();
for (const i of r.host.list()) console.log(i.instanceId, i.input, i.output);
await r.close();
})();
