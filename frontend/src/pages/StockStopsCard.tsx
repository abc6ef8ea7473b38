// Stop-losses on the user's stock holdings, beside the automatic trades: a symbol held,
// how many shares (or all of them) and a stop price, checked here against the holdings
// before it is sent; then the list of the user's stop-losses, open ones with a cancel
// button, filled ones with their sale. The server has the last word: a stop at or above
// the market (400), more shares than held or one stop too many (409) come back in its
// own words. The checker sells in the background, so the list is read again whenever
// the account changes.

import { useRef, useState } from 'react'
import type { FormEvent } from 'react'
import { ApiError } from '../api/client'
import { cancelStockStop, placeStockStop, stockStops } from '../api/endpoints'
import type { StockStop } from '../api/types'
import { useSignedIn } from '../auth/SessionContext'
import { When } from '../components/crypto'
import {
  ErrorText,
  Field,
  MoneyField,
  StatusText,
  SymbolField,
  checkSymbol,
  useAction,
} from '../components/ui'
import { newIdempotencyKey } from '../lib/coins'
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
  const { run, busy, error } = useAction()
  const what = `stop-loss on ${sharesText(stop.shares, stop.symbol)} at ${formatDollars(stop.stop)}`
  const cancel = async () => {
    const done = await run(() => cancelStockStop(username, stop.id))
    if (done) onCancelled(`Cancelled the ${what}.`)
  }
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
      <td data-label="">
        {stop.status === 'open' && (
          <button type="button" onClick={cancel} disabled={busy} aria-label={`Cancel the ${what}`}>
            {busy ? 'Cancelling…' : 'Cancel'}
          </button>
        )}
        <ErrorText>{error}</ErrorText>
      </td>
    </tr>
  )
}

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
  const { run, busy, error } = useAction()
  // The key of an attempt that got no answer (network, 5xx), so its retry runs once.
  const unanswered = useRef<{ terms: string; key: string } | null>(null)
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
    const fingerprint = JSON.stringify([symbol, count.value, checked.value])
    const key = unanswered.current?.terms === fingerprint ? unanswered.current.key : newIdempotencyKey()
    unanswered.current = { terms: fingerprint, key }
    const placed = await run(async () => {
      try {
        return await placeStockStop(username, symbol, count.value, checked.value, key)
      } catch (err) {
        // The server answered (a refusal is kept under its key): the next try is new.
        if (err instanceof ApiError && err.status > 0 && err.status < 500) unanswered.current = null
        throw err
      }
    })
    if (placed) {
      unanswered.current = null
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
      {stops.error && !stops.missing && <ErrorText>{stops.error}</ErrorText>}
      {stops.data && mine.length === 0 && <p className="empty">No stop-losses.</p>}
      {mine.length > 0 && (
        <div className="table-wrap">
          <table className="responsive">
            <caption className="visually-hidden">Your stop-losses: open ones first, then filled ones</caption>
            <thead>
              <tr>
                <th scope="col">Symbol</th>
                <th scope="col" className="num">
                  Shares
                </th>
                <th scope="col" className="num">
                  Stop
                </th>
                <th scope="col">Status</th>
                <th scope="col">Placed</th>
                <th scope="col">
                  <span className="visually-hidden">Cancel</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {mine.map((stop) => (
                <StopRow
                  key={stop.id}
                  stop={stop}
                  onCancelled={(text) => {
                    setDone(text)
                    setListed((n) => n + 1)
                    void refresh()
                  }}
                />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
}
