import { screen, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it, vi } from 'vitest'
import type { Summary } from '../api/types'
import { WAIT, accountSummary } from '../test/accounts'
import { apiError, envelope, fakeFetch, signInAs } from '../test/http'
import { renderSignedIn } from '../test/render'
import { AutomaticPage } from './AutomaticPage'
import { TradePage } from './TradePage'

const account = (patch: Partial<Summary> = {}): Summary => accountSummary({ cash: '50.00', ...patch })

function form(name: string) {
  return screen.getByRole('heading', { name }).closest('form') as HTMLElement
}

describe('buy and sell', () => {
  it('shows the server refusal next to the Buy form', async () => {
    signInAs()
    const calls = fakeFetch({
      'GET /api/users/account': () => envelope(account()),
      'POST /api/buy/buy': () =>
        apiError(409, 'insufficient_funds', 'insufficient funds: cash 50.00 < 100.00'),
    })
    renderSignedIn(<TradePage />, '/trade')
    const buy = form('Buy now')
    expect(await within(buy).findByText('Cash available: $50.00.')).toBeInTheDocument()
    await userEvent.type(within(buy).getByLabelText('Stock symbol'), 'abc')
    await userEvent.type(within(buy).getByLabelText('Dollars to spend'), '100')
    await userEvent.click(within(buy).getByRole('button', { name: 'Buy' }))
    expect(await within(buy).findByRole('alert')).toHaveTextContent(
      'Insufficient funds: cash 50.00 < 100.00.',
    )
    expect(calls.find((c) => c.path === '/api/buy/buy')?.body).toEqual({
      user: 'alice',
      symbol: 'ABC',
      amount: '100.00',
    })
    // The Sell form is untouched by the Buy form's error.
    expect(within(form('Sell now')).queryByRole('alert')).toBeNull()
  })

  it('catches a bad amount before asking the server', async () => {
    signInAs()
    const calls = fakeFetch({ 'GET /api/users/account': () => envelope(account()) })
    renderSignedIn(<TradePage />, '/trade')
    const sell = form('Sell now')
    await userEvent.type(within(sell).getByLabelText('Stock symbol'), 'ABC')
    await userEvent.type(within(sell).getByLabelText('Dollars to sell for'), '1.234')
    await userEvent.click(within(sell).getByRole('button', { name: 'Sell' }))
    expect(within(sell).getByLabelText('Dollars to sell for')).toHaveAccessibleDescription(
      /at most two decimals/,
    )
    expect(calls.some((c) => c.path === '/api/sell/sell')).toBe(false)
  })

  it('lists pending buys with a countdown and commits the newest', async () => {
    signInAs()
    const pending = {
      symbol: 'ABC',
      shares: 4,
      price: '10.00',
      amount: '40.00',
      seconds_left: 42,
      transactionNum: 9,
    }
    fakeFetch({
      'GET /api/users/account': () => envelope(account({ pending_buys: [pending] })),
      'POST /api/buy/commit-buy': () =>
        envelope({ symbol: 'ABC', shares: 4, price: '10.00', amount: '40.00' }),
    })
    renderSignedIn(<TradePage />, '/trade')
    const list = await screen.findByRole('list', { name: 'Pending buys' })
    expect(list).toHaveTextContent('Buy 4 ABC at $10.00 = $40.00')
    expect(within(list).getByRole('timer')).toHaveTextContent(/^0:4[12]$/)
    await userEvent.click(screen.getByRole('button', { name: 'Commit buy' }))
    expect(await screen.findByText('Bought 4 ABC at $10.00 for $40.00.')).toBeInTheDocument()
  })

  it('shows "no pending buy" next to the buttons when the trade has gone', async () => {
    signInAs()
    const pending = {
      symbol: 'ABC',
      shares: 4,
      price: '10.00',
      amount: '40.00',
      seconds_left: 42,
      transactionNum: 9,
    }
    fakeFetch({
      'GET /api/users/account': () => envelope(account({ pending_buys: [pending] })),
      'POST /api/buy/cancel-buy': () => apiError(409, 'nothing_pending', 'no pending buy'),
    })
    renderSignedIn(<TradePage />, '/trade')
    await userEvent.click(await screen.findByRole('button', { name: 'Cancel buy' }))
    const section = screen.getByRole('heading', { name: 'Pending buys' }).closest('section') as HTMLElement
    expect(await within(section).findByRole('alert')).toHaveTextContent('No pending buy.')
  })
})

describe('automatic trades', () => {
  it('sets amount then trigger, and shows a refused trigger in words', async () => {
    signInAs()
    const calls = fakeFetch({
      'GET /api/users/account': () =>
        envelope(account({ buy_setups: [{ symbol: 'XYZ', reserve: '20.00', trigger: null }] })),
      'POST /api/buy/set-buy-amount': () => envelope({ reserve: '20.00' }),
      'POST /api/buy/set-buy-trigger': () => apiError(400, 'invalid_input', 'amount must be more than 0.00'),
    })
    renderSignedIn(<AutomaticPage />, '/automatic')
    expect(await screen.findByRole('row', { name: /XYZ/ })).toHaveTextContent('Needs a trigger price')
    const auto = form('Automatic buy')
    await userEvent.type(within(auto).getByLabelText('Stock symbol'), 'XYZ')
    await userEvent.type(within(auto).getByLabelText('Dollars to reserve'), '20')
    await userEvent.type(within(auto).getByLabelText('Trigger price'), '5')
    await userEvent.click(within(auto).getByRole('button', { name: 'Save automatic buy' }))
    expect(await within(auto).findByRole('alert')).toHaveTextContent('Amount must be more than 0.00.')
    const sent = calls.filter((c) => c.path.startsWith('/api/buy/')).map((c) => [c.path, c.body])
    expect(sent).toEqual([
      ['/api/buy/set-buy-amount', { user: 'alice', symbol: 'XYZ', amount: '20.00' }],
      ['/api/buy/set-buy-trigger', { user: 'alice', symbol: 'XYZ', amount: '5.00' }],
    ])
  })

  it('cancels a setup from its row', async () => {
    signInAs()
    const calls = fakeFetch({
      'GET /api/users/account': () =>
        envelope(
          account({
            sell_setups: [{ symbol: 'ABC', amount: '30.00', shares_reserved: 3, trigger: '11.00' }],
          }),
        ),
      'POST /api/sell/cancel-set-sell': () => envelope({ returned_shares: 3 }),
    })
    renderSignedIn(<AutomaticPage />, '/automatic')
    expect(await screen.findByRole('row', { name: /ABC/ })).toHaveTextContent(
      /\$30\.00\s*3\s*\$11\.00\s*Waiting for price ≥ \$11\.00/,
    )
    await userEvent.click(screen.getByRole('button', { name: 'Cancel automatic sell of ABC' }))
    await vi.waitFor(() => expect(calls.some((c) => c.path === '/api/sell/cancel-set-sell')).toBe(true), WAIT)
    expect(calls.find((c) => c.path === '/api/sell/cancel-set-sell')?.body).toEqual({
      user: 'alice',
      symbol: 'ABC',
    })
  })
})
