// GET a failover group N times with the official JS SDK (@azure/arm-sql) against a running
// foghorn-armsim, over HTTPS with a keep-alive agent, and print {"n","wall_s","cpu_s"} as JSON.
// CPU is this process's own (process.cpuUsage), around the timed loop only.
// Usage: node js_sdk_get.mjs <base_url> <ca.pem> <token> <n> <node_modules dir>
import fs from "node:fs";
import https from "node:https";
import path from "node:path";
import { createRequire } from "node:module";

const [baseUrl, caPath, token, nText, nodeModules] = process.argv.slice(2);
const n = Number(nText);
const require = createRequire(path.join(path.resolve(nodeModules), "noop.js"));
let SqlManagementClient;
try {
  ({ SqlManagementClient } = require("@azure/arm-sql"));
} catch (e) {
  console.log(JSON.stringify({ skipped: String(e.message) }));
  process.exit(0);
}
const SUB = "00000000-1111-2222-3333-444444444444";
const agent = new https.Agent({ keepAlive: true, ca: fs.readFileSync(caPath) });
const credential = { async getToken() { return { token, expiresOnTimestamp: Date.now() + 3600e3 }; } };
const client = new SqlManagementClient(credential, SUB, {
  endpoint: baseUrl,
  additionalPolicies: [{ position: "perCall", policy: { name: "benchCa",
    sendRequest: (req, next) => { req.agent = agent; return next(req); } } }],
});
for (let i = 0; i < Math.min(100, n); i++) await client.failoverGroups.get("rg-foghorn", "sql-east", "fog-orders");
const c0 = process.cpuUsage();
const w0 = process.hrtime.bigint();
for (let i = 0; i < n; i++) await client.failoverGroups.get("rg-foghorn", "sql-east", "fog-orders");
const c1 = process.cpuUsage(c0);
const w1 = process.hrtime.bigint();
console.log(JSON.stringify({ n, wall_s: Number(w1 - w0) / 1e9, cpu_s: (c1.user + c1.system) / 1e6 }));
agent.destroy();
