// Money is exact: the API sends and takes two-decimal dollar strings ("12.50"), and the
// UI does arithmetic in integer cents. Never parse money with parseFloat.

/** The largest amount a command accepts, in cents ($1,000,000,000.00). */
export const MAX_AMOUNT_CENTS = 100_000_000_000

const DOLLARS = /^(\d+)(?:\.(\d{1,2}))?$/

/** Cents of a dollar string from the API ("12.5" or "12.50"); throws on anything else. */
export function toCents(dollars: string): number {
  const match = DOLLARS.exec(dollars.trim())
  if (!match) throw new Error(`not a dollar amount: ${JSON.stringify(dollars)}`)
  const [, whole, fraction = ''] = match
  return Number(whole) * 100 + Number(fraction.padEnd(2, '0'))
}

/** Cents as the API's dollar string: 1250 -> "12.50". */
export function fromCents(cents: number): string {
  const sign = cents < 0 ? '-' : ''
  const abs = Math.abs(Math.trunc(cents))
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`
}

/** Cents for people to read: 123450 -> "$1,234.50", -500 -> "−$5.00". */
export function formatCents(cents: number): string {
  const sign = cents < 0 ? '−' : ''
  const abs = Math.abs(Math.trunc(cents))
  const whole = Math.floor(abs / 100).toLocaleString('en-US')
  return `${sign}$${whole}.${String(abs % 100).padStart(2, '0')}`
}

/** A dollar string from the API for people to read: "1234.5" -> "$1,234.50". */
export function formatDollars(dollars: string | null | undefined): string {
  if (dollars === null || dollars === undefined || dollars === '') return '—'
  try {
    return formatCents(toCents(dollars))
  } catch {
    return dollars
  }
}

/** The result of checking what someone typed into an amount field. */
export type AmountCheck = { ok: true; value: string; cents: number } | { ok: false; error: string }

/**
 * Check a typed dollar amount the way the server will ("$1,250.5" is fine) and return
 * it as the API wants it ("1250.50"), or say in words what is wrong.
 */
export function parseAmount(input: string): AmountCheck {
  const cleaned = input.trim().replace(/^\$/, '').replace(/,/g, '')
  if (cleaned === '') return { ok: false, error: 'Enter an amount in dollars, e.g. 12.50.' }
  if (!/^\d*(\.\d*)?$/.test(cleaned) || cleaned === '.') {
    return { ok: false, error: 'Use digits and at most one decimal point, e.g. 12.50.' }
  }
  const [, fraction = ''] = cleaned.split('.')
  if (fraction.length > 2) return { ok: false, error: 'Use at most two decimals (cents).' }
  const cents = toCents(cleaned.startsWith('.') ? `0${cleaned}` : cleaned.replace(/\.$/, ''))
  if (cents <= 0) return { ok: false, error: 'The amount must be more than $0.00.' }
  if (cents > MAX_AMOUNT_CENTS) {
    return { ok: false, error: 'The amount can be at most $1,000,000,000.00.' }
  }
  return { ok: true, value: fromCents(cents), cents }
}

/** Value in cents of `shares` at a dollar-string `price`. */
export function shareValueCents(shares: number, price: string): number {
  return shares * toCents(price)
}

/** The result of checking a typed coin price (USD to 1/10,000). */
export type PriceCheck = { ok: true; value: string; tenThousandths: bigint } | { ok: false; error: string }

/**
 * Check a typed coin price the way the server will ("$43,210.5" is fine: digits, at most
 * four decimals, more than zero) and return it as the API wants it ("43210.5000"), or
 * say in words what is wrong. Exact: BigInt ten-thousandths of a dollar, never a float.
 */
export function parsePrice(input: string): PriceCheck {
  const cleaned = input.trim().replace(/^\$/, '').replace(/,/g, '')
  if (cleaned === '') return { ok: false, error: 'Enter a price in dollars, e.g. 42000.50.' }
  if (!/^\d*(\.\d*)?$/.test(cleaned) || cleaned === '.') {
    return { ok: false, error: 'Use digits and at most one decimal point, e.g. 42000.50.' }
  }
  const [whole, fraction = ''] = cleaned.split('.')
  if (fraction.length > 4) return { ok: false, error: 'Use at most four decimals (1/10,000 of a dollar).' }
  if (whole.replace(/^0+/, '').length > 11) return { ok: false, error: 'That price is too large.' }
  const tenThousandths = BigInt(whole || '0') * 10_000n + BigInt(fraction.padEnd(4, '0'))
  if (tenThousandths <= 0n) return { ok: false, error: 'The price must be more than $0.' }
  const text = tenThousandths.toString().padStart(5, '0')
  return { ok: true, value: `${text.slice(0, -4)}.${text.slice(-4)}`, tenThousandths }
}
