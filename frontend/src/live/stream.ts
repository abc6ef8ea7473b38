// Follow one Server-Sent Events stream of the events gateway (e.g. /api/chain/events)
// for a page: reconnects when the server ends a stream, and when there is no stream
// (an older server, the gateway down) calls `poll` every few seconds instead, trying
// the stream again now and then. The page decides what each event means.

import { useEffect, useRef, useState } from 'react'
import { ApiError, apiStream } from '../api/client'
import { readEvents } from '../lib/sse'
import type { FeedMode } from './feed'

export interface StreamOptions {
  /** Called on every event: its type and parsed JSON data. */
  onEvent: (event: string, data: unknown) => void
  /** Read the page's data again: once when the stream opens, and as the fallback. */
  poll?: () => void | Promise<void>
  pollMs?: number
  retryMs?: number
  reconnectMs?: number
}

export class LiveStream {
  private abort: AbortController | null = null
  private timers = new Set<ReturnType<typeof setTimeout>>()
  private mode: FeedMode = 'connecting'
  private polling = false

  constructor(
    private readonly path: string,
    private readonly options: StreamOptions,
    private readonly onMode: (mode: FeedMode) => void = () => {},
  ) {}

  start(): void {
    if (this.abort) return
    this.abort = new AbortController()
    void this.open()
  }

  stop(): void {
    this.abort?.abort()
    this.abort = null
    this.polling = false
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    this.setMode('stopped')
  }

  private get stopped(): boolean {
    return !this.abort || this.abort.signal.aborted
  }

  private setMode(mode: FeedMode): void {
    if (mode === this.mode) return
    this.mode = mode
    this.onMode(mode)
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      if (!this.stopped) fn()
    }, ms)
    this.timers.add(timer)
  }

  private async open(): Promise<void> {
    if (this.stopped) return
    const { onEvent, poll, retryMs = 60_000, reconnectMs = 1000 } = this.options
    try {
      const response = await apiStream(this.path, { signal: this.abort!.signal })
      this.polling = false
      this.setMode('live')
      // What happened while no stream was open is read once.
      void Promise.resolve(poll?.()).catch(() => {})
      await readEvents(response, ({ event, data }) => {
        let parsed: unknown = data
        try {
          parsed = JSON.parse(data)
        } catch {
          // Not JSON: hand the text over as it is.
        }
        onEvent(event, parsed)
      })
      this.later(reconnectMs, () => void this.open())
    } catch (err) {
      if (this.stopped) return
      if (err instanceof ApiError && err.status === 401) {
        this.stop()
        return
      }
      if (this.mode === 'live') {
        this.setMode('connecting')
        this.later(reconnectMs, () => void this.open())
        return
      }
      this.startPolling()
      this.later(retryMs, () => void this.open())
    }
  }

  private startPolling(): void {
    if (!this.options.poll) {
      this.setMode('stopped')
      return
    }
    this.setMode('polling')
    if (this.polling) return
    this.polling = true
    const tick = async () => {
      if (!this.polling || this.stopped) return
      const hidden = typeof document !== 'undefined' && document.hidden
      if (!hidden) await Promise.resolve(this.options.poll?.()).catch(() => {})
      if (this.polling) this.later(this.options.pollMs ?? 5000, () => void tick())
    }
    void tick()
  }
}

/**
 * Follow `path` while the component is shown; `onEvent` and `poll` may change between
 * renders (the latest ones are called). Returns how the page stays current.
 */
export function useLiveStream(path: string | null, options: StreamOptions): FeedMode {
  const latest = useRef(options)
  latest.current = options
  const [mode, setMode] = useState<FeedMode>('connecting')
  const { pollMs, retryMs, reconnectMs } = options
  useEffect(() => {
    if (!path) return
    const stream = new LiveStream(
      path,
      {
        onEvent: (event, data) => latest.current.onEvent(event, data),
        poll: () => latest.current.poll?.(),
        pollMs,
        retryMs,
        reconnectMs,
      },
      setMode,
    )
    stream.start()
    return () => stream.stop()
  }, [path, pollMs, retryMs, reconnectMs])
  return mode
}
