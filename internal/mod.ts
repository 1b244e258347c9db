/**
 * Helpers shared between iotnet's own folders (`server/`, `client/`, `p2p/`, `scripts/`):
 * the clock seam, promise and lock primitives, the one write-all loop, buffer pooling and
 * the escaping of untrusted text for display, and the socket calls Deno lacks (FFI into libc).
 *
 * **Not public.** Nothing here is re-exported by `mod.ts` or listed in `deno.json`'s
 * `exports`; these helpers change whenever the code that uses them does. Code outside
 * `internal/` imports them through this file, never through the files behind it, so
 * this list is the whole of what the folders share. The one exception is the
 * {@linkcode Clock} type (and its {@linkcode TimerId}), which the public entries export
 * because `ServerOptions` and `PeerEndpointOptions` take a clock.
 *
 * @module
 */

export { AcceptedSockets } from "./accepted_socket.ts";
export type { Peeked } from "./accepted_socket.ts";
export { BufferPool } from "./buffer_pool.ts";
export { ManualClock, systemClock } from "./clock.ts";
export type { Clock, TimerId } from "./clock.ts";
export { Coalesced } from "./coalesced.ts";
export { deferred } from "./deferred.ts";
export type { Deferred } from "./deferred.ts";
export { isoSeconds } from "./iso_time.ts";
export { KeyedLock } from "./keyed_lock.ts";
export { Semaphore } from "./semaphore.ts";
export type { Permit } from "./semaphore.ts";
export { DEAD_AFTER_INTERVALS, SilenceWatch } from "./silence_watch.ts";
export type { SilenceWatchOptions } from "./silence_watch.ts";
export { SOCKET, SocketOptions } from "./socket_options.ts";
export { visible } from "./visible_text.ts";
export type { VisibleOptions } from "./visible_text.ts";
export { writeAll } from "./write_all.ts";
export type { Writer } from "./write_all.ts";
