// Starts and stops a real palaver process for the tests.
import { spawn } from 'node:child_process';
import net from 'node:net';

const READY = /palaver serving on http:\/\/([^\s]+):(\d+) \(data in (.*)\)/;

// Every palaver this process started and that has not exited. Whatever ends
// the tests (a failed step, an uncaught error, Ctrl-C, run.sh's trap sending
// SIGTERM), none of them outlives this process.
const running = new Set();
process.once('exit', () => {
  for (const proc of running) proc.kill('SIGKILL');
});
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) {
  process.once(signal, () => process.exit(code));
}

/**
 * Starts `bin` and resolves once it prints its "serving on" line.
 * port 0 lets the server pick a free port; the port it bound is returned.
 */
export function startServer({ bin, dataDir, port = 0, bind = '127.0.0.1', env = {}, log = () => {} }) {
  return new Promise((resolve, reject) => {
    const args = ['--bind', bind, '--port', String(port), '--data-dir', dataDir];
    const proc = spawn(bin, args, {
      // Every scenario's users register from 127.0.0.1: the per-address registration budget is off.
      env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'palaver=info,warn', PALAVER_REGISTRATIONS_PER_ADDRESS: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(proc);
    proc.once('exit', () => running.delete(proc));
    let settled = false;
    let stdout = '';
    const timer = setTimeout(() => fail(new Error(`palaver did not start within 20 s:\n${stdout}`)), 20_000);
    function fail(err) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      proc.kill('SIGKILL');
      reject(err);
    }
    proc.stdout.setEncoding('utf8');
    proc.stderr.setEncoding('utf8');
    proc.stdout.on('data', (chunk) => {
      stdout += chunk;
      log(chunk);
      const m = stdout.match(READY);
      if (m && !settled) {
        settled = true;
        clearTimeout(timer);
        const host = m[1];
        const bound = Number(m[2]);
        const server = {
          proc,
          host,
          port: bound,
          dataDir,
          url: `http://${host}:${bound}`,
          wsUrl: `ws://${host}:${bound}`,
          exited: new Promise((res) => proc.once('exit', (code, signal) => res({ code, signal }))),
          stop: (signal = 'SIGTERM') => stopServer(server, signal),
        };
        resolve(server);
      }
    });
    proc.stderr.on('data', (chunk) => {
      stdout += chunk;
      log(chunk);
    });
    proc.once('error', fail);
    proc.once('exit', (code, signal) => fail(new Error(`palaver exited early (${code ?? signal}):\n${stdout}`)));
  });
}

/** SIGTERM, then wait for a clean exit (SIGKILL after 15 s). */
export async function stopServer(server, signal = 'SIGTERM') {
  if (server.proc.exitCode !== null || server.proc.signalCode !== null) return server.exited;
  server.proc.kill(signal);
  const killer = setTimeout(() => server.proc.kill('SIGKILL'), 15_000);
  const result = await server.exited;
  clearTimeout(killer);
  return result;
}

/** True when nothing listens on host:port (we could bind it ourselves). */
export function portIsFree(port, host) {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/** True when something accepts TCP connections on host:port. */
export function somethingListens(port, host) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.setTimeout(1000);
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('timeout', () => { socket.destroy(); resolve(false); });
    socket.once('error', () => resolve(false));
  });
}
