// The frame of every signed-in page: skip link, header with navigation and sign-out,
// app-wide notices (403s, automatic trades that fired), and the page itself.

import type { ReactNode } from 'react'
import { useSession, useSignedIn } from '../auth/SessionContext'
import { useAccount } from '../live/AccountContext'
import { Link, useLocation } from '../router'

const LINKS = [
  { to: '/', label: 'Dashboard' },
  { to: '/quote', label: 'Quotes' },
  { to: '/trade', label: 'Buy & sell' },
  { to: '/automatic', label: 'Automatic' },
  { to: '/history', label: 'History' },
]

/** How the account stays current: a live stream, or polling as a fallback. */
export function LiveBadge() {
  const { state } = useAccount()
  const text = {
    live: 'Live',
    polling: 'Updating every 5 s',
    connecting: 'Connecting…',
    stopped: 'Not updating',
  }[state.mode]
  return (
    <span className={`badge badge-${state.mode}`} title="How this page stays up to date">
      <span className="dot" aria-hidden="true" />
      {text}
    </span>
  )
}

function Notices() {
  const { forbidden, clearForbidden } = useSession()
  const { state, dismiss } = useAccount()
  return (
    <div className="notices" aria-live="polite">
      {forbidden && (
        <div className="notice notice-error" role="alert">
          <span>Not allowed: {forbidden}</span>
          <button type="button" onClick={clearForbidden}>
            Dismiss
          </button>
        </div>
      )}
      {state.notices.map((n) => (
        <div key={n.id} className="notice">
          <span>{n.text}</span>
          <button type="button" onClick={() => dismiss(n.id)}>
            Dismiss
          </button>
        </div>
      ))}
    </div>
  )
}

export function Layout({ children }: { children: ReactNode }) {
  const { username, role } = useSignedIn()
  const { signOut } = useSession()
  const { path } = useLocation()
  const links = role === 'user' ? LINKS : [...LINKS, { to: '/admin', label: 'Admin' }]
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="app-header">
        <Link to="/" className="brand">
          Day Trading
        </Link>
        <nav aria-label="Main">
          <ul>
            {links.map((l) => (
              <li key={l.to}>
                <Link to={l.to} aria-current={path === l.to ? 'page' : undefined}>
                  {l.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <span>
            {username}
            {role !== 'user' && <span className="role"> ({role})</span>}
          </span>
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Notices />
        {children}
      </main>
    </>
  )
}
