import type { Command } from 'commander';
import { Option } from 'commander';
import { benchCommand, formatBench } from '../cli/bench.js';
import type { JsonValue } from '../shared/admission.js';
import { PalisadeError, errorMessage } from '../shared/errors.js';
import { fail, logOptions, loggerFrom, positiveInteger, type LogFlags } from './options.js';
import { createWasmSupport, wasmOptions, type WasmFlags } from './wasm.js';

/** Commands about policy modules themselves: bench (and annotate, inspect). */
export function registerModuleCommands(program: Command): void {
  wasmOptions(
    logOptions(
      program
        .command('bench')
        .description('measure the per-evaluation latency of a policy on a request (mean, p50, p99)')
        .requiredOption('-p, --policy <path>', 'policy manifest, policies.yml, folder or module')
        .option('--policy-id <id>', 'policy id or name, when the source holds several')
        .requiredOption('-r, --request <file>', 'AdmissionReview or AdmissionRequest JSON file')
        .option('--settings-json <json>', 'replace the policy settings with this JSON')
        .addOption(
          new Option(
            '--execution-mode <mode>',
            'execution mode of a module without metadata',
          ).choices(['kubewarden-wapc', 'wasi', 'opa', 'gatekeeper']),
        )
        .option('--iterations <n>', 'measured evaluations', positiveInteger, 2000)
        .option('--warmup <n>', 'evaluations before measuring', positiveInteger, 200),
    ),
    false,
  ).action(
    async (
      opts: LogFlags &
        WasmFlags & {
          policy: string;
          policyId?: string;
          request: string;
          settingsJson?: string;
          executionMode?: string;
          iterations: number;
          warmup: number;
        },
    ) => {
      const logger = loggerFrom(opts);
      const wasm = createWasmSupport(opts, logger, { clusterByDefault: false });
      const result = await benchCommand(
        {
          ...opts,
          ...(opts.settingsJson !== undefined ? { settings: json(opts.settingsJson) } : {}),
          modules: wasm.modules,
        },
        logger,
      )
        .finally(() => wasm.close())
        .catch(fail);
      process.stdout.write(formatBench(result));
    },
  );
}

function json(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch (e) {
    throw new PalisadeError(
      'config_invalid',
      `--settings-json is not valid JSON: ${errorMessage(e)}`,
    );
  }
}
