// Administrators: download the audit log (DUMPLOG) as an XML file, and see how many
// entries of each type it holds.

import { useEffect, useState } from 'react'
import type { FormEvent } from 'react'
import { dumplog, logStats } from '../api/endpoints'
import { useSignedIn } from '../auth/SessionContext'
import { DataTable } from '../components/DataTable'
import type { Column } from '../components/DataTable'
import { TYPE_LABELS } from '../components/EntryTable'
import type { EntryType } from '../api/types'
import { ErrorText, Field, Spinner, StatusText, useAction } from '../components/ui'
import { checkUsername } from './SignIn'

/** Hand a Blob to the browser as a download named `filename`. */
export function saveFile(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = filename
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

function Dumplog() {
  const [filename, setFilename] = useState('dumplog.xml')
  const [user, setUser] = useState('')
  const [invalid, setInvalid] = useState<{ filename?: string | null; user?: string | null }>({})
  const [done, setDone] = useState<string | null>(null)
  const { run, busy, error } = useAction()

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setDone(null)
    const name = filename.trim()
    const problems = {
      filename: /^[^\x00-\x1f<>&]{1,255}$/.test(name) ? null : 'Enter a file name (no < > or &).',
      user: user.trim() ? checkUsername(user.trim()) : null,
    }
    setInvalid(problems)
    if (problems.filename || problems.user) return
    const blob = await run(() => dumplog(name, user.trim() || undefined))
    if (blob) {
      const base = name.split(/[\\/]/).pop() || 'dumplog.xml'
      saveFile(blob, base)
      setDone(`Saved ${base} (${Math.max(1, Math.round(blob.size / 1024))} KiB).`)
    }
  }

  return (
    <form onSubmit={submit} noValidate className="card stack" aria-labelledby="dumplog-title">
      <h2 id="dumplog-title">Download the log</h2>
      <Field
        label="File name"
        value={filename}
        onChange={setFilename}
        error={invalid.filename}
        spellCheck={false}
      />
      <Field
        label="Only this user (optional)"
        value={user}
        onChange={setUser}
        error={invalid.user}
        autoCapitalize="none"
        spellCheck={false}
        hint="Leave empty for the whole log."
      />
      <ErrorText>{error}</ErrorText>
      {done && <StatusText>{done}</StatusText>}
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Preparing…' : 'Download DUMPLOG'}
      </button>
    </form>
  )
}

/** One line of the log's statistics: an entry type and how many entries it has. */
type TypeCount = [type: string, count: number]

const STAT_COLUMNS: Column<TypeCount>[] = [
  { label: 'Type', rowHeader: true, cell: ([type]) => TYPE_LABELS[type as EntryType] ?? type },
  { label: 'Entries', numeric: true, cell: ([, count]) => count.toLocaleString('en-US') },
]

function Stats() {
  const [stats, setStats] = useState<Record<string, number> | null>(null)
  const { run, busy, error } = useAction()
  const load = async () => {
    const got = await run(logStats)
    if (got) setStats(got)
  }
  useEffect(() => {
    void load()
    // Load once on opening; the button reloads.
  }, [])
  return (
    <section className="card" aria-labelledby="stats-title">
      <div className="section-head">
        <h2 id="stats-title">Log entries</h2>
        <button type="button" onClick={() => void load()} disabled={busy}>
          Refresh
        </button>
      </div>
      <ErrorText>{error}</ErrorText>
      {!stats && busy && <Spinner />}
      <DataTable
        caption="Log entries of each type"
        columns={STAT_COLUMNS}
        rows={stats ? Object.entries(stats) : undefined}
        rowKey={([type]) => type}
        className="compact"
        wrap={false}
      />
    </section>
  )
}

export function AdminPage() {
  const { role } = useSignedIn()
  if (role !== 'admin' && role !== 'service') {
    return (
      <>
        <h1 tabIndex={-1}>Administration</h1>
        <p className="empty">Only administrators can use this page.</p>
      </>
    )
  }
  return (
    <>
      <h1 tabIndex={-1}>Administration</h1>
      <div className="columns">
        <Dumplog />
        <Stats />
      </div>
    </>
  )
}
