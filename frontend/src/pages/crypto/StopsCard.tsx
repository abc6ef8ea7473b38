// Stop orders on one coin: a stop-loss, take-profit or trailing stop on the user's
// holding of the coin (or on their open margin position in it), checked here before it
// is sent, and the list of the user's stop orders on the coin with a cancel button each.
// The server has the last word: a stop price on the wrong side of the market (400) or
// one stop too many (409) comes back in its own words.

import { useState } from 'react'
import type { FormEvent } from 'react'
import { cancelStop, marginPositions, placeStop, stopOrders } from '../../api/exchange'
import type { StopKind, StopOrder, StopTarget, StopTerms } from '../../api/exchange'
import { useSignedIn } from '../../auth/SessionContext'
import type { Column } from '../../components/DataTable'
import { When } from '../../components/crypto'
import { CancelCell, StopList } from '../../components/stops'
import { ErrorText, Field, MoneyField, StatusText, useOnceAction } from '../../components/ui'
import { formatCoin, formatPrice, parseCoinAmount, parseDecimal, toUnits } from '../../lib/coins'
import { parsePrice } from '../../lib/money'
import { useLoad } from '../../live/useLoad'

const KIND_NAMES: Record<StopKind, string> = {
  stop_loss: 'stop-loss',
  take_profit: 'take-profit',
  trailing: 'trailing stop',
}

/** The trail a trailing stop may keep behind the best price: 0.1 % to 50 % (10-5000 bp). */
const MIN_TRAIL_BP = 10n
const MAX_TRAIL_BP = 5000n

/** Basis points of a typed trail in percent ("2.5" -> 250), or words for what is wrong. */
function parseTrail(input: string): { ok: true; bp: number } | { ok: false; error: string } {
  const cleaned = input.trim().replace(/\s*%$/, '')
  if (cleaned === '') return { ok: false, error: 'Enter a trail in percent, e.g. 5.' }
  if (!/^\d+(\.\d{0,2})?$/.test(cleaned) && !/^\.\d{1,2}$/.test(cleaned)) {
    return { ok: false, error: 'Use digits and at most two decimals, e.g. 2.5.' }
  }
  const bp = parseDecimal(cleaned.startsWith('.') ? `0${cleaned}` : cleaned.replace(/\.$/, ''), 2)
  if (bp < MIN_TRAIL_BP || bp > MAX_TRAIL_BP) {
    return { ok: false, error: 'The trail must be from 0.1 % to 50 %.' }
  }
  return { ok: true, bp: Number(bp) }
}

/** A trail in basis points for people: 250 -> "2.5 %". */
function trailText(bp: number): string {
  const whole = Math.floor(bp / 100)
  const fraction = String(bp % 100)
    .padStart(2, '0')
    .replace(/0+$/, '')
  return `${whole}${fraction ? `.${fraction}` : ''} %`
}

/**
 * Whether a stop at `trigger` would fire at once at market `price` (the server's rule,
 * services/common/domain/stops.py): a stop-loss on what falls in value (a holding, a long)
 * must be below the market, a take-profit above; on a short the other way round.
 */
function wrongSide(kind: StopKind, falling: boolean, trigger: bigint, price: bigint): string | null {
  const below = (kind === 'stop_loss') === falling
  if (below && trigger >= price) return 'below'
  if (!below && trigger <= price) return 'above'
  return null
}

function StopRow({ stop, onCancelled }: { stop: StopOrder; onCancelled: (text: string) => void }) {
  const { username } = useSignedIn()
  const name = KIND_NAMES[stop.kind]
  return (
    <tr>
      <td data-label="Kind">{name[0].toUpperCase() + name.slice(1)}</td>
      <td data-label="On">
        {stop.target === 'holding' ? formatCoin(stop.amount, stop.coin) : 'Margin position'}
      </td>
      <td data-label="Fires at" className="num">
        {formatPrice(stop.trigger)}
        {stop.kind === 'trailing' && stop.trail_bp !== null && (
          <span className="hint">
            {' '}
            ({trailText(stop.trail_bp)} behind {formatPrice(stop.best)})
          </span>
        )}
      </td>
      <td data-label="Placed">
        <When time={stop.created} />
      </td>
      <CancelCell
        what={`${name} at ${formatPrice(stop.trigger)}`}
        cancel={() => cancelStop(username, stop.id)}
        onCancelled={onCancelled}
      />
    </tr>
  )
}

const COLUMNS: Column<StopOrder>[] = [
  { label: 'Kind' },
  { label: 'On' },
  { label: 'Fires at', numeric: true },
  { label: 'Placed' },
]

export function StopsCard({
  coin,
  price,
  available,
  version,
}: {
  coin: string
  /** The market price now (USD string to 1/10,000), when known. */
  price?: string
  /** Coins of the holding free to protect. */
  available?: string
  /** Bumped when a trade or a margin change may have changed the holding or the position. */
  version: number
}) {
  const { username } = useSignedIn()
  const [listed, setListed] = useState(0)
  const stops = useLoad(() => stopOrders(username), [username, coin, version, listed])
  const positions = useLoad(marginPositions, [coin, version])
  const position = positions.data?.positions.find((p) => p.coin === coin)
  const [kind, setKind] = useState<StopKind>('stop_loss')
  const [chosenTarget, setTarget] = useState<StopTarget>('holding')
  const target: StopTarget = position ? chosenTarget : 'holding'
  const [amount, setAmount] = useState('')
  const [trigger, setTrigger] = useState('')
  const [trail, setTrail] = useState('')
  const [invalid, setInvalid] = useState<{ amount?: string; price?: string; trail?: string }>({})
  const [done, setDone] = useState<string | null>(null)
  const { runOnce, busy, error } = useOnceAction()
  const mine = stops.data?.stops.filter((s) => s.coin === coin) ?? []
  const heldUnits = available ? toUnits(available) : 0n
  const falling = target === 'holding' || position?.side === 'long'

  const place = async (e: FormEvent) => {
    e.preventDefault()
    setDone(null)
    const terms: StopTerms = { coin, kind, target }
    const problems: typeof invalid = {}
    if (target === 'holding') {
      const coins = parseCoinAmount(amount, coin, heldUnits)
      if (coins.ok) terms.amount = coins.value
      else problems.amount = heldUnits > 0n ? coins.error : `You hold no ${coin} to protect.`
    }
    if (kind === 'trailing') {
      const checked = parseTrail(trail)
      if (checked.ok) terms.trail_bp = checked.bp
      else problems.trail = checked.error
    } else {
      const checked = parsePrice(trigger)
      if (!checked.ok) problems.price = checked.error
      else {
        terms.price = checked.value
        const side = price ? wrongSide(kind, falling, checked.tenThousandths, parseDecimal(price, 4)) : null
        if (side) {
          problems.price = `A ${KIND_NAMES[kind]} here must be ${side} the market price ${formatPrice(price)}.`
        }
      }
    }
    setInvalid(problems)
    if (Object.keys(problems).length > 0) return
    const placed = await runOnce(terms, (key) => placeStop(username, terms, key))
    if (placed) {
      setAmount('')
      setTrigger('')
      setTrail('')
      setDone(
        `Placed a ${KIND_NAMES[placed.kind]} on ${
          placed.target === 'holding' ? formatCoin(placed.amount, coin) : `your ${coin} position`
        }: it fires at ${formatPrice(placed.trigger)}.`,
      )
      setListed((n) => n + 1)
    }
  }

  return (
    <section className="card stack" aria-labelledby="stops-title">
      <h2 id="stops-title">Stop orders on {coin}</h2>
      <form onSubmit={place} noValidate className="stack" aria-label={`Place a stop order on ${coin}`}>
        <div className="field-row">
          <div className="field">
            <label htmlFor="stop-kind">Kind</label>
            <select
              id="stop-kind"
              value={kind}
              onChange={(e) => {
                setKind(e.target.value as StopKind)
                setInvalid({})
              }}
            >
              <option value="stop_loss">Stop-loss</option>
              <option value="take_profit">Take-profit</option>
              <option value="trailing">Trailing stop</option>
            </select>
          </div>
          <div className="field">
            <label htmlFor="stop-target">On</label>
            <select
              id="stop-target"
              value={target}
              onChange={(e) => {
                setTarget(e.target.value as StopTarget)
                setInvalid({})
              }}
            >
              <option value="holding">My {coin} holding</option>
              {position && (
                <option value="position">
                  My {position.side} position ({position.leverage}×)
                </option>
              )}
            </select>
          </div>
        </div>
        {target === 'holding' && (
          <Field
            label={`Amount (${coin})`}
            value={amount}
            onChange={setAmount}
            inputMode="decimal"
            autoComplete="off"
            spellCheck={false}
            placeholder="0.5"
            hint={`You hold ${formatCoin(available ?? '0', coin)}; this much is sold when the stop fires.`}
            error={invalid.amount}
          />
        )}
        {target === 'position' && (
          <p className="hint">When it fires, the whole position is closed at market.</p>
        )}
        {kind === 'trailing' ? (
          <Field
            label="Trail (%)"
            value={trail}
            onChange={setTrail}
            inputMode="decimal"
            autoComplete="off"
            spellCheck={false}
            placeholder="5"
            hint="How far behind the best price seen it follows: 0.1 % to 50 %."
            error={invalid.trail}
          />
        ) : (
          <MoneyField
            label="Stop price"
            value={trigger}
            onChange={setTrigger}
            placeholder="0.0000"
            hint={`Fires when the price reaches it. The market is at ${formatPrice(price)}.`}
            error={invalid.price}
          />
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Placing…' : `Place the ${KIND_NAMES[kind]}`}
        </button>
      </form>
      <ErrorText>{error}</ErrorText>
      {done && <StatusText>{done}</StatusText>}
      <StopList
        caption={`Your stop orders on ${coin}, oldest first`}
        columns={COLUMNS}
        stops={stops.data ? mine : undefined}
        error={stops.missing ? null : stops.error}
        empty={`No stop orders on ${coin}.`}
        row={(stop) => (
          <StopRow
            stop={stop}
            onCancelled={(text) => {
              setDone(text)
              setListed((n) => n + 1)
            }}
          />
        )}
      />
    </section>
  )
}
