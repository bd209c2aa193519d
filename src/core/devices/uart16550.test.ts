import { describe, expect, it } from 'vitest';
import { Uart16550 } from './uart16550.ts';
import { testBoard } from './test-support/services.ts';

const COM1 = 0x3f8;

function setup(inputQueueBytes?: number) {
  const board = testBoard();
  const uart = new Uart16550({ base: COM1, irq: 4, inputQueueBytes });
  const sent: number[] = [];
  uart.onTransmit = (b) => sent.push(b);
  uart.attach(board.services);
  uart.reset();
  const out = (reg: number, v: number) => board.ports.write(COM1 + reg, 1, v);
  const inb = (reg: number) => board.ports.read(COM1 + reg, 1);
  return { board, uart, sent, out, inb };
}

describe('16550A UART', () => {
  it('passes the Linux 8250 autoconfig probe as a 16550A', () => {
    const { out, inb } = setup();
    // IER test: bits 7-4 read 0, bits 3-0 read back.
    out(1, 0);
    expect(inb(1) & 0x0f).toBe(0);
    out(1, 0x0f);
    expect(inb(1)).toBe(0x0f);
    out(1, 0);
    // Loopback test: MCR = LOOP | OUT2 | RTS -> MSR high nibble DCD | CTS.
    out(4, 0x1a);
    expect(inb(6) & 0xf0).toBe(0x90);
    out(4, 0);
    // EFR probe with LCR = 0xBF writes FCR = 0 on a 16550A; then FIFO enable: IIR bits 7-6 = 11.
    out(3, 0xbf);
    out(2, 0);
    out(3, 0);
    out(2, 0x01);
    expect(inb(2) >> 6).toBe(3);
    // autoconfig_16550a: with DLAB set, offset 2 still reads IIR (non-zero), so no EFR is found.
    out(3, 0x80);
    expect(inb(2)).not.toBe(0);
    out(3, 0xbf);
    expect(inb(2)).not.toBe(0);
    // 16750 test: IIR bit 5 never sets.
    out(3, 0);
    out(2, 0x21);
    expect((inb(2) >> 5) & 1).toBe(0);
    out(3, 0x80);
    out(2, 0x21);
    expect((inb(2) >> 5) & 1).toBe(0);
    out(3, 0);
    // IER bit 6 (XScale UUE) is not writable.
    out(1, 0x40);
    expect(inb(1) & 0x40).toBe(0);
    // Scratch register and divisor latch.
    out(7, 0xa5);
    expect(inb(7)).toBe(0xa5);
    out(3, 0x83);
    out(0, 0x01);
    out(1, 0x00);
    expect(inb(0)).toBe(1);
    out(3, 0x03);
    expect(inb(5)).not.toBe(0xff); // LSR safety check
  });

  it('transmits THR writes at once; LSR shows THRE and TEMT', () => {
    const { sent, out, inb } = setup();
    expect(inb(5)).toBe(0x60);
    out(0, 0x41);
    out(0, 0x42);
    expect(sent).toEqual([0x41, 0x42]);
    expect(inb(5) & 0x60).toBe(0x60);
  });

  it('re-asserts THRE when IER enables it with THR empty; reading IIR clears it (Linux THRE test)', () => {
    const { board, out, inb } = setup();
    out(2, 0x01);
    out(4, 0x08); // OUT2: let the interrupt reach IRQ 4
    out(1, 0x02);
    expect(board.levels[4]).toBe(true);
    expect(inb(2)).toBe(0xc2);
    expect(board.levels[4]).toBe(false);
    expect(inb(2)).toBe(0xc1);
    out(1, 0);
    out(1, 0x02);
    expect(inb(2)).toBe(0xc2); // re-asserted
    // Writing THR clears THRE, and the byte leaving at once asserts it again.
    out(0, 0x30);
    expect(inb(2)).toBe(0xc2);
  });

  it('gates its interrupt with MCR OUT2', () => {
    const { board, out } = setup();
    out(1, 0x02);
    expect(board.levels[4]).toBe(false);
    out(4, 0x08);
    expect(board.levels[4]).toBe(true);
    out(4, 0x00);
    expect(board.levels[4]).toBe(false);
  });

  it('raises RX data at the FIFO trigger level and the timeout below it', () => {
    const { board, uart, out, inb } = setup();
    out(3, 0x03); // 8N1, divisor stays 0 -> treated as 1 (115200 baud)
    out(2, 0x81); // FIFO on, trigger level 8
    out(4, 0x08);
    out(1, 0x01);
    uart.receive(new Uint8Array([1, 2, 3, 4, 5, 6, 7]));
    expect(inb(2)).toBe(0xc1);
    expect(inb(5) & 0x01).toBe(1);
    uart.receive(new Uint8Array([8]));
    expect(inb(2)).toBe(0xc4);
    expect(board.levels[4]).toBe(true);
    for (let i = 1; i <= 8; i++) expect(inb(0)).toBe(i);
    expect(inb(2)).toBe(0xc1);
    // Two bytes, below the trigger: nothing until four character times pass.
    uart.receive(new Uint8Array([9, 10]));
    expect(inb(2)).toBe(0xc1);
    const deadline = uart.nextDeadlineNs();
    expect(deadline - board.clock.ns).toBeCloseTo((4 * 10 * 1e9) / 115200, -2);
    board.clock.ns = deadline;
    uart.advance(deadline);
    expect(inb(2)).toBe(0xcc);
    expect(inb(0)).toBe(9);
    expect(inb(2)).toBe(0xc1); // reading restarts the timeout
  });

  it('orders interrupt sources: line status > RX data > THRE > modem status', () => {
    const { out, inb } = setup();
    out(2, 0x01); // FIFO, trigger 1
    out(1, 0x0f);
    // Loopback: fill the FIFO and overrun it; changing MCR also produces modem status deltas.
    out(4, 0x13);
    for (let i = 0; i < 17; i++) out(0, i);
    expect(inb(2) & 0x0f).toBe(0x06); // line status (overrun)
    expect(inb(5) & 0x02).toBe(0x02);
    expect(inb(5) & 0x02).toBe(0); // cleared by the read
    expect(inb(2) & 0x0f).toBe(0x04); // RX data
    for (let i = 0; i < 16; i++) expect(inb(0)).toBe(i);
    expect(inb(2) & 0x0f).toBe(0x02); // THRE (cleared by this read)
    expect(inb(2) & 0x0f).toBe(0x00); // modem status
    expect(inb(6) & 0x0f).not.toBe(0);
    expect(inb(2) & 0x0f).toBe(0x01);
  });

  it('loops TX back to RX without transmitting, and maps MCR to MSR', () => {
    const { sent, out, inb, uart } = setup();
    out(1, 0x01); // the driver is ready to receive (RX data interrupt enabled)
    out(4, 0x10 | 0x01 | 0x04); // LOOP, DTR, OUT1
    expect(inb(6) & 0xf0).toBe(0x20 | 0x40); // DSR, RI
    out(0, 0x77);
    expect(sent).toEqual([]);
    expect(inb(5) & 0x01).toBe(1);
    expect(inb(0)).toBe(0x77);
    // Host input waits while in loopback, and arrives afterwards.
    expect(uart.receive(new Uint8Array([0x31]))).toBe(1);
    expect(inb(5) & 0x01).toBe(0);
    out(4, 0x00);
    expect(inb(0)).toBe(0x31);
    expect(inb(6) & 0xf0).toBe(0xb0); // a connected terminal: DCD DSR CTS
  });

  it('applies backpressure through its bounded input queue', () => {
    const { uart, out, inb } = setup(32);
    out(2, 0x01);
    out(1, 0x01);
    const data = new Uint8Array(100).map((_, i) => i);
    // 16 go to the FIFO at once, 32 wait in the queue.
    expect(uart.receive(data)).toBe(48);
    expect(uart.inputSpace).toBe(0);
    for (let i = 0; i < 48; i++) expect(inb(0)).toBe(i);
    expect(inb(5) & 0x01).toBe(0);
    expect(uart.receive(data.subarray(48))).toBe(48);
  });

  it('holds host input until the guest enables the RX data interrupt, so a FIFO reset at open loses nothing', () => {
    const { uart, out, inb } = setup();
    expect(uart.receive(new TextEncoder().encode('ls\n'))).toBe(3);
    expect(inb(5) & 0x01).toBe(0); // nothing in the receiver yet
    out(2, 0x07); // the driver opens the port: FIFOs on and reset
    expect(inb(5) & 0x01).toBe(0);
    out(1, 0x01);
    expect(inb(5) & 0x01).toBe(1);
    expect([inb(0), inb(0), inb(0)]).toEqual([0x6c, 0x73, 0x0a]);
  });

  it('round-trips its state through JSON', () => {
    const { uart, out } = setup();
    out(2, 0xc1);
    out(7, 0x5a);
    out(1, 0x01);
    uart.receive(new Uint8Array([1, 2, 3]));
    const saved = JSON.parse(JSON.stringify(uart.saveState()));
    const other = setup();
    other.uart.restoreState(saved);
    expect(other.inb(7)).toBe(0x5a);
    expect(other.inb(0)).toBe(1);
    expect(other.inb(0)).toBe(2);
  });
});
