/**
 * Servers under test run in child processes, never on the runner's event loop: the runner drives load with
 * autocannon, and a server sharing its loop would be measured together with the load generator. This module
 * is both sides of the IPC channel: `startChild` (runner) forks a script and waits for its `ready` message;
 * `serveCommands` (child) answers the runner's requests.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildCommand, ChildReady, ChildReply, ChildRequest } from './protocol.ts';

/** Node flags every child runs with: TypeScript sources of the workspace packages, no experimental noise. */
const CHILD_EXEC_ARGV = ['--conditions=@regstack/source', '--disable-warning=ExperimentalWarning'];

type RequestBody<C extends ChildCommand> = Omit<Extract<ChildRequest, { cmd: C }>, 'id' | 'cmd'>;

export interface BenchChild<R extends ChildReady> {
  readonly ready: R;
  readonly pid: number;
  request<T>(cmd: ChildCommand, body?: RequestBody<ChildCommand>): Promise<T>;
  /** Asks the child to close its servers and exit; kills it if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartChildOptions {
  /** Script path relative to `src/`, e.g. `servers/regstack-server.ts`. */
  script: string;
  env?: Record<string, string>;
  /** Node flags on top of the common ones. @default [] */
  nodeFlags?: string[];
  /** Time allowed until `ready`. @default 120_000 */
  timeoutMs?: number;
}

export async function startChild<R extends ChildReady>(options: StartChildOptions): Promise<BenchChild<R>> {
  const scriptPath = fileURLToPath(new URL(`../${options.script}`, import.meta.url));
  const child: ChildProcess = fork(scriptPath, [], {
    execArgv: [...CHILD_EXEC_ARGV, ...(options.nodeFlags ?? [])],
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  let nextId = 1;
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      for (const p of pending.values()) p.reject(new Error(`${options.script} exited (${code ?? signal})`));
      pending.clear();
      resolve();
    });
  });

  const ready = await new Promise<R>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${options.script} did not become ready in time`));
    }, options.timeoutMs ?? 120_000);
    child.on('message', (message: ChildReady | ChildReply) => {
      if (message.type === 'ready') {
        clearTimeout(timer);
        resolve(message as R);
        return;
      }
      const waiter = pending.get(message.id);
      if (!waiter) return;
      pending.delete(message.id);
      if (message.ok) waiter.resolve(message.result);
      else waiter.reject(new Error(`${options.script}: ${message.error ?? 'request failed'}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${options.script} exited before it was ready (${code ?? signal})`));
    });
  });

  return {
    ready,
    pid: child.pid ?? -1,
    request<T>(cmd: ChildCommand, body: object = {}): Promise<T> {
      if (exited) return Promise.reject(new Error(`${options.script} is not running`));
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        child.send({ ...body, id, cmd });
      });
    },
    async stop(graceMs = 15_000) {
      if (exited) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        child.send({ id: nextId++, cmd: 'shutdown' });
      } catch {
        child.kill('SIGKILL');
      }
      await exitedPromise;
      clearTimeout(timer);
    },
  };
}

/** What a child does for each command it supports; `shutdown` must end the process. */
export type CommandHandlers = Partial<{ [C in ChildCommand]: (request: Extract<ChildRequest, { cmd: C }>) => unknown }>;

/** Child side: answers requests from the runner until `shutdown`. */
export function serveCommands(handlers: CommandHandlers): void {
  process.on('message', async (request: ChildRequest) => {
    const handler = handlers[request.cmd] as ((r: ChildRequest) => unknown) | undefined;
    let reply: ChildReply;
    try {
      if (!handler) throw new Error(`unsupported command ${request.cmd}`);
      reply = { type: 'reply', id: request.id, ok: true, result: await handler(request) };
    } catch (err) {
      reply = { type: 'reply', id: request.id, ok: false, error: err instanceof Error ? err.message : String(err) };
    }
    if (process.connected) process.send?.(reply);
  });
  // The runner going away (Ctrl-C, crash) must not leave servers behind.
  process.on('disconnect', () => process.exit(0));
}

/** Child side: the one `ready` message. */
export function announceReady(ready: ChildReady): void {
  process.send?.(ready);
}
