// End-to-end walk through the UI in real headless Chromium (Debian's, driven by
// playwright-core; no browser download). Run by tests/e2e/test_frontend.py against a
// whole stack whose quote server answers $10.00 for every symbol.
//
//   BASE_URL=http://127.0.0.1:8080 ADMIN_PASSWORD=... node e2e/ui.mjs
//
// Environment: BASE_URL (required), ADMIN_PASSWORD (needed to mine blocks and for the
// admin's pages), CHROMIUM (default /usr/bin/chromium), ARTEFACTS (screenshots; default
// ../test-artefacts). The test also gives it what a browser cannot make:
// DEPOSITOR, DEPOSITOR_PASSWORD (a user with a wallet), DEPOSIT_TX (a signed transfer of
// 20 DTC to their deposit address, not yet sent), WITHDRAW_TO (an address to withdraw
// to) and MARKET_FEED_URL (a feed started with MARKET_FEED_CLOCK_CONTROL, whose clock the
// walk stops at moments of its seeded path). Without them those steps are left out.

import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const here = dirname(fileURLToPath(import.meta.url))
const BASE = process.env.BASE_URL?.replace(/\/+$/, '')
if (!BASE) throw new Error('set BASE_URL to the stack, e.g. http://127.0.0.1:8080')
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium'
const ARTEFACTS = resolve(process.env.ARTEFACTS || join(here, '..', '..', 'test-artefacts'))
const ADMIN_PASSWORD = process.env.ADMIN_PASSWORD
const DEPOSITOR = process.env.DEPOSITOR
const DEPOSITOR_PASSWORD = process.env.DEPOSITOR_PASSWORD
const DEPOSIT_TX = process.env.DEPOSIT_TX ? JSON.parse(process.env.DEPOSIT_TX) : null
const WITHDRAW_TO = process.env.WITHDRAW_TO
const FEED = process.env.MARKET_FEED_URL?.replace(/\/+$/, '')
const TIMEOUT = 15_000
const CHAIN_TIMEOUT = 120_000 // blocks, payouts and sweeps on a loaded machine

mkdirSync(ARTEFACTS, { recursive: true })
const profile = mkdtempSync(join(tmpdir(), 'dts-chromium-'))
const user = `ui${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`
const password = 'correct horse battery'
const problems = []

function step(text) {
  console.log(`- ${text}`)
}

async function shot(page, name) {
  await page.screenshot({ path: join(ARTEFACTS, `frontend-${name}.png`), fullPage: true })
}

/** Wait until `locator`'s text matches `pattern`. */
async function expectText(locator, pattern, timeout = TIMEOUT) {
  const deadline = Date.now() + timeout
  let last = ''
  while (Date.now() < deadline) {
    last =
      (await locator
        .first()
        .textContent({ timeout })
        .catch(() => '')) ?? ''
    if (pattern.test(last)) return last
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`expected ${pattern} in ${locator}, last text was ${JSON.stringify(last)}`)
}

/** The value shown for one dashboard figure ("Cash", "Reserved cash", ...). */
function stat(page, label) {
  return page
    .locator('.stat')
    .filter({ has: page.locator('dt', { hasText: new RegExp(`^${label}$`) }) })
    .locator('dd')
    .first()
}

/** Go to a page through the main navigation: open the link's group, then follow it. */
async function nav(page, name, heading) {
  const menu = page.getByRole('navigation', { name: 'Main' })
  const link = menu.getByRole('link', { name, exact: true })
  if (!(await link.isVisible())) {
    const groups = menu.getByRole('button')
    for (let i = 0; i < (await groups.count()); i++) {
      const group = groups.nth(i)
      if ((await group.getAttribute('aria-expanded')) === 'true') continue
      await group.click()
      if (await link.isVisible()) break
      await group.click()
    }
  }
  await link.click()
  await page.getByRole('heading', { level: 1, name: heading }).waitFor()
}

/** An administrator's token, for mining a block on demand (the e2e chain mines only when asked). */
async function adminToken() {
  const response = await fetch(`${BASE}/api/users/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
  })
  assert.ok(response.ok, `admin sign-in answered ${response.status}`)
  return (await response.json()).data.token
}

/** Mine one block now on the first chain-node (GET /mine, admin only). */
async function mineBlock(token) {
  const response = await fetch(`${BASE}/api/chain/mine`, { headers: { Authorization: `Bearer ${token}` } })
  assert.ok(response.ok, `mining a block answered ${response.status}: ${await response.text()}`)
}

/** Mine a block, then another every `everyMs`, until `done()` holds (or fail). */
async function mineUntil(token, done, what, everyMs = 1_000) {
  const deadline = Date.now() + CHAIN_TIMEOUT
  for (;;) {
    if (await done()) return
    assert.ok(Date.now() < deadline, `timed out mining blocks until ${what}`)
    await mineBlock(token)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

/** Whether `locator`'s text matches `pattern` now. */
async function shows(locator, pattern) {
  const text = await locator
    .first()
    .textContent({ timeout: 1_000 })
    .catch(() => '')
  return pattern.test(text ?? '')
}

/** A decimal string ("1,234.5") as a BigInt of 10^-`decimals` (exact, no float). */
function scaled(text, decimals) {
  const [whole, fraction = ''] = text.replace(/[$,\s]/g, '').split('.')
  assert.ok(fraction.length <= decimals, `${text} has more than ${decimals} decimals`)
  return BigInt(whole) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, '0'))
}

/** A BigInt of 10^-`decimals` as a plain decimal string ("12.3400"). */
function unscaled(value, decimals) {
  const sign = value < 0n ? '-' : ''
  const digits = (value < 0n ? -value : value).toString().padStart(decimals + 1, '0')
  return `${sign}${digits.slice(0, -decimals)}.${digits.slice(-decimals)}`
}

const ceilDiv = (a, b) => (a + b - 1n) / b

/** Cents (BigInt) as the UI shows dollars: "$1,234.56". */
const dollars = (cents) => `$${unscaled(cents, 2).replace(/\B(?=(\d{3})+(?!\d))/g, ',')}`

/** Stop the market feed at `nowMs` of its seeded path; null lets it run live again. */
async function setMarketClock(nowMs) {
  const response = await fetch(`${FEED}/mock/clock`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ now_ms: nowMs }),
  })
  assert.ok(response.ok, `the feed's clock answered ${response.status}: ${await response.text()}`)
}

async function feed(path) {
  const response = await fetch(`${FEED}${path}`)
  assert.ok(response.ok, `${path} answered ${response.status}`)
  return (await response.json()).data
}

/** Sign in on `tab` as `name` and wait for the dashboard. */
async function signIn(tab, name, secret) {
  await tab.goto(`${BASE}/signin`)
  await tab.getByLabel('User name').fill(name)
  await tab.getByLabel('Password').fill(secret)
  await tab.getByRole('button', { name: 'Sign in' }).click()
  await tab.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor()
}

function watch(page, label) {
  page.on('pageerror', (err) => problems.push(`${label}: page error: ${err.message}`))
  page.on('console', (msg) => {
    // 4xx answers the UI shows in words are expected; script errors are not.
    if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) {
      problems.push(`${label}: console error: ${msg.text()}`)
    }
  })
}

const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  acceptDownloads: true,
  viewport: { width: 1280, height: 860 },
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
})
context.setDefaultTimeout(TIMEOUT)

try {
  const page = context.pages()[0] ?? (await context.newPage())
  watch(page, 'user tab')
  let adminTab = null
  /** The administrator's tab (a new tab has its own sessionStorage, so its own sign-in). */
  const admin = async () => {
    if (!adminTab) {
      adminTab = await context.newPage()
      watch(adminTab, 'admin tab')
      await signIn(adminTab, 'admin', ADMIN_PASSWORD)
    }
    await adminTab.bringToFront()
    return adminTab
  }

  step('a visitor is sent to sign in')
  await page.goto(`${BASE}/`)
  await page.waitForURL(/\/signin$/)
  await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor()
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expectText(page.getByRole('alert'), /Enter your user name/)
  await shot(page, '01-sign-in')

  step(`sign up as ${user}`)
  await page.getByRole('link', { name: 'Create an account' }).click()
  await page.getByLabel('User name').fill('no spaces allowed')
  await page.getByLabel('Password', { exact: true }).fill('short')
  await page.getByRole('button', { name: 'Create account' }).click()
  await expectText(page.locator('.field-invalid .error').first(), /letters, digits/)
  await page.getByLabel('User name').fill(user)
  await page.getByLabel('Password', { exact: true }).fill(password)
  await page.getByLabel('Repeat the password').fill(password)
  await shot(page, '02-sign-up')
  await page.getByRole('button', { name: 'Create account' }).click()
  await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor()
  await expectText(page.locator('.badge'), /Live/)
  await expectText(stat(page, 'Cash'), /^\$0\.00$/)

  step('add funds: a typing mistake is caught, then $1,000.00 arrives live')
  const amount = page.getByLabel('Amount', { exact: true })
  await amount.fill('12.345')
  await page.getByRole('button', { name: 'Add funds' }).click()
  await expectText(page.locator('.field-invalid .error'), /at most two decimals/)
  await amount.fill('1000')
  await page.getByRole('button', { name: 'Add funds' }).click()
  await expectText(
    page.getByRole('status').filter({ hasText: 'Added' }),
    /Added \$1,000\.00\. Cash is now \$1,000\.00\./,
  )
  await expectText(stat(page, 'Cash'), /^\$1,000\.00$/)

  step('look up a quote and see it charted')
  await nav(page, 'Quotes', 'Quotes')
  await page.getByLabel('Stock symbol').fill('abc')
  assert.equal(await page.getByLabel('Stock symbol').inputValue(), 'ABC')
  await page.getByRole('button', { name: 'Get quote' }).click()
  await expectText(page.getByTestId('quote-price'), /^\$10\.00$/)
  await page.locator('figure.chart svg[role="img"]').waitFor()
  await expectText(page.locator('figure.chart figcaption'), /ABC: \d+ quotes? .*latest \$10\.00/)
  await shot(page, '03-quote')

  step('buy $105 of ABC: 10 shares pending with a countdown, then commit')
  await nav(page, 'Buy & sell', 'Buy and sell')
  const buyForm = page.locator('form', { has: page.getByRole('heading', { name: 'Buy now' }) })
  const sellForm = page.locator('form', { has: page.getByRole('heading', { name: 'Sell now' }) })
  await buyForm.getByLabel('Stock symbol').fill('ABC')
  await buyForm.getByLabel('Dollars to spend').fill('100000')
  await buyForm.getByRole('button', { name: 'Buy' }).click()
  await expectText(buyForm.getByRole('alert'), /Insufficient funds/)
  await buyForm.getByLabel('Dollars to spend').fill('105')
  await buyForm.getByRole('button', { name: 'Buy' }).click()
  await expectText(buyForm.getByRole('status'), /Pending: buy 10 ABC at \$10\.00 for \$100\.00/)
  const pendingBuys = page.getByRole('list', { name: 'Pending buys' })
  await expectText(pendingBuys, /Buy 10 ABC at \$10\.00 = \$100\.00/)
  await expectText(pendingBuys.getByRole('timer'), /^\d+:\d\d$/)
  await shot(page, '04-trade-pending')
  await page.getByRole('button', { name: 'Commit buy' }).click()
  await expectText(
    page.locator('section', { hasText: 'Pending buys' }).getByRole('status'),
    /Bought 10 ABC at \$10\.00 for \$100\.00/,
  )
  await page.getByText('No pending buys.').waitFor()

  step('sell $50 of ABC, then cancel: the shares come back')
  await sellForm.getByLabel('Stock symbol').fill('ABC')
  await expectText(sellForm.locator('.hint'), /You hold 10 ABC shares/)
  await sellForm.getByLabel('Dollars to sell for').fill('50')
  await sellForm.getByRole('button', { name: 'Sell' }).click()
  await expectText(sellForm.getByRole('status'), /Pending: sell 5 ABC at \$10\.00 for \$50\.00/)
  await expectText(page.getByRole('list', { name: 'Pending sells' }), /Sell 5 ABC/)
  await expectText(sellForm.locator('.hint'), /You hold 5 ABC shares/)
  await page.getByRole('button', { name: 'Cancel sell' }).click()
  await expectText(
    page.locator('section', { hasText: 'Pending sells' }).getByRole('status'),
    /Cancelled the sale of 5 ABC/,
  )
  await page.getByText('No pending sells.').waitFor()
  await expectText(sellForm.locator('.hint'), /You hold 10 ABC shares/)

  step('set an automatic buy of XYZ, see it listed, then cancel it')
  await nav(page, 'Automatic', 'Automatic trades')
  const autoBuy = page.locator('form', { has: page.getByRole('heading', { name: 'Automatic buy' }) })
  await autoBuy.getByLabel('Stock symbol').fill('XYZ')
  await autoBuy.getByLabel('Dollars to reserve').fill('200')
  await autoBuy.getByLabel('Trigger price').fill('5')
  await autoBuy.getByRole('button', { name: 'Save automatic buy' }).click()
  await expectText(
    autoBuy.getByRole('status'),
    /Automatic buy of XYZ: set amount \$200\.00 and trigger price \$5\.00/,
  )
  const buySetups = page.locator('section', { has: page.getByRole('heading', { name: 'Automatic buys' }) })
  const row = buySetups.getByRole('row', { name: /XYZ/ })
  await expectText(row, /XYZ.*\$200\.00.*\$5\.00.*Waiting for price ≤ \$5\.00/)
  await shot(page, '05-automatic')
  await page.getByRole('button', { name: 'Cancel automatic buy of XYZ' }).click()
  await buySetups.getByText('No automatic buys.').waitFor()
  const autoSell = page.locator('form', { has: page.getByRole('heading', { name: 'Automatic sell' }) })
  await autoSell.getByLabel('Stock symbol').fill('QQQ')
  await autoSell.getByLabel('Dollars to sell for').fill('10')
  await autoSell.getByRole('button', { name: 'Save automatic sell' }).click()
  await expectText(autoSell.getByRole('alert'), /QQQ/)

  step('the dashboard sums it up at the current price')
  await nav(page, 'Dashboard', 'Dashboard')
  await expectText(stat(page, 'Cash'), /^\$900\.00$/)
  await expectText(stat(page, 'Reserved cash'), /^\$0\.00$/)
  await expectText(stat(page, 'Shares value'), /^\$100\.00$/)
  await expectText(stat(page, 'Total value'), /^\$1,000\.00$/)
  await expectText(stat(page, 'Profit / loss'), /^\$0\.00$/)
  await expectText(page.getByRole('row', { name: /ABC/ }).first(), /ABC.*10.*\$10\.00.*\$100\.00/)
  await shot(page, '06-dashboard')
  await page.setViewportSize({ width: 390, height: 844 })
  await shot(page, '07-dashboard-phone')
  await page.setViewportSize({ width: 1280, height: 860 })

  step('the history lists the commands and filters by type')
  await nav(page, 'History', 'Transaction history')
  const table = page.locator('table.entries')
  await expectText(table, /COMMIT_BUY/)
  await expectText(table, /CANCEL_SET_BUY/)
  await page.getByLabel('Show').selectOption('accountTransaction')
  await page.waitForURL(/type=accountTransaction/)
  await expectText(table, /Money moved/)
  await page.waitForFunction(() =>
    [...document.querySelectorAll('table.entries tbody tr')].every(
      (tr) => tr.className === 'entry-accountTransaction',
    ),
  )
  await shot(page, '08-history')

  step("the exchange: the live top 20, a coin's candles, and a buy with its fee shown first")
  await nav(page, 'Exchange', 'Exchange')
  const board = page.locator('table.board tbody tr')
  await page.waitForFunction(() => document.querySelectorAll('table.board tbody tr').length === 20)
  assert.equal(await board.count(), 20)
  await expectText(board.first(), /^1\s*[A-Z]+/)
  for (const change of await page.locator('table.board .change').all()) {
    assert.match((await change.getAttribute('class')) ?? '', /tone-(up|down|flat)/)
  }
  await page.waitForFunction(() => document.querySelectorAll('table.board .sparkline').length === 20, null, {
    timeout: 60_000,
  })
  await shot(page, '10-exchange')
  await page.locator('table.board').getByRole('link', { name: /^BTC/ }).click()
  await page.getByRole('heading', { level: 1, name: /Bitcoin/ }).waitFor()
  await page.locator('.chart-canvas canvas').first().waitFor()
  await expectText(page.locator('figure.chart-figure figcaption'), /candles of 1 h/)
  await page.getByRole('button', { name: '24 h', exact: true }).click()
  await expectText(page.locator('figure.chart-figure figcaption'), /candles of 24 h/)
  const buyCoin = page.getByRole('form', { name: 'Buy BTC' })
  await buyCoin.getByLabel('Amount of BTC').fill('0.000000001')
  await buyCoin.getByRole('button', { name: 'Review buy' }).click()
  await expectText(buyCoin.locator('.field-invalid .error'), /at most 8 decimals/)
  await buyCoin.getByLabel('Amount of BTC').fill('0.001')
  await expectText(buyCoin.getByLabel('Estimate'), /Fee \(0\.25 %\)\$\d+\.\d\dYou pay\$[\d,]+\.\d\d/)
  await buyCoin.getByRole('button', { name: 'Review buy' }).click()
  const confirmBuy = page.getByRole('group', { name: 'Confirm the buy' })
  await expectText(confirmBuy.getByTestId('order-total'), /^\$[\d,]+\.\d\d$/)
  await shot(page, '11-coin-confirm')
  await confirmBuy.getByRole('button', { name: 'Confirm buy' }).click()
  const bought = await expectText(
    page.getByRole('status').filter({ hasText: 'Bought' }),
    /Bought 0\.001 BTC at \$[\d,.]+: \$[\d,.]+ \+ fee \$[\d,.]+ = \$[\d,.]+\. Cash now \$[\d,.]+\./,
  )
  // The figures agree with the exchange's rules at the price it traded at.
  const [, priceText, costText, feeText, totalText, cashText] =
    /at \$([\d,.]+): \$([\d,.]+) \+ fee \$([\d,.]+) = \$([\d,.]+)\. Cash now \$([\d,.]+)/.exec(bought)
  const price = scaled(priceText, 4)
  const units = 100_000n // 0.001 BTC
  assert.equal(scaled(costText, 2), ceilDiv(units * price, 10n ** 10n), 'cost is the value rounded up')
  assert.equal(scaled(feeText, 2), ceilDiv(units * price * 25n, 10n ** 14n), 'fee is 0.25 % rounded up')
  assert.equal(scaled(totalText, 2), scaled(costText, 2) + scaled(feeText, 2))
  assert.equal(scaled(cashText, 2), 90_000n - scaled(totalText, 2), 'cash was $900.00 before')
  await expectText(
    page.locator('section', { hasText: 'Your BTC trades' }).locator('tbody tr').first(),
    /Buy\s*0\.001 BTC/,
  )
  await shot(page, '11-coin')
  await page.getByRole('link', { name: '← Exchange' }).click()
  await page.getByRole('heading', { level: 1, name: 'Exchange' }).waitFor()
  await expectText(
    page.locator('section', { hasText: 'Your coins' }).locator('tbody tr').first(),
    /BTC\s*0\.001/,
  )
  await page.setViewportSize({ width: 390, height: 844 })
  await shot(page, '12-exchange-phone')
  await page.setViewportSize({ width: 1280, height: 860 })

  step("the explorer: a new block arrives live; a block, its reward transaction and the miner's address")
  assert.ok(ADMIN_PASSWORD, 'ADMIN_PASSWORD is needed to mine blocks')
  const token = await adminToken()
  await mineBlock(token)
  await nav(page, 'Explorer', 'Explorer')
  const blocks = page.locator('section', { has: page.getByRole('heading', { name: 'Latest blocks' }) })
  const topHeight = async () => Number(await blocks.locator('tbody tr th').first().textContent())
  await blocks.locator('tbody tr').first().waitFor()
  await expectText(page.locator('.badge'), /Live/)
  const firstTop = await topHeight()
  await mineBlock(token)
  // The page shows the new block without a reload.
  const deadline = Date.now() + TIMEOUT
  while ((await topHeight()) <= firstTop && Date.now() < deadline) await page.waitForTimeout(200)
  assert.equal(await topHeight(), firstTop + 1, 'the new block appeared live')
  await shot(page, '13-explorer')
  await page.getByRole('search', { name: 'Search the chain' }).getByLabel('Search the chain').fill('1')
  await page.getByRole('button', { name: 'Search', exact: true }).click()
  await page.getByRole('heading', { level: 1, name: 'Block 1' }).waitFor()
  await expectText(page.getByTestId('confirmations'), /^\d+$/)
  await page.locator('table').getByRole('link').first().click()
  await page.getByRole('heading', { level: 1, name: 'Transaction' }).waitFor()
  const confirmations = await expectText(page.getByTestId('confirmations'), /^\d+ confirmations?$/)
  await expectText(page.locator('.badge'), /Live/)
  await mineBlock(token)
  const more = Number(confirmations.split(' ')[0]) + 1
  await expectText(page.getByTestId('confirmations'), new RegExp(`^${more} confirmations$`))
  await shot(page, '14-transaction')
  await page.locator('dl.facts').getByRole('link').nth(1).click()
  await page.getByRole('heading', { level: 1, name: 'Address' }).waitFor()
  await expectText(page.locator('.stat', { hasText: 'DTC' }).locator('dd').first(), /^[\d,]+\.\d{8}$/)
  await page.getByRole('link', { name: '← Explorer' }).click()
  await page
    .getByRole('search', { name: 'Search the chain' })
    .getByLabel('Search the chain')
    .fill('f'.repeat(64))
  await page.getByRole('button', { name: 'Search', exact: true }).click()
  await expectText(page.locator('form.search .error'), /Nothing on the chain matches/)

  step('the wallet: balances valued in USD, the deposit address with its QR code, a withdrawal checked')
  await nav(page, 'Wallet', 'Wallet')
  await expectText(page.getByTestId('deposit-address'), /^[0-9a-f]{40}$/)
  await page.locator('svg.qr').waitFor()
  await expectText(page.locator('section', { hasText: 'Balances' }).locator('tbody'), /BTC\s*0\.00100000/)
  await expectText(page.getByTestId('wallet-total'), /^\$[\d,]+\.\d\d$/)
  const withdraw = page.locator('form', { has: page.getByRole('heading', { name: 'Withdraw' }) })
  await withdraw.getByLabel('To address').fill('not an address')
  await withdraw.getByLabel('Amount').fill('1')
  await withdraw.getByRole('button', { name: 'Withdraw' }).click()
  await expectText(withdraw.locator('.field-invalid .error').first(), /40 hexadecimal digits/)
  await expectText(withdraw.locator('.field-invalid .error').nth(1), /more than the 0 DTC available/)
  await shot(page, '15-wallet')

  step('the miners: register a machine, start it in a pool, see it digging, stop it')
  await nav(page, 'Miners', 'Miners')
  const register = page.locator('form', { has: page.getByRole('heading', { name: 'Register a machine' }) })
  await register.getByLabel('Name').fill('rig-one')
  await register.getByLabel('Model').fill('S19')
  await register.getByLabel('Hashrate').fill('110')
  await register.getByRole('button', { name: 'Register machine' }).click()
  await expectText(register.getByRole('status'), /Registered rig-one \(110 TH\/s\)/)
  const rig = page.locator('tr', { hasText: 'rig-one' }).first()
  await expectText(rig, /idle/)
  await rig.getByRole('button', { name: 'Start rig-one' }).click()
  await expectText(page.locator('tr', { hasText: 'rig-one' }).first(), /digging in/)
  await expectText(page.locator('section', { hasText: 'Dig history' }).locator('tbody'), /rig-one/)

  step('the pool centre while it digs: the only hashrate, blocks counted live')
  // The e2e stack has no rest of the network: the machine's pool (atlas, PPLNS, fee 1.5 %,
  // the first offered) finds every block, about one a second, while it digs.
  await nav(page, 'Pool centre', 'Pool centre')
  const pools = page.locator('table.pools tbody tr')
  await pools.first().waitFor()
  const atlas = page.locator('table.pools tbody tr', { hasText: /atlas/i })
  await expectText(atlas, /PPLNS/)
  await expectText(atlas, /100(\.0+)? %/, CHAIN_TIMEOUT)
  await page.getByRole('list', { name: 'Share of the network hashrate' }).waitFor()
  const blocksStat = stat(page, 'Blocks in 24 h')
  const blocksBefore = Number(await expectText(blocksStat, /^\d+$/))
  // No reload: the table and figures follow the pool engine's statistics.
  await expectText(blocksStat, new RegExp(`^(?!${blocksBefore}$)\\d+$`), CHAIN_TIMEOUT)
  assert.ok(Number(await blocksStat.textContent()) > blocksBefore, 'blocks were counted live')
  await shot(page, '17-pools')
  await atlas.getByRole('link').first().click()
  await page.getByRole('heading', { level: 1, name: /^Pool / }).waitFor()
  await page.getByRole('heading', { name: 'Recent blocks' }).waitFor()

  step("payouts: each of the pool's blocks pays 50 DTC less the 1.5 % fee, on chain")
  await nav(page, 'Miners', 'Miners')
  // The first block's coinbase is the subsidy alone (no fees yet): 50 x 0.985 = 49.25
  // DTC, paid once the coinbase matures (10 blocks), on chain to the wallet address.
  const payoutRows = page
    .locator('section', { has: page.getByRole('heading', { name: 'Payouts' }) })
    .locator('tbody tr')
  await expectText(payoutRows.last(), /atlas\s*49\.25 DTC\s*(new|signed|sent|confirmed)/, CHAIN_TIMEOUT)
  await expectText(payoutRows.last(), /49\.25 DTC\s*confirmed\s*[0-9a-f]{6}/, CHAIN_TIMEOUT)
  const paid = await expectText(stat(page, 'Paid on chain'), /^[\d,.]+ DTC$/)
  assert.ok(scaled(paid.replace(' DTC', ''), 8) >= 4_925_000_000n, `paid ${paid}`)
  await page
    .locator('section', { hasText: 'Earnings over time' })
    .locator('.chart-canvas canvas')
    .first()
    .waitFor()
  await shot(page, '16-miners')
  await page.getByRole('button', { name: 'Stop rig-one' }).click()
  await expectText(page.locator('tr', { hasText: 'rig-one' }).first(), /stopped/)
  const dig = page.locator('section', { hasText: 'Dig history' }).locator('tbody tr').first()
  const earned = await expectText(dig, /rig-one\s*atlas.*[\d,.]+ DTC$/)
  assert.ok(scaled(/([\d,.]+) DTC$/.exec(earned)[1], 8) >= 4_925_000_000n, `dig earned ${earned}`)

  if (DEPOSIT_TX) {
    step('a deposit: 20 DTC sent on chain to the depositor, confirmed live (x of 3), then credited')
    const dep = await context.newPage()
    watch(dep, 'depositor tab')
    await signIn(dep, DEPOSITOR, DEPOSITOR_PASSWORD)
    await nav(dep, 'Wallet', 'Wallet')
    assert.equal(await expectText(dep.getByTestId('deposit-address'), /^[0-9a-f]{40}$/), DEPOSIT_TX.recipient)
    await dep.getByText('No deposits yet.').waitFor()
    const sent = await fetch(`${BASE}/api/chain/transactions/new`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(DEPOSIT_TX),
    })
    assert.equal(sent.status, 201, await sent.text())
    const depositRow = dep
      .locator('section', { has: dep.getByRole('heading', { name: 'Deposits' }) })
      .locator('tbody tr')
    const dtcRow = dep.locator('section', { hasText: 'Balances' }).locator('tbody tr', { hasText: 'DTC' })
    // Each block mined adds a confirmation on the page, without a reload.
    await mineBlock(token)
    await expectText(depositRow.first(), /20 DTC.*1 of 3\s*confirming/)
    await expectText(dtcRow, /DTC\s*0\.00000000\s*0\.00000000\s*0\.00000000/)
    await shot(dep, '20-deposit-confirming')
    await mineBlock(token)
    await expectText(depositRow.first(), /2 of 3\s*confirming/)
    await mineBlock(token)
    // Credited at 3: 20 DTC less the collection's two network fees of 0.0001.
    await expectText(
      depositRow.first(),
      /20 DTC \(fee 0\.0002 DTC\)\s*3 of 3\s*(accepted|collecting|collected)/,
    )
    await expectText(dtcRow, /DTC\s*19\.99980000\s*0\.00000000\s*19\.99980000/)
    await expectText(dep.locator('section', { hasText: 'Wallet history' }).locator('tbody'), /Deposit fee/)
    // Swept to the hot wallet (which withdrawals are sent from) once its sweep is mined.
    await mineUntil(token, () => shows(depositRow, /collected/), 'the deposit is collected')
    await shot(dep, '21-deposit-credited')

    step('a withdrawal above the approval limit (10 DTC): locked, then cancelled while it waits')
    const withdrawForm = dep.locator('form', { has: dep.getByRole('heading', { name: 'Withdraw' }) })
    const withdrawalRow = dep
      .locator('section', { has: dep.getByRole('heading', { name: 'Withdrawals' }) })
      .locator('tbody tr')
    const withdraw = async (amount) => {
      await withdrawForm.getByLabel('To address').fill(WITHDRAW_TO)
      await withdrawForm.getByLabel('Amount').fill(amount)
      await withdrawForm.getByRole('button', { name: 'Withdraw' }).click()
    }
    await withdraw('20')
    await expectText(withdrawForm.locator('.field-invalid .error'), /more than the 19\.9998 DTC available/)
    await withdraw('12')
    await expectText(
      withdrawForm.getByRole('status'),
      /Withdrawal of 12 DTC \(fee 0\.0001 DTC\) to [0-9a-f]{10}…: waiting for an administrator’s approval\./,
    )
    await expectText(
      withdrawalRow.first(),
      /12 DTC \+ fee 0\.0001 DTC.*accepted\s*Waiting for an administrator’s approval/,
    )
    // 12 + 0.0001 locked; 19.9998 - 12.0001 = 7.9997 left available.
    await expectText(dtcRow, /DTC\s*7\.99970000\s*12\.00010000\s*19\.99980000/)
    await withdrawalRow
      .first()
      .getByRole('button', { name: /^Cancel the withdrawal of 12(\.0+)? DTC$/ })
      .click()
    await expectText(withdrawalRow.first(), /canceled\s*Cancelled; funds returned/)
    await expectText(dtcRow, /DTC\s*19\.99980000\s*0\.00000000\s*19\.99980000/)

    step('the same withdrawal again: the administrator approves it, it is sent and confirmed')
    await withdraw('12')
    await expectText(withdrawalRow.first(), /accepted\s*Waiting for an administrator’s approval/)
    const adm = await admin()
    await nav(adm, 'Reserves & withdrawals', 'Reserves and withdrawals')
    const approve = adm.getByRole('button', { name: new RegExp(`^Approve 12(\\.0+)? DTC for ${DEPOSITOR}$`) })
    await shot(adm, '22-withdrawal-approval')
    await approve.click()
    await expectText(
      adm.getByRole('status'),
      new RegExp(`Approved 12 DTC for ${DEPOSITOR}: it will be sent\\.`),
    )
    await dep.bringToFront()
    // The worker sends it from the hot wallet; each block adds a confirmation.
    await expectText(withdrawalRow.first(), /(processing|confirming|succeeded)/, CHAIN_TIMEOUT)
    await mineUntil(
      token,
      () => shows(withdrawalRow, /succeeded\s*Done\s*[0-9a-f]{6}/),
      'the withdrawal succeeds',
    )
    // The locked 12.0001 left: 19.9998 - 12.0001 = 7.9997, nothing locked.
    await expectText(dtcRow, /DTC\s*7\.99970000\s*0\.00000000\s*7\.99970000/)
    const walletHistory = dep.locator('section', { hasText: 'Wallet history' }).locator('tbody')
    await expectText(walletHistory, /Withdrawal fee\s*0\.0001 DTC.*Withdrawal sent\s*12 DTC/)
    await shot(dep, '23-wallet')
    await dep.goto(`${BASE}/explorer/addresses/${WITHDRAW_TO}`)
    await dep.getByRole('heading', { level: 1, name: 'Address' }).waitFor()
    await expectText(dep.locator('.stat', { hasText: 'DTC' }).locator('dd').first(), /^12\.00000000$/)
    await dep.close()
  } else {
    step('DEPOSIT_TX not set: the deposit and withdrawal left out')
  }

  if (FEED) {
    step('margin: a 3x long on a seeded path, its liquidation price checked by hand first')
    // Away from the coin pages while the market's clock goes back (charts only go forward).
    await nav(page, 'Dashboard', 'Dashboard')
    try {
      await setMarketClock(Date.now())
      // A coin and a day whose open is 28 % or more above a low of the ten days that
      // follow: a 3x long opened there is liquidated near 1.1 x 2/3 = 73.3 % of its price.
      const board = await feed('/public/ticker/ALL_USD')
      let coin = null
      let days = []
      let start = -1
      for (const name of Object.keys(board).filter((k) => k !== 'date')) {
        days = (await feed(`/public/candlestick/${name}_USD/24h`)).slice(0, -1)
        for (let i = days.length - 11; i >= 1 && start < 0; i--) {
          const open = scaled(days[i][1], 4)
          if (days.slice(i, i + 10).some((d) => scaled(d[4], 4) * 100n <= open * 72n)) start = i
        }
        if (start >= 0) {
          coin = name
          break
        }
      }
      assert.ok(coin, 'no coin has a fall of 28 % within ten days on the seeded path')
      const openingMs = days[start][0] + 60_000
      await setMarketClock(openingMs)
      const p0 = scaled((await feed(`/public/ticker/${coin}_USD`)).closing_price, 4)
      // By hand (crypto-side.md, margin): $300 at 3x buys units = floor($900 / p) (in
      // 10^-8 coin; 1 unit x $10^-4 = 10^-12 $); the cost rounded up to the cent; the
      // debt = cost - $300; the first hour's interest 10 ppm of it, rounded up; the
      // liquidation where units x p = 1.1 x (debt + interest), rounded down; the fee
      // 0.25 % of the value, rounded up.
      const CENT = 10n ** 10n
      const marginCents = 30_000n
      const units = (marginCents * 3n * CENT) / p0
      const debt = ceilDiv(units * p0, CENT) - marginCents
      const interest = ceilDiv(debt * 10n, 1_000_000n)
      const liquidation = (11n * (debt + interest) * CENT) / (10n * units)
      const callPrice = (13n * (debt + interest) * CENT) / (10n * units)
      const openFee = ceilDiv(units * p0 * 25n, CENT * 10_000n)
      // The first minute after the opening whose price is at or below it: day by day.
      let crossing = null
      for (const day of days.slice(start, start + 11)) {
        await setMarketClock(day[0] + 86_400_000 - 1)
        const minute = (await feed(`/public/candlestick/${coin}_USD/1m`)).find(
          (m) => m[0] > openingMs && scaled(m[1], 4) <= liquidation,
        )
        if (minute) {
          crossing = minute[0]
          break
        }
      }
      assert.ok(crossing, `${coin}'s path never reaches ${unscaled(liquidation, 4)}`)
      await setMarketClock(openingMs)
      // The platform's board follows the feed within a second.
      const deadline = Date.now() + TIMEOUT
      for (;;) {
        const line = (await (await fetch(`${BASE}/api/exchange/coin/tickers_20`)).json()).data.tickers[
          `${coin}_USD`
        ]
        if (line && scaled(line.cur_price, 4) === p0) break
        assert.ok(Date.now() < deadline, `the board did not show ${coin} at ${unscaled(p0, 4)}`)
        await page.waitForTimeout(200)
      }
      await nav(page, 'Exchange', 'Exchange')
      await page
        .locator('table.board')
        .getByRole('link', { name: new RegExp(`^${coin}\\b`) })
        .click()
      await page.getByRole('heading', { level: 1, name: new RegExp(coin) }).waitFor()
      const cashHint = page.getByRole('form', { name: `Buy ${coin}` }).locator('.hint')
      const cashBefore = scaled(
        /Cash available: \$([\d,.]+)/.exec(await expectText(cashHint, /Cash available/))[1],
        2,
      )
      const marginForm = page.getByRole('form', { name: `Open a margin position on ${coin}` })
      await marginForm.getByLabel('Leverage').selectOption('3')
      await marginForm.getByLabel('Margin').fill('300')
      await marginForm.getByRole('button', { name: 'Preview' }).click()
      const confirmOpen = page.getByRole('group', { name: 'Confirm the position' })
      const previewText = await expectText(confirmOpen, /long 3× on/)
      assert.equal(
        scaled(/at about \$([\d,.]+)/.exec(previewText)[1], 4),
        p0,
        'the preview is at the price now',
      )
      const shownLiquidation = await expectText(confirmOpen.getByTestId('liquidation-price'), /^\$[\d,.]+$/)
      assert.equal(
        scaled(shownLiquidation, 4),
        liquidation,
        `liquidation ${shownLiquidation}, by hand ${unscaled(liquidation, 4)}`,
      )
      assert.equal(
        scaled(/Margin call at\$([\d,.]+)/.exec(previewText)[1], 4),
        callPrice,
        'the margin-call price',
      )
      assert.equal(scaled(/Fee\$([\d,.]+)/.exec(previewText)[1], 2), openFee, 'the opening fee')
      assert.equal(scaled(/Cash needed\$([\d,.]+)/.exec(previewText)[1], 2), marginCents + openFee)
      await shot(page, '24-margin-preview')
      await confirmOpen.getByRole('button', { name: 'Open the long' }).click()
      await expectText(
        page.locator('section', { hasText: `Margin on ${coin}` }).getByRole('status'),
        new RegExp(`Opened a long 3× on ${coin} at \\$[\\d,.]+; liquidation at \\$[\\d,.]+\\.`),
      )
      const position = page.getByTestId('position')
      await expectText(position, /long 3×/)
      const cashOpen = `Cash available: ${dollars(cashBefore - marginCents - openFee)}.`
      await page.waitForFunction(
        (want) => document.querySelector('form[aria-label^="Buy"] .hint')?.textContent === want,
        cashOpen,
      )

      step(`the path falls to the minute before the crossing: still open; then across it: liquidated`)
      await setMarketClock(crossing - 60_000)
      await page.waitForTimeout(5_000) // two passes of the margin checker (every 2 s)
      await expectText(position, /long 3×/)
      await setMarketClock(crossing)
      const pc = scaled((await feed(`/public/ticker/${coin}_USD`)).closing_price, 4)
      assert.ok(pc <= liquidation, 'the crossing price is at or below the liquidation price')
      // Closed at market: proceeds rounded down, fee up, debt and interest repaid.
      const remainder = (units * pc) / CENT - ceilDiv(units * pc * 25n, CENT * 10_000n) - debt - interest
      const returned = remainder > 0n ? remainder : 0n
      const liquidated = await expectText(
        page.locator('section', { hasText: `Margin on ${coin}` }).getByRole('status'),
        /was liquidated/,
        CHAIN_TIMEOUT,
      )
      assert.match(
        liquidated,
        new RegExp(`Your long 3× on ${coin} was liquidated at a margin level of 1\\.1 or less`),
      )
      assert.equal(scaled(/: \$([\d,.]+) returned to cash/.exec(liquidated)[1], 2), returned, liquidated)
      assert.equal(await position.count(), 0, 'the position is gone')
      const cashAfter = cashBefore - marginCents - openFee + returned
      // Back in cash: what was left after the margin and fee, plus the remainder.
      const cashLiquidated = `Cash available: ${dollars(cashAfter)}.`
      await page.waitForFunction(
        (want) => document.querySelector('form[aria-label^="Buy"] .hint')?.textContent === want,
        cashLiquidated,
      )
      await shot(page, '25-margin-liquidated')
    } finally {
      await setMarketClock(null)
    }
    await nav(page, 'Dashboard', 'Dashboard')
  } else {
    step('MARKET_FEED_URL not set: the margin walk left out')
  }

  step('auto-trade: a backtest with k chosen automatically, its figures and equity curve')
  await nav(page, 'Auto-trade', 'Auto-trade')
  const test = page.getByRole('form', { name: 'Backtest the volatility breakout' })
  await test.getByLabel('Days', { exact: true }).fill('2')
  await test.getByRole('button', { name: 'Run backtest' }).click()
  await expectText(test.locator('.field-invalid .error'), /Between 3 and 1,000 days/)
  await test.getByLabel('Days', { exact: true }).fill('120')
  await test.getByRole('button', { name: 'Run backtest' }).click()
  await expectText(page.getByLabel('Backtest figures'), /k0\.\d0Total return.*%Max drawdown.*Trades\d+/)
  await page.locator('.backtest-result .chart-canvas canvas').first().waitFor()
  await shot(page, '18-autotrade')

  step('sign out, then sign in again with the keyboard alone')
  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor()
  await page.locator('body').focus()
  await page.keyboard.press('Tab')
  assert.equal(
    await page.evaluate(
      () =>
        document.activeElement?.id &&
        document.querySelector(`label[for="${document.activeElement.id}"]`)?.textContent,
    ),
    'User name',
  )
  await page.keyboard.type(user)
  await page.keyboard.press('Tab')
  await page.keyboard.type(password)
  await page.keyboard.press('Enter')
  await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor()

  step('a rejected token sends the user back to sign in')
  await page.evaluate(() => {
    const session = JSON.parse(sessionStorage.getItem('dts.session'))
    sessionStorage.setItem('dts.session', JSON.stringify({ ...session, token: 'not-a-token' }))
  })
  await nav(page, 'History', 'Transaction history').catch(() => {})
  await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor()
  await expectText(page.getByRole('status'), /Invalid token/)

  if (ADMIN_PASSWORD) {
    step('the administrator downloads the DUMPLOG')
    const adm = await admin()
    await nav(adm, 'Audit log', 'Administration')
    await expectText(adm.locator('section', { hasText: 'Log entries' }).locator('table'), /Command\s*\d/)
    await adm.getByLabel('File name').fill('e2e-dumplog.xml')
    const [download] = await Promise.all([
      adm.waitForEvent('download'),
      adm.getByRole('button', { name: 'Download DUMPLOG' }).click(),
    ])
    assert.equal(download.suggestedFilename(), 'e2e-dumplog.xml')
    const saved = join(ARTEFACTS, 'frontend-dumplog.xml')
    await download.saveAs(saved)
    const xml = readFileSync(saved, 'utf8')
    assert.match(xml, /<log>/)
    assert.match(xml, new RegExp(`<username>${user}</username>`))
    await expectText(adm.getByRole('status'), /Saved e2e-dumplog\.xml/)
    await shot(adm, '09-admin')

    step('the administrator sees the reserves, healthy or short, and the gas keeper')
    await nav(adm, 'Reserves & withdrawals', 'Reserves and withdrawals')
    await expectText(adm.getByTestId('reserve-state-DTC'), /^(healthy|short|unexplained)$/)
    await expectText(adm.getByTestId('reserve-state-DUSD'), /^(healthy|short|unexplained)$/)
    await expectText(adm.locator('.banner').first(), /Gas keeper/)
    await adm.getByRole('heading', { name: 'Withdrawals waiting for approval' }).waitFor()
    await shot(adm, '19-admin-reserves')
  } else {
    step('ADMIN_PASSWORD not set: admin part skipped')
  }

  assert.deepEqual(problems, [], 'the pages logged errors')
  console.log('frontend e2e: all steps passed')
} catch (err) {
  for (const [i, p] of context.pages().entries()) {
    await p.screenshot({ path: join(ARTEFACTS, `frontend-failure-${i}.png`), fullPage: true }).catch(() => {})
  }
  if (problems.length) console.error(problems.join('\n'))
  throw err
} finally {
  await context.close()
  rmSync(profile, { recursive: true, force: true })
}
