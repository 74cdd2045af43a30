const http = require('node:http');
const s = http.createServer((req, res) => { let b=''; req.on('data', d=>b+=d); req.on('end', ()=>{ console.log(req.method, req.url, JSON.stringify(req.headers), JSON.stringify(b)); res.writeHead(202, {'content-type':'application/json'}); res.end(JSON.stringify({id:'x'})); }); });
s.listen(0, async () => {
  const port = s.address().port;
  const { DurableClient } = require('durable-functions/lib/src/durableClient/DurableClient.js');
  const base = `http://127.0.0.1:${port}/runtime/webhooks/durabletask`;
  const c = new DurableClient({ taskHubName: 'h', creationUrls: {createNewInstancePostUri: base+'/orchestrators/{functionName}[/{instanceId}]?code='}, managementUrls: {id:'INSTANCEID', statusQueryGetUri: base+'/instances/INSTANCEID'}, baseUrl: base, requiredQueryStringParameters:'', rpcBaseUrl: base+'/' });
  await c.startNew('a'); await c.startNew('a', {input: ''}); await c.startNew('a', {input: null}); await c.raiseEvent('x','e'); await c.raiseEvent('x','e', undefined).catch(e=>console.log(e.message));
  s.close();
});
