/** Saving bytes as a file in the user's downloads (the page has no other way to write files). */

export function downloadBytes(fileName: string, bytes: Uint8Array): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // The download reads the blob after click() returns: give it time before the URL goes.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
