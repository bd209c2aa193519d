/**
 * CPUID (SDM Vol. 2 CPUID): a Pentium II-class "GenuineIntel" family 6
 * model 3 stepping 3 (0x633: the first signature on which Linux trusts the
 * SEP bit). Leaf 1 EDX advertises exactly what this core implements:
 * FPU (when an x87 unit is attached), PSE, TSC, MSR, CX8, SEP, PGE, CMOV and
 * FXSR (x87 part of FXSAVE/FXRSTOR, only with an FPU). No APIC, PAE, MTRR,
 * MCE, MMX or SSE. Leaf 2 returns a plausible cache descriptor set.
 */
import type { CpuCore } from './state.ts';

const SIGNATURE = 0x0633;
const MAX_LEAF = 2;

const FEAT_FPU = 1 << 0;
const FEAT_PSE = 1 << 3;
const FEAT_TSC = 1 << 4;
const FEAT_MSR = 1 << 5;
const FEAT_CX8 = 1 << 8;
const FEAT_SEP = 1 << 11;
const FEAT_PGE = 1 << 13;
const FEAT_CMOV = 1 << 15;
const FEAT_FXSR = 1 << 24;

export function cpuidFeatures(hasFpu: boolean): number {
  let f = FEAT_PSE | FEAT_TSC | FEAT_MSR | FEAT_CX8 | FEAT_SEP | FEAT_PGE | FEAT_CMOV;
  if (hasFpu) f |= FEAT_FPU | FEAT_FXSR;
  return f;
}

export function cpuid(c: CpuCore): void {
  const r = c.regs;
  const leaf = r[0] >>> 0;
  switch (leaf) {
    case 0:
      r[0] = MAX_LEAF;
      r[3] = 0x756e6547; // "Genu"
      r[2] = 0x49656e69; // "ineI"
      r[1] = 0x6c65746e; // "ntel"
      break;
    case 1:
      r[0] = SIGNATURE; // EAX: family 6, model 3, stepping 3
      r[3] = 0; // EBX: no brand index / CLFLUSH / APIC id
      r[1] = 0; // ECX: no extended features
      r[2] = cpuidFeatures(c.fpu !== null); // EDX
      break;
    case 2:
      // One iteration; descriptors: 0x01 ITLB 4K, 0x02 ITLB 4M, 0x03 DTLB 4K, 0x43 512K L2,
      // 0x08 16K L1 I, 0x0C 16K L1 D.
      r[0] = 0x03020101;
      r[3] = 0;
      r[1] = 0;
      r[2] = 0x0c040843;
      break;
    default:
      // Above the maximum leaf Intel returns the data of the highest basic leaf.
      r[0] = 0x03020101;
      r[3] = 0;
      r[1] = 0;
      r[2] = 0x0c040843;
      break;
  }
}
