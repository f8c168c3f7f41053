// An independent client of the control API, as another team's service would write it: Node with
// @grpc/grpc-js and @grpc/proto-loader, loading the project's .proto files. Runs status (ListGroups),
// a failover followed live through Watch (and an idempotent retry), against api_test_agent.
//   node node_client_test.js <api_test_agent binary> <proto dir>
'use strict';
const { spawn } = require('child_process');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const [agentBin, protoDir] = process.argv.slice(2);
if (!agentBin || !protoDir) {
  console.error('usage: node node_client_test.js <api_test_agent> <proto dir>');
  process.exit(2);
}

const timer = setTimeout(() => fail('timed out after 60s'), 60000);
let agent;
function fail(msg) {
  console.error('FAIL:', msg);
  if (agent) agent.kill();
  process.exit(1);
}
function check(cond, msg) {
  if (!cond) fail(msg);
}
const unary = (client, method, req) =>
  new Promise((resolve, reject) => {
    const deadline = new Date(Date.now() + 10000);
    client[method](req, { deadline }, (err, resp) => (err ? reject(err) : resolve(resp)));
  });

async function main(port) {
  const def = protoLoader.loadSync(path.join('foghorn', 'v1', 'control.proto'), {
    includeDirs: [protoDir],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(def);
  const client = new pkg.foghorn.v1.ControlService(`127.0.0.1:${port}`,
                                                   grpc.credentials.createInsecure());

  // status
  const groups = await unary(client, 'ListGroups', {});
  check(groups.groups.length === 2, `expected 2 groups, got ${groups.groups.length}`);
  const fog = groups.groups[0];
  check(fog.id === 'sub/rg/fog', `first group is ${fog.id}`);
  check(fog.primary.server === 'srv-a' && fog.primary.verdict === 'VERDICT_HEALTHY',
        `primary ${JSON.stringify(fog.primary)}`);
  check(fog.last_decision.stage === 'DECISION_STAGE_HEALTHY', 'decision is not HEALTHY');
  console.log(`status: ${groups.groups.length} groups, ${fog.id} primary ${fog.primary.server}`);

  // watch, then failover
  const events = [];
  const stream = client.Watch({ group_ids: ['fog'] });
  let opId = null;
  const finished = new Promise((resolve, reject) => {
    stream.on('data', (e) => {
      events.push(e);
      if (e.kind === 'EVENT_KIND_SUBSCRIBED') {
        unary(client, 'RequestFailover', {
          group_id: 'sub/rg/fog', kind: 'FAILOVER_KIND_PLANNED', reason: 'node client test',
          request_id: 'node-1',
        }).then((r) => {
          check(r.created === true, 'the first request did not create an operation');
          opId = r.operation.id;
        }, reject);
      }
      if (e.kind === 'EVENT_KIND_OPERATION') resolve(e);
    });
    stream.on('error', (err) => { if (err.code !== grpc.status.CANCELLED) reject(err); });
  });
  const end = await finished;
  stream.cancel();
  check(opId !== null && end.operation_id === opId, 'operation event for another operation');
  check(end.detail === 'operation' && end.operation.state === 'OPERATION_STATE_SUCCEEDED',
        `operation ended ${JSON.stringify(end.operation)}`);
  const steps = events.filter((e) => e.kind === 'EVENT_KIND_OPERATION_STEP');
  check(steps.length === 8, `expected 8 step events, got ${steps.length}`);
  check(steps.every((e) => e.detail === 'operation_step' && !e.operation_step.drill &&
                          e.operation_step.request_id === 'node-1'),
        `step details ${JSON.stringify(steps.map((e) => e.operation_step))}`);
  const first = steps[0].operation_step.step;
  check(first.name === 'pre:announce' && first.state === 'STEP_STATE_RUNNING',
        `first step ${JSON.stringify(first)}`);
  console.log(`watch: ${events.length} events, ${steps.length} step events, ${end.summary}`);

  // an idempotent retry returns the same operation
  const again = await unary(client, 'RequestFailover', {
    group_id: 'sub/rg/fog', kind: 'FAILOVER_KIND_PLANNED', reason: 'node client test',
    request_id: 'node-1',
  });
  check(again.created === false && again.operation.id === opId, 'retry created a new operation');
  const op = await unary(client, 'GetOperation', { operation_id: opId });
  check(op.operation.state === 'OPERATION_STATE_SUCCEEDED', `state ${op.operation.state}`);
  check(op.operation.steps.length === 4, `steps ${op.operation.steps.length}`);
  const after = await unary(client, 'GetGroup', { group_id: 'fog' });
  check(after.group.primary.server === 'srv-b', `primary after failover ${after.group.primary.server}`);

  // errors carry standard codes
  try {
    await unary(client, 'GetGroup', { group_id: 'sub/rg/none' });
    fail('GetGroup of an unknown group succeeded');
  } catch (err) {
    check(err.code === grpc.status.NOT_FOUND, `code ${err.code}`);
  }
  console.log(`failover: ${opId} succeeded, srv-b is primary; retry returned the same operation`);
  client.close();
}

agent = spawn(agentBin, ['--groups', '2'], { stdio: ['pipe', 'pipe', 'inherit'] });
agent.on('exit', (code) => { if (code !== 0 && code !== null) fail(`agent exited ${code}`); });
let out = '';
agent.stdout.on('data', (chunk) => {
  out += chunk.toString();
  const m = out.match(/PORT (\d+)/);
  if (m && out !== null) {
    out = null;
    main(Number(m[1])).then(() => {
      clearTimeout(timer);
      agent.stdin.end();
      agent.on('close', () => { console.log('PASS'); process.exit(0); });
    }, (err) => fail(err.stack || String(err)));
  }
});
