import { describe, expect, it } from 'vitest'
import type { Summary } from '../api/types'
import { depositsCents, valuate } from './portfolio'

const summary: Summary = {
  user: 'alice',
  cash: '900.00',
  reserved_cash: '150.00',
  holdings: { ABC: 10, XYZ: 2 },
  pending_buys: [],
  pending_sells: [
    { symbol: 'ABC', shares: 5, price: '10.00', amount: '50.00', seconds_left: 30, transactionNum: 7 },
  ],
  buy_setups: [{ symbol: 'QQQ', reserve: '150.00', trigger: '1.00' }],
  sell_setups: [{ symbol: 'XYZ', amount: '40.00', shares_reserved: 3, trigger: '20.00' }],
  recent_transactions: [],
}

describe('valuate', () => {
  it('counts held, pending-sell and reserved shares at the known prices', () => {
    const v = valuate(summary, { ABC: 1000, XYZ: 250 })
    expect(v.shares).toEqual({ ABC: 15, XYZ: 5 })
    expect(v.sharesCents).toBe(15 * 1000 + 5 * 250)
    expect(v.totalCents).toBe(90000 + 15000 + 16250)
    expect(v.unpriced).toEqual([])
  })

  it('names the symbols it could not price', () => {
    expect(valuate(summary, { ABC: 1000 }).unpriced).toEqual(['XYZ'])
  })
})

describe('depositsCents', () => {
  it('adds the funds of ADD commands that did not fail', () => {
    expect(
      depositsCents([
        { type: 'userCommand', timestamp: 3, transactionNum: 3, command: 'ADD', funds: '5.00' },
        {
          type: 'errorEvent',
          timestamp: 3,
          transactionNum: 3,
          command: 'ADD',
          funds: '5.00',
          errorMessage: 'x',
        },
        { type: 'userCommand', timestamp: 2, transactionNum: 2, command: 'BUY', funds: '50.00' },
        { type: 'accountTransaction', timestamp: 1, transactionNum: 1, action: 'add', funds: '100.00' },
        { type: 'userCommand', timestamp: 1, transactionNum: 1, command: 'ADD', funds: '100.00' },
        { type: 'userCommand', timestamp: 0, transactionNum: 0, command: 'ADD' },
      ]),
    ).toBe(10000)
  })
})
