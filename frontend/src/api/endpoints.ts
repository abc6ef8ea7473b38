// One small function per API route (docs/architecture.md); all go through `api()`.

import { api, apiBlob } from './client'
import type {
  BuyResult,
  PendingResult,
  EntryType,
  QuoteHistory,
  QuoteResult,
  SellResult,
  Session,
  StockStop,
  Summary,
  TransactionsPage,
} from './types'

type Result = Record<string, unknown>

export const register = (username: string, password: string) =>
  api<{ username: string }>('/api/users/register', {
    body: { username, password },
    auth: false,
  })

export const login = (username: string, password: string) =>
  api<Session>('/api/users/login', { body: { username, password }, auth: false })

export const addFunds = (user: string, amount: string) =>
  api<{ cash: string }>('/api/users/add', { body: { user, amount } })

/** The account as DISPLAY_SUMMARY shows it, read without logging a command (polling). */
export const accountView = (user: string) => api<Summary>('/api/users/account', { query: { user } })

export const getQuote = (user: string, symbol: string) =>
  api<QuoteResult>('/api/users/quote', { body: { user, symbol } })

export const quoteHistory = (symbol: string) =>
  api<QuoteHistory>(`/api/users/quotes/${encodeURIComponent(symbol)}/history`)

export const transactions = (user: string, params: { limit: number; type?: EntryType; before?: number }) =>
  api<TransactionsPage>('/api/users/transactions', { query: { user, ...params } })

export const logStats = () => api<Record<string, number>>('/api/users/stats')

export const dumplog = (filename: string, user?: string) =>
  apiBlob('/api/users/dumplog', { body: user ? { filename, user } : { filename } })

export const buy = (user: string, symbol: string, amount: string) =>
  api<BuyResult>('/api/buy/buy', { body: { user, symbol, amount } })
export const commitBuy = (user: string) => api<PendingResult>('/api/buy/commit-buy', { body: { user } })
export const cancelBuy = (user: string) => api<PendingResult>('/api/buy/cancel-buy', { body: { user } })

export const sell = (user: string, symbol: string, amount: string) =>
  api<SellResult>('/api/sell/sell', { body: { user, symbol, amount } })
export const commitSell = (user: string) => api<PendingResult>('/api/sell/commit-sell', { body: { user } })
export const cancelSell = (user: string) => api<PendingResult>('/api/sell/cancel-sell', { body: { user } })

export type Side = 'buy' | 'sell'

/** SET_BUY_AMOUNT / SET_SELL_AMOUNT. */
export const setAutoAmount = (side: Side, user: string, symbol: string, amount: string) =>
  api<Result>(`/api/${side}/set-${side}-amount`, { body: { user, symbol, amount } })

/** SET_BUY_TRIGGER / SET_SELL_TRIGGER: the body's `amount` is the trigger price. */
export const setAutoTrigger = (side: Side, user: string, symbol: string, price: string) =>
  api<Result>(`/api/${side}/set-${side}-trigger`, { body: { user, symbol, amount: price } })

/** CANCEL_SET_BUY / CANCEL_SET_SELL. */
export const cancelAuto = (side: Side, user: string, symbol: string) =>
  api<Result>(`/api/${side}/cancel-set-${side}`, { body: { user, symbol } })

/** Stop-losses on holdings: open ones oldest first, then filled or lapsed ones newest first. */
export const stockStops = (user: string) =>
  api<{ user: string; stops: StockStop[] }>('/api/sell/stops', { query: { user } })

/** Place a stop-loss on `shares` (a count or "all") of `symbol` at `price` dollars. */
export const placeStockStop = (
  user: string,
  symbol: string,
  shares: number | 'all',
  price: string,
  key: string,
) =>
  api<StockStop & { quote: string }>('/api/sell/stops', {
    body: { user, symbol, shares, price },
    headers: { 'Idempotency-Key': key },
  })

export const cancelStockStop = (user: string, id: string) =>
  api<{ id: string; symbol: string; status: 'cancelled' }>(`/api/sell/stops/${encodeURIComponent(id)}`, {
    method: 'DELETE',
    query: { user },
  })
