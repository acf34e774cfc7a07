import { createHash } from 'node:crypto';
import type { JsonValue } from '../shared/admission.js';
import { PalisadeError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { PolicyModule, PolicyVerdict, ValidationInput } from '../shared/policy.js';
import type { CapabilityGrant, HostCapabilities } from './capabilities/types.js';
import { checkImports, executionModeOf } from './modes.js';
import { prepareModule, type PreparedModule } from './prepare.js';
import { PAGE_BYTES, type ExecutionMode, type GuestSpec } from './sandbox/guest.js';
import { SandboxPool, type CallOutcome } from './sandbox/pool.js';
import { WARMUP_REQUEST } from './warmup.js';
import { settingsVerdict, verdictFromGuest } from './validation-response.js';

export interface WasmRuntimeOptions {
  readonly logger: Logger;
  readonly capabilities: HostCapabilities;
  /** Sandbox worker threads; default one per core. */
  readonly workers?: number;
  /** Linear-memory cap of every policy instance (default 256 MiB). */
  readonly maxMemoryBytes?: number;
  /** Count fuel in loops so a runaway guest stops in its thread, without losing the worker. */
  readonly fuel?: boolean;
  /** Folder for fuel-instrumented modules, so a restart does not instrument them again. */
  readonly cacheDir?: string;
  /** Dummy validations run at load so the first real request meets compiled code. */
  readonly warmupRuns?: number;
}

export interface WasmPolicySpec {
  readonly policyId: string;
  readonly bytes: Uint8Array;
  /** The module reference, for messages. */
  readonly where: string;
  readonly settings: JsonValue | undefined;
  readonly executionMode?: string;
  readonly grant: CapabilityGrant;
  readonly timeoutMs: number;
}

export const DEFAULT_MAX_MEMORY_BYTES = 256 * 1024 * 1024;

/**
 * Loads Kubewarden WebAssembly policies into the sandbox pool: check, cap and fuel the
 * module (once per digest), validate the settings through the policy itself, warm it up,
 * then serve evaluations from worker threads.
 */
export class WasmRuntime {
  readonly pool: SandboxPool;
  private readonly prepared = new Map<string, Promise<PreparedModule>>();
  private registrations = 0;

  constructor(private readonly options: WasmRuntimeOptions) {
    this.pool = new SandboxPool({
      logger: options.logger,
      capabilities: options.capabilities,
      ...(options.workers !== undefined ? { size: options.workers } : {}),
    });
  }

  get maxMemoryPages(): number {
    return Math.floor((this.options.maxMemoryBytes ?? DEFAULT_MAX_MEMORY_BYTES) / PAGE_BYTES);
  }

  /** Rejects with `module_invalid`, `settings_invalid` or `policy_load_failed`, naming the policy. */
  async load(spec: WasmPolicySpec): Promise<PolicyModule> {
    const digest = createHash('sha256').update(spec.bytes).digest('hex');
    const prepared = await this.prepare(digest, spec);
    const mode = executionModeOf(
      prepared.module,
      prepared.metadata?.executionMode,
      spec.executionMode,
      spec.where,
    );
    checkImports(prepared.module, mode, spec.where);
    const key = `${spec.policyId}#${String(++this.registrations)}`;
    const guest: GuestSpec = {
      mode,
      module: prepared.module,
      maxMemoryPages: this.maxMemoryPages,
      settings: spec.settings ?? {},
      fueled: prepared.fueled,
    };
    await this.pool.register(key, guest, spec.grant);
    try {
      await this.validateSettings(key, spec);
      await this.warmUp(key, spec, mode);
    } catch (e) {
      this.pool.unregister(key);
      throw e;
    }
    this.options.logger.debug(
      { policy: spec.policyId, mode, digest: `sha256:${digest}`, fueled: prepared.fueled },
      'WebAssembly policy loaded',
    );
    return new WasmPolicy(this.pool, key, spec, mode, prepared.metadata?.policyType === 'raw');
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private prepare(digest: string, spec: WasmPolicySpec): Promise<PreparedModule> {
    let prepared = this.prepared.get(digest);
    if (!prepared) {
      prepared = prepareModule(spec.bytes, {
        digest,
        where: spec.where,
        maxMemoryPages: this.maxMemoryPages,
        fuel: this.options.fuel ?? true,
        ...(this.options.cacheDir !== undefined ? { cacheDir: this.options.cacheDir } : {}),
      });
      this.prepared.set(digest, prepared);
      // A failure is not cached: the next load of the same bytes reports it afresh.
      prepared.catch(() => this.prepared.delete(digest));
    }
    return prepared;
  }

  private async validateSettings(key: string, spec: WasmPolicySpec): Promise<void> {
    const payload = JSON.stringify(spec.settings ?? {});
    const outcome = await this.pool.call(key, 'validate_settings', payload, {
      timeoutMs: spec.timeoutMs,
      hostCalls: false,
    });
    if (!outcome.ok) throw failure(spec.policyId, outcome, 'validating its settings');
    const answer = settingsVerdict(spec.policyId, outcome.output);
    if (!answer.valid) {
      throw new PalisadeError(
        'settings_invalid',
        `the policy rejected its settings: ${answer.message ?? 'no reason given'}`,
      );
    }
  }

  /**
   * V8 compiles WebAssembly lazily, function by function, so a policy's first evaluation
   * would pay for compiling everything it touches. A few dummy evaluations at load pay it
   * instead; their answers are thrown away and they cannot reach host capabilities.
   */
  private async warmUp(key: string, spec: WasmPolicySpec, mode: ExecutionMode): Promise<void> {
    const runs = this.options.warmupRuns ?? 3;
    if (mode === 'kubewarden-wapc') {
      await this.pool.call(key, 'protocol_version', '', {
        timeoutMs: spec.timeoutMs,
        hostCalls: false,
      });
    }
    const payload = JSON.stringify({ request: WARMUP_REQUEST, settings: spec.settings ?? {} });
    for (let i = 0; i < runs; i++) {
      const outcome = await this.pool.call(key, 'validate', payload, {
        timeoutMs: Math.min(spec.timeoutMs, 250),
        hostCalls: false,
      });
      // A policy that misbehaves on the dummy request is left for real requests to judge.
      if (!outcome.ok) break;
    }
  }
}

class WasmPolicy implements PolicyModule {
  readonly kind: string;
  /** The settings' JSON, serialised once: only the request changes between evaluations. */
  private readonly settingsJson: string;

  constructor(
    private readonly pool: SandboxPool,
    private readonly key: string,
    private readonly spec: WasmPolicySpec,
    mode: ExecutionMode,
    private readonly raw: boolean,
  ) {
    this.kind = `wasm/${mode}`;
    this.settingsJson = JSON.stringify(spec.settings ?? {});
  }

  async validate(input: ValidationInput): Promise<PolicyVerdict> {
    const request =
      input.raw !== undefined || this.raw ? (input.raw ?? input.request) : input.request;
    // Text, not bytes: the pool encodes it straight into the sandbox thread's shared memory.
    const payload = `{"request":${JSON.stringify(request)},"settings":${this.settingsJson}}`;
    const outcome = await this.pool.call(this.key, 'validate', payload, {
      timeoutMs: input.timeoutMs,
    });
    if (!outcome.ok) throw failure(this.spec.policyId, outcome, 'evaluating');
    return verdictFromGuest(this.spec.policyId, outcome.output);
  }

  close(): void {
    this.pool.unregister(this.key);
  }
}

function failure(
  policyId: string,
  outcome: Extract<CallOutcome, { ok: false }>,
  doing: string,
): PalisadeError {
  switch (outcome.reason) {
    case 'timeout':
      return new PalisadeError(
        'policy_timeout',
        `policy "${policyId}" was stopped while ${doing}: it exceeded its evaluation time (${outcome.message})`,
      );
    case 'memory':
      return new PalisadeError(
        'policy_memory_limit',
        `policy "${policyId}" failed while ${doing}: it reached its memory limit (${outcome.message})`,
      );
    case 'trap':
      return new PalisadeError(
        'policy_trap',
        `policy "${policyId}" trapped while ${doing}: ${outcome.message}`,
      );
    case 'guest':
      return new PalisadeError(
        'policy_evaluation_failed',
        `policy "${policyId}" failed while ${doing}: ${outcome.message}`,
      );
    case 'crash':
      return new PalisadeError(
        'internal_error',
        `policy "${policyId}" could not run while ${doing}: ${outcome.message}`,
      );
  }
}
