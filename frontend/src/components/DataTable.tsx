// One table for every list on the pages: a caption for screen readers, column headers
// with scope, a "label: value" card per row on a phone (table.responsive and each cell's
// data-label), and the words to show when there is nothing to list.

import { Fragment } from 'react'
import type { ReactNode } from 'react'

export interface Column<Row> {
  /** The header, and each cell's data-label (its label on a phone). */
  label: string
  /** The cell of one row (not needed when the table renders its rows itself). */
  cell?: (row: Row) => ReactNode
  /** Right-aligned figures. */
  numeric?: boolean
  /** A header read out but not shown (a column of buttons). */
  hideLabel?: boolean
  /** Its cells name their rows (th scope="row"). */
  rowHeader?: boolean
  /** Extra class of the column's header and cells. */
  className?: string
}

export interface DataTableProps<Row> {
  /** What the table lists, for screen readers (a visually hidden caption). */
  caption: ReactNode
  columns: Column<Row>[]
  /** The rows; undefined while they are still loading (nothing is shown then). */
  rows: readonly Row[] | undefined
  rowKey: (row: Row, index: number) => string | number
  /** Shown instead of the table when there are no rows (left out: the bare headers). */
  empty?: ReactNode
  /** The table's class: "responsive" (cards on a phone) unless told otherwise. */
  className?: string
  /** Wrapped in a horizontally scrolling box (.table-wrap). */
  wrap?: boolean
  rowClassName?: (row: Row) => string | undefined
  /** A row drawn by a component of its own (with state or actions) instead of cells. */
  renderRow?: (row: Row, index: number) => ReactNode
}

function classes(...names: (string | undefined | false)[]): string | undefined {
  return names.filter(Boolean).join(' ') || undefined
}

export function DataTable<Row>({
  caption,
  columns,
  rows,
  rowKey,
  empty,
  className = 'responsive',
  wrap = true,
  rowClassName,
  renderRow,
}: DataTableProps<Row>) {
  if (!rows) return null
  if (rows.length === 0 && empty !== undefined) return <p className="empty">{empty}</p>
  const table = (
    <table className={className}>
      <caption className="visually-hidden">{caption}</caption>
      <thead>
        <tr>
          {columns.map((column) => (
            <th key={column.label} scope="col" className={classes(column.numeric && 'num', column.className)}>
              {column.hideLabel ? <span className="visually-hidden">{column.label}</span> : column.label}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((row, index) =>
          renderRow ? (
            <Fragment key={rowKey(row, index)}>{renderRow(row, index)}</Fragment>
          ) : (
            <tr key={rowKey(row, index)} className={rowClassName?.(row)}>
              {columns.map((column) =>
                column.rowHeader ? (
                  <th key={column.label} scope="row" data-label={column.label} className={column.className}>
                    {column.cell?.(row)}
                  </th>
                ) : (
                  <td
                    key={column.label}
                    data-label={column.label}
                    className={classes(column.numeric && 'num', column.className)}
                  >
                    {column.cell?.(row)}
                  </td>
                ),
              )}
            </tr>
          ),
        )}
      </tbody>
    </table>
  )
  return wrap ? <div className="table-wrap">{table}</div> : table
}

/** The cell of one column in a row component of its own (see DataTable's renderRow). */
export function Cell<Row>({ column, children }: { column: Column<Row>; children: ReactNode }) {
  return (
    <td data-label={column.label} className={classes(column.numeric && 'num', column.className)}>
      {children}
    </td>
  )
}
