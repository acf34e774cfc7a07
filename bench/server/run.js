// `npm run bench:server` (after `npm run build`): admission throughput of `palisade serve`
// against a bare node:https server, same TLS, fixture, keep-alive and load generator.
// Loopback only; every run is bounded (3 s warm-up + 10 s measured); servers are stopped by
// pid at the end. Options: --reps N (alternating a/b runs, default 3), --connections N (64).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { POLICIES_YML, deploymentReview } from './fixture.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const HERE = join(ROOT, 'bench', 'server');
const WARMUP_S = 3;
const DURATION_S = 10;

const { values: args } = parseArgs({
  options: {
    reps: { type: 'string', default: '3' },
    connections: { type: 'string', default: '64' },
  },
});
const REPS = Number(args.reps);
const CONNECTIONS = Number(args.connections);

function has(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** wrk from Debian; installed with apt-get only when missing and we are root; else autocannon if present. */
function loadGenerator() {
  if (has('wrk')) return 'wrk';
  if (process.getuid?.() === 0 && has('apt-get')) {
    console.error('wrk is missing: apt-get install -y wrk');
    spawnSync('apt-get', ['install', '-y', 'wrk'], { stdio: 'inherit' });
    if (has('wrk')) return 'wrk';
  }
  if (has('autocannon') || existsSync(join(ROOT, 'node_modules', '.bin', 'autocannon')))
    return 'autocannon';
  throw new Error('no load generator: install wrk (apt-get install -y wrk)');
}

const pinned = has('taskset') && availableParallelism() >= 2;
const onCpu = (cpu, argv) => (pinned ? ['taskset', '-c', String(cpu), ...argv] : argv);

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

function startServer(name, argv) {
  const [cmd, ...rest] = argv;
  const child = spawn(cmd, rest, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  child.on('exit', (code, signal) => {
    if (!child.stopping) console.error(`${name} exited early (${code ?? signal}):\n${stderr}`);
  });
  return child;
}

async function stopServer(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.stopping = true;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

function post(url, ca, body) {
  return new Promise((res, rej) => {
    const req = request(
      url,
      { method: 'POST', ca, headers: { 'content-type': 'application/json' } },
      (r) => {
        let data = '';
        r.on('data', (c) => (data += c));
        r.on('end', () => res({ status: r.statusCode, body: data }));
      },
    );
    req.on('error', rej);
    req.end(body);
  });
}

async function waitReady(url, ca, body) {
  const until = Date.now() + 20_000;
  for (;;) {
    try {
      const reply = await post(url, ca, body);
      if (reply.status === 200) return JSON.parse(reply.body);
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`${url} did not become ready`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

function processTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function machineTicks() {
  const [, ...v] = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]
    .trim()
    .split(/\s+/)
    .map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { total, busy: total - v[3] - v[4], steal: v[7] };
}

function toMs(text) {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text);
  if (!m) return NaN;
  const scale = { us: 0.001, ms: 1, s: 1000, m: 60_000 }[m[2]];
  return Number(m[1]) * scale;
}

function runWrk(url, lua, seconds, latency) {
  const wrk = onCpu(0, [
    'wrk',
    '-t1',
    `-c${CONNECTIONS}`,
    `-d${seconds}s`,
    ...(latency ? ['--latency'] : []),
    '-s',
    lua,
    url,
  ]);
  // `times` prints the CPU the shell's children (wrk) used: the generator's own cost.
  const out = execFileSync('bash', [
    '-c',
    `${wrk.map((a) => `'${a}'`).join(' ')}; times`,
  ]).toString();
  const pick = (re) => re.exec(out)?.[1];
  const times = /\n(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(out);
  return {
    rps: Number(pick(/Requests\/sec:\s+([\d.]+)/)),
    requests: Number(pick(/(\d+) requests in/)),
    p50: toMs(pick(/\s50%\s+(\S+)/) ?? ''),
    p99: toMs(pick(/\s99%\s+(\S+)/) ?? ''),
    failed:
      Number(pick(/Non-2xx or 3xx responses: (\d+)/) ?? 0) + (/Socket errors/.test(out) ? 1 : 0),
    clientCpuS: times
      ? Number(times[1]) * 60 + Number(times[2]) + Number(times[3]) * 60 + Number(times[4])
      : NaN,
    raw: out,
  };
}

function runAutocannon(url, file, seconds) {
  const out = execFileSync(
    'npx',
    [
      'autocannon',
      '-c',
      String(CONNECTIONS),
      '-d',
      String(seconds),
      '-m',
      'POST',
      '-H',
      'content-type=application/json',
      '-i',
      file,
      '--json',
      url,
    ],
    {
      cwd: ROOT,
      env: { ...process.env, NODE_TLS_REJECT_UNAUTHORIZED: '0' },
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  ).toString();
  const r = JSON.parse(out);
  return {
    rps: r.requests.average,
    requests: r.requests.total,
    p50: r.latency.p50,
    p99: r.latency.p99,
    failed: r.non2xx + r.errors,
    clientCpuS: NaN,
  };
}

/**
 * This VM is shared with other work (test runs of other sessions); a run overlapping a
 * burst of it measures the burst. Wait (at most 60 s) until the machine is idle: below
 * 0.25 busy cores over half a second, with our servers idle.
 */
async function waitQuiet() {
  const until = Date.now() + 60_000;
  for (;;) {
    const m0 = machineTicks();
    await new Promise((r) => setTimeout(r, 500));
    const m1 = machineTicks();
    const busy = ((m1.busy - m0.busy) / (m1.total - m0.total)) * availableParallelism();
    if (busy < 0.25) return true;
    if (Date.now() > until) return false;
  }
}

async function measure(generator, target, files) {
  const quiet = await waitQuiet();
  const load = (s, latency) =>
    generator === 'wrk'
      ? runWrk(target.url, files.lua, s, latency)
      : runAutocannon(target.url, files.review, s);
  load(WARMUP_S, false);
  const server0 = processTicks(target.child.pid);
  const machine0 = machineTicks();
  const t0 = performance.now();
  const result = load(DURATION_S, true);
  const elapsedS = (performance.now() - t0) / 1000;
  const serverS = (processTicks(target.child.pid) - server0) / CLK_TCK;
  const machine1 = machineTicks();
  const cores = (ticks) => (ticks / (machine1.total - machine0.total)) * availableParallelism();
  const machineBusyCores = cores(machine1.busy - machine0.busy);
  const serverCores = serverS / elapsedS;
  const clientCores = result.clientCpuS / elapsedS;
  return {
    ...result,
    quiet,
    serverCpuUsPerReq: (serverS * 1e6) / result.requests,
    serverCores,
    clientCores,
    foreignCores: Math.max(0, machineBusyCores - serverCores - (clientCores || 0)),
    stealCores: cores(machine1.steal - machine0.steal),
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const f = (n, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');

async function main() {
  for (const f of ['dist/bin/palisade.js', 'dist/policy-server/index.js', 'dist/engine/index.js']) {
    if (!existsSync(join(ROOT, f))) throw new Error(`${f} is missing: run \`npm run build\` first`);
  }
  const generator = loadGenerator();
  const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  const ca = readFileSync(cert);
  const body = JSON.stringify(deploymentReview(3));
  const files = {
    review: join(dir, 'review.json'),
    lua: join(dir, 'post.lua'),
    policies: join(dir, 'policies.yml'),
  };
  writeFileSync(files.review, body);
  writeFileSync(files.policies, POLICIES_YML);
  writeFileSync(
    files.lua,
    `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nlocal f = io.open("${files.review}", "rb")\nwrk.body = f:read("*a")\nf:close()\n`,
  );

  const [portA, portB] = [await freePort(), await freePort()];
  const targets = [
    {
      name: '(a) bare node:https',
      url: `https://127.0.0.1:${portA}/validate/replicas`,
      child: startServer(
        'bare node:https',
        onCpu(1, [process.execPath, join(HERE, 'bare-https.js'), String(portA), cert, key]),
      ),
    },
    {
      name: '(b) palisade serve',
      url: `https://127.0.0.1:${portB}/validate/replicas`,
      child: startServer(
        'palisade serve',
        onCpu(1, [
          process.execPath,
          join(ROOT, 'dist/bin/palisade.js'),
          'serve',
          '--policies',
          files.policies,
          '--port',
          String(portB),
          '--cert-file',
          cert,
          '--key-file',
          key,
          '--log-level',
          'warn',
        ]),
      ),
    },
  ];
  // Same palisade process, a policy that reads nothing: what the server itself costs.
  targets.push({
    ...targets[1],
    name: '(c) palisade serve, constant policy',
    url: `https://127.0.0.1:${portB}/validate/constant`,
  });
  // Interrupted (Ctrl-C, timeout): still stop the servers we started.
  const children = [...new Set(targets.map((t) => t.child))];
  const interrupted = () => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    for (const t of targets) {
      const review = await waitReady(t.url, ca, body);
      if (review.response?.allowed !== true)
        throw new Error(`${t.name} answered ${JSON.stringify(review)}`);
    }
    console.log(
      `machine: ${availableParallelism()} CPUs, ${cpus()[0]?.model ?? 'unknown'}; node ${process.version}; ` +
        `fixture ${Buffer.byteLength(body)} B Deployment review; ${generator} -t1 -c${CONNECTIONS}, TLS (ECDSA P-256), keep-alive; ` +
        `${pinned ? 'server on CPU1, generator on CPU0' : 'not pinned'}; ${REPS} × (${WARMUP_S} s warm-up + ${DURATION_S} s)`,
    );
    const runs = targets.map(() => []);
    for (let rep = 0; rep < REPS; rep++) {
      for (const [i, t] of targets.entries()) {
        const r = await measure(generator, t, files);
        runs[i].push(r);
        console.log(
          `  rep ${rep + 1} ${t.name}: ${f(r.rps)} req/s, p50 ${f(r.p50, 2)} ms, p99 ${f(r.p99, 2)} ms, ` +
            `server ${f(r.serverCpuUsPerReq, 1)} µs CPU/req (${f(r.serverCores, 2)} cores), ` +
            `generator ${f(r.clientCores, 2)} cores, other load ${f(r.foreignCores, 2)} cores (steal ${f(r.stealCores, 2)}), failed ${r.failed}${r.quiet ? '' : ', started while the machine was busy'}`,
        );
      }
    }
    const [evalCmd, ...evalArgs] = onCpu(1, [
      process.execPath,
      join(HERE, 'eval.js'),
      files.policies,
    ]);
    const evalRun = spawnSync(evalCmd, evalArgs, { cwd: ROOT });
    if (evalRun.status !== 0) throw new Error(`eval.js failed: ${evalRun.stderr}`);
    const evalResult = JSON.parse(evalRun.stdout.toString());

    console.log('\nmedian of the reps:');
    console.log('| server | req/s | p50 | p99 | server CPU µs/req |');
    console.log('|---|---|---|---|---|');
    const summary = runs.map((rs, i) => {
      const s = {
        rps: median(rs.map((r) => r.rps)),
        p50: median(rs.map((r) => r.p50)),
        p99: median(rs.map((r) => r.p99)),
        cpu: median(rs.map((r) => r.serverCpuUsPerReq)),
      };
      console.log(
        `| ${targets[i].name} | ${f(s.rps)} | ${f(s.p50, 2)} ms | ${f(s.p99, 2)} ms | ${f(s.cpu, 1)} |`,
      );
      return s;
    });
    for (const i of [1, 2]) {
      const pairwise = median(runs[i].map((r, rep) => r.rps / runs[0][rep].rps));
      console.log(
        `${i === 1 ? '\n' : ''}ratio ${'abc'[i]}/a (medians): ${f(summary[i].rps / summary[0].rps, 2)}; median of back-to-back pairs: ${f(pairwise, 2)}${i === 1 ? ' (target >= 0.70)' : ''}`,
      );
    }
    console.log(
      `replica CEL policy via EvaluationEnvironment.evaluate on a parsed request: ${f(evalResult.allowedUs, 2)} µs allowed, ` +
        `${f(evalResult.rejectedUs, 2)} µs rejected (message built), ${f(evalResult.allowedWithMetricsUs, 2)} µs allowed + metrics observer (target <= 10 µs); ` +
        `constant policy (engine without CEL data access) ${f(evalResult.constantUs, 2)} µs`,
    );
  } finally {
    await Promise.all(children.map(stopServer));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
