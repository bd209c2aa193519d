/** The playground shell. VMs, consoles and graphs arrive with the coordinator. */
export function App() {
  const isolated = globalThis.crossOriginIsolated === true;
  return (
    <main>
      <h1>tabvisor</h1>
      <p>An x86 virtual machine monitor in a browser tab.</p>
      <p role="status">
        {isolated
          ? 'Cross-origin isolated: shared guest memory is available.'
          : 'Not cross-origin isolated: VMs will run on private memory with reduced features.'}
      </p>
    </main>
  );
}
