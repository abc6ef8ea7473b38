// The account at a glance: cash, reserved cash, holdings at current prices, profit or
// loss against the money put in, pending and automatic trades, recent transactions.

import { useEffect, useState } from 'react'
import type { FormEvent } from 'react'
import { addFunds, transactions } from '../api/endpoints'
import type { LogEntry, Summary } from '../api/types'
import { useSignedIn } from '../auth/SessionContext'
import { DataTable } from '../components/DataTable'
import type { Column } from '../components/DataTable'
import { EntryTable } from '../components/EntryTable'
import { ErrorText, MoneyField, Spinner, StatusText, formatTime, useAction } from '../components/ui'
import { useAccount } from '../live/AccountContext'
import { useDeposits, useLatestPrices } from '../live/prices'
import type { KnownPrice } from '../live/prices'
import { formatCents, formatDollars, parseAmount } from '../lib/money'
import { valuate } from '../lib/portfolio'
import { Link } from '../router'
import { LiveBadge } from './Layout'

const RECENT_ROWS = 12

export function AddFunds({ user, onAdded }: { user: string; onAdded?: () => void }) {
  const [amount, setAmount] = useState('')
  const [invalid, setInvalid] = useState<string | null>(null)
  const [done, setDone] = useState<string | null>(null)
  const { run, busy, error } = useAction()

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setDone(null)
    const checked = parseAmount(amount)
    setInvalid(checked.ok ? null : checked.error)
    if (!checked.ok) return
    const result = await run(() => addFunds(user, checked.value))
    if (result) {
      setAmount('')
      setDone(`Added ${formatCents(checked.cents)}. Cash is now ${formatDollars(result.cash)}.`)
      onAdded?.()
    }
  }

  return (
    <form onSubmit={submit} noValidate className="card stack" aria-labelledby="add-funds-title">
      <h2 id="add-funds-title">Add funds</h2>
      <MoneyField label="Amount" value={amount} onChange={setAmount} error={invalid} />
      <ErrorText>{error}</ErrorText>
      {done && <StatusText>{done}</StatusText>}
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Adding…' : 'Add funds'}
      </button>
    </form>
  )
}

function Stat({
  label,
  value,
  note,
  tone,
}: {
  label: string
  value: string
  note?: string
  tone?: 'up' | 'down'
}) {
  return (
    <div className="stat">
      <dt>{label}</dt>
      <dd className={tone ? `tone-${tone}` : undefined}>{value}</dd>
      {note && <dd className="stat-note">{note}</dd>}
    </div>
  )
}

/** One line of the holdings: all shares of a symbol, those free to trade, its latest price. */
interface Holding {
  symbol: string
  shares: number
  free: number
  price: KnownPrice | undefined
}

const HOLDING_COLUMNS: Column<Holding>[] = [
  { label: 'Symbol', rowHeader: true, cell: (h) => h.symbol },
  {
    label: 'Shares',
    numeric: true,
    cell: (h) => (
      <>
        {h.shares}
        {h.free !== h.shares && <span className="muted"> ({h.free} free)</span>}
      </>
    ),
  },
  { label: 'Price', numeric: true, cell: (h) => (h.price ? formatCents(h.price.cents) : '—') },
  { label: 'Quoted', cell: (h) => (h.price ? formatTime(h.price.at) : 'not yet') },
  { label: 'Value', numeric: true, cell: (h) => (h.price ? formatCents(h.price.cents * h.shares) : '—') },
]

function Overview({ user, summary }: { user: string; summary: Summary }) {
  const symbols = [
    ...new Set([
      ...Object.keys(summary.holdings),
      ...summary.pending_sells.map((p) => p.symbol),
      ...summary.sell_setups.map((s) => s.symbol),
    ]),
  ]
  const { prices, refresh } = useLatestPrices(user, symbols)
  const known = Object.fromEntries(Object.entries(prices).map(([s, p]) => [s, p.cents]))
  const value = valuate(summary, known)
  // Re-read the deposits when money comes in (the recent statement lists cash moves).
  const addKey = summary.recent_transactions
    .filter((e) => e.action === 'add' || e.command === 'ADD')
    .map((e) => `${e.transactionNum}@${e.timestamp}`)
    .join(',')
  const deposits = useDeposits(user, addKey)
  const quotes = useAction()

  let pl: { value: string; note?: string; tone?: 'up' | 'down' } = { value: '—', note: 'Needs prices' }
  if (deposits.error) pl = { value: '—', note: 'History unavailable' }
  else if (deposits.cents === null) pl = { value: '…', note: 'Reading history' }
  else if (value.unpriced.length === 0) {
    const diff = value.totalCents - deposits.cents
    pl = {
      value: (diff > 0 ? '+' : '') + formatCents(diff),
      note: `vs. ${formatCents(deposits.cents)} added${deposits.partial ? ' (recent history only)' : ''}`,
      tone: diff > 0 ? 'up' : diff < 0 ? 'down' : undefined,
    }
  }
  const holdings: Holding[] = Object.entries(value.shares)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([symbol, shares]) => ({
      symbol,
      shares,
      free: summary.holdings[symbol] ?? 0,
      price: prices[symbol],
    }))

  return (
    <>
      <section aria-labelledby="overview-title">
        <h2 id="overview-title" className="visually-hidden">
          Balances
        </h2>
        <dl className="stats">
          <Stat label="Cash" value={formatDollars(summary.cash)} note="available to trade" />
          <Stat
            label="Reserved cash"
            value={formatDollars(summary.reserved_cash)}
            note="pending and automatic buys"
          />
          <Stat
            label="Shares value"
            value={formatCents(value.sharesCents)}
            note={
              value.unpriced.length
                ? `without ${value.unpriced.join(', ')} (no price yet)`
                : 'at latest quotes'
            }
          />
          <Stat
            label="Total value"
            value={value.unpriced.length ? '—' : formatCents(value.totalCents)}
            note="cash + reserved + shares"
          />
          <Stat label="Profit / loss" {...pl} />
        </dl>
      </section>

      <section className="card" aria-labelledby="holdings-title">
        <div className="section-head">
          <h2 id="holdings-title">Holdings</h2>
          {holdings.length > 0 && (
            <button type="button" onClick={() => quotes.run(refresh)} disabled={quotes.busy}>
              {quotes.busy ? 'Getting quotes…' : 'Get current quotes'}
            </button>
          )}
        </div>
        <ErrorText>{quotes.error}</ErrorText>
        <DataTable
          caption="Your holdings at the latest quotes"
          columns={HOLDING_COLUMNS}
          rows={holdings}
          rowKey={(h) => h.symbol}
          empty={
            <>
              You own no shares yet. <Link to="/trade">Buy some</Link>.
            </>
          }
          wrap={false}
        />
      </section>
    </>
  )
}

function Activity({ summary }: { summary: Summary }) {
  const pending = summary.pending_buys.length + summary.pending_sells.length
  const setups = summary.buy_setups.length + summary.sell_setups.length
  return (
    <section className="card" aria-labelledby="activity-title">
      <h2 id="activity-title">Orders</h2>
      <ul className="plain">
        <li>
          {pending === 0
            ? 'No pending trades.'
            : `${pending} pending trade${pending === 1 ? '' : 's'} to commit or cancel.`}{' '}
          <Link to="/trade">Trade</Link>
        </li>
        <li>
          {setups === 0
            ? 'No automatic trades.'
            : `${setups} automatic trade${setups === 1 ? '' : 's'}: ` +
              [
                ...summary.buy_setups.map((s) => `buy ${s.symbol}`),
                ...summary.sell_setups.map((s) => `sell ${s.symbol}`),
              ].join(', ') +
              '.'}{' '}
          <Link to="/automatic">Automatic trades</Link>
        </li>
      </ul>
    </section>
  )
}

/**
 * The newest log entries, read again whenever the account changes. The summary's own
 * statement lists only cash moves; the history also names the commands behind them.
 */
function useRecentEntries(user: string, summary: Summary | null): LogEntry[] {
  const [entries, setEntries] = useState<LogEntry[] | null>(null)
  // What a command changes (seconds_left alone ticks on every poll, so it is left out).
  const changed = summary
    ? JSON.stringify([
        summary.cash,
        summary.reserved_cash,
        summary.holdings,
        summary.pending_buys.map((p) => p.transactionNum),
        summary.pending_sells.map((p) => p.transactionNum),
        summary.buy_setups,
        summary.sell_setups,
        summary.recent_transactions[0] ?? null,
      ])
    : ''
  useEffect(() => {
    if (!changed) return
    let cancelled = false
    transactions(user, { limit: RECENT_ROWS })
      .then((page) => !cancelled && setEntries(page.transactions))
      .catch(() => !cancelled && setEntries(null))
    return () => {
      cancelled = true
    }
  }, [user, changed])
  return entries ?? summary?.recent_transactions.slice(0, RECENT_ROWS) ?? []
}

export function Dashboard() {
  const { username } = useSignedIn()
  const { state, refresh } = useAccount()
  const { summary, status, error } = state
  const recent = useRecentEntries(username, summary)

  return (
    <>
      <div className="page-head">
        <h1 tabIndex={-1}>Dashboard</h1>
        <LiveBadge />
      </div>
      {status === 'loading' && <Spinner label="Loading your account…" />}
      {status === 'error' && (
        <div className="card">
          <ErrorText>Could not load your account: {error}</ErrorText>
          <button type="button" onClick={() => void refresh()}>
            Try again
          </button>
        </div>
      )}
      {status === 'no-account' && (
        <p className="empty">You have no trading account yet: add funds to open one.</p>
      )}
      {error && status === 'ready' && <ErrorText>Updates paused: {error}</ErrorText>}
      {summary && <Overview user={username} summary={summary} />}
      <div className="columns">
        {status !== 'loading' && status !== 'error' && (
          <AddFunds user={username} onAdded={() => void refresh()} />
        )}
        {summary && <Activity summary={summary} />}
      </div>
      {summary && (
        <section className="card" aria-labelledby="recent-title">
          <div className="section-head">
            <h2 id="recent-title">Recent transactions</h2>
            <Link to="/history">Full history</Link>
          </div>
          <EntryTable caption="Your newest transactions" entries={recent} empty="No transactions yet." />
        </section>
      )}
    </>
  )
}
