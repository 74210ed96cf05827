/**
 * Concurrent readers of the same state share one read: while the health inputs of a set of
 * connections are being loaded, a second `health` or `status` waits for that load instead of
 * starting another. With many chat requests at once over thousands of linked groups (and a sync
 * busy in the database), each would otherwise queue behind the others. A caller that arrives
 * after a load has finished starts a new one, so nothing is kept past the read it came from.
 */
export class SharedReads<K, V> {
  readonly #inFlight = new Map<K, Promise<V>>();

  read(key: K, load: () => Promise<V>): Promise<V> {
    const running = this.#inFlight.get(key);
    if (running) return running;
    const started = load().finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, started);
    return started;
  }
}
