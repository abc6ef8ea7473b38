// Isolated margin on one coin: long or short at 2x-5x with a margin in dollars. The
// server's preview shows the liquidation and margin-call prices, the fee and the cash
// needed before the position is opened; an open position shows its margin level, with
// a warning at the margin call (1.3) before liquidation (1.1). Live: every change of the
// account (the margin checker's call or liquidation among them) reads the position
// again, and a position the checker closed says so, with what came back to cash.

import { useEffect, useRef, useState } from 'react'
import type { FormEvent } from 'react'
import { closePosition, marginPositions, openPosition, previewPosition } from '../../api/exchange'
import type { MarginTerms, Position } from '../../api/exchange'
import { useSignedIn } from '../../auth/SessionContext'
import { ErrorText, MoneyField, StatusText, useAction } from '../../components/ui'
import { formatCoin, formatPrice, newIdempotencyKey, parseDecimal } from '../../lib/coins'
import { formatDollars, parseAmount } from '../../lib/money'
import { useAccount } from '../../live/AccountContext'
import { useLoad } from '../../live/useLoad'

/** A margin call at a level of 1.3, liquidation at 1.1 (crypto-side.md). */
const CALL_LEVEL = parseDecimal('1.3', 4)

function debtText(p: Position): string {
  return p.debt_asset === 'USD' ? formatDollars(p.debt) : formatCoin(p.debt, p.debt_asset)
}

function PositionView({
  p,
  onClosing,
  onClosed,
}: {
  p: Position
  onClosing: (closing: boolean) => void
  onClosed: (text: string) => void
}) {
  const { username } = useSignedIn()
  const { run, busy, error } = useAction()
  const called =
    p.margin_call || (p.margin_level !== undefined && parseDecimal(p.margin_level, 4) <= CALL_LEVEL)
  const close = async () => {
    onClosing(true)
    const done = await run(() => closePosition(username, p.coin))
    if (done) onClosed(`Closed the ${p.side} on ${p.coin}: ${formatDollars(done.returned)} returned to cash.`)
    else onClosing(false)
  }
  return (
    <div className="stack position" data-testid="position">
      {called && (
        <p className="banner banner-bad" role="alert">
          Margin call: the level is {p.margin_level ?? 'at or below 1.3'}; at 1.1 the position is closed at
          market (about {formatPrice(p.liquidation_price)}). Close it or it may be liquidated.
        </p>
      )}
      <dl className="quote-lines">
        <dt>Position</dt>
        <dd>
          {p.side} {p.leverage}× · {formatCoin(p.amount, p.coin)}
        </dd>
        <dt>Margin</dt>
        <dd>{formatDollars(p.margin)}</dd>
        <dt>Debt + interest</dt>
        <dd>
          {debtText(p)} +{' '}
          {p.debt_asset === 'USD' ? formatDollars(p.interest) : formatCoin(p.interest, p.debt_asset)}
        </dd>
        <dt>Margin level</dt>
        <dd data-testid="margin-level">{p.margin_level ?? '—'}</dd>
        <dt>Margin call at</dt>
        <dd>{formatPrice(p.margin_call_price)}</dd>
        <dt className="total">Liquidation at</dt>
        <dd className="total">{formatPrice(p.liquidation_price)}</dd>
      </dl>
      <button type="button" onClick={close} disabled={busy}>
        {busy ? 'Closing…' : `Close the ${p.side}`}
      </button>
      <ErrorText>{error}</ErrorText>
    </div>
  )
}

export function MarginCard({ coin, onChange }: { coin: string; onChange: () => void }) {
  const { username } = useSignedIn()
  const positions = useLoad(marginPositions, [coin])
  const [side, setSide] = useState<'long' | 'short'>('long')
  const [leverage, setLeverage] = useState(2)
  const [margin, setMargin] = useState('')
  const [invalid, setInvalid] = useState<string | null>(null)
  const [preview, setPreview] = useState<{ terms: MarginTerms; shown: Position; key: string } | null>(null)
  const [done, setDone] = useState<string | null>(null)
  const { run, busy, error, setError } = useAction()
  const open = positions.data?.positions.find((p) => p.coin === coin)
  const { state: account } = useAccount()
  const { reload } = positions
  // The open position as last shown, and whether this page is closing it.
  const shownOpen = useRef<Position | undefined>(undefined)
  const closing = useRef(false)

  // The margin checker changes the account (a call, a liquidation): read the position again.
  useEffect(() => {
    if (shownOpen.current) void reload()
  }, [account.summary, reload])

  useEffect(() => {
    if (!positions.data) return
    const was = shownOpen.current
    shownOpen.current = open
    if (!was || open) return
    if (closing.current) {
      closing.current = false // closed here: its own message is shown
      return
    }
    // Gone without this page closing it: the checker liquidated it. What came back is
    // the cash added under the position's transaction number (nothing: a shortfall).
    const added = account.summary?.recent_transactions.find(
      (e) => e.type === 'accountTransaction' && e.action === 'add' && e.transactionNum === was.transactionNum,
    )
    setDone(
      `Your ${was.side} ${was.leverage}× on ${coin} was liquidated at a margin level of 1.1 or less: ` +
        `${formatDollars(added?.funds ?? '0.00')} returned to cash.`,
    )
    onChange()
  }, [positions.data, open, account.summary, coin, onChange])

  const review = async (e: FormEvent) => {
    e.preventDefault()
    setDone(null)
    const money = parseAmount(margin)
    setInvalid(money.ok ? null : money.error)
    if (!money.ok) return
    const terms = { coin, side, leverage, margin: money.value }
    const shown = await run(() => previewPosition(terms))
    if (shown) setPreview({ terms, shown, key: newIdempotencyKey() })
  }

  const confirm = async () => {
    if (!preview) return
    const opened = await run(() => openPosition(username, preview.terms, preview.key))
    if (opened) {
      setPreview(null)
      setMargin('')
      setDone(
        `Opened a ${opened.side} ${opened.leverage}× on ${coin} at ${formatPrice(opened.price)}; ` +
          `liquidation at ${formatPrice(opened.liquidation_price)}.`,
      )
      void positions.reload()
      onChange()
    }
  }

  return (
    <section className="card stack" aria-labelledby="margin-title">
      <h2 id="margin-title">Margin on {coin}</h2>
      {positions.error && !positions.missing && <ErrorText>{positions.error}</ErrorText>}
      {open ? (
        <PositionView
          p={open}
          onClosing={(yes) => {
            closing.current = yes
          }}
          onClosed={(text) => {
            setDone(text)
            void positions.reload()
            onChange()
          }}
        />
      ) : !preview ? (
        <form onSubmit={review} noValidate className="stack" aria-label={`Open a margin position on ${coin}`}>
          <div className="field-row">
            <div className="field">
              <label htmlFor="margin-side">Side</label>
              <select
                id="margin-side"
                value={side}
                onChange={(e) => {
                  setSide(e.target.value as 'long' | 'short')
                  setError(null)
                }}
              >
                <option value="long">Long (borrow cash)</option>
                <option value="short">Short (borrow {coin})</option>
              </select>
            </div>
            <div className="field">
              <label htmlFor="margin-leverage">Leverage</label>
              <select
                id="margin-leverage"
                value={leverage}
                onChange={(e) => setLeverage(Number(e.target.value))}
              >
                {[2, 3, 4, 5].map((x) => (
                  <option key={x} value={x}>
                    {x}×
                  </option>
                ))}
              </select>
            </div>
          </div>
          <MoneyField label="Margin" value={margin} onChange={setMargin} error={invalid} />
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Working it out…' : 'Preview'}
          </button>
        </form>
      ) : (
        <div className="confirm" role="group" aria-label="Confirm the position">
          <p>
            <strong>
              {preview.terms.side} {preview.terms.leverage}× on {coin}
            </strong>{' '}
            with {formatDollars(preview.terms.margin)} of margin, at about {formatPrice(preview.shown.price)}:
          </p>
          <dl>
            <dt>Position</dt>
            <dd>{formatCoin(preview.shown.amount, coin)}</dd>
            <dt>Borrowed</dt>
            <dd>{debtText(preview.shown)}</dd>
            <dt>Margin call at</dt>
            <dd>{formatPrice(preview.shown.margin_call_price)}</dd>
            <dt className="total">Liquidation at</dt>
            <dd className="total" data-testid="liquidation-price">
              {formatPrice(preview.shown.liquidation_price)}
            </dd>
            <dt>Fee</dt>
            <dd>{formatDollars(preview.shown.fee)}</dd>
            <dt className="total">Cash needed</dt>
            <dd className="total">{formatDollars(preview.shown.cash_needed)}</dd>
          </dl>
          <p className="hint">
            Borrowing accrues interest hourly. At a margin level of 1.1 the position is closed at market.
          </p>
          <div className="actions">
            <button type="button" className="primary" onClick={confirm} disabled={busy}>
              {busy ? 'Opening…' : `Open the ${preview.terms.side}`}
            </button>
            <button type="button" onClick={() => setPreview(null)} disabled={busy}>
              Change
            </button>
          </div>
        </div>
      )}
      <ErrorText>{error}</ErrorText>
      {done && <StatusText>{done}</StatusText>}
    </section>
  )
}
