import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEnvironment, type ModuleLoader } from '../engine/index.js';
import { PolicyController } from '../operator/controller.js';
import { serialScheduler } from '../operator/scheduler.js';
import { createCertificateAuthority, issueServingCertificate } from '../operator/pki.js';
import type { PolicyResource } from '../operator/webhooks.js';
import {
  createPolicyServer,
  createPolicyServerConfig,
  createPolicyServerMetrics,
  installShutdownHandlers,
  type SignalSource,
} from '../policy-server/index.js';
import { errorMessage } from '../shared/errors.js';
import type { KubeHttp } from '../shared/kube-http.js';
import type { Logger } from '../shared/logger.js';

/** The policy resources of the cluster, kept current; calls `onChange` after every change. */
export interface PolicyWatch {
  list(): readonly PolicyResource[];
  stop(): Promise<void>;
}

export type StartPolicyWatch = (onChange: () => void) => Promise<PolicyWatch>;

export interface DevOptions {
  readonly api: KubeHttp;
  readonly watchPolicies: StartPolicyWatch;
  /** Namespace cluster-wide policies leave alone, as they would leave Palisade's own. */
  readonly namespace: string;
  readonly port: number;
  readonly policyTimeout: number;
  /** Full reconcile this often even without events: repairs drift (deleted webhooks). */
  readonly resyncMs: number;
  readonly modules?: ModuleLoader;
  readonly release?: () => Promise<void>;
}

/**
 * `palisade dev`: the controller and a policy server on this machine against the current
 * kubeconfig. Webhooks are registered by URL (`https://127.0.0.1:PORT/validate/<id>`) with a
 * CA made for this run, so the API server calls this process; on exit they are removed, so a
 * stopped dev session never leaves the cluster calling a server that is gone.
 */
export async function devCommand(
  options: DevOptions,
  logger: Logger,
  proc: SignalSource,
): Promise<{ url: string }> {
  const now = new Date();
  const ca = await createCertificateAuthority({
    commonName: 'palisade-dev-ca',
    validityDays: 7,
    now,
  });
  const serving = await issueServingCertificate(ca, {
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    validityDays: 7,
    now,
  });
  const dir = await mkdtemp(join(tmpdir(), 'palisade-dev-'));
  await writeFile(join(dir, 'tls.crt'), serving.certPem);
  await writeFile(join(dir, 'tls.key'), serving.keyPem, { mode: 0o600 });

  const metrics = createPolicyServerMetrics();
  const environment = await loadEnvironment([], {
    logger: logger.child({ component: 'engine' }),
    observer: metrics.observer,
    defaultTimeoutMs: options.policyTimeout * 1000,
    ...(options.modules ? { modules: options.modules } : {}),
  });
  const server = createPolicyServer({
    environment,
    logger: logger.child({ component: 'server' }),
    metrics,
    config: createPolicyServerConfig({
      addr: '127.0.0.1',
      port: options.port,
      tls: { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') },
    }),
  });
  const address = await server.listen();
  const url = `https://127.0.0.1:${address.port}`;

  const controller = new PolicyController({
    api: options.api,
    logger: logger.child({ component: 'operator' }),
    webhooks: {
      operatorNamespace: options.namespace,
      target: { kind: 'url', baseUrl: url },
      caBundle: ca.certPem,
    },
    // One policy server here serves every policy, whatever its spec.policyServer says.
    sinkFor: () => environment,
  });
  const cache: { watch?: PolicyWatch } = {};
  const schedule = serialScheduler(
    () => controller.reconcile(cache.watch?.list() ?? []),
    logger.child({ component: 'operator' }),
  );
  const watch = await options.watchPolicies(schedule);
  cache.watch = watch;
  schedule();
  const resync = setInterval(schedule, options.resyncMs);

  installShutdownHandlers(
    {
      async close(closeOptions) {
        clearInterval(resync);
        await watch.stop();
        // Webhooks first: the API server must stop calling before the server stops answering.
        await controller.removeWebhooks().catch((e: unknown) => {
          logger.error({ error: errorMessage(e) }, 'could not remove the webhooks');
        });
        logger.info('palisade dev: webhooks removed, closing the policy server');
        await server.close(closeOptions);
      },
    },
    logger,
    proc,
    {
      onClosed: () => {
        void rm(dir, { recursive: true, force: true });
        options.api.close();
        options.release?.().catch((e: unknown) => {
          logger.error({ err: e }, 'releasing the sandbox failed');
        });
      },
    },
  );
  logger.info(
    { url, namespace: options.namespace },
    'palisade dev: controller and policy server ready',
  );
  return { url };
}
