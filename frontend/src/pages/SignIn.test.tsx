import { render, screen } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import type { ReactNode } from 'react'
import { describe, expect, it, vi } from 'vitest'
import { loadSession } from '../api/client'
import { SessionProvider } from '../auth/SessionContext'
import { apiError, envelope, fakeFetch } from '../test/http'
import { WAIT } from '../test/accounts'
import { SignIn, SignUp } from './SignIn'

const renderPage = (page: ReactNode) => render(<SessionProvider>{page}</SessionProvider>)

describe('sign in', () => {
  it('shows the server refusal next to the form and stays signed out', async () => {
    fakeFetch({ 'POST /api/users/login': () => apiError(401, 'unauthorized', 'wrong username or password') })
    renderPage(<SignIn />)
    await userEvent.type(screen.getByLabelText('User name'), 'alice')
    await userEvent.type(screen.getByLabelText('Password'), 'nope-nope')
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }))
    expect(await screen.findByRole('alert')).toHaveTextContent('Wrong username or password.')
    expect(loadSession()).toBeNull()
  })

  it('signs in with the keyboard alone and keeps the token for this tab', async () => {
    const session = {
      token: 'tok',
      username: 'alice',
      role: 'user',
      expires_at: Math.floor(Date.now() / 1000) + 60,
    }
    const calls = fakeFetch({ 'POST /api/users/login': () => envelope(session) })
    renderPage(<SignIn />)
    await userEvent.tab()
    expect(screen.getByLabelText('User name')).toHaveFocus()
    await userEvent.keyboard('alice')
    await userEvent.tab()
    await userEvent.keyboard('secret-password{Enter}')
    await vi.waitFor(() => expect(loadSession()).toEqual(session), WAIT)
    expect(calls[0].body).toEqual({ username: 'alice', password: 'secret-password' })
    expect(calls[0].headers.Authorization).toBeUndefined()
  })

  it('asks for the missing fields without calling the server', async () => {
    const calls = fakeFetch({})
    renderPage(<SignIn />)
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }))
    expect(screen.getByLabelText('User name')).toHaveAccessibleDescription('Enter your user name.')
    expect(screen.getByLabelText('User name')).toHaveAttribute('aria-invalid', 'true')
    expect(calls).toEqual([])
  })
})

describe('sign up', () => {
  it('checks the name and password rules before sending', async () => {
    const calls = fakeFetch({})
    renderPage(<SignUp />)
    await userEvent.type(screen.getByLabelText('User name'), 'bad name!')
    await userEvent.type(screen.getByLabelText('Password'), 'short')
    await userEvent.type(screen.getByLabelText('Repeat the password'), 'shorter')
    await userEvent.click(screen.getByRole('button', { name: 'Create account' }))
    expect(screen.getByLabelText('User name')).toHaveAccessibleDescription(
      /1 to 64 letters.*Use 1 to 64 letters, digits/,
    )
    expect(screen.getByLabelText('Password')).toHaveAccessibleDescription(/at least 8 characters/)
    expect(screen.getByLabelText('Repeat the password')).toHaveAccessibleDescription(
      'The two passwords differ.',
    )
    expect(calls).toEqual([])
  })

  it('shows that a name is taken', async () => {
    fakeFetch({ 'POST /api/users/register': () => apiError(409, 'conflict', 'username alice is taken') })
    renderPage(<SignUp />)
    await userEvent.type(screen.getByLabelText('User name'), 'alice')
    await userEvent.type(screen.getByLabelText('Password'), 'long-enough')
    await userEvent.type(screen.getByLabelText('Repeat the password'), 'long-enough')
    await userEvent.click(screen.getByRole('button', { name: 'Create account' }))
    expect(await screen.findByRole('alert')).toHaveTextContent('Username alice is taken.')
  })
})
