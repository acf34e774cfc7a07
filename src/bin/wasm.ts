import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { Option, type Command } from 'commander';
import type { ModuleLoader } from '../engine/index.js';
import {
  createHostCapabilities,
  recordingHostCapabilities,
  replayingHostCapabilities,
} from '../runtime/capabilities/index.js';
import { createKubernetesPort } from '../runtime/capabilities/kubernetes-client.js';
import type { HostCapabilities, KubernetesPort } from '../runtime/capabilities/types.js';
import { createModuleLoader } from '../runtime/loader.js';
import { WasmRuntime } from '../runtime/runtime.js';
import { PalisadeError, errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { cacheRoot, createOciSupport, ociOptions, type OciFlags } from './oci.js';
import { positiveInteger } from './options.js';

export interface WasmFlags extends OciFlags {
  readonly wasmWorkers?: number;
  /** MiB of linear memory per policy instance. */
  readonly policyMemoryLimit?: number;
  readonly fuel?: boolean;
  /** Reach the cluster (kubeconfig or in-cluster) for context-aware policies. */
  readonly allowContextAware?: boolean;
  readonly recordHostCapabilities?: string;
  readonly replayHostCapabilities?: string;
}

/** The sandbox flags every command that loads policies shares. */
export function wasmOptions(command: Command, session: boolean): Command {
  command
    .option(
      '--wasm-workers <n>',
      'sandbox threads for WebAssembly policies (default: one per core)',
      positiveInteger,
    )
    .option(
      '--policy-memory-limit <MiB>',
      'linear-memory cap of each WebAssembly policy instance',
      positiveInteger,
      256,
    )
    .addOption(
      new Option('--no-fuel', 'stop runaway policies only by the wall clock (no fuel counting)'),
    );
  if (session) {
    command
      .option('--allow-context-aware', 'let context-aware policies read the cluster (kubeconfig)')
      .option('--record-host-capabilities <file>', 'record host-capability calls to a session file')
      .option(
        '--replay-host-capabilities <file>',
        'answer host-capability calls from a session file',
      );
  }
  return ociOptions(command, true);
}

export interface WasmSupport {
  readonly modules: ModuleLoader;
  /** Saves a recorded session, stops the sandbox threads. */
  close(): Promise<void>;
}

/**
 * Wires the WebAssembly runtime for a command. Registry configuration (sources.yml, Docker
 * credentials, verification.yml) is read and validated here, before anything is served;
 * the runtime itself starts with the first WebAssembly module, so CEL-only servers and tests
 * spawn no sandbox threads.
 */
export async function createWasmSupport(
  flags: WasmFlags,
  logger: Logger,
  options: { readonly clusterByDefault: boolean },
): Promise<WasmSupport> {
  const oci = await createOciSupport(flags, logger);
  let runtime: WasmRuntime | undefined;
  let kubernetes: (KubernetesPort & { close(): void }) | undefined;
  let save: (() => Promise<void>) | undefined;
  const start = async (): Promise<WasmRuntime> => {
    if (runtime) return runtime;
    const log = logger.child({ component: 'runtime' });
    if (flags.allowContextAware === true || options.clusterByDefault) {
      kubernetes = clusterPort(log, flags.allowContextAware === true);
    }
    let capabilities: HostCapabilities;
    if (flags.replayHostCapabilities !== undefined) {
      const file = flags.replayHostCapabilities;
      const yaml = await readFile(file, 'utf8').catch((e: unknown) => {
        throw new PalisadeError(
          'file_unreadable',
          `cannot read session ${file}: ${errorMessage(e)}`,
        );
      });
      capabilities = replayingHostCapabilities(yaml, { logger: log }).capabilities;
    } else if (flags.recordHostCapabilities !== undefined) {
      const recorder = recordingHostCapabilities({
        logger: log,
        oci: { sources: oci.sources, credentials: oci.credentials },
        ...(kubernetes ? { kubernetes } : {}),
      });
      const file = flags.recordHostCapabilities;
      save = () => recorder.save(file);
      capabilities = recorder.capabilities;
    } else {
      capabilities = createHostCapabilities({
        logger: log,
        oci: { sources: oci.sources, credentials: oci.credentials },
        ...(kubernetes ? { kubernetes } : {}),
      });
    }
    runtime ??= new WasmRuntime({
      logger: log,
      capabilities,
      cacheDir: join(cacheRoot(), 'modules'),
      maxMemoryBytes: (flags.policyMemoryLimit ?? 256) * 1024 * 1024,
      fuel: flags.fuel !== false,
      ...(flags.wasmWorkers !== undefined ? { workers: flags.wasmWorkers } : {}),
    });
    return runtime;
  };
  let loader: ModuleLoader | undefined;
  return {
    modules: async (request) => {
      loader ??= createModuleLoader(await start(), oci.fetcher);
      return loader(request);
    },
    async close() {
      await save?.();
      kubernetes?.close();
      await runtime?.close();
    },
  };
}

/**
 * The cluster for host capabilities: kubeconfig (KUBECONFIG, ~/.kube/config) or the pod's
 * service account. Asked for explicitly, a missing cluster is an error; otherwise policies
 * simply get an error answer when they ask.
 */
function clusterPort(
  logger: Logger,
  required: boolean,
): (KubernetesPort & { close(): void }) | undefined {
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromDefault();
    if (!kubeConfig.getCurrentCluster()) throw new Error('no cluster in the kubeconfig');
  } catch (e) {
    if (required) {
      throw new PalisadeError(
        'config_invalid',
        `--allow-context-aware: no usable kubeconfig: ${errorMessage(e)}`,
      );
    }
    logger.info('no kubeconfig: Kubernetes host capabilities will answer errors');
    return undefined;
  }
  return createKubernetesPort({ kubeConfig });
}
