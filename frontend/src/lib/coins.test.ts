import { describe, expect, it } from 'vitest'
import {
  centsString,
  feeCents,
  formatCoin,
  formatPercent,
  formatPrice,
  fromUnits,
  parseCoinAmount,
  tone,
  toUnits,
  valueCents,
} from './coins'

describe('coins', () => {
  it('reads coin amounts as exact units and writes them with 8 decimals', () => {
    expect(toUnits('1.5')).toBe(150_000_000n)
    expect(toUnits('0.00000001')).toBe(1n)
    expect(toUnits('92233720368.54775807')).toBe(9_223_372_036_854_775_807n)
    expect(fromUnits(150_000_000n)).toBe('1.50000000')
    expect(fromUnits(-1n)).toBe('-0.00000001')
    expect(() => toUnits('1.000000001')).toThrow()
    expect(() => toUnits('1e3')).toThrow()
  })

  it('formats amounts and prices for people', () => {
    expect(formatCoin('1234.50000000', 'DTC')).toBe('1,234.5 DTC')
    expect(formatCoin('0.00000001')).toBe('0.00000001')
    expect(formatCoin('2', 'BTC', { full: true })).toBe('2.00000000 BTC')
    expect(formatCoin(5n, 'DTC')).toBe('0.00000005 DTC')
    expect(formatPrice('43210.5')).toBe('$43,210.50')
    expect(formatPrice('0.0123')).toBe('$0.0123')
    expect(formatPrice('7')).toBe('$7.00')
    expect(formatPrice('922883796.4544', { cents: true })).toBe('$922,883,796.45')
    expect(formatPercent('-2.35')).toBe('−2.35 %')
    expect(formatPercent('1.2')).toBe('+1.2 %')
    expect(formatPercent('0.00')).toBe('0.00 %')
    expect([tone('-0.1'), tone('0.00'), tone('3')]).toEqual(['down', 'flat', 'up'])
  })

  it('checks typed amounts the way the server does', () => {
    expect(parseCoinAmount('0.5')).toEqual({ ok: true, value: '0.50000000', units: 50_000_000n })
    expect(parseCoinAmount('1,000.25')).toMatchObject({ ok: true, value: '1000.25000000' })
    expect(parseCoinAmount('')).toEqual({ ok: false, error: 'Enter an amount of coins, e.g. 0.5.' })
    expect(parseCoinAmount('0.123456789')).toEqual({ ok: false, error: 'Use at most 8 decimals.' })
    expect(parseCoinAmount('0')).toEqual({ ok: false, error: 'The amount must be more than 0.' })
    expect(parseCoinAmount('-1')).toMatchObject({ ok: false })
    expect(parseCoinAmount('3', 'DTC', 200_000_000n)).toEqual({
      ok: false,
      error: 'That is more than the 2 DTC available.',
    })
  })

  it('values coins in cents, rounding up what is paid and down what is received', () => {
    // 0.5 coin at $43,210.5001 = $21,605.25005: pay $21,605.26, get $21,605.25.
    expect(valueCents(50_000_000n, '43210.5001', 'up')).toBe(2_160_526n)
    expect(valueCents(50_000_000n, '43210.5001', 'down')).toBe(2_160_525n)
    // 0.25 % of the exact $21,605.25005 = $54.0131251...: the fee is $54.02.
    expect(feeCents(50_000_000n, '43210.5001', 25)).toBe(5402n)
    // 0.25 % of exactly $40.00 is exactly $0.10: no rounding up.
    expect(feeCents(100_000_000n, '40', 25)).toBe(10n)
    expect(centsString(2_165_928n)).toBe('21659.28')
  })
})
