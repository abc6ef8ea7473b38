import { screen, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it } from 'vitest'
import type { StockStop, Summary } from '../api/types'
import { WAIT, accountSummary } from '../test/accounts'
import { apiError, envelope, fakeFetch, signInAs } from '../test/http'
import type { Call } from '../test/http'
import { renderSignedIn } from '../test/render'
import { StockStopsCard } from './StockStopsCard'

const account = (patch: Partial<Summary> = {}): Summary =>
  accountSummary({ cash: '100.00', holdings: { ABC: 10 }, ...patch })

const FILLED: StockStop = {
  id: '40',
  symbol: 'ABC',
  shares: 4,
  stop: '9.50',
  status: 'filled',
  created: Date.UTC(2026, 0, 2, 3, 4, 5),
  sold: 4,
  price: '9.20',
  proceeds: '36.80',
  closed: Date.UTC(2026, 0, 2, 3, 5, 0),
}

const OPEN: StockStop = {
  ...FILLED,
  id: '41',
  shares: 'all',
  stop: '8.00',
  status: 'open',
  sold: null,
  price: null,
  proceeds: null,
  closed: null,
}

describe('stop-losses on shares', () => {
  it('checks the form against the holdings, places one, shows refusals and cancels', async () => {
    signInAs()
    let listed: StockStop[] = [OPEN, FILLED]
    let placing = 0
    const calls = fakeFetch({
      'GET /api/users/account': () => envelope(account()),
      'GET /api/sell/stops': () => envelope({ user: 'alice', stops: listed }),
      'POST /api/sell/stops': (call: Call) => {
        placing += 1
        if (placing === 2) {
          // The quote fell under the stop while the form was filled in.
          return apiError(400, 'invalid_input', 'a stop-loss at 9.90 must be below the market price 9.80')
        }
        if (placing === 3)
          return apiError(409, 'too_many_stops', 'at most 20 open stop-loss orders; cancel one first')
        const body = call.body as { symbol: string; shares: number; price: string }
        const placed: StockStop = { ...OPEN, id: '42', shares: body.shares, stop: body.price }
        listed = [OPEN, placed, FILLED]
        return envelope({ ...placed, quote: '10.00' })
      },
      'DELETE /api/sell/stops/41': () => {
        listed = listed.filter((s) => s.id !== '41')
        return envelope({ id: '41', symbol: 'ABC', status: 'cancelled' })
      },
    })
    renderSignedIn(<StockStopsCard />, '/trade')

    // The list: the open one with a cancel button, the filled one with its sale.
    const list = await screen.findByRole('table', { name: /Your stop-losses/ }, WAIT)
    expect(within(list).getAllByRole('row')).toHaveLength(3)
    expect(list).toHaveTextContent('Sold 4 at $9.20 for $36.80')
    expect(within(list).getAllByRole('button')).toHaveLength(1)

    const form = screen.getByRole('form', { name: 'Place a stop-loss' })
    const symbol = within(form).getByLabelText('Stock to protect')
    const shares = within(form).getByLabelText('Shares to sell')
    const price = within(form).getByLabelText('Stop price')
    const submit = within(form).getByRole('button', { name: 'Place the stop-loss' })

    // Checked here first: a symbol not held, then more shares than held and a bad price.
    await userEvent.type(symbol, 'xyz')
    await userEvent.type(shares, '3')
    await userEvent.type(price, '9.50')
    await userEvent.click(submit)
    expect(symbol).toHaveAccessibleDescription(/You hold no XYZ to protect/)
    await userEvent.clear(symbol)
    await userEvent.type(symbol, 'ABC')
    expect(await within(form).findByText('You hold 10 ABC.')).toBeInTheDocument()
    await userEvent.clear(shares)
    await userEvent.type(shares, '11')
    await userEvent.clear(price)
    await userEvent.type(price, '9.505')
    await userEvent.click(submit)
    expect(shares).toHaveAccessibleDescription(/more than the 10 you hold/)
    expect(price).toHaveAccessibleDescription(/at most two decimals/)
    expect(calls.filter((c) => c.method === 'POST')).toHaveLength(0)

    // Placed: exact strings and a whole number, with an Idempotency-Key.
    await userEvent.clear(shares)
    await userEvent.type(shares, '4')
    await userEvent.clear(price)
    await userEvent.type(price, '$9.5')
    await userEvent.click(submit)
    expect(await screen.findByRole('status')).toHaveTextContent(
      'Placed a stop-loss on 4 ABC shares: sold at the quote once it is $9.50 or less (now $10.00).',
    )
    const posts = () => calls.filter((c) => c.method === 'POST' && c.path === '/api/sell/stops')
    expect(posts()[0].body).toEqual({ user: 'alice', symbol: 'ABC', shares: 4, price: '9.50' })
    expect(posts()[0].headers['Idempotency-Key']).toMatch(/^[0-9a-f]{32}$/)
    await within(list).findByRole('button', { name: 'Cancel the stop-loss on 4 ABC shares at $9.50' })
    expect(within(list).getAllByRole('row')).toHaveLength(4)

    // Refused by the server (the market moved; the bound): its words are shown.
    await userEvent.type(shares, 'all')
    await userEvent.type(price, '9.90')
    await userEvent.click(submit)
    expect(await screen.findByText(/must be below the market price/)).toHaveTextContent(
      'A stop-loss at 9.90 must be below the market price 9.80.',
    )
    expect(posts()[1].body).toEqual({ user: 'alice', symbol: 'ABC', shares: 'all', price: '9.90' })
    await userEvent.clear(price)
    await userEvent.type(price, '7')
    await userEvent.click(submit)
    expect(await screen.findByText(/most 20 open/)).toHaveTextContent(
      'At most 20 open stop-loss orders; cancel one first.',
    )
    expect(posts()[2].headers['Idempotency-Key']).not.toBe(posts()[1].headers['Idempotency-Key'])

    // Cancelled from the keyboard: the open "all" stop leaves the list.
    const cancel = within(list).getByRole('button', {
      name: 'Cancel the stop-loss on all your ABC at $8.00',
    })
    cancel.focus()
    await userEvent.keyboard('{Enter}')
    expect(await screen.findByText('Cancelled the stop-loss on all your ABC at $8.00.')).toBeInTheDocument()
    expect(calls.find((c) => c.method === 'DELETE')?.query.get('user')).toBe('alice')
    await screen.findByRole('button', { name: 'Cancel the stop-loss on 4 ABC shares at $9.50' })
    expect(within(list).getAllByRole('row')).toHaveLength(3)
  })

  it('says so when there are none', async () => {
    signInAs()
    fakeFetch({
      'GET /api/users/account': () => envelope(account({ holdings: {} })),
      'GET /api/sell/stops': () => envelope({ user: 'alice', stops: [] }),
    })
    renderSignedIn(<StockStopsCard />, '/trade')
    expect(await screen.findByText('No stop-losses.', undefined, WAIT)).toBeInTheDocument()
  })
})
