// What an account is worth at the prices we know, and how that compares with the money
// put in. All in integer cents.

import type { LogEntry, Summary } from '../api/types'
import { toCents } from './money'

export interface Valuation {
  /** Shares per symbol: held, waiting in pending sells, and reserved by sell setups. */
  shares: Record<string, number>
  /** Value of those shares, for the symbols with a known price. */
  sharesCents: number
  /** Cash + reserved cash + shares value. */
  totalCents: number
  /** Symbols owned whose price is not known, so the total leaves them out. */
  unpriced: string[]
}

/** All shares the account owns, wherever they are parked. */
export function ownedShares(summary: Summary): Record<string, number> {
  const shares: Record<string, number> = {}
  const add = (symbol: string, n: number) => {
    if (n > 0) shares[symbol] = (shares[symbol] ?? 0) + n
  }
  for (const [symbol, n] of Object.entries(summary.holdings)) add(symbol, n)
  for (const p of summary.pending_sells) add(p.symbol, p.shares)
  for (const s of summary.sell_setups) add(s.symbol, s.shares_reserved)
  return shares
}

/** Value the account with `prices` (cents per share, by symbol). */
export function valuate(summary: Summary, prices: Record<string, number | undefined>): Valuation {
  const shares = ownedShares(summary)
  let sharesCents = 0
  const unpriced: string[] = []
  for (const [symbol, n] of Object.entries(shares)) {
    const price = prices[symbol]
    if (price === undefined) unpriced.push(symbol)
    else sharesCents += n * price
  }
  // reserved_cash already holds pending buys' cost and buy setups' reserves.
  const totalCents = toCents(summary.cash) + toCents(summary.reserved_cash) + sharesCents
  return { shares, sharesCents, totalCents, unpriced: unpriced.sort() }
}

/**
 * Money put in: the funds of every ADD command in `entries` (a stretch of the log) that
 * did not fail. A failed command has an errorEvent with its transaction number.
 */
export function depositsCents(entries: LogEntry[]): number {
  const failed = new Set(
    entries.filter((e) => e.type === 'errorEvent' && e.command === 'ADD').map((e) => e.transactionNum),
  )
  let total = 0
  for (const e of entries) {
    if (e.type !== 'userCommand' || e.command !== 'ADD' || !e.funds) continue
    if (!failed.has(e.transactionNum)) total += toCents(e.funds)
  }
  return total
}
