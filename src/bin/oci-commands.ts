import { Option, type Command } from 'commander';
import {
  digestCommand,
  policiesCommand,
  pullCommand,
  pushCommand,
  rmCommand,
} from '../cli/registry.js';
import { createOciSupport, ociOptions, type OciFlags } from './oci.js';
import { fail, logOptions, loggerFrom, type LogFlags } from './options.js';

type Flags = LogFlags & OciFlags;

async function print(output: Promise<string>): Promise<void> {
  process.stdout.write(await output.catch(fail));
}

/** Commands about the module store and registries: push, pull, policies, rm, digest. */
export function registerOciCommands(program: Command): void {
  ociOptions(
    logOptions(
      program
        .command('push')
        .description(
          'push a WebAssembly policy to a registry (kwctl push); prints its immutable reference',
        )
        .argument('<module>', 'annotated WebAssembly module')
        .argument('<reference>', 'registry://host/repository:tag')
        .option('-f, --force', 'push a module without metadata'),
    ),
    false,
  ).action(async (module: string, reference: string, opts: Flags & { force?: boolean }) => {
    const oci = await createOciSupport(opts, loggerFrom(opts)).catch(fail);
    const pushed = await pushCommand(oci.client, module, reference, opts.force === true).catch(
      fail,
    );
    process.stdout.write(`${pushed.immutableReference}\n`);
  });

  ociOptions(
    logOptions(
      program
        .command('pull')
        .description('pull a policy into the module store (kwctl pull)')
        .argument('<reference>', 'registry://host/repository:tag, @sha256:… or https:// URL'),
    ),
    true,
  ).action(async (reference: string, opts: Flags) => {
    const oci = await createOciSupport(opts, loggerFrom(opts)).catch(fail);
    await print(pullCommand(oci.fetcher, reference));
  });

  ociOptions(
    logOptions(
      program
        .command('policies')
        .description('list the module store: references, digests and sizes (kwctl policies)')
        .addOption(
          new Option('-o, --output <format>', 'output format')
            .choices(['text', 'json'])
            .default('text'),
        ),
    ),
    false,
  ).action(async (opts: Flags & { output: string }) => {
    const oci = await createOciSupport(opts, loggerFrom(opts)).catch(fail);
    await print(policiesCommand(oci.store, opts.output === 'json'));
  });

  ociOptions(
    logOptions(
      program
        .command('rm')
        .description('remove a policy from the module store (kwctl rm)')
        .argument('<reference>', 'the reference as pulled'),
    ),
    false,
  ).action(async (reference: string, opts: Flags) => {
    const oci = await createOciSupport(opts, loggerFrom(opts)).catch(fail);
    await print(rmCommand(oci.store, reference));
  });

  ociOptions(
    logOptions(
      program
        .command('digest')
        .description('print the manifest digest a reference resolves to (kwctl digest)')
        .argument('<reference>', 'registry://host/repository:tag'),
    ),
    false,
  ).action(async (reference: string, opts: Flags) => {
    const oci = await createOciSupport(opts, loggerFrom(opts)).catch(fail);
    await print(digestCommand(oci.client, reference));
  });
}
