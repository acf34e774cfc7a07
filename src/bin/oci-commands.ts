import { Option, type Command } from 'commander';
import {
  digestCommand,
  policiesCommand,
  pullCommand,
  pushCommand,
  rmCommand,
} from '../cli/registry.js';
import { signCommand, verifyCommand } from '../cli/signing.js';
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

  ociOptions(
    logOptions(
      program
        .command('sign')
        .description(
          'sign a policy in a registry with a key, cosign-compatible (password of an encrypted cosign.key: COSIGN_PASSWORD)',
        )
        .argument('<reference>', 'registry://host/repository:tag or @sha256:…')
        .requiredOption(
          '-k, --key <file>',
          'ECDSA P-256 private key: cosign.key, PKCS#8 or SEC1 PEM',
        )
        .option('-a, --annotation <key=value>', 'annotation to sign with the payload', collect, []),
    ),
    false,
  ).action(async (reference: string, opts: Flags & { key: string; annotation: string[] }) => {
    const oci = await createOciSupport(opts, loggerFrom(opts)).catch(fail);
    await print(
      signCommand(oci.client, reference, {
        keyPath: opts.key,
        annotations: opts.annotation,
        ...(process.env.COSIGN_PASSWORD !== undefined
          ? { password: process.env.COSIGN_PASSWORD }
          : {}),
      }),
    );
  });

  ociOptions(
    logOptions(
      program
        .command('verify')
        .description('verify the cosign signatures of a policy in a registry (kwctl verify)')
        .argument('<reference>', 'registry://host/repository:tag or @sha256:…')
        .option(
          '-k, --key <file>',
          'public key (PEM) that must have signed; repeatable',
          collect,
          [],
        )
        .option('-a, --annotation <key=value>', 'annotation the signatures must carry', collect, [])
        .option('--verification-config-path <file>', 'verification.yml instead of --key'),
    ),
    false,
  ).action(
    async (
      reference: string,
      opts: Flags & { key: string[]; annotation: string[]; verificationConfigPath?: string },
    ) => {
      const oci = await createOciSupport(opts, loggerFrom(opts)).catch(fail);
      await print(
        verifyCommand(oci.client, reference, {
          keyPaths: opts.key,
          annotations: opts.annotation,
          ...(opts.verificationConfigPath !== undefined
            ? { configPath: opts.verificationConfigPath }
            : {}),
        }),
      );
    },
  );
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
