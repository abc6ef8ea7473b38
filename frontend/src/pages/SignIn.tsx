// Sign in and sign up. Both end signed in, on the page the user asked for.

import { useState } from 'react'
import type { FormEvent } from 'react'
import { login, register } from '../api/endpoints'
import { useSession } from '../auth/SessionContext'
import { ErrorText, Field, StatusText, useAction } from '../components/ui'
import { Link, navigate } from '../router'

const USERNAME = /^[A-Za-z0-9_-]{1,64}$/

export function checkUsername(name: string): string | null {
  if (!name) return 'Enter a user name.'
  if (!USERNAME.test(name)) {
    return 'Use 1 to 64 letters, digits, "_" or "-" (no spaces).'
  }
  return null
}

export function checkPassword(password: string): string | null {
  if (password.length < 8) return 'The password needs at least 8 characters.'
  if (password.length > 128) return 'The password can have at most 128 characters.'
  return null
}

export function SignIn() {
  const { signIn, flash } = useSession()
  const [username, setUsername] = useState('')
  const [password, setPassword] = useState('')
  const [invalid, setInvalid] = useState<{ username?: string; password?: string }>({})
  const { run, busy, error } = useAction()

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    const problems = {
      username: username ? undefined : 'Enter your user name.',
      password: password ? undefined : 'Enter your password.',
    }
    setInvalid(problems)
    if (problems.username || problems.password) return
    const session = await run(() => login(username.trim(), password))
    if (session) {
      signIn(session)
      navigate('/', { replace: true })
    }
  }

  return (
    <main id="main" className="auth" tabIndex={-1}>
      <h1>Sign in</h1>
      {flash && <StatusText>{flash}</StatusText>}
      <form
        onSubmit={submit}
        noValidate
        className="card stack"
        aria-describedby={error ? 'signin-error' : undefined}
      >
        <Field
          label="User name"
          value={username}
          onChange={setUsername}
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          error={invalid.username}
          required
        />
        <Field
          label="Password"
          type="password"
          value={password}
          onChange={setPassword}
          autoComplete="current-password"
          error={invalid.password}
          required
        />
        <div id="signin-error">
          <ErrorText>{error}</ErrorText>
        </div>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <p>
        New here? <Link to="/signup">Create an account</Link>
      </p>
    </main>
  )
}

export function SignUp() {
  const { signIn } = useSession()
  const [username, setUsername] = useState('')
  const [password, setPassword] = useState('')
  const [confirm, setConfirm] = useState('')
  const [invalid, setInvalid] = useState<{
    username?: string | null
    password?: string | null
    confirm?: string | null
  }>({})
  const { run, busy, error } = useAction()

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    const name = username.trim()
    const problems = {
      username: checkUsername(name),
      password: checkPassword(password),
      confirm: password === confirm ? null : 'The two passwords differ.',
    }
    setInvalid(problems)
    if (problems.username || problems.password || problems.confirm) return
    const session = await run(async () => {
      await register(name, password)
      return login(name, password)
    })
    if (session) {
      signIn(session)
      navigate('/', { replace: true })
    }
  }

  return (
    <main id="main" className="auth" tabIndex={-1}>
      <h1>Create an account</h1>
      <form onSubmit={submit} noValidate className="card stack">
        <Field
          label="User name"
          value={username}
          onChange={setUsername}
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          maxLength={64}
          hint="1 to 64 letters, digits, _ or -."
          error={invalid.username}
          required
        />
        <Field
          label="Password"
          type="password"
          value={password}
          onChange={setPassword}
          autoComplete="new-password"
          maxLength={128}
          hint="8 to 128 characters."
          error={invalid.password}
          required
        />
        <Field
          label="Repeat the password"
          type="password"
          value={confirm}
          onChange={setConfirm}
          autoComplete="new-password"
          error={invalid.confirm}
          required
        />
        <ErrorText>{error}</ErrorText>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create account'}
        </button>
      </form>
      <p>
        Have an account? <Link to="/signin">Sign in</Link>
      </p>
    </main>
  )
}
