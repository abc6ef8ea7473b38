import { screen, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it } from 'vitest'
import { ALICE, apiError, envelope, fakeFetch, signInAs } from '../../test/http'
import { renderSignedIn } from '../../test/render'
import { AdminCryptoPage } from './AdminCryptoPage'

const ADMIN = { ...ALICE, username: 'admin', role: 'admin' as const }

const reserve = (asset: string, covered: boolean, unexplained = '0.00000000') => ({
  asset,
  liabilities: '10.00000000',
  holdings: { hot: '4.00000000', cold: '5.00000000', deposit_addresses: '1.50000000' },
  held: '10.50000000',
  surplus: '0.50000000',
  explained: { fees_charged: '0.50000000' },
  unexplained,
  covered,
})

const waiting = {
  id: 'w9',
  user: 'bob',
  asset: 'DTC',
  address: 'c'.repeat(40),
  amount: '500.00000000',
  fee: '0.00010000',
  state: 'accepted',
  needs_approval: true,
  approved_by: null,
  txid: null,
  error: null,
  created_ms: 1_700_000_000_000,
  updated_ms: 1_700_000_000_000,
}

function routes(extra = {}) {
  return {
    'GET /api/wallet/reserves': () =>
      envelope({ height: 42, reserves: [reserve('DTC', true), reserve('DUSD', false)] }),
    'GET /api/wallet/gas-keeper': () =>
      envelope({
        address: 'd'.repeat(40),
        balance: '0.00500000',
        spendable: '0.00400000',
        minimum: '0.01000000',
        low: true,
      }),
    'GET /api/wallet/jobs': () =>
      envelope({
        jobs: {
          queued: ['j1'],
          queued_count: 1,
          running: [],
          failed: [{ id: 'j0', error: 'Traceback...\nChainNodeError: down' }],
          failed_count: 1,
        },
        sweeps: [],
      }),
    'GET /api/wallet/alerts': () => envelope({ alerts: [] }),
    'GET /api/wallet/admin/withdrawals': () => envelope({ state: 'accepted', withdrawals: [waiting] }),
    ...extra,
  }
}

describe('admin: reserves and withdrawals', () => {
  it('says which reserves are healthy or short, and raises the gas keeper alert', async () => {
    signInAs(ADMIN)
    fakeFetch(routes())
    renderSignedIn(<AdminCryptoPage />, '/admin/crypto')
    expect(await screen.findByTestId('reserve-state-DTC')).toHaveTextContent('healthy')
    expect(screen.getByTestId('reserve-state-DUSD')).toHaveTextContent('short')
    expect(screen.getByText('Short: the platform holds less than users are owed.')).toBeInTheDocument()
    expect((await screen.findByText('Gas keeper low:')).closest('[role="alert"]')).toHaveTextContent(
      /0.004 DTC spendable, below the minimum of 0.01 DTC/,
    )
    expect(await screen.findByRole('list', { name: 'Failed jobs' })).toHaveTextContent(
      'j0: ChainNodeError: down',
    )
  })

  it('approves a withdrawal, and shows a refused decision in words', async () => {
    signInAs(ADMIN)
    let decided = false
    const calls = fakeFetch(
      routes({
        'GET /api/wallet/admin/withdrawals': () =>
          envelope({ state: 'accepted', withdrawals: decided ? [] : [waiting] }),
        'POST /api/wallet/withdrawals/w9/reject': () =>
          apiError(409, 'illegal_transition', 'this withdrawal is not waiting for approval'),
        'POST /api/wallet/withdrawals/w9/approve': () => {
          decided = true
          return envelope({ ...waiting, approved_by: 'admin' })
        },
      }),
    )
    renderSignedIn(<AdminCryptoPage />, '/admin/crypto')
    const row = (await screen.findByText('bob')).closest('tr')!
    expect(row).toHaveTextContent('500 DTC')
    await userEvent.click(within(row).getByRole('button', { name: 'Reject 500.00000000 DTC for bob' }))
    expect(await within(row).findByRole('alert')).toHaveTextContent(
      'This withdrawal is not waiting for approval.',
    )
    await userEvent.click(within(row).getByRole('button', { name: 'Approve 500.00000000 DTC for bob' }))
    expect(await screen.findByText('Approved 500 DTC for bob: it will be sent.')).toBeInTheDocument()
    expect(await screen.findByText('None waiting.')).toBeInTheDocument()
    expect(
      calls
        .filter((c) => c.method === 'POST' && c.path.startsWith('/api/wallet/withdrawals/'))
        .map((c) => c.path),
    ).toEqual(['/api/wallet/withdrawals/w9/reject', '/api/wallet/withdrawals/w9/approve'])
  })
})
