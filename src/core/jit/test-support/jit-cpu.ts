/** A CPU with the JIT forced on for all code (threshold 0), on a host whose buffer is a WebAssembly.Memory with spare frames. */
import { Cpu } from '../../cpu/cpu.ts';
import type { CpuHost } from '../../cpu/host.ts';
import type { FpuHost, FpuUnit } from '../../cpu/fpu/fpu-host.ts';
import { Jit, JIT_FRAMES } from '../jit.ts';

export interface JitCapableHost extends CpuHost {
  readonly memory: WebAssembly.Memory;
  readonly spareFrames: number[];
}

export function jitCpu(host: CpuHost, fpu?: (h: FpuHost) => FpuUnit): Cpu {
  const h = host as JitCapableHost;
  if (!(h.memory instanceof WebAssembly.Memory) || h.spareFrames.length < JIT_FRAMES) throw new Error('jitCpu: the host needs a WebAssembly.Memory and spare frames');
  const cpu = fpu ? new Cpu(host, fpu) : new Cpu(host);
  const shared = typeof SharedArrayBuffer !== 'undefined' && h.memory.buffer instanceof SharedArrayBuffer;
  cpu.enableJit((core) => new Jit(core, h.memory, h.spareFrames.slice(0, JIT_FRAMES), shared, { threshold: 0 }));
  return cpu;
}
