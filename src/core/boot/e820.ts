/**
 * The PC physical memory map the loaders report (BIOS INT 15h E820 style):
 * conventional memory up to the EBDA, the EBDA and BIOS ROM reserved, and
 * extended memory from 1 MiB to the top of RAM (or to the start of the MMIO
 * hole if RAM would reach into it).
 */

export const E820_RAM = 1;
export const E820_RESERVED = 2;

export interface E820Entry {
  address: number;
  size: number;
  type: number;
}

/** Start of the extended BIOS data area: conventional memory ends here (639 KiB). */
export const EBDA_START = 0x9fc00;
export const HIGH_MEMORY_START = 0x100000;

export function pcMemoryMap(ramBytes: number, mmioHoleStart = 2 ** 32): E820Entry[] {
  const top = Math.min(ramBytes, mmioHoleStart);
  const map: E820Entry[] = [
    { address: 0, size: EBDA_START, type: E820_RAM },
    { address: EBDA_START, size: 0xa0000 - EBDA_START, type: E820_RESERVED },
    { address: 0xf0000, size: 0x10000, type: E820_RESERVED },
  ];
  if (top > HIGH_MEMORY_START) map.push({ address: HIGH_MEMORY_START, size: top - HIGH_MEMORY_START, type: E820_RAM });
  return map;
}

/** Usable top of RAM below 4 GiB (the end of the last RAM entry). */
export function ramTop(ramBytes: number, mmioHoleStart = 2 ** 32): number {
  return Math.min(ramBytes, mmioHoleStart);
}
