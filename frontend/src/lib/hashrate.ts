// Hashrates: integer hashes per second inside, "1.5 TH/s" for people. Typed values are
// scaled exactly (BigInt), so "1.5" TH/s is 1,500,000,000,000 H/s, never 1499999999999.

import { parseDecimal } from './coins'

export const UNITS = ['H/s', 'kH/s', 'MH/s', 'GH/s', 'TH/s', 'PH/s'] as const
export type HashUnit = (typeof UNITS)[number]
export const MAX_HASHRATE = 10n ** 15n

/** 1500000000000 -> "1.5 TH/s" (three significant decimals at most). */
export function formatHashrate(hashrate: number | null | undefined): string {
  if (hashrate === null || hashrate === undefined) return '—'
  let unit = 0
  let value = hashrate
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000
    unit += 1
  }
  const shown = value.toLocaleString('en-US', { maximumFractionDigits: unit === 0 ? 0 : 3 })
  return `${shown} ${UNITS[unit]}`
}

export type HashrateCheck = { ok: true; hashrate: number } | { ok: false; error: string }

/** A typed hashrate in `unit`, as whole H/s from 1 to 10^15. */
export function parseHashrate(input: string, unit: HashUnit): HashrateCheck {
  const text = input.trim().replace(/,/g, '')
  if (!text) return { ok: false, error: 'Enter the machine’s hashrate, e.g. 110 TH/s.' }
  const power = UNITS.indexOf(unit) * 3
  let scaled: bigint
  try {
    // As many decimals as the unit allows, so the result is whole H/s.
    scaled = parseDecimal(text, power) * 1n
  } catch {
    return {
      ok: false,
      error: power
        ? `Use digits, with at most ${power} decimals in ${unit}.`
        : 'Use whole hashes per second (no decimals in H/s).',
    }
  }
  if (scaled < 1n) return { ok: false, error: 'The hashrate must be at least 1 H/s.' }
  if (scaled > MAX_HASHRATE) return { ok: false, error: 'The hashrate can be at most 1 PH/s (10^15 H/s).' }
  return { ok: true, hashrate: Number(scaled) }
}
