// Which page to show: sign-in and sign-up for visitors, the trading pages for a
// signed-in user (with one live account feed shared between them).

import { Suspense, lazy, useEffect, useRef } from 'react'
import type { ReactNode } from 'react'
import { SessionProvider, useSession } from './auth/SessionContext'
import { AccountProvider } from './live/AccountContext'
import { AdminPage } from './pages/AdminPage'
import { AutomaticPage } from './pages/AutomaticPage'
import { Dashboard } from './pages/Dashboard'
import { HistoryPage } from './pages/HistoryPage'
import { Layout } from './pages/Layout'
import { QuotePage } from './pages/QuotePage'
import { SignIn, SignUp } from './pages/SignIn'
import { TradePage } from './pages/TradePage'
import { Link, matchPath, navigate, useLocation } from './router'
import { Spinner } from './components/ui'

// The crypto pages (and the chart library they use) load when first visited.
const ExchangePage = lazy(() =>
  import('./pages/crypto/ExchangePage').then((m) => ({ default: m.ExchangePage })),
)
const ExplorerPage = lazy(() =>
  import('./pages/crypto/ExplorerPage').then((m) => ({ default: m.ExplorerPage })),
)
const MinersPage = lazy(() => import('./pages/crypto/MinersPage').then((m) => ({ default: m.MinersPage })))
const WalletPage = lazy(() => import('./pages/crypto/WalletPage').then((m) => ({ default: m.WalletPage })))
const AdminCryptoPage = lazy(() =>
  import('./pages/crypto/AdminCryptoPage').then((m) => ({ default: m.AdminCryptoPage })),
)
const AutoTradePage = lazy(() =>
  import('./pages/crypto/AutoTradePage').then((m) => ({ default: m.AutoTradePage })),
)
const PoolsPage = lazy(() => import('./pages/crypto/PoolsPage').then((m) => ({ default: m.PoolsPage })))

interface Page {
  title: string | ((params: Record<string, string>) => string)
  render: (params: Record<string, string>) => ReactNode
}

/** Every page, by path pattern (":name" matches one segment); the first match wins. */
const PAGES: [string, Page][] = [
  ['/', { title: 'Dashboard', render: () => <Dashboard /> }],
  ['/quote', { title: 'Quotes', render: () => <QuotePage /> }],
  ['/trade', { title: 'Buy and sell', render: () => <TradePage /> }],
  ['/automatic', { title: 'Automatic trades', render: () => <AutomaticPage /> }],
  ['/history', { title: 'History', render: () => <HistoryPage /> }],
  ['/admin', { title: 'Administration', render: () => <AdminPage /> }],
  ['/admin/crypto', { title: 'Reserves and withdrawals', render: () => <AdminCryptoPage /> }],
  ['/exchange', { title: 'Exchange', render: () => <ExchangePage /> }],
  [
    '/exchange/:coin',
    { title: (p) => `${p.coin.toUpperCase()} · Exchange`, render: (p) => <ExchangePage coin={p.coin} /> },
  ],
  ['/autotrade', { title: 'Auto-trade', render: () => <AutoTradePage /> }],
  ['/wallet', { title: 'Wallet', render: () => <WalletPage /> }],
  ['/miners', { title: 'Miners', render: () => <MinersPage /> }],
  ['/pools', { title: 'Pool centre', render: () => <PoolsPage /> }],
  ['/pools/:id', { title: (p) => `Pool ${p.id}`, render: (p) => <PoolsPage id={p.id} /> }],
  ['/explorer', { title: 'Explorer', render: () => <ExplorerPage params={{}} /> }],
  [
    '/explorer/blocks/:block',
    { title: (p) => `Block ${p.block.slice(0, 12)}`, render: (p) => <ExplorerPage params={p} /> },
  ],
  [
    '/explorer/transactions/:tx',
    { title: (p) => `Transaction ${p.tx.slice(0, 12)}`, render: (p) => <ExplorerPage params={p} /> },
  ],
  [
    '/explorer/addresses/:address',
    { title: (p) => `Address ${p.address.slice(0, 12)}`, render: (p) => <ExplorerPage params={p} /> },
  ],
]

function findPage(path: string): { page: Page; params: Record<string, string> } | null {
  for (const [pattern, page] of PAGES) {
    const params = matchPath(pattern, path)
    if (params) return { page, params }
  }
  return null
}

function NotFound() {
  return (
    <>
      <h1 tabIndex={-1}>Page not found</h1>
      <p>
        There is no page here. <Link to="/">Go to the dashboard</Link>.
      </p>
    </>
  )
}

/** After client-side navigation, move focus to the new page's heading (for screen readers and keyboards). */
function useFocusOnNavigate(path: string) {
  const first = useRef(true)
  useEffect(() => {
    if (first.current) {
      first.current = false
      return
    }
    const heading = document.querySelector<HTMLElement>('main h1')
    heading?.focus()
  }, [path])
}

function Routes() {
  const { session } = useSession()
  const { path } = useLocation()
  useFocusOnNavigate(path)
  const found = findPage(path)
  const title = found
    ? typeof found.page.title === 'string'
      ? found.page.title
      : found.page.title(found.params)
    : 'Not found'

  useEffect(() => {
    const shown = session ? title : path === '/signup' ? 'Create an account' : 'Sign in'
    document.title = `${shown} · Day Trading`
  }, [session, title, path])

  useEffect(() => {
    if (!session && path !== '/signin' && path !== '/signup') navigate('/signin', { replace: true })
    if (session && (path === '/signin' || path === '/signup')) navigate('/', { replace: true })
  }, [session, path])

  if (!session) return path === '/signup' ? <SignUp /> : <SignIn />
  return (
    // A new feed per user: signing in as someone else starts afresh.
    <AccountProvider key={session.username} user={session.username}>
      <Layout>
        <Suspense fallback={<Spinner label="Loading the page…" />}>
          {found ? found.page.render(found.params) : <NotFound />}
        </Suspense>
      </Layout>
    </AccountProvider>
  )
}

export function App() {
  return (
    <SessionProvider>
      <Routes />
    </SessionProvider>
  )
}
