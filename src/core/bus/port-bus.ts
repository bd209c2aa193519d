/**
 * The x86 I/O port space: 65,536 ports, each with a read and a write handler
 * per access width, held in pre-filled tables so a port access is one array
 * load and one call, never a lookup or an allocation.
 *
 * Width handling (as on the ISA bus): a device may claim a port for byte
 * accesses only. A 16-bit access to such a port is split into two byte
 * accesses to `port` and `port + 1` (each dispatched through the table, so the
 * second byte may belong to another device), and a 32-bit access into two
 * 16-bit accesses to `port` and `port + 2`. A device that handles wide
 * accesses itself (a data port that moves 16 or 32 bits at once) registers
 * wide handlers, which take precedence for that width.
 *
 * Unclaimed ports are open bus: reads return all ones of the access width
 * (0xFF, 0xFFFF, 0xFFFFFFFF), writes are dropped.
 */
import type { AccessSize } from '../cpu/host.ts';

export type PortReader = (port: number) => number;
export type PortWriter = (port: number, value: number) => void;

/** Handlers for a range of ports; any width left out is split into narrower accesses (or open bus for bytes). */
export interface PortHandlers {
  read8?: PortReader;
  write8?: PortWriter;
  read16?: PortReader;
  write16?: PortWriter;
  read32?: PortReader;
  write32?: PortWriter;
}

const PORT_COUNT = 0x10000;
const PORT_MASK = 0xffff;

export class PortBus {
  private readonly r8: PortReader[];
  private readonly r16: PortReader[];
  private readonly r32: PortReader[];
  private readonly w8: PortWriter[];
  private readonly w16: PortWriter[];
  private readonly w32: PortWriter[];
  /** Who claimed each port (for error messages and diagnostics). */
  private readonly owners: (string | undefined)[];

  // The default handlers: one closure each, shared by every unclaimed entry.
  private readonly openRead8: PortReader = () => 0xff;
  private readonly dropWrite: PortWriter = () => {};
  private readonly splitRead16: PortReader = (port) =>
    (this.r8[port]!(port) & 0xff) | ((this.r8[(port + 1) & PORT_MASK]!((port + 1) & PORT_MASK) & 0xff) << 8);
  private readonly splitRead32: PortReader = (port) =>
    ((this.r16[port]!(port) & 0xffff) | (this.r16[(port + 2) & PORT_MASK]!((port + 2) & PORT_MASK) << 16)) >>> 0;
  private readonly splitWrite16: PortWriter = (port, value) => {
    this.w8[port]!(port, value & 0xff);
    this.w8[(port + 1) & PORT_MASK]!((port + 1) & PORT_MASK, (value >>> 8) & 0xff);
  };
  private readonly splitWrite32: PortWriter = (port, value) => {
    this.w16[port]!(port, value & 0xffff);
    this.w16[(port + 2) & PORT_MASK]!((port + 2) & PORT_MASK, (value >>> 16) & 0xffff);
  };

  constructor() {
    this.r8 = new Array<PortReader>(PORT_COUNT).fill(this.openRead8);
    this.r16 = new Array<PortReader>(PORT_COUNT).fill(this.splitRead16);
    this.r32 = new Array<PortReader>(PORT_COUNT).fill(this.splitRead32);
    this.w8 = new Array<PortWriter>(PORT_COUNT).fill(this.dropWrite);
    this.w16 = new Array<PortWriter>(PORT_COUNT).fill(this.splitWrite16);
    this.w32 = new Array<PortWriter>(PORT_COUNT).fill(this.splitWrite32);
    this.owners = new Array<string | undefined>(PORT_COUNT).fill(undefined);
  }

  /**
   * Claims `count` ports starting at `first` for `owner`. Throws if any of
   * them is already claimed (two devices on one port is a board bug).
   */
  register(owner: string, first: number, count: number, handlers: PortHandlers): void {
    if (!Number.isInteger(first) || !Number.isInteger(count) || first < 0 || count < 1 || first + count > PORT_COUNT) {
      throw new Error(`port bus: ${owner} asked for a bad port range ${first}+${count}`);
    }
    for (let port = first; port < first + count; port++) {
      const other = this.owners[port];
      if (other !== undefined) throw new Error(`port bus: ${owner} cannot claim port ${hex(port)}: it belongs to ${other}`);
    }
    for (let port = first; port < first + count; port++) {
      this.owners[port] = owner;
      if (handlers.read8) this.r8[port] = handlers.read8;
      if (handlers.write8) this.w8[port] = handlers.write8;
      if (handlers.read16) this.r16[port] = handlers.read16;
      if (handlers.write16) this.w16[port] = handlers.write16;
      if (handlers.read32) this.r32[port] = handlers.read32;
      if (handlers.write32) this.w32[port] = handlers.write32;
    }
  }

  /** Releases ports back to open bus. */
  unregister(first: number, count: number): void {
    for (let port = first; port < first + count && port < PORT_COUNT; port++) {
      this.owners[port] = undefined;
      this.r8[port] = this.openRead8;
      this.w8[port] = this.dropWrite;
      this.r16[port] = this.splitRead16;
      this.w16[port] = this.splitWrite16;
      this.r32[port] = this.splitRead32;
      this.w32[port] = this.splitWrite32;
    }
  }

  /** The device that claimed `port`, if any. */
  ownerOf(port: number): string | undefined {
    return this.owners[port & PORT_MASK];
  }

  /** IN of the given width (the CpuHost ioRead). */
  read(port: number, size: AccessSize): number {
    port &= PORT_MASK;
    if (size === 1) return this.r8[port]!(port) & 0xff;
    if (size === 2) return this.r16[port]!(port) & 0xffff;
    return this.r32[port]!(port) >>> 0;
  }

  /** OUT of the given width (the CpuHost ioWrite). */
  write(port: number, size: AccessSize, value: number): void {
    port &= PORT_MASK;
    if (size === 1) this.w8[port]!(port, value & 0xff);
    else if (size === 2) this.w16[port]!(port, value & 0xffff);
    else this.w32[port]!(port, value >>> 0);
  }
}

function hex(n: number): string {
  return '0x' + n.toString(16);
}
