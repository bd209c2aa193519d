/**
 * Initial value of a number field that will hold values outside ±2^30:
 * int32 guest values (addresses, EIPs, operands), nanosecond times, counters.
 *
 * Chromium's V8 compresses pointers, so its small integers (Smis) have 31
 * bits. A field first given a Smi is a Smi field; the first store of a value
 * outside ±2^30 widens it to a double field, which deprecates the object's
 * shape and discards all optimised code that relied on that shape. During a
 * cold boot in Chromium that happened to the CPU object a dozen times, each
 * followed by a TurboFan recompile of the interpreter loop that kept one of
 * the two cores busy for 0.4-0.8 s.
 *
 * -0 is a number but never a Smi, so the field is a double field from the
 * start. It equals 0 in every comparison, arithmetic and bitwise operation.
 */
export const DOUBLE_ZERO = -0;
