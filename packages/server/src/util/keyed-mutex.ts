/**
 * The one mutex of the control plane: tasks given the same key run one at a time, in the order
 * they were given; tasks of different keys run side by side. A task that throws or rejects
 * releases the key like one that succeeds (its caller gets the error). A key is forgotten as
 * soon as its last task settles, so keys that come and go (base environments, clients) leave
 * nothing behind. In-process only: it orders work inside one control plane, not across several.
 */
export class KeyedMutex<K = string> {
  /** Per key, the settlement of the last task queued: never rejects. */
  readonly #tails = new Map<K, Promise<void>>();

  /** Runs `task` once every task queued before it under `key` has settled. */
  run<T>(key: K, task: () => Promise<T>): Promise<T> {
    const result = (this.#tails.get(key) ?? Promise.resolve()).then(task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** Resolves when every task queued under `key` so far has settled (at once when there is none). */
  async idle(key: K): Promise<void> {
    await this.#tails.get(key);
  }

  /** How many keys have a task running or waiting. */
  get size(): number {
    return this.#tails.size;
  }
}
