import { screen, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it, vi } from 'vitest'
import type { Position } from '../../api/exchange'
import type { Summary } from '../../api/types'
import { accountSummary } from '../../test/accounts'
import { apiError, envelope, fakeFetch, liveStream, signInAs } from '../../test/http'
import { renderSignedIn } from '../../test/render'
import { MarginCard } from './MarginCard'

const PREVIEW: Position = {
  coin: 'BTC',
  side: 'long',
  leverage: 3,
  margin: '100.00',
  amount: '0.00500000',
  entry_price: '60000.0000',
  debt: '200.00',
  interest: '0.00',
  debt_asset: 'USD',
  liquidation_price: '44000.0000',
  margin_call_price: '52000.0000',
  price: '60000.0000',
  margin_level: '1.5000',
  fee: '0.75',
  cash_needed: '100.75',
}

describe('margin', () => {
  it('shows the liquidation price before opening, then the server refusal in words', async () => {
    signInAs()
    const calls = fakeFetch({
      'GET /api/exchange/margin/positions': () => envelope({ user: 'alice', positions: [] }),
      'POST /api/exchange/margin/preview': () => envelope(PREVIEW),
      'POST /api/exchange/margin/open': () =>
        apiError(409, 'insufficient_funds', 'insufficient funds: cash 50.00 < margin 100.00 + fee 0.75'),
    })
    renderSignedIn(<MarginCard coin="BTC" onChange={() => {}} />, '/exchange/BTC')
    const form = screen.getByRole('form', { name: 'Open a margin position on BTC' })
    await userEvent.click(within(form).getByRole('button', { name: 'Preview' }))
    expect(within(form).getByLabelText('Margin')).toHaveAccessibleDescription(/Enter an amount/)
    await userEvent.selectOptions(within(form).getByLabelText('Leverage'), '3')
    await userEvent.type(within(form).getByLabelText('Margin'), '100')
    await userEvent.click(within(form).getByRole('button', { name: 'Preview' }))
    const confirm = await screen.findByRole('group', { name: 'Confirm the position' })
    expect(within(confirm).getByTestId('liquidation-price')).toHaveTextContent('$44,000.00')
    expect(confirm).toHaveTextContent(/Fee\$0.75Cash needed\$100.75/)
    await userEvent.click(within(confirm).getByRole('button', { name: 'Open the long' }))
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'Insufficient funds: cash 50.00 < margin 100.00 + fee 0.75.',
    )
    expect(calls.find((c) => c.path === '/api/exchange/margin/preview')?.body).toEqual({
      coin: 'BTC',
      side: 'long',
      leverage: 3,
      margin: '100.00',
    })
  })

  it('warns of a margin call on an open position', async () => {
    signInAs()
    fakeFetch({
      'GET /api/exchange/margin/positions': () =>
        envelope({ user: 'alice', positions: [{ ...PREVIEW, margin_level: '1.2500', margin_call: true }] }),
    })
    renderSignedIn(<MarginCard coin="BTC" onChange={() => {}} />, '/exchange/BTC')
    expect(await screen.findByRole('alert')).toHaveTextContent(
      /Margin call: the level is 1.2500; at 1.1 .*\$44,000.00/,
    )
    expect(screen.getByTestId('margin-level')).toHaveTextContent('1.2500')
    expect(screen.getByRole('button', { name: 'Close the long' })).toBeInTheDocument()
  })
  it('says so when the margin checker liquidates the open position, with what came back', async () => {
    signInAs()
    const account = liveStream()
    const summary = (cash: string, recent: Summary['recent_transactions'] = []) =>
      accountSummary({ cash, recent_transactions: recent })
    let open = true
    const calls = fakeFetch({
      'GET /api/users/events': account.route,
      'GET /api/exchange/margin/positions': () =>
        envelope({ user: 'alice', positions: open ? [{ ...PREVIEW, transactionNum: 41 }] : [] }),
    })
    renderSignedIn(<MarginCard coin="BTC" onChange={() => {}} />, '/exchange/BTC')
    expect(await screen.findByRole('button', { name: 'Close the long' })).toBeInTheDocument()
    await vi.waitFor(() => expect(calls.some((c) => c.path === '/api/users/events')).toBe(true))
    // The checker closes it: the account changes, with $19.40 added under its number.
    open = false
    account.send(
      'account',
      summary('519.40', [
        { type: 'accountTransaction', timestamp: 2, transactionNum: 41, action: 'add', funds: '19.40' },
        { type: 'accountTransaction', timestamp: 1, transactionNum: 40, action: 'add', funds: '500.00' },
      ]),
    )
    expect(await screen.findByRole('status')).toHaveTextContent(
      'Your long 3× on BTC was liquidated at a margin level of 1.1 or less: $19.40 returned to cash.',
    )
    expect(screen.queryByTestId('position')).not.toBeInTheDocument()
    expect(screen.getByRole('form', { name: 'Open a margin position on BTC' })).toBeInTheDocument()
  })
})
