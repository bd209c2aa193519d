/**
 * Which ESC (D8..DF) encodings exist on a Pentium Pro. The CPU calls
 * `isValidX87` before `FpuUnit.execute` and raises #UD when it returns false.
 *
 * Reserved on P6 (no SSE3): the FISTTP encodings DB /1, DD /1, DF /1 and the
 * other unused memory forms D9 /1, DB /4, DB /6, DD /5; the register forms
 * D9 D1..D7, D9 E2/E3/E6/E7/EF, DA E0..FF except E9 (FUCOMPP), DB E5..E7 and
 * F8..FF, DD F0..FF, DE D8..DF except D9 (FCOMPP), DF E1..E7 and F8..FF.
 * The undocumented aliases that execute on P6-family processors are accepted:
 * D9 D8+i (FSTP1), DC D0+i / D8+i (FCOM2/FCOMP3), DD C8+i and DF C8+i (FXCH4/7),
 * DE D0+i (FCOMP5), DF D0+i / D8+i (FSTP8/9), DF C0+i (FFREEP), and the 287
 * legacy no-ops DB E0 (FENI), DB E1 (FDISI), DB E4 (FSETPM).
 */
export function isValidX87(opcode: number, modrm: number): boolean {
  const reg = (modrm >> 3) & 7;
  if ((modrm & 0xc0) !== 0xc0) {
    switch (opcode) {
      case 0xd9: return reg !== 1;
      case 0xdb: return reg !== 1 && reg !== 4 && reg !== 6;
      case 0xdd: return reg !== 1 && reg !== 5;
      case 0xdf: return reg !== 1;
      default: return opcode >= 0xd8 && opcode <= 0xdf;
    }
  }
  switch (opcode) {
    case 0xd8: case 0xdc: return true;
    case 0xd9:
      if (modrm >= 0xd1 && modrm <= 0xd7) return false;
      return modrm !== 0xe2 && modrm !== 0xe3 && modrm !== 0xe6 && modrm !== 0xe7 && modrm !== 0xef;
    case 0xda: return modrm < 0xe0 || modrm === 0xe9;
    case 0xdb: return modrm < 0xe5 || (modrm >= 0xe8 && modrm < 0xf8);
    case 0xdd: return modrm < 0xf0;
    case 0xde: return reg !== 3 || modrm === 0xd9;
    case 0xdf: return modrm < 0xe1 || (modrm >= 0xe8 && modrm < 0xf8);
    default: return false;
  }
}

/**
 * Control instructions, which do not update the last-instruction pointer,
 * opcode and data pointer (SDM Vol. 1 §8.1.8): FNINIT, FNCLEX, FLDCW,
 * FNSTCW, FNSTSW, FNSTENV, FLDENV, FNSAVE, FRSTOR.
 */
export function isControlInstruction(opcode: number, modrm: number): boolean {
  const reg = (modrm >> 3) & 7;
  if ((modrm & 0xc0) !== 0xc0) {
    if (opcode === 0xd9) return reg >= 4;
    if (opcode === 0xdd) return reg === 4 || reg === 6 || reg === 7;
    return false;
  }
  if (opcode === 0xdb) return modrm >= 0xe0 && modrm <= 0xe4;
  if (opcode === 0xdf) return modrm === 0xe0;
  return false;
}
