import { screen, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it } from 'vitest'
import { ALICE, fakeFetch, signInAs } from '../test/http'
import { renderSignedIn } from '../test/render'
import { Layout } from './Layout'

describe('navigation', () => {
  it('groups the pages and opens a group with the keyboard', async () => {
    signInAs()
    fakeFetch({})
    renderSignedIn(<Layout>page</Layout>, '/wallet')
    const nav = screen.getByRole('navigation', { name: 'Main' })
    const groups = within(nav)
      .getAllByRole('button')
      .map((b) => b.textContent)
    expect(groups).toEqual(['Stocks', 'Crypto: Wallet'])
    expect(within(nav).queryByRole('link', { name: 'Exchange' })).toBeNull()

    const crypto = within(nav).getByRole('button', { name: /Crypto/ })
    crypto.focus()
    await userEvent.keyboard('{Enter}')
    expect(crypto).toHaveAttribute('aria-expanded', 'true')
    const links = within(nav)
      .getAllByRole('link')
      .map((a) => a.textContent)
    expect(links).toEqual(['Exchange', 'Wallet', 'Miners', 'Pool centre', 'Auto-trade', 'Explorer'])
    expect(within(nav).getByRole('link', { name: 'Wallet' })).toHaveAttribute('aria-current', 'page')

    await userEvent.tab()
    expect(within(nav).getByRole('link', { name: 'Exchange' })).toHaveFocus()
    await userEvent.keyboard('{Escape}')
    expect(crypto).toHaveAttribute('aria-expanded', 'false')
    expect(crypto).toHaveFocus()

    await userEvent.click(within(nav).getByRole('button', { name: 'Stocks' }))
    await userEvent.click(within(nav).getByRole('link', { name: 'Quotes' }))
    expect(window.location.pathname).toBe('/quote')
    expect(within(nav).queryByRole('link', { name: 'Quotes' })).toBeNull()
  })

  it('shows the admin group to administrators only', () => {
    signInAs({ ...ALICE, username: 'admin', role: 'admin' })
    fakeFetch({})
    renderSignedIn(<Layout>page</Layout>, '/exchange/BTC')
    const nav = screen.getByRole('navigation', { name: 'Main' })
    expect(within(nav).getByRole('button', { name: 'Admin' })).toBeInTheDocument()
    expect(within(nav).getByRole('button', { name: /Crypto/ })).toHaveTextContent('Crypto: Exchange')
  })
})
