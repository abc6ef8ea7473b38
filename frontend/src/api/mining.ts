// The mining service (services/mining/routes.py, under /api/mining): the caller's
// machines, digging in a pool, dig history, earnings, and the pool centre. Coin amounts
// are 8-decimal DTC strings; hashrates integer H/s; times Unix ms.

import { api } from './client'

export type MachineState = 'idle' | 'digging' | 'stopped'

export interface Machine {
  id: string
  name: string
  model: string
  hashrate: number
  state: MachineState
  pool: string | null
  since_ms: number | null
  created_ms: number
}

export interface Dig {
  id: string
  machine: string
  pool: string
  start_ms: number
  stop_ms: number | null
  shares: number
  earnings: string
}

export interface Payout {
  id: string
  pool: string
  amount: string
  state: string
  txid: string | null
  block: number | null
  created_ms: number
}

export interface Earnings {
  user: string
  asset: string
  total: string
  paid: string
  pending: string
  payouts: Payout[]
}

export interface PoolBlock {
  hash: string
  height: number
  found_ms: number
  reward: string
  state: string
}

export interface PoolStats {
  id: string
  name: string
  scheme: 'PPLNS' | 'PPS'
  /** Percent with two decimals, "1.50". */
  fee: string
  hashrate: number
  /** Percent of the network's hashrate. */
  share_of_network: number
  machines: number
  blocks_24h: number
  blocks_7d: number
  last_block: PoolBlock | null
  /** Expected over actual shares per block, in %; null before a block. */
  luck: number | null
}

export interface PoolCentre {
  updated_ms: number
  network_hashrate: number
  pools: PoolStats[]
}

export interface PoolDetail extends PoolStats {
  updated_ms: number | null
  recent_blocks: PoolBlock[]
}

const enc = encodeURIComponent

export const listMachines = () => api<{ machines: Machine[]; limit: number }>('/api/mining/machines')
export const registerMachine = (name: string, model: string, hashrate: number) =>
  api<Machine>('/api/mining/machines', { body: { name, model, hashrate } })
export const startMachine = (id: string, pool: string) =>
  api<Machine>(`/api/mining/machines/${enc(id)}/start`, { body: { pool } })
export const stopMachine = (id: string) =>
  api<Machine>(`/api/mining/machines/${enc(id)}/stop`, { method: 'POST' })
export const digHistory = () => api<{ digs: Dig[] }>('/api/mining/history')
export const miningEarnings = () => api<Earnings>('/api/mining/earnings')
export const poolCentre = () => api<PoolCentre>('/api/mining/pools')
export const poolDetail = (id: string) => api<PoolDetail>(`/api/mining/pools/${enc(id)}`)
