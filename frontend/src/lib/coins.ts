// Coin amounts and coin prices, exact: a coin amount is an integer number of units
// (8 decimals: 1 DTC = 100,000,000 units) and a coin price an integer number of
// 1/10,000 dollars, both held as BigInt. The API sends and takes decimal strings;
// nothing here goes through a float.

export const COIN_DECIMALS = 8
export const PRICE_DECIMALS = 4
const TEN = 10n

/** Integer in the smallest unit of a decimal string with at most `decimals` decimals. */
export function parseDecimal(text: string, decimals: number): bigint {
  const match = /^(-?)(\d+)(?:\.(\d*))?$/.exec(text.trim())
  if (!match || (match[3] ?? '').length > decimals) {
    throw new Error(`not a decimal with at most ${decimals} decimals: ${JSON.stringify(text)}`)
  }
  const [, sign, whole, fraction = ''] = match
  const value = BigInt(whole) * TEN ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, '0') || '0')
  return sign ? -value : value
}

/** The decimal string of `units` with exactly `decimals` decimals (API form). */
export function formatDecimal(units: bigint, decimals: number): string {
  const sign = units < 0n ? '-' : ''
  const abs = units < 0n ? -units : units
  const scale = TEN ** BigInt(decimals)
  const whole = (abs / scale).toString()
  if (decimals === 0) return `${sign}${whole}`
  return `${sign}${whole}.${(abs % scale).toString().padStart(decimals, '0')}`
}

/** Thousands separators in the whole part, trailing zeros trimmed down to `keep` decimals. */
export function groupDigits(decimal: string, keep = 0): string {
  const negative = decimal.startsWith('-')
  const [whole, fraction = ''] = (negative ? decimal.slice(1) : decimal).split('.')
  let shown = fraction
  while (shown.length > keep && shown.endsWith('0')) shown = shown.slice(0, -1)
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  return `${negative ? '−' : ''}${grouped}${shown ? `.${shown}` : ''}`
}

export const toUnits = (coins: string): bigint => parseDecimal(coins, COIN_DECIMALS)
export const fromUnits = (units: bigint): string => formatDecimal(units, COIN_DECIMALS)

/**
 * A coin amount for people: "1234.50000000" -> "1,234.5", with the asset after it
 * when given. `full` keeps all 8 decimals (for balances, where the last unit matters).
 */
export function formatCoin(
  amount: string | bigint | null | undefined,
  asset?: string,
  { full = false } = {},
): string {
  if (amount === null || amount === undefined || amount === '') return '—'
  let text: string
  try {
    text = typeof amount === 'bigint' ? fromUnits(amount) : fromUnits(toUnits(amount))
  } catch {
    return String(amount)
  }
  const shown = groupDigits(text, full ? COIN_DECIMALS : 0)
  return asset ? `${shown} ${asset}` : shown
}

/**
 * A coin price (USD to 1/10,000) for people: "43210.5" -> "$43,210.50", "0.0123" ->
 * "$0.0123". `cents` shows a large dollar figure (a day's traded value) to the cent,
 * cut, not rounded: it is for reading, never for arithmetic.
 */
export function formatPrice(price: string | null | undefined, { cents = false } = {}): string {
  if (price === null || price === undefined || price === '') return '—'
  try {
    let text = formatDecimal(parseDecimal(price, PRICE_DECIMALS), PRICE_DECIMALS)
    if (cents) text = text.slice(0, -2)
    const shown = groupDigits(text, 2)
    return shown.startsWith('−') ? `−$${shown.slice(1)}` : `$${shown}`
  } catch {
    return price
  }
}

/** A percentage string from the API ("-2.35") for people: "+2.35 %" / "−2.35 %". */
export function formatPercent(rate: string | number | null | undefined): string {
  if (rate === null || rate === undefined || rate === '') return '—'
  const text = String(rate)
  if (text.startsWith('-')) return `−${text.slice(1)} %`
  return /^0(\.0*)?$/.test(text) ? `${text} %` : `+${text} %`
}

/** 'up', 'down' or 'flat' for a signed decimal string, to colour a change. */
export function tone(change: string | number | null | undefined): 'up' | 'down' | 'flat' {
  const text = String(change ?? '').trim()
  if (!text || /^[-+]?0*(\.0*)?$/.test(text)) return 'flat'
  return text.startsWith('-') ? 'down' : 'up'
}

/** The result of checking a typed coin amount. */
export type CoinCheck = { ok: true; value: string; units: bigint } | { ok: false; error: string }

/**
 * Check a typed coin amount the way the server will (digits, at most 8 decimals, more
 * than zero, at most `max` units when given) and return it in API form ("0.50000000").
 */
export function parseCoinAmount(input: string, asset = 'coins', max?: bigint): CoinCheck {
  const cleaned = input.trim().replace(/,/g, '')
  if (cleaned === '') return { ok: false, error: `Enter an amount of ${asset}, e.g. 0.5.` }
  if (!/^\d*(\.\d*)?$/.test(cleaned) || cleaned === '.') {
    return { ok: false, error: 'Use digits and at most one decimal point, e.g. 0.5.' }
  }
  const [, fraction = ''] = cleaned.split('.')
  if (fraction.length > COIN_DECIMALS) return { ok: false, error: 'Use at most 8 decimals.' }
  const units = toUnits(cleaned.startsWith('.') ? `0${cleaned}` : cleaned.replace(/\.$/, ''))
  if (units <= 0n) return { ok: false, error: 'The amount must be more than 0.' }
  if (max !== undefined && units > max) {
    return { ok: false, error: `That is more than the ${formatCoin(max, asset)} available.` }
  }
  return { ok: true, value: fromUnits(units), units }
}

/** a / b rounded up (both non-negative). */
function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b
}

/**
 * Cents of `units` of a coin at `price` (USD string to 1/10,000): rounded up for what a
 * buyer pays, down for what a seller gets, as the exchange rounds.
 */
export function valueCents(units: bigint, price: string, round: 'up' | 'down'): bigint {
  const numerator = units * parseDecimal(price, PRICE_DECIMALS)
  const denominator = TEN ** BigInt(COIN_DECIMALS + PRICE_DECIMALS - 2)
  return round === 'up' ? ceilDiv(numerator, denominator) : numerator / denominator
}

/**
 * The exchange's fee on `units` at `price`: `feeBp` basis points of the exact value (not
 * of a rounded cost), in cents rounded up, as services/common/domain/money.py takes it.
 */
export function feeCents(units: bigint, price: string, feeBp: number): bigint {
  const numerator = units * parseDecimal(price, PRICE_DECIMALS) * BigInt(feeBp)
  return ceilDiv(numerator, TEN ** BigInt(COIN_DECIMALS + PRICE_DECIMALS - 2) * 10_000n)
}

/** Cents (BigInt) as the API's dollar string: 1250n -> "12.50". */
export const centsString = (cents: bigint): string => formatDecimal(cents, 2)

/** A fresh Idempotency-Key (random hex; works outside secure contexts too). */
export function newIdempotencyKey(): string {
  const bytes = new Uint8Array(16)
  crypto.getRandomValues(bytes)
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

/** A fraction from the API ("0.123456") as a signed percentage for people: "+12.35 %". */
export function fractionPercent(fraction: string | null | undefined, { signed = true } = {}): string {
  if (fraction === null || fraction === undefined || fraction === '') return '—'
  // Shown rounded to hundredths of a percent; for reading only.
  const percent = (Number(fraction) * 100).toFixed(2)
  if (percent.startsWith('-')) return `−${percent.slice(1)} %`
  return signed && tone(percent) === 'up' ? `+${percent} %` : `${percent} %`
}
