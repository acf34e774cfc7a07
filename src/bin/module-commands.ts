import type { Command } from 'commander';
import { Option } from 'commander';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { annotateModule } from '../cli/annotate.js';
import { benchCommand, formatBench } from '../cli/bench.js';
import { parseSettings } from '../cli/run.js';
import { formatInspection, inspectModule } from '../cli/inspect.js';
import { createGuest } from '../runtime/kubewarden-wapc/guest.js';
import { fail, logOptions, loggerFrom, positiveInteger, type LogFlags } from './options.js';
import { createWasmSupport, wasmOptions, type WasmFlags } from './wasm.js';

/** Commands about policy modules themselves: annotate, inspect, bench. */
export function registerModuleCommands(program: Command): void {
  program
    .command('annotate')
    .description("write a module's io.kubewarden.metadata from a metadata.yml (kwctl annotate)")
    .argument('<module>', 'WebAssembly module')
    .requiredOption('-m, --metadata-path <file>', 'metadata.yml')
    .option('-u, --usage-path <file>', 'README (Markdown) stored as the usage annotation')
    .requiredOption('-o, --output-path <file>', 'where to write the annotated module')
    .action(
      async (
        module: string,
        opts: { metadataPath: string; usagePath?: string; outputPath: string },
      ) => {
        await (async () => {
          const annotated = await annotateModule({
            wasm: await readFile(module),
            metadataYaml: await readFile(opts.metadataPath, 'utf8'),
            ...(opts.usagePath !== undefined
              ? { usageMarkdown: await readFile(opts.usagePath, 'utf8') }
              : {}),
            where: opts.metadataPath,
            toolVersion: PALISADE_VERSION,
            probeProtocolVersion: probeProtocolVersion,
          });
          await writeFile(opts.outputPath, annotated);
        })().catch(fail);
      },
    );

  program
    .command('inspect')
    .description("print a module's metadata, execution mode, imports, exports and size")
    .argument('<module>', 'WebAssembly module')
    .addOption(
      new Option('-o, --output <format>', 'output format')
        .choices(['text', 'json'])
        .default('text'),
    )
    .action(async (module: string, opts: { output: string }) => {
      const inspection = await readFile(module)
        .then((bytes) => inspectModule(bytes, module))
        .catch(fail);
      process.stdout.write(
        opts.output === 'json'
          ? `${JSON.stringify(inspection, null, 2)}\n`
          : formatInspection(inspection),
      );
    });

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
      const wasm = await createWasmSupport(opts, logger, { clusterByDefault: false }).catch(fail);
      const result = await benchCommand(
        {
          ...opts,
          ...(opts.settingsJson !== undefined
            ? { settings: parseSettings(opts.settingsJson) }
            : {}),
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

/** The package version, recorded by annotate as the tool that wrote the metadata. */
const PALISADE_VERSION = (
  createRequire(import.meta.url)('../../package.json') as { version: string }
).version;

/**
 * kwctl annotate asks a waPC module its protocol version by running it. Done here in this
 * thread, with no host capabilities: annotate runs on the author's own module.
 */
function probeProtocolVersion(bytes: Uint8Array): Promise<string> {
  const guest = createGuest({
    mode: 'kubewarden-wapc',
    module: new WebAssembly.Module(bytes),
    maxMemoryPages: 4096,
    settings: {},
    fueled: false,
  });
  const answer = guest.call('protocol_version', new Uint8Array(0), {
    call: () => ({ ok: false, error: 'no host capabilities while annotating' }),
    log: () => undefined,
  });
  return Promise.resolve(JSON.parse(new TextDecoder().decode(answer)) as string);
}
