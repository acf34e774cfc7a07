import { InvalidArgumentError, Option, type Command } from 'commander';
import type { SignalSource } from '../policy-server/index.js';
import { isPalisadeError, errorMessage } from '../shared/errors.js';
import { createLogger, type LogFormat, type LogLevel, type Logger } from '../shared/logger.js';

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;

export interface LogFlags {
  readonly logLevel: string;
  readonly logFmt: string;
}

/** `defaultLevel` differs per command: `test` reports failures in its own lines, so its logs stay quiet. */
export function logOptions(command: Command, defaultLevel = 'warn'): Command {
  return command
    .addOption(
      new Option('--log-level <level>', 'log level')
        .choices([...LOG_LEVELS, 'fatal'])
        .default(process.env.PALISADE_LOG_LEVEL ?? defaultLevel),
    )
    .addOption(
      new Option('--log-fmt <format>', 'log format').choices(['text', 'json']).default('text'),
    );
}

export function loggerFrom(opts: LogFlags): Logger {
  return createLogger({ level: opts.logLevel as LogLevel, format: opts.logFmt as LogFormat });
}

export function fail(e: unknown): never {
  const code = isPalisadeError(e) ? `[${e.code}] ` : '';
  process.stderr.write(`palisade: ${code}${errorMessage(e)}\n`);
  process.exit(2);
}

export function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

export function portNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
}

/** The part of `process` the server's shutdown handlers need. */
export function signalSource(): SignalSource {
  return {
    on: (event, listener) => process.on(event, listener),
    off: (event, listener) => process.off(event, listener),
    get exitCode() {
      return process.exitCode ?? undefined;
    },
    set exitCode(code) {
      process.exitCode = code;
    },
  };
}
