// The chain-node's explorer routes, through NGINX under /api/chain/ (the first node of
// the network). Amounts on the chain are integer units (1 DTC = 100,000,000 units).

import { apiPlain as api } from './client'

export interface ChainTransaction {
  id: string
  sender: string
  recipient: string
  asset: string
  /** Integer units. */
  amount: number | string
  fee: number | string
  nonce: number
  /** Unix ms. */
  timestamp: number
  public_key?: string
  signature?: string
}

/** A block as mined: dvf's keys plus the platform's tx_root and difficulty. */
export interface RawBlock {
  index: number
  previous_hash: string
  timestamp: number
  proof: number
  tx_root?: string
  difficulty?: number
  transactions: ChainTransaction[]
}

/** GET /blocks/<height or hash>. */
export interface BlockView {
  hash: string
  height: number
  /** On the best chain (a block of an abandoned fork is not). */
  main: boolean
  confirmations: number
  work: number | string
  block: RawBlock
}

/** GET /transactions/<id>: confirmed (with its block) or pending (in the mempool). */
export interface TransactionView {
  transaction: ChainTransaction
  status: 'confirmed' | 'pending'
  confirmations: number
  block?: string
  height?: number
}

/** A transaction in an address's history. */
export interface AddressTransaction extends ChainTransaction {
  block: string
  height: number
  confirmations: number
}

export interface AddressView {
  address: string
  /** Confirmed balances, 8-decimal strings. */
  balances: Record<string, string>
  spendable?: Record<string, string>
  nonce: number
  next_nonce?: number
  /** Transactions of the address still in the mempool. */
  pending?: number
  transactions: AddressTransaction[]
}

export interface Tip {
  height: number
  hash: string
  work: number | string
}

const enc = encodeURIComponent

export const chainTip = () => api<Tip>('/api/chain/inv')
export const chainBlock = (heightOrHash: string | number) =>
  api<BlockView>(`/api/chain/blocks/${enc(String(heightOrHash))}`)
export const chainTransaction = (id: string) => api<TransactionView>(`/api/chain/transactions/${enc(id)}`)
export const chainAddress = (address: string) => api<AddressView>(`/api/chain/addresses/${enc(address)}`)
export const chainMempool = () => api<{ transactions: ChainTransaction[]; count: number }>('/api/chain/pool')
