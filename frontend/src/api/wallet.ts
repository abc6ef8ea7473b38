// The wallet service (services/wallet/routes.py, under /api/wallet): balances, the
// deposit address, deposits with their confirmations, withdrawals and the wallet
// history; and for admins the reserves, the gas keeper, collection jobs, alerts and
// withdrawal approvals. Coin amounts are 8-decimal strings; times Unix ms.

import { api } from './client'

export interface AssetBalance {
  asset: string
  available: string
  locked: string
  total: string
}

export type DepositState = 'submitted' | 'accepted' | 'collecting' | 'collected' | 'skipped' | 'errored'

export interface Deposit {
  id: string
  txid: string
  address: string
  asset: string
  amount: string
  fee: string
  state: DepositState
  height: number
  confirmations: number
  /** How many confirmations credit a deposit, when the server says. */
  confirmations_required?: number
  seen_ms: number
}

export type WithdrawalState =
  'prepared' | 'accepted' | 'processing' | 'confirming' | 'succeeded' | 'failed' | 'rejected' | 'canceled'

export interface Withdrawal {
  id: string
  user: string
  asset: string
  address: string
  amount: string
  fee: string
  state: WithdrawalState
  needs_approval: boolean
  approved_by: string | null
  txid: string | null
  error: string | null
  created_ms: number
  updated_ms: number
}

export interface WalletEntry {
  ts: number
  asset: string
  amount: string
  from: string
  to: string
  reason: string
  ref: string
}

export interface Reserve {
  asset: string
  liabilities: string
  holdings: Record<string, string>
  held: string
  surplus: string
  explained: Record<string, string>
  unexplained: string
  covered: boolean
}

export interface GasKeeper {
  address: string
  balance: string
  spendable: string
  minimum: string
  low: boolean
}

export interface JobsOverview {
  jobs: {
    queued: string[]
    queued_count: number
    running: string[]
    failed: { id: string; error: string }[]
    failed_count: number
  }
  sweeps: {
    id: string
    address: string
    asset: string
    state: string
    deposits: number
    transfers: { wallet: string; amount: string }[]
    txids: string[]
    topup: unknown
    error: string | null
  }[]
}

export interface WalletAlert {
  id?: string
  kind: string
  message: string
  raised_ms: number
}

const enc = encodeURIComponent

export const walletBalances = () => api<{ user: string; balances: AssetBalance[] }>('/api/wallet/balances')
export const depositAddress = () =>
  api<{ user: string; address: string; assets: string[] }>('/api/wallet/deposit-address')
export const deposits = () =>
  api<{ user: string; deposits: Deposit[] }>('/api/wallet/deposits', { query: { limit: 20 } })
export const withdrawals = () =>
  api<{ user: string; withdrawals: Withdrawal[] }>('/api/wallet/withdrawals', { query: { limit: 20 } })
export const walletHistory = (before?: number) =>
  api<{ user: string; entries: WalletEntry[] }>('/api/wallet/history', { query: { limit: 20, before } })
export const createWithdrawal = (asset: string, address: string, amount: string, key: string) =>
  api<Withdrawal>('/api/wallet/withdrawals', {
    body: { asset, address, amount },
    headers: { 'Idempotency-Key': key },
  })
export const cancelWithdrawal = (id: string) =>
  api<Withdrawal>(`/api/wallet/withdrawals/${enc(id)}/cancel`, { method: 'POST' })

export const reserves = () => api<{ height: number; reserves: Reserve[] }>('/api/wallet/reserves')
export const gasKeeper = () => api<GasKeeper>('/api/wallet/gas-keeper')
export const collectionJobs = () => api<JobsOverview>('/api/wallet/jobs')
export const walletAlerts = () => api<{ alerts: WalletAlert[] }>('/api/wallet/alerts')
export const withdrawalsInState = (state: WithdrawalState) =>
  api<{ state: string; withdrawals: Withdrawal[] }>('/api/wallet/admin/withdrawals', { query: { state } })
export const approveWithdrawal = (id: string) =>
  api<Withdrawal>(`/api/wallet/withdrawals/${enc(id)}/approve`, { method: 'POST' })
export const rejectWithdrawal = (id: string) =>
  api<Withdrawal>(`/api/wallet/withdrawals/${enc(id)}/reject`, { method: 'POST' })
