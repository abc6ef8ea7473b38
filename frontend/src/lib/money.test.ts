import { describe, expect, it } from 'vitest'
import { formatCents, formatDollars, fromCents, parseAmount, parsePrice, toCents } from './money'

describe('money', () => {
  it('reads the API dollar strings as exact cents', () => {
    expect(toCents('12.50')).toBe(1250)
    expect(toCents('12.5')).toBe(1250)
    expect(toCents('0.07')).toBe(7)
    expect(toCents('1000000000.00')).toBe(100_000_000_000)
    // 0.1 + 0.2 style errors cannot happen: no floats on the way.
    expect(toCents('0.29')).toBe(29)
    expect(() => toCents('1e5')).toThrow()
    expect(() => toCents('-1.00')).toThrow()
  })

  it('writes cents the way the API takes them', () => {
    expect(fromCents(1250)).toBe('12.50')
    expect(fromCents(7)).toBe('0.07')
    expect(fromCents(-505)).toBe('-5.05')
  })

  it('formats money for people with a dollar sign and thousands separators', () => {
    expect(formatCents(123450)).toBe('$1,234.50')
    expect(formatCents(0)).toBe('$0.00')
    expect(formatCents(-500)).toBe('−$5.00')
    expect(formatDollars('1000000.5')).toBe('$1,000,000.50')
    expect(formatDollars(null)).toBe('—')
  })

  it('accepts what people type and normalises it to two decimals', () => {
    expect(parseAmount('12.5')).toEqual({ ok: true, value: '12.50', cents: 1250 })
    expect(parseAmount(' $1,250 ')).toEqual({ ok: true, value: '1250.00', cents: 125000 })
    expect(parseAmount('.75')).toEqual({ ok: true, value: '0.75', cents: 75 })
    expect(parseAmount('3.')).toEqual({ ok: true, value: '3.00', cents: 300 })
  })

  it.each([
    ['', /Enter an amount/],
    ['abc', /digits/],
    ['1e5', /digits/],
    ['-5', /digits/],
    ['12.345', /two decimals/],
    ['0', /more than \$0\.00/],
    ['0.00', /more than/],
    ['1000000000.01', /at most \$1,000,000,000\.00/],
  ])('rejects %j in words', (input, message) => {
    const result = parseAmount(input)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.error).toMatch(message)
  })
})

describe('coin prices', () => {
  it('reads a typed price exactly, to 1/10,000 of a dollar', () => {
    expect(parsePrice('$43,210.5')).toEqual({ ok: true, value: '43210.5000', tenThousandths: 432105000n })
    expect(parsePrice('.0123')).toEqual({ ok: true, value: '0.0123', tenThousandths: 123n })
    expect(parsePrice('7.')).toEqual({ ok: true, value: '7.0000', tenThousandths: 70000n })
  })

  it.each([
    ['', /Enter a price/],
    ['1e5', /digits/],
    ['-5', /digits/],
    ['1.23456', /four decimals/],
    ['0.0000', /more than \$0/],
    ['123456789012', /too large/],
  ])('refuses %j in words', (input, error) => {
    const check = parsePrice(input)
    expect(check.ok).toBe(false)
    if (!check.ok) expect(check.error).toMatch(error)
  })
})
