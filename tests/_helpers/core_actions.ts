/**
 * Draining a sans-I/O p2p core (`SenderCore`, `ReceiverCore`) by hand in tests.
 *
 * @module
 */

/**
 * Every action a core hands out until (and including) its `wait`, none of them answered.
 * Cores reuse the objects of frequent actions (`wait`, the sender's `send`): read those
 * before polling again.
 *
 * @param poll the core's `poll` at a fixed time.
 * @returns the actions, the `wait` last.
 */
export function actionsUntilWait<A extends { type: string }>(poll: () => A): A[] {
  const actions: A[] = [];
  for (;;) {
    const action = poll();
    actions.push(action);
    if (action.type === "wait") return actions;
  }
}
