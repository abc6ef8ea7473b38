// The exchange centre: the live top-20 board (price, 24 h change coloured, volume, a
// sparkline of the last day), the user's coin holdings valued live, and a coin's page
// with candlesticks (1 m, 1 h, 24 h) and market buy and sell, showing the fee and the
// total before the order is confirmed, margin, and stop orders (StopsCard). Live: `ticker` events on /api/market/events.

import { useEffect, useMemo, useState } from 'react'
import type { FormEvent } from 'react'
import { board, buyCoin, candles, clientAssets, coinTrades, sellCoin } from '../../api/exchange'
import type {
  Board,
  BoardLine,
  BuyResult,
  CandleInterval,
  CandleRow,
  ClientAssets,
  CoinTrade,
  Holding,
  SellResult,
  TickerEvent,
} from '../../api/exchange'
import { useSignedIn } from '../../auth/SessionContext'
import { CandleChart, Sparkline } from '../../components/Charts'
import type { Point } from '../../components/Charts'
import { ModeBadge, When } from '../../components/crypto'
import { DataTable } from '../../components/DataTable'
import type { Column } from '../../components/DataTable'
import { ErrorText, Field, Spinner, StatusText, useAction } from '../../components/ui'
import {
  centsString,
  feeCents,
  formatCoin,
  formatPercent,
  formatPrice,
  newIdempotencyKey,
  parseCoinAmount,
  tone,
  toUnits,
  valueCents,
} from '../../lib/coins'
import { formatDollars, toCents } from '../../lib/money'
import { useLiveStream } from '../../live/stream'
import { MarginCard } from './MarginCard'
import { StopsCard } from './StopsCard'
import { useLoad } from '../../live/useLoad'
import { Link } from '../../router'

export const MARKET_EVENTS = '/api/market/events'
/** The exchange's default fee (EXCHANGE_FEE_BP), used when the board does not say. */
export const DEFAULT_FEE_BP = 25
const SPARK_HOURS = 24
const BOARD_REFRESH_MS = 30_000

const coinLink = (coin: string) => `/exchange/${encodeURIComponent(coin)}`

function feePercent(bp: number): string {
  return `${Math.floor(bp / 100)}.${String(bp % 100).padStart(2, '0')} %`
}

/** A ticker event applied to a board line (volume and rank stay until the next board). */
function applyTicker(line: BoardLine, t: TickerEvent): BoardLine {
  return {
    ...line,
    cur_price: t.price,
    open: t.open,
    high: t.high,
    low: t.low,
    chgAmt: t.chgAmt,
    chgRate: t.chgRate,
    value: t.value,
  }
}

/**
 * The board, kept live: read every 30 s (ranks and volumes) and patched by each ticker
 * event in between; `sparks` holds each coin's last day of hourly closes plus live ticks.
 */
function useLiveBoard() {
  const loaded = useLoad(board, [])
  const [lines, setLines] = useState<Record<string, BoardLine>>({})
  const [sparks, setSparks] = useState<Record<string, Point[]>>({})

  useEffect(() => {
    if (!loaded.data) return
    const next: Record<string, BoardLine> = {}
    for (const line of Object.values(loaded.data.tickers)) next[line.ticker] = line
    setLines(next)
  }, [loaded.data])

  // Each coin's hourly closes for the sparklines, a few coins at a time.
  const coins = loaded.data ? Object.values(loaded.data.tickers).map((l) => l.ticker) : []
  const coinKey = coins.join(',')
  useEffect(() => {
    if (!coinKey) return
    let cancelled = false
    const queue = coinKey.split(',').filter((c) => !sparks[c])
    const worker = async () => {
      for (let coin = queue.shift(); coin && !cancelled; coin = queue.shift()) {
        try {
          const rows = (await candles(coin, '1h', SPARK_HOURS)).candles
          const points = rows.map((r) => ({ t: r.time, value: r.close }))
          if (!cancelled) setSparks((old) => ({ ...old, [coin!]: [...points, ...(old[coin!] ?? [])] }))
        } catch {
          // No sparkline for this coin; the board itself is unaffected.
        }
      }
    }
    void Promise.all([worker(), worker(), worker()])
    return () => {
      cancelled = true
    }
    // Only when the set of coins changes (sparks already read are kept).
  }, [coinKey])

  const { reload } = loaded
  useEffect(() => {
    const timer = setInterval(() => void reload(), BOARD_REFRESH_MS)
    return () => clearInterval(timer)
  }, [reload])

  const mode = useLiveStream(MARKET_EVENTS, {
    onEvent: (event, data) => {
      if (event !== 'ticker') return
      const tick = data as TickerEvent
      setLines((old) => (old[tick.coin] ? { ...old, [tick.coin]: applyTicker(old[tick.coin], tick) } : old))
      setSparks((old) => {
        const points = old[tick.coin]
        if (!points) return old
        return {
          ...old,
          [tick.coin]: [...points, { t: Date.now(), value: tick.price }].slice(-SPARK_HOURS * 4),
        }
      })
    },
    poll: reload,
    pollMs: 10_000,
  })

  const ranked = Object.values(lines).sort((a, b) => a.rank - b.rank)
  return { loaded, ranked, lines, sparks, mode }
}

function Change({ rate, amount }: { rate: string; amount?: string }) {
  const kind = tone(rate)
  const arrow = kind === 'up' ? '▲' : kind === 'down' ? '▼' : ''
  return (
    <span className={`change tone-${kind}`}>
      {arrow && <span aria-hidden="true">{arrow} </span>}
      {formatPercent(rate)}
      {amount !== undefined && <span className="change-amount"> ({formatSignedPrice(amount)})</span>}
    </span>
  )
}

function formatSignedPrice(amount: string): string {
  if (amount.startsWith('-')) return `−${formatPrice(amount.slice(1))}`
  return `+${formatPrice(amount)}`
}

/** The board's columns; the last draws each coin's sparkline from ``sparks``. */
function boardColumns(sparks: Record<string, Point[]>): Column<BoardLine>[] {
  return [
    { label: '#', numeric: true, cell: (l) => <span className="muted">{l.rank}</span> },
    {
      label: 'Coin',
      rowHeader: true,
      cell: (l) => (
        <Link to={coinLink(l.ticker)}>
          <strong>{l.ticker}</strong> <span className="muted">{l.name}</span>
        </Link>
      ),
    },
    {
      label: 'Price',
      numeric: true,
      cell: (l) => <span data-testid={`price-${l.ticker}`}>{formatPrice(l.cur_price)}</span>,
    },
    { label: '24 h change', numeric: true, cell: (l) => <Change rate={l.chgRate} /> },
    { label: '24 h volume', numeric: true, className: 'hide-narrow', cell: (l) => formatCoin(l.volume) },
    {
      label: '24 h value',
      numeric: true,
      className: 'hide-narrow',
      cell: (l) => formatPrice(l.value, { cents: true }),
    },
    {
      label: 'Last 24 h',
      cell: (l) => <Sparkline points={sparks[l.ticker] ?? []} label={`${l.ticker} over the last 24 hours`} />,
    },
  ]
}

const HOLDING_COLUMNS: Column<Holding>[] = [
  { label: 'Coin', rowHeader: true, cell: (h) => <Link to={coinLink(h.ticker)}>{h.ticker}</Link> },
  {
    label: 'Amount',
    numeric: true,
    cell: (h) => (
      <>
        {formatCoin(h.available)}
        {toUnits(h.locked) > 0n && <span className="muted"> + {formatCoin(h.locked)} locked</span>}
      </>
    ),
  },
  { label: 'Price', numeric: true, cell: (h) => formatPrice(h.cur_price) },
  { label: 'Value', numeric: true, cell: (h) => formatDollars(h.value) },
  { label: 'Cost', numeric: true, cell: (h) => formatDollars(h.cost) },
  {
    label: 'Profit / loss',
    numeric: true,
    cell: (h) => (
      <span className={`tone-${tone(h.unrealised)}`}>
        {h.unrealised === null ? '—' : formatSignedCash(h.unrealised)}
      </span>
    ),
  },
]

function Holdings({ assets }: { assets: ClientAssets }) {
  const held = assets.holdings.filter((h) => toUnits(h.available) + toUnits(h.locked) > 0n)
  return (
    <section className="card" aria-labelledby="holdings-title">
      <h2 id="holdings-title">Your coins</h2>
      <dl className="stats">
        <div className="stat">
          <dt>Cash</dt>
          <dd>{formatDollars(assets.cash)}</dd>
        </div>
        <div className="stat">
          <dt>Coins value</dt>
          <dd>{formatDollars(assets.total_value)}</dd>
        </div>
        <div className="stat">
          <dt>Unrealised profit / loss</dt>
          <dd className={`tone-${tone(assets.total_unrealised)}`}>
            {formatSignedCash(assets.total_unrealised)}
          </dd>
        </div>
      </dl>
      {!assets.market_available && (
        <p className="banner banner-warn">
          The market feed is not answering: values are shown when it is back.
        </p>
      )}
      <DataTable
        caption="Your coins valued at the live price"
        columns={HOLDING_COLUMNS}
        rows={held}
        rowKey={(h) => h.ticker}
        empty="No coins yet: pick one below to buy."
      />
    </section>
  )
}

export function formatSignedCash(dollars: string | null): string {
  if (dollars === null) return '—'
  if (dollars.startsWith('-')) return `−${formatDollars(dollars.slice(1))}`
  return tone(dollars) === 'up' ? `+${formatDollars(dollars)}` : formatDollars(dollars)
}

/** The user's holdings and cash (404 `missing` while the user has no account yet). */
const useAssets = () => useLoad(clientAssets, [])

function BoardPage() {
  const { loaded, ranked, sparks, mode } = useLiveBoard()
  const assets = useAssets()
  return (
    <>
      <div className="page-head">
        <h1 tabIndex={-1}>Exchange</h1>
        <ModeBadge mode={mode} />
      </div>
      <p className="lead">
        The top 20 coins by value traded, live. Buy and sell at the market price for cash.
      </p>
      {assets.data && <Holdings assets={assets.data} />}
      {assets.error && !assets.missing && <ErrorText>{assets.error}</ErrorText>}
      <section className="card" aria-labelledby="board-title">
        <div className="section-head">
          <h2 id="board-title">Top 20</h2>
          {loaded.data && (
            <span className="muted">
              As of <When time={loaded.data.as_of} />
            </span>
          )}
        </div>
        {loaded.error && <ErrorText>{loaded.error}</ErrorText>}
        {!loaded.data && loaded.loading && <Spinner label="Loading the market…" />}
        {ranked.length > 0 && (
          <DataTable
            caption="The top 20 coins by value traded over 24 hours"
            columns={boardColumns(sparks)}
            rows={ranked}
            rowKey={(l) => l.ticker}
            className="responsive board"
          />
        )}
      </section>
    </>
  )
}

const INTERVALS: { id: CandleInterval; label: string }[] = [
  { id: '1m', label: '1 m' },
  { id: '1h', label: '1 h' },
  { id: '24h', label: '24 h' },
]

/** The last candle follows the live price between reads of the candles. */
function withLivePrice(rows: CandleRow[], price: string | undefined): CandleRow[] {
  if (!price || rows.length === 0) return rows
  const last = rows[rows.length - 1]
  const num = Number(price)
  const high = num > Number(last.high) ? price : last.high
  const low = num < Number(last.low) ? price : last.low
  return [...rows.slice(0, -1), { ...last, close: price, high, low }]
}

function CandlesCard({ coin, price }: { coin: string; price: string | undefined }) {
  const [interval, setInterval_] = useState<CandleInterval>('1h')
  const rows = useLoad(() => candles(coin, interval), [coin, interval])
  const { reload } = rows
  // A new 1-minute candle starts every minute: read them again as often.
  useEffect(() => {
    const every = interval === '1m' ? 60_000 : interval === '1h' ? 300_000 : 3_600_000
    const timer = setInterval(() => void reload(), every)
    return () => clearInterval(timer)
  }, [interval, reload])
  const shown = useMemo(() => withLivePrice(rows.data?.candles ?? [], price), [rows.data, price])
  const chartRows = useMemo(
    () => shown.map((r) => ({ t: r.time, open: r.open, high: r.high, low: r.low, close: r.close })),
    [shown],
  )
  return (
    <section className="card" aria-labelledby="chart-title">
      <div className="section-head">
        <h2 id="chart-title">{coin} price</h2>
        <div className="segmented" role="group" aria-label="Candle interval">
          {INTERVALS.map((i) => (
            <button
              key={i.id}
              type="button"
              aria-pressed={interval === i.id}
              onClick={() => setInterval_(i.id)}
            >
              {i.label}
            </button>
          ))}
        </div>
      </div>
      {rows.error && <ErrorText>{rows.error}</ErrorText>}
      {!rows.data && rows.loading && <Spinner label="Loading candles…" />}
      {rows.data && (
        <CandleChart
          candles={chartRows}
          title={`${coin} in ${interval} candles`}
          caption={`${shown.length} candles of ${INTERVALS.find((i) => i.id === interval)?.label}, in US dollars; drag to scroll, pinch or wheel to zoom.`}
        />
      )}
    </section>
  )
}

type Side = 'buy' | 'sell'

interface Preview {
  units: bigint
  value: bigint
  fee: bigint
  total: bigint
}

/** What an order of `units` at `price` costs or pays, as the exchange will round it. */
export function preview(side: Side, units: bigint, price: string, feeBp: number): Preview {
  const value = valueCents(units, price, side === 'buy' ? 'up' : 'down')
  const fee = feeCents(units, price, feeBp)
  return { units, value, fee, total: side === 'buy' ? value + fee : value - fee }
}

function TradeCard({
  coin,
  price,
  feeBp,
  feeKnown,
  assets,
  onTraded,
}: {
  coin: string
  price: string | undefined
  feeBp: number
  feeKnown: boolean
  assets: ClientAssets | null
  onTraded: () => void
}) {
  const { username } = useSignedIn()
  const [side, setSide] = useState<Side>('buy')
  const [amount, setAmount] = useState('')
  const [invalid, setInvalid] = useState<string | null>(null)
  const [review, setReview] = useState<{ side: Side; amount: string; price: string; key: string } | null>(
    null,
  )
  const [done, setDone] = useState<string | null>(null)
  const { run, busy, error, setError } = useAction()

  const holding = assets?.holdings.find((h) => h.ticker === coin)
  const heldUnits = holding ? toUnits(holding.available) : 0n
  const checked = parseCoinAmount(amount, coin, side === 'sell' ? heldUnits : undefined)
  const estimate = checked.ok && price ? preview(side, checked.units, price, feeBp) : null

  const change = (next: Side) => {
    setSide(next)
    setReview(null)
    setInvalid(null)
    setError(null)
    setDone(null)
  }

  const submit = (e: FormEvent) => {
    e.preventDefault()
    setDone(null)
    setError(null)
    if (!checked.ok) {
      setInvalid(checked.error)
      return
    }
    if (!price) {
      setInvalid('There is no price for this coin right now; try again in a moment.')
      return
    }
    if (side === 'buy' && assets && estimate && estimate.total > BigInt(toCents(assets.cash))) {
      setInvalid(
        `That costs ${formatDollars(centsString(estimate.total))} with the fee; you have ${formatDollars(assets.cash)}.`,
      )
      return
    }
    setInvalid(null)
    setReview({ side, amount: checked.value, price, key: newIdempotencyKey() })
  }

  const confirm = async () => {
    if (!review) return
    const result = await run<BuyResult | SellResult>(() =>
      review.side === 'buy'
        ? buyCoin(username, coin, review.amount, review.key)
        : sellCoin(username, coin, review.amount, review.key),
    )
    if (!result) return
    setReview(null)
    setAmount('')
    if (result.side === 'buy') {
      setDone(
        `Bought ${formatCoin(result.amount, coin)} at ${formatPrice(result.price)}: ${formatDollars(result.cost)} + fee ` +
          `${formatDollars(result.fee)} = ${formatDollars(result.total)}. Cash now ${formatDollars(result.cash)}.`,
      )
    } else {
      setDone(
        `Sold ${formatCoin(result.amount, coin)} at ${formatPrice(result.price)}: ${formatDollars(result.proceeds)} − fee ` +
          `${formatDollars(result.fee)} = ${formatDollars(result.net)}. Cash now ${formatDollars(result.cash)}.`,
      )
    }
    onTraded()
  }

  const reviewed = review ? preview(review.side, toUnits(review.amount), review.price, feeBp) : null
  const verb = side === 'buy' ? 'Buy' : 'Sell'
  return (
    <section className="card stack" aria-labelledby="trade-title">
      <div className="section-head">
        <h2 id="trade-title">
          {verb} {coin}
        </h2>
        <div className="segmented" role="group" aria-label="Buy or sell">
          <button type="button" aria-pressed={side === 'buy'} onClick={() => change('buy')}>
            Buy
          </button>
          <button type="button" aria-pressed={side === 'sell'} onClick={() => change('sell')}>
            Sell
          </button>
        </div>
      </div>
      {!review ? (
        <form onSubmit={submit} noValidate className="stack" aria-label={`${verb} ${coin}`}>
          <Field
            label={`Amount of ${coin}`}
            value={amount}
            onChange={(v) => {
              setAmount(v)
              setInvalid(null)
            }}
            error={invalid}
            inputMode="decimal"
            autoComplete="off"
            placeholder="0.5"
            hint={
              side === 'buy'
                ? assets
                  ? `Cash available: ${formatDollars(assets.cash)}.`
                  : undefined
                : `You have ${formatCoin(holding?.available ?? '0', coin)} to sell.`
            }
          />
          <dl className="quote-lines" aria-label="Estimate">
            <dt>Price now</dt>
            <dd>{formatPrice(price)}</dd>
            <dt>{side === 'buy' ? 'Cost' : 'Proceeds'}</dt>
            <dd>{estimate ? formatDollars(centsString(estimate.value)) : '—'}</dd>
            <dt>
              Fee ({feePercent(feeBp)}
              {feeKnown ? '' : ', default'})
            </dt>
            <dd>{estimate ? formatDollars(centsString(estimate.fee)) : '—'}</dd>
            <dt className="total">{side === 'buy' ? 'You pay' : 'You receive'}</dt>
            <dd className="total">{estimate ? formatDollars(centsString(estimate.total)) : '—'}</dd>
          </dl>
          <button type="submit" className="primary">
            Review {side}
          </button>
        </form>
      ) : (
        reviewed && (
          <div className="confirm" role="group" aria-label={`Confirm the ${review.side}`}>
            <p>
              <strong>
                {review.side === 'buy' ? 'Buy' : 'Sell'} {formatCoin(review.amount, coin)}
              </strong>{' '}
              at about {formatPrice(review.price)}:
            </p>
            <dl>
              <dt>
                {review.side === 'buy'
                  ? 'Cost (rounded up to the cent)'
                  : 'Proceeds (rounded down to the cent)'}
              </dt>
              <dd>{formatDollars(centsString(reviewed.value))}</dd>
              <dt>Fee ({feePercent(feeBp)}, rounded up)</dt>
              <dd>{formatDollars(centsString(reviewed.fee))}</dd>
              <dt className="total">{review.side === 'buy' ? 'You pay' : 'You receive'}</dt>
              <dd className="total" data-testid="order-total">
                {formatDollars(centsString(reviewed.total))}
              </dd>
            </dl>
            <p className="hint">
              The order runs at the market price when you confirm; the figures follow that price.
            </p>
            <div className="actions">
              <button type="button" className="primary" onClick={confirm} disabled={busy}>
                {busy ? 'Placing the order…' : `Confirm ${review.side}`}
              </button>
              <button type="button" onClick={() => setReview(null)} disabled={busy}>
                Change
              </button>
            </div>
          </div>
        )
      )}
      <ErrorText>{error}</ErrorText>
      {done && <StatusText>{done}</StatusText>}
    </section>
  )
}

/** The columns of the user's trades of ``coin``. */
function tradeColumns(coin: string): Column<CoinTrade>[] {
  return [
    { label: 'When', cell: (t) => <When time={t.timestamp} /> },
    {
      label: 'Side',
      cell: (t) => (
        <span className={t.side === 'buy' ? 'tone-up' : 'tone-down'}>
          {t.side === 'buy' ? 'Buy' : 'Sell'}
        </span>
      ),
    },
    { label: 'Amount', numeric: true, cell: (t) => formatCoin(t.amount, coin) },
    { label: 'Price', numeric: true, cell: (t) => formatPrice(t.price) },
    { label: 'Cash', numeric: true, cell: (t) => formatDollars(t.cash) },
    { label: 'Fee', numeric: true, cell: (t) => formatDollars(t.fee) },
  ]
}

function TradesCard({ coin, version }: { coin: string; version: number }) {
  const trades = useLoad(() => coinTrades(coin), [coin, version])
  return (
    <section className="card" aria-labelledby="trades-title">
      <h2 id="trades-title">Your {coin} trades</h2>
      {trades.error && !trades.missing && <ErrorText>{trades.error}</ErrorText>}
      <DataTable
        caption={`Your trades of ${coin}, newest first`}
        columns={tradeColumns(coin)}
        rows={trades.data?.trades}
        rowKey={(t, i) => `${t.timestamp}-${t.transactionNum ?? i}`}
        empty={`No trades of ${coin} yet.`}
      />
    </section>
  )
}

function CoinPage({ coin }: { coin: string }) {
  const { loaded, lines, mode } = useLiveBoard()
  const assets = useAssets()
  const [version, setVersion] = useState(0)
  const line = lines[coin]
  const data: Board | null = loaded.data
  const unknown = data && !line && Object.keys(lines).length > 0
  return (
    <>
      <p className="crumbs">
        <Link to="/exchange">← Exchange</Link>
      </p>
      <div className="page-head">
        <h1 tabIndex={-1}>
          {line ? line.name : coin} <span className="muted">{coin}</span>
        </h1>
        <ModeBadge mode={mode} />
      </div>
      {loaded.error && <ErrorText>{loaded.error}</ErrorText>}
      {unknown && <p className="empty">The market does not list {coin} among the top 20.</p>}
      {line && (
        <dl className="stats">
          <div className="stat">
            <dt>Price</dt>
            <dd data-testid="coin-price">{formatPrice(line.cur_price)}</dd>
            <dd className="stat-note">
              <Change rate={line.chgRate} amount={line.chgAmt} />
            </dd>
          </div>
          <div className="stat">
            <dt>24 h high / low</dt>
            <dd className="stat-small">
              {formatPrice(line.high)} / {formatPrice(line.low)}
            </dd>
          </div>
          <div className="stat">
            <dt>24 h volume</dt>
            <dd className="stat-small">{formatCoin(line.volume, coin)}</dd>
          </div>
          <div className="stat">
            <dt>24 h value</dt>
            <dd className="stat-small">{formatPrice(line.value, { cents: true })}</dd>
          </div>
        </dl>
      )}
      {!unknown && (
        <>
          <CandlesCard coin={coin} price={line?.cur_price} />
          <div className="columns">
            <TradeCard
              coin={coin}
              price={line?.cur_price}
              feeBp={data?.fee_bp ?? DEFAULT_FEE_BP}
              feeKnown={data?.fee_bp !== undefined}
              assets={assets.data}
              onTraded={() => {
                void assets.reload()
                setVersion((v) => v + 1)
              }}
            />
            <MarginCard
              coin={coin}
              onChange={() => {
                void assets.reload()
                setVersion((v) => v + 1)
              }}
            />
          </div>
          <StopsCard
            coin={coin}
            price={line?.cur_price}
            available={assets.data?.holdings.find((h) => h.ticker === coin)?.available}
            version={version}
          />
          <TradesCard coin={coin} version={version} />
        </>
      )}
    </>
  )
}

export function ExchangePage({ coin }: { coin?: string }) {
  if (coin) return <CoinPage key={coin} coin={coin.toUpperCase()} />
  return <BoardPage />
}
