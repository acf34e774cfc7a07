import type { KubeConfig } from '@kubernetes/client-node';
import {
  loadEnvironment,
  readPolicySources,
  type LoadOptions,
  type ModuleLoader,
  type ReloadableEnvironment,
} from '../engine/index.js';
import type { Logger } from '../shared/logger.js';
import {
  createPolicyServer,
  createPolicyServerConfig,
  createPolicyServerMetrics,
  installShutdownHandlers,
  watchPoliciesConfigMap,
  type ConfigMapRef,
  type ListeningAddress,
  type PolicyServer,
  type PolicyServerConfig,
  type PolicyServerMetrics,
  type SignalSource,
} from '../policy-server/index.js';

/**
 * Where `serve` reads its policies: a file or folder read once at start, or a ConfigMap
 * followed while serving (the in-cluster mode: a policy change never restarts the pod).
 */
export type PoliciesSource =
  | { readonly kind: 'file'; readonly path: string }
  | {
      readonly kind: 'configMap';
      readonly configMap: ConfigMapRef;
      /** Needs get/list/watch on that ConfigMap (a Role with `resourceNames` is enough). */
      readonly kubeConfig: KubeConfig;
    };

export interface ServeOptions {
  readonly source: PoliciesSource;
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
 * a failed start), then serves them until SIGTERM/SIGINT, draining in-flight requests. From a
 * ConfigMap, the server listens only once a version of it has been applied, so readiness
 * means "policies loaded"; later versions are applied while serving.
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
  const metrics = createPolicyServerMetrics();
  const loadOptions: LoadOptions = {
    logger: logger.child({ component: 'engine' }),
    observer: metrics.observer,
    defaultTimeoutMs: options.policyTimeout * 1000,
    ...(options.modules ? { modules: options.modules } : {}),
  };
  const parts = { options, logger, proc, config, metrics };
  const started =
    options.source.kind === 'file'
      ? await serveFile(parts, options.source.path, loadOptions)
      : await serveConfigMap(parts, options.source, loadOptions);
  if (started === undefined) return;
  const { environment, address } = started;
  const url = `${address.protocol}://${address.address}:${address.port}`;
  logger.info(
    { url, policies: environment.policyIds().length, loadErrors: environment.loadErrors().size },
    'policy server ready',
  );
  if (options.banner) stdout.write(banner(url, environment.policyIds(), environment.loadErrors()));
}

interface ServeParts {
  readonly options: ServeOptions;
  readonly logger: Logger;
  readonly proc: SignalSource;
  readonly config: Readonly<PolicyServerConfig>;
  readonly metrics: PolicyServerMetrics;
}

interface Started {
  readonly environment: ReloadableEnvironment;
  readonly address: ListeningAddress;
}

async function serveFile(
  { options, logger, proc, config, metrics }: ServeParts,
  path: string,
  loadOptions: LoadOptions,
): Promise<Started> {
  const definitions = await readPolicySources(path);
  const environment = await loadEnvironment(definitions, loadOptions);
  const server = createPolicyServer({
    environment,
    logger: logger.child({ component: 'server' }),
    metrics,
    config,
    status: {
      loadStates: () => environment.loadStates(),
      source: () => ({ kind: 'file', name: path }),
    },
  });
  const address = await server.listen();
  installShutdownHandlers(server, logger, proc, {
    onClosed: () => {
      releaseSandbox(options, logger);
    },
  });
  return { environment, address };
}

/**
 * Signals are handled from the start: a pod stopped while it still waits for its ConfigMap
 * ends cleanly (resolving undefined) instead of hanging until SIGKILL.
 */
async function serveConfigMap(
  { options, logger, proc, config, metrics }: ServeParts,
  source: Extract<PoliciesSource, { kind: 'configMap' }>,
  loadOptions: LoadOptions,
): Promise<Started | undefined> {
  const environment = await loadEnvironment([], loadOptions);
  const policies = watchPoliciesConfigMap({
    configMap: source.configMap,
    kubeConfig: source.kubeConfig,
    logger: logger.child({ component: 'policies' }),
    apply: (definitions) => environment.apply(definitions),
  });
  const server: PolicyServer = createPolicyServer({
    environment,
    logger: logger.child({ component: 'server' }),
    metrics,
    config,
    status: { loadStates: () => environment.loadStates(), source: () => policies.status() },
  });
  const stopping = new AbortController();
  installShutdownHandlers(
    {
      close: (closeOptions) => {
        stopping.abort();
        return server.close(closeOptions);
      },
    },
    logger,
    proc,
    {
      onClosed: () => {
        policies
          .stop()
          .catch((e: unknown) => {
            logger.error({ err: e }, 'stopping the ConfigMap watch failed');
          })
          .finally(() => {
            releaseSandbox(options, logger);
          });
      },
    },
  );
  logger.info(
    { configMap: `${source.configMap.namespace}/${source.configMap.name}` },
    'reading policies from the ConfigMap',
  );
  if (!(await policies.firstApplied(stopping.signal))) return undefined;
  try {
    return { environment, address: await server.listen() };
  } catch (e: unknown) {
    if (stopping.signal.aborted) return undefined;
    await policies.stop();
    throw e;
  }
}

function releaseSandbox(options: ServeOptions, logger: Logger): void {
  options.release?.().catch((e: unknown) => {
    logger.error({ err: e }, 'releasing the sandbox failed');
  });
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
