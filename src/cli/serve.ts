import { loadEnvironment, readPolicySources, type ModuleLoader } from '../engine/index.js';
import type { Logger } from '../shared/logger.js';
import {
  createPolicyServer,
  createPolicyServerConfig,
  createPolicyServerMetrics,
  installShutdownHandlers,
  type SignalSource,
} from '../policy-server/index.js';

export interface ServeOptions {
  readonly policies: string;
  readonly addr: string;
  readonly port: number;
  readonly certFile?: string;
  readonly keyFile?: string;
  /** Default per-policy evaluation budget, seconds (Kubewarden's `--policy-timeout`). */
  readonly policyTimeout: number;
  /** Print the curl walkthrough (the embedded default of `npm start`). */
  readonly banner: boolean;
  /** Loads WebAssembly modules (the sandbox runtime). */
  readonly modules?: ModuleLoader;
  /** Releases what outlives the server (sandbox threads) once it has drained. */
  readonly release?: () => Promise<void>;
}

/**
 * `palisade serve`: loads the policies (a bad one becomes a 500 answer for that policy, never
 * a failed start), then serves them until SIGTERM/SIGINT, draining in-flight requests.
 */
export async function serveCommand(
  options: ServeOptions,
  logger: Logger,
  proc: SignalSource,
  stdout: NodeJS.WritableStream,
): Promise<void> {
  const config = createPolicyServerConfig({
    addr: options.addr,
    port: options.port,
    ...(options.certFile !== undefined && options.keyFile !== undefined
      ? { tls: { certFile: options.certFile, keyFile: options.keyFile } }
      : {}),
  });
  const definitions = await readPolicySources(options.policies);
  const metrics = createPolicyServerMetrics();
  const environment = await loadEnvironment(definitions, {
    logger: logger.child({ component: 'engine' }),
    observer: metrics.observer,
    defaultTimeoutMs: options.policyTimeout * 1000,
    ...(options.modules ? { modules: options.modules } : {}),
  });
  const server = createPolicyServer({
    environment,
    logger: logger.child({ component: 'server' }),
    metrics,
    config,
  });
  const address = await server.listen();
  installShutdownHandlers(server, logger, proc, {
    onClosed: () => {
      options.release?.().catch((e: unknown) => {
        logger.error({ err: e }, 'releasing the sandbox failed');
      });
    },
  });
  const url = `${address.protocol}://${address.address}:${address.port}`;
  logger.info(
    { url, policies: environment.policyIds().length, loadErrors: environment.loadErrors().size },
    'policy server ready',
  );
  if (options.banner) stdout.write(banner(url, environment.policyIds(), environment.loadErrors()));
}

function banner(
  url: string,
  ids: readonly string[],
  loadErrors: ReadonlyMap<string, string>,
): string {
  const lines = [`Palisade policy server on ${url} with ${ids.length} policies:`];
  for (const id of ids)
    lines.push(
      `  ${url}/validate/${id}${loadErrors.has(id) ? '   (failed to load: answers 500)' : ''}`,
    );
  const example = ids.includes('clusterwide-replica-limit')
    ? 'clusterwide-replica-limit'
    : (ids[0] ?? 'POLICY_ID');
  lines.push(
    '',
    'Try it:',
    `  curl -s -X POST -H 'Content-Type: application/json' \\`,
    `    --data @policies/replica-limit/test/requests/deployment-6-replicas.json \\`,
    `    ${url}/validate/${example}`,
    `  curl -s ${url}/metrics | grep palisade_`,
    'Stop with Ctrl-C (in-flight requests are drained).',
    '',
  );
  return lines.join('\n');
}
