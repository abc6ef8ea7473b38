import { screen, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it, vi } from 'vitest'
import type { Machine } from '../../api/mining'
import { drawn } from '../../test/charts'
import { apiError, envelope, fakeFetch, liveStream, signInAs } from '../../test/http'
import { renderSignedIn } from '../../test/render'
import { MinersPage } from './MinersPage'
import { PoolsPage } from './PoolsPage'

const rig: Machine = {
  id: 'm1',
  name: 'rig one',
  model: 'S19',
  hashrate: 110_000_000_000_000,
  state: 'idle',
  pool: null,
  since_ms: null,
  created_ms: 1,
}

const pool = (id: string, share: number) => ({
  id,
  name: id,
  scheme: 'PPLNS',
  fee: '1.50',
  hashrate: 110_000_000_000_000,
  share_of_network: share,
  machines: 1,
  blocks_24h: 2,
  blocks_7d: 9,
  last_block: {
    hash: 'b'.repeat(64),
    height: 41,
    found_ms: 1_700_000_000_000,
    reward: '50.00000000',
    state: 'confirmed',
  },
  luck: 104.5,
})

const centre = {
  updated_ms: Date.now(),
  network_hashrate: 220_000_000_000_000,
  pools: [pool('alpha', 50), pool('beta', 25)],
}
const earnings = {
  user: 'alice',
  asset: 'DTC',
  total: '0.30000000',
  paid: '0.10000000',
  pending: '0.20000000',
  payouts: [
    {
      id: 'p2',
      pool: 'alpha',
      amount: '0.20000000',
      state: 'pending',
      txid: null,
      block: 42,
      created_ms: 2_000_000,
    },
    {
      id: 'p1',
      pool: 'alpha',
      amount: '0.10000000',
      state: 'confirmed',
      txid: 'c'.repeat(64),
      block: 41,
      created_ms: 1_000_000,
    },
  ],
}

function routes(extra = {}) {
  return {
    'GET /api/mining/machines': () => envelope({ machines: [rig], limit: 20 }),
    'GET /api/mining/history': () => envelope({ digs: [] }),
    'GET /api/mining/earnings': () => envelope(earnings),
    'GET /api/mining/pools': () => envelope(centre),
    ...extra,
  }
}

describe('miners', () => {
  it('checks a new machine before sending it, and shows the server refusal', async () => {
    signInAs()
    const calls = fakeFetch(
      routes({
        'POST /api/mining/machines': () =>
          apiError(409, 'too_many_machines', 'a user may register at most 20 machines'),
      }),
    )
    renderSignedIn(<MinersPage />, '/miners')
    const form = screen.getByRole('heading', { name: 'Register a machine' }).closest('form') as HTMLElement
    await userEvent.type(within(form).getByLabelText('Hashrate'), '1.0005')
    await userEvent.selectOptions(within(form).getByLabelText('Unit'), 'H/s')
    await userEvent.click(within(form).getByRole('button', { name: 'Register machine' }))
    expect(within(form).getByLabelText('Name')).toHaveAccessibleDescription('Give the machine a name.')
    expect(within(form).getByLabelText('Hashrate')).toHaveAccessibleDescription(/no decimals in H\/s/)
    expect(calls.some((c) => c.path === '/api/mining/machines' && c.method === 'POST')).toBe(false)

    await userEvent.type(within(form).getByLabelText('Name'), 'rig two')
    await userEvent.type(within(form).getByLabelText('Model'), 'S21')
    await userEvent.selectOptions(within(form).getByLabelText('Unit'), 'TH/s')
    await userEvent.click(within(form).getByRole('button', { name: 'Register machine' }))
    expect(await within(form).findByRole('alert')).toHaveTextContent(
      'A user may register at most 20 machines.',
    )
    // 1.0005 TH/s is exactly 1,000,500,000,000 H/s.
    expect(calls.find((c) => c.path === '/api/mining/machines' && c.method === 'POST')?.body).toEqual({
      name: 'rig two',
      model: 'S21',
      hashrate: 1_000_500_000_000,
    })
  })

  it('starts a machine in the chosen pool and follows it live', async () => {
    signInAs()
    const events = liveStream()
    let machine = rig
    const calls = fakeFetch(
      routes({
        'GET /api/mining/events': events.route,
        'GET /api/mining/machines': () => envelope({ machines: [machine], limit: 20 }),
        'POST /api/mining/machines/m1/start': () => apiError(404, 'not_found', 'no pool beta'),
      }),
    )
    renderSignedIn(<MinersPage />, '/miners')
    const row = await screen.findByRole('row', { name: /rig one/ })
    expect(row).toHaveTextContent(/110 TH\/s\s*idle/)
    await userEvent.selectOptions(within(row).getByLabelText('Pool for rig one'), 'beta')
    await userEvent.click(within(row).getByRole('button', { name: 'Start rig one' }))
    expect(await within(row).findByRole('alert')).toHaveTextContent('No pool beta.')
    expect(calls.find((c) => c.path.endsWith('/start'))?.body).toEqual({ pool: 'beta' })

    machine = { ...rig, state: 'digging', pool: 'alpha', since_ms: Date.now() }
    events.send('machine', machine)
    await vi.waitFor(() =>
      expect(screen.getByRole('row', { name: /rig one/ })).toHaveTextContent(/digging in alpha/),
    )
    expect(screen.getByRole('button', { name: 'Stop rig one' })).toBeInTheDocument()
  })

  it('charts the earnings over time, exactly', async () => {
    signInAs()
    fakeFetch(routes())
    renderSignedIn(<MinersPage />, '/miners')
    expect(await screen.findByText('2 payouts, 0.3 DTC in all.')).toBeInTheDocument()
    expect(drawn.find((s) => s.kind === 'Area')?.data).toEqual([
      { time: 1000, value: 0.1 },
      { time: 2000, value: 0.3 },
    ])
    expect(screen.getByRole('row', { name: /confirmed/ })).toHaveTextContent('0.1 DTC')
  })
})

describe('pool centre', () => {
  it('lists every pool statistic and the share of the hashrate', async () => {
    signInAs()
    fakeFetch(routes())
    renderSignedIn(<PoolsPage />, '/pools')
    const alpha = await screen.findByRole('row', { name: /alpha/ })
    expect(alpha).toHaveTextContent(/alpha\s*110 TH\/s\s*50 %\s*1\s*2\s*9\s*#41.*104.5 %\s*1.50 %\s*PPLNS/)
    const legend = screen.getByRole('list', { name: 'Share of the network hashrate' })
    expect(legend).toHaveTextContent('alpha: 50 %beta: 25 %Rest of the network: 25 %')
  })

  it('starts a free machine in a pool and shows a refusal in words', async () => {
    signInAs()
    fakeFetch(
      routes({
        'GET /api/mining/pools/alpha': () =>
          envelope({ ...pool('alpha', 50), updated_ms: 1, recent_blocks: [] }),
        'POST /api/mining/machines/m1/start': () =>
          apiError(409, 'machine_busy', 'machine m1 is already digging in pool beta'),
      }),
    )
    renderSignedIn(<PoolsPage id="alpha" />, '/pools/alpha')
    expect(await screen.findByText('This pool has not found a block yet.')).toBeInTheDocument()
    const form = screen.getByRole('heading', { name: 'Dig in this pool' }).closest('form') as HTMLElement
    expect(await within(form).findByLabelText('Machine')).toHaveDisplayValue('rig one (110 TH/s, idle)')
    await userEvent.click(within(form).getByRole('button', { name: 'Start digging' }))
    expect(await within(form).findByRole('alert')).toHaveTextContent(
      'Machine m1 is already digging in pool beta.',
    )
  })
})
