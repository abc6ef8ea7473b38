// The exchange service (services/exchange/routes.py, under /api/exchange): the live
// top-20 board (the seed's /coin/tickers_20), a coin's candles, the caller's holdings
// (/coin/clientassets), market buys and sells, and the caller's coin trades. Prices are
// dollar strings with 4 decimals, cash with 2, coin amounts with 8.

import { api } from './client'

export interface BoardLine {
  rank: number
  ticker: string
  name: string
  cur_price: string
  open: string
  high: string
  low: string
  /** Change over 24 h, dollars. */
  chgAmt: string
  /** Change over 24 h, percent ("-2.45"). */
  chgRate: string
  /** Coins traded over 24 h. */
  volume: string
  /** Dollars traded over 24 h. */
  value: string
}

export interface Board {
  /** Unix ms of the feed's board. */
  as_of: number
  /** The exchange's fee in basis points (25 = 0.25 %), when the server says. */
  fee_bp?: number
  /** Keyed "<COIN>_USD", in rank order. */
  tickers: Record<string, BoardLine>
}

export type CandleInterval = '1m' | '1h' | '24h'

export interface CandleRow {
  /** Unix ms of the candle's start. */
  time: number
  open: string
  high: string
  low: string
  close: string
  volume: string
}

export interface Holding {
  ticker: string
  name: string
  coin: string
  available: string
  locked: string
  cur_price: string | null
  value: string | null
  cost: string
  unrealised: string | null
  realised: string
  chg_rate: string | null
  accu_price: string | null
}

export interface ClientAssets {
  user: string
  cash: string
  market_available: boolean
  holdings: Holding[]
  total_value: string
  total_cost: string
  total_unrealised: string
}

export interface BuyResult {
  side: 'buy'
  coin: string
  amount: string
  price: string
  cost: string
  fee: string
  total: string
  cash: string
  available: string
}

export interface SellResult {
  side: 'sell'
  coin: string
  amount: string
  price: string
  proceeds: string
  fee: string
  net: string
  realised: string
  cash: string
  available: string
}

export interface CoinTrade {
  side: 'buy' | 'sell'
  coin: string
  amount: string
  price: string | null
  cash: string | null
  fee: string | null
  transactionNum: number | null
  timestamp: number
}

/** A `ticker` event of /api/market/events (services/market_relay). */
export interface TickerEvent {
  coin: string
  price: string
  open: string
  high: string
  low: string
  chgAmt: string
  chgRate: string
  value: string
}

const enc = encodeURIComponent

export const board = () => api<Board>('/api/exchange/coin/tickers_20', { auth: false })
/** A coin's candles, oldest first; `limit` keeps the newest few (a sparkline's day). */
export const candles = (coin: string, interval: CandleInterval, limit?: number) =>
  api<{ coin: string; interval: string; candles: CandleRow[] }>(
    `/api/exchange/coin/candles/${enc(coin)}/${interval}`,
    { auth: false, query: { limit } },
  )
export const clientAssets = () => api<ClientAssets>('/api/exchange/coin/clientassets')
export const coinTrades = (coin?: string) =>
  api<{ user: string; trades: CoinTrade[] }>('/api/exchange/trades', { query: { coin, limit: 50 } })
/** A market order; the same `key` for a retry of the same order makes it run once. */
export const buyCoin = (user: string, coin: string, amount: string, key: string) =>
  api<BuyResult>('/api/exchange/buy', { body: { user, coin, amount }, headers: { 'Idempotency-Key': key } })
export const sellCoin = (user: string, coin: string, amount: string, key: string) =>
  api<SellResult>('/api/exchange/sell', { body: { user, coin, amount }, headers: { 'Idempotency-Key': key } })

/** Figures of a volatility-breakout backtest; returns and rates are fractions ("0.12"). */
export interface Backtest {
  coin: string
  days: number
  from: number
  to: number
  fee: string
  auto: boolean
  k: string
  total_return: string
  max_drawdown: string
  trades: number
  wins: number
  win_rate: string | null
  profit_factor: string | null
  market_change: string
  tried: { k: string; total_return: string }[]
  /** 1 = the starting capital. */
  equity: { time: number; equity: string }[]
}

export interface Strategy {
  id: string
  coin: string
  k: string
  budget: string
  mode: 'paper' | 'live'
  period_s: number
  period_start: number | null
  open: string | null
  high: string | null
  low: string | null
  target: string | null
  held: string
  trades: number
  pnl: string
}

export interface StrategyTerms {
  coin: string
  k: string
  budget: string
  mode: 'paper' | 'live'
  period_s: number
}

export const backtest = (coin: string, days: number, k: string) =>
  api<Backtest>('/api/exchange/backtest', { body: { coin, days, k } })
export const strategies = () => api<{ user: string; strategies: Strategy[] }>('/api/exchange/strategies')
export const startStrategy = (user: string, terms: StrategyTerms, key: string) =>
  api<Strategy>('/api/exchange/strategies', { body: { user, ...terms }, headers: { 'Idempotency-Key': key } })
export const stopStrategy = (user: string, coin: string) =>
  api<Record<string, unknown>>('/api/exchange/strategies/stop', { body: { user, coin } })

/** An isolated margin position (or its preview) as services/common/coin_trading.py shows it. */
export interface Position {
  coin: string
  side: 'long' | 'short'
  leverage: number
  margin: string
  amount: string
  entry_price?: string
  debt: string
  interest: string
  debt_asset: string
  liquidation_price: string
  margin_call_price: string
  margin_call?: boolean
  price?: string
  /** Assets / (debt + interest), "1.2345"; a call at 1.3, liquidation at 1.1. */
  margin_level?: string
  fee?: string
  cash_needed?: string
  /** An open position's opening: Unix ms and the command's transaction number. */
  opened?: number
  transactionNum?: number
}

export interface MarginTerms {
  coin: string
  side: 'long' | 'short'
  leverage: number
  margin: string
}

export const previewPosition = (terms: MarginTerms) =>
  api<Position>('/api/exchange/margin/preview', { body: terms })
export const openPosition = (user: string, terms: MarginTerms, key: string) =>
  api<Position>('/api/exchange/margin/open', {
    body: { user, ...terms },
    headers: { 'Idempotency-Key': key },
  })
export const closePosition = (user: string, coin: string) =>
  api<Record<string, string>>('/api/exchange/margin/close', { body: { user, coin } })
export const marginPositions = () =>
  api<{ user: string; positions: Position[] }>('/api/exchange/margin/positions')

export type StopKind = 'stop_loss' | 'take_profit' | 'trailing'
export type StopTarget = 'holding' | 'position'

/** A stop order as services/common/coin_trading.py shows it (show_stop). */
export interface StopOrder {
  id: string
  coin: string
  kind: StopKind
  target: StopTarget
  /** Coins sold when it fires (a holding's stop); null for a position's stop. */
  amount: string | null
  /** The price that fires it; a trailing stop's moves with the best price seen. */
  trigger: string
  trail_bp: number | null
  /** A trailing stop's best price seen so far. */
  best: string | null
  /** Unix ms when placed. */
  created: number
  /** The market price when placed (in the answer to a placement only). */
  price?: string
}

/** What to place: `amount` for a holding; `price` or, for a trailing stop, `trail_bp`. */
export interface StopTerms {
  coin: string
  kind: StopKind
  target: StopTarget
  amount?: string
  price?: string
  trail_bp?: number
}

export const stopOrders = (user: string) =>
  api<{ user: string; stops: StopOrder[] }>('/api/exchange/stops', { query: { user } })
export const placeStop = (user: string, terms: StopTerms, key: string) =>
  api<StopOrder>('/api/exchange/stops', { body: { user, ...terms }, headers: { 'Idempotency-Key': key } })
export const cancelStop = (user: string, id: string) =>
  api<{ id: string; coin: string; kind: StopKind; target: StopTarget; reason: string }>(
    '/api/exchange/stops/cancel',
    { body: { user, id } },
  )
