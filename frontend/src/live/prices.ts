// The latest known price per symbol, for valuing holdings. It starts from each symbol's
// quote history (free: no QUOTE command, no quote-server hit), follows live quote events,
// and can be refreshed on request with QUOTE commands.

import { useCallback, useEffect, useState } from 'react'
import { getQuote, quoteHistory, transactions } from '../api/endpoints'
import type { LogEntry } from '../api/types'
import { toCents } from '../lib/money'
import { depositsCents } from '../lib/portfolio'
import { useAccount } from './AccountContext'

export interface KnownPrice {
  cents: number
  /** Unix ms of the quote. */
  at: number
}

export function useLatestPrices(user: string, symbols: string[]) {
  const { onQuote } = useAccount()
  const [prices, setPrices] = useState<Record<string, KnownPrice>>({})
  const key = [...symbols].sort().join(',')

  const learn = useCallback((symbol: string, price: string, at: number) => {
    setPrices((old) => {
      const known = old[symbol]
      if (known && known.at > at) return old
      return { ...old, [symbol]: { cents: toCents(price), at } }
    })
  }, [])

  useEffect(() => {
    let cancelled = false
    for (const symbol of key ? key.split(',') : []) {
      quoteHistory(symbol)
        .then((h) => {
          const last = h.quotes[h.quotes.length - 1]
          if (!cancelled && last) learn(symbol, last.price, last.quoted_at)
        })
        .catch(() => {
          // No history (older server or none yet): the price stays unknown until quoted.
        })
    }
    return () => {
      cancelled = true
    }
  }, [key, learn])

  useEffect(() => onQuote((q) => learn(q.symbol, q.price, q.quoted_at)), [onQuote, learn])

  /** QUOTE every symbol now (cached quotes cost nothing; stale ones hit the quote server). */
  const refresh = useCallback(async () => {
    const results = await Promise.all(
      key
        .split(',')
        .filter(Boolean)
        .map((s) => getQuote(user, s)),
    )
    for (const q of results) learn(q.symbol, q.price, q.quoted_at)
  }, [key, learn, user])

  return { prices, refresh }
}

const DEPOSIT_PAGES = 4

/**
 * The money a user has put in (successful ADDs), read from the transaction history.
 * `partial` when the history is longer than the pages read.
 */
export function useDeposits(user: string, changeKey: string) {
  const [state, setState] = useState<{ cents: number | null; partial: boolean; error: string | null }>({
    cents: null,
    partial: false,
    error: null,
  })
  useEffect(() => {
    let cancelled = false
    ;(async () => {
      const entries: LogEntry[] = []
      let before: number | undefined
      let partial = true
      for (let page = 0; page < DEPOSIT_PAGES; page++) {
        const got = (await transactions(user, { limit: 500, before })).transactions
        entries.push(...got)
        if (got.length < 500) {
          partial = false
          break
        }
        // Entries in the oldest millisecond may be cut; they are read again next page.
        before = got[got.length - 1].timestamp
        while (entries.length && entries[entries.length - 1].timestamp === before) entries.pop()
        before += 1
      }
      if (!cancelled) setState({ cents: depositsCents(entries), partial, error: null })
    })().catch((err: unknown) => {
      if (!cancelled) setState({ cents: null, partial: false, error: String(err) })
    })
    return () => {
      cancelled = true
    }
  }, [user, changeKey])
  return state
}
