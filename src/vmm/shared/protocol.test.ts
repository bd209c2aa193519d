import { describe, expect, it } from 'vitest';
import { checkProtocolVersion, PROTOCOL_VERSION, ProtocolVersionError } from './protocol.ts';

describe('protocol version', () => {
  it('accepts its own version and explains a mismatch', () => {
    expect(() => checkProtocolVersion(PROTOCOL_VERSION, 'peer')).not.toThrow();
    expect(() => checkProtocolVersion(PROTOCOL_VERSION + 1, 'the guest worker of vm-1')).toThrow(ProtocolVersionError);
    expect(() => checkProtocolVersion(undefined, 'the guest worker of vm-1')).toThrow(
      /the guest worker of vm-1 speaks version undefined, this side speaks version 1/,
    );
  });
});
