// The official JS SDK (@azure/arm-sql) drives the failover-group lifecycle against
// foghorn-armsim over HTTPS with its own LRO pollers. Run: node js_sdk_lifecycle_test.mjs
// <foghorn-armsim> <topology.json> <node_modules dir>. Exit 77 = skipped (SDK not installed).
import { spawn } from "node:child_process";
import fs from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import assert from "node:assert/strict";

const [binary, topology, nodeModules] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(nodeModules), "noop.js"));
let SqlManagementClient;
try {
  ({ SqlManagementClient } = require("@azure/arm-sql"));
} catch (e) {
  console.log("SKIP: @azure/arm-sql not installed:", e.message);
  process.exit(77);
}

const SUB = "00000000-1111-2222-3333-444444444444";
const TENANT = "11111111-2222-3333-4444-555555555555";
const RG = "rg-foghorn";
const SERVERS = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Sql/servers`;

async function startArmsim() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "armsim-js-"));
  const portFile = path.join(dir, "port.json");
  const child = spawn(binary, [`--topology=${topology}`, `--cert-dir=${dir}`, `--port-file=${portFile}`,
    "--operation-duration-ms=50", "--strict-auth"], { stdio: ["ignore", "ignore", "inherit"] });
  const deadline = Date.now() + 20000;
  while (!fs.existsSync(portFile)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error("foghorn-armsim did not start");
    await new Promise((r) => setTimeout(r, 20));  // bounded poll for the port file
  }
  const hello = JSON.parse(fs.readFileSync(portFile, "utf8"));
  return { child, dir, baseUrl: hello.baseUrl, ca: fs.readFileSync(hello.caCert) };
}

function post(url, body, ca) {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: "POST", ca, headers: {
      "Content-Type": "application/x-www-form-urlencoded", "Content-Length": Buffer.byteLength(body) } },
    (res) => { let data = ""; res.on("data", (c) => (data += c)); res.on("end", () => resolve({ status: res.statusCode, body: data })); });
    req.on("error", reject);
    req.end(body);
  });
}

const sim = await startArmsim();
let failed = 0;
try {
  let tokenCalls = 0;
  const credential = {
    async getToken(scopes) {
      tokenCalls++;
      const res = await post(`${sim.baseUrl}/${TENANT}/oauth2/v2.0/token`, new URLSearchParams({
        grant_type: "client_credentials", client_id: "foghorn", client_secret: "armsim-secret",
        scope: [].concat(scopes).join(" ") }).toString(), sim.ca);
      assert.equal(res.status, 200, res.body);
      const j = JSON.parse(res.body);
      return { token: j.access_token, expiresOnTimestamp: Date.now() + j.expires_in * 1000 };
    },
  };
  // Trust the emulator's CA through the pipeline's per-request agent.
  const agent = new https.Agent({ keepAlive: true, ca: sim.ca });
  const client = new SqlManagementClient(credential, SUB, {
    endpoint: sim.baseUrl,
    additionalPolicies: [{ position: "perCall", policy: { name: "armsimCa", sendRequest: (req, next) => { req.agent = agent; return next(req); } } }],
  });
  const fgs = client.failoverGroups;
  const poll = { updateIntervalInMs: 20 };

  const created = await fgs.beginCreateOrUpdateAndWait(RG, "sql-east", "fog-js", {
    readWriteEndpoint: { failoverPolicy: "Manual" },
    partnerServers: [{ id: `${SERVERS}/sql-west` }],
    databases: [`${SERVERS}/sql-east/databases/audit`],
  }, poll);
  assert.equal(created.replicationRole, "Primary");
  assert.equal((await fgs.get(RG, "sql-west", "fog-js")).replicationRole, "Secondary");
  const names = [];
  for await (const fg of fgs.listByServer(RG, "sql-east")) names.push(fg.name);
  assert.deepEqual(names.sort(), ["fog-js", "fog-orders"]);
  const updated = await fgs.beginUpdateAndWait(RG, "sql-east", "fog-js", {
    readWriteEndpoint: { failoverPolicy: "Automatic", failoverWithDataLossGracePeriodMinutes: 60 } }, poll);
  assert.equal(updated.readWriteEndpoint.failoverWithDataLossGracePeriodMinutes, 60);
  const planned = await fgs.beginFailoverAndWait(RG, "sql-west", "fog-js", poll);
  assert.equal(planned.replicationRole, "Primary");
  const forced = await fgs.beginForceFailoverAllowDataLossAndWait(RG, "sql-east", "fog-js", poll);
  assert.equal(forced.replicationRole, "Primary");
  await fgs.beginDeleteAndWait(RG, "sql-east", "fog-js", poll);
  await assert.rejects(fgs.get(RG, "sql-east", "fog-js"), (e) => e.statusCode === 404);
  await assert.rejects(fgs.beginFailoverAndWait(RG, "sql-east", "fog-orders", poll),
    (e) => e.code === "FailoverGroupFailoverRequestOnPrimary");
  assert.ok(tokenCalls >= 1);
  agent.destroy();
  console.log("1 passed, 0 failed");
} catch (e) {
  failed = 1;
  console.error(e);
  console.log("0 passed, 1 failed");
} finally {
  sim.child.kill("SIGTERM");
  await new Promise((r) => sim.child.on("exit", r));
  fs.rmSync(sim.dir, { recursive: true, force: true });
}
process.exit(failed);
