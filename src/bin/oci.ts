import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { parseDockerConfig, type CredentialLookup } from '../oci/auth.js';
import { RegistryClient } from '../oci/client.js';
import { ModuleFetcher, type ModuleVerifier } from '../oci/fetcher.js';
import { createVerifier } from '../oci/signing.js';
import { NO_SOURCES, parseSources, type RegistrySources } from '../oci/sources.js';
import { ModuleStore } from '../oci/store.js';
import { PalisadeError, errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';

export interface OciFlags {
  readonly sourcesPath?: string;
  readonly dockerConfigJsonPath?: string;
  readonly policiesDownloadDir?: string;
  readonly verificationPath?: string;
}

/** Where Palisade keeps what it can rebuild: modules, fuel-instrumented modules, the store. */
export function cacheRoot(): string {
  return (
    process.env.PALISADE_CACHE_DIR ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'palisade')
  );
}

/** Kubewarden's policy-server flags for reaching registries, with the same names. */
export function ociOptions(command: Command, verification: boolean): Command {
  command
    .option('--sources-path <file>', 'sources.yml: insecure_sources and source_authorities')
    .option(
      '--docker-config-json-path <file>',
      'Docker config.json with registry credentials (default: $DOCKER_CONFIG/config.json, ~/.docker/config.json)',
    )
    .option(
      '--policies-download-dir <dir>',
      'module store shared by the CLI and the policy server',
      join(cacheRoot(), 'store'),
    );
  if (verification) {
    command.option(
      '--verification-path <file>',
      'verification.yml: signatures a module must carry before it is loaded',
    );
  }
  return command;
}

async function readOptional(path: string, required: boolean): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if (!required && (e as { code?: string }).code === 'ENOENT') return undefined;
    throw new PalisadeError('file_unreadable', `cannot read ${path}: ${errorMessage(e)}`);
  }
}

/**
 * Credentials from the Docker config. One named with --docker-config-json-path must parse; the
 * implicit ~/.docker/config.json belongs to other tools, so a broken one only earns a warning
 * (a CEL-only `palisade test` must not fail over it).
 */
function dockerCredentials(
  text: string | undefined,
  path: string,
  flags: OciFlags,
  logger: Logger,
): CredentialLookup {
  if (text === undefined) return () => undefined;
  try {
    return parseDockerConfig(text, path);
  } catch (e) {
    if (flags.dockerConfigJsonPath !== undefined) throw e;
    logger.warn(
      { error: errorMessage(e) },
      'ignoring the Docker config: registries are reached anonymously',
    );
    return () => undefined;
  }
}

export interface OciSupport {
  readonly client: RegistryClient;
  readonly store: ModuleStore;
  readonly fetcher: ModuleFetcher;
  readonly sources: RegistrySources;
  readonly credentials: CredentialLookup;
}

/** Reads sources.yml, the Docker config and the verification config once, then wires the fetcher. */
export async function createOciSupport(flags: OciFlags, logger: Logger): Promise<OciSupport> {
  const sources =
    flags.sourcesPath === undefined
      ? NO_SOURCES
      : await parseSources((await readOptional(flags.sourcesPath, true)) ?? '', flags.sourcesPath);
  const dockerConfig =
    flags.dockerConfigJsonPath ??
    join(process.env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');
  const dockerText = await readOptional(dockerConfig, flags.dockerConfigJsonPath !== undefined);
  const credentials = dockerCredentials(dockerText, dockerConfig, flags, logger);
  const client = new RegistryClient({ sources, credentials, now: Date.now });
  const store = new ModuleStore(flags.policiesDownloadDir ?? join(cacheRoot(), 'store'));
  const verifier: ModuleVerifier | undefined =
    flags.verificationPath === undefined
      ? undefined
      : createVerifier(
          client,
          (await readOptional(flags.verificationPath, true)) ?? '',
          flags.verificationPath,
        );
  const fetcher = new ModuleFetcher({
    client,
    store,
    logger: logger.child({ component: 'oci' }),
    ...(verifier !== undefined ? { verifier } : {}),
  });
  return { client, store, fetcher, sources, credentials };
}
