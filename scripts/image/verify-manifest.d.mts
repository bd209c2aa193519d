/** Problems found in a guest image manifest; empty when every file matches. */
export function verifyManifest(manifestPath: string): string[];
