/**
 * One VM's serial console: xterm.js fed from the coordinator's console
 * channel with flow control (console-flow.ts), typing sent with
 * coordinator.send, fitted to its container (ResizeObserver), copy/paste via
 * the selection + Ctrl/Cmd-Shift-C/V or the browser's clipboard events.
 * F6 / Shift+F6 move the focus out of the terminal (Tab belongs to the shell).
 */
import { FitAddon } from '@xterm/addon-fit';
import { Terminal, type ITheme } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { useEffect, useRef } from 'react';
import type { Coordinator } from '../../vmm/coordinator.ts';
import { ConsoleFlow } from '../console-flow.ts';

export interface ConsoleProps {
  coordinator: Coordinator;
  vmId: string;
  name: string;
  /** Focus the terminal whenever this changes to a new number. */
  focusSeq?: number | undefined;
  /** Id of a visible hint about the console's keys, read out with the terminal's input. */
  hintId?: string | undefined;
}

const THEME: ITheme = {
  background: '#0b0e13',
  foreground: '#d7dde6',
  cursor: '#7fd1ff',
  selectionBackground: '#2f4a66',
  black: '#1b1f27',
  brightBlack: '#5c6370',
};

/** How much of the retained transcript a (re)mounted console replays. */
const REPLAY_CHARS = 256 * 1024;

export function consoleLabel(name: string): string {
  return `Console ${name}`;
}

export function Console({ coordinator, vmId, name, focusSeq, hintId }: ConsoleProps) {
  const containerRef = useRef<HTMLDivElement>(null);
  const terminalRef = useRef<Terminal | undefined>(undefined);
  const nameRef = useRef(name);
  nameRef.current = name;

  useEffect(() => {
    // The VM may be deleted between a render and this effect; its tile is about to go.
    if (!coordinator.list().some((vm) => vm.id === vmId)) return undefined;
    const container = containerRef.current!;
    const terminal = new Terminal({
      scrollback: 5000,
      cursorBlink: true,
      fontFamily: '"DejaVu Sans Mono", ui-monospace, Menlo, Consolas, monospace',
      fontSize: 13,
      theme: THEME,
      rightClickSelectsWord: true,
    });
    const fit = new FitAddon();
    terminal.loadAddon(fit);
    terminal.open(container);
    terminal.textarea?.setAttribute('aria-label', consoleLabel(nameRef.current));
    terminalRef.current = terminal;

    const flow = new ConsoleFlow({ write: (data, done) => terminal.write(data, done) });
    // Reading the transcript and subscribing in one turn: no output can fall in between.
    flow.push(replayTail(coordinator.transcript(vmId)));
    const output = coordinator.onConsoleOutput(vmId, ({ text }) => flow.push(text));
    const input = terminal.onData((data) => {
      // A stopped VM takes no input; the state is shown next to the console.
      coordinator.send(vmId, data).catch(() => undefined);
    });
    terminal.attachCustomKeyEventHandler((event) => handleKeys(terminal, event));

    let frame = 0;
    const refit = (): void => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => {
        if (container.clientWidth > 0 && container.clientHeight > 0) fit.fit();
      });
    };
    const observer = new ResizeObserver(refit);
    observer.observe(container);
    refit();

    return () => {
      cancelAnimationFrame(frame);
      observer.disconnect();
      output.dispose();
      input.dispose();
      flow.dispose();
      terminalRef.current = undefined;
      terminal.dispose();
    };
  }, [coordinator, vmId]);

  useEffect(() => {
    const textarea = terminalRef.current?.textarea;
    textarea?.setAttribute('aria-label', consoleLabel(name));
    if (hintId) textarea?.setAttribute('aria-describedby', hintId);
  }, [name, hintId, vmId]);

  useEffect(() => {
    if (focusSeq !== undefined) terminalRef.current?.focus();
  }, [focusSeq]);

  return <div className="console" ref={containerRef} data-vm={vmId} />;
}

function replayTail(transcript: string): string {
  if (transcript.length <= REPLAY_CHARS) return transcript;
  const cut = transcript.length - REPLAY_CHARS;
  const lineStart = transcript.indexOf('\n', cut);
  return transcript.slice(lineStart < 0 ? cut : lineStart + 1);
}

/** Returns false for keys the terminal must not see (xterm's convention). */
function handleKeys(terminal: Terminal, event: KeyboardEvent): boolean {
  const modifier = event.ctrlKey || event.metaKey;
  if (modifier && event.shiftKey && event.code === 'KeyC') {
    if (event.type === 'keydown' && terminal.hasSelection()) {
      navigator.clipboard?.writeText(terminal.getSelection()).catch(() => undefined);
    }
    event.preventDefault();
    return false;
  }
  // The browser turns Ctrl/Cmd-Shift-V into a paste event, which xterm handles.
  if (modifier && event.shiftKey && event.code === 'KeyV') return false;
  if (event.key === 'F6' && !modifier && !event.altKey) {
    if (event.type === 'keydown') {
      event.preventDefault();
      moveFocus(terminal.element, event.shiftKey ? -1 : 1);
    }
    return false;
  }
  return true;
}

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex="-1"])';

/** Focuses the next (or previous) focusable element outside the terminal. */
function moveFocus(element: HTMLElement | undefined, direction: 1 | -1): void {
  if (!element) return;
  const all = [...document.querySelectorAll<HTMLElement>(FOCUSABLE)].filter(
    (candidate) => !element.contains(candidate) && candidate.offsetParent !== null,
  );
  const position = (candidate: HTMLElement): number => element.compareDocumentPosition(candidate);
  const after = all.filter((candidate) => position(candidate) & Node.DOCUMENT_POSITION_FOLLOWING);
  const before = all.filter((candidate) => position(candidate) & Node.DOCUMENT_POSITION_PRECEDING);
  const target = direction === 1 ? (after[0] ?? all[0]) : (before[before.length - 1] ?? all[all.length - 1]);
  target?.focus();
}
