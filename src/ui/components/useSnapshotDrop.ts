/**
 * Makes an element (a VM's tile) a drop target for `.tabvm` files: while a
 * file is dragged over it `dragging` is true (for a highlight), and a dropped
 * file is imported, shown in that VM's snapshot panel. Only file drags are
 * taken; text dragged into the console is left to the browser.
 */
import { useRef, useState, type DragEvent } from 'react';
import type { SnapshotLibrary } from '../snapshot-library.ts';
import { importSnapshotFile } from '../snapshot-panel-actions.ts';

export interface SnapshotDrop {
  readonly dragging: boolean;
  readonly handlers: {
    onDragEnter(event: DragEvent): void;
    onDragOver(event: DragEvent): void;
    onDragLeave(event: DragEvent): void;
    onDrop(event: DragEvent): void;
  };
}

const carriesFiles = (event: DragEvent): boolean => Array.from(event.dataTransfer.types).includes('Files');

export function useSnapshotDrop(library: SnapshotLibrary, vmId: string): SnapshotDrop {
  const [dragging, setDragging] = useState(false);
  // dragenter/dragleave fire for every child crossed: count them to know when the pointer really left.
  const depth = useRef(0);
  return {
    dragging,
    handlers: {
      onDragEnter(event) {
        if (!carriesFiles(event)) return;
        event.preventDefault();
        depth.current++;
        setDragging(true);
      },
      onDragOver(event) {
        if (!carriesFiles(event)) return;
        // Without this the browser would open the file in place of the page.
        event.preventDefault();
        event.dataTransfer.dropEffect = 'copy';
      },
      onDragLeave(event) {
        if (!carriesFiles(event)) return;
        depth.current = Math.max(0, depth.current - 1);
        if (depth.current === 0) setDragging(false);
      },
      onDrop(event) {
        if (!carriesFiles(event)) return;
        event.preventDefault();
        depth.current = 0;
        setDragging(false);
        // One file per drop: the panel shows one operation at a time.
        const file = event.dataTransfer.files[0];
        if (file) void importSnapshotFile(library, vmId, file, file.name);
      },
    },
  };
}
