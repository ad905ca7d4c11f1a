/**
 * The logger interface regstack writes to, and the default one (one JSON line per event on stderr). Callers
 * pass structured fields, never secrets (R62): no password, raw token, OTP, JWT, Authorization header or
 * hash is ever handed to a logger. Attacker-controlled strings are JSON-encoded, so they cannot forge lines
 * (log injection, R63).
 */
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function serializeError(err: unknown): unknown {
  if (err instanceof Error) return { name: err.name, message: err.message, code: (err as { code?: unknown }).code };
  return err;
}

export function createJsonLogger(options: { level?: Level; write?: (line: string) => void } = {}): Logger {
  const min = ORDER[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const log =
    (level: Level) =>
    (message: string, fields: LogFields = {}) => {
      if (ORDER[level] < min) return;
      const out: LogFields = { time: new Date().toISOString(), level, msg: message };
      for (const [k, v] of Object.entries(fields)) out[k] = k === 'err' ? serializeError(v) : v;
      write(JSON.stringify(out));
    };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
