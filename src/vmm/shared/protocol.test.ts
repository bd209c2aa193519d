import { describe, expect, it } from 'vitest';
import { checkProtocolVersion, PROTOCOL_VERSION, ProtocolVersionError } from './protocol.ts';

describe('protocol version', () => {
  it('accepts its own version and explains a mismatch', () => {
    expect(() => checkProtocolVersion(PROTOCOL_VERSION, 'peer')).not.toThrow();
    expect(() => checkProtocolVersion(PROTOCOL_VERSION + 1, 'the guest worker of vm-1')).toThrow(ProtocolVersionError);
    expect(() => checkProtocolVersion(undefined, 'the guest worker of vm-1')).toThrow(
      /the guest worker of vm-1 speaks version undefined, this side speaks version 2/,
    );
    // Version 2 added snapshot/restore: a worker of the first release is refused, not half-used.
    expect(PROTOCOL_VERSION).toBe(2);
    expect(() => checkProtocolVersion(1, 'the guest worker of vm-1')).toThrow(/speaks version 1, this side speaks version 2 \(stale cached worker script\? reload the page\)/);
  });
});
