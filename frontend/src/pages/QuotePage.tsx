// Look up a symbol's price (QUOTE) and chart its recent quotes: the server's history of
// quote-server prices, plus quotes seen in this tab (looked up here or announced live).

import { useEffect, useState } from 'react'
import type { FormEvent } from 'react'
import { getQuote, quoteHistory } from '../api/endpoints'
import type { QuoteResult } from '../api/types'
import { useSignedIn } from '../auth/SessionContext'
import { PriceChart, mergePoints } from '../components/PriceChart'
import type { PricePoint } from '../components/PriceChart'
import { ErrorText, Spinner, SymbolField, checkSymbol, formatTime, useAction } from '../components/ui'
import { useAccount } from '../live/AccountContext'
import { formatDollars, toCents } from '../lib/money'
import { Link, navigate, useLocation } from '../router'

// Quotes seen in this tab, per symbol, and the symbols looked up; kept across pages.
const seen = new Map<string, PricePoint[]>()
const lookedUp = new Set<string>()

function remember(symbol: string, price: string, at: number): void {
  seen.set(symbol, mergePoints(seen.get(symbol) ?? [], [{ t: at, cents: toCents(price) }]))
}

function useChartPoints(symbol: string | null) {
  const { onQuote } = useAccount()
  const [server, setServer] = useState<{ symbol: string; points: PricePoint[] } | null>(null)
  const [loading, setLoading] = useState(false)
  const [, setTick] = useState(0)

  useEffect(
    () =>
      onQuote((q) => {
        remember(q.symbol, q.price, q.quoted_at)
        setTick((n) => n + 1)
      }),
    [onQuote],
  )

  const load = (sym: string) => {
    setLoading(true)
    quoteHistory(sym)
      .then((h) =>
        setServer({
          symbol: sym,
          points: h.quotes.map((q) => ({ t: q.quoted_at, cents: toCents(q.price) })),
        }),
      )
      // Without the history route the chart shows this tab's quotes only.
      .catch(() => setServer({ symbol: sym, points: [] }))
      .finally(() => setLoading(false))
  }

  useEffect(() => {
    if (symbol) load(symbol)
  }, [symbol])

  const points = symbol
    ? mergePoints(server?.symbol === symbol ? server.points : [], seen.get(symbol) ?? [])
    : []
  return { points, loading, reload: load }
}

export function QuotePage() {
  const { username } = useSignedIn()
  const { query } = useLocation()
  const initial = query.get('symbol') ?? ''
  const [symbol, setSymbol] = useState(initial)
  const [invalid, setInvalid] = useState<string | null>(null)
  const [quote, setQuote] = useState<QuoteResult | null>(null)
  const charted = quote?.symbol ?? (checkSymbol(initial) ? null : initial)
  const chart = useChartPoints(charted)
  const { run, busy, error } = useAction()

  const lookup = async (sym: string) => {
    const problem = checkSymbol(sym)
    setInvalid(problem)
    if (problem) return
    const result = await run(() => getQuote(username, sym))
    if (result) {
      remember(result.symbol, result.price, result.quoted_at)
      lookedUp.add(result.symbol)
      setQuote(result)
      navigate(`/quote?symbol=${result.symbol}`, { replace: true })
      // A new symbol loads its history by itself; the same one needs a reload.
      if (result.symbol === charted) chart.reload(result.symbol)
    }
  }

  const submit = (e: FormEvent) => {
    e.preventDefault()
    void lookup(symbol)
  }

  return (
    <>
      <h1 tabIndex={-1}>Quotes</h1>
      <div className="columns">
        <form onSubmit={submit} noValidate className="card stack" aria-labelledby="quote-form-title">
          <h2 id="quote-form-title">Look up a price</h2>
          <SymbolField
            label="Stock symbol"
            value={symbol}
            onChange={setSymbol}
            error={invalid}
            hint="1 to 3 letters, e.g. ABC."
          />
          <ErrorText>{error}</ErrorText>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Getting quote…' : 'Get quote'}
          </button>
        </form>
        {quote && (
          <section className="card quote-card" aria-labelledby="quote-title" aria-live="polite">
            <h2 id="quote-title">{quote.symbol}</h2>
            <p className="big" data-testid="quote-price">
              {formatDollars(quote.price)}
            </p>
            <p className="muted">
              Quoted at {formatTime(quote.quoted_at)}
              {quote.from_cache ? ' (from the cache)' : ' (fresh from the quote server)'}; valid for{' '}
              {quote.seconds_valid} more seconds.
            </p>
            <p className="actions">
              <Link className="button" to={`/trade?symbol=${quote.symbol}`}>
                Buy {quote.symbol}
              </Link>
              <Link className="button" to={`/trade?symbol=${quote.symbol}&side=sell`}>
                Sell {quote.symbol}
              </Link>
            </p>
          </section>
        )}
      </div>
      {charted && (
        <section className="card" aria-labelledby="chart-title">
          <h2 id="chart-title">Recent prices of {charted}</h2>
          {chart.loading && chart.points.length === 0 ? (
            <Spinner label="Loading prices…" />
          ) : (
            <PriceChart symbol={charted} points={chart.points} />
          )}
        </section>
      )}
      {lookedUp.size > 0 && (
        <nav className="card" aria-label="Symbols looked up in this session">
          <h2>Looked up in this session</h2>
          <ul className="chips">
            {[...lookedUp].sort().map((s) => (
              <li key={s}>
                <button
                  type="button"
                  disabled={busy}
                  aria-label={`Quote ${s} again`}
                  onClick={() => {
                    setSymbol(s)
                    void lookup(s)
                  }}
                >
                  {s}
                </button>
              </li>
            ))}
          </ul>
        </nav>
      )}
    </>
  )
}
