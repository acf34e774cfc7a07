import { pino, type Logger as PinoLogger } from 'pino';

/** The logger every part receives from its composition root; never a module-level global. */
export type Logger = PinoLogger;

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
export type LogFormat = 'json' | 'text';

export interface LoggerOptions {
  readonly level: LogLevel;
  readonly format: LogFormat;
  /** Where lines go; defaults to stderr so stdout stays clean for CLI output. */
  readonly destination?: NodeJS.WritableStream;
}

/**
 * Builds the root logger. `text` is a compact one-line format for humans (no pino-pretty
 * dependency at run time); `json` is pino's native format for log collectors.
 */
export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? process.stderr;
  if (options.format === 'json') {
    return pino({ level: options.level, base: null }, destination);
  }
  return pino(
    { level: options.level, base: null, timestamp: false },
    {
      write(line: string): void {
        destination.write(formatTextLine(line));
      },
    },
  );
}

/** A logger that drops everything; for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

function formatTextLine(line: string): string {
  const record = JSON.parse(line) as Record<string, unknown>;
  const { level, msg, ...rest } = record;
  const name = typeof level === 'number' ? (LEVEL_NAMES[level] ?? String(level)) : 'INFO';
  const fields = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const text = typeof msg === 'string' ? msg : '';
  return `${name.padEnd(5)} ${text}${fields ? ` ${fields}` : ''}\n`;
}
