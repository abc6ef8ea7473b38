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

export interface Block {
  index: number
  hash?: string
  previous_hash: string
  timestamp: number
  proof: number
  tx_root?: string
  difficulty?: number
  transactions: ChainTransaction[]
  confirmations?: number
}

export interface TransactionView extends ChainTransaction {
  confirmations: number
  block_height?: number | null
  block_hash?: string | null
}

export interface AddressView {
  address: string
  balances: Record<string, string>
  nonce: number
  transactions: ChainTransaction[]
}

export interface Tip {
  height: number
  hash: string
  work: number | string
}

const enc = encodeURIComponent

export const chainTip = () => api<Tip>('/api/chain/inv')
export const chainBlock = (heightOrHash: string | number) =>
  api<Block>(`/api/chain/blocks/${enc(String(heightOrHash))}`)
export const chainTransaction = (id: string) => api<TransactionView>(`/api/chain/transactions/${enc(id)}`)
export const chainAddress = (address: string) => api<AddressView>(`/api/chain/addresses/${enc(address)}`)
export const chainMempool = () =>
  api<{ transactions: ChainTransaction[] } | ChainTransaction[]>('/api/chain/pool')
