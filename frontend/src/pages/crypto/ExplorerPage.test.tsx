import { screen, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it, vi } from 'vitest'
import { apiError, fakeFetch, liveStream, plain, signInAs } from '../../test/http'
import { renderSignedIn } from '../../test/render'
import { ExplorerPage } from './ExplorerPage'

const json = plain

const MINER = 'a'.repeat(40)
const raw = (index: number) => ({
  index,
  previous_hash: String(index - 1).padStart(64, 'f'),
  timestamp: 1_700_000_000_000 + index * 10_000,
  proof: 7,
  difficulty: 12,
  tx_root: '0'.repeat(64),
  transactions: [
    {
      id: String(index).padStart(64, 'c'),
      sender: '0',
      recipient: MINER,
      asset: 'DTC',
      amount: 5_000_000_000,
      fee: 0,
      nonce: index,
      timestamp: 1_700_000_000_000,
      public_key: '',
      signature: '',
    },
  ],
})
// GET /blocks/<ref> as services/chain_node/service.py answers it.
const block = (index: number, tip = index) => ({
  hash: String(index).padStart(64, 'f'),
  height: index,
  main: true,
  confirmations: tip - index + 1,
  work: 4096 * (index + 1),
  block: raw(index),
})

describe('explorer', () => {
  it('lists the latest blocks, and re-reads them when the chain announces a new tip', async () => {
    signInAs()
    let height = 1
    const fetched: string[] = []
    const events = liveStream()
    fakeFetch({
      'GET /api/chain/inv': () => plain({ height, hash: block(height).hash, work: 1 }),
      'GET /api/chain/pool': () => plain({ transactions: [], count: 0 }),
      'GET /api/chain/events': events.route,
      // By hash: the height is the hash without its leading f's.
      'GET /api/chain/blocks/*': (call) => {
        fetched.push(call.path)
        return plain(block(Number(call.path.split('/').pop()!.replace(/^f+/, '') || '0')))
      },
    })
    renderSignedIn(<ExplorerPage params={{}} />, '/explorer')
    const table = await screen.findByRole('table', { name: /Latest blocks/ })
    expect(within(table).getAllByRole('row')).toHaveLength(3)
    expect(within(table).getAllByRole('row')[1]).toHaveTextContent(/^1.*50 DTC$/)
    expect(await screen.findByText('Live')).toBeInTheDocument()
    expect(screen.getByText('Transactions in the mempool: none.')).toBeInTheDocument()
    height = 2
    events.send('tip', { height: 2 })
    await vi.waitFor(() => expect(within(table).getAllByRole('row')).toHaveLength(4))
    expect(within(table).getAllByRole('row')[1]).toHaveTextContent(/^2/)
    // Blocks seen before are not fetched again.
    expect(fetched.map((p) => p.slice(-3))).toEqual(['ff1', 'ff0', 'ff2'])
  })

  it('says in words when a search finds nothing', async () => {
    signInAs()
    fakeFetch({
      'GET /api/chain/inv': () => json({ height: 0, hash: 'x', work: 1 }),
      'GET /api/chain/blocks/0': () => json(block(0)),
      'GET /api/chain/pool': () => json({ transactions: [], count: 0 }),
      'GET /api/chain/events': () => apiError(404, 'not_found', 'no such route'),
      ['GET /api/chain/transactions/' + 'e'.repeat(64)]: () =>
        apiError(404, 'not_found', 'no such transaction'),
      ['GET /api/chain/blocks/' + 'e'.repeat(64)]: () => apiError(404, 'not_found', 'no such block'),
    })
    renderSignedIn(<ExplorerPage params={{}} />, '/explorer')
    const search = screen.getByRole('search', { name: 'Search the chain' })
    await userEvent.type(within(search).getByLabelText('Search the chain'), 'not a thing')
    await userEvent.click(within(search).getByRole('button', { name: 'Search' }))
    expect(await within(search).findByRole('alert')).toHaveTextContent(/Enter a block height/)
    await userEvent.clear(within(search).getByLabelText('Search the chain'))
    await userEvent.type(within(search).getByLabelText('Search the chain'), 'E'.repeat(64))
    await userEvent.click(within(search).getByRole('button', { name: 'Search' }))
    expect(await within(search).findByRole('alert')).toHaveTextContent(
      `Nothing on the chain matches ${'E'.repeat(64)}.`,
    )
    expect(screen.getByText('Updating every few seconds')).toBeInTheDocument()
  })

  it('shows a transaction with its confirmations', async () => {
    signInAs()
    const id = 'd'.repeat(64)
    fakeFetch({
      [`GET /api/chain/transactions/${id}`]: () =>
        json({
          transaction: {
            ...raw(3).transactions[0],
            id,
            sender: MINER,
            recipient: 'b'.repeat(40),
            amount: 150_000_000,
            fee: 1000,
          },
          status: 'confirmed',
          block: block(3).hash,
          height: 3,
          confirmations: 4,
        }),
    })
    renderSignedIn(<ExplorerPage params={{ tx: id }} />, `/explorer/transactions/${id}`)
    expect(await screen.findByTestId('confirmations')).toHaveTextContent('4 confirmations')
    expect(screen.getByText('1.5 DTC')).toBeInTheDocument()
    expect(screen.getByText('0.00001 DTC')).toBeInTheDocument()
    expect(screen.getByRole('link', { name: '3' })).toHaveAttribute(
      'href',
      `/explorer/blocks/${block(3).hash}`,
    )
  })
})
