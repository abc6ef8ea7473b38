import { screen, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it, vi } from 'vitest'
import type { Withdrawal } from '../../api/wallet'
import { apiError, envelope, fakeFetch, liveStream, signInAs } from '../../test/http'
import { renderSignedIn } from '../../test/render'
import { WalletPage } from './WalletPage'

const ADDRESS = 'a1'.repeat(20)
const BALANCES = {
  user: 'alice',
  balances: [
    { asset: 'DTC', available: '2.50000000', locked: '0.50000000', total: '3.00000000' },
    { asset: 'DUSD', available: '10.00000000', locked: '0.00000000', total: '10.00000000' },
  ],
}
const BOARD = {
  as_of: 1,
  fee_bp: 25,
  tickers: {
    DTC_USD: {
      rank: 1,
      ticker: 'DTC',
      name: 'DayTrading Coin',
      cur_price: '1.2345',
      open: '1',
      high: '1',
      low: '1',
      chgAmt: '0',
      chgRate: '0.00',
      volume: '1',
      value: '1',
    },
  },
}
const deposit = (state: string, confirmations: number) => ({
  id: 'deposit:1',
  txid: 'e'.repeat(64),
  address: ADDRESS,
  asset: 'DTC',
  amount: '1.00000000',
  fee: '0.00000000',
  state,
  height: 7,
  confirmations,
  seen_ms: 1_700_000_000_000,
})
const withdrawal = (patch: Partial<Withdrawal> = {}): Withdrawal => ({
  id: 'w1',
  user: 'alice',
  asset: 'DTC',
  address: 'b'.repeat(40),
  amount: '0.50000000',
  fee: '0.00010000',
  state: 'accepted',
  needs_approval: false,
  approved_by: null,
  txid: null,
  error: null,
  created_ms: 1_700_000_000_000,
  updated_ms: 1_700_000_000_000,
  ...patch,
})

function routes(extra = {}) {
  return {
    'GET /api/wallet/balances': () => envelope(BALANCES),
    'GET /api/exchange/coin/tickers_20': () => envelope(BOARD),
    'GET /api/wallet/deposit-address': () =>
      envelope({ user: 'alice', address: ADDRESS, assets: ['DTC', 'DUSD'] }),
    'GET /api/wallet/deposits': () => envelope({ user: 'alice', deposits: [deposit('submitted', 1)] }),
    'GET /api/wallet/withdrawals': () => envelope({ user: 'alice', withdrawals: [] }),
    'GET /api/wallet/history': () => envelope({ user: 'alice', entries: [] }),
    ...extra,
  }
}

describe('wallet', () => {
  it('values the balances in USD and shows the deposit address with a QR code', async () => {
    signInAs()
    fakeFetch(routes())
    renderSignedIn(<WalletPage />, '/wallet')
    // 3 DTC x $1.2345 = $3.7035 -> $3.70; 10 DUSD at $1 = $10.00.
    expect(await screen.findByTestId('wallet-total')).toHaveTextContent('$13.70')
    expect(screen.getByRole('row', { name: /^DTC/ })).toHaveTextContent(
      /2.50000000\s*0.50000000\s*3.00000000\s*\$3.70/,
    )
    expect(await screen.findByTestId('deposit-address')).toHaveTextContent(ADDRESS)
    expect(screen.getByTitle(`QR code of your deposit address ${ADDRESS}`)).toBeInTheDocument()
    expect(screen.getByRole('button', { name: 'Copy your deposit address' })).toBeInTheDocument()
    expect(await screen.findByRole('row', { name: /1 DTC/ })).toHaveTextContent(/1 of 3\s*confirming/)
  })

  it('follows a deposit live: confirmations with each block, then credited', async () => {
    signInAs()
    const chain = liveStream()
    const wallet = liveStream()
    let current = deposit('submitted', 1)
    fakeFetch(
      routes({
        'GET /api/chain/events': chain.route,
        'GET /api/wallet/events': wallet.route,
        'GET /api/wallet/deposits': () => envelope({ user: 'alice', deposits: [current] }),
      }),
    )
    renderSignedIn(<WalletPage />, '/wallet')
    expect(await screen.findByRole('row', { name: /1 DTC/ })).toHaveTextContent('1 of 3')
    await vi.waitFor(() => expect(screen.getByText('Live')).toBeInTheDocument())
    current = deposit('submitted', 2)
    await vi.waitFor(() => {
      chain.send('tip', { height: 8 })
      expect(screen.getByRole('row', { name: /1 DTC/ })).toHaveTextContent('2 of 3')
    })
    current = deposit('accepted', 3)
    wallet.send('deposit', { id: 'deposit:1', state: 'accepted', asset: 'DTC' })
    await vi.waitFor(() =>
      expect(screen.getByRole('row', { name: /1 DTC/ })).toHaveTextContent(/3 of 3\s*accepted/),
    )
  })

  it('checks a withdrawal before sending it, and shows the server refusal', async () => {
    signInAs()
    const calls = fakeFetch(
      routes({
        'POST /api/wallet/withdrawals': () =>
          apiError(409, 'insufficient_assets', 'not enough DTC: 2.50000000 available'),
      }),
    )
    renderSignedIn(<WalletPage />, '/wallet')
    const form = (await screen.findByRole('heading', { name: 'Withdraw' })).closest('form') as HTMLElement
    await userEvent.type(within(form).getByLabelText('To address'), 'not-an-address')
    await userEvent.type(within(form).getByLabelText('Amount'), '2.6')
    await userEvent.click(within(form).getByRole('button', { name: 'Withdraw' }))
    expect(within(form).getByLabelText('To address')).toHaveAccessibleDescription(/40 hexadecimal digits/)
    expect(within(form).getByLabelText('Amount')).toHaveAccessibleDescription(
      /more than the 2.5 DTC available/,
    )
    expect(calls.some((c) => c.method === 'POST' && c.path === '/api/wallet/withdrawals')).toBe(false)

    await userEvent.clear(within(form).getByLabelText('To address'))
    await userEvent.type(within(form).getByLabelText('To address'), 'B'.repeat(40))
    await userEvent.clear(within(form).getByLabelText('Amount'))
    await userEvent.type(within(form).getByLabelText('Amount'), '2')
    await userEvent.click(within(form).getByRole('button', { name: 'Withdraw' }))
    expect(await within(form).findByRole('alert')).toHaveTextContent('Not enough DTC: 2.50000000 available.')
    const sent = calls.find((c) => c.method === 'POST' && c.path === '/api/wallet/withdrawals')!
    expect(sent.body).toEqual({ asset: 'DTC', address: 'b'.repeat(40), amount: '2.00000000' })
    const key = sent.headers['Idempotency-Key']
    // Sent again unchanged (a retry): the same key, so it is made once.
    await userEvent.click(within(form).getByRole('button', { name: 'Withdraw' }))
    await vi.waitFor(() =>
      expect(calls.filter((c) => c.method === 'POST' && c.path === '/api/wallet/withdrawals')).toHaveLength(
        2,
      ),
    )
    expect(
      calls.filter((c) => c.path === '/api/wallet/withdrawals' && c.method === 'POST')[1].headers[
        'Idempotency-Key'
      ],
    ).toBe(key)
  })

  it('lists withdrawals in words and cancels one that waits', async () => {
    signInAs()
    const calls = fakeFetch(
      routes({
        'GET /api/wallet/withdrawals': () =>
          envelope({
            user: 'alice',
            withdrawals: [
              withdrawal({ needs_approval: true }),
              withdrawal({ id: 'w0', state: 'confirming', txid: 'f'.repeat(64), amount: '0.10000000' }),
            ],
          }),
        'POST /api/wallet/withdrawals/w1/cancel': () =>
          apiError(409, 'illegal_transition', 'a withdrawal that is processing can no longer be canceled'),
      }),
    )
    renderSignedIn(<WalletPage />, '/wallet')
    const waiting = (await screen.findByText('Waiting for an administrator’s approval')).closest('tr')!
    expect(waiting).toHaveTextContent(/0\.5 DTC \+ fee 0\.0001 DTC/)
    const sent = screen.getByText('Sent; waiting for confirmations').closest('tr')!
    expect(sent).toHaveTextContent(/0\.1 DTC \+ fee/)
    expect(within(sent).queryByRole('button')).toBeNull()
    await userEvent.click(
      within(waiting).getByRole('button', { name: 'Cancel the withdrawal of 0.50000000 DTC' }),
    )
    expect(await within(waiting).findByRole('alert')).toHaveTextContent(
      'A withdrawal that is processing can no longer be canceled.',
    )
    expect(calls.some((c) => c.path === '/api/wallet/withdrawals/w1/cancel')).toBe(true)
  })
})
