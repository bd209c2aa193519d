/**
 * Downloads shared by key: concurrent and later requests for the same key
 * get the first request's promise, and every caller's progress listener sees
 * the running download (the latest report at once, then each new one). A
 * failed download is forgotten, so asking again starts a new one.
 */
export interface DownloadProgress {
  /** Bytes received so far over all files of the download. */
  readonly loaded: number;
  /** Expected bytes over all files, when known. */
  readonly total: number | undefined;
  /** What is being fetched now, for humans ("kernel image"). */
  readonly current: string;
}

export type ProgressListener = (progress: DownloadProgress) => void;

export class SharedDownloads<T> {
  private readonly pending = new Map<string, Promise<T>>();
  private readonly listeners = new Map<string, Set<ProgressListener>>();
  private readonly latest = new Map<string, DownloadProgress>();

  /** The download for `key`, started with `start` (which reports through its argument) unless one exists. */
  get(key: string, start: (report: ProgressListener) => Promise<T>, onProgress?: ProgressListener): Promise<T> {
    let pending = this.pending.get(key);
    if (onProgress) {
      let set = this.listeners.get(key);
      if (!set) this.listeners.set(key, (set = new Set()));
      set.add(onProgress);
      const last = this.latest.get(key);
      if (last && pending) onProgress(last);
    }
    if (!pending) {
      pending = start((progress) => this.report(key, progress));
      this.pending.set(key, pending);
      pending.catch(() => this.pending.delete(key));
    }
    const forget = (): void => {
      if (onProgress) this.listeners.get(key)?.delete(onProgress);
    };
    pending.then(forget, forget);
    return pending;
  }

  private report(key: string, progress: DownloadProgress): void {
    this.latest.set(key, progress);
    for (const listener of this.listeners.get(key) ?? []) listener(progress);
  }
}
