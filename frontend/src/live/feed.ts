// Keeps one user's account summary up to date without reloading: Server-Sent Events from
// GET /api/users/events when the server streams them, else a plain read of the account
// (GET /api/users/account, which logs no command) every few seconds (trying the stream again now and then). Also passes fresh quotes on and notices
// when an automatic buy or sell has fired.

import { ApiError, apiStream } from '../api/client'
import { accountView } from '../api/endpoints'
import type { LogEntry, QuotePoint, Summary } from '../api/types'
import { readEvents } from '../lib/sse'

export type FeedMode = 'connecting' | 'live' | 'polling' | 'stopped'

export interface Notice {
  id: string
  text: string
}

export interface FeedState {
  summary: Summary | null
  /** 'no-account': the user has no trading account yet (ADD creates one). */
  status: 'loading' | 'ready' | 'no-account' | 'error'
  error: string | null
  mode: FeedMode
  /** Unix ms of the last summary received. */
  updatedAt: number | null
  notices: Notice[]
}

export interface LiveQuote extends QuotePoint {
  symbol: string
}

export interface FeedOptions {
  pollMs?: number
  sseRetryMs?: number
  reconnectMs?: number
}

const INITIAL: FeedState = {
  summary: null,
  status: 'loading',
  error: null,
  mode: 'connecting',
  updatedAt: null,
  notices: [],
}

function entryKey(e: LogEntry): string {
  return `${e.timestamp}:${e.transactionNum}:${e.command}:${e.stockSymbol}:${e.funds}`
}

/** Words for a systemEvent: the trigger checker completed an automatic trade, or sold
 * shares under a stop-loss (logged as a SELL). */
export function describeFired(e: LogEntry): string {
  const symbol = e.stockSymbol ? ` of ${e.stockSymbol}` : ''
  const txn = e.transactionNum ? ` (transaction ${e.transactionNum})` : ''
  if (e.command === 'SELL') return `Stop-loss sale${symbol} went through${txn}.`
  const side = e.command === 'SET_SELL_TRIGGER' ? 'sell' : 'buy'
  return `Automatic ${side}${symbol} went through${txn}.`
}

export class AccountFeed {
  private state: FeedState = INITIAL
  private listeners = new Set<(s: FeedState) => void>()
  private quoteListeners = new Set<(q: LiveQuote) => void>()
  private abort: AbortController | null = null
  private pollTimer: ReturnType<typeof setTimeout> | null = null
  private streamTimer: ReturnType<typeof setTimeout> | null = null
  private polling = false
  private seenEvents: Set<string> | null = null
  private readonly pollMs: number
  private readonly sseRetryMs: number
  private readonly reconnectMs: number

  constructor(
    private readonly user: string,
    options: FeedOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 5000
    this.sseRetryMs = options.sseRetryMs ?? 60000
    this.reconnectMs = options.reconnectMs ?? 1000
  }

  getState = (): FeedState => this.state

  subscribe = (listener: (s: FeedState) => void): (() => void) => {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Be told about every fresh quote the server announces (live mode only). */
  onQuote(listener: (q: LiveQuote) => void): () => void {
    this.quoteListeners.add(listener)
    return () => this.quoteListeners.delete(listener)
  }

  start(): void {
    if (this.abort) return
    this.abort = new AbortController()
    void this.openStream()
  }

  stop(): void {
    this.abort?.abort()
    this.abort = null
    this.stopPolling()
    if (this.streamTimer) clearTimeout(this.streamTimer)
    this.streamTimer = null
    this.set({ mode: 'stopped' })
  }

  /**
   * Show the effect of a command the user just ran. A live stream pushes the change by
   * itself; otherwise read the summary now (and resume the stream if the account has
   * just been created).
   */
  async refresh(): Promise<void> {
    if (this.state.mode === 'live' || !this.abort) return
    const hadAccount = this.state.status !== 'no-account'
    await this.fetchSummary()
    if (!hadAccount && this.state.status === 'ready') this.retryStreamSoon(0)
  }

  dismiss(id: string): void {
    this.set({ notices: this.state.notices.filter((n) => n.id !== id) })
  }

  // --- internals ------------------------------------------------------------------

  private set(patch: Partial<FeedState>): void {
    this.state = { ...this.state, ...patch }
    for (const listener of this.listeners) listener(this.state)
  }

  private get stopped(): boolean {
    return !this.abort || this.abort.signal.aborted
  }

  private receive(summary: Summary): void {
    const fired: Notice[] = []
    const events = (summary.recent_transactions ?? []).filter((e) => e.type === 'systemEvent')
    if (this.seenEvents === null) {
      this.seenEvents = new Set(events.map(entryKey))
    } else {
      for (const e of events) {
        const key = entryKey(e)
        if (this.seenEvents.has(key)) continue
        this.seenEvents.add(key)
        fired.push({ id: key, text: describeFired(e) })
      }
    }
    this.set({
      summary,
      status: 'ready',
      error: null,
      updatedAt: Date.now(),
      notices: fired.length ? [...this.state.notices, ...fired] : this.state.notices,
    })
  }

  private async openStream(): Promise<void> {
    if (this.stopped) return
    const signal = this.abort!.signal
    try {
      const response = await apiStream('/api/users/events', { signal })
      this.stopPolling()
      this.set({ mode: 'live' })
      await readEvents(response, ({ event, data }) => {
        if (event === 'account') this.receive(JSON.parse(data) as Summary)
        else if (event === 'quote') {
          const quote = JSON.parse(data) as LiveQuote
          for (const listener of this.quoteListeners) listener(quote)
        }
      })
      // The server ends a stream after a while; pick it up again at once.
      this.retryStreamSoon(this.reconnectMs)
    } catch (err) {
      if (this.stopped) return
      if (err instanceof ApiError && err.status === 401) {
        this.stop()
        return
      }
      if (err instanceof ApiError && err.code === 'not_found' && /does not exist/i.test(err.message)) {
        // The stream is there but the account is not (an admin before any ADD): say
        // so without polling for an account that is not there.
        this.set({ status: 'no-account', summary: null, error: null, mode: 'polling' })
        this.retryStreamSoon(this.sseRetryMs)
        return
      }
      if (this.state.mode === 'live') {
        // A stream that worked and dropped: reconnect once before falling back.
        this.set({ mode: 'connecting' })
        this.retryStreamSoon(this.reconnectMs)
        return
      }
      // No stream here (older server, no account yet, server down): poll, and try the
      // stream again later.
      this.startPolling()
      this.retryStreamSoon(this.sseRetryMs)
    }
  }

  private retryStreamSoon(ms: number): void {
    if (this.stopped) return
    if (this.streamTimer) clearTimeout(this.streamTimer)
    this.streamTimer = setTimeout(() => {
      this.streamTimer = null
      void this.openStream()
    }, ms)
  }

  private startPolling(): void {
    if (this.state.mode !== 'polling') this.set({ mode: 'polling' })
    if (this.polling) return
    this.polling = true
    void this.poll()
  }

  private stopPolling(): void {
    this.polling = false
    if (this.pollTimer) clearTimeout(this.pollTimer)
    this.pollTimer = null
  }

  private async poll(): Promise<void> {
    if (!this.polling || this.stopped) return
    // Not while the tab is hidden, nor for an account that does not exist (refresh()
    // looks again after funds are added).
    const hidden = typeof document !== 'undefined' && document.hidden
    if (!hidden && this.state.status !== 'no-account') await this.fetchSummary()
    if (!this.polling || this.stopped) return
    this.pollTimer = setTimeout(() => void this.poll(), this.pollMs)
  }

  private async fetchSummary(): Promise<void> {
    try {
      this.receive(await accountView(this.user))
    } catch (err) {
      if (this.stopped) return
      if (err instanceof ApiError && err.code === 'not_found') {
        this.set({ status: 'no-account', summary: null, error: null })
      } else if (err instanceof ApiError && err.status === 401) {
        this.stop()
      } else {
        const message = err instanceof Error ? err.message : String(err)
        this.set({ status: this.state.summary ? 'ready' : 'error', error: message })
      }
    }
  }
}
