/** Messages between `npm run bench:proxy` and the child processes it starts (over IPC). */

/** Sent by a child once it serves: its base URL and anything the parent needs (an API key). */
export interface ReadyMessage {
  type: 'ready';
  url: string;
  detail: Record<string, string>;
}

/** Sent by the fake after a `configure`. */
export interface ConfiguredMessage {
  type: 'configured';
}

/** Sent by Anvil's child after a `stats`: its event loop since the previous `stats`. */
export interface StatsMessage {
  type: 'stats';
  /** Share of the time the event loop was busy (performance.eventLoopUtilization). */
  eventLoopUtilization: number;
  /** 99th percentile of the event loop's delay, ms. */
  eventLoopDelayP99Ms: number;
  heapUsedBytes: number;
}

/** Any message a child sends. */
export type ChildMessage = ReadyMessage | ConfiguredMessage | StatsMessage;

/** Sent to the fake: how generations starting from now on are answered. */
export interface ConfigureMessage {
  type: 'configure';
  tokens: number;
  chunkDelayMs: number;
}

/** Sent to Anvil's child: report (and restart) the event-loop statistics. */
export interface StatsRequest {
  type: 'stats';
}

/** Any message the benchmark sends to a child. */
export type ParentMessage = ConfigureMessage | StatsRequest;
