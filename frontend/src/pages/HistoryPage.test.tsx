import { screen } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it } from 'vitest'
import type { LogEntry } from '../api/types'
import { envelope, fakeFetch, signInAs } from '../test/http'
import { renderSignedIn } from '../test/render'
import { HistoryPage, PAGE_SIZE } from './HistoryPage'

// 30 ADD commands, newest first, one per millisecond.
const log: LogEntry[] = Array.from({ length: 30 }, (_, i) => ({
  type: 'userCommand',
  timestamp: 1_000 - i,
  transactionNum: 30 - i,
  command: 'ADD',
  username: 'alice',
  funds: `${30 - i}.00`,
}))

describe('history', () => {
  it('pages with the before cursor and filters by type on the server', async () => {
    signInAs()
    const calls = fakeFetch({
      'GET /api/users/account': () => envelope({}),
      'GET /api/users/transactions': ({ query }) => {
        const before = query.get('before') ? Number(query.get('before')) : Infinity
        const limit = Number(query.get('limit'))
        const type = query.get('type')
        const rows = log.filter((e) => e.timestamp < before && (!type || e.type === type)).slice(0, limit)
        return envelope({ user: 'alice', transactions: rows })
      },
    })
    renderSignedIn(<HistoryPage />, '/history')
    expect(await screen.findByText('Entries 1–20')).toBeInTheDocument()
    expect(screen.getAllByRole('row')).toHaveLength(PAGE_SIZE + 1)

    await userEvent.click(screen.getByRole('button', { name: 'Older →' }))
    expect(await screen.findByText('Entries 21–30')).toBeInTheDocument()
    expect(screen.getByRole('button', { name: 'Older →' })).toBeDisabled()
    const older = calls.filter((c) => c.path === '/api/users/transactions')[1]
    expect(Object.fromEntries(older.query)).toEqual({ user: 'alice', limit: '22', before: '982' })

    await userEvent.click(screen.getByRole('button', { name: '← Newer' }))
    expect(await screen.findByText('Entries 1–20')).toBeInTheDocument()

    await userEvent.selectOptions(screen.getByLabelText('Show'), 'errorEvent')
    expect(await screen.findByText('No error entries.')).toBeInTheDocument()
    expect(calls.at(-1)?.query.get('type')).toBe('errorEvent')
    expect(window.location.search).toBe('?type=errorEvent')
  })
})
