/** What the loaders need from guest memory (GuestMemory provides it; tests may pass a plain buffer). */
export interface LoaderMemory {
  writeBytes(address: number, data: Uint8Array): void;
  readBytes(address: number, dest: Uint8Array): void;
  /** Zeroes guest RAM without allocating pages that are still untouched. */
  zeroBytes(address: number, length: number): void;
}
