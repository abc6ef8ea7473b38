// Automatic coin trading, seed 002's volatility breakout: backtest it on a coin's daily
// candles (k by hand, or chosen automatically: 0.1 ... 0.9, the best return kept) and
// see the equity curve and the figures traders expect; then run it, on paper or live,
// and follow each strategy's target, holdings, trades and profit.

import { useState } from 'react'
import type { FormEvent } from 'react'
import { backtest, board, startStrategy, stopStrategy, strategies } from '../../api/exchange'
import type { Backtest, Strategy } from '../../api/exchange'
import { useSignedIn } from '../../auth/SessionContext'
import { SeriesChart } from '../../components/Charts'
import { StateTag, When } from '../../components/crypto'
import { DataTable } from '../../components/DataTable'
import type { Column } from '../../components/DataTable'
import { ErrorText, Field, MoneyField, Spinner, StatusText, useAction } from '../../components/ui'
import { formatCoin, formatPrice, fractionPercent, newIdempotencyKey, tone } from '../../lib/coins'
import { formatDollars, parseAmount } from '../../lib/money'
import { useLoad } from '../../live/useLoad'
import { Link } from '../../router'
import { formatSignedCash } from './ExchangePage'

/** One k the backtest tried, with its total return. */
type Tried = Backtest['tried'][number]

const K_PATTERN = /^(?:[01](?:\.\d{1,2})?|2(?:\.0{1,2})?)$/

/** "" when k is a decimal from 0.01 to 2.00 (as the server takes it), else words. */
export function checkK(k: string): string | null {
  const text = k.trim()
  if (!K_PATTERN.test(text) || Number(text) === 0) return 'k is a decimal from 0.01 to 2.00, e.g. 0.5.'
  return null
}

function CoinSelect({
  id,
  value,
  onChange,
  coins,
}: {
  id: string
  value: string
  onChange: (v: string) => void
  coins: string[]
}) {
  return (
    <div className="field">
      <label htmlFor={id}>Coin</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        {coins.map((c) => (
          <option key={c}>{c}</option>
        ))}
      </select>
    </div>
  )
}

function KChoice({
  auto,
  setAuto,
  k,
  setK,
  error,
}: {
  auto: boolean
  setAuto: (v: boolean) => void
  k: string
  setK: (v: string) => void
  error?: string | null
}) {
  return (
    <fieldset className="k-choice">
      <legend>k (how far above the open the price must break)</legend>
      <label className="check">
        <input type="checkbox" checked={auto} onChange={(e) => setAuto(e.target.checked)} /> Choose k
        automatically (the best of 0.1 … 0.9 on past days)
      </label>
      {!auto && (
        <Field
          label="k"
          value={k}
          onChange={setK}
          error={error}
          inputMode="decimal"
          autoComplete="off"
          placeholder="0.5"
        />
      )}
    </fieldset>
  )
}

function Figures({ result }: { result: Backtest }) {
  const rows: [string, string, string?][] = [
    ['k', result.k],
    ['Total return', fractionPercent(result.total_return), tone(result.total_return)],
    ['Max drawdown', fractionPercent(result.max_drawdown, { signed: false })],
    ['Trades', `${result.trades} (${result.wins} won)`],
    ['Win rate', fractionPercent(result.win_rate, { signed: false })],
    ['Profit factor', result.profit_factor === null ? '—' : Number(result.profit_factor).toFixed(2)],
    ['Market over the span', fractionPercent(result.market_change), tone(result.market_change)],
  ]
  return (
    <dl className="stats" aria-label="Backtest figures">
      {rows.map(([label, value, kind]) => (
        <div className="stat" key={label}>
          <dt>{label}</dt>
          <dd className={kind ? `tone-${kind}` : undefined}>{value}</dd>
        </div>
      ))}
    </dl>
  )
}

/** The columns of the k tried; ``best`` is the one chosen (null when k was given). */
function triedColumns(best: string | null): Column<Tried>[] {
  return [
    {
      label: 'k',
      rowHeader: true,
      cell: (t) => (
        <>
          {t.k}
          {t.k === best && <span className="muted"> (chosen)</span>}
        </>
      ),
    },
    {
      label: 'Total return',
      numeric: true,
      cell: (t) => <span className={`tone-${tone(t.total_return)}`}>{fractionPercent(t.total_return)}</span>,
    },
  ]
}

function BacktestCard({ coins }: { coins: string[] }) {
  const [coin, setCoin] = useState('BTC')
  const [days, setDays] = useState('365')
  const [auto, setAuto] = useState(true)
  const [k, setK] = useState('0.5')
  const [invalid, setInvalid] = useState<{ days?: string | null; k?: string | null }>({})
  const [result, setResult] = useState<Backtest | null>(null)
  const { run, busy, error } = useAction()

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    const n = Number(days)
    const problems = {
      days: /^\d+$/.test(days.trim()) && n >= 3 && n <= 1000 ? null : 'Between 3 and 1,000 days.',
      k: auto ? null : checkK(k),
    }
    setInvalid(problems)
    if (problems.days || problems.k) return
    const answer = await run(() => backtest(coin, n, auto ? 'auto' : k.trim()))
    if (answer) setResult(answer)
  }

  const best = result?.tried.length ? result.k : null
  return (
    <section className="card" aria-labelledby="backtest-title">
      <h2 id="backtest-title">Backtest</h2>
      <form onSubmit={submit} noValidate className="stack" aria-label="Backtest the volatility breakout">
        <div className="field-row">
          <CoinSelect id="backtest-coin" value={coin} onChange={setCoin} coins={coins} />
          <Field
            label="Days"
            value={days}
            onChange={setDays}
            error={invalid.days}
            inputMode="numeric"
            autoComplete="off"
          />
        </div>
        <KChoice auto={auto} setAuto={setAuto} k={k} setK={setK} error={invalid.k} />
        <ErrorText>{error}</ErrorText>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Running the backtest…' : 'Run backtest'}
        </button>
      </form>
      {result && (
        <div className="stack backtest-result">
          <p className="muted" role="status">
            {result.coin}, {result.days} days from <When time={result.from} /> to <When time={result.to} />,
            fee {fractionPercent(result.fee, { signed: false })} per trade
            {result.auto ? `, k chosen: ${result.k}` : ''}.
          </p>
          <Figures result={result} />
          <SeriesChart
            points={result.equity.map((p) => ({ t: p.time, value: p.equity }))}
            title={`Equity of the breakout on ${result.coin}`}
            precision={4}
            timeVisible={false}
            caption="Equity, where 1 is the starting capital."
          />
          {result.tried.length > 0 && (
            <details>
              <summary>Every k tried</summary>
              <DataTable
                caption="Total return of each k tried"
                columns={triedColumns(best)}
                rows={result.tried}
                rowKey={(t) => t.k}
                className="compact"
                wrap={false}
                rowClassName={(t) => (t.k === best ? 'best' : undefined)}
              />
            </details>
          )}
        </div>
      )}
    </section>
  )
}

function StartForm({ coins, onStarted }: { coins: string[]; onStarted: () => void }) {
  const { username } = useSignedIn()
  const [coin, setCoin] = useState('BTC')
  const [auto, setAuto] = useState(true)
  const [k, setK] = useState('0.5')
  const [budget, setBudget] = useState('')
  const [mode, setMode] = useState<'paper' | 'live'>('paper')
  const [period, setPeriod] = useState('86400')
  const [invalid, setInvalid] = useState<{
    k?: string | null
    budget?: string | null
    period?: string | null
  }>({})
  const [done, setDone] = useState<string | null>(null)
  const { run, busy, error } = useAction()

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setDone(null)
    const money = parseAmount(budget)
    const seconds = Number(period)
    const problems = {
      k: auto ? null : checkK(k),
      budget: money.ok ? null : money.error,
      period:
        /^\d+$/.test(period.trim()) && seconds >= 1 && seconds <= 31_536_000
          ? null
          : 'From 1 second to a year.',
    }
    setInvalid(problems)
    if (problems.k || !money.ok || problems.period) return
    const started = await run(() =>
      startStrategy(
        username,
        { coin, k: auto ? 'auto' : k.trim(), budget: money.value, mode, period_s: seconds },
        newIdempotencyKey(),
      ),
    )
    if (started) {
      setDone(
        `${started.mode === 'paper' ? 'Paper' : 'Live'} breakout on ${started.coin} started with k ${started.k} and ` +
          `${formatDollars(started.budget)} per trade.`,
      )
      onStarted()
    }
  }

  return (
    <form onSubmit={submit} noValidate className="card stack" aria-labelledby="start-title">
      <h2 id="start-title">Run the strategy</h2>
      <div className="field-row">
        <CoinSelect id="strategy-coin" value={coin} onChange={setCoin} coins={coins} />
        <MoneyField label="Budget per trade" value={budget} onChange={setBudget} error={invalid.budget} />
      </div>
      <KChoice auto={auto} setAuto={setAuto} k={k} setK={setK} error={invalid.k} />
      <fieldset>
        <legend>Mode</legend>
        <label className="check">
          <input type="radio" name="mode" checked={mode === 'paper'} onChange={() => setMode('paper')} />{' '}
          Paper: the same trades, no money
        </label>
        <label className="check">
          <input type="radio" name="mode" checked={mode === 'live'} onChange={() => setMode('live')} /> Live:
          buys and sells with your cash
        </label>
      </fieldset>
      <Field
        label="Period in seconds"
        value={period}
        onChange={setPeriod}
        error={invalid.period}
        inputMode="numeric"
        hint="A day (86,400 s) by default: buy on the breakout, sell at the next period’s open."
      />
      <ErrorText>{error}</ErrorText>
      {done && <StatusText>{done}</StatusText>}
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Starting…' : `Start ${mode} strategy`}
      </button>
    </form>
  )
}

const STRATEGY_COLUMNS: Column<Strategy>[] = [
  { label: 'Coin' },
  { label: 'Mode' },
  { label: 'k', numeric: true },
  { label: 'Budget', numeric: true },
  { label: 'Target', numeric: true },
  { label: 'Held', numeric: true },
  { label: 'Trades', numeric: true },
  { label: 'Profit / loss', numeric: true },
  { label: 'Action' },
]

function StrategyRow({ s, onStopped }: { s: Strategy; onStopped: () => void }) {
  const { username } = useSignedIn()
  const { run, busy, error } = useAction()
  const stop = async () => {
    if (await run(() => stopStrategy(username, s.coin))) onStopped()
  }
  return (
    <tr>
      <th scope="row" data-label="Coin">
        <Link to={`/exchange/${s.coin}`}>{s.coin}</Link>
      </th>
      <td data-label="Mode">
        <StateTag state={s.mode} />
      </td>
      <td data-label="k" className="num">
        {s.k}
      </td>
      <td data-label="Budget" className="num">
        {formatDollars(s.budget)}
      </td>
      <td data-label="Target" className="num">
        {formatPrice(s.target)}
      </td>
      <td data-label="Held" className="num">
        {formatCoin(s.held, s.coin)}
      </td>
      <td data-label="Trades" className="num">
        {s.trades}
      </td>
      <td data-label="Profit / loss" className={`num tone-${tone(s.pnl)}`}>
        {formatSignedCash(s.pnl)}
      </td>
      <td data-label="Action">
        <button type="button" onClick={stop} disabled={busy} aria-label={`Stop the ${s.coin} strategy`}>
          Stop
        </button>
        <ErrorText>{error}</ErrorText>
      </td>
    </tr>
  )
}

export function AutoTradePage() {
  const coins = useLoad(async () => Object.values((await board()).tickers).map((l) => l.ticker), [])
  const running = useLoad(strategies, [])
  const list = coins.data ?? ['BTC']
  return (
    <>
      <h1 tabIndex={-1}>Auto-trade</h1>
      <p className="lead">
        Volatility breakout: buy when the price passes this period’s open + k × last period’s range, sell at
        the next period’s open.
      </p>
      <BacktestCard coins={list} />
      <div className="columns">
        <StartForm coins={list} onStarted={() => void running.reload()} />
        <section className="card" aria-labelledby="strategies-title">
          <h2 id="strategies-title">Your strategies</h2>
          {running.error && !running.missing && <ErrorText>{running.error}</ErrorText>}
          {!running.data && running.loading && <Spinner label="Loading strategies…" />}
          <DataTable
            caption="Your strategies"
            columns={STRATEGY_COLUMNS}
            // No account yet (404): nothing is running.
            rows={running.missing ? [] : running.data?.strategies}
            rowKey={(s) => s.id}
            empty="No strategy running."
            renderRow={(s) => <StrategyRow s={s} onStopped={() => void running.reload()} />}
          />
        </section>
      </div>
    </>
  )
}
