// The frame of every signed-in page: skip link, header with navigation and sign-out,
// app-wide notices (403s, automatic trades that fired), and the page itself.

import { useEffect, useRef, useState } from 'react'
import type { KeyboardEvent, ReactNode } from 'react'
import { useSession, useSignedIn } from '../auth/SessionContext'
import { useAccount } from '../live/AccountContext'
import { isCurrent, navGroups } from '../nav'
import type { NavGroup } from '../nav'
import { Link, useLocation } from '../router'

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

/**
 * One group of the main navigation: a button that shows or hides its links (the
 * disclosure pattern: Enter or Space opens it, Escape closes it and returns focus).
 */
function NavMenu({
  group,
  open,
  onToggle,
  onClose,
}: {
  group: NavGroup
  open: boolean
  onToggle: () => void
  onClose: () => void
}) {
  const { path } = useLocation()
  const button = useRef<HTMLButtonElement>(null)
  const current = group.links.find((l) => isCurrent(l, path))
  const listId = `nav-${group.id}`
  const escape = (e: KeyboardEvent) => {
    if (e.key === 'Escape' && open) {
      e.stopPropagation()
      onClose()
      button.current?.focus()
    }
  }
  return (
    <li className={`nav-group${current ? ' nav-group-current' : ''}`} onKeyDown={escape}>
      <button
        ref={button}
        type="button"
        aria-expanded={open}
        aria-controls={listId}
        onClick={onToggle}
        className="nav-toggle"
      >
        {group.label}
        {current && <span className="nav-where">: {current.label}</span>}
        <span className="caret" aria-hidden="true" />
      </button>
      <ul id={listId} hidden={!open} className="nav-menu">
        {group.links.map((l) => (
          <li key={l.to}>
            <Link to={l.to} aria-current={isCurrent(l, path) ? 'page' : undefined} onClick={onClose}>
              {l.label}
            </Link>
          </li>
        ))}
      </ul>
    </li>
  )
}

export function Layout({ children }: { children: ReactNode }) {
  const { username, role } = useSignedIn()
  const { signOut } = useSession()
  const { path } = useLocation()
  const [open, setOpen] = useState<string | null>(null)
  const nav = useRef<HTMLElement>(null)

  // A click or focus outside the navigation closes an open group, as does navigating.
  useEffect(() => {
    if (!open) return
    const outside = (e: Event) => {
      if (nav.current && !nav.current.contains(e.target as Node)) setOpen(null)
    }
    document.addEventListener('pointerdown', outside)
    document.addEventListener('focusin', outside)
    return () => {
      document.removeEventListener('pointerdown', outside)
      document.removeEventListener('focusin', outside)
    }
  }, [open])
  useEffect(() => setOpen(null), [path])

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="app-header">
        <Link to="/" className="brand">
          Day Trading
        </Link>
        <nav aria-label="Main" ref={nav}>
          <ul className="nav-groups">
            {navGroups(role).map((group) => (
              <NavMenu
                key={group.id}
                group={group}
                open={open === group.id}
                onToggle={() => setOpen((o) => (o === group.id ? null : group.id))}
                onClose={() => setOpen(null)}
              />
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
