/**
 * Parses and validates a Linux x86 bzImage: the real-mode setup header at
 * offset 0x1F1 (Documentation/arch/x86/boot.rst, "The real-mode kernel
 * header"), and where the protected-mode kernel starts in the file.
 *
 * tabvisor enters the kernel at its 32-bit entry point and passes the command
 * line size limit from the header, so it needs boot protocol 2.06 or later
 * (cmdline_size, and a LOADED_HIGH bzImage); kernels since 2.6.22 qualify.
 */

export interface BzImage {
  /** Boot protocol version, e.g. 0x020f for 2.15. */
  version: number;
  /** "2.15". */
  versionText: string;
  /** Number of 512-byte setup sectors (a 0 in the header means 4). */
  setupSects: number;
  /** loadflags byte (bit 0 LOADED_HIGH, bit 5 QUIET, bit 7 CAN_USE_HEAP). */
  loadflags: number;
  /** Where the protected-mode kernel is meant to be loaded (normally 0x100000). */
  code32Start: number;
  /** Alignment a relocatable kernel wants (protocol >= 2.05). */
  kernelAlignment: number;
  relocatable: boolean;
  /** Lowest alignment the kernel tolerates, as a power of two (>= 2.10; 0 if absent). */
  minAlignmentLog2: number;
  /** xloadflags (>= 2.12; 0 if absent). */
  xloadflags: number;
  /** Highest address the initrd may occupy (last byte). */
  initrdAddrMax: number;
  /** Longest command line the kernel accepts, without the terminating NUL. */
  cmdlineSize: number;
  /** Linear memory the kernel needs from its (aligned) load address while booting (>= 2.10; estimated before). */
  initSize: number;
  /** Preferred load address of a non-relocatable kernel (>= 2.10; low 32 bits). */
  prefAddress: number;
  /** The kernel version string the header points at, if any ("6.1.0 (tabvisor@tabvisor) #1 ..."). */
  kernelVersion: string;
  /** Offset just past the setup header: 0x202 + the byte at 0x201. boot_params takes [0x1F1, headerEnd) from the file. */
  headerEnd: number;
  /** File offset of the protected-mode kernel: (setupSects + 1) * 512. */
  kernelOffset: number;
  /** The setup header bytes [0x1F1, headerEnd), to copy into boot_params. */
  setupHeader: Uint8Array;
  /** The protected-mode kernel (what goes to code32Start). */
  kernel: Uint8Array;
  /**
   * The compressed kernel inside `kernel` (payload_offset/payload_length,
   * protocol >= 2.08; offsets count from the start of the protected-mode
   * code). Empty if the header has none or it lies outside `kernel`.
   */
  payload: Uint8Array;
}

export const LOADED_HIGH = 0x01;
export const CAN_USE_HEAP = 0x80;
const MIN_VERSION = 0x0206;

function versionText(v: number): string {
  return `${v >> 8}.${(v & 0xff).toString().padStart(2, '0')}`;
}

/** Parses `image` (a whole bzImage file); throws an Error that says what is wrong. */
export function parseBzImage(image: Uint8Array): BzImage {
  if (image.length < 0x264) {
    throw new Error(`not a bzImage: the file is only ${image.length} bytes, too short to hold a setup header`);
  }
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const u8 = (o: number) => view.getUint8(o);
  const u16 = (o: number) => view.getUint16(o, true);
  const u32 = (o: number) => view.getUint32(o, true);

  if (u16(0x1fe) !== 0xaa55) {
    throw new Error(`not a bzImage: no 0xAA55 boot flag at offset 0x1FE (found 0x${u16(0x1fe).toString(16).padStart(4, '0')})`);
  }
  if (u32(0x202) !== 0x53726448) {
    throw new Error('not a bzImage: no "HdrS" signature at offset 0x202 (a kernel older than boot protocol 2.00, or not a kernel)');
  }
  const version = u16(0x206);
  if (version < MIN_VERSION) {
    throw new Error(`boot protocol ${versionText(version)} too old: tabvisor needs ${versionText(MIN_VERSION)} or later (Linux 2.6.22+) for cmdline_size and the 32-bit entry`);
  }
  const loadflags = u8(0x211);
  if ((loadflags & LOADED_HIGH) === 0) {
    throw new Error('not a bzImage: LOADED_HIGH is clear, so this is a zImage that must be loaded below 1 MiB (unsupported)');
  }

  const setupSects = u8(0x1f1) || 4;
  const kernelOffset = (setupSects + 1) * 512;
  const headerEnd = 0x202 + u8(0x201);
  if (headerEnd < 0x240 || headerEnd > kernelOffset) {
    throw new Error(`not a bzImage: the setup header would end at 0x${headerEnd.toString(16)}, outside the ${kernelOffset}-byte setup area`);
  }
  if (image.length <= kernelOffset) {
    throw new Error(`truncated bzImage: setup_sects says the protected-mode kernel starts at byte ${kernelOffset}, but the file has only ${image.length} bytes`);
  }
  // syssize counts 16-byte units of the protected-mode code (protocol >= 2.04 makes it a full 32-bit field).
  const syssize = u32(0x1f4) * 16;
  const available = image.length - kernelOffset;
  if (syssize > available) {
    throw new Error(`truncated bzImage: the header declares ${syssize} bytes of protected-mode kernel, but only ${available} follow the setup code`);
  }

  const hasInitSize = version >= 0x020a;
  const kernelLength = syssize > 0 ? syssize : available;
  // Before 2.10 the header has no init_size: assume the usual worst case of a few times the compressed size.
  const initSize = hasInitSize ? u32(0x260) : kernelLength * 4;

  let kernelVersion = '';
  const kvPointer = u16(0x20e);
  if (kvPointer !== 0 && kvPointer + 0x200 < kernelOffset) {
    let end = kvPointer + 0x200;
    while (end < kernelOffset && image[end] !== 0 && end - kvPointer - 0x200 < 256) end++;
    kernelVersion = String.fromCharCode(...image.subarray(kvPointer + 0x200, end));
  }

  const kernel = image.subarray(kernelOffset, kernelOffset + kernelLength);
  let payload: Uint8Array = new Uint8Array(0);
  if (version >= 0x0208) {
    const payloadOffset = u32(0x248);
    const payloadLength = u32(0x24c);
    if (payloadLength > 0 && payloadOffset + payloadLength <= kernel.length) payload = kernel.subarray(payloadOffset, payloadOffset + payloadLength);
  }

  return {
    version,
    versionText: versionText(version),
    setupSects,
    loadflags,
    code32Start: u32(0x214),
    kernelAlignment: u32(0x230) || 0x100000,
    relocatable: u8(0x234) !== 0,
    minAlignmentLog2: hasInitSize ? u8(0x235) : 0,
    xloadflags: version >= 0x020c ? u16(0x236) : 0,
    initrdAddrMax: u32(0x22c),
    cmdlineSize: u32(0x238),
    initSize,
    prefAddress: hasInitSize ? u32(0x258) : 0x100000,
    kernelVersion,
    headerEnd,
    kernelOffset,
    setupHeader: image.subarray(0x1f1, headerEnd),
    kernel,
    payload,
  };
}
