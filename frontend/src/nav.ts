// The pages in the navigation, grouped so it grows without crowding: the stock side,
// the crypto side, and (for administrators) the admin pages.

import type { Role } from './api/types'

export interface NavLink {
  to: string
  label: string
}

export interface NavGroup {
  id: string
  label: string
  links: NavLink[]
}

export const STOCKS: NavGroup = {
  id: 'stocks',
  label: 'Stocks',
  links: [
    { to: '/', label: 'Dashboard' },
    { to: '/quote', label: 'Quotes' },
    { to: '/trade', label: 'Buy & sell' },
    { to: '/automatic', label: 'Automatic' },
    { to: '/history', label: 'History' },
  ],
}

export const CRYPTO: NavGroup = {
  id: 'crypto',
  label: 'Crypto',
  links: [
    { to: '/exchange', label: 'Exchange' },
    { to: '/wallet', label: 'Wallet' },
    { to: '/miners', label: 'Miners' },
    { to: '/pools', label: 'Pool centre' },
    { to: '/autotrade', label: 'Auto-trade' },
    { to: '/explorer', label: 'Explorer' },
  ],
}

export const ADMIN: NavGroup = {
  id: 'admin',
  label: 'Admin',
  links: [
    { to: '/admin', label: 'Audit log' },
    { to: '/admin/crypto', label: 'Reserves & withdrawals' },
  ],
}

export function navGroups(role: Role): NavGroup[] {
  return role === 'user' ? [STOCKS, CRYPTO] : [STOCKS, CRYPTO, ADMIN]
}

/** The link a path belongs to: itself, or the section it is under ("/exchange/BTC"). */
export function isCurrent(link: NavLink, path: string): boolean {
  if (link.to === '/') return path === '/'
  return path === link.to || (path.startsWith(`${link.to}/`) && !isOwnLink(path))
}

function isOwnLink(path: string): boolean {
  return [STOCKS, CRYPTO, ADMIN].some((g) => g.links.some((l) => l.to === path))
}
