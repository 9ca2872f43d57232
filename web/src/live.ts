/**
 * Live updates: one EventSource on /api/v1/live for the whole page. Pages subscribe to the kinds of
 * change they show and fetch again (at most once a second) when one arrives.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { LiveChange, LiveTopic } from "../../src/server/api-schemas.ts";

type Listener = (topics: LiveTopic[]) => void;

const listeners = new Set<Listener>();
let source: EventSource | undefined;
const connected = new Set<(on: boolean) => void>();

export function startLive(): void {
  if (source) return;
  source = new EventSource("/api/v1/live");
  source.addEventListener("open", () => {
    for (const c of connected) c(true);
  });
  source.addEventListener("error", () => {
    for (const c of connected) c(false);
  });
  source.addEventListener("change", (event) => {
    const { topics } = JSON.parse((event as MessageEvent<string>).data) as LiveChange;
    for (const listener of listeners) listener(topics);
  });
}

export function stopLive(): void {
  source?.close();
  source = undefined;
}

/** Whether the live stream is connected. */
export function useLiveConnected(): boolean {
  const [on, setOn] = useState(source?.readyState === 1);
  useEffect(() => {
    connected.add(setOn);
    return () => {
      connected.delete(setOn);
    };
  }, []);
  return on;
}

/** Calls `refresh` when one of `topics` changes, at most once per `everyMs`. */
export function useLive(topics: LiveTopic[], refresh: () => void, everyMs = 1000): void {
  const latest = useRef(refresh);
  latest.current = refresh;
  const key = topics.join(",");
  useEffect(() => {
    let timer: number | undefined;
    let last = 0;
    const wanted = key.split(",");
    const listener: Listener = (changed) => {
      if (!changed.some((t) => wanted.includes(t)) || timer !== undefined) return;
      const wait = Math.max(0, last + everyMs - Date.now());
      timer = window.setTimeout(() => {
        timer = undefined;
        last = Date.now();
        latest.current();
      }, wait);
    };
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      clearTimeout(timer);
    };
  }, [key, everyMs]);
}
