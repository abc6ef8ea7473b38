// Buy and sell now: a BUY or SELL makes a pending trade that must be committed within
// 60 s (or cancelled); expired ones are rolled back by the server and vanish here. Below,
// stop-losses on the shares held (StockStopsCard).

import { useCallback, useState } from 'react'
import type { FormEvent } from 'react'
import { buy, cancelBuy, cancelSell, commitBuy, commitSell, sell } from '../api/endpoints'
import type { BuyResult, PendingTrade, SellResult } from '../api/types'
import { useSignedIn } from '../auth/SessionContext'
import { Countdown } from '../components/Countdown'
import {
  ErrorText,
  MoneyField,
  Spinner,
  StatusText,
  SymbolField,
  checkSymbol,
  useAction,
} from '../components/ui'
import { useAccount } from '../live/AccountContext'
import { formatDollars, parseAmount } from '../lib/money'
import { useLocation } from '../router'
import { StockStopsCard } from './StockStopsCard'

type Side = 'buy' | 'sell'

const WORDS = {
  buy: {
    title: 'Buy',
    verb: 'buy',
    done: 'Bought',
    dropped: 'Cancelled the buy of',
    amountLabel: 'Dollars to spend',
  },
  sell: {
    title: 'Sell',
    verb: 'sell',
    done: 'Sold',
    dropped: 'Cancelled the sale of',
    amountLabel: 'Dollars to sell for',
  },
}

function TradeForm({ side, initialSymbol }: { side: Side; initialSymbol: string }) {
  const { username } = useSignedIn()
  const { state, refresh } = useAccount()
  const [symbol, setSymbol] = useState(initialSymbol)
  const [amount, setAmount] = useState('')
  const [invalid, setInvalid] = useState<{ symbol?: string | null; amount?: string | null }>({})
  const [done, setDone] = useState<string | null>(null)
  const { run, busy, error } = useAction()
  const words = WORDS[side]
  const summary = state.summary

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setDone(null)
    const checked = parseAmount(amount)
    const problems = { symbol: checkSymbol(symbol), amount: checked.ok ? null : checked.error }
    setInvalid(problems)
    if (problems.symbol || !checked.ok) return
    const result = await run<BuyResult | SellResult>(() =>
      side === 'buy' ? buy(username, symbol, checked.value) : sell(username, symbol, checked.value),
    )
    if (result) {
      const total = 'cost' in result ? result.cost : result.proceeds
      setDone(
        `Pending: ${words.verb} ${result.shares} ${result.symbol} at ${formatDollars(result.price)} ` +
          `for ${formatDollars(total)}. Commit or cancel it below within 60 seconds.`,
      )
      setAmount('')
      void refresh()
    }
  }

  let hint: string | undefined
  if (summary && side === 'buy') hint = `Cash available: ${formatDollars(summary.cash)}.`
  if (summary && side === 'sell') {
    const held = symbol ? (summary.holdings[symbol] ?? 0) : null
    hint =
      held === null ? 'Pick a symbol you own.' : `You hold ${held} ${symbol} share${held === 1 ? '' : 's'}.`
  }

  return (
    <form onSubmit={submit} noValidate className="card stack" aria-labelledby={`${side}-form-title`}>
      <h2 id={`${side}-form-title`}>{words.title} now</h2>
      <SymbolField label="Stock symbol" value={symbol} onChange={setSymbol} error={invalid.symbol} />
      <MoneyField
        label={words.amountLabel}
        value={amount}
        onChange={setAmount}
        error={invalid.amount}
        hint={hint}
      />
      <ErrorText>{error}</ErrorText>
      {done && <StatusText>{done}</StatusText>}
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Getting a quote…' : words.title}
      </button>
    </form>
  )
}

/** When a pending trade runs out, from the summary's seconds_left when it arrived. */
function expiry(p: PendingTrade, receivedAt: number): number {
  return receivedAt + p.seconds_left * 1000
}

function PendingList({
  side,
  trades,
  receivedAt,
}: {
  side: Side
  trades: PendingTrade[]
  receivedAt: number
}) {
  const { username } = useSignedIn()
  const { refresh } = useAccount()
  const [expired, setExpired] = useState<Set<number>>(() => new Set())
  const [done, setDone] = useState<string | null>(null)
  const { run, busy, error } = useAction()
  const words = WORDS[side]
  const live = trades.filter((p) => !expired.has(p.transactionNum) && p.seconds_left > 0)
  const newest = live[0]

  const expire = useCallback((txn: number) => setExpired((old) => new Set(old).add(txn)), [])

  const act = async (commit: boolean) => {
    setDone(null)
    const call = side === 'buy' ? (commit ? commitBuy : cancelBuy) : commit ? commitSell : cancelSell
    const result = await run(() => call(username))
    if (result) {
      setDone(
        commit
          ? `${words.done} ${result.shares} ${result.symbol} at ${formatDollars(result.price)} for ${formatDollars(result.amount)}.`
          : `${words.dropped} ${result.shares} ${result.symbol}.`,
      )
      void refresh()
    }
  }

  const title = side === 'buy' ? 'Pending buys' : 'Pending sells'
  return (
    <section className="card" aria-labelledby={`pending-${side}-title`}>
      <h2 id={`pending-${side}-title`}>{title}</h2>
      {live.length === 0 ? (
        <p className="empty">No pending {side === 'buy' ? 'buys' : 'sells'}.</p>
      ) : (
        <>
          <ol className="pending" aria-label={title}>
            {live.map((p, i) => (
              <li key={p.transactionNum} id={i === 0 ? `newest-${side}` : undefined}>
                <span>
                  {side === 'buy' ? 'Buy' : 'Sell'} <strong>{p.shares}</strong> {p.symbol} at{' '}
                  {formatDollars(p.price)} = <strong>{formatDollars(p.amount)}</strong>
                  {i === 0 && live.length > 1 && <span className="muted"> (newest)</span>}
                </span>
                <Countdown
                  expiresAt={expiry(p, receivedAt)}
                  label={`Time left to commit ${p.symbol}`}
                  onExpire={() => expire(p.transactionNum)}
                />
              </li>
            ))}
          </ol>
          <p className="hint">Commit and Cancel act on the newest pending {side}.</p>
          <div className="actions">
            <button
              type="button"
              className="primary"
              disabled={busy || !newest}
              onClick={() => act(true)}
              aria-describedby={`newest-${side}`}
            >
              Commit {side}
            </button>
            <button
              type="button"
              disabled={busy || !newest}
              onClick={() => act(false)}
              aria-describedby={`newest-${side}`}
            >
              Cancel {side}
            </button>
          </div>
        </>
      )}
      <ErrorText>{error}</ErrorText>
      {done && <StatusText>{done}</StatusText>}
    </section>
  )
}

export function TradePage() {
  const { query } = useLocation()
  const { state } = useAccount()
  const symbol = query.get('symbol') ?? ''
  const sellFirst = query.get('side') === 'sell'
  const forms = [
    <TradeForm key="buy" side="buy" initialSymbol={sellFirst ? '' : symbol} />,
    <TradeForm key="sell" side="sell" initialSymbol={sellFirst ? symbol : ''} />,
  ]
  if (sellFirst) forms.reverse()

  return (
    <>
      <h1 tabIndex={-1}>Buy and sell</h1>
      <p className="lead">
        A trade uses the current quote and waits for you to commit it. Uncommitted trades expire after 60
        seconds.
      </p>
      {state.status === 'loading' && <Spinner label="Loading your account…" />}
      {state.status === 'no-account' && <p className="empty">Add funds on the dashboard first.</p>}
      <div className="columns">{forms}</div>
      {state.summary && (
        <div className="columns">
          <PendingList
            side="buy"
            trades={state.summary.pending_buys}
            receivedAt={state.updatedAt ?? Date.now()}
          />
          <PendingList
            side="sell"
            trades={state.summary.pending_sells}
            receivedAt={state.updatedAt ?? Date.now()}
          />
        </div>
      )}
      {state.summary && <StockStopsCard />}
    </>
  )
}
