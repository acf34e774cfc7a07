import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import {
  loadEnvironment,
  readPolicySources,
  type ModuleLoader,
} from '../../../src/engine/index.js';
import {
  createPolicyServer,
  createPolicyServerConfig,
  createPolicyServerMetrics,
  type PolicyServer,
  type PolicyServerConfigInput,
  type PolicyServerMetrics,
} from '../../../src/policy-server/index.js';
import { silentLogger } from '../../../src/shared/logger.js';

/** A real policy server over the policies in `policiesFile`, on a free port, not yet listening. */
export async function buildTestServer(
  policiesFile: string,
  input: PolicyServerConfigInput = {},
  modules?: ModuleLoader,
): Promise<{ server: PolicyServer; metrics: PolicyServerMetrics }> {
  const metrics = createPolicyServerMetrics();
  const environment = await loadEnvironment(await readPolicySources(policiesFile), {
    logger: silentLogger(),
    observer: metrics.observer,
    ...(modules ? { modules } : {}),
  });
  const server = createPolicyServer({
    environment,
    logger: silentLogger(),
    metrics,
    config: createPolicyServerConfig({ port: 0, ...input }),
  });
  return { server, metrics };
}

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** The whole response of a raw node:http(s) request. */
export function readReply(res: IncomingMessage): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('error', reject);
    res.on('end', () => {
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: Buffer.concat(chunks).toString(),
      });
    });
  });
}
