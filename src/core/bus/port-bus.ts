/**
 * The x86 I/O port space: 65,536 ports. Each port maps (one Uint16Array
 * load) to the claim that owns it, which holds a read and a write handler per
 * access width, so a port access is two loads and one call, never a lookup
 * or an allocation. (Six pre-filled handler arrays of 65,536 entries, as
 * before, cost ~1.8 MB and 15-20 ms per machine to build in a Chromium
 * worker, and instant boot builds more than one machine.)
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

/** One register() call: its owner and a handler for every width (defaults filled in). */
interface Claim {
  readonly owner: string | undefined;
  readonly r8: PortReader;
  readonly r16: PortReader;
  readonly r32: PortReader;
  readonly w8: PortWriter;
  readonly w16: PortWriter;
  readonly w32: PortWriter;
}

export class PortBus {
  /** Index into `claims` of each port's claim; 0 is the open bus. */
  private readonly claimOf = new Uint16Array(PORT_COUNT);
  private readonly claims: Claim[];

  // Split accesses dispatch each part through the map, so its ports may belong to other devices.
  private readonly splitRead16: PortReader = (port) => {
    const next = (port + 1) & PORT_MASK;
    return (this.claimAt(port).r8(port) & 0xff) | ((this.claimAt(next).r8(next) & 0xff) << 8);
  };
  private readonly splitRead32: PortReader = (port) => {
    const next = (port + 2) & PORT_MASK;
    return ((this.claimAt(port).r16(port) & 0xffff) | (this.claimAt(next).r16(next) << 16)) >>> 0;
  };
  private readonly splitWrite16: PortWriter = (port, value) => {
    const next = (port + 1) & PORT_MASK;
    this.claimAt(port).w8(port, value & 0xff);
    this.claimAt(next).w8(next, (value >>> 8) & 0xff);
  };
  private readonly splitWrite32: PortWriter = (port, value) => {
    const next = (port + 2) & PORT_MASK;
    this.claimAt(port).w16(port, value & 0xffff);
    this.claimAt(next).w16(next, (value >>> 16) & 0xffff);
  };

  constructor() {
    this.claims = [this.claim(undefined, {})];
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
      const other = this.ownerOf(port);
      if (other !== undefined) throw new Error(`port bus: ${owner} cannot claim port ${hex(port)}: it belongs to ${other}`);
    }
    let index = this.claims.findIndex((c, i) => i > 0 && c.owner === undefined);
    if (index < 0) {
      if (this.claims.length > 0xffff) throw new Error(`port bus: too many port claims (${owner})`);
      index = this.claims.length;
      this.claims.push(this.claim(owner, handlers));
    } else {
      this.claims[index] = this.claim(owner, handlers);
    }
    this.claimOf.fill(index, first, first + count);
  }

  /** Releases ports back to open bus. */
  unregister(first: number, count: number): void {
    const end = Math.min(first + count, PORT_COUNT);
    if (first < 0 || first >= end) return;
    const touched = new Set<number>();
    for (let port = first; port < end; port++) touched.add(this.claimOf[port]!);
    this.claimOf.fill(0, first, end);
    // A claim no port uses any more becomes a free entry (owner undefined) for the next register().
    for (const index of touched) {
      if (index !== 0 && !this.claimOf.includes(index)) this.claims[index] = this.claim(undefined, {});
    }
  }

  /** The device that claimed `port`, if any. */
  ownerOf(port: number): string | undefined {
    return this.claimAt(port & PORT_MASK).owner;
  }

  /** IN of the given width (the CpuHost ioRead). */
  read(port: number, size: AccessSize): number {
    port &= PORT_MASK;
    const c = this.claimAt(port);
    if (size === 1) return c.r8(port) & 0xff;
    if (size === 2) return c.r16(port) & 0xffff;
    return c.r32(port) >>> 0;
  }

  /** OUT of the given width (the CpuHost ioWrite). */
  write(port: number, size: AccessSize, value: number): void {
    port &= PORT_MASK;
    const c = this.claimAt(port);
    if (size === 1) c.w8(port, value & 0xff);
    else if (size === 2) c.w16(port, value & 0xffff);
    else c.w32(port, value >>> 0);
  }

  /** The claim that owns `port` (0..0xFFFF). */
  private claimAt(port: number): Claim {
    return this.claims[this.claimOf[port]!]!;
  }

  /** A claim with the open bus (bytes) or split accesses (wider) for every width the handlers leave out. */
  private claim(owner: string | undefined, h: PortHandlers): Claim {
    return {
      owner,
      r8: h.read8 ?? openRead8,
      r16: h.read16 ?? this.splitRead16,
      r32: h.read32 ?? this.splitRead32,
      w8: h.write8 ?? dropWrite,
      w16: h.write16 ?? this.splitWrite16,
      w32: h.write32 ?? this.splitWrite32,
    };
  }
}

/** Open bus: reads of an unclaimed byte port return all ones; writes are dropped. */
const openRead8: PortReader = () => 0xff;
const dropWrite: PortWriter = () => {};

function hex(n: number): string {
  return '0x' + n.toString(16);
}
