// A Node load generator for the gateway benchmarks (tests/gateway_sync_bench_test.go with
// VIGIL_BENCH_LOADGEN=node): `callers` concurrent loops POST the same JSON body to one URL over
// keep-alive connections for `ms` milliseconds, as the issue's own measurement did. No
// dependencies: node's own http client.
//
//   node loadgen.mjs <url> <callers> <ms> <json body>
//
// It prints one JSON line: every call's latency in microseconds, how long the run took (until
// the last call returned), the calls that did not answer 200 and the first such answer.
import http from 'node:http';

const [url, callersArg, msArg, body] = process.argv.slice(2);
const callers = Number(callersArg);
const ms = Number(msArg);
if (!url || !(callers > 0) || !(ms > 0) || body === undefined) {
  console.error('usage: node loadgen.mjs <url> <callers> <ms> <json body>');
  process.exit(2);
}
const u = new URL(url);
const agent = new http.Agent({ keepAlive: true, maxSockets: callers });
const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };

function call() {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: 'POST', agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, us: Number((process.hrtime.bigint() - t0) / 1000n), body: chunks }));
    });
    req.on('error', (e) => resolve({ status: 0, us: Number((process.hrtime.bigint() - t0) / 1000n), body: [Buffer.from(String(e))] }));
    req.end(body);
  });
}

const lat = [];
let errors = 0;
let firstError = '';
const start = process.hrtime.bigint();
const stop = Date.now() + ms;
async function loop() {
  while (Date.now() < stop) {
    const r = await call();
    lat.push(r.us);
    if (r.status !== 200) {
      errors++;
      if (!firstError) firstError = `${r.status} ${Buffer.concat(r.body).toString().slice(0, 300)}`;
    }
  }
}
await Promise.all(Array.from({ length: callers }, loop));
const tookUs = Number((process.hrtime.bigint() - start) / 1000n);
agent.destroy();
process.stdout.write(JSON.stringify({ lat_us: lat, took_us: tookUs, errors, first_error: firstError }) + '\n');
