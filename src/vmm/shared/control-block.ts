/**
 * The per-VM control block: the one piece of memory the coordinator (main
 * thread) and a guest worker both read and write on the hot path, so that run
 * requests, CPU tokens and live counters never need a message.
 *
 * It is an Int32Array over a SharedArrayBuffer (or, in the non-isolated
 * fallback, over a plain ArrayBuffer that each side mirrors by messages; see
 * protocol.ts `sync`). Every word has exactly one writer:
 *
 * | word                 | writer      | meaning                                              |
 * | -------------------- | ----------- | ---------------------------------------------------- |
 * | Magic, LayoutVersion | creator     | sanity check when a side attaches                    |
 * | RequestedState       | coordinator | RunRequest: what the VM should be doing               |
 * | CurrentState         | worker      | WorkerState: what the run loop is doing               |
 * | StateSeq             | worker      | bumped on every CurrentState change (waitable)        |
 * | Wake                 | anyone      | the worker sleeps on it (see wake.ts)                 |
 * | WaitReason           | worker      | why the worker sleeps: tokens, halt, pause, output    |
 * | TokensGrantedUs      | coordinator | running total of CPU µs granted (wraps, int32)        |
 * | TokensConsumedUs     | worker      | running total of CPU µs used (wraps, int32)           |
 * | MemoryBudgetFrames   | coordinator | resident-frame budget, 0 = unlimited                  |
 * | CounterSeq           | worker      | seqlock over the counters (odd while writing)         |
 * | Generation           | worker      | bumped each time the machine is (re)built (reset)     |
 *
 * Tokens are two free-running int32 totals rather than one balance word so
 * that each has a single writer (no read-modify-write races between threads);
 * the balance is their wrapping difference, valid while |balance| < 2^31 µs.
 *
 * Counters are unsigned 53-bit values stored as two int32 halves and published
 * as a batch under a seqlock: every access is an Atomics operation, so the
 * JS memory model guarantees a reader that sees the same even sequence number
 * before and after its reads got one consistent batch (a Float64 view would
 * need plain, unordered accesses for the data).
 */
import { isShared, signal, type WakeWord } from './wake.ts';

/** 'TVCB' */
export const CONTROL_MAGIC = 0x54564342;
/** Bump when the meaning or position of any word changes. */
export const CONTROL_LAYOUT_VERSION = 1;

/** Word indices of the header (Int32 slots). */
export const ControlWord = {
  Magic: 0,
  LayoutVersion: 1,
  RequestedState: 2,
  CurrentState: 3,
  StateSeq: 4,
  Wake: 5,
  WaitReason: 6,
  TokensGrantedUs: 7,
  TokensConsumedUs: 8,
  MemoryBudgetFrames: 9,
  CounterSeq: 10,
  Generation: 11,
} as const;

/** Header words reserved (64 bytes) so counters stay put when words are added. */
export const CONTROL_HEADER_WORDS = 16;

/** What the coordinator asks for. Zero (a fresh buffer) means Pause: nothing runs before boot. */
export const RunRequest = { Pause: 0, Run: 1, Stop: 2 } as const;
export type RunRequest = (typeof RunRequest)[keyof typeof RunRequest];

/** What the worker's run loop is doing. */
export const WorkerState = { Idle: 0, Running: 1, Paused: 2, Stopped: 3, Error: 4 } as const;
export type WorkerState = (typeof WorkerState)[keyof typeof WorkerState];

/** Why a running worker is asleep (for graphs and for targeted wake-ups). */
export const WaitReason = { None: 0, Tokens: 1, Halted: 2, Paused: 3, Output: 4 } as const;
export type WaitReason = (typeof WaitReason)[keyof typeof WaitReason];

/**
 * Live counters, all cumulative over the life of the worker (a reset does not
 * clear them, so rates never go negative). Times are wall-clock microseconds
 * measured by the worker.
 */
export const Counter = {
  /** Guest instructions retired. */
  Instructions: 0,
  /** Time spent inside Machine.runSlice: what CPU tokens pay for. */
  HostUsedUs: 1,
  /** Time asleep because the tokens ran out. */
  ThrottledUs: 2,
  /** Time asleep because the guest halted (HLT with nothing pending). */
  HaltedUs: 3,
  /** Frames the machine holds right now (a level, not a total). */
  ResidentFrames: 4,
  /** Interrupts delivered, when the machine reports them. */
  Irqs: 5,
  ConsoleInBytes: 6,
  ConsoleOutBytes: 7,
  /** Output dropped because the coordinator did not drain the ring in time. */
  ConsoleDroppedBytes: 8,
  /** runSlice calls. */
  Slices: 9,
  /** Worker clock since the runtime started: the time base for rates. */
  UptimeUs: 10,
  /** Time asleep waiting for the coordinator to drain console output. */
  BackpressureUs: 11,
  /** Guest instructions retired inside compiled (JIT) code: a part of Instructions. */
  JitInstructions: 12,
} as const;
export type Counter = (typeof Counter)[keyof typeof Counter];

/** Counter slots reserved (each two words). */
export const COUNTER_SLOTS = 16;

const COUNTERS_WORD = CONTROL_HEADER_WORDS;
const TOTAL_WORDS = CONTROL_HEADER_WORDS + 2 * COUNTER_SLOTS;
export const CONTROL_BLOCK_BYTES = TOTAL_WORDS * 4;

const TWO_32 = 0x1_0000_0000;
/** A reader gives up after this many torn reads (the writer publishes at most once a slice). */
const SEQLOCK_RETRIES = 64;

export class ControlBlockError extends Error {
  override name = 'ControlBlockError';
}

export class ControlBlock {
  readonly words: Int32Array;
  readonly shared: boolean;

  private constructor(readonly buffer: ArrayBuffer | SharedArrayBuffer) {
    if (buffer.byteLength < CONTROL_BLOCK_BYTES) {
      throw new ControlBlockError(`control block needs ${CONTROL_BLOCK_BYTES} bytes, got ${buffer.byteLength}`);
    }
    this.words = new Int32Array(buffer, 0, TOTAL_WORDS);
    this.shared = isShared(this.words);
  }

  /** A fresh block: shared when `shared` (the normal, cross-origin isolated case). */
  static create(shared: boolean): ControlBlock {
    const buffer = shared ? new SharedArrayBuffer(CONTROL_BLOCK_BYTES) : new ArrayBuffer(CONTROL_BLOCK_BYTES);
    const block = new ControlBlock(buffer);
    Atomics.store(block.words, ControlWord.Magic, CONTROL_MAGIC);
    Atomics.store(block.words, ControlWord.LayoutVersion, CONTROL_LAYOUT_VERSION);
    return block;
  }

  /** Attaches to a block created by the other side; refuses a foreign or outdated layout. */
  static attach(buffer: ArrayBuffer | SharedArrayBuffer): ControlBlock {
    const block = new ControlBlock(buffer);
    const magic = Atomics.load(block.words, ControlWord.Magic);
    const version = Atomics.load(block.words, ControlWord.LayoutVersion);
    if (magic !== CONTROL_MAGIC) throw new ControlBlockError('not a tabvisor control block (bad magic)');
    if (version !== CONTROL_LAYOUT_VERSION) {
      throw new ControlBlockError(`control block layout v${version}, this side expects v${CONTROL_LAYOUT_VERSION}`);
    }
    return block;
  }

  /** The word the worker sleeps on; rings that feed the worker signal it too. */
  get wakeWord(): WakeWord {
    return { words: this.words, index: ControlWord.Wake };
  }

  /** The word bumped on each worker state change (the coordinator may wait on it). */
  get stateWord(): WakeWord {
    return { words: this.words, index: ControlWord.StateSeq };
  }

  // ---- run state ---------------------------------------------------------

  /** Coordinator: ask for a run state and wake the worker so it sees it now. */
  request(state: RunRequest): void {
    Atomics.store(this.words, ControlWord.RequestedState, state);
    this.wake();
  }

  requested(): RunRequest {
    return Atomics.load(this.words, ControlWord.RequestedState) as RunRequest;
  }

  /** Worker: publish what the loop is doing. */
  setCurrent(state: WorkerState): void {
    if (Atomics.exchange(this.words, ControlWord.CurrentState, state) !== state) {
      signal(this.stateWord);
    }
  }

  current(): WorkerState {
    return Atomics.load(this.words, ControlWord.CurrentState) as WorkerState;
  }

  stateSeq(): number {
    return Atomics.load(this.words, ControlWord.StateSeq);
  }

  wake(): void {
    signal(this.wakeWord);
  }

  wakeSeq(): number {
    return Atomics.load(this.words, ControlWord.Wake);
  }

  setWaitReason(reason: WaitReason): void {
    Atomics.store(this.words, ControlWord.WaitReason, reason);
  }

  waitReason(): WaitReason {
    return Atomics.load(this.words, ControlWord.WaitReason) as WaitReason;
  }

  // ---- CPU tokens --------------------------------------------------------

  /**
   * Coordinator: add `grantUs` to the balance, keeping the balance at most
   * `maxBalanceUs` (unused tokens carry over only that far: a VM that could not
   * run may catch up a little, an idle one cannot hoard). A negative balance
   * (a slice that overran) is paid back from the grant. Wakes the worker only
   * if it sleeps for tokens, so idle guests are not disturbed every period.
   * Returns the new balance.
   */
  grant(grantUs: number, maxBalanceUs: number): number {
    const consumed = Atomics.load(this.words, ControlWord.TokensConsumedUs);
    const granted = Atomics.load(this.words, ControlWord.TokensGrantedUs);
    const balance = (granted - consumed) | 0;
    const next = Math.round(Math.min(balance + grantUs, Math.max(balance, maxBalanceUs)));
    Atomics.store(this.words, ControlWord.TokensGrantedUs, (consumed + next) | 0);
    if (Atomics.load(this.words, ControlWord.WaitReason) === WaitReason.Tokens) this.wake();
    return next;
  }

  /** CPU µs the worker may still use (negative after an overrun). */
  balanceUs(): number {
    return (Atomics.load(this.words, ControlWord.TokensGrantedUs) - Atomics.load(this.words, ControlWord.TokensConsumedUs)) | 0;
  }

  /** Worker: pay for `us` whole microseconds of CPU. */
  consume(us: number): void {
    Atomics.add(this.words, ControlWord.TokensConsumedUs, us | 0);
  }

  grantedTotal(): number {
    return Atomics.load(this.words, ControlWord.TokensGrantedUs);
  }

  consumedTotal(): number {
    return Atomics.load(this.words, ControlWord.TokensConsumedUs);
  }

  /** Message fallback: mirror the other side's token totals. */
  setGrantedTotal(value: number): void {
    Atomics.store(this.words, ControlWord.TokensGrantedUs, value | 0);
  }

  setConsumedTotal(value: number): void {
    Atomics.store(this.words, ControlWord.TokensConsumedUs, value | 0);
  }

  // ---- memory ------------------------------------------------------------

  setMemoryBudgetFrames(frames: number): void {
    Atomics.store(this.words, ControlWord.MemoryBudgetFrames, Math.max(0, Math.min(frames, 0x7fff_ffff)) | 0);
  }

  /** 0 = unlimited. */
  memoryBudgetFrames(): number {
    return Atomics.load(this.words, ControlWord.MemoryBudgetFrames);
  }

  // ---- generation --------------------------------------------------------

  generation(): number {
    return Atomics.load(this.words, ControlWord.Generation);
  }

  bumpGeneration(): void {
    Atomics.add(this.words, ControlWord.Generation, 1);
  }

  // ---- counters ----------------------------------------------------------

  /** Worker: publish all counters at once (values indexed by `Counter`). */
  publishCounters(values: Float64Array): void {
    const w = this.words;
    Atomics.add(w, ControlWord.CounterSeq, 1);
    const n = Math.min(values.length, COUNTER_SLOTS);
    for (let i = 0; i < n; i++) {
      const v = Math.max(0, Math.floor(values[i]!));
      Atomics.store(w, COUNTERS_WORD + 2 * i, v % TWO_32 | 0);
      Atomics.store(w, COUNTERS_WORD + 2 * i + 1, Math.floor(v / TWO_32) | 0);
    }
    Atomics.add(w, ControlWord.CounterSeq, 1);
  }

  /**
   * Reads one consistent batch of counters into `out` (length >= COUNTER_SLOTS
   * is not required; extra slots are ignored). Returns false only if the
   * writer kept publishing during every retry, leaving `out` with the last
   * (possibly mixed) read.
   */
  readCounters(out: Float64Array): boolean {
    const w = this.words;
    const n = Math.min(out.length, COUNTER_SLOTS);
    for (let attempt = 0; attempt < SEQLOCK_RETRIES; attempt++) {
      const before = Atomics.load(w, ControlWord.CounterSeq);
      if ((before & 1) !== 0) continue;
      for (let i = 0; i < n; i++) {
        const lo = Atomics.load(w, COUNTERS_WORD + 2 * i) >>> 0;
        const hi = Atomics.load(w, COUNTERS_WORD + 2 * i + 1) >>> 0;
        out[i] = hi * TWO_32 + lo;
      }
      if (Atomics.load(w, ControlWord.CounterSeq) === before) return true;
    }
    return false;
  }

  /** A fresh array sized for every counter slot. */
  static counterArray(): Float64Array {
    return new Float64Array(COUNTER_SLOTS);
  }
}
