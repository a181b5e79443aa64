/** Something that holds a listener, timer, window or socket, and lets it go. */
export interface Disposable {
  dispose(): void;
}

/**
 * Owns a set of disposables and ends them together, newest first (what was set up last may
 * depend on what came before). Disposing twice is harmless; one failing does not stop the rest.
 */
export class DisposableStore implements Disposable {
  private items: Disposable[] = [];
  private disposed = false;

  add<T extends Disposable>(item: T): T {
    if (this.disposed) item.dispose();
    else this.items.push(item);
    return item;
  }

  /** Wrap a plain undo function. */
  addFn(fn: () => void): void {
    this.add({ dispose: fn });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const items = this.items.reverse();
    this.items = [];
    for (const item of items) {
      try {
        item.dispose();
      } catch {
        // Best effort: the rest must still be released.
      }
    }
  }
}
