/** Keeps a failure in one part of the UI (a tile) from blanking the page; says what broke instead. */
import { Component, type ReactNode } from 'react';

interface Props {
  /** What this part is, for the message ("the console of vm-1"). */
  what: string;
  children: ReactNode;
}

interface State {
  error: Error | undefined;
}

export class ErrorBoundary extends Component<Props, State> {
  override state: State = { error: undefined };

  static getDerivedStateFromError(error: unknown): State {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  override componentDidCatch(error: unknown): void {
    console.error(`tabvisor: ${this.props.what} failed`, error);
  }

  override render(): ReactNode {
    if (this.state.error) {
      return (
        <p role="alert" className="failure">
          Could not show {this.props.what}: {this.state.error.message}
        </p>
      );
    }
    return this.props.children;
  }
}
