/**
 * Model-specific registers (SDM Vol. 4): the TSC (0x10), SYSENTER_CS/ESP/EIP
 * (0x174-0x176), and the read-as-zero microcode signature / platform id
 * registers (0x8B, 0x17) that Linux probes on family-6 CPUs without a
 * _safe accessor. Every other MSR raises #GP(0), which Linux's rdmsr_safe
 * and wrmsr_safe expect on CPUs without that MSR.
 */
import type { CpuCore } from './state.ts';
import { MSR_BIOS_SIGN, MSR_PLATFORM_ID, MSR_SYSENTER_CS, MSR_SYSENTER_EIP, MSR_SYSENTER_ESP, MSR_TSC } from './constants.ts';
import { raiseGP } from './exceptions.ts';

const TWO32 = 4294967296;

/** The guest-visible TSC value (host ticks + offset), as a non-negative double. */
export function readTsc(c: CpuCore): number {
  const v = c.host.readTsc() + c.tscOffset;
  return v < 0 ? 0 : v;
}

/** RDMSR: EDX:EAX = MSR[ECX]. */
export function rdmsr(c: CpuCore): void {
  const r = c.regs;
  let lo = 0;
  let hi = 0;
  switch (r[1] >>> 0) {
    case MSR_TSC: {
      const t = readTsc(c);
      lo = t % TWO32;
      hi = Math.floor(t / TWO32);
      break;
    }
    case MSR_PLATFORM_ID: case MSR_BIOS_SIGN: break;
    case MSR_SYSENTER_CS: lo = c.sysenterCs; break;
    case MSR_SYSENTER_ESP: lo = c.sysenterEsp; break;
    case MSR_SYSENTER_EIP: lo = c.sysenterEip; break;
    default: raiseGP(c, 0);
  }
  r[0] = lo | 0;
  r[2] = hi | 0;
}

/** WRMSR: MSR[ECX] = EDX:EAX. */
export function wrmsr(c: CpuCore): void {
  const r = c.regs;
  const lo = r[0];
  const hi = r[2];
  switch (r[1] >>> 0) {
    case MSR_TSC:
      c.tscOffset = (hi >>> 0) * TWO32 + (lo >>> 0) - c.host.readTsc();
      break;
    case MSR_PLATFORM_ID: case MSR_BIOS_SIGN: break;
    case MSR_SYSENTER_CS: c.sysenterCs = lo & 0xffff; break;
    case MSR_SYSENTER_ESP: c.sysenterEsp = lo; break;
    case MSR_SYSENTER_EIP: c.sysenterEip = lo; break;
    default: raiseGP(c, 0);
  }
}
