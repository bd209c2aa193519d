/**
 * Launches Debian's Chromium (never a downloaded browser) through playwright-core.
 * The flags keep it headless and off the network: this machine reaches no hosts.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.TABVISOR_CHROMIUM ?? '/usr/bin/chromium';

export interface LaunchOptions {
  /**
   * Wait this long after launch before returning. For benchmarks: Chromium
   * 156 starts a renderer for its omnibox-popup WebUI even when headless, and
   * it keeps about one core busy for ~3 s (a Chrome trace: 3.1 s of main
   * thread plus thread-pool work); on a 2-core host the first measurement
   * would share the machine with it.
   */
  settleMs?: number;
}

export async function launchChromium(options: LaunchOptions = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: install Debian's package with \`apt-get install -y chromium\``);
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      // For experiments, e.g. TABVISOR_CHROMIUM_FLAGS='--js-flags=--no-wasm-inlining'.
      ...(process.env.TABVISOR_CHROMIUM_FLAGS ?? '').split(' ').filter(Boolean),
    ],
  });
  if (options.settleMs) await new Promise((resolve) => setTimeout(resolve, options.settleMs));
  return browser;
}
