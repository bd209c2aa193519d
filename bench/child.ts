/** Runs a bench script in a fresh Node process (tsx), showing its stderr live and keeping the tail for error messages. */
import { spawn } from 'node:child_process';

export function runScript(script: URL, args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script.pathname, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderrTail = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      process.stderr.write(s);
      stderrTail = (stderrTail + s).slice(-4000);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) { resolve(stdout); return; }
      const why = stderrTail.split('\n').map((l) => l.trim()).find((l) => /^(\w*Error|error):/.test(l)) ?? stderrTail.trim().split('\n').pop() ?? '';
      reject(new Error(`${script.pathname.split('/').slice(-2).join('/')} ${signal ? `was killed (${signal})` : `exited with ${code}`}: ${why}`));
    });
  });
}

export function lastJsonLine<T>(out: string): T {
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}
