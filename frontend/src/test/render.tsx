// Render a page the way the app does: session, live account feed and layout.

import { render } from '@testing-library/react'
import type { ReactNode } from 'react'
import { SessionProvider } from '../auth/SessionContext'
import { AccountProvider } from '../live/AccountContext'

export function renderSignedIn(page: ReactNode, path = '/') {
  window.history.replaceState(null, '', path)
  return render(
    <SessionProvider>
      <AccountProvider user="alice">{page}</AccountProvider>
    </SessionProvider>,
  )
}
