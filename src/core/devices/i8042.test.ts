import { describe, expect, it } from 'vitest';
import { I8042 } from './i8042.ts';
import { DebugPorts } from './debug-ports.ts';
import { testBoard } from './test-support/services.ts';

describe('i8042', () => {
  function setup() {
    const board = testBoard();
    const kbc = new I8042();
    let resets = 0;
    kbc.onResetRequest = () => resets++;
    kbc.attach(board.services);
    kbc.reset();
    return { board, kbc, resets: () => resets };
  }

  it('pulses reset on command 0xFE', () => {
    const { board, resets } = setup();
    expect(board.ports.read(0x64, 1) & 0x02).toBe(0); // never busy: kb_wait() passes
    board.ports.write(0x64, 1, 0xfe);
    expect(resets()).toBe(1);
    board.ports.write(0x64, 1, 0xff); // pulse nothing
    expect(resets()).toBe(1);
  });

  it('resets through the output port, and treats A20 commands as harmless', () => {
    const { board, kbc, resets } = setup();
    board.ports.write(0x64, 1, 0xd1);
    board.ports.write(0x60, 1, 0xdd); // A20 off, reset high
    expect(resets()).toBe(0);
    expect(kbc.a20).toBe(false);
    board.ports.write(0x64, 1, 0xdf);
    expect(kbc.a20).toBe(true);
    board.ports.write(0x64, 1, 0xd1);
    board.ports.write(0x60, 1, 0x02); // bit 0 low: reset
    expect(resets()).toBe(1);
  });

  it('answers self-test and reads 0 from an empty data port', () => {
    const { board } = setup();
    expect(board.ports.read(0x60, 1)).toBe(0);
    board.ports.write(0x64, 1, 0xaa);
    expect(board.ports.read(0x64, 1) & 0x01).toBe(1);
    expect(board.ports.read(0x60, 1)).toBe(0x55);
    expect(board.ports.read(0x64, 1) & 0x01).toBe(0);
    board.ports.write(0x64, 1, 0x60);
    board.ports.write(0x60, 1, 0x61);
    board.ports.write(0x64, 1, 0x20);
    expect(board.ports.read(0x60, 1)).toBe(0x61);
  });
});

describe('debug ports', () => {
  it('sends port 0xE9 bytes to the log, ignores 0x80, and has test exit only when enabled', () => {
    const board = testBoard();
    const dbg = new DebugPorts({ testExit: true });
    const log: number[] = [];
    const exits: number[] = [];
    dbg.onDebugByte = (b) => log.push(b);
    dbg.onTestExit = (c) => exits.push(c);
    dbg.attach(board.services);
    board.ports.write(0x80, 1, 0x12);
    board.ports.write(0xe9, 1, 0x41);
    expect(board.ports.read(0xe9, 1)).toBe(0xe9);
    board.ports.write(0xf4, 4, 0x10001);
    expect(log).toEqual([0x41]);
    expect(exits).toEqual([0x10001]);

    const plain = testBoard();
    new DebugPorts().attach(plain.services);
    expect(plain.ports.ownerOf(0xf4)).toBeUndefined();
  });
});
