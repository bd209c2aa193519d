/**
 * A small Multiboot guest for snapshot tests: it loads the x87 stack with
 * three constants, programs the PIC and the PIT (channel 0, mode 2, 100 Hz),
 * counts IRQ 0 in a handler that also prints "." on COM1, sleeps in HLT until
 * `ticks` interrupts were counted, and writes the count to the test-exit port.
 * The counter lives at TICKS_ADDRESS.
 */
export const LOAD = 0x100000;
export const TICKS_ADDRESS = LOAD + 0x310;

export function tickProgram(ticks = 10): Uint8Array {
  const image = new Uint8Array(0x1000);
  const v = new DataView(image.buffer);
  const flags = 0x00010000; // a.out kludge: addresses in the header
  v.setUint32(0, 0x1badb002, true);
  v.setUint32(4, flags, true);
  v.setUint32(8, -(0x1badb002 + flags) >>> 0, true);
  v.setUint32(12, LOAD, true);
  v.setUint32(16, LOAD, true);
  v.setUint32(20, LOAD + image.length, true);
  v.setUint32(24, LOAD + image.length, true);
  v.setUint32(28, LOAD + 0x40, true);

  const IDTR = LOAD + 0x300;
  const IDT = LOAD + 0x800;
  const HANDLER = LOAD + 0x200;
  const d = (x: number) => [x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, x >>> 24];
  const out = (port: number, value: number) => [0xb0, value, 0xe6, port];
  const before = [
    0xbc, ...d(0x90000), // mov esp, 0x90000
    0x0f, 0x01, 0x1d, ...d(IDTR), // lidt [IDTR]
    ...out(0x20, 0x11), ...out(0x21, 0x20), ...out(0x21, 0x04), ...out(0x21, 0x01), // master PIC: vectors 0x20
    ...out(0xa0, 0x11), ...out(0xa1, 0x28), ...out(0xa1, 0x02), ...out(0xa1, 0x01), // slave PIC: vectors 0x28
    ...out(0x21, 0xfe), ...out(0xa1, 0xff), // only IRQ 0
    ...out(0x43, 0x34), ...out(0x40, 0x9c), ...out(0x40, 0x2e), // PIT channel 0, mode 2, 11932 (100 Hz)
    0xdb, 0xe3, 0xd9, 0xe8, 0xd9, 0xeb, 0xd9, 0xea, // fninit; fld1; fldpi; fldl2e
    0xfb, // sti
  ];
  const wait = [0xf4, 0x83, 0x3d, ...d(TICKS_ADDRESS), ticks]; // hlt; cmp dword [TICKS], ticks
  const code = [
    ...before,
    ...wait,
    0x72, (-(wait.length + 2)) & 0xff, // jb wait
    0xfa, // cli
    0xa1, ...d(TICKS_ADDRESS), // mov eax, [TICKS]
    0xe6, 0xf4, // out 0xf4, al
    0xf4,
  ];
  image.set(code, 0x40);
  const handler = [
    0xff, 0x05, ...d(TICKS_ADDRESS), // inc dword [TICKS]
    0x50, 0x52, // push eax; push edx
    0x66, 0xba, 0xf8, 0x03, 0xb0, 0x2e, 0xee, // mov dx, 0x3f8; mov al, '.'; out dx, al
    ...out(0x20, 0x20), // EOI
    0x5a, 0x58, 0xcf, // pop edx; pop eax; iret
  ];
  image.set(handler, HANDLER - LOAD);
  v.setUint16(0x300, 0x7ff, true);
  v.setUint32(0x302, IDT, true);
  const gate = 0x800 + 0x20 * 8;
  v.setUint16(gate, HANDLER & 0xffff, true);
  v.setUint16(gate + 2, 0x08, true);
  v.setUint8(gate + 5, 0x8e);
  v.setUint16(gate + 6, HANDLER >>> 16, true);
  return image;
}
