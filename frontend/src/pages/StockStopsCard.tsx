// Stop-losses on the user's stock holdings, beside the automatic trades: a symbol held,
// how many shares (or all of them) and a stop price, checked here against the holdings
// before it is sent; then the list of the user's stop-losses, open ones with a cancel
// button, filled ones with their sale. The server has the last word: a stop at or above
// the market (400), more shares than held or one stop too many (409) come back in its
// own words. The checker sells in the background, so the list is read again whenever
// the account changes.

import { useState } from 'react'
import type { FormEvent } from 'react'
import { cancelStockStop, placeStockStop, stockStops } from '../api/endpoints'
import type { StockStop } from '../api/types'
import { useSignedIn } from '../auth/SessionContext'
import type { Column } from '../components/DataTable'
import { When } from '../components/crypto'
import { CancelCell, StopList } from '../components/stops'
import {
  ErrorText,
  Field,
  MoneyField,
  StatusText,
  SymbolField,
  checkSymbol,
  useOnceAction,
} from '../components/ui'
import { formatDollars, parseAmount } from '../lib/money'
import { useAccount } from '../live/AccountContext'
import { useLoad } from '../live/useLoad'

/** Shares as typed: a whole number from 1 to what is held, or "all". */
function parseShares(
  input: string,
  held: number,
): { ok: true; value: number | 'all' } | { ok: false; error: string } {
  const cleaned = input.trim().toLowerCase()
  if (cleaned === 'all') return { ok: true, value: 'all' }
  if (!/^\d+$/.test(cleaned)) return { ok: false, error: 'Enter a whole number of shares, or "all".' }
  const shares = Number(cleaned)
  if (shares < 1) return { ok: false, error: 'Enter at least 1 share.' }
  if (shares > held) return { ok: false, error: `That is more than the ${held} you hold.` }
  return { ok: true, value: shares }
}

function sharesText(shares: number | 'all', symbol: string): string {
  if (shares === 'all') return `all your ${symbol}`
  return `${shares} ${symbol} share${shares === 1 ? '' : 's'}`
}

function Outcome({ stop }: { stop: StockStop }) {
  if (stop.status === 'filled') {
    return (
      <>
        Sold {stop.sold} at {formatDollars(stop.price)} for <strong>{formatDollars(stop.proceeds)}</strong>
      </>
    )
  }
  if (stop.status === 'lapsed') return <>Lapsed: no shares were left to sell</>
  return <>Open</>
}

function StopRow({ stop, onCancelled }: { stop: StockStop; onCancelled: (text: string) => void }) {
  const { username } = useSignedIn()
  return (
    <tr>
      <td data-label="Symbol">{stop.symbol}</td>
      <td data-label="Shares" className="num">
        {stop.shares === 'all' ? 'All' : stop.shares}
      </td>
      <td data-label="Stop" className="num">
        {formatDollars(stop.stop)}
      </td>
      <td data-label="Status">
        <Outcome stop={stop} />
      </td>
      <td data-label="Placed">
        <When time={stop.created} />
      </td>
      <CancelCell
        what={`stop-loss on ${sharesText(stop.shares, stop.symbol)} at ${formatDollars(stop.stop)}`}
        cancel={() => cancelStockStop(username, stop.id)}
        onCancelled={onCancelled}
        open={stop.status === 'open'}
      />
    </tr>
  )
}

const COLUMNS: Column<StockStop>[] = [
  { label: 'Symbol' },
  { label: 'Shares', numeric: true },
  { label: 'Stop', numeric: true },
  { label: 'Status' },
  { label: 'Placed' },
]

export function StockStopsCard() {
  const { username } = useSignedIn()
  const { state, refresh } = useAccount()
  const [listed, setListed] = useState(0)
  const holdings = state.summary?.holdings ?? {}
  // A fill moves cash and shares: read the list again when they change.
  const stops = useLoad(
    () => stockStops(username),
    [username, listed, state.summary?.cash, JSON.stringify(holdings)],
  )
  const [symbol, setSymbol] = useState('')
  const [shares, setShares] = useState('')
  const [price, setPrice] = useState('')
  const [invalid, setInvalid] = useState<{ symbol?: string | null; shares?: string; price?: string }>({})
  const [done, setDone] = useState<string | null>(null)
  const { runOnce, busy, error } = useOnceAction()
  const held = symbol ? (holdings[symbol] ?? 0) : 0
  const mine = stops.data?.stops ?? []

  const place = async (e: FormEvent) => {
    e.preventDefault()
    setDone(null)
    const problems: typeof invalid = { symbol: checkSymbol(symbol) }
    const count = parseShares(shares, held)
    if (!problems.symbol && held === 0) problems.symbol = `You hold no ${symbol} to protect.`
    else if (!count.ok) problems.shares = count.error
    const checked = parseAmount(price)
    if (!checked.ok) problems.price = checked.error
    setInvalid(problems)
    if (problems.symbol || !count.ok || !checked.ok) return
    const placed = await runOnce([symbol, count.value, checked.value], (key) =>
      placeStockStop(username, symbol, count.value, checked.value, key),
    )
    if (placed) {
      setShares('')
      setPrice('')
      setDone(
        `Placed a stop-loss on ${sharesText(placed.shares, placed.symbol)}: sold at the quote once it is ` +
          `${formatDollars(placed.stop)} or less (now ${formatDollars(placed.quote)}).`,
      )
      setListed((n) => n + 1)
    }
  }

  return (
    <section className="card stack" aria-labelledby="stock-stops-title">
      <h2 id="stock-stops-title">Stop-loss on your shares</h2>
      <form onSubmit={place} noValidate className="stack" aria-label="Place a stop-loss">
        <div className="field-row">
          <SymbolField label="Stock to protect" value={symbol} onChange={setSymbol} error={invalid.symbol} />
          <Field
            label="Shares to sell"
            value={shares}
            onChange={setShares}
            inputMode="numeric"
            autoComplete="off"
            spellCheck={false}
            placeholder="10 or all"
            hint={symbol ? `You hold ${held} ${symbol}.` : 'A number, or "all".'}
            error={invalid.shares}
          />
        </div>
        <MoneyField
          label="Stop price"
          value={price}
          onChange={setPrice}
          hint="When a quote is at or below it, the shares are sold at that quote, once."
          error={invalid.price}
        />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Placing…' : 'Place the stop-loss'}
        </button>
      </form>
      <ErrorText>{error}</ErrorText>
      {done && <StatusText>{done}</StatusText>}
      <StopList
        caption="Your stop-losses: open ones first, then filled ones"
        columns={COLUMNS}
        stops={stops.data ? mine : undefined}
        error={stops.missing ? null : stops.error}
        empty="No stop-losses."
        row={(stop) => (
          <StopRow
            stop={stop}
            onCancelled={(text) => {
              setDone(text)
              setListed((n) => n + 1)
              void refresh()
            }}
          />
        )}
      />
    </section>
  )
}
