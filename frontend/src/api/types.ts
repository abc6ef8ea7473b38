// Shapes of the API's `data`, as services/common/presenters.py and the route files make
// them. Money fields are two-decimal dollar strings.

export type Role = 'user' | 'admin' | 'service'

export interface Session {
  token: string
  username: string
  role: Role
  /** Unix seconds. */
  expires_at: number
}

export interface PendingTrade {
  symbol: string
  shares: number
  price: string
  amount: string
  seconds_left: number
  transactionNum: number
}

export interface BuySetup {
  symbol: string
  reserve: string
  trigger: string | null
}

export interface SellSetup {
  symbol: string
  amount: string
  shares_reserved: number
  trigger: string | null
}

export type EntryType = 'userCommand' | 'quoteServer' | 'accountTransaction' | 'systemEvent' | 'errorEvent'

/** One audit-log entry, field names as in the XML log. */
export interface LogEntry {
  type: EntryType
  /** Unix milliseconds. */
  timestamp: number
  transactionNum?: number
  server?: string
  command?: string
  username?: string
  stockSymbol?: string
  filename?: string
  funds?: string
  price?: string
  action?: 'add' | 'remove'
  errorMessage?: string
}

export interface Summary {
  user: string
  cash: string
  reserved_cash: string
  holdings: Record<string, number>
  pending_buys: PendingTrade[]
  pending_sells: PendingTrade[]
  buy_setups: BuySetup[]
  sell_setups: SellSetup[]
  recent_transactions: LogEntry[]
}

export interface QuoteResult {
  symbol: string
  price: string
  /** Unix milliseconds when the quote server answered. */
  quoted_at: number
  seconds_valid: number
  from_cache: boolean
}

export interface QuotePoint {
  price: string
  quoted_at: number
}

export interface QuoteHistory {
  symbol: string
  quotes: QuotePoint[]
}

export interface BuyResult {
  symbol: string
  shares: number
  price: string
  cost: string
}

export interface SellResult {
  symbol: string
  shares: number
  price: string
  proceeds: string
}

export interface TransactionsPage {
  user: string
  transactions: LogEntry[]
}

/** COMMIT_* and CANCEL_BUY/SELL: the pending trade that was completed or dropped. */
export interface PendingResult {
  symbol: string
  shares: number
  price: string
  amount: string
}

/** A stop-loss on a stock holding (GET /api/sell/stops): open, or closed with its fill. */
export interface StockStop {
  id: string
  symbol: string
  /** Shares to sell when it fires, or "all" (every share held then). */
  shares: number | 'all'
  /** Fires when a quote is at or below this price (dollars). */
  stop: string
  status: 'open' | 'filled' | 'lapsed'
  created: number
  /** Filled: shares sold, at what quote, for what. */
  sold: number | null
  price: string | null
  proceeds: string | null
  closed: number | null
}
